/* kiln-cli import-model: an ONNX fixture becomes a spec + checkpoint whose
 * net gives PyTorch's outputs (after the softmax the import drops); a Caffe
 * fixture with --classes gets a replaced top layer and otherwise the
 * imported weights; `kiln-cli train --spec --weights` fine-tunes the result
 * on a small project and reports the weights it loaded; kiln-cli
 * export-onnx writes the imported and the trained nets as ONNX that reads
 * back with the same outputs, counts their parameters and keeps an imported
 * model's input and output names; bad input fails. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kiln-checkpoint.h"
#include "kiln-core.h"
#include "test-util.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer unused)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("kiln-import-model-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer unused)
{
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
source_file (const char *folder, const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", folder, name, NULL);
}

static void
run_ok (const char *const *args, char **out)
{
  g_autofree char *err = NULL;
  int status = kiln_test_run_cli (args, out, &err);

  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-cli %s failed: %s", args[0], err);
}

/* The spec and checkpoint as a net (every parameter must load); the
 * backend must outlive it. */
static KilnNet *
load_imported (KilnBackend *backend, const char *spec_path, const char *weights_path, int batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_net_spec_new_from_file (spec_path, &error);
  g_assert_no_error (error);
  KilnNet *net = kiln_net_new (spec, backend, batch, 1, &error);
  g_assert_no_error (error);
  g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (weights_path, &error);
  g_assert_no_error (error);
  kiln_checkpoint_load (net, file, KILN_CHECKPOINT_LOAD_STRICT, NULL, &error);
  g_assert_no_error (error);
  return net;
}

static void
test_onnx (Fixture *f, gconstpointer unused)
{
  g_autofree char *model = source_file ("onnx", "convnet-opset13.onnx");
  g_autofree char *spec = g_build_filename (f->dir, "convnet.json", NULL);
  g_autofree char *weights = g_build_filename (f->dir, "convnet.safetensors", NULL);
  g_autofree char *input_path = source_file ("onnx", "convnet-input.pb");
  g_autofree char *output_path = source_file ("onnx", "convnet-output.pb");
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "import-model", model, "--out", spec, NULL };

  run_ok (args, &out);
  g_assert_nonnull (strstr (out, "Dropped the final Softmax"));
  /* The weights default to the spec's name. */
  g_assert_true (g_file_test (weights, G_FILE_TEST_IS_REGULAR));

  g_autoptr(KilnOnnxTensor) input = kiln_onnx_tensor_load (input_path, &error);
  g_assert_no_error (error);
  g_autoptr(KilnOnnxTensor) expected = kiln_onnx_tensor_load (output_path, &error);
  g_assert_no_error (error);
  int batch = (int) input->dims[0];
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_autoptr(KilnNet) net = load_imported (backend, spec, weights, batch);
  gint64 n = kiln_shape_n_elements (kiln_net_get_output_shape (net));
  g_assert_cmpint (n, ==, (gint64) expected->n_elements);
  g_autofree float *y = g_new (float, n);
  kiln_net_set_input (net, input->data);
  kiln_net_forward (net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (net, y);

  /* The reference is after PyTorch's softmax; the spec ends at the scores. */
  int k = (int) (n / batch);
  for (int b = 0; b < batch; b++)
    {
      double max = -INFINITY, sum = 0;
      for (int i = 0; i < k; i++)
        max = MAX (max, y[b * k + i]);
      for (int i = 0; i < k; i++)
        sum += exp (y[b * k + i] - max);
      for (int i = 0; i < k; i++)
        y[b * k + i] = (float) (exp (y[b * k + i] - max) / sum);
    }
  double err = kiln_test_normalized_error (y, expected->data, n, NULL);
  g_test_message ("convnet-opset13.onnx through import-model: normalized error %.3g", err);
  g_assert_cmpfloat (err, <, 1e-5);
}

/* export-onnx of an imported model: it counts the parameters it wrote, and
 * the graph keeps the model's input and output names (padnet's "image" and
 * "scores"), which the import stored in the checkpoint. */
