/* Evaluation numbers against a hand-worked example. */
#include <math.h>

#include "kiln-error.h"
#include "kiln-evaluation.h"
#include "kiln-softmax.h"

/* Three classes, six images. Rows: probabilities; truth below. */
static const float probabilities[] = {
  0.7f, 0.2f, 0.1f,   /* truth 0, predicted 0 */
  0.4f, 0.5f, 0.1f,   /* truth 0, predicted 1 (confidence 0.5) */
  0.1f, 0.8f, 0.1f,   /* truth 1, predicted 1 */
  0.1f, 0.3f, 0.6f,   /* truth 1, predicted 2 (confidence 0.6) */
  0.2f, 0.2f, 0.6f,   /* truth 2, predicted 2, true p 0.6 */
  0.05f, 0.05f, 0.9f, /* truth 2, predicted 2, true p 0.9 */
};
static const int labels[] = { 0, 0, 1, 1, 2, 2 };
static const guint64 sources[] = { 10, 11, 12, 13, 14, 15 };
static const char *const names[] = { "cat", "dog", "fox", NULL };

static KilnEvaluation *
make (void)
{
  g_autoptr(GError) error = NULL;
  KilnEvaluation *e = kiln_evaluation_new (3, names);
  /* Two batches, as a trainer would add them. */
  g_assert_true (kiln_evaluation_add_batch (e, probabilities, labels, sources, 4, &error));
  g_assert_true (kiln_evaluation_add_batch (e, probabilities + 12, labels + 4, sources + 4, 2, &error));
  g_assert_no_error (error);
  return e;
}

static void
test_metrics (void)
{
  g_autoptr(KilnEvaluation) e = make ();

  g_assert_cmpuint (kiln_evaluation_get_n (e), ==, 6);
  g_assert_cmpfloat_with_epsilon (kiln_evaluation_get_top1 (e), 4.0 / 6, 1e-12);
  /* With three classes every truth is within the top 5 (test_top5 ranks). */
  g_assert_cmpfloat (kiln_evaluation_get_top5 (e), ==, 1.0);
  double loss = -(log (0.7f) + log (0.4f) + log (0.8f) + log (0.3f) + log (0.6f) + log (0.9f)) / 6;
  g_assert_cmpfloat_with_epsilon (kiln_evaluation_get_mean_loss (e), loss, 1e-6);

  g_assert_cmpuint (kiln_evaluation_get_confusion (e, 0, 0), ==, 1);
  g_assert_cmpuint (kiln_evaluation_get_confusion (e, 0, 1), ==, 1);
  g_assert_cmpuint (kiln_evaluation_get_confusion (e, 1, 2), ==, 1);
  g_assert_cmpuint (kiln_evaluation_get_confusion (e, 2, 2), ==, 2);
  g_assert_cmpuint (kiln_evaluation_get_confusion (e, 2, 0), ==, 0);

  /* dog: predicted twice, right once; fox: predicted 3×, right 2×. */
  g_assert_cmpfloat (kiln_evaluation_get_precision (e, 0), ==, 1.0);
  g_assert_cmpfloat (kiln_evaluation_get_recall (e, 0), ==, 0.5);
  g_assert_cmpfloat (kiln_evaluation_get_precision (e, 1), ==, 0.5);
  g_assert_cmpfloat_with_epsilon (kiln_evaluation_get_precision (e, 2), 2.0 / 3, 1e-12);
  g_assert_cmpfloat (kiln_evaluation_get_recall (e, 2), ==, 1.0);
}

