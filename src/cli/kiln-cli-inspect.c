#include "config.h"

#include <glib/gi18n.h>

#include "kiln-cli.h"
#include "kiln-core.h"

/* Images with any of these flags are moved away by --discard: they cannot
 * be trained on, or repeat an image that stays. */
static gboolean
discard_by_default (KilnInspectReason reason)
{
  return kiln_inspect_reason_is_fatal (reason)
         || reason == KILN_INSPECT_DUPLICATE
         || reason == KILN_INSPECT_PLACEHOLDER;
}

/* Discards each kept image flagged with a discarding reason, into the
 * folder of its first such reason. */
static gboolean
discard_flagged (KilnProject  *project,
                 guint        *n_discarded,
                 GError      **error)
{
  g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, 0, error);
  gint64 last = 0;

  if (flags == NULL)
    return FALSE;
  *n_discarded = 0;
  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *flag = flags->pdata[i];
      KilnInspectReason reason;
      g_autoptr(KilnImageRecord) record = NULL;

      if (flag->image_id == last || !kiln_inspect_reason_from_string (flag->reason, &reason)
          || !discard_by_default (reason))
        continue;
      record = kiln_project_get_image (project, flag->image_id, error);
      if (record == NULL)
        return FALSE;
      if (record->status != KILN_IMAGE_KEPT)
        continue;
      if (!kiln_project_discard_image (project, flag->image_id, flag->reason, error))
        return FALSE;
      last = flag->image_id;
      (*n_discarded)++;
    }
  return TRUE;
}

static void
print_report (const KilnImageReport *report,
              gboolean               as_json,
              JsonBuilder           *builder)
{
  if (as_json)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, report->path);
      json_builder_set_member_name (builder, "width");
      json_builder_add_int_value (builder, report->width);
      json_builder_set_member_name (builder, "height");
      json_builder_add_int_value (builder, report->height);
      if (report->has_phash)
        {
          const char *names[] = { "mean", "stddev", "entropy", "shadows", "highlights", "sharpness" };
          double values[] = { report->mean, report->stddev, report->entropy, report->shadows,
                              report->highlights, report->sharpness };

          json_builder_set_member_name (builder, "statistics");
          json_builder_begin_object (builder);
          for (guint k = 0; k < G_N_ELEMENTS (names); k++)
            {
              json_builder_set_member_name (builder, names[k]);
              json_builder_add_double_value (builder, values[k]);
            }
          json_builder_end_object (builder);
        }
      json_builder_set_member_name (builder, "flags");
      json_builder_begin_object (builder);
      for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
        if (kiln_image_report_has (report, r))
          {
            json_builder_set_member_name (builder, kiln_inspect_reason_to_string (r));
            json_builder_add_string_value (builder, report->details[r]);
          }
      json_builder_end_object (builder);
      /* Members of one group share its number, the kept image included. */
      if (report->exact_group > 0)
        {
          json_builder_set_member_name (builder, "exact_group");
          json_builder_add_int_value (builder, report->exact_group);
        }
      if (report->near_group > 0)
        {
          json_builder_set_member_name (builder, "near_group");
          json_builder_add_int_value (builder, report->near_group);
        }
      json_builder_end_object (builder);
      return;
    }
  if (report->flags == 0)
    {
      g_print (_("%s: ok (%d × %d)\n"), report->path, report->width, report->height);
      return;
    }
  for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
    if (kiln_image_report_has (report, r))
      g_print ("%s: %s: %s\n", report->path, kiln_inspect_reason_to_string (r), report->details[r]);
}

