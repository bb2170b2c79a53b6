#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* "80,10,10" or "80/10/10" → three numbers. */
static gboolean
parse_three (const char *text,
             double      values[3])
{
  g_auto(GStrv) parts = g_regex_split_simple ("[,/:]", text, 0, 0);

  if (g_strv_length (parts) != 3)
    return FALSE;
  for (int i = 0; i < 3; i++)
    {
      char *end = NULL;
      values[i] = g_ascii_strtod (parts[i], &end);
      if (end == parts[i] || *end != '\0' || values[i] < 0)
        return FALSE;
    }
  return TRUE;
}

int
kiln_cli_split (int argc, char **argv)
{
  gboolean as_json = FALSE, no_stratify = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *shares = NULL;
  g_autofree char *counts_text = NULL;
  gint64 seed = 0;
  int min_per_class = 0, max_per_class = 0;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir, N_("The project to split"), N_("DIR") },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, N_("Name of the split (default: “default”)"), N_("NAME") },
    { "shares", 0, 0, G_OPTION_ARG_STRING, &shares,
      N_("Train, validation and test percentages per class (default 80,10,10)"), N_("T,V,T") },
    { "counts", 0, 0, G_OPTION_ARG_STRING, &counts_text,
      N_("Train, validation and test images per class instead (train 0: the rest)"), N_("T,V,T") },
    { "min", 0, 0, G_OPTION_ARG_INT, &min_per_class, N_("Leave out classes with fewer images"), N_("N") },
    { "max", 0, 0, G_OPTION_ARG_INT, &max_per_class, N_("Use at most this many images per class"), N_("N") },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, N_("Random seed; the same seed gives the same split"), N_("N") },
    { "no-stratify", 0, 0, G_OPTION_ARG_NONE, &no_stratify,
      N_("Shuffle all classes as one pool instead of splitting class by class"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  KilnSplitSpec spec;
  KilnSplitSummary summary;
  double values[3];

  kiln_split_spec_init (&spec);
  if (!kiln_cli_parse ("split", NULL,
                       _("Split a project's kept images into train, validation and test sets, "
                         "class by class, reproducibly from a seed."),
                       entries, &argc, &argv))
    return 2;
  if (project_dir == NULL)
    {
      g_printerr (_("kiln-cli split: give --project DIR\n"));
      return 2;
    }
  if (shares != NULL)
    {
      if (!parse_three (shares, values))
        {
          g_printerr (_("kiln-cli split: --shares wants three percentages such as 80,10,10\n"));
          return 2;
        }
      for (int i = 0; i < 3; i++)
        spec.fractions[i] = values[i] / 100.0;
    }
  if (counts_text != NULL)
    {
      if (!parse_three (counts_text, values))
        {
          g_printerr (_("kiln-cli split: --counts wants three numbers such as 0,50,50\n"));
          return 2;
        }
      for (int i = 0; i < 3; i++)
        spec.counts[i] = (guint) values[i];
    }
  spec.min_per_class = MAX (min_per_class, 0);
  spec.max_per_class = MAX (max_per_class, 0);
  spec.seed = (guint64) seed;
  spec.unstratified = no_stratify;

  project = kiln_project_open (project_dir, &error);
  if (project == NULL
      || !kiln_dataset_split_project (project, name ? name : KILN_SPLIT_DEFAULT_NAME, &spec, &summary, &error))
    return kiln_cli_fail ("split", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name ? name : KILN_SPLIT_DEFAULT_NAME);
      json_builder_set_member_name (builder, "seed");
      json_builder_add_int_value (builder, seed);
      for (guint s = 0; s < KILN_N_SUBSETS; s++)
        {
          json_builder_set_member_name (builder, kiln_subset_to_string (s));
          json_builder_add_int_value (builder, summary.counts[s]);
        }
      json_builder_set_member_name (builder, "near_duplicate_groups");
      json_builder_add_int_value (builder, summary.n_groups);
      json_builder_set_member_name (builder, "moved_to_keep_groups_whole");
      json_builder_add_int_value (builder, summary.n_moved);
      /* The groups themselves, as the window's Dataset page lists them. */
      g_autoptr(GPtrArray) groups = kiln_dataset_near_duplicate_groups (project, spec.near_distance, &error);
      if (groups == NULL)
        return kiln_cli_fail ("split", error);
      json_builder_set_member_name (builder, "groups");
      json_builder_begin_array (builder);
      for (guint g = 0; g < groups->len; g++)
        {
          const char *const *paths = groups->pdata[g];
          json_builder_begin_array (builder);
          for (guint i = 0; paths[i] != NULL; i++)
            json_builder_add_string_value (builder, paths[i]);
          json_builder_end_array (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  g_print (_("train %u, val %u, test %u, unused %u (seed %lld)\n"),
           summary.counts[KILN_SUBSET_TRAIN], summary.counts[KILN_SUBSET_VAL], summary.counts[KILN_SUBSET_TEST],
           summary.counts[KILN_SUBSET_UNUSED], (long long) seed);
  g_print (_("%u near-duplicate groups kept whole, each in one subset (%u images moved to their group's subset)\n"),
           summary.n_groups, summary.n_moved);
  return 0;
}
