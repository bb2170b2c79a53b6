#include "kiln-run.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kiln-error.h"
#include "kiln-json-text.h"

typedef struct {
  gint64 iteration;
  double val_accuracy;
} CheckpointEntry;

struct _KilnRun
{
  GObject parent_instance;

  char *id;
  char *dir;
  JsonObject *config;
  FILE *metrics;
  FILE *events;
  GArray *checkpoints;   /* CheckpointEntry, oldest first */
  gboolean follower;     /* another process writes this run: write nothing */
};

G_DEFINE_FINAL_TYPE (KilnRun, kiln_run, G_TYPE_OBJECT)

static const GFileSetContentsFlags durable = G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE;

static gboolean
set_io_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not %s %s: %s%s", what, path,
               g_strerror (saved_errno),
               saved_errno == ENOSPC ? " (the disk is full; free space and resume the run)" : "");
  return FALSE;
}

static char *
format_double (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  if (isnan (value))
    return g_strdup ("");
  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.9g", value));
}

static FILE *
open_append (const char *dir, const char *name, const char *header, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gboolean existed = g_file_test (path, G_FILE_TEST_EXISTS);
  FILE *file = g_fopen (path, "ae");

  if (file == NULL)
    {
      set_io_error (error, errno, "open", path);
      return NULL;
    }
  if (!existed && header != NULL && (fprintf (file, "%s\n", header) < 0 || fflush (file) != 0))
    {
      set_io_error (error, errno, "write", path);
      fclose (file);
      return NULL;
    }
  return file;
}

static gboolean
write_line (FILE *file, const char *line, const char *name, GError **error)
{
  /* One fputs + fflush per row: a SIGKILL loses at most this row, and the
   * reader drops a torn last line. */
  if (fputs (line, file) < 0 || fputc ('\n', file) < 0 || fflush (file) != 0)
    {
      int saved = errno;
      clearerr (file);
      return set_io_error (error, saved, "append to", name);
    }
  return TRUE;
}

static gboolean
write_index (KilnRun *self, GError **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *path = g_build_filename (self->dir, "checkpoints", "index.json", NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "checkpoints");
  json_builder_begin_array (builder);
  for (guint i = 0; i < self->checkpoints->len; i++)
    {
      CheckpointEntry *e = &g_array_index (self->checkpoints, CheckpointEntry, i);
      g_autofree char *file = kiln_run_checkpoint_path (self, e->iteration);
      g_autofree char *base = g_path_get_basename (file);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "iteration");
      json_builder_add_int_value (builder, e->iteration);
      json_builder_set_member_name (builder, "val_accuracy");
      if (isnan (e->val_accuracy))
        json_builder_add_null_value (builder);
      else
        json_builder_add_double_value (builder, e->val_accuracy);
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, base);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = kiln_json_to_text (root, TRUE);
  return g_file_set_contents_full (path, text, -1, durable, 0644, error);
}

static gboolean
read_index (KilnRun *self, GError **error)
{
  g_autofree char *path = g_build_filename (self->dir, "checkpoints", "index.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonArray *list;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!json_parser_load_from_file (parser, path, error))
    return FALSE;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "checkpoints") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "checkpoints")))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s is not a checkpoint index (no \"checkpoints\" list); delete it to start over", path);
      return FALSE;
    }
  list = json_object_get_array_member (json_node_get_object (root), "checkpoints");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *o = json_node_get_object (node);
      CheckpointEntry e = {
        .iteration = json_object_get_int_member_with_default (o, "iteration", -1),
        .val_accuracy = NAN,
      };
      JsonNode *acc = json_object_get_member (o, "val_accuracy");
      if (acc != NULL && JSON_NODE_HOLDS_VALUE (acc))
        e.val_accuracy = json_node_get_double (acc);
      if (e.iteration >= 0)
        g_array_append_val (self->checkpoints, e);
    }
  return TRUE;
}