int
kiln_cli_inspect (int argc, char **argv)
{
  gboolean as_json = FALSE, discard = FALSE;
  g_autofree char *project_dir = NULL;
  g_autofree char *placeholders = NULL;
  int threads = 0, min_side = -1, near_distance = -1, status = 0;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project_dir,
      N_("Inspect every kept image of the project and record the flags"), N_("DIR") },
    { "discard", 0, 0, G_OPTION_ARG_NONE, &discard,
      N_("Move images that cannot be used, exact duplicates and placeholders to discarded/<reason>/ (undoable)"),
      NULL },
    { "placeholders", 0, 0, G_OPTION_ARG_FILENAME, &placeholders,
      N_("Perceptual hashes of known placeholder images, one per line"), N_("FILE") },
    { "min-side", 0, 0, G_OPTION_ARG_INT, &min_side, N_("Flag images smaller than this (pixels)"), N_("N") },
    { "near-distance", 0, 0, G_OPTION_ARG_INT, &near_distance,
      N_("Hamming distance of perceptual hashes counted as near duplicates"), N_("N") },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads, N_("Decoding threads (default: one per processor)"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json,
      N_("Print JSON: counts by reason and each flagged image with its reasons and duplicate group"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  if (!kiln_cli_parse ("inspect", _("[FILE…]"),
                       _("Flag images that are broken, doubtful, duplicated or placeholders. With "
                         "--project the flags are recorded in the project; with files they are printed."),
                       entries, &argc, &argv))
    return 2;
  if (min_side >= 0)
    settings->min_side = min_side;
  if (near_distance >= 0)
    settings->near_distance = near_distance;
  if (placeholders != NULL
      && !kiln_inspector_settings_load_placeholders (settings, placeholders, &error))
    return kiln_cli_fail ("inspect", error);

  json_builder_begin_object (builder);
  if (project_dir != NULL)
    {
      g_autoptr(KilnProject) project = kiln_project_open (project_dir, &error);
      g_autoptr(GPtrArray) reports = NULL;
      KilnInspectorSummary summary;
      KilnCliProgress progress;
      guint n_discarded = 0;

      if (project == NULL || !kiln_inspector_settings_add_project_placeholders (settings, project, &error))
        return kiln_cli_fail ("inspect", error);
      kiln_cli_progress_init (&progress, _("inspecting"));
      reports = kiln_inspector_run_with_reports (project, settings, threads > 0 ? (guint) threads : 0,
                                                 kiln_cli_progress_update, &progress, NULL, &summary,
                                                 &error);
      kiln_cli_progress_end (&progress);
      if (reports == NULL || (discard && !discard_flagged (project, &n_discarded, &error)))
        return kiln_cli_fail ("inspect", error);

      if (!as_json)
        {
          for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
            if (summary.counts[r] > 0)
              g_print ("%-16s %u\n", kiln_inspect_reason_to_string (r), summary.counts[r]);
          g_print (_("%u of %u images flagged; %u duplicate groups\n"), summary.n_flagged,
                   summary.n_images, summary.n_duplicate_groups);
          if (discard)
            g_print (_("%u images moved to discarded/ (undo with kiln-cli restore)\n"), n_discarded);
          return 0;
        }
      json_builder_set_member_name (builder, "images");
      json_builder_add_int_value (builder, summary.n_images);
      json_builder_set_member_name (builder, "flagged");
      json_builder_add_int_value (builder, summary.n_flagged);
      json_builder_set_member_name (builder, "duplicate_groups");
      json_builder_add_int_value (builder, summary.n_duplicate_groups);
      json_builder_set_member_name (builder, "discarded");
      json_builder_add_int_value (builder, n_discarded);
      json_builder_set_member_name (builder, "reasons");
      json_builder_begin_object (builder);
      for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
        {
          json_builder_set_member_name (builder, kiln_inspect_reason_to_string (r));
          json_builder_add_int_value (builder, summary.counts[r]);
        }
      json_builder_end_object (builder);
      /* The verdict on each image that has one (`kiln-cli images --flag`
       * lists them from the store later). */
      json_builder_set_member_name (builder, "files");
      json_builder_begin_array (builder);
      for (guint i = 0; i < reports->len; i++)
        {
          KilnImageReport *report = reports->pdata[i];

          if (report->flags != 0 || report->exact_group > 0 || report->near_group > 0)
            print_report (report, TRUE, builder);
        }
      json_builder_end_array (builder);
    }
  else if (argc >= 2)
    {
      g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_image_report_free);

      for (int i = 1; i < argc; i++)
        g_ptr_array_add (reports, kiln_inspector_analyse (settings, argv[i]));
      kiln_inspector_flag_duplicates (settings, reports);
      json_builder_set_member_name (builder, "files");
      json_builder_begin_array (builder);
      for (guint i = 0; i < reports->len; i++)
        {
          KilnImageReport *report = reports->pdata[i];

          print_report (report, as_json, builder);
          /* A file that is not there is the caller's mistake, not a finding. */
          if (kiln_image_report_has (report, KILN_INSPECT_UNREADABLE))
            {
              g_printerr (_("kiln-cli inspect: %s; check the path\n"),
                          report->details[KILN_INSPECT_UNREADABLE]);
              status = 1;
            }
        }
      json_builder_end_array (builder);
    }
  else
    {
      g_printerr (_("kiln-cli inspect: give --project DIR or image files\n"));
      return 2;
    }
  json_builder_end_object (builder);
  if (as_json)
    kiln_cli_print_json (builder);
  return status;
}
