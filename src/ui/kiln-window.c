#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-classify-page.h"
#include "kiln-demo.h"
#include "kiln-gather-page.h"
#include "kiln-network-page.h"
#include "kiln-labels.h"
#include "kiln-core.h"
#include "kiln-progress.h"
#include "kiln-train-page.h"
#include "kiln-window.h"

struct _KilnWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack *view_stack;
  KilnGatherPage *gather_page;
  AdwStatusPage *images_status;
  GtkStack *images_stack;
  AdwStatusPage *preparing_status;
  GtkProgressBar *preparing_progress;
  KilnProgress *import_progress;
  char *demo_dir;               /* the demo project being imported */
  KilnTrainPage *train_page;
  KilnClassifyPage *classify_page;
  guint count_generation;       /* the image count whose result is shown */
  gboolean disposed;

  GFile *project;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (KilnWindow, kiln_window, ADW_TYPE_APPLICATION_WINDOW)

KilnWindow *
kiln_window_new (KilnApplication *application)
{
  return g_object_new (KILN_TYPE_WINDOW, "application", application, NULL);
}

GFile *
kiln_window_get_project (KilnWindow *self)
{
  g_return_val_if_fail (KILN_IS_WINDOW (self), NULL);
  return self->project;
}

static void
show_toast (KilnWindow *self, const char *text)
{
  /* Toast titles are markup; messages name files that may hold “&”. */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (markup));
}

typedef struct {
  KilnWindow *window;
  guint generation;
} CountRequest;

static void
count_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CountRequest *request = user_data;
  g_autoptr(KilnWindow) self = request->window;
  guint generation = request->generation;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnLabelSet) set = kiln_project_load_dataset_finish (result, &error);

  g_free (request);
  /* A newer count (another project, or new images) may have started meanwhile. */
  if (generation != self->count_generation)
    return;
  if (set == NULL)
    {
      /* The description is markup. */
      g_autofree char *markup = g_markup_escape_text (error->message, -1);
      adw_status_page_set_description (self->images_status, markup);
      return;
    }
  guint n_classes = set->classes->len, n_images = set->paths->len;
  g_autofree char *classes = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u class", "%u classes", n_classes), n_classes);
  g_autofree char *images = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image", "%u images", n_images), n_images);
  g_autofree char *both = g_strdup_printf ("%s · %s", classes, images);
  adw_status_page_set_description (self->images_status, both);
}

/* The store is the truth about the images; reading it (and registering
 * images copied in by hand) walks the folder, so the core does it on a
 * worker. */
static void
count_images (KilnWindow *self)
{
  g_autoptr(GFile) images = g_file_get_child (self->project, "images");
  g_autofree char *images_path = g_file_get_path (images);
  g_autofree char *project_path = g_file_get_path (self->project);
  guint generation = ++self->count_generation;   /* counts still running are stale */

  if (images_path == NULL
      || (!g_file_test (images_path, G_FILE_TEST_IS_DIR) && !kiln_project_is_class_tree (project_path)))
    {
      adw_status_page_set_description (self->images_status,
                                       _("No images yet: gather some, or put one folder of images per class "
                                         "in its images folder."));
      return;
    }
  adw_status_page_set_description (self->images_status, _("Counting images…"));
  CountRequest *request = g_new (CountRequest, 1);
  request->window = g_object_ref (self);
  request->generation = generation;
  kiln_project_load_dataset_async (project_path, NULL, count_done, request);
}

/* New images are in the project: count them again. */
static void
gather_finished_cb (KilnWindow *self)
{
  if (self->project != NULL)
    count_images (self);
}

void
kiln_window_open_project (KilnWindow *self, GFile *folder)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (KILN_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  g_autoptr(GFileInfo) info = g_file_query_info (folder, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, &error);
  if (info != NULL && g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("It is not a folder"));
  if (error != NULL)
    {
      g_autofree char *name = g_file_get_parse_name (folder);
      g_autofree char *text = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);
      show_toast (self, text);
      return;
    }

  g_set_object (&self->project, folder);
  g_autofree char *project_path = g_file_get_path (folder);
  kiln_train_page_set_project (self->train_page, project_path);
  kiln_classify_page_set_project (self->classify_page, project_path);
  g_autofree char *basename = g_file_get_basename (folder);
  adw_view_switcher_title_set_subtitle (self->switcher_title, basename);
  adw_status_page_set_title (self->images_status, basename);

  kiln_gather_page_set_project (self->gather_page, folder);
  count_images (self);

  GSettings *settings = kiln_application_get_settings (KILN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self))));
  if (settings != NULL && project_path != NULL)
    g_settings_set_string (settings, "last-project", project_path);
}

static void
on_import_progress (KilnProgress *progress, KilnWindow *self)
{
  KilnProgressSnapshot s;
  kiln_progress_snapshot (progress, &s, NULL);
  g_autofree char *text = kiln_progress_format (&s);
  gtk_progress_bar_set_fraction (self->preparing_progress, s.total > 0 ? (double) s.done / s.total : 0);
  gtk_progress_bar_set_text (self->preparing_progress, text);
}

