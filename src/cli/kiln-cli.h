/* kiln-cli.h: shared helpers of the kiln-cli subcommands.
 *
 * Each subcommand lives in its own kiln-cli-NAME.c with an entry
 * `int kiln_cli_NAME (int argc, char **argv)` listed in kiln-cli.c. */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"
#include <json-glib/json-glib.h>

#include "kiln-core.h"

G_BEGIN_DECLS

typedef int (*KilnCliCommandFunc) (int argc, char **argv);

/* Parses argv with @entries; prints the error and returns FALSE on bad
 * options. @summary is shown in --help. */
gboolean kiln_cli_parse (const char         *command,
                         const char         *parameter_string,
                         const char         *summary,
                         const GOptionEntry *entries,
                         int                *argc,
                         char             ***argv);

/* Prints "kiln-cli COMMAND: MESSAGE" to stderr and returns exit status 1. */
int      kiln_cli_fail  (const char *command,
                         GError     *error);

/* One updating status line on stderr when it is a terminal (nothing
 * otherwise, so logs stay clean); _done ends it with a newline. */
void     kiln_cli_status_line (const char *text);
void     kiln_cli_status_done (void);

/* Core _async calls from a command: pass kiln_cli_keep_result with the
 * address of a NULL GAsyncResult pointer, then kiln_cli_wait() on it, which
 * turns the default main context (so KilnProgress lines appear) until the
 * result is there, delivers what is still pending, and returns it. */
void          kiln_cli_keep_result (GObject       *source,
                                    GAsyncResult  *result,
                                    gpointer       user_data);
GAsyncResult *kiln_cli_wait        (GAsyncResult **result);

/* Runs @func (@data) on a worker thread while the main context keeps
 * turning, as kiln_cli_wait() does; for the blocking core calls that have
 * no _async pair yet (evaluation, cache building). Returns what @func
 * returned. */
gpointer kiln_cli_run_in_thread (GThreadFunc func,
                                 gpointer    data);

/* Shows @progress's "changed" as "@what: done / total · rate · ETA" on the
 * status line. @what must outlive @progress. */
void     kiln_cli_show_progress (KilnProgress *progress,
                                 const char   *what);

/* A progress line on stderr ("what: done/total, rate, ETA"), redrawn at
 * most five times a second and only when stderr is a terminal. */
typedef struct {
  const char *what;
  gint64      start;
  gint64      last;
  gboolean    tty;
  gboolean    shown;
} KilnCliProgress;

void     kiln_cli_progress_init   (KilnCliProgress *progress,
                                   const char      *what);
/* A KilnProgressFunc; @user_data is the KilnCliProgress. */
void     kiln_cli_progress_update (guint64          done,
                                   guint64          total,
                                   gpointer         user_data);
/* Ends the line so later output starts on a fresh one. */
void     kiln_cli_progress_end    (KilnCliProgress *progress);

/* Prints the builder's object as pretty JSON on stdout. */
void     kiln_cli_print_json      (JsonBuilder     *builder);

/* @text followed by spaces up to @columns terminal columns (wide
 * characters count two): left-aligned table cells that line up. */
char    *kiln_cli_pad             (const char      *text,
                                   int              columns);

/* Reads WIDTHxHEIGHT (e.g. 320x240) for @option; prints the problem and
 * returns FALSE otherwise. Every size option of kiln-cli uses this order. */
gboolean kiln_cli_parse_size      (const char      *command,
                                   const char      *option,
                                   const char      *text,
                                   int             *width,
                                   int             *height);

/* Applies --size WxH, --resize MODE and --gray to @spec; prints the
 * problem and returns FALSE on bad values. */
gboolean kiln_cli_parse_spec      (const char      *command,
                                   const char      *size,
                                   const char      *resize,
                                   gboolean         gray,
                                   KilnImageSpec   *spec);

/* kiln-cli train's path after its options: prepares @recipe's run on
 * @project, trains it to the end and reports as kiln-cli train does
 * (kiln-cli demo trains its recipe this way). */
int kiln_cli_train_recipe (const KilnRunRecipe *recipe,
                           const char          *project,
                           gboolean             as_json);

int kiln_cli_cache      (int argc, char **argv);
int kiln_cli_calc       (int argc, char **argv);
int kiln_cli_classify   (int argc, char **argv);
int kiln_cli_demo       (int argc, char **argv);
int kiln_cli_devices    (int argc, char **argv);
int kiln_cli_eval       (int argc, char **argv);
int kiln_cli_export_onnx (int argc, char **argv);
int kiln_cli_gather     (int argc, char **argv);
int kiln_cli_images     (int argc, char **argv);
int kiln_cli_import_idx (int argc, char **argv);
int kiln_cli_import_model (int argc, char **argv);
int kiln_cli_inspect    (int argc, char **argv);
int kiln_cli_label      (int argc, char **argv);
int kiln_cli_mean       (int argc, char **argv);
int kiln_cli_new        (int argc, char **argv);
int kiln_cli_placeholder (int argc, char **argv);
int kiln_cli_restore    (int argc, char **argv);
int kiln_cli_classes    (int argc, char **argv);
int kiln_cli_runs       (int argc, char **argv);
int kiln_cli_split      (int argc, char **argv);
int kiln_cli_suspects   (int argc, char **argv);
int kiln_cli_train      (int argc, char **argv);

G_END_DECLS
