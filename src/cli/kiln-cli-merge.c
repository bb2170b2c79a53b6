/* kiln-cli merge: joins projects (the shards of one gather) into one. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

static void
print_json (const char *dest, const KilnMergeStats *s)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "project");
  json_builder_add_string_value (b, dest);
#define MEMBER(name, value) \
  json_builder_set_member_name (b, name); json_builder_add_int_value (b, (gint64) (value))
  MEMBER ("images", s->n_images);
  MEMBER ("already", s->n_already);
  MEMBER ("renamed", s->n_renamed);
  MEMBER ("downloads", s->n_downloads);
  MEMBER ("placeholders", s->n_placeholders);
  MEMBER ("duplicates", s->n_duplicates);
  MEMBER ("near_duplicates", s->n_near);
  MEMBER ("placeholder_matches", s->n_placeholder_matches);
  MEMBER ("splits_not_merged", s->n_splits);
  MEMBER ("runs_not_merged", s->n_runs);
#undef MEMBER
  json_builder_end_object (b);
  kiln_cli_print_json (b);
}

int
kiln_cli_merge (int argc, char **argv)
{
  gboolean as_json = FALSE;
  int near = 4;
  const GOptionEntry entries[] = {
    { "near", 0, 0, G_OPTION_ARG_INT, &near,
      N_("Perceptual hashes at most this many bits apart are near duplicates (default 4, as inspect)"), N_("BITS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) dest = NULL;
  KilnMergeStats stats = { 0 };

  if (!kiln_cli_parse ("merge", _("DEST PROJECT…"),
                       _("Join projects (such as the shards of “kiln-cli gather --shard”) into DEST, created if "
                         "missing:\nimages and their files, flags, download outcomes and placeholders. Images "
                         "found in several\nprojects are flagged duplicate or near-duplicate, not dropped. "
                         "Merging again changes nothing."),
                       entries, &argc, &argv))
    return 2;
  if (argc < 3 || near < 0 || near > 64)
    {
      g_printerr (_("kiln-cli merge: give the destination and at least one project to merge into it "
                    "(--near from 0 to 64). See “kiln-cli merge --help”.\n"));
      return 2;
    }
  /* Every source must be a project before DEST is created. */
  for (int i = 2; i < argc; i++)
    if (!kiln_project_exists (argv[i]))
      {
        g_printerr (_("kiln-cli merge: %s is not a Kiln project (it has no kiln.db); nothing was merged\n"),
                    argv[i]);
        return 1;
      }
  dest = kiln_project_open (argv[1], &error);
  if (dest == NULL)
    return kiln_cli_fail ("merge", error);
  for (int i = 2; i < argc; i++)
    {
      KilnMergeStats before = stats;

      if (!kiln_project_merge (dest, argv[i], near, &stats, NULL, &error))
        {
          /* The projects before it are in: say which, so a rerun is understood. */
          if (i > 2)
            g_printerr (_("kiln-cli merge: the projects before %s were merged; merging again skips them\n"),
                        argv[i]);
          return kiln_cli_fail ("merge", error);
        }
      if (!as_json)
        g_print (_("%s: %u images added (%u already there, %u renamed), %u download outcomes\n"), argv[i],
                 stats.n_images - before.n_images, stats.n_already - before.n_already,
                 stats.n_renamed - before.n_renamed, stats.n_downloads - before.n_downloads);
    }
  if (as_json)
    {
      print_json (argv[1], &stats);
      return 0;
    }
  g_print (_("duplicates across projects: %u with the same bytes, %u near, %u close to a placeholder; "
             "see “kiln-cli images --project %s --flag duplicate” (or near-duplicate, placeholder)\n"),
           stats.n_duplicates, stats.n_near, stats.n_placeholder_matches, argv[1]);
  if (stats.n_splits > 0 || stats.n_runs > 0)
    g_print (_("not merged: %u splits and %u training runs of the sources; split %s again\n"), stats.n_splits,
             stats.n_runs, argv[1]);
  return 0;
}
