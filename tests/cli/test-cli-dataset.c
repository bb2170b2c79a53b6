/* One truth for the dataset, through kiln-cli as a user drives it: a class
 * tree is refused by train with the command that makes it a project; `new
 * --from` copies or links it; `split`, a discard, `train`, `eval --subset
 * test` and `mean` then all read the same images from the store. */
#define _GNU_SOURCE /* memmem */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-core.h"
#include "test-util.h"

static JsonObject *
run_json (const char *const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-cli %s failed: %s", args[0], err);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* 3 classes × 12 gray 28 × 28 PNGs whose brightness tells the class. */
static void
make_class_tree (const char *root)
{
  const char *classes[] = { "dark", "mid", "light" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    {
      g_autofree char *folder = g_build_filename (root, classes[c], NULL);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      for (guint i = 0; i < 12; i++)
        {
          g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 28, 28);
          guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
          int stride = gdk_pixbuf_get_rowstride (pixbuf);
          for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
              {
                guint8 v = (guint8) (40 + 80 * c + g_rand_int_range (rand, 0, 40));
                pixels[y * stride + 3 * x] = pixels[y * stride + 3 * x + 1] = pixels[y * stride + 3 * x + 2] = v;
              }
          g_autofree char *name = g_strdup_printf ("%s-%02u.png", classes[c], i);
          g_autofree char *path = g_build_filename (folder, name, NULL);
          g_autoptr(GError) error = NULL;
          g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
        }
    }
}

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static guint
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;
  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Runs kiln-cli, which must exit with @status and say @says on stderr. */
static void
expect_failure (const char *const *args, int status, const char *says)
{
  g_autofree char *out = NULL, *err = NULL;
  int wait_status = kiln_test_run_cli (args, &out, &err);
  g_assert_true (WIFEXITED (wait_status));
  if (WEXITSTATUS (wait_status) != status || strstr (err, says) == NULL)
    g_error ("kiln-cli %s: exit %d, wanted %d saying “%s”; it said: %s", args[0], WEXITSTATUS (wait_status),
             status, says, err);
}

/* Sorted lines of a file, comments and blanks left out. */
static GPtrArray *
read_lines (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0' && lines[i][0] != '#')
      g_ptr_array_add (out, g_strdup (lines[i]));
  g_ptr_array_sort (out, compare_lines);
  return out;
}

static void
test_store_is_the_one_truth (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-cli-dataset-XXXXXX", &error);
  g_autofree char *tree = g_build_filename (dir, "photos", NULL);
  g_autofree char *project = g_build_filename (dir, "proj", NULL);
  g_autofree char *linked = g_build_filename (dir, "linked", NULL);
  make_class_tree (tree);

  /* A class tree is not a project: train says so and names the command. */
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *train[] = { "train", "--project", tree, "--preset", "lenet", NULL };
    int status = kiln_test_run_cli (train, &out, &err);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_nonnull (strstr (err, "not a Kiln project"));
    g_assert_nonnull (strstr (err, "kiln-cli new PROJECT --from"));
    g_autofree char *store = g_build_filename (tree, "kiln.db", NULL);
    g_assert_false (g_file_test (store, G_FILE_TEST_EXISTS));
  }

  /* new --from copies (the default) or links. */
  const char *make[] = { "new", project, "--from", tree, "--json", NULL };
  g_autoptr(JsonObject) made = run_json (make);
  g_assert_cmpint (json_object_get_int_member (made, "classes"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (made, "images"), ==, 36);
  g_autofree char *copied = g_build_filename (project, "images", "mid", "mid-03.png", NULL);
  g_assert_true (g_file_test (copied, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (copied, G_FILE_TEST_IS_SYMLINK));
  const char *link[] = { "new", linked, "--from", tree, "--reference", "--json", NULL };
  g_autoptr(JsonObject) made_linked = run_json (link);
  g_assert_cmpint (json_object_get_int_member (made_linked, "images"), ==, 36);
  g_autofree char *link_path = g_build_filename (linked, "images", "mid", "mid-03.png", NULL);
  g_assert_true (g_file_test (link_path, G_FILE_TEST_IS_SYMLINK));
  {
    /* A second new into the same project is refused, nothing changes. */
    g_autofree char *out = NULL, *err = NULL;
    int status = kiln_test_run_cli (make, &out, &err);
    g_assert_cmpint (WEXITSTATUS (status), ==, 1);
    g_assert_nonnull (strstr (err, "already a Kiln project"));
  }

  const char *split[] = { "split", "--project", project, "--shares", "50,25,25", "--seed", "4", "--json", NULL };
  g_autoptr(JsonObject) splitted = run_json (split);
  g_assert_cmpint (json_object_get_int_member (splitted, "test"), ==, 9);

  /* Discard one training image through the store. */
  gint64 discarded_id = 0;
  g_autofree char *discarded_path = NULL;
  g_autoptr(GArray) store_test_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  {
    g_autoptr(KilnProject) store = kiln_project_open (project, &error);
    g_assert_no_error (error);
    g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr(KilnLabelSet) train = kiln_project_get_label_set (store, "default", "train", ids, &error);
    g_assert_no_error (error);
    discarded_id = g_array_index (ids, gint64, 2);
    discarded_path = g_strdup (train->paths->pdata[2]);
    g_assert_true (kiln_project_discard_image (store, discarded_id, "blurry", &error));
    g_autoptr(KilnLabelSet) test = kiln_project_get_label_set (store, "default", "test", store_test_ids, &error);
    g_assert_no_error (error);
  }

  const char *train[] = { "train", "--project", project, "--preset", "lenet", "--epochs", "1", "--batch", "6",
                          "--run-id", "r1", "--backend", "cpu", "--json", NULL };
  g_autoptr(JsonObject) trained = run_json (train);
  g_assert_cmpstr (json_object_get_string_member (trained, "state"), ==, "finished");
  g_autofree char *run = g_build_filename (project, "runs", "r1", NULL);

  /* The run names its split and lists every image id it used by subset. */
  g_autoptr(JsonObject) config = kiln_training_read_config (run, &error);
  g_assert_no_error (error);
  JsonObject *split_info = json_object_get_object_member (config, "split");
  g_assert_cmpstr (json_object_get_string_member (split_info, "name"), ==, "default");
  g_assert_false (json_object_get_boolean_member (split_info, "created_for_this_run"));
  g_autofree char *ids_path = g_build_filename (run, KILN_RUN_SPLIT_IDS_FILE, NULL);
  g_autoptr(GPtrArray) rows = read_lines (ids_path);
  g_autoptr(GHashTable) train_ids = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) run_test_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < rows->len; i++)
    {
      g_auto(GStrv) fields = g_strsplit (rows->pdata[i], "\t", 3);
      gint64 id = g_ascii_strtoll (fields[0], NULL, 10);
      g_assert_cmpint (id, !=, discarded_id);
      g_assert_cmpstr (fields[2], !=, discarded_path);
      if (g_str_equal (fields[1], "train"))
        g_hash_table_add (train_ids, g_memdup2 (&id, sizeof id));
      else if (g_str_equal (fields[1], "test"))
        g_array_append_val (run_test_ids, id);
    }
  /* The held-out test subset is the store's, and none of it was trained on. */
  g_assert_cmpuint (run_test_ids->len, ==, store_test_ids->len);
  for (guint i = 0; i < run_test_ids->len; i++)
    {
      gboolean in_store = FALSE;
      for (guint j = 0; j < store_test_ids->len; j++)
        in_store |= g_array_index (store_test_ids, gint64, j) == g_array_index (run_test_ids, gint64, i);
      g_assert_true (in_store);
      g_assert_false (g_hash_table_contains (train_ids, &g_array_index (run_test_ids, gint64, i)));
    }
  g_assert_cmpuint (g_hash_table_size (train_ids), ==, 17);
  const char *lists[] = { "train.txt", "val.txt", "test.txt" };
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      g_autofree char *path = g_build_filename (run, lists[l], NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_assert_null (strstr (text, discarded_path));
    }

  const char *eval[] = { "eval", run, "--subset", "test", "--backend", "cpu", "--json", NULL };
  g_autoptr(JsonObject) evaluated = run_json (eval);
  g_assert_cmpint (json_object_get_int_member (evaluated, "images"), ==, 9);

  /* A label file numbered by its own class file is matched by name: the
   * classes in reverse order score exactly as the run's own val subset. */
  {
    g_autofree char *val_txt = g_build_filename (run, "val.txt", NULL);
    g_autofree char *labels_txt = g_build_filename (run, "labels.txt", NULL);
    g_autoptr(KilnLabelSet) val = kiln_labels_read (val_txt, labels_txt, &error);
    g_assert_no_error (error);
    g_autoptr(KilnLabelSet) reversed = kiln_label_set_new ();
    guint k = val->classes->len;
    for (guint c = 0; c < k; c++)
      g_ptr_array_add (reversed->classes, g_strdup (val->classes->pdata[k - 1 - c]));
    for (guint i = 0; i < val->paths->len; i++)
      kiln_label_set_add (reversed, val->paths->pdata[i], (int) k - 1 - g_array_index (val->labels, int, i));
    g_autofree char *mine = g_build_filename (dir, "mine.txt", NULL);
    g_autofree char *mine_classes = g_build_filename (dir, "mine-classes.txt", NULL);
    g_assert_true (kiln_labels_write (reversed, mine, mine_classes, &error));
    const char *own[] = { "eval", run, "--labels", mine, "--classes", mine_classes, "--root", project,
                          "--backend", "cpu", "--json", NULL };
    const char *theirs[] = { "eval", run, "--subset", "val", "--backend", "cpu", "--json", NULL };
    g_autoptr(JsonObject) by_name = run_json (own);
    g_autoptr(JsonObject) by_run = run_json (theirs);
    g_assert_cmpint (json_object_get_int_member (by_name, "images"), ==, 9);
    g_assert_cmpfloat (json_object_get_double_member (by_name, "top1"), ==,
                       json_object_get_double_member (by_run, "top1"));
    /* A class the model never saw is refused by name. */
    g_free (reversed->classes->pdata[0]);
    reversed->classes->pdata[0] = g_strdup ("zebra");
    g_assert_true (kiln_labels_write (reversed, mine, mine_classes, &error));
    expect_failure (own, 1, "no class named “zebra”");
    /* Paths relative to another folder: not found, with the way out. */
    const char *rootless[] = { "eval", run, "--labels", val_txt, "--root", dir, "--backend", "cpu", NULL };
    expect_failure (rootless, 1, "give --root DIR");
  }

  /* mean, asked for the training conversion, averages exactly the images
   * training averaged, to the same values. */
  g_autofree char *mean_dir = g_build_filename (dir, "mean", NULL);
  const char *mean[] = { "mean", "--project", project, "--size", "28x28", "--gray", "--resize", "squash",
                         "--output", mean_dir, "--json", NULL };
  g_autoptr(JsonObject) averaged = run_json (mean);
  g_assert_cmpint (json_object_get_int_member (averaged, "images"), ==, 17);
  g_autofree char *cli_list = g_build_filename (mean_dir, "mean-images.txt", NULL);
  g_autofree char *run_list = g_build_filename (run, "mean-images.txt", NULL);
  g_autoptr(GPtrArray) cli_images = read_lines (cli_list);
  g_autoptr(GPtrArray) run_images = read_lines (run_list);
  g_assert_cmpuint (cli_images->len, ==, run_images->len);
  for (guint i = 0; i < cli_images->len; i++)
    g_assert_cmpstr (cli_images->pdata[i], ==, run_images->pdata[i]);
  g_autofree char *cli_f32 = g_build_filename (mean_dir, "mean.f32", NULL);
  g_autofree char *run_f32 = g_build_filename (run, "mean.f32", NULL);
  g_autofree float *cli_mean = kiln_mean_image_load_f32 (cli_f32, 28 * 28, &error);
  g_autofree float *run_mean = kiln_mean_image_load_f32 (run_f32, 28 * 28, &error);
  g_assert_no_error (error);
  for (guint k = 0; k < 28 * 28; k++)
    g_assert_cmpfloat_with_epsilon (cli_mean[k], run_mean[k], 1e-4);

  /* Issue 17's runs: what a failed start leaves, what --weights may name,
   * what a resume may change, and the runs list. */
  g_autofree char *runs_dir = g_build_filename (project, "runs", NULL);
  guint runs_before = count_entries (runs_dir);
  {
    const char *frozen[] = { "train", "--project", project, "--preset", "lenet", "--freeze-up-to", "conv1",
                             "--epochs", "1", NULL };
    expect_failure (frozen, 1, "without pretrained weights");
    const char *big[] = { "train", "--project", project, "--preset", "lenet", "--batch", "500", NULL };
    expect_failure (big, 1, "larger than the 17 training images");
    g_autofree char *junk = g_build_filename (dir, "junk.safetensors", NULL);
    g_assert_true (g_file_set_contents (junk, "not a checkpoint", -1, NULL));
    const char *bad_weights[] = { "train", "--project", project, "--preset", "lenet", "--weights", junk, NULL };
    expect_failure (bad_weights, 1, "not a safetensors checkpoint");
    g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
    g_assert_true (g_file_set_contents (onnx, "x", 1, NULL));
    const char *broken[] = { "train", "--project", project, "--weights", onnx, NULL };
    expect_failure (broken, 1, "model.onnx");
    const char *mixed[] = { "train", "--project", project, "--preset", "lenet", "--weights", onnx, NULL };
    expect_failure (mixed, 2, "brings its own network");
    /* None of the refused starts left a run folder behind. */
    g_assert_cmpuint (count_entries (runs_dir), ==, runs_before);
  }
  {
    /* A run id names the weights to start from; the CLI says which file. */
    const char *from_run[] = { "train", "--project", project, "--preset", "lenet", "--weights", "r1",
                               "--freeze-up-to", "conv1", "--epochs", "1", "--batch", "6", "--run-id", "r2",
                               "--backend", "cpu", NULL };
    g_autofree char *out = NULL, *err = NULL;
    int status = kiln_test_run_cli (from_run, &out, &err);
    g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    g_assert_nonnull (strstr (out, "the best checkpoint of run r1"));
    /* Fine-tuning keeps the input mean r1's filters were trained with:
     * r1's mean image averaged per channel (one, gray), not r2's data. */
    g_autofree char *r2 = g_build_filename (project, "runs", "r2", NULL);
    g_autoptr(JsonObject) r2_config = kiln_training_read_config (r2, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (json_object_get_string_member (r2_config, "mean"), ==, "pretrained");
    g_autofree char *r1_f32 = g_build_filename (run, "mean.f32", NULL);
    g_autofree char *r2_f32 = g_build_filename (r2, "mean.f32", NULL);
    g_autofree float *r1_mean = kiln_mean_image_load_f32 (r1_f32, 28 * 28, &error);
    g_autofree float *r2_mean = kiln_mean_image_load_f32 (r2_f32, 28 * 28, &error);
    g_assert_no_error (error);
    double r1_average = 0;
    for (guint k = 0; k < 28 * 28; k++)
      r1_average += r1_mean[k] / (28.0 * 28.0);
    for (guint k = 0; k < 28 * 28; k++)
      g_assert_cmpfloat_with_epsilon (r2_mean[k], r1_average, 1e-3);
  }
  {
    /* An ONNX model is imported for the project's classes and trained from. */
    g_autofree char *fixture = g_test_build_filename (G_TEST_DIST, "fixtures", "onnx", "padnet-opset13.onnx", NULL);
    const char *from_model[] = { "train", "--project", project, "--weights", fixture, "--epochs", "1", "--batch", "6",
                                 "--run-id", "r3", "--backend", "cpu", NULL };
    g_autofree char *out = NULL, *err = NULL;
    int status = kiln_test_run_cli (from_model, &out, &err);
    if (WEXITSTATUS (status) != 0)
      g_error ("train --weights MODEL.onnx failed: %s", err);
    g_assert_nonnull (strstr (out, "the ONNX model"));
    g_autofree char *r3 = g_build_filename (project, "runs", "r3", NULL);
    g_autoptr(JsonObject) r3_config = kiln_training_read_config (r3, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (r3_config, "classes")), ==, 3);
    /* Its export keeps the names the model came with (image → scores). */
    g_autofree char *exported = g_build_filename (r3, "model.onnx", NULL);
    g_autoptr(KilnOnnxModel) onnx_model = kiln_onnx_model_load (exported, &error);
    g_assert_no_error (error);
    KilnOnnxValueInfo in_info, out_info;
    kiln_onnx_model_get_input (onnx_model, 0, &in_info);
    kiln_onnx_model_get_output (onnx_model, 0, &out_info);
    g_assert_cmpstr (in_info.name, ==, "image");
    g_assert_cmpstr (out_info.name, ==, "scores");
    /* And the input means it was trained with, as metadata_props. */
    g_autofree char *bytes = NULL;
    gsize length = 0;
    g_assert_true (g_file_get_contents (exported, &bytes, &length, NULL));
    g_assert_nonnull (memmem (bytes, length, "kiln.input_mean_channels", strlen ("kiln.input_mean_channels")));
  }
  {
    /* A resume keeps its settings: --lr is refused, --epochs may grow. */
    const char *lr[] = { "train", "--resume", run, "--lr", "0.5", NULL };
    expect_failure (lr, 2, "cannot change when a run resumes");
    const char *again[] = { "train", "--resume", run, "--json", NULL };
    g_autoptr(JsonObject) finished = run_json (again);
    g_assert_cmpstr (json_object_get_string_member (finished, "state"), ==, "finished");
    const char *longer[] = { "train", "--resume", run, "--epochs", "2", "--batch", "8", "--json", NULL };
    expect_failure (longer, 2, "--batch");
    /* The device may change: a checkpoint resumes on any (--backend is
     * --device's old name). */
    const char *longer_ok[] = { "train", "--resume", run, "--epochs", "2", "--backend", "cpu", "--json", NULL };
    g_autoptr(JsonObject) extended = run_json (longer_ok);
    g_assert_cmpstr (json_object_get_string_member (extended, "state"), ==, "finished");
    g_autofree char *events_path = g_build_filename (run, "events.jsonl", NULL);
    g_autofree char *events = NULL;
    g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
    g_assert_nonnull (strstr (events, "epochs-extended"));
    g_assert_nonnull (strstr (events, "\"device\":\"cpu\",\"device_reason\":\"cpu, as asked\""));
  }
  {
    const char *list[] = { "runs", "--project", project, "--json", NULL };
    g_autoptr(JsonObject) listed = run_json (list);
    JsonArray *runs = json_object_get_array_member (listed, "runs");
    g_assert_cmpuint (json_array_get_length (runs), ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        JsonObject *r = json_array_get_object_element (runs, i);
        g_assert_cmpstr (json_object_get_string_member (r, "split"), ==, "default");
        g_assert_cmpstr (json_object_get_string_member (r, "state"), ==, "finished");
      }
  }

  kiln_test_remove_tree (dir);
}

