/* kiln-cli suspects finds planted labelling mistakes: a project of
 * Fashion-MNIST trousers and bags (from the demo import) with a few
 * trousers moved into the Bag folder; a run of a tiny net on it, then
 * `suspects RUN` ranks those trousers first, and suspects.tsv says the
 * same. Seconds: 2 classes, about 90 images, a net of one hidden layer. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

#define N_PLANTED 4

static const char tiny_net[] =
  "{ \"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"tiny\","
  "  \"input\": { \"channels\": 1, \"height\": 28, \"width\": 28 },"
  "  \"layers\": ["
  "    { \"name\": \"fc1\", \"type\": \"InnerProduct\", \"num_output\": 16 },"
  "    { \"name\": \"relu1\", \"type\": \"ReLU\" },"
  "    { \"name\": \"fc2\", \"type\": \"InnerProduct\", \"num_output\": 2 } ] }";

static int
by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char **) a, *(const char **) b);
}

static char *
run_ok (const char *const *args)
{
  char *out = NULL;
  g_autofree char *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);
  if (status != 0)
    g_test_message ("kiln-cli %s: %s%s", args[0], out, err);
  g_assert_cmpint (status, ==, 0);
  return out;
}

/* Moves @name's images from the demo into @project, the first @n of them
 * (all: 0) in file-name order; returns what it moved. */
static GPtrArray *
move_class (const char *demo, const char *project, const char *from, const char *to, guint skip, guint n)
{
  g_autofree char *src = g_build_filename (demo, "images", from, NULL);
  g_autofree char *dst = g_build_filename (project, "images", to, NULL);
  g_autoptr(GDir) dir = g_dir_open (src, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *moved = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, by_name);
  for (guint i = skip; i < names->len && (n == 0 || i < skip + n); i++)
    {
      g_autofree char *a = g_build_filename (src, names->pdata[i], NULL);
      g_autofree char *b = g_build_filename (dst, names->pdata[i], NULL);
      g_assert_cmpint (g_rename (a, b), ==, 0);
      g_ptr_array_add (moved, g_build_filename ("images", to, names->pdata[i], NULL));
    }
  return moved;
}

static void
test_planted_mislabels_rank_first (void)
{
  g_autoptr(GError) error = NULL;

  if (!g_file_test (KILN_DEMO_DATASET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("dataset-fashion-mnist is not installed (" KILN_DEMO_DATASET_DIR ")");
      return;
    }
  g_autofree char *tmp = g_dir_make_tmp ("kiln-suspects-test-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *demo = g_build_filename (tmp, "demo", NULL);
  g_autofree char *project = g_build_filename (tmp, "project", NULL);
  /* About 45 images a class. */
  g_assert_true (kiln_demo_ensure (demo, NULL, 450, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GPtrArray) planted = move_class (demo, project, "Trouser", "Bag", 0, N_PLANTED);
  g_autoptr(GPtrArray) trousers = move_class (demo, project, "Trouser", "Trouser", N_PLANTED, 0);
  g_autoptr(GPtrArray) bags = move_class (demo, project, "Bag", "Bag", 0, 0);
  g_assert_cmpuint (trousers->len, >, 20);
  g_assert_cmpuint (bags->len, >, 20);
  g_autoptr(KilnProject) store = kiln_project_open_dataset (project, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&store);

  /* Everything in training: suspects judge the training images. */
  const char *split[] = { "split", "--project", project, "--shares", "100,0,0", NULL };
  g_free (run_ok (split));
  g_autofree char *spec = g_build_filename (tmp, "tiny.json", NULL);
  g_assert_true (g_file_set_contents (spec, tiny_net, -1, NULL));
  const char *train[] = { "train", "--project", project, "--spec", spec, "--epochs", "8", "--batch", "8",
                          "--no-mirror", "--optimizer", "adam", "--lr", "0.003", "--run-id", "base", "--json", NULL };
  g_free (run_ok (train));

  g_autofree char *run = g_build_filename (project, "runs", "base", NULL);
  const char *suspects[] = { "suspects", run, "--folds", "3", "--epochs", "8", "--top", "8", "--json", NULL };
  g_autofree char *out = run_ok (suspects);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  JsonArray *list = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "suspects");
  g_assert_cmpuint (json_array_get_length (list), ==, 8);

  /* Each planted trouser is among the first 2 × N_PLANTED, said to be a Bag
   * the model takes for a Trouser. */
  guint found = 0;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *s = json_array_get_object_element (list, i);
      const char *path = json_object_get_string_member (s, "path");
      g_test_message ("%u. %s (%s, loss %.3f)", i + 1, path, json_object_get_string_member (s, "predicted_class"),
                      json_object_get_double_member (s, "loss"));
      if (i > 0)
        g_assert_cmpfloat (json_object_get_double_member (s, "loss"), <=,
                           json_object_get_double_member (json_array_get_object_element (list, i - 1), "loss"));
      for (guint p = 0; p < planted->len; p++)
        if (g_str_equal (path, planted->pdata[p]))
          {
            found++;
            g_assert_cmpstr (json_object_get_string_member (s, "given_class"), ==, "Bag");
            g_assert_cmpstr (json_object_get_string_member (s, "predicted_class"), ==, "Trouser");
          }
    }
  g_assert_cmpuint (found, ==, N_PLANTED);

  /* The run folder keeps the list, read back the same. */
  g_autofree char *tsv = g_build_filename (run, KILN_SUSPECTS_FILE, NULL);
  g_autoptr(GPtrArray) saved = kiln_suspects_load (tsv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (saved->len, ==, 8);
  for (guint i = 0; i < saved->len; i++)
    {
      KilnSuspect *s = saved->pdata[i];
      JsonObject *o = json_array_get_object_element (list, i);
      g_assert_cmpstr (s->path, ==, json_object_get_string_member (o, "path"));
      g_assert_cmpint (s->image_id, ==, json_object_get_int_member (o, "image_id"));
    }
  /* The folds trained elsewhere and left nothing in the run. */
  g_autofree char *folds = g_build_filename (run, "fold-1", NULL);
  g_assert_false (g_file_test (folds, G_FILE_TEST_EXISTS));

  /* One fold is no cross-validation. */
  const char *one_fold[] = { "suspects", run, "--folds", "1", NULL };
  g_autofree char *o1 = NULL, *e1 = NULL;
  g_assert_cmpint (kiln_test_run_cli (one_fold, &o1, &e1), !=, 0);
  g_assert_nonnull (strstr (e1, "--folds"));
  kiln_test_remove_tree (tmp);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  kiln_test_isolate_home ();
  g_test_add_func ("/cli/suspects/planted-mislabels-rank-first", test_planted_mislabels_rank_first);
  return g_test_run ();
}
