/* kiln-welcome-page.c: the page shown while no project is open. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "kiln-welcome-page.h"

struct _KilnWelcomePage
{
  AdwBin parent_instance;

  AdwPreferencesGroup *recent_group;
  GPtrArray *recent_rows;
};

G_DEFINE_FINAL_TYPE (KilnWelcomePage, kiln_welcome_page, ADW_TYPE_BIN)

GtkWidget *
kiln_welcome_page_new (void)
{
  return g_object_new (KILN_TYPE_WELCOME_PAGE, NULL);
}

/* "~/photos/cats" for a folder under the home folder. */
static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize n = strlen (home);

  if (g_str_has_prefix (path, home) && path[n] == '/')
    return g_strconcat ("~", path + n, NULL);
  return g_filename_display_name (path);
}

void
kiln_welcome_page_set_recent (KilnWelcomePage    *self,
                              const char * const *paths)
{
  g_return_if_fail (KILN_IS_WELCOME_PAGE (self));

  for (guint i = 0; i < self->recent_rows->len; i++)
    adw_preferences_group_remove (self->recent_group, self->recent_rows->pdata[i]);
  g_ptr_array_set_size (self->recent_rows, 0);
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      GtkWidget *row = adw_action_row_new ();
      g_autofree char *name = g_path_get_basename (paths[i]);
      g_autofree char *display_name = g_filename_display_name (name);
      g_autofree char *where = display_path (paths[i]);

      /* Folder names are text, not markup. */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), display_name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), where);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.open-recent");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s", paths[i]);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
      adw_preferences_group_add (self->recent_group, row);
      g_ptr_array_add (self->recent_rows, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->recent_group), self->recent_rows->len > 0);
}

static void
kiln_welcome_page_dispose (GObject *object)
{
  KilnWelcomePage *self = KILN_WELCOME_PAGE (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_WELCOME_PAGE);
  G_OBJECT_CLASS (kiln_welcome_page_parent_class)->dispose (object);
}

static void
kiln_welcome_page_finalize (GObject *object)
{
  KilnWelcomePage *self = KILN_WELCOME_PAGE (object);

  g_clear_pointer (&self->recent_rows, g_ptr_array_unref);
  G_OBJECT_CLASS (kiln_welcome_page_parent_class)->finalize (object);
}

static void
kiln_welcome_page_class_init (KilnWelcomePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_welcome_page_dispose;
  object_class->finalize = kiln_welcome_page_finalize;
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-welcome-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWelcomePage, recent_group);
}

static void
kiln_welcome_page_init (KilnWelcomePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->recent_rows = g_ptr_array_new ();
}