static int
display_width (const char *text, gsize bytes)
{
  int width = 0;
  for (const char *p = text; p < text + bytes; p = g_utf8_next_char (p))
    width += g_unichar_iswide (g_utf8_get_char (p)) ? 2 : 1;
  return width;
}

/* Class tables line up in a terminal whatever the class names' script. */
static void
test_tables_align_wide_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-cli-wide-XXXXXX", &error);
  const char *classes[] = { "dog", "猫の写真" };
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    {
      g_autofree char *folder = g_build_filename (dir, classes[c], NULL);
      g_autofree char *file = g_build_filename (folder, "a.png", NULL);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 8, 8);
      gdk_pixbuf_fill (pixbuf, 0x808080ff);
      g_assert_true (gdk_pixbuf_save (pixbuf, file, "png", &error, NULL));
    }
  const char *label[] = { "label", dir, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (WEXITSTATUS (kiln_test_run_cli (label, &out, &err)), ==, 0);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  int count_column[2] = { -1, -1 };
  for (guint i = 0; lines[i] != NULL; i++)
    for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
      if (strstr (lines[i], classes[c]) != NULL && g_str_has_suffix (lines[i], " 1"))
        count_column[c] = display_width (lines[i], strlen (lines[i]) - 1);
  g_assert_cmpint (count_column[0], >, 0);
  g_assert_cmpint (count_column[0], ==, count_column[1]);
  kiln_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  kiln_test_isolate_home ();
  g_test_add_func ("/cli/dataset/store-is-the-one-truth", test_store_is_the_one_truth);
  g_test_add_func ("/cli/dataset/tables-align-wide-names", test_tables_align_wide_names);
  return g_test_run ();
}
