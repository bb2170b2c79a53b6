#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-cli.h"
#include "kiln-core.h"

static const char *
state_of (const KilnRunInfo *info)
{
  if (info->problem != NULL)
    return "unreadable";
  return info->summary.finished ? "finished" : "stopped";
}

int
kiln_cli_runs (int argc, char **argv)
{
  g_autofree char *project = NULL;
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project, N_("The project whose runs to list"), N_("DIR") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;

  if (!kiln_cli_parse ("runs", NULL, _("List a project's training runs, newest first."), entries, &argc, &argv))
    return 2;
  if (project == NULL || argc != 1)
    {
      g_printerr ("%s", _("kiln-cli runs: give --project DIR\n"));
      return 2;
    }
  if (!kiln_project_exists (project))
    {
      g_printerr (_("kiln-cli runs: %s is not a Kiln project\n"), project);
      return 1;
    }
  g_autoptr(GPtrArray) runs = kiln_run_list (project, &error);
  if (runs == NULL)
    return kiln_cli_fail ("runs", error);

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "runs");
      json_builder_begin_array (builder);
      for (guint i = 0; i < runs->len; i++)
        {
          const KilnRunInfo *info = runs->pdata[i];
          g_autoptr(GDateTime) started = g_date_time_new_from_unix_local (info->started);
          g_autofree char *when = started ? g_date_time_format_iso8601 (started) : NULL;
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "id");
          json_builder_add_string_value (builder, info->id);
          json_builder_set_member_name (builder, "dir");
          json_builder_add_string_value (builder, info->dir);
          json_builder_set_member_name (builder, "state");
          json_builder_add_string_value (builder, state_of (info));
          json_builder_set_member_name (builder, "started");
          json_builder_add_string_value (builder, when);
          json_builder_set_member_name (builder, "epochs");
          json_builder_add_int_value (builder, info->epochs);
          json_builder_set_member_name (builder, "iteration");
          json_builder_add_int_value (builder, info->summary.iteration);
          json_builder_set_member_name (builder, "best_val_accuracy");
          if (info->problem != NULL || isnan (info->summary.best_val_accuracy))
            json_builder_add_null_value (builder);
          else
            json_builder_add_double_value (builder, info->summary.best_val_accuracy);
          json_builder_set_member_name (builder, "split");
          if (info->split)
            json_builder_add_string_value (builder, info->split);
          else
            json_builder_add_null_value (builder);
          if (info->problem != NULL)
            {
              json_builder_set_member_name (builder, "problem");
              json_builder_add_string_value (builder, info->problem);
            }
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      kiln_cli_print_json (builder);
      return 0;
    }
  if (runs->len == 0)
    {
      g_print (_("%s has no runs yet; start one with kiln-cli train --project %s\n"), project, project);
      return 0;
    }
  for (guint i = 0; i < runs->len; i++)
    {
      const KilnRunInfo *info = runs->pdata[i];
      g_autoptr(GDateTime) started = g_date_time_new_from_unix_local (info->started);
      g_autofree char *when = started ? g_date_time_format (started, "%Y-%m-%d %H:%M") : g_strdup ("?");
      g_autofree char *best = info->problem == NULL && !isnan (info->summary.best_val_accuracy)
                              ? g_strdup_printf ("%.3f", info->summary.best_val_accuracy) : g_strdup ("–");
      if (info->problem != NULL)
        g_print ("%s  %s  %s: %s\n", info->id, when, state_of (info), info->problem);
      else
        g_print (_("%s  %s  %s at iteration %lld of %d epochs · best val %s · split %s\n"),
                 info->id, when, state_of (info), (long long) info->summary.iteration, info->epochs, best,
                 info->split ? info->split : "–");
    }
  return 0;
}