/* Seven classes: a truth ranked 5th counts for top-5, one ranked 6th does not. */
static void
test_top5 (void)
{
  static const float p[] = {
    0.30f, 0.20f, 0.15f, 0.12f, 0.10f, 0.08f, 0.05f,   /* truth 4: 5th */
    0.30f, 0.20f, 0.15f, 0.12f, 0.10f, 0.08f, 0.05f,   /* truth 5: 6th */
    0.05f, 0.08f, 0.10f, 0.12f, 0.15f, 0.20f, 0.30f,   /* truth 6: 1st */
  };
  static const int truth[] = { 4, 5, 6 };
  static const guint64 ids[] = { 1, 2, 3 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnEvaluation) e = kiln_evaluation_new (7, NULL);

  g_assert_true (kiln_evaluation_add_batch (e, p, truth, ids, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (kiln_evaluation_get_top1 (e), 1.0 / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon (kiln_evaluation_get_top5 (e), 2.0 / 3, 1e-12);
}

static void
test_lists (void)
{
  g_autoptr(KilnEvaluation) e = make ();
  g_autoptr(GArray) wrong = kiln_evaluation_get_misclassified (e, 0);
  g_autoptr(GArray) unsure = kiln_evaluation_get_least_confident (e, 2);

  /* Most confident mistake first: image 13 (0.6), then 11 (0.5). */
  g_assert_cmpuint (wrong->len, ==, 2);
  g_assert_cmpuint (g_array_index (wrong, KilnEvaluationItem, 0).source, ==, 13);
  g_assert_cmpuint (g_array_index (wrong, KilnEvaluationItem, 1).source, ==, 11);
  g_assert_cmpint (g_array_index (wrong, KilnEvaluationItem, 1).predicted_class, ==, 1);

  /* Correct but least sure: 14 (0.6), then 10 (0.7). */
  g_assert_cmpuint (unsure->len, ==, 2);
  g_assert_cmpuint (g_array_index (unsure, KilnEvaluationItem, 0).source, ==, 14);
  g_assert_cmpuint (g_array_index (unsure, KilnEvaluationItem, 1).source, ==, 10);
}

/* A confusion-matrix cell names exactly its images, most confident first. */
static void
test_cells (void)
{
  g_autoptr(KilnEvaluation) e = make ();
  guint total = 0;

  for (int t = 0; t < 3; t++)
    for (int p = 0; p < 3; p++)
      {
        g_autoptr(GArray) cell = kiln_evaluation_get_cell (e, t, p);
        g_assert_cmpuint (cell->len, ==, kiln_evaluation_get_confusion (e, t, p));
        for (guint i = 0; i < cell->len; i++)
          {
            KilnEvaluationItem *item = &g_array_index (cell, KilnEvaluationItem, i);
            g_assert_cmpint (item->true_class, ==, t);
            g_assert_cmpint (item->predicted_class, ==, p);
            /* The image's own row of the table says where it belongs. */
            g_assert_cmpint (labels[item->source - 10], ==, t);
          }
        total += cell->len;
      }
  g_assert_cmpuint (total, ==, 6);
  g_autoptr(GArray) fox = kiln_evaluation_get_cell (e, 2, 2);
  g_assert_cmpuint (g_array_index (fox, KilnEvaluationItem, 0).source, ==, 15);
  g_assert_cmpuint (g_array_index (fox, KilnEvaluationItem, 1).source, ==, 14);
  g_autoptr(GArray) wrong = kiln_evaluation_get_cell (e, 1, 2);
  g_assert_cmpuint (wrong->len, ==, 1);
  g_assert_cmpuint (g_array_index (wrong, KilnEvaluationItem, 0).source, ==, 13);
}

static void
test_json_and_undefined (void)
{
  g_autoptr(KilnEvaluation) e = make ();
  g_autoptr(JsonNode) node = kiln_evaluation_to_json (e, 1);
  JsonObject *o = json_node_get_object (node);

  g_assert_cmpint (json_object_get_int_member (o, "images"), ==, 6);
  JsonArray *classes = json_object_get_array_member (o, "classes");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (classes, 1), "name"), ==, "dog");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "misclassified")), ==, 1);
  JsonArray *row2 = json_array_get_array_element (json_object_get_array_member (o, "confusion"), 2);
  g_assert_cmpint (json_array_get_int_element (row2, 2), ==, 2);

  /* A class never predicted has no precision: NaN, and null in JSON. */
  g_autoptr(KilnEvaluation) empty_class = kiln_evaluation_new (4, NULL);
  g_assert_true (kiln_evaluation_add_batch (empty_class, (const float[]) { 0.9f, 0.1f, 0, 0 },
                                            (const int[]) { 0 }, NULL, 1, NULL));
  g_assert_true (isnan (kiln_evaluation_get_precision (empty_class, 3)));
  g_autoptr(JsonNode) j = kiln_evaluation_to_json (empty_class, 0);
  JsonObject *fourth = json_array_get_object_element (json_object_get_array_member (json_node_get_object (j), "classes"), 3);
  g_assert_true (json_object_get_null_member (fourth, "precision"));
}

static void
test_bad_label (void)
{
  g_autoptr(KilnEvaluation) e = kiln_evaluation_new (3, names);
  g_autoptr(GError) error = NULL;

  g_assert_false (kiln_evaluation_add_batch (e, probabilities, (const int[]) { 3 }, NULL, 1, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "label 3"));
  g_assert_cmpuint (kiln_evaluation_get_n (e), ==, 0);
}

/* Validation and the classifier turn scores into these probabilities. */
static void
test_softmax (void)
{
  /* exp(1)/(exp(0)+exp(1)+exp(2)) etc.; the second row would overflow expf
   * without the maximum taken out, the third is all equal. */
  float scores[] = { 0, 1, 2, 1000, 1001, 1002, 5, 5, 5, 5 };
  const double want[] = { 0.0900306, 0.2447285, 0.6652410 };

  kiln_softmax_rows (scores, 3, 3);
  for (guint r = 0; r < 2; r++)
    for (guint c = 0; c < 3; c++)
      g_assert_cmpfloat_with_epsilon (scores[r * 3 + c], want[c], 1e-6);
  for (guint c = 6; c < 9; c++)
    g_assert_cmpfloat_with_epsilon (scores[c], 1.0 / 3, 1e-6);
  /* Rows past n_rows are left alone. */
  g_assert_cmpfloat (scores[9], ==, 5);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/evaluation/softmax", test_softmax);
  g_test_add_func ("/evaluation/top5", test_top5);
  g_test_add_func ("/evaluation/metrics", test_metrics);
  g_test_add_func ("/evaluation/lists", test_lists);
  g_test_add_func ("/evaluation/cells", test_cells);
  g_test_add_func ("/evaluation/json-and-undefined", test_json_and_undefined);
  g_test_add_func ("/evaluation/bad-label", test_bad_label);
  return g_test_run ();
}
