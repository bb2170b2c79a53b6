/* KilnTrainer on a generated task: it learns, reports on the main context
 * only and coalesced, writes complete files, stops and resumes to exactly the
 * weights of an uninterrupted run, pauses, and fails cleanly on a NaN loss. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "kiln-netspec.h"
#include "kiln-engine-error.h"
#include "kiln-error.h"
#include "kiln-safetensors.h"
#include "kiln-tensor-cache.h"
#include "kiln-trainer.h"
#include "kiln-backend-cpu.h"
#include "kiln-net.h"
#include "kiln-run-device.h"
#include "kiln-trainer-private.h"

#define SIDE 12
#define N_TRAIN 96
#define N_VAL 48

/* Class 0: a horizontal bar, 1: a vertical bar, 2: a small square; random
 * position and noise, all from the file name's number. */
static gboolean
decode_synthetic (const char *path, guint8 *chw, gpointer user_data, GError **error)
{
  g_autofree char *base = g_path_get_basename (path);
  guint cls, id;
  if (sscanf (base, "c%u-%u", &cls, &id) != 2)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: not a synthetic image", path);
      return FALSE;
    }
  GRand *rand = g_rand_new_with_seed (id * 7919 + cls);
  for (int i = 0; i < SIDE * SIDE; i++)
    chw[i] = (guint8) g_rand_int_range (rand, 0, 60);
  int a = g_rand_int_range (rand, 2, SIDE - 3), b = g_rand_int_range (rand, 2, SIDE - 3);
  for (int k = -2; k <= 2; k++)
    {
      if (cls == 0)
        for (int x = 1; x < SIDE - 1; x++)
          chw[(a + (k == 0 ? 0 : 0)) * SIDE + x] = 230;
      else if (cls == 1)
        for (int y = 1; y < SIDE - 1; y++)
          chw[y * SIDE + b] = 230;
      else
        for (int d = -1; d <= 1; d++)
          chw[(a + d) * SIDE + b + CLAMP (k, -1, 1)] = 230;
    }
  g_rand_free (rand);
  return TRUE;
}

typedef struct {
  char *dir;
  KilnTensorCache *cache;
  guint train_idx[N_TRAIN], val_idx[N_VAL];
  int train_labels[N_TRAIN], val_labels[N_VAL];
} Data;

static void
data_setup (Data *d, gconstpointer unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  d->dir = g_dir_make_tmp ("kiln-trainer-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_TRAIN + N_VAL; i++)
    g_ptr_array_add (paths, g_strdup_printf ("%s/c%u-%u.syn", d->dir, i % 3, i));
  /* The decoder makes the pixels from the name: no files are needed. */
  g_autofree char *cache_path = g_build_filename (d->dir, "cache", "images.kilncache", NULL);
  d->cache = kiln_tensor_cache_build (cache_path, (const char *const *) paths->pdata, paths->len,
                                      1, SIDE, SIDE, decode_synthetic, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_TRAIN; i++)
    d->train_idx[i] = i, d->train_labels[i] = i % 3;
  for (guint i = 0; i < N_VAL; i++)
    d->val_idx[i] = N_TRAIN + i, d->val_labels[i] = (N_TRAIN + i) % 3;
}

static void
data_teardown (Data *d, gconstpointer unused)
{
  kiln_tensor_cache_free (d->cache);
  g_free (d->dir);
}

static void
add (KilnNetSpec *spec, KilnLayerType type, const char *name, int num_output, int kernel, int stride, int pad)
{
  g_auto(KilnLayerSpec) layer;
  g_autoptr(GError) error = NULL;
  kiln_layer_spec_init (&layer, type, name);
  layer.num_output = num_output;
  if (kernel > 0)
    {
      layer.kernel_h = layer.kernel_w = kernel;
      layer.stride_h = layer.stride_w = stride;
      layer.pad_top = layer.pad_bottom = layer.pad_left = layer.pad_right = pad;
    }
  g_assert_true (kiln_net_spec_add_layer (spec, &layer, &error));
  g_assert_no_error (error);
}

static KilnNetSpec *
small_cnn (void)
{
  KilnNetSpec *spec = kiln_net_spec_new ("bars", 1, SIDE, SIDE);
  add (spec, KILN_LAYER_CONVOLUTION, "conv1", 8, 3, 1, 1);
  add (spec, KILN_LAYER_RELU, "relu1", 0, 0, 0, 0);
  add (spec, KILN_LAYER_MAX_POOL, "pool1", 0, 2, 2, 0);
  add (spec, KILN_LAYER_INNER_PRODUCT, "fc1", 16, 0, 0, 0);
  add (spec, KILN_LAYER_RELU, "relu2", 0, 0, 0, 0);
  add (spec, KILN_LAYER_INNER_PRODUCT, "fc2", 3, 0, 0, 0);
  return spec;
}

static void
options_for_test (KilnTrainerOptions *o, int epochs)
{
  kiln_trainer_options_init (o);
  o->batch_size = 16;
  o->epochs = epochs;
  o->learning_rate = 0.05;
  o->mirror = FALSE;
  o->seed = 7;
  o->keep_checkpoints = 10;
  g_free (o->device);
  o->device = g_strdup ("cpu");
}

typedef struct {
  GThread *main_thread;
  gboolean off_main;
  guint progress, validated, epochs, checkpoints, finished;
  gboolean after_finished;
  int final_state;
  double last_val_accuracy;
  KilnTrainer *stop_after_epoch_of;
  int stop_epoch;
} Seen;

static void
check_thread (Seen *s)
{
  if (g_thread_self () != s->main_thread)
    s->off_main = TRUE;
  if (s->finished)
    s->after_finished = TRUE;
}

static void on_progress (KilnTrainer *t, Seen *s) { check_thread (s); s->progress++; }
static void on_checkpoint (KilnTrainer *t, const char *path, Seen *s) { check_thread (s); s->checkpoints++; }

static void
on_validated (KilnTrainer *t, gint64 iteration, double loss, double accuracy, double top5, Seen *s)
{
  check_thread (s);
  s->validated++;
  s->last_val_accuracy = accuracy;
}

static void
on_epoch (KilnTrainer *t, int epoch, Seen *s)
{
  check_thread (s);
  s->epochs++;
  if (s->stop_after_epoch_of == t && epoch == s->stop_epoch)
    kiln_trainer_stop (t);
}

static void
on_finished (KilnTrainer *t, int state, Seen *s)
{
  check_thread (s);
  s->finished++;
  s->final_state = state;
}

/* When set, layers up to it are frozen (and their outputs cached). */
static const char *freeze_up_to;

static KilnTrainer *
make_trainer (Data *d, const char *runs, const char *id, int epochs, Seen *seen, const char *resume_dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  if (freeze_up_to != NULL)
    g_assert_true (kiln_net_spec_freeze_up_to (spec, freeze_up_to, NULL));
  KilnTrainerOptions options;
  options_for_test (&options, epochs);
  g_autoptr(KilnRun) run = NULL;
  g_autofree char *resume = NULL;

  if (resume_dir == NULL)
    {
      g_autoptr(JsonObject) config = kiln_trainer_options_to_json (&options);
      run = kiln_run_create (runs, id, config, &error);
    }
  else
    {
      g_autoptr(KilnRun) probe = kiln_run_open (resume_dir, -1, &error);
      g_assert_no_error (error);
      gint64 iteration = 0;
      resume = kiln_run_get_latest_checkpoint (probe, &iteration);
      g_assert_nonnull (resume);
      g_clear_object (&probe);
      run = kiln_run_open (resume_dir, iteration, &error);
    }
  g_assert_no_error (error);

  KilnTrainer *trainer = kiln_trainer_new (run, spec, &options);
  kiln_trainer_options_clear (&options);
  kiln_trainer_set_train_data (trainer, d->cache, d->train_idx, d->train_labels, N_TRAIN);
  kiln_trainer_set_val_data (trainer, d->cache, d->val_idx, d->val_labels, N_VAL);
  kiln_trainer_set_progress_interval (trainer, 50);
  if (resume)
    kiln_trainer_set_resume (trainer, resume);
  seen->main_thread = g_thread_self ();
  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), seen);
  g_signal_connect (trainer, "validated", G_CALLBACK (on_validated), seen);
  g_signal_connect (trainer, "epoch-finished", G_CALLBACK (on_epoch), seen);
  g_signal_connect (trainer, "checkpoint-saved", G_CALLBACK (on_checkpoint), seen);
  g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), seen);
  return trainer;
}

