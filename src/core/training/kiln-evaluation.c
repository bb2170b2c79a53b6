#include "kiln-evaluation.h"

#include <math.h>

#include "kiln-error.h"

struct _KilnEvaluation
{
  guint n_classes;
  char **class_names;
  guint *confusion;        /* n_classes² */
  GArray *items;           /* KilnEvaluationItem */
  guint n_top5;
  double loss_sum;
};

KilnEvaluation *
kiln_evaluation_new (guint n_classes, const char *const *class_names)
{
  KilnEvaluation *self = g_new0 (KilnEvaluation, 1);

  self->n_classes = MAX (n_classes, 1);
  self->class_names = g_new0 (char *, self->n_classes + 1);
  for (guint i = 0; i < self->n_classes; i++)
    self->class_names[i] = class_names && class_names[i] ? g_strdup (class_names[i]) : g_strdup_printf ("%u", i);
  self->confusion = g_new0 (guint, (gsize) self->n_classes * self->n_classes);
  self->items = g_array_new (FALSE, FALSE, sizeof (KilnEvaluationItem));
  return self;
}

void
kiln_evaluation_free (KilnEvaluation *self)
{
  if (self == NULL)
    return;
  g_strfreev (self->class_names);
  g_free (self->confusion);
  g_array_unref (self->items);
  g_free (self);
}

gboolean
kiln_evaluation_add_batch (KilnEvaluation *self, const float *probabilities, const int *labels,
                           const guint64 *sources, guint n, GError **error)
{
  guint k = self->n_classes;

  for (guint i = 0; i < n; i++)
    if (labels[i] < 0 || (guint) labels[i] >= k)
      {
        g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                     "Evaluation: image %u has label %d, but the model has %u classes (0–%u); "
                     "check that the labels file matches the model", i, labels[i], k, k - 1);
        return FALSE;
      }

  for (guint i = 0; i < n; i++)
    {
      const float *p = probabilities + (gsize) i * k;
      int truth = labels[i];
      int best = 0;
      guint higher = 0;     /* classes ranked above the true one */

      for (guint c = 1; c < k; c++)
        if (p[c] > p[best])
          best = c;
      for (guint c = 0; c < k; c++)
        if (p[c] > p[truth] || (p[c] == p[truth] && (int) c < truth))
          higher++;
      if (higher < 5)
        self->n_top5++;
      /* Clamp: a probability of exactly 0 would make the loss infinite. */
      self->loss_sum += -log (MAX (p[truth], 1e-12f));
      self->confusion[(gsize) truth * k + best]++;

      KilnEvaluationItem item = {
        .source = sources ? sources[i] : self->items->len,
        .true_class = truth,
        .predicted_class = best,
        .confidence = p[best],
        .true_probability = p[truth],
      };
      g_array_append_val (self->items, item);
    }
  return TRUE;
}

guint
kiln_evaluation_get_n (KilnEvaluation *self)
{
  return self->items->len;
}

const KilnEvaluationItem *
kiln_evaluation_get_item (KilnEvaluation *self, guint index)
{
  g_return_val_if_fail (index < self->items->len, NULL);
  return &g_array_index (self->items, KilnEvaluationItem, index);
}

guint
kiln_evaluation_get_n_classes (KilnEvaluation *self)
{
  return self->n_classes;
}

const char *
kiln_evaluation_get_class_name (KilnEvaluation *self, guint class_index)
{
  g_return_val_if_fail (class_index < self->n_classes, NULL);
  return self->class_names[class_index];
}

double
kiln_evaluation_get_top1 (KilnEvaluation *self)
{
  guint correct = 0;
  if (self->items->len == 0)
    return NAN;
  for (guint c = 0; c < self->n_classes; c++)
    correct += self->confusion[(gsize) c * self->n_classes + c];
  return (double) correct / self->items->len;
}

double
kiln_evaluation_get_top5 (KilnEvaluation *self)
{
  return self->items->len ? (double) self->n_top5 / self->items->len : NAN;
}

double
kiln_evaluation_get_mean_loss (KilnEvaluation *self)
{
  return self->items->len ? self->loss_sum / self->items->len : NAN;
}

guint
kiln_evaluation_get_confusion (KilnEvaluation *self, int true_class, int predicted_class)
{
  g_return_val_if_fail (true_class >= 0 && (guint) true_class < self->n_classes, 0);
  g_return_val_if_fail (predicted_class >= 0 && (guint) predicted_class < self->n_classes, 0);
  return self->confusion[(gsize) true_class * self->n_classes + predicted_class];
}

double
kiln_evaluation_get_precision (KilnEvaluation *self, int class_index)
{
  guint predicted = 0;
  for (guint t = 0; t < self->n_classes; t++)
    predicted += self->confusion[(gsize) t * self->n_classes + class_index];
  return predicted ? (double) kiln_evaluation_get_confusion (self, class_index, class_index) / predicted : NAN;
}