KilnRun *
kiln_run_create (const char *runs_dir, const char *run_id, JsonObject *config, GError **error)
{
  g_autoptr(KilnRun) self = g_object_new (KILN_TYPE_RUN, NULL);
  g_autofree char *generated = NULL;

  if (run_id == NULL)
    {
      /* The time names a run; two started in the same second (two windows,
       * a script) each claim their own folder with mkdir, which only one
       * of them can win for a name. */
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
      if (g_mkdir_with_parents (runs_dir, 0755) != 0)
        {
          set_io_error (error, errno, "create", runs_dir);
          return NULL;
        }
      for (guint n = 1; generated == NULL; n++)
        {
          g_autofree char *candidate = n == 1 ? g_strdup (stamp) : g_strdup_printf ("%s-%u", stamp, n);
          g_autofree char *dir = g_build_filename (runs_dir, candidate, NULL);
          if (g_mkdir (dir, 0755) == 0)
            generated = g_steal_pointer (&candidate);
          else if (errno != EEXIST || n >= 1000)
            {
              set_io_error (error, errno, "create", dir);
              return NULL;
            }
        }
      run_id = generated;
    }
  if (*run_id == '\0' || strchr (run_id, '/') != NULL || g_str_equal (run_id, ".") || g_str_equal (run_id, ".."))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot name a run: use letters, digits and dashes", run_id);
      return NULL;
    }
  self->id = g_strdup (run_id);
  self->dir = g_build_filename (runs_dir, run_id, NULL);

  g_autofree char *config_path = g_build_filename (self->dir, "config.json", NULL);
  if (g_file_test (config_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s already holds a run; resume it or choose another run id", self->dir);
      return NULL;
    }
  g_autofree char *checkpoints = g_build_filename (self->dir, "checkpoints", NULL);
  if (g_mkdir_with_parents (checkpoints, 0755) != 0)
    {
      set_io_error (error, errno, "create", checkpoints);
      return NULL;
    }

  self->config = config ? json_object_ref (config) : json_object_new ();
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), self->config);
  g_autofree char *text = kiln_json_to_text (node, TRUE);
  if (!g_file_set_contents_full (config_path, text, -1, durable, 0644, error))
    return NULL;

  self->metrics = open_append (self->dir, "metrics.csv", KILN_RUN_METRICS_HEADER, error);
  if (self->metrics == NULL)
    return NULL;
  self->events = open_append (self->dir, "events.jsonl", NULL, error);
  if (self->events == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

/* Keeps the header and whole rows with iteration ≤ @last (all when < 0),
 * but not validation rows at @drop_val_at (≥ 0); rewrites the file
 * atomically only when something must go. */
static gboolean
trim_metrics (const char *path, gint64 last, gint64 drop_val_at, gboolean *rewritten, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;

  g_autoptr(GString) kept = g_string_sized_new (length);
  gboolean changed = FALSE;
  const char *line = contents;
  gboolean first = TRUE;
  while (line < contents + length)
    {
      const char *end = memchr (line, '\n', contents + length - line);
      if (end == NULL)
        {
          changed = TRUE;   /* torn last line from a kill mid-write */
          break;
        }
      gboolean keep = first;
      if (!first)
        {
          char *stop = NULL;
          gint64 iteration = g_ascii_strtoll (line, &stop, 10);
          /* A row starts with its iteration and a comma; anything else is damage. */
          keep = stop != line && stop < end && *stop == ',' && (last < 0 || iteration <= last);
          if (keep && iteration == drop_val_at)
            {
              const char *phase = memchr (stop + 1, ',', end - stop - 1);
              keep = !(phase && end - phase > 4 && strncmp (phase + 1, "val,", 4) == 0);
            }
        }
      if (keep)
        g_string_append_len (kept, line, end - line + 1);
      else
        changed = TRUE;
      first = FALSE;
      line = end + 1;
    }
  if (rewritten != NULL)
    *rewritten = changed;
  if (!changed)
    return TRUE;
  return g_file_set_contents_full (path, kept->str, kept->len, durable, 0644, error);
}

static gboolean
trim_torn_line (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  if (length == 0 || contents[length - 1] == '\n')
    return TRUE;
  const char *last_newline = g_strrstr_len (contents, length, "\n");
  gsize keep = last_newline ? (gsize) (last_newline - contents + 1) : 0;
  return g_file_set_contents_full (path, contents, keep, durable, 0644, error);
}

KilnRun *
kiln_run_open (const char *run_dir, gint64 resume_iteration, GError **error)
{
  g_autoptr(KilnRun) self = g_object_new (KILN_TYPE_RUN, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *config_path = g_build_filename (run_dir, "config.json", NULL);

  self->dir = g_strdup (run_dir);
  self->id = g_path_get_basename (run_dir);
  if (!g_file_test (config_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a Kiln run: it has no config.json", run_dir);
      return NULL;
    }
  if (!json_parser_load_from_file (parser, config_path, error))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s does not hold a JSON object", config_path);
      return NULL;
    }
  self->config = json_object_ref (json_node_get_object (root));

  g_autofree char *metrics_path = g_build_filename (run_dir, "metrics.csv", NULL);
  g_autofree char *events_path = g_build_filename (run_dir, "events.jsonl", NULL);
  /* Only regular files are trimmed (a device or pipe could never be read to its end). */
  if (g_file_test (metrics_path, G_FILE_TEST_IS_REGULAR) && !trim_metrics (metrics_path, resume_iteration, -1, NULL, error))
    return NULL;
  if (!trim_torn_line (events_path, error))
    return NULL;
  if (!read_index (self, error))
    return NULL;

  self->metrics = open_append (run_dir, "metrics.csv", KILN_RUN_METRICS_HEADER, error);
  if (self->metrics == NULL)
    return NULL;
  self->events = open_append (run_dir, "events.jsonl", NULL, error);
  if (self->events == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

KilnRun *
kiln_run_open_follower (const char *run_dir, GError **error)
{
  g_autoptr(KilnRun) self = g_object_new (KILN_TYPE_RUN, NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *config_path = g_build_filename (run_dir, "config.json", NULL);

  self->dir = g_strdup (run_dir);
  self->id = g_path_get_basename (run_dir);
  self->follower = TRUE;
  if (!json_parser_load_from_file (parser, config_path, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s does not hold a JSON object", config_path);
      return NULL;
    }
  self->config = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  if (!read_index (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
kiln_run_is_follower (KilnRun *self)
{
  return self->follower;
}

char *
kiln_run_find_checkpoint (const char *run_dir, gboolean best, gint64 *iteration, GError **error)
{
  /* Only the index is read: no log is trimmed or opened for writing. */
  g_autoptr(KilnRun) self = g_object_new (KILN_TYPE_RUN, NULL);
  char *path = NULL;

  self->dir = g_strdup (run_dir);
  if (!read_index (self, error))
    return NULL;
  if (best)
    path = kiln_run_get_best_checkpoint (self, iteration, NULL);
  if (path != NULL && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_clear_pointer (&path, g_free);
  if (path == NULL)
    path = kiln_run_get_latest_checkpoint (self, iteration);
  if (path == NULL)
    g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                 "The run %s has no checkpoint yet; train it for at least one epoch", run_dir);
  return path;
}

const char *
kiln_run_get_id (KilnRun *self)
{
  return self->id;
}

const char *
kiln_run_get_dir (KilnRun *self)
{
  return self->dir;
}

JsonObject *
kiln_run_get_config (KilnRun *self)
{
  return self->config;
}

gboolean
kiln_run_drop_val_metrics (KilnRun *self, gint64 iteration, GError **error)
{
  if (self->follower)
    return TRUE;
  g_autofree char *path = g_build_filename (self->dir, "metrics.csv", NULL);

  gboolean rewritten = FALSE;

  g_return_val_if_fail (KILN_IS_RUN (self), FALSE);
  g_return_val_if_fail (self->metrics != NULL, FALSE);
  /* Rows are flushed as written, so the file can be read while open. A
   * failed rewrite leaves it, and the open handle, as they were. */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;   /* a device or pipe is never rewritten */
  if (!trim_metrics (path, -1, iteration, &rewritten, error))
    return FALSE;
  if (!rewritten)
    return TRUE;
  /* The handle still points at the replaced file. */
  FILE *file = open_append (self->dir, "metrics.csv", KILN_RUN_METRICS_HEADER, error);
  if (file == NULL)
    return FALSE;
  fclose (self->metrics);
  self->metrics = file;
  return TRUE;
}

gboolean
kiln_run_append_metrics (KilnRun *self, const KilnRunMetrics *row, GError **error)
{
  if (self->follower)
    return TRUE;
  g_autofree char *loss = format_double (row->loss);
  g_autofree char *accuracy = format_double (row->accuracy);
  g_autofree char *top5 = format_double (row->top5);
  g_autofree char *lr = format_double (row->learning_rate);
  g_autofree char *rate = format_double (row->images_per_second);
  g_autofree char *elapsed = format_double (row->elapsed_seconds);
  g_autofree char *line = g_strdup_printf ("%" G_GINT64_FORMAT ",%d,%s,%s,%s,%s,%s,%s,%s",
                                           row->iteration, row->epoch,
                                           row->phase == KILN_RUN_PHASE_VAL ? "val" : "train",
                                           loss, accuracy, top5, lr, rate, elapsed);
  return write_line (self->metrics, line, "metrics.csv", error);
}

gboolean
kiln_run_append_event (KilnRun *self, const char *type, JsonObject *fields, GError **error)
{
  if (self->follower)
    return TRUE;
  g_autoptr(JsonObject) event = json_object_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);

  json_object_set_string_member (event, "time", stamp);
  json_object_set_string_member (event, "type", type);
  if (fields != NULL)
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;
      json_object_iter_init (&iter, fields);
      while (json_object_iter_next (&iter, &name, &value))
        json_object_set_member (event, name, json_node_copy (value));
    }
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), event);
  g_autofree char *line = kiln_json_to_text (node, FALSE);
  return write_line (self->events, line, "events.jsonl", error);
}

gboolean
kiln_run_sync (KilnRun *self, GError **error)
{
  if (self->follower)
    return TRUE;
  FILE *files[] = { self->metrics, self->events };
  const char *names[] = { "metrics.csv", "events.jsonl" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    if (files[i] != NULL && (fflush (files[i]) != 0 || fdatasync (fileno (files[i])) != 0))
      return set_io_error (error, errno, "sync", names[i]);
  return TRUE;
}

char *
kiln_run_checkpoint_path (KilnRun *self, gint64 iteration)
{
  g_autofree char *name = g_strdup_printf ("iter-%09" G_GINT64_FORMAT ".safetensors", iteration);
  return g_build_filename (self->dir, "checkpoints", name, NULL);
}

static gint
best_index (KilnRun *self)
{
  gint best = -1;
  for (guint i = 0; i < self->checkpoints->len; i++)
    {
      CheckpointEntry *e = &g_array_index (self->checkpoints, CheckpointEntry, i);
      /* Ties go to the newer checkpoint. */
      if (!isnan (e->val_accuracy) &&
          (best < 0 || e->val_accuracy >= g_array_index (self->checkpoints, CheckpointEntry, best).val_accuracy))
        best = i;
    }
  return best;
}

gboolean
kiln_run_commit_checkpoint (KilnRun *self, gint64 iteration, double val_accuracy, guint keep_last, GError **error)
{
  if (self->follower)
    return TRUE;
  g_autofree char *path = kiln_run_checkpoint_path (self, iteration);
  CheckpointEntry entry = { iteration, val_accuracy };

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "Checkpoint %s was not written; it cannot be recorded", path);
      return FALSE;
    }
  g_autoptr(GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);
  /* Re-committing an iteration (after a resume) replaces its entry; newer
   * ones belong to the abandoned future and go. */
  for (guint i = 0; i < self->checkpoints->len; i++)
    {
      gint64 other = g_array_index (self->checkpoints, CheckpointEntry, i).iteration;
      if (other < iteration)
        continue;
      if (other > iteration)
        g_ptr_array_add (doomed, kiln_run_checkpoint_path (self, other));
      g_array_remove_index (self->checkpoints, i--);
    }
  g_array_append_val (self->checkpoints, entry);

  keep_last = MAX (keep_last, 1);
  gint best = best_index (self);
  for (gint i = (gint) self->checkpoints->len - (gint) keep_last - 1; i >= 0; i--)
    {
      if (i == best)
        continue;
      g_ptr_array_add (doomed, kiln_run_checkpoint_path (self, g_array_index (self->checkpoints, CheckpointEntry, i).iteration));
      g_array_remove_index (self->checkpoints, i);
      if (best > i)
        best--;
    }
  /* The index is written before files go, so it never names a missing file
   * that a later resume would trust. */
  if (!write_index (self, error) || !kiln_run_sync (self, error))
    return FALSE;
  for (guint i = 0; i < doomed->len; i++)
    g_unlink (doomed->pdata[i]);
  return TRUE;
}

char *
kiln_run_get_latest_checkpoint (KilnRun *self, gint64 *iteration)
{
  for (gint i = (gint) self->checkpoints->len - 1; i >= 0; i--)
    {
      CheckpointEntry *e = &g_array_index (self->checkpoints, CheckpointEntry, i);
      char *path = kiln_run_checkpoint_path (self, e->iteration);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          if (iteration)
            *iteration = e->iteration;
          return path;
        }
      g_free (path);
    }
  return NULL;
}

char *
kiln_run_get_best_checkpoint (KilnRun *self, gint64 *iteration, double *val_accuracy)
{
  gint best = best_index (self);
  if (best < 0)
    return NULL;
  CheckpointEntry *e = &g_array_index (self->checkpoints, CheckpointEntry, best);
  if (iteration)
    *iteration = e->iteration;
  if (val_accuracy)
    *val_accuracy = e->val_accuracy;
  return kiln_run_checkpoint_path (self, e->iteration);
}

static double
parse_field (const char *text)
{
  return *text ? g_ascii_strtod (text, NULL) : NAN;
}

GArray *
kiln_run_read_metrics (const char *run_dir, GError **error)
{
  g_autofree char *path = g_build_filename (run_dir, "metrics.csv", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (KilnRunMetrics));
  g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);
  guint n_lines = g_strv_length (lines);
  if (n_lines == 0 || !g_str_equal (lines[0], KILN_RUN_METRICS_HEADER))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s does not start with the Kiln metrics header", path);
      return NULL;
    }
  /* The last element is what follows the final newline: empty or torn. */
  for (guint i = 1; i + 1 < n_lines; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], ",", -1);
      if (g_strv_length (f) != 9)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s line %u has %u fields, not 9", path, i + 1, g_strv_length (f));
          return NULL;
        }
      KilnRunMetrics row = {
        .iteration = g_ascii_strtoll (f[0], NULL, 10),
        .epoch = (int) g_ascii_strtoll (f[1], NULL, 10),
        .phase = g_str_equal (f[2], "val") ? KILN_RUN_PHASE_VAL : KILN_RUN_PHASE_TRAIN,
        .loss = parse_field (f[3]),
        .accuracy = parse_field (f[4]),
        .top5 = parse_field (f[5]),
        .learning_rate = parse_field (f[6]),
        .images_per_second = parse_field (f[7]),
        .elapsed_seconds = parse_field (f[8]),
      };
      g_array_append_val (rows, row);
    }
  return g_steal_pointer (&rows);
}

