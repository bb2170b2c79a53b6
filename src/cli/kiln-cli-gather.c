#include "config.h"

#include <inttypes.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "kiln-cli.h"
#include "kiln-core.h"

typedef struct {
  GMainLoop    *loop;
  GCancellable *cancellable;
  gboolean      ok;
  GError       *error;
  gboolean      quiet;
  gint64        last_line_us;
} GatherState;

/* One line, rewritten in place on a terminal (kiln_cli_status_line). */
static void
print_progress_line (GatherState *st, const KilnGatherProgress *p, gboolean final)
{
  gint64 now = g_get_monotonic_time ();

  if (st->quiet)
    return;
  if (!final && now - st->last_line_us < 100 * 1000)
    return;
  st->last_line_us = now;
  g_autofree char *line = kiln_gather_progress_format (p);
  kiln_cli_status_line (line);
  if (final)
    kiln_cli_status_done ();
}

static void
on_progress (KilnGatherer *gatherer, const KilnGatherProgress *p, gpointer data)
{
  print_progress_line (data, p, FALSE);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GatherState *st = data;

  st->ok = kiln_gatherer_run_finish (KILN_GATHERER (source), result, &st->error);
  g_main_loop_quit (st->loop);
}

static gboolean
on_signal (gpointer data)
{
  GatherState *st = data;

  g_cancellable_cancel (st->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
print_json (const KilnGatherProgress *p, const char *project, gboolean ok, GError *error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "project");
  json_builder_add_string_value (b, project);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  if (error)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, error->message);
    }
#define MEMBER(name, value) \
  json_builder_set_member_name (b, name); json_builder_add_int_value (b, (gint64) (value))
  MEMBER ("kept", p->n_kept);
  MEMBER ("rejected", p->n_rejected);
  MEMBER ("failed", p->n_failed);
  MEMBER ("skipped", p->n_skipped);
  MEMBER ("over_limit", p->n_over_limit);
  MEMBER ("unfinished", p->n_queued);
  MEMBER ("bytes", p->bytes);
  MEMBER ("source_errors", p->n_source_errors);
#undef MEMBER
  json_builder_set_member_name (b, "elapsed_s");
  json_builder_add_double_value (b, p->elapsed_s);
  json_builder_set_member_name (b, "files_per_s");
  json_builder_add_double_value (b, p->files_per_s);
  json_builder_set_member_name (b, "by_reason");
  json_builder_begin_object (b);
  for (guint r = 0; r < KILN_GATHER_N_REASONS; r++)
    {
      json_builder_set_member_name (b, kiln_gather_reason_to_string (r));
      json_builder_add_int_value (b, p->by_reason[r]);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  kiln_cli_print_json (b);
}

static void
print_summary (const KilnGatherProgress *p)
{
  g_autofree char *bytes = g_format_size (p->bytes);

  g_print (_("kept %" PRIu64 ", rejected %" PRIu64 ", failed %" PRIu64
             ", already done %" PRIu64 ", over the limit %" PRIu64
             "; %s in %.1f s (%.1f files/s)\n"),
           p->n_kept, p->n_rejected, p->n_failed, p->n_skipped, p->n_over_limit,
           bytes, p->elapsed_s, p->files_per_s);
  g_autofree char *reasons = kiln_gather_progress_format_reasons (p);
  if (*reasons)
    g_print (_("  by reason: %s\n"), reasons);
  if (p->n_source_errors > 0)
    g_print (_("  %u parts of the source could not be read (API calls or archive members)\n"),
             p->n_source_errors);
}

/* What became of each URL the project has seen: one line (or JSON object)
 * per URL in URL order, or the failures only, newest first. */
