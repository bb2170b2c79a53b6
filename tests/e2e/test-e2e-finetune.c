/* Fine-tuning end to end with kiln-cli: pretrain LeNet on eight
 * Fashion-MNIST classes, then fine-tune it on the two held-out classes with
 * 100 images each, conv layers frozen and their outputs cached. The new
 * classifier must reach a stated accuracy, and the frozen layers' weights
 * must be bit-identical to the pretrained ones afterwards. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "kiln-demo.h"
#include "kiln-run.h"
#include "kiln-safetensors.h"
#include "test-util.h"

#define REQUIRED_ACCURACY 0.90

static const char *held_out[] = { "Trouser", "Bag" };

static JsonObject *
train (const char *const *args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = kiln_test_run_cli (args, &out, &err);

  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-cli failed: %s", err);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* A project whose class folders link to @limit images of the source's. */
static void
make_project (const char *source_images, const char *project, gboolean held, guint limit)
{
  g_autoptr(GDir) classes = g_dir_open (source_images, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (classes)))
    {
      gboolean is_held = g_str_equal (name, held_out[0]) || g_str_equal (name, held_out[1]);
      if (is_held != held)
        continue;
      g_autofree char *from = g_build_filename (source_images, name, NULL);
      g_autofree char *to = g_build_filename (project, "images", name, NULL);
      g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GDir) dir = g_dir_open (from, 0, NULL);
      const char *file;
      while ((file = g_dir_read_name (dir)))
        g_ptr_array_add (files, g_strdup (file));
      /* Directory order is not stable across file systems. */
      g_ptr_array_sort (files, (GCompareFunc) g_strcmp0);
      for (guint i = 0; i < files->len && (limit == 0 || i < limit); i++)
        {
          g_autofree char *src = g_build_filename (from, files->pdata[i], NULL);
          g_autofree char *dst = g_build_filename (to, files->pdata[i], NULL);
          g_assert_cmpint (symlink (src, dst), ==, 0);
        }
    }
}

static void
test_finetune_held_out_classes (void)
{
  if (!g_file_test (KILN_DEMO_DATASET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("dataset-fashion-mnist is not installed (" KILN_DEMO_DATASET_DIR ")");
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("kiln-finetune-XXXXXX", NULL);
  g_autofree char *source = g_build_filename (tmp, "fashion", NULL);
  g_assert_true (kiln_demo_ensure (source, NULL, 3000, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *source_images = g_build_filename (source, "images", NULL);
  g_autofree char *eight = g_build_filename (tmp, "eight", NULL);
  g_autofree char *two = g_build_filename (tmp, "two", NULL);
  make_project (source_images, eight, FALSE, 0);
  make_project (source_images, two, TRUE, 100);

  const char *pretrain[] = { "train", "--project", eight, "--preset", "lenet", "--epochs", "3", "--seed", "2",
                             "--run-id", "pretrain", "--no-mirror", "--json", NULL };
  g_autoptr(JsonObject) first = train (pretrain);
  g_assert_cmpstr (json_object_get_string_member (first, "state"), ==, "finished");
  g_autofree char *pre_dir = g_build_filename (eight, "runs", "pretrain", NULL);
  g_autoptr(KilnRun) pre_run = kiln_run_open (pre_dir, -1, &error);
  g_assert_no_error (error);
  g_autofree char *pretrained = kiln_run_get_best_checkpoint (pre_run, NULL, NULL);
  g_assert_nonnull (pretrained);
  g_test_message ("pretrained on 8 classes: validation accuracy %.4f",
                  json_object_get_double_member (first, "best_val_accuracy"));

  const char *finetune[] = { "train", "--project", two, "--preset", "lenet", "--weights", pretrained,
                             "--freeze-up-to", "pool2", "--epochs", "6", "--batch", "16", "--lr", "0.01",
                             "--val-fraction", "0.2", "--seed", "3", "--run-id", "finetune", "--json", NULL };
  g_autoptr(JsonObject) second = train (finetune);
  g_assert_cmpstr (json_object_get_string_member (second, "state"), ==, "finished");
  double accuracy = json_object_get_double_member (second, "best_val_accuracy");
  g_test_message ("fine-tuned on 2 held-out classes × 100 images: validation accuracy %.4f", accuracy);
  g_assert_cmpfloat (accuracy, >=, REQUIRED_ACCURACY);

  /* The frozen layers are bit-identical to the pretrained ones; the top
   * layer was replaced for two classes. */
  g_autofree char *ft_dir = g_build_filename (two, "runs", "finetune", NULL);
  g_autoptr(KilnRun) ft_run = kiln_run_open (ft_dir, -1, &error);
  g_autofree char *final = kiln_run_get_latest_checkpoint (ft_run, NULL);
  g_autoptr(KilnSafetensors) before = kiln_safetensors_new_from_file (pretrained, &error);
  g_assert_no_error (error);
  g_autoptr(KilnSafetensors) after = kiln_safetensors_new_from_file (final, &error);
  g_assert_no_error (error);
  const char *frozen[] = { "param/conv1/0", "param/conv1/1", "param/conv2/0", "param/conv2/1" };
  for (guint i = 0; i < G_N_ELEMENTS (frozen); i++)
    {
      const KilnSafetensorsTensor *a = kiln_safetensors_get_tensor (before, frozen[i]);
      const KilnSafetensorsTensor *b = kiln_safetensors_get_tensor (after, frozen[i]);
      g_assert_nonnull (a);
      g_assert_nonnull (b);
      g_assert_cmpmem (a->data, a->n_bytes, b->data, b->n_bytes);
    }
  const KilnSafetensorsTensor *top = kiln_safetensors_get_tensor (after, "param/ip2/0");
  g_assert_cmpint (top->shape[0], ==, 2);

  g_autofree char *events_path = g_build_filename (ft_dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"features-cached\""));
  g_assert_nonnull (strstr (events, "\"freshly_initialised\":[\"param/ip2/0\",\"param/ip2/1\"]"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/finetune-held-out-classes", test_finetune_held_out_classes);
  return g_test_run ();
}