static void
import_demo_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = kiln_demo_ensure_finish (result, &error);
  g_autofree char *project_dir = g_steal_pointer (&self->demo_dir);

  /* The window closed meanwhile (and cancelled the import). */
  if (self->disposed)
    return;
  if (self->import_progress != NULL)
    g_signal_handlers_disconnect_by_data (self->import_progress, self);
  g_clear_object (&self->import_progress);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);
  gtk_stack_set_visible_child_name (self->images_stack, "project");
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *text = g_strdup_printf (_("The demo project could not be prepared: %s"), error->message);
          show_toast (self, text);
        }
      return;
    }
  /* The user may have opened a project of their own meanwhile. */
  if (self->project != NULL)
    return;
  g_autoptr(GFile) folder = g_file_new_for_path (project_dir);
  kiln_window_open_project (self, folder);
}

void
kiln_window_open_demo (KilnWindow *self, const char *project_dir)
{
  g_return_if_fail (KILN_IS_WINDOW (self));

  if (kiln_demo_is_ready (project_dir))
    {
      g_autoptr(GFile) folder = g_file_new_for_path (project_dir);
      kiln_window_open_project (self, folder);
      return;
    }
  if (self->import_progress != NULL)
    return;
  self->import_progress = kiln_progress_new ("demo");
  self->demo_dir = g_strdup (project_dir);
  g_signal_connect (self->import_progress, "changed", G_CALLBACK (on_import_progress), self);
  gtk_progress_bar_set_fraction (self->preparing_progress, 0);
  gtk_progress_bar_set_text (self->preparing_progress, NULL);
  gtk_stack_set_visible_child_name (self->images_stack, "preparing");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", TRUE);

  /* The whole dataset: 70,000 images in ten class folders. */
  kiln_demo_ensure_async (project_dir, NULL, 0, self->import_progress,
                          kiln_progress_get_cancellable (self->import_progress), import_demo_done, g_object_ref (self));
}

static void
cancel_import_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);
  if (self->import_progress != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->import_progress));
}

static void
chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnWindow *self = KILN_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (folder != NULL)
        kiln_window_open_project (self, folder);
    }
  g_clear_object (&self->chooser);
}

static void
open_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open Project"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
save_window_state (KilnWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = app ? kiln_application_get_settings (KILN_APPLICATION (app)) : NULL;
  int width, height;

  if (settings == NULL)
    return;
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
}

static gboolean
kiln_window_close_request (GtkWindow *window)
{
  save_window_state (KILN_WINDOW (window));
  return GTK_WINDOW_CLASS (kiln_window_parent_class)->close_request (window);
}

static void
kiln_window_constructed (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  GSettings *settings = app ? kiln_application_get_settings (KILN_APPLICATION (app)) : NULL;

  G_OBJECT_CLASS (kiln_window_parent_class)->constructed (object);

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
#if KILN_DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
#endif
}

static void
kiln_window_dispose (GObject *object)
{
  KilnWindow *self = KILN_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->project);
  self->disposed = TRUE;
  if (self->import_progress != NULL)
    {
      g_cancellable_cancel (kiln_progress_get_cancellable (self->import_progress));
      g_signal_handlers_disconnect_by_data (self->import_progress, self);
      g_clear_object (&self->import_progress);
    }
  g_clear_pointer (&self->demo_dir, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_WINDOW);
  G_OBJECT_CLASS (kiln_window_parent_class)->dispose (object);
}

static void
show_page_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);
  const char *name = g_variant_get_string (parameter, NULL);

  if (adw_view_stack_get_child_by_name (self->view_stack, name) != NULL)
    adw_view_stack_set_visible_child_name (self->view_stack, name);
}

static void
find_synset_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "gather");
  kiln_gather_page_focus_search (self->gather_page);
}

static void
new_run_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "train");
  gtk_widget_activate_action (GTK_WIDGET (self->train_page), "train.new-run", NULL);
}

static void
kiln_window_class_init (KilnWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = kiln_window_constructed;
  object_class->dispose = kiln_window_dispose;
  window_class->close_request = kiln_window_close_request;

  g_type_ensure (KILN_TYPE_GATHER_PAGE);
  g_type_ensure (KILN_TYPE_NETWORK_PAGE);
  g_type_ensure (KILN_TYPE_TRAIN_PAGE);
  g_type_ensure (KILN_TYPE_CLASSIFY_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, gather_page);
  gtk_widget_class_bind_template_callback (widget_class, gather_finished_cb);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, images_status);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, images_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, preparing_status);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, preparing_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, train_page);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, classify_page);

  gtk_widget_class_install_action (widget_class, "win.open-project", NULL, open_project_activated);
  gtk_widget_class_install_action (widget_class, "win.cancel-import", NULL, cancel_import_activated);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_activated);
  gtk_widget_class_install_action (widget_class, "win.find-synset", NULL, find_synset_activated);
  gtk_widget_class_install_action (widget_class, "win.new-run", NULL, new_run_activated);
}

static void
kiln_window_init (KilnWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Gather comes first in the switcher, but a project opens on its images. */
  adw_view_stack_set_visible_child_name (self->view_stack, "images");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);
}