static void
run_to_end (KilnTrainer *trainer, Seen *seen)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_trainer_start (trainer, &error));
  g_assert_no_error (error);
  while (seen->finished == 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_learns_and_logs (Data *d, gconstpointer unused)
{
  Seen seen = { 0 };
  g_autoptr(KilnTrainer) trainer = make_trainer (d, d->dir, "learn", 8, &seen, NULL);

  run_to_end (trainer, &seen);
  if (kiln_trainer_get_error (trainer))
    g_error ("training failed: %s", kiln_trainer_get_error (trainer)->message);
  g_assert_cmpint (seen.final_state, ==, KILN_TRAINER_FINISHED);
  g_assert_false (seen.off_main);
  g_assert_false (seen.after_finished);
  g_assert_cmpuint (seen.finished, ==, 1);
  g_assert_cmpuint (seen.epochs, ==, 8);
  g_assert_cmpuint (seen.validated, ==, 8);
  g_assert_cmpuint (seen.checkpoints, ==, 8);
  /* 8 epochs × 6 batches: progress is coalesced, so never more emissions
   * than iterations plus the events that flush it (validated, checkpoint,
   * epoch: 3 an epoch) and the final one. */
  g_assert_cmpuint (seen.progress, >=, 1);
  g_assert_cmpuint (seen.progress, <=, 48 + 8 * 3 + 1);
  g_assert_cmpfloat (seen.last_val_accuracy, >=, 0.9);

  KilnTrainerStatus status;
  kiln_trainer_get_status (trainer, &status);
  g_assert_cmpint (status.iteration, ==, 48);
  g_assert_cmpint (status.total_iterations, ==, 48);
  g_test_message ("val accuracy %.3f after %" G_GINT64_FORMAT " iterations, loss %.4f",
                  seen.last_val_accuracy, status.iteration, status.loss);

  /* Every file on disk is complete and parseable. */
  const char *dir = kiln_run_get_dir (kiln_trainer_get_run (trainer));
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) rows = kiln_run_read_metrics (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 48 + 8);
  KilnRunMetrics *first = &g_array_index (rows, KilnRunMetrics, 0);
  KilnRunMetrics *last_train = &g_array_index (rows, KilnRunMetrics, rows->len - 2);
  g_assert_cmpfloat (last_train->loss, <, first->loss);

  g_autofree char *events_path = g_build_filename (dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (events, "\n", -1);
  guint n_events = 0;
  for (guint i = 0; lines[i] && *lines[i]; i++, n_events++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
    }
  g_assert_cmpuint (n_events, >=, 8 * 2 + 2);
  g_assert_true (strstr (events, "\"type\":\"finished\"") != NULL);
  g_assert_true (strstr (events, "\"type\":\"exported\"") != NULL);
  g_autofree char *onnx = g_build_filename (dir, "model.onnx", NULL);
  g_assert_true (g_file_test (onnx, G_FILE_TEST_IS_REGULAR));

  g_autoptr(KilnRun) reopened = kiln_run_open (dir, -1, &error);
  g_assert_no_error (error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (reopened, &iteration);
  g_assert_cmpint (iteration, ==, 48);
  g_autoptr(KilnSafetensors) checkpoint = kiln_safetensors_new_from_file (latest, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kiln_safetensors_get_tensor (checkpoint, "param/fc2/0"));
  g_assert_nonnull (kiln_safetensors_get_tensor (checkpoint, "slot/fc2/0/0"));
  g_assert_cmpstr (kiln_safetensors_get_metadata (checkpoint, "kiln.iteration"), ==, "48");

  /* Once finished, nothing keeps the trainer (and its caches) alive. */
  KilnTrainer *gone = trainer;
  g_object_add_weak_pointer (G_OBJECT (gone), (gpointer *) &gone);
  g_clear_object (&trainer);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (gone);
}

static gboolean
same_params (const char *a_path, const char *b_path)
{
  g_autoptr(KilnSafetensors) a = kiln_safetensors_new_from_file (a_path, NULL);
  g_autoptr(KilnSafetensors) b = kiln_safetensors_new_from_file (b_path, NULL);
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpuint (kiln_safetensors_get_n_tensors (a), ==, kiln_safetensors_get_n_tensors (b));
  for (guint i = 0; i < kiln_safetensors_get_n_tensors (a); i++)
    {
      const KilnSafetensorsTensor *ta = kiln_safetensors_get_tensor_at (a, i);
      const KilnSafetensorsTensor *tb = kiln_safetensors_get_tensor (b, ta->name);
      if (tb == NULL || ta->n_bytes != tb->n_bytes || memcmp (ta->data, tb->data, ta->n_bytes) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
test_stop_and_resume_is_exact (Data *d, gconstpointer unused)
{
  Seen full = { 0 }, first = { 0 }, second = { 0 };
  g_autoptr(GError) error = NULL;

  g_autoptr(KilnTrainer) uninterrupted = make_trainer (d, d->dir, "whole", 4, &full, NULL);
  run_to_end (uninterrupted, &full);
  g_assert_cmpint (full.final_state, ==, KILN_TRAINER_FINISHED);

  /* Stop after the second epoch, then resume from its checkpoint. */
  g_autoptr(KilnTrainer) stopped = make_trainer (d, d->dir, "split", 4, &first, NULL);
  first.stop_after_epoch_of = stopped;
  first.stop_epoch = 1;
  run_to_end (stopped, &first);
  g_assert_cmpint (first.final_state, ==, KILN_TRAINER_STOPPED);
  KilnTrainerStatus status;
  kiln_trainer_get_status (stopped, &status);
  g_assert_cmpint (status.iteration, <, 24);

  const char *split_dir = kiln_run_get_dir (kiln_trainer_get_run (stopped));
  g_autoptr(KilnTrainer) resumed = make_trainer (d, d->dir, "split", 4, &second, split_dir);
  run_to_end (resumed, &second);
  if (kiln_trainer_get_error (resumed))
    g_error ("resume failed: %s", kiln_trainer_get_error (resumed)->message);
  g_assert_cmpint (second.final_state, ==, KILN_TRAINER_FINISHED);
  g_assert_cmpuint (second.epochs, <, 4);

  /* Same final weights and optimizer state, bit for bit. */
  g_autoptr(KilnRun) a = kiln_run_open (kiln_run_get_dir (kiln_trainer_get_run (uninterrupted)), -1, &error);
  g_autoptr(KilnRun) b = kiln_run_open (split_dir, -1, &error);
  g_autofree char *a_last = kiln_run_get_latest_checkpoint (a, NULL);
  g_autofree char *b_last = kiln_run_get_latest_checkpoint (b, NULL);
  g_assert_true (same_params (a_last, b_last));

  /* The resumed loss curve continues the uninterrupted one exactly. */
  g_autoptr(GArray) rows_a = kiln_run_read_metrics (kiln_run_get_dir (a), &error);
  g_autoptr(GArray) rows_b = kiln_run_read_metrics (split_dir, &error);
  g_assert_cmpuint (rows_a->len, ==, rows_b->len);
  for (guint i = 0; i < rows_a->len; i++)
    {
      KilnRunMetrics *x = &g_array_index (rows_a, KilnRunMetrics, i);
      KilnRunMetrics *y = &g_array_index (rows_b, KilnRunMetrics, i);
      g_assert_cmpint (x->iteration, ==, y->iteration);
      g_assert_cmpfloat (x->loss, ==, y->loss);
    }
}

static void
copy_tree (const char *from, const char *to)
{
  g_autoptr(GDir) dir = g_dir_open (from, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *src = g_build_filename (from, name, NULL);
      g_autofree char *dest = g_build_filename (to, name, NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;

      if (g_file_test (src, G_FILE_TEST_IS_DIR))
        {
          copy_tree (src, dest);
          continue;
        }
      g_assert_true (g_file_get_contents (src, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (dest, contents, length, NULL));
    }
}

/* A stop that lands while an epoch is being validated leaves that epoch's
 * checkpoint marked "validation pending" and no val row for it. That state
 * is made here from a copy of an uninterrupted run (the stop's timing
 * cannot be forced): the validation of epoch @data (1-based) is the one
 * interrupted. For the last epoch the run is not finished (no model.onnx),
 * and its val row is left in the log, as a crash after the row and before
 * the checkpoint would leave it. Resuming must validate first and end with
 * the uninterrupted run's log, weights, best checkpoint and export. */
static void
test_resume_finishes_interrupted_validation (Data *d, gconstpointer data)
{
  Seen full = { 0 }, second = { 0 };
  g_autoptr(GError) error = NULL;

  g_autoptr(KilnTrainer) uninterrupted = make_trainer (d, d->dir, "whole", 4, &full, NULL);
  run_to_end (uninterrupted, &full);
  g_assert_cmpint (full.final_state, ==, KILN_TRAINER_FINISHED);
  const char *whole_dir = kiln_run_get_dir (kiln_trainer_get_run (uninterrupted));
  g_autoptr(GArray) rows_a = kiln_run_read_metrics (whole_dir, &error);
  g_assert_no_error (error);

  guint interrupted = GPOINTER_TO_UINT (data);
  gboolean last_epoch = interrupted == 4;
  gint64 at = -1;
  guint n_val = 0;
  for (guint i = 0; i < rows_a->len && at < 0; i++)
    if (g_array_index (rows_a, KilnRunMetrics, i).phase == KILN_RUN_PHASE_VAL && ++n_val == interrupted)
      at = g_array_index (rows_a, KilnRunMetrics, i).iteration;
  g_assert_cmpint (at, >, 0);

  g_autofree char *pending_dir = g_build_filename (d->dir, "pending", NULL);
  copy_tree (whole_dir, pending_dir);
  g_autoptr(KilnRun) pending = kiln_run_open (pending_dir, -1, &error);
  g_assert_no_error (error);
  for (gint64 i = at + 1; i <= rows_a->len; i++)
    {
      g_autofree char *later = kiln_run_checkpoint_path (pending, i);
      g_unlink (later);
    }
  g_autofree char *checkpoint = kiln_run_checkpoint_path (pending, at);
  g_clear_object (&pending);

  g_autofree char *bytes = NULL;
  gsize length = 0;
  g_assert_true (g_file_get_contents (checkpoint, &bytes, &length, NULL));
  /* The JSON header follows its 8-byte length; same-length edit, same offsets. */
  g_assert_cmpuint (length, >, 8);
  char *key = g_strstr_len (bytes + 8, MIN (length - 8, GUINT64_FROM_LE (*(guint64 *) bytes)),
                            "\"kiln.validation_pending\"");
  g_assert_nonnull (key);
  char *flag = strchr (key + strlen ("\"kiln.validation_pending\""), '0');
  g_assert_nonnull (flag);
  *flag = '1';
  g_assert_true (g_file_set_contents (checkpoint, bytes, length, NULL));

  g_autofree char *metrics_path = g_build_filename (pending_dir, "metrics.csv", NULL);
  g_autofree char *metrics = NULL;
  g_assert_true (g_file_get_contents (metrics_path, &metrics, NULL, NULL));
  g_auto(GStrv) lines = g_strsplit (metrics, "\n", -1);
  g_autoptr(GString) kept = g_string_new (NULL);
  g_autofree char *val_prefix = g_strdup_printf ("%" G_GINT64_FORMAT ",", at);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      gboolean started_after = !g_str_has_prefix (lines[i], "iteration") && g_ascii_strtoll (lines[i], NULL, 10) > at;
      if (started_after || (!last_epoch && g_str_has_prefix (lines[i], val_prefix) && strstr (lines[i], ",val,")))
        continue;
      g_string_append_printf (kept, "%s\n", lines[i]);
    }
  g_assert_true (g_file_set_contents (metrics_path, kept->str, -1, NULL));
  g_autofree char *export_path = g_build_filename (pending_dir, "model.onnx", NULL);
  g_unlink (export_path);

  g_autoptr(KilnTrainer) resumed = make_trainer (d, d->dir, "pending", 4, &second, pending_dir);
  run_to_end (resumed, &second);
  if (kiln_trainer_get_error (resumed))
    g_error ("resume failed: %s", kiln_trainer_get_error (resumed)->message);
  g_assert_cmpint (second.final_state, ==, KILN_TRAINER_FINISHED);
  /* The pending one, then those of the epochs after it. */
  g_assert_cmpuint (second.validated, ==, 1 + 4 - interrupted);
  g_assert_true (g_file_test (export_path, G_FILE_TEST_IS_REGULAR));

  g_autoptr(GArray) rows_b = kiln_run_read_metrics (pending_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows_a->len, ==, rows_b->len);
  for (guint i = 0; i < rows_a->len; i++)
    {
      KilnRunMetrics *x = &g_array_index (rows_a, KilnRunMetrics, i);
      KilnRunMetrics *y = &g_array_index (rows_b, KilnRunMetrics, i);
      g_assert_cmpint (x->iteration, ==, y->iteration);
      g_assert_cmpint (x->phase, ==, y->phase);
      g_assert_cmpfloat (x->loss, ==, y->loss);
    }
  g_autoptr(KilnRun) a = kiln_run_open (whole_dir, -1, &error);
  g_autoptr(KilnRun) b = kiln_run_open (pending_dir, -1, &error);
  g_autofree char *a_last = kiln_run_get_latest_checkpoint (a, NULL);
  g_autofree char *b_last = kiln_run_get_latest_checkpoint (b, NULL);
  g_assert_true (same_params (a_last, b_last));
  /* The pending validation counted for the best checkpoint, as it would have. */
  g_autofree char *a_best = kiln_run_get_best_checkpoint (a, NULL, NULL);
  g_autofree char *b_best = kiln_run_get_best_checkpoint (b, NULL, NULL);
  g_assert_cmpstr (strrchr (a_best, '/'), ==, strrchr (b_best, '/'));
}

static void
test_frozen_features_resume_exact (Data *d, gconstpointer unused)
{
  /* The same stop-and-resume check with conv1 frozen and its outputs cached. */
  freeze_up_to = "pool1";
  test_stop_and_resume_is_exact (d, unused);

  /* The frozen layer's weights never moved, and its features were cached. */
  g_autofree char *dir = g_build_filename (d->dir, "whole", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnRun) run = kiln_run_open (dir, -1, &error);
  g_assert_no_error (error);
  g_autofree char *first = kiln_run_checkpoint_path (run, 6);
  g_autofree char *last = kiln_run_get_latest_checkpoint (run, NULL);
  g_autoptr(KilnSafetensors) a = kiln_safetensors_new_from_file (first, &error);
  g_assert_no_error (error);
  g_autoptr(KilnSafetensors) b = kiln_safetensors_new_from_file (last, &error);
  g_assert_no_error (error);
  const KilnSafetensorsTensor *wa = kiln_safetensors_get_tensor (a, "param/conv1/0");
  const KilnSafetensorsTensor *wb = kiln_safetensors_get_tensor (b, "param/conv1/0");
  g_assert_cmpmem (wa->data, wa->n_bytes, wb->data, wb->n_bytes);
  g_assert_null (kiln_safetensors_get_tensor (b, "slot/conv1/0/0"));
  g_assert_nonnull (kiln_safetensors_get_tensor (b, "slot/fc1/0/0"));
  const KilnSafetensorsTensor *fa = kiln_safetensors_get_tensor (a, "param/fc1/0");
  const KilnSafetensorsTensor *fb = kiln_safetensors_get_tensor (b, "param/fc1/0");
  g_assert_true (memcmp (fa->data, fb->data, fa->n_bytes) != 0);
  g_autofree char *events_path = g_build_filename (dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"features-cached\""));
  freeze_up_to = NULL;
}

static void
test_pause_and_resume (Data *d, gconstpointer unused)
{
  Seen seen = { 0 };
  g_autoptr(KilnTrainer) trainer = make_trainer (d, d->dir, "pause", 3, &seen, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_trainer_start (trainer, &error));
  kiln_trainer_pause (trainer);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (kiln_trainer_get_state (trainer) != KILN_TRAINER_PAUSED && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (kiln_trainer_get_state (trainer), ==, KILN_TRAINER_PAUSED);
  KilnTrainerStatus before, after;
  kiln_trainer_get_status (trainer, &before);
  g_usleep (200000);
  kiln_trainer_get_status (trainer, &after);
  g_assert_cmpint (before.iteration, ==, after.iteration);

  kiln_trainer_resume (trainer);
  kiln_trainer_join (trainer);
  g_assert_cmpint (seen.final_state, ==, KILN_TRAINER_FINISHED);
  kiln_trainer_get_status (trainer, &after);
  g_assert_cmpint (after.iteration, ==, 18);
}

typedef struct {
  Seen *seen;
  guint ticks_before_finished;
} Ticks;

static gboolean
count_tick (gpointer data)
{
  Ticks *t = data;
  if (t->seen->finished == 0)
    t->ticks_before_finished++;
  return G_SOURCE_REMOVE;
}

static void
test_stop_does_not_block_the_owner (Data *d, gconstpointer unused)
{
  Seen seen = { 0 };
  KilnTrainer *trainer = make_trainer (d, d->dir, "drop", 200, &seen, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_strdup (kiln_run_get_dir (kiln_trainer_get_run (trainer)));
  Ticks ticks = { &seen };

  g_assert_true (kiln_trainer_start (trainer, &error));
  while (seen.progress == 0)
    g_main_context_iteration (NULL, TRUE);

  /* What a closing window does: stop, let go, and return to its loop. The
   * run keeps itself alive, so nothing here waited for its checkpoint. */
  KilnTrainer *alive = trainer;
  g_object_add_weak_pointer (G_OBJECT (alive), (gpointer *) &alive);
  kiln_trainer_stop (trainer);
  g_object_unref (trainer);
  g_assert_nonnull (alive);
  g_assert_cmpuint (seen.finished, ==, 0);

  /* The loop turns (this source goes first: "finished" comes from an idle
   * one) while the worker checkpoints; then "finished", once, and the
   * trainer frees itself. */
  g_timeout_add_full (G_PRIORITY_DEFAULT, 0, count_tick, &ticks, NULL);
  while (alive != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (ticks.ticks_before_finished, ==, 1);
  g_assert_cmpuint (seen.finished, ==, 1);
  g_assert_false (seen.after_finished);
  g_assert_false (seen.off_main);
  g_assert_cmpint (seen.final_state, ==, KILN_TRAINER_STOPPED);

  /* The stop's checkpoint is on disk, so the run resumes from it. */
  g_autoptr(KilnRun) run = kiln_run_open (dir, -1, &error);
  g_assert_no_error (error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (run, &iteration);
  g_assert_nonnull (latest);
  g_assert_cmpint (iteration, >, 0);
  g_assert_cmpint (iteration, <, 200 * 6);
}

static void
test_nan_loss_fails_cleanly (Data *d, gconstpointer unused)
{
  Seen seen = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  KilnTrainerOptions options;
  options_for_test (&options, 50);
  options.learning_rate = 1e9;   /* diverges within a few steps */
  options.checkpoint_every = 1;
  g_autoptr(KilnRun) run = kiln_run_create (d->dir, "nan", NULL, &error);
  g_autoptr(KilnTrainer) trainer = kiln_trainer_new (run, spec, &options);
  kiln_trainer_options_clear (&options);
  kiln_trainer_set_train_data (trainer, d->cache, d->train_idx, d->train_labels, N_TRAIN);
  g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &seen);
  seen.main_thread = g_thread_self ();
  run_to_end (trainer, &seen);

  g_assert_cmpint (seen.final_state, ==, KILN_TRAINER_FAILED);
  const GError *why = kiln_trainer_get_error (trainer);
  g_assert_nonnull (why);
  g_assert_true (g_error_matches (why, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NUMERIC));
  g_test_message ("%s", why->message);

  /* The last checkpoint before the failure is intact and loadable. */
  g_autoptr(KilnRun) reopened = kiln_run_open (kiln_run_get_dir (run), -1, &error);
  g_autofree char *latest = kiln_run_get_latest_checkpoint (reopened, NULL);
  if (latest != NULL)
    {
      g_autoptr(KilnSafetensors) file = kiln_safetensors_new_from_file (latest, &error);
      g_assert_no_error (error);
    }
  g_autofree char *events_path = g_build_filename (kiln_run_get_dir (run), "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"failed\""));
}

static void
test_bad_setup (Data *d, gconstpointer unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  KilnTrainerOptions options;
  options_for_test (&options, 1);
  g_autoptr(KilnRun) run = kiln_run_create (d->dir, "bad", NULL, &error);
  g_autoptr(KilnTrainer) trainer = kiln_trainer_new (run, spec, &options);
  kiln_trainer_options_clear (&options);

  /* No data. */
  g_assert_false (kiln_trainer_start (trainer, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A label the net has no output for names the image and the layer. */
  int labels[N_TRAIN];
  memcpy (labels, d->train_labels, sizeof labels);
  labels[5] = 7;
  kiln_trainer_set_train_data (trainer, d->cache, d->train_idx, labels, N_TRAIN);
  g_assert_false (kiln_trainer_start (trainer, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "fc2"));
  g_assert_nonnull (strstr (error->message, "c2-5.syn"));
  g_assert_cmpint (kiln_trainer_get_state (trainer), ==, KILN_TRAINER_IDLE);
}

static void
test_options_json_round_trip (void)
{
  KilnTrainerOptions a, b;
  g_autoptr(GError) error = NULL;

  kiln_trainer_options_init (&a);
  a.optimizer = KILN_OPTIMIZER_ADAM;
  a.seed = G_MAXUINT64 - 5;
  kiln_lr_schedule_init_cosine (&a.schedule, 30, 0.01);
  a.schedule.warmup_iterations = 100;
  g_autoptr(JsonObject) json = kiln_trainer_options_to_json (&a);
  kiln_trainer_options_init (&b);
  g_assert_true (kiln_trainer_options_from_json (&b, json, &error));
  g_assert_no_error (error);
  g_assert_cmpint (b.optimizer, ==, KILN_OPTIMIZER_ADAM);
  g_assert_cmpuint (b.seed, ==, G_MAXUINT64 - 5);
  g_assert_cmpint (b.schedule.policy, ==, KILN_LR_COSINE);
  g_assert_cmpint (b.schedule.warmup_iterations, ==, 100);

  json_object_set_int_member (json, "batch_size", 0);
  g_assert_false (kiln_trainer_options_from_json (&b, json, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  json_object_set_int_member (json, "batch_size", 8);
  json_object_set_string_member (json, "optimizer", "rmsprop");
  g_assert_false (kiln_trainer_options_from_json (&b, json, &error));
  g_assert_nonnull (strstr (error->message, "rmsprop"));
  kiln_trainer_options_clear (&a);
  kiln_trainer_options_clear (&b);
}

static void
test_status_format (void)
{
  KilnTrainerStatus s = {
    .state = KILN_TRAINER_RUNNING, .iteration = 0, .total_iterations = 600, .epoch = 0, .total_epochs = 10,
    .eta_seconds = -1, .val_loss = NAN, .val_accuracy = NAN, .val_top5 = NAN, .best_val_accuracy = NAN,
  };
  g_autofree char *starting = kiln_trainer_status_format (&s);
  /* Nothing measured yet: no loss, no rate, no ETA. */
  g_assert_cmpstr (starting, ==, "epoch 1/10 · iteration 0/600");

  s.iteration = 120;
  s.epoch = 1;
  s.loss = 0.43214;
  s.accuracy = 0.9123;
  s.learning_rate = 0.0097;
  s.images_per_second = 1234.4;
  s.val_accuracy = 0.905;
  s.eta_seconds = 46.2;
  g_autofree char *running = kiln_trainer_status_format (&s);
  g_assert_cmpstr (running, ==, "epoch 2/10 · iteration 120/600 · loss 0.4321 · accuracy 0.912 · lr 0.0097 · "
                                "1234 images/s · validation 0.905 · ETA 0:47");

  s.state = KILN_TRAINER_PAUSED;
  s.eta_seconds = 3 * 3600 + 62;
  g_autofree char *paused = kiln_trainer_status_format (&s);
  g_assert_true (g_str_has_suffix (paused, " · ETA 3:01:02 · paused"));
}

/* Bytes the CPU backend holds for small_cnn at batch 16 after a training
 * step, and after the first inference forward (what validation adds). */
static void
measure_small_cnn (guint64 *after_step, guint64 *after_validation)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  g_autoptr(KilnBackend) cpu = kiln_backend_new ("cpu", &error);
  guint64 base = kiln_backend_cpu_get_used_memory ();
  g_autoptr(KilnNet) net = kiln_net_new (spec, cpu, 16, 7, &error);
  g_autoptr(KilnOptimizer) sgd = kiln_optimizer_new_sgd (0.05f, 0.9f, 5e-4f);
  float x[16 * SIDE * SIDE] = { 0 };
  int labels[16] = { 0 };
  double loss;

  g_assert_true (kiln_net_train_step (net, sgd, x, labels, &loss, NULL, &error));
  *after_step = kiln_backend_cpu_get_used_memory () - base;
  g_assert_true (kiln_net_forward (net, FALSE, &error));
  *after_validation = kiln_backend_cpu_get_used_memory () - base;
}

/* The device runs out of memory when the first validation allocates:
 * the run stops with a checkpoint of the step it completed (marked
 * "validation pending"), says so, and a resume with memory to spare ends
 * exactly where an uninterrupted run does. */
static void
test_out_of_memory_mid_run (Data *d, gconstpointer unused)
{
  Seen full = { 0 }, first = { 0 }, second = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 step, validation;

  measure_small_cnn (&step, &validation);
  g_assert_cmpuint (validation, >, step);
  g_autofree char *limit = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                            kiln_backend_cpu_get_used_memory () + (step + validation) / 2);

  g_autoptr(KilnTrainer) uninterrupted = make_trainer (d, d->dir, "whole", 2, &full, NULL);
  run_to_end (uninterrupted, &full);
  g_assert_cmpint (full.final_state, ==, KILN_TRAINER_FINISHED);

  g_setenv ("KILN_DEVICE_MEMORY_LIMIT", limit, TRUE);
  g_autoptr(KilnTrainer) trainer = make_trainer (d, d->dir, "oom", 2, &first, NULL);
  run_to_end (trainer, &first);
  g_unsetenv ("KILN_DEVICE_MEMORY_LIMIT");

  g_assert_cmpint (first.final_state, ==, KILN_TRAINER_FAILED);
  const GError *failure = kiln_trainer_get_error (trainer);
  g_assert_error (failure, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", failure->message);
  g_assert_nonnull (strstr (failure->message, "Out of memory on cpu validating after iteration 6"));
  g_assert_nonnull (strstr (failure->message, "KILN_DEVICE_MEMORY_LIMIT"));
  g_assert_nonnull (strstr (failure->message, "stopped with its checkpoint at iteration 6"));
  g_assert_nonnull (strstr (failure->message, "kiln-cli train --resume"));
  g_assert_cmpuint (first.checkpoints, ==, 1);

  const char *dir = kiln_run_get_dir (kiln_trainer_get_run (trainer));
  g_autoptr(KilnRun) probe = kiln_run_open (dir, -1, &error);
  gint64 iteration = 0;
  g_autofree char *latest = kiln_run_get_latest_checkpoint (probe, &iteration);
  g_assert_cmpint (iteration, ==, 6);
  g_autofree char *events_path = g_build_filename (dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_assert_nonnull (strstr (events, "\"type\":\"out-of-memory\""));

  g_autoptr(KilnTrainer) resumed = make_trainer (d, d->dir, "oom", 2, &second, dir);
  run_to_end (resumed, &second);
  if (kiln_trainer_get_error (resumed))
    g_error ("resume failed: %s", kiln_trainer_get_error (resumed)->message);
  g_autoptr(KilnRun) a = kiln_run_open (kiln_run_get_dir (kiln_trainer_get_run (uninterrupted)), -1, &error);
  g_autoptr(KilnRun) b = kiln_run_open (dir, -1, &error);
  g_autofree char *a_last = kiln_run_get_latest_checkpoint (a, NULL);
  g_autofree char *b_last = kiln_run_get_latest_checkpoint (b, NULL);
  g_assert_true (same_params (a_last, b_last));
}

/* A run stopped on the CPU resumes on each device that answers (its
 * checkpoint is plain floats): on the CPU it ends bit-exact with an
 * uninterrupted run; elsewhere its last validation is within float
 * tolerance of it. */
static void
test_resume_on_device (Data *d, gconstpointer data)
{
  const char *device = data;
  Seen full = { 0 }, first = { 0 }, second = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnBackend) probe = kiln_backend_new (device, &error);

  if (probe == NULL)
    {
      g_autofree char *why = g_strdup_printf ("%s does not answer here: %s", device, error->message);
      g_test_skip (why);
      return;
    }
  g_autoptr(KilnTrainer) uninterrupted = make_trainer (d, d->dir, "whole", 3, &full, NULL);
  run_to_end (uninterrupted, &full);
  g_autoptr(KilnTrainer) stopped = make_trainer (d, d->dir, "moved", 3, &first, NULL);
  first.stop_after_epoch_of = stopped;
  first.stop_epoch = 0;
  run_to_end (stopped, &first);
  g_assert_cmpint (first.final_state, ==, KILN_TRAINER_STOPPED);

  const char *dir = kiln_run_get_dir (kiln_trainer_get_run (stopped));
  g_autoptr(KilnTrainer) resumed = make_trainer (d, d->dir, "moved", 3, &second, dir);
  kiln_trainer_set_device (resumed, device, "the test's device");
  run_to_end (resumed, &second);
  if (kiln_trainer_get_error (resumed))
    g_error ("resume on %s failed: %s", device, kiln_trainer_get_error (resumed)->message);
  g_autofree char *events_path = g_build_filename (dir, "events.jsonl", NULL);
  g_autofree char *events = NULL;
  g_assert_true (g_file_get_contents (events_path, &events, NULL, NULL));
  g_autofree char *logged = g_strdup_printf ("\"device_reason\":\"the test's device\"");
  g_assert_nonnull (strstr (events, logged));

  g_autoptr(KilnRun) a = kiln_run_open (kiln_run_get_dir (kiln_trainer_get_run (uninterrupted)), -1, &error);
  g_autoptr(KilnRun) b = kiln_run_open (dir, -1, &error);
  g_autofree char *a_last = kiln_run_get_latest_checkpoint (a, NULL);
  g_autofree char *b_last = kiln_run_get_latest_checkpoint (b, NULL);
  if (g_str_equal (device, "cpu"))
    g_assert_true (same_params (a_last, b_last));
  else
    g_assert_cmpfloat (fabs (second.last_val_accuracy - full.last_val_accuracy), <=, 0.05);
}

/* Before a run: a batch that does not fit the device is refused, naming
 * the largest that does; one that fits gives the device and its reason. */
static void
test_device_check (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = small_cnn ();
  KilnTrainerOptions options;
  KilnNetMemoryOptions memory_options = { .training = TRUE, .optimizer = KILN_OPTIMIZER_SGD };
  KilnNetMemory m8, m;
  g_autofree char *reason = NULL;

  options_for_test (&options, 1);
  options.batch_size = 64;
  g_autofree char *device = kiln_run_device_check ("cpu", spec, &options, &m, &reason, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (device, ==, "cpu");
  g_assert_cmpstr (reason, ==, "cpu, as asked");
  g_assert_cmpuint (m.total, >, 0);

  g_assert_true (kiln_net_memory_estimate (spec, 8, &memory_options, &m8, NULL));
  g_autofree char *limit = g_strdup_printf ("%" G_GUINT64_FORMAT, kiln_backend_cpu_get_used_memory () + m8.total);
  g_setenv ("KILN_DEVICE_MEMORY_LIMIT", limit, TRUE);
  g_autofree char *refused = kiln_run_device_check ("cpu", spec, &options, NULL, NULL, &error);
  g_unsetenv ("KILN_DEVICE_MEMORY_LIMIT");
  g_assert_null (refused);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "bars at batch 64 needs"));
  g_assert_nonnull (strstr (error->message, "The largest batch that fits is 8"));
  g_assert_nonnull (strstr (error->message, "--batch 8"));
  g_clear_error (&error);

  /* The default comes from KILN_DEVICE, and says so. */
  g_setenv ("KILN_DEVICE", "cpu", TRUE);
  g_free (options.device);
  options.device = NULL;
  g_autofree char *why = NULL;
  g_autofree char *chosen = kiln_run_device_check (NULL, spec, &options, NULL, &why, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (why, ==, "cpu, as asked (named by KILN_DEVICE)");
  g_setenv ("KILN_DEVICE", "cuda:x", TRUE);
  g_assert_null (kiln_run_device_check (NULL, spec, &options, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "(the device was named by KILN_DEVICE)"));
  g_clear_error (&error);
  g_unsetenv ("KILN_DEVICE");

  /* Without KILN_DEVICE, the Preferences' key (the memory backend here). */
  const char *source = NULL;
  g_autofree char *plain = kiln_run_device_get_default (&source);
  g_assert_cmpstr (plain, ==, "auto");
  g_assert_cmpstr (source, ==, "default");
  g_autoptr(GSettings) settings = g_settings_new ("org.kiln.Kiln");
  g_settings_set_string (settings, "device", "cpu");
  g_autofree char *preferred = kiln_run_device_get_default (&source);
  g_assert_cmpstr (preferred, ==, "cpu");
  g_assert_cmpstr (source, ==, "Preferences");
  g_autofree char *why_pref = NULL;
  g_autofree char *from_pref = kiln_run_device_check (NULL, spec, &options, NULL, &why_pref, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (why_pref, ==, "cpu, as asked (named by Preferences)");
  g_settings_reset (settings, "device");
  kiln_trainer_options_clear (&options);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/trainer/options-json", test_options_json_round_trip);
  g_test_add_func ("/trainer/status-format", test_status_format);
  g_test_add ("/trainer/learns-and-logs", Data, NULL, data_setup, test_learns_and_logs, data_teardown);
  g_test_add ("/trainer/stop-and-resume-exact", Data, NULL, data_setup, test_stop_and_resume_is_exact, data_teardown);
  g_test_add ("/trainer/resume-finishes-interrupted-validation/epoch-2", Data, GUINT_TO_POINTER (2), data_setup,
              test_resume_finishes_interrupted_validation, data_teardown);
  g_test_add ("/trainer/resume-finishes-interrupted-validation/last-epoch", Data, GUINT_TO_POINTER (4), data_setup,
              test_resume_finishes_interrupted_validation, data_teardown);
  g_test_add ("/trainer/frozen-features-resume-exact", Data, NULL, data_setup, test_frozen_features_resume_exact, data_teardown);
  g_test_add ("/trainer/pause", Data, NULL, data_setup, test_pause_and_resume, data_teardown);
  g_test_add ("/trainer/stop-does-not-block-the-owner", Data, NULL, data_setup, test_stop_does_not_block_the_owner,
              data_teardown);
  g_test_add ("/trainer/nan-loss", Data, NULL, data_setup, test_nan_loss_fails_cleanly, data_teardown);
  g_test_add ("/trainer/bad-setup", Data, NULL, data_setup, test_bad_setup, data_teardown);
  g_test_add ("/trainer/out-of-memory-mid-run", Data, NULL, data_setup, test_out_of_memory_mid_run, data_teardown);
  g_test_add_func ("/trainer/device-check", test_device_check);
  g_test_add ("/trainer/resume-on/cpu", Data, "cpu", data_setup, test_resume_on_device, data_teardown);
  g_test_add ("/trainer/resume-on/cuda", Data, "cuda", data_setup, test_resume_on_device, data_teardown);
  return g_test_run ();
}
