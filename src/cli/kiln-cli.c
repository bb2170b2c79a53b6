#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "kiln-i18n.h"
#include "kiln-json-text.h"
#include "kiln-cli.h"
#include "kiln-core.h"

typedef struct {
  const char *name;
  KilnCliCommandFunc run;
  const char *summary;
} KilnCliCommand;

static const KilnCliCommand commands[] = {
  { "cache", kiln_cli_cache, N_("Decode a project's images once to the training size") },
  { "calc", kiln_cli_calc, N_("Show layer sizes, parameters and costs of a network") },
  { "classes", kiln_cli_classes, N_("List, rename, merge, drop or restore a project's classes") },
  { "classify", kiln_cli_classify, N_("Classify images with a trained run") },
  { "demo", kiln_cli_demo, N_("Import the Fashion-MNIST demo project and train it end to end") },
  { "devices", kiln_cli_devices, N_("List the compute backends and devices that answer") },
  { "eval", kiln_cli_eval, N_("Evaluate a trained run: accuracy, confusion, review lists") },
  { "export-onnx", kiln_cli_export_onnx, N_("Write a checkpoint's network as an ONNX model") },
  { "gather", kiln_cli_gather, N_("Download or import a synset's images into a project") },
  { "images", kiln_cli_images, N_("List a project's flagged images and why") },
  { "import-idx", kiln_cli_import_idx, N_("Import MNIST-style IDX files into class folders of PNGs") },
  { "import-model", kiln_cli_import_model, N_("Convert an ONNX or Caffe model into a spec and weights to fine-tune") },
  { "inspect", kiln_cli_inspect, N_("Flag broken, doubtful and duplicate images") },
  { "label", kiln_cli_label, N_("Label images by folder and write label files") },
  { "mean", kiln_cli_mean, N_("Compute the mean image of a data set") },
  { "new", kiln_cli_new, N_("Make a project, empty or from a folder of class folders") },
  { "placeholder", kiln_cli_placeholder, N_("Add, list or remove the project's “photo unavailable” images") },
  { "restore", kiln_cli_restore, N_("Move discarded images back into the project") },
  { "runs", kiln_cli_runs, N_("List a project's training runs, newest first") },
  { "split", kiln_cli_split, N_("Split a project into train, validation and test sets") },
  { "suspects", kiln_cli_suspects, N_("Find training images that are probably mislabelled") },
  { "train", kiln_cli_train, N_("Train or fine-tune a classifier, or resume a run") },
};

gboolean
kiln_cli_parse (const char *command, const char *parameter_string, const char *summary,
                const GOptionEntry *entries, int *argc, char ***argv)
{
  /* --help prints "Usage: <prgname> [OPTION…] <parameters>". */
  g_autofree char *prgname = g_strdup_printf ("kiln-cli %s", command);
  g_set_prgname (prgname);
  g_autoptr(GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("kiln-cli %s: %s\n", command, error->message);
      g_printerr ("Try “kiln-cli %s --help”.\n", command);
      return FALSE;
    }
  return TRUE;
}

static gboolean status_shown;

void
kiln_cli_status_line (const char *text)
{
  if (!isatty (STDERR_FILENO))
    return;
  /* \r, then clear to the end of the line: the new text may be shorter. */
  fprintf (stderr, "\r%s\033[K", text);
  fflush (stderr);
  status_shown = TRUE;
}

void
kiln_cli_status_done (void)
{
  if (!status_shown)
    return;
  fputc ('\n', stderr);
  status_shown = FALSE;
}

void
kiln_cli_keep_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Delivers the last progress update before the caller prints more. */
static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

GAsyncResult *
kiln_cli_wait (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  drain_main_context ();
  return *result;
}

typedef struct {
  GThreadFunc func;
  gpointer data;
  gpointer result;
  gboolean done;
} ThreadJob;