/* The "ranks" of the last "start" event (1 when absent: an older or a
 * one-process run). A torn or foreign line is skipped. */
static int
last_start_ranks (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "events.jsonl", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  int ranks = 1;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 1;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr(JsonParser) parser = NULL;
      JsonNode *root;

      if (strstr (lines[i], "\"start\"") == NULL)
        continue;
      parser = json_parser_new ();
      if (!json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (parser)) ||
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "type", NULL),
                     "start") != 0)
        continue;
      ranks = (int) json_object_get_int_member_with_default (json_node_get_object (root), "ranks", 1);
    }
  return MAX (ranks, 1);
}

gboolean
kiln_run_summarize (const char *run_dir, KilnRunSummary *summary, GError **error)
{
  g_autofree char *export_path = g_build_filename (run_dir, KILN_RUN_EXPORT_NAME, NULL);
  g_autofree char *metrics_path = g_build_filename (run_dir, "metrics.csv", NULL);

  *summary = (KilnRunSummary) { .iteration = 0, .best_val_accuracy = NAN, .ranks = 1 };
  summary->finished = g_file_test (export_path, G_FILE_TEST_IS_REGULAR);
  summary->ranks = last_start_ranks (run_dir);
  if (!g_file_test (metrics_path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr(GArray) rows = kiln_run_read_metrics (run_dir, error);
  if (rows == NULL)
    return FALSE;
  for (guint i = 0; i < rows->len; i++)
    {
      const KilnRunMetrics *row = &g_array_index (rows, KilnRunMetrics, i);
      summary->iteration = MAX (summary->iteration, row->iteration);
      if (row->phase == KILN_RUN_PHASE_VAL &&
          (isnan (summary->best_val_accuracy) || row->accuracy > summary->best_val_accuracy))
        summary->best_val_accuracy = row->accuracy;
    }
  return TRUE;
}

static void
kiln_run_finalize (GObject *object)
{
  KilnRun *self = KILN_RUN (object);

  g_clear_pointer (&self->metrics, fclose);
  g_clear_pointer (&self->events, fclose);
  g_clear_pointer (&self->config, json_object_unref);
  g_clear_pointer (&self->checkpoints, g_array_unref);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->dir, g_free);
  G_OBJECT_CLASS (kiln_run_parent_class)->finalize (object);
}

static void
kiln_run_class_init (KilnRunClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_run_finalize;
}

static void
kiln_run_init (KilnRun *self)
{
  self->checkpoints = g_array_new (FALSE, FALSE, sizeof (CheckpointEntry));
}