double
kiln_evaluation_get_recall (KilnEvaluation *self, int class_index)
{
  guint actual = 0;
  for (guint p = 0; p < self->n_classes; p++)
    actual += self->confusion[(gsize) class_index * self->n_classes + p];
  return actual ? (double) kiln_evaluation_get_confusion (self, class_index, class_index) / actual : NAN;
}

static int
by_confidence_desc (gconstpointer a, gconstpointer b)
{
  const KilnEvaluationItem *x = a, *y = b;
  int by_value = (x->confidence < y->confidence) - (x->confidence > y->confidence);
  return by_value ? by_value : (x->source > y->source) - (x->source < y->source);
}

static int
by_true_probability_asc (gconstpointer a, gconstpointer b)
{
  const KilnEvaluationItem *x = a, *y = b;
  int by_value = (x->true_probability > y->true_probability) - (x->true_probability < y->true_probability);
  return by_value ? by_value : (x->source > y->source) - (x->source < y->source);
}

static GArray *
select_items (KilnEvaluation *self, gboolean want_correct, GCompareFunc order, guint limit)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (KilnEvaluationItem));
  for (guint i = 0; i < self->items->len; i++)
    {
      KilnEvaluationItem *item = &g_array_index (self->items, KilnEvaluationItem, i);
      if ((item->predicted_class == item->true_class) == want_correct)
        g_array_append_val (out, *item);
    }
  /* Ties are broken by the source id, so the lists are reproducible. */
  g_array_sort (out, order);
  if (limit > 0 && out->len > limit)
    g_array_set_size (out, limit);
  return out;
}

GArray *
kiln_evaluation_get_misclassified (KilnEvaluation *self, guint limit)
{
  return select_items (self, FALSE, by_confidence_desc, limit);
}

GArray *
kiln_evaluation_get_cell (KilnEvaluation *self, int true_class, int predicted_class)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (KilnEvaluationItem));

  g_return_val_if_fail (true_class >= 0 && (guint) true_class < self->n_classes, out);
  g_return_val_if_fail (predicted_class >= 0 && (guint) predicted_class < self->n_classes, out);
  for (guint i = 0; i < self->items->len; i++)
    {
      KilnEvaluationItem *item = &g_array_index (self->items, KilnEvaluationItem, i);
      if (item->true_class == true_class && item->predicted_class == predicted_class)
        g_array_append_val (out, *item);
    }
  g_array_sort (out, by_confidence_desc);
  return out;
}

GArray *
kiln_evaluation_get_least_confident (KilnEvaluation *self, guint limit)
{
  return select_items (self, TRUE, by_true_probability_asc, limit);
}

static void
add_number (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isnan (value))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, value);
}

static void
add_items (KilnEvaluation *self, JsonBuilder *b, const char *name, GArray *items)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < items->len; i++)
    {
      KilnEvaluationItem *item = &g_array_index (items, KilnEvaluationItem, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "source");
      json_builder_add_int_value (b, (gint64) item->source);
      json_builder_set_member_name (b, "true_class");
      json_builder_add_string_value (b, self->class_names[item->true_class]);
      json_builder_set_member_name (b, "predicted_class");
      json_builder_add_string_value (b, self->class_names[item->predicted_class]);
      add_number (b, "confidence", item->confidence);
      add_number (b, "true_probability", item->true_probability);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

JsonNode *
kiln_evaluation_to_json (KilnEvaluation *self, guint list_limit)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  guint k = self->n_classes;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "images");
  json_builder_add_int_value (b, self->items->len);
  add_number (b, "top1", kiln_evaluation_get_top1 (self));
  add_number (b, "top5", kiln_evaluation_get_top5 (self));
  add_number (b, "mean_loss", kiln_evaluation_get_mean_loss (self));

  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < k; c++)
    {
      double precision = kiln_evaluation_get_precision (self, c);
      double recall = kiln_evaluation_get_recall (self, c);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, self->class_names[c]);
      add_number (b, "precision", precision);
      add_number (b, "recall", recall);
      add_number (b, "f1", precision + recall > 0 ? 2 * precision * recall / (precision + recall) : NAN);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "confusion");
  json_builder_begin_array (b);
  for (guint t = 0; t < k; t++)
    {
      json_builder_begin_array (b);
      for (guint p = 0; p < k; p++)
        json_builder_add_int_value (b, self->confusion[(gsize) t * k + p]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);

  g_autoptr(GArray) wrong = kiln_evaluation_get_misclassified (self, list_limit);
  g_autoptr(GArray) unsure = kiln_evaluation_get_least_confident (self, list_limit);
  add_items (self, b, "misclassified", wrong);
  add_items (self, b, "least_confident", unsure);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