static gboolean
mark_done (gpointer data)
{
  ((ThreadJob *) data)->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
run_job (gpointer data)
{
  ThreadJob *job = data;
  job->result = job->func (job->data);
  /* Wakes the main loop below; it then sees done. */
  g_idle_add (mark_done, job);
  return NULL;
}

gpointer
kiln_cli_run_in_thread (GThreadFunc func, gpointer data)
{
  ThreadJob job = { func, data, NULL, FALSE };
  GThread *thread = g_thread_new ("kiln-cli-work", run_job, &job);

  while (!job.done)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  drain_main_context ();
  return job.result;
}

static void
on_progress_changed (KilnProgress *progress, const char *what)
{
  KilnProgressSnapshot snapshot;
  kiln_progress_snapshot (progress, &snapshot, NULL);
  g_autofree char *text = kiln_progress_format (&snapshot);
  g_autofree char *line = g_strdup_printf ("%s: %s", what, text);
  kiln_cli_status_line (line);
}

void
kiln_cli_show_progress (KilnProgress *progress, const char *what)
{
  g_signal_connect (progress, "changed", G_CALLBACK (on_progress_changed), (gpointer) what);
}

int
kiln_cli_fail (const char *command, GError *error)
{
  g_printerr ("kiln-cli %s: %s\n", command, error ? error->message : "failed");
  return 1;
}

void
kiln_cli_progress_init (KilnCliProgress *progress,
                        const char      *what)
{
  progress->what = what;
  progress->start = g_get_monotonic_time ();
  progress->last = 0;
  progress->tty = isatty (STDERR_FILENO);
  progress->shown = FALSE;
}

void
kiln_cli_progress_update (guint64  done,
                          guint64  total,
                          gpointer user_data)
{
  KilnCliProgress *progress = user_data;
  gint64 now = g_get_monotonic_time ();
  double elapsed = (now - progress->start) / (double) G_USEC_PER_SEC;
  double rate = elapsed > 0 ? done / elapsed : 0;

  if (!progress->tty || (now - progress->last < G_USEC_PER_SEC / 5 && done < total))
    return;
  progress->last = now;
  progress->shown = TRUE;
  /* The carriage return stays out of the translated text. */
  fputc ('\r', stderr);
  if (rate > 0 && done < total)
    fprintf (stderr, _("%s: %llu/%llu (%.0f%%), %.0f/s, %.0f s left   "),
             progress->what, (unsigned long long) done, (unsigned long long) total,
             total ? 100.0 * done / total : 100.0, rate, (total - done) / rate);
  else
    fprintf (stderr, _("%s: %llu/%llu (%.0f%%)   "),
             progress->what, (unsigned long long) done, (unsigned long long) total,
             total ? 100.0 * done / total : 100.0);
  fflush (stderr);
}

void
kiln_cli_progress_end (KilnCliProgress *progress)
{
  if (progress->shown)
    fputc ('\n', stderr);
  progress->shown = FALSE;
}

void
kiln_cli_print_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = kiln_json_to_text (root, TRUE);

  g_print ("%s\n", text);
}

char *
kiln_cli_pad (const char *text, int columns)
{
  int width = 0;

  /* printf pads by bytes; a terminal shows CJK characters two columns
   * wide and combining marks none. */
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  g_autoptr(GString) out = g_string_new (text);
  for (; width < columns; width++)
    g_string_append_c (out, ' ');
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
kiln_cli_parse_size (const char *command, const char *option, const char *text, int *width, int *height)
{
  int w = 0, h = 0;
  char end = 0;

  if (sscanf (text, "%dx%d%c", &w, &h, &end) != 2 || w <= 0 || h <= 0)
    {
      g_printerr (_("kiln-cli %s: %s wants WIDTHxHEIGHT such as 227x227 or 320x240, not “%s”\n"),
                  command, option, text);
      return FALSE;
    }
  *width = w;
  *height = h;
  return TRUE;
}

gboolean
kiln_cli_parse_spec (const char    *command,
                     const char    *size,
                     const char    *resize,
                     gboolean       gray,
                     KilnImageSpec *spec)
{
  if (size != NULL && !kiln_cli_parse_size (command, "--size", size, &spec->width, &spec->height))
    return FALSE;
  if (resize != NULL && !kiln_resize_mode_from_string (resize, &spec->mode))
    {
      g_printerr (_("kiln-cli %s: unknown --resize “%s”; use crop-center, squash, fill or "
                    "downscale-crop\n"), command, resize);
      return FALSE;
    }
  if (gray)
    spec->channels = KILN_CHANNELS_GRAY;
  return TRUE;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s", _("Usage:\n  kiln-cli [--version] [--help] COMMAND [OPTIONS…]\n\n"));
  fprintf (out, "%s", _("Gather, curate and train image classifiers without a display.\n\nCommands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-13s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "%s", _("\nRun “kiln-cli COMMAND --help” for a command's options.\n"));
}

int
main (int argc, char *argv[])
{
  /* Process policy for oneDNN's OpenMP threads. Threads that spin while
   * they wait steal the cores their siblings need whenever anything else
   * runs (LeNet training measured 15-20x slower at a load of 3), and a
   * desktop app must not burn idle CPU; a short spin, then sleep
   * (GOMP_SPINCOUNT=20000) measured best both on a quiet and a loaded
   * machine. libgomp reads it once, when it loads, so set it and
   * re-execute before anything else runs; the user's own setting stands. */
  if (g_getenv ("OMP_WAIT_POLICY") == NULL && g_getenv ("GOMP_SPINCOUNT") == NULL)
    {
      g_setenv ("GOMP_SPINCOUNT", "20000", TRUE);
      execv ("/proc/self/exe", argv); /* no /proc: carry on with the default */
    }
  kiln_i18n_init ();

  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--version") || g_str_equal (argv[1], "-V"))
    {
      printf ("kiln-cli %s\n", KILN_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return 0;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, _("kiln-cli: unknown command “%s”\n\n"), argv[1]);
  print_usage (stderr);
  return 2;
}