static int
print_report (const char *project_dir, const char *wnid, gboolean failed_only, gboolean as_json)
{
  g_autoptr(GError) error = NULL;
  /* Opening creates a project: a mistyped folder must not become one. */
  if (!kiln_project_exists (project_dir))
    {
      g_printerr (_("kiln-cli gather: %s is not a Kiln project (it has no kiln.db); nothing to report.\n"),
                  project_dir);
      return 1;
    }
  g_autoptr(KilnProject) project = kiln_project_open (project_dir, &error);
  g_autoptr(GPtrArray) records = project == NULL ? NULL
                                 : failed_only ? kiln_project_list_failed_downloads (project, wnid, 0, &error)
                                 : kiln_project_list_downloads (project, wnid, &error);
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (records == NULL)
    return kiln_cli_fail ("gather", error);
  json_builder_begin_array (b);
  for (guint i = 0; i < records->len; i++)
    {
      const KilnDownloadRecord *r = records->pdata[i];
      const char *outcome = kiln_download_outcome_to_string (r->outcome);

      if (!as_json)
        {
          g_print ("%s\t%d\t%s\t%s\n", outcome, r->http_status, r->url,
                   r->file ? r->file : r->detail ? r->detail : "");
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "url");
      json_builder_add_string_value (b, r->url);
      json_builder_set_member_name (b, "wnid");
      json_builder_add_string_value (b, r->wnid);
      json_builder_set_member_name (b, "outcome");
      json_builder_add_string_value (b, outcome);
      json_builder_set_member_name (b, "http_status");
      json_builder_add_int_value (b, r->http_status);
      json_builder_set_member_name (b, "detail");
      json_builder_add_string_value (b, r->detail);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, r->file);
      json_builder_set_member_name (b, "attempts");
      json_builder_add_int_value (b, r->attempts);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (as_json)
    kiln_cli_print_json (b);
  return 0;
}

/* An option left out keeps its default; one given must make sense (0 s
 * would silently have meant the default before). */
#define UNSET_INT G_MININT

static gboolean
refuse_option (const char *option, const char *what)
{
  g_printerr (_("kiln-cli gather: %s must be %s; leave it out for the default. See “kiln-cli gather --help”.\n"),
              option, what);
  return FALSE;
}

static gboolean
seconds_option (const char *option, double value, guint *ms)
{
  if (isnan (value))
    return TRUE;
  if (!(value > 0) || value > G_MAXUINT / 1000.0)
    return refuse_option (option, _("a number of seconds above zero"));
  *ms = (guint) MAX (1.0, value * 1000);
  return TRUE;
}

static gboolean
count_option (const char *option, int value, int min, guint *out)
{
  if (value == UNSET_INT)
    return TRUE;
  if (value < min)
    return refuse_option (option, min > 0 ? _("a whole number above zero") : _("a whole number, zero or more"));
  *out = value;
  return TRUE;
}