static void
test_onnx_export (Fixture *f, gconstpointer unused)
{
  g_autofree char *model = source_file ("onnx", "padnet-opset13.onnx");
  g_autofree char *spec = g_build_filename (f->dir, "padnet.json", NULL);
  g_autofree char *weights = g_build_filename (f->dir, "padnet.safetensors", NULL);
  g_autofree char *onnx = g_build_filename (f->dir, "padnet-export.onnx", NULL);
  g_autofree char *import_out = NULL, *export_out = NULL, *json_out = NULL;
  g_autoptr(GError) error = NULL;
  const char *import[] = { "import-model", model, "--out", spec, "--json", NULL };
  const char *export[] = { "export-onnx", weights, "--out", onnx, NULL };
  const char *export_json[] = { "export-onnx", weights, "--out", onnx, "--json", NULL };

  run_ok (import, &import_out);
  g_autoptr(JsonNode) summary = json_from_string (import_out, &error);
  g_assert_no_error (error);
  gint64 params = json_object_get_int_member (json_node_get_object (summary), "params");
  /* conv1 6·3·9 + 6, conv2 8·6 + 8, fc 5·32 + 5. */
  g_assert_cmpint (params, ==, 168 + 56 + 165);

  run_ok (export, &export_out);
  g_autofree char *count = g_strdup_printf (" %" G_GINT64_FORMAT " parameters", params);
  if (strstr (export_out, count) == NULL)
    g_error ("“%s” not in: %s", count, export_out);
  g_assert_nonnull (strstr (export_out, "input “image”, output “scores”"));
  run_ok (export_json, &json_out);
  g_autoptr(JsonNode) export_summary = json_from_string (json_out, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (export_summary);
  g_assert_cmpint (json_object_get_int_member (o, "params"), ==, params);
  g_assert_cmpstr (json_object_get_string_member (o, "input"), ==, "image");
  g_assert_cmpstr (json_object_get_string_member (o, "output"), ==, "scores");

  /* --help says which names the graph gets. */
  g_autofree char *help = NULL;
  const char *help_args[] = { "export-onnx", "--help", NULL };
  run_ok (help_args, &help);
  g_assert_nonnull (strstr (help, "keep the names of a model imported with import-model"));
  g_assert_nonnull (strstr (help, "read “input” and write “output”"));

  g_autoptr(KilnOnnxModel) exported = kiln_onnx_model_load (onnx, &error);
  g_assert_no_error (error);
  KilnOnnxValueInfo info;
  kiln_onnx_model_get_input (exported, 0, &info);
  g_assert_cmpstr (info.name, ==, "image");
  kiln_onnx_model_get_output (exported, 0, &info);
  g_assert_cmpstr (info.name, ==, "scores");
}

/* 12×12 RGB PNGs, `per_class` in each class folder, colour by class. */
static void
make_project (const char *dir, guint n_classes, guint per_class)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (guint c = 0; c < n_classes; c++)
    {
      g_autofree char *name = g_strdup_printf ("class%u", c);
      g_autofree char *folder = g_build_filename (dir, "images", name, NULL);
      g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
      for (guint i = 0; i < per_class; i++)
        {
          g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 12, 12);
          guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
          int stride = gdk_pixbuf_get_rowstride (pixbuf);
          for (int y = 0; y < 12; y++)
            for (int x = 0; x < 12; x++)
              for (int ch = 0; ch < 3; ch++)
                pixels[y * stride + x * 3 + ch] = (guint8) ((ch == (int) c ? 160 : 40) + g_rand_int_range (rand, 0, 60));
          g_autofree char *file = g_strdup_printf ("%u.png", i);
          g_autofree char *path = g_build_filename (folder, file, NULL);
          g_autoptr(GError) error = NULL;
          gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
          g_assert_no_error (error);
        }
    }
}