int
kiln_cli_gather (int argc, char **argv)
{
  g_autofree char *wnid = NULL, *urls = NULL, *api = NULL, *archive = NULL, *folder = NULL;
  g_autofree char *project_dir = NULL, *class_name = NULL, *placeholders = NULL;
  gboolean subset = FALSE, as_json = FALSE, quiet = FALSE, report = FALSE, failed_only = FALSE;
  gboolean retry_failed = FALSE;
  int limit = 0, parallel = UNSET_INT, per_host = UNSET_INT, retries = UNSET_INT;
  int min_size = UNSET_INT, min_side = UNSET_INT;
  double connect_timeout = NAN, timeout = NAN, url_deadline = NAN, max_size_mb = NAN;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("Project folder (created if missing)"), N_("DIR") },
    { "wnid", 'w', 0, G_OPTION_ARG_STRING, &wnid, N_("Synset to gather, e.g. n02121808"), N_("WNID") },
    { "subset", 's', 0, G_OPTION_ARG_NONE, &subset, N_("Also gather the synset's hyponyms"), NULL },
    { "limit", 'l', 0, G_OPTION_ARG_INT, &limit, N_("Keep at most N images per synset"), N_("N") },
    { "urls", 0, 0, G_OPTION_ARG_FILENAME, &urls, N_("URL list: fall11_urls.txt form or one URL per line"), N_("FILE") },
    { "api", 0, 0, G_OPTION_ARG_STRING, &api, N_("URL template with {wnid} that answers a URL list (the default source)"), N_("TEMPLATE") },
    { "archive", 0, 0, G_OPTION_ARG_FILENAME, &archive, N_("ImageNet training tar (a tar of per-synset tars)"), N_("TAR") },
    { "folder", 0, 0, G_OPTION_ARG_FILENAME, &folder, N_("Folder of images to import"), N_("DIR") },
    { "class", 0, 0, G_OPTION_ARG_STRING, &class_name, N_("Class folder under images/ (default: the wnid)"), N_("NAME") },
    { "parallel", 'j', 0, G_OPTION_ARG_INT, &parallel, N_("Downloads at once (default 32)"), N_("N") },
    { "per-host", 0, 0, G_OPTION_ARG_INT, &per_host, N_("Downloads at once from one host (default 6)"), N_("N") },
    { "connect-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &connect_timeout, N_("Seconds to connect (default 10)"), N_("S") },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, N_("Seconds for one attempt's whole response (default 60)"), N_("S") },
    { "retries", 0, 0, G_OPTION_ARG_INT, &retries, N_("Retries for timeouts, short bodies, 429 and 5xx (default 3)"), N_("N") },
    { "url-deadline", 0, 0, G_OPTION_ARG_DOUBLE, &url_deadline,
      N_("Seconds for all attempts at one URL together, waits included (default 90): the most a stalled host costs"),
      N_("S") },
    { "retry-failed", 0, 0, G_OPTION_ARG_NONE, &retry_failed,
      N_("Fetch again the URLs that failed for good in earlier runs (timeouts, server errors, short bodies)"), NULL },
    { "max-size", 0, 0, G_OPTION_ARG_DOUBLE, &max_size_mb, N_("Largest file in MB (default 32)"), N_("MB") },
    { "min-side", 0, 0, G_OPTION_ARG_INT, &min_side, N_("Smallest shorter side in pixels (default 16)"), N_("PIXELS") },
    { "min-size", 0, 0, G_OPTION_ARG_INT, &min_size,
      N_("Smallest file in bytes (default: none; sizes are judged in pixels)"), N_("BYTES") },
    { "placeholders", 0, 0, G_OPTION_ARG_FILENAME, &placeholders,
      N_("Also reject images that look like these placeholders (perceptual hashes, 16 hex digits a line; "
         "the project's own come from “kiln-cli placeholder”)"), N_("FILE") },
    { "report", 0, 0, G_OPTION_ARG_NONE, &report,
      N_("Gather nothing; list what became of each URL (outcome, HTTP status, URL, file or reason)"), NULL },
    { "failed", 0, 0, G_OPTION_ARG_NONE, &failed_only,
      N_("With --report: only the URLs rejected or failed for good (not those still to try)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress line"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(KilnGatherer) gatherer = NULL;
  g_autoptr(KilnGatherRequest) req = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  KilnGatherProgress progress;
  GatherState st = { 0 };
  guint n_sources, sigint, sigterm, value;

  if (!kiln_cli_parse ("gather", NULL,
                       _("Download or import the images of a synset into a project, skipping broken links.\n"
                         "Interrupted runs resume where they stopped."),
                       entries, &argc, &argv))
    return 2;
  n_sources = (urls != NULL) + (api != NULL) + (archive != NULL) + (folder != NULL);
  if (report && project_dir != NULL && n_sources == 0)
    return print_report (project_dir, wnid, failed_only, as_json);
  if (report || failed_only)
    {
      g_printerr (_("kiln-cli gather: --report needs --project and no source; --failed goes with --report. "
                    "See “kiln-cli gather --help”.\n"));
      return 2;
    }
  if (project_dir == NULL || n_sources > 1 || (wnid == NULL && (n_sources == 0 || api != NULL)) ||
      limit < 0)
    {
      g_printerr (_("kiln-cli gather: give --project and at most one of --urls, --api, --archive, --folder;\n"
                    "the API source (the default) needs --wnid. See “kiln-cli gather --help”.\n"));
      return 2;
    }

  if (urls)
    req = kiln_gather_request_new (KILN_GATHER_URLS, urls, wnid);
  else if (archive)
    req = kiln_gather_request_new (KILN_GATHER_ARCHIVE, archive, wnid);
  else if (folder)
    req = kiln_gather_request_new (KILN_GATHER_FOLDER, folder, wnid);
  else
    req = kiln_gather_request_new (KILN_GATHER_API, api, wnid);
  req->subset = subset;
  req->limit = limit;
  req->class_name = g_strdup (class_name);
  req->retry_failed = retry_failed;
  if (!count_option ("--parallel", parallel, 1, &req->max_parallel) ||
      !count_option ("--per-host", per_host, 1, &req->max_per_host) ||
      !count_option ("--retries", retries, 0, &req->max_retries) ||
      !count_option ("--min-side", min_side, 0, &req->min_side) ||
      !seconds_option ("--connect-timeout", connect_timeout, &req->connect_timeout_ms) ||
      !seconds_option ("--timeout", timeout, &req->total_timeout_ms) ||
      !seconds_option ("--url-deadline", url_deadline, &req->url_deadline_ms))
    return 2;
  if (!isnan (max_size_mb))
    {
      if (!(max_size_mb > 0) || max_size_mb > 1024 * 1024)
        {
          refuse_option ("--max-size", _("a number of megabytes above zero"));
          return 2;
        }
      req->max_bytes = (guint64) MAX (1.0, max_size_mb * 1024 * 1024);
    }
  if (!count_option ("--min-size", min_size, 0, &value))
    return 2;
  if (min_size != UNSET_INT)
    req->min_bytes = value;

  if (placeholders)
    {
      g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();

      if (!kiln_inspector_settings_load_placeholders (settings, placeholders, &error))
        return kiln_cli_fail ("gather", error);
      req->placeholders = g_array_copy (settings->placeholders);
      req->placeholder_distance = settings->placeholder_distance;
    }

  /* Before the project is created: a mistyped path must leave nothing. */
  if (!kiln_gather_request_check (req, &error))
    return kiln_cli_fail ("gather", error);
  project = kiln_project_open (project_dir, &error);
  if (project == NULL)
    return kiln_cli_fail ("gather", error);

  st.loop = g_main_loop_new (NULL, FALSE);
  st.cancellable = cancellable;
  st.quiet = quiet;
  gatherer = kiln_gatherer_new (project);
  g_signal_connect (gatherer, "progress", G_CALLBACK (on_progress), &st);
  /* Ctrl-C stops cleanly: nothing half-written, the next run resumes. */
  sigint = g_unix_signal_add (SIGINT, on_signal, &st);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &st);
  kiln_gatherer_run_async (gatherer, req, cancellable, on_done, &st);
  g_main_loop_run (st.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_main_loop_unref (st.loop);

  kiln_gatherer_get_progress (gatherer, &progress);
  print_progress_line (&st, &progress, TRUE);
  if (as_json)
    print_json (&progress, project_dir, st.ok, st.error);
  else if (st.ok || g_error_matches (st.error, KILN_ERROR, KILN_ERROR_CANCELLED))
    print_summary (&progress);
  if (!st.ok)
    {
      int status = g_error_matches (st.error, KILN_ERROR, KILN_ERROR_CANCELLED) ? 130 : 1;
      kiln_cli_fail ("gather", st.error);
      g_clear_error (&st.error);
      return status;
    }
  return 0;
}