static void
test_caffe_fine_tune (Fixture *f, gconstpointer unused)
{
  g_autofree char *model = source_file ("caffe", "tiny-v1.caffemodel");
  g_autofree char *prototxt = source_file ("caffe", "tiny-v1-deploy.prototxt");
  g_autofree char *spec = g_build_filename (f->dir, "tiny.json", NULL);
  g_autofree char *weights = g_build_filename (f->dir, "tiny-weights.safetensors", NULL);
  g_autofree char *project = g_build_filename (f->dir, "project", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "import-model", model, "--prototxt", prototxt, "--classes", "3", "--out", spec,
                         "--weights", weights, "--json", NULL };

  run_ok (args, &out);
  g_autoptr(JsonNode) summary = json_from_string (out, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (summary);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "caffe");
  g_assert_cmpstr (json_object_get_string_member (o, "replaced_layer"), ==, "fc4");
  g_assert_cmpstr (json_object_get_string_member (o, "dropped_softmax"), ==, "prob");
  g_assert_cmpint (json_object_get_int_member (o, "classes"), ==, 3);

  /* The new top layer has 3 outputs; the others are Caffe's weights. */
  g_autoptr(KilnBackend) backend = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  g_autoptr(KilnNet) net = load_imported (backend, spec, weights, 1);
  KilnShape shape;
  kiln_net_get_param_shape (net, "fc4", 0, &shape, &error);
  g_assert_no_error (error);
  g_assert_cmpint (shape.n, ==, 3);
  g_assert_cmpint (shape.c, ==, 8);
  g_autoptr(KilnNetSpec) imported = NULL;
  g_autoptr(GHashTable) table = NULL;
  kiln_caffe_import (model, prototxt, &imported, &table, &error);
  g_assert_no_error (error);
  const char *layers[] = { "conv1", "conv2", "fc3" };
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    {
      g_autofree char *key = g_strconcat (layers[i], ".weight", NULL);
      const KilnOnnxTensor *t = g_hash_table_lookup (table, key);
      g_autofree float *data = g_new (float, t->n_elements);
      kiln_net_get_param (net, layers[i], 0, data, (gint64) t->n_elements, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (data, t->n_elements * sizeof (float), t->data, t->n_elements * sizeof (float));
    }

  /* Fine-tuning: train starts from the file and says what it loaded. */
  make_project (project, 3, 6);
  g_autofree char *train_out = NULL;
  const char *train[] = { "train", "--project", project, "--spec", spec, "--weights", weights, "--epochs", "1",
                          "--batch", "4", "--run-id", "tune", "--json", NULL };
  run_ok (train, &train_out);
  g_autofree char *events_path = g_build_filename (project, "runs", "tune", "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (events, "\n", -1);
  gboolean found = FALSE;
  for (guint i = 0; lines[i] && !found; i++)
    {
      if (strstr (lines[i], "initial-weights") == NULL)
        continue;
      g_autoptr(JsonNode) node = json_from_string (lines[i], &error);
      g_assert_no_error (error);
      JsonObject *event = json_node_get_object (node);
      JsonObject *fields = json_object_has_member (event, "fields") ? json_object_get_object_member (event, "fields")
                                                                    : event;
      /* conv1, conv2, fc3, fc4: weight and bias each. */
      g_assert_cmpint (json_object_get_int_member (fields, "loaded"), ==, 8);
      found = TRUE;
    }
  g_assert_true (found);

  /* export-onnx reads the spec the import stored in the weights file; the
   * ONNX model computes what the spec + weights compute. */
  g_autofree char *onnx = g_build_filename (f->dir, "tiny.onnx", NULL);
  g_autofree char *export_out = NULL;
  const char *export[] = { "export-onnx", weights, "--out", onnx, NULL };
  run_ok (export, &export_out);
  g_autoptr(KilnNetSpec) onnx_spec = NULL;
  g_autoptr(GHashTable) onnx_weights = NULL;
  kiln_onnx_import_spec (onnx, &onnx_spec, &onnx_weights, &error);
  g_assert_no_error (error);
  g_autoptr(KilnNet) onnx_net = kiln_net_new (onnx_spec, backend, 1, 1, &error);
  g_assert_no_error (error);
  kiln_onnx_load_weights (onnx_net, onnx_weights, &error);
  g_assert_no_error (error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  float x[3 * 12 * 12], a[3], b[3];
  for (guint i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  kiln_net_set_input (net, x);
  kiln_net_forward (net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (net, a);
  kiln_net_set_input (onnx_net, x);
  kiln_net_forward (onnx_net, FALSE, &error);
  g_assert_no_error (error);
  kiln_net_get_output (onnx_net, b);
  g_assert_cmpfloat (kiln_test_normalized_error (b, a, 3, NULL), <, 1e-6);

  /* A trained net: the run's checkpoint carries its spec too. */
  g_autofree char *checkpoints = g_build_filename (project, "runs", "tune", "checkpoints", NULL);
  g_autoptr(GDir) dir = g_dir_open (checkpoints, 0, &error);
  g_assert_no_error (error);
  const char *entry;
  g_autofree char *trained = NULL;
  while ((entry = g_dir_read_name (dir)) != NULL && trained == NULL)
    if (g_str_has_suffix (entry, ".safetensors"))
      trained = g_build_filename (checkpoints, entry, NULL);
  g_assert_nonnull (trained);
  g_autofree char *trained_onnx = g_build_filename (f->dir, "trained.onnx", NULL);
  g_autofree char *trained_out = NULL;
  const char *export_trained[] = { "export-onnx", trained, "--out", trained_onnx, "--json", NULL };
  run_ok (export_trained, &trained_out);
  g_assert_nonnull (strstr (trained_out, "\"opset\" : 13"));
  g_autoptr(KilnNetSpec) trained_spec = NULL;
  g_autoptr(GHashTable) trained_weights = NULL;
  kiln_onnx_import_spec (trained_onnx, &trained_spec, &trained_weights, &error);
  g_assert_no_error (error);
  guint last = kiln_net_spec_get_n_layers (trained_spec) - 1;
  g_assert_cmpint (kiln_net_spec_get_shape (trained_spec, last)->c, ==, 3);
}

static void
test_errors (Fixture *f, gconstpointer unused)
{
  g_autofree char *spec = g_build_filename (f->dir, "x.json", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "missing.onnx", NULL);
  g_autofree char *model = source_file ("caffe", "tiny-new.caffemodel");
  g_autofree char *out = NULL, *err = NULL;

  /* No --out. */
  const char *no_out[] = { "import-model", model, NULL };
  int status = kiln_test_run_cli (no_out, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "--out"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *no_file[] = { "import-model", missing, "--out", spec, NULL };
  status = kiln_test_run_cli (no_file, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "missing.onnx"));
  g_assert_false (g_file_test (spec, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A Caffe model read as ONNX is refused, not misread. */
  const char *wrong[] = { "import-model", model, "--format", "onnx", "--out", spec, NULL };
  status = kiln_test_run_cli (wrong, &out, &err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_false (g_file_test (spec, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/cli-import-model/onnx", Fixture, NULL, fixture_setup, test_onnx, fixture_teardown);
  g_test_add ("/cli-import-model/onnx-export", Fixture, NULL, fixture_setup, test_onnx_export, fixture_teardown);
  g_test_add ("/cli-import-model/caffe-fine-tune", Fixture, NULL, fixture_setup, test_caffe_fine_tune,
              fixture_teardown);
  g_test_add ("/cli-import-model/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
  return g_test_run ();
}
