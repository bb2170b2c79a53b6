#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "kiln-classify-page.h"
#include "kiln-curate-page.h"
#include "kiln-dataset-page.h"
#include "kiln-demo.h"
#include "kiln-gather-page.h"
#include "kiln-network-page.h"
#include "kiln-labels.h"
#include "kiln-core.h"
#include "kiln-progress.h"
#include "kiln-train-page.h"
#include "kiln-welcome-page.h"
#include "kiln-window.h"

/* Recent projects kept in the settings and shown. */
#define MAX_RECENT 8

/* What the file chooser is open for. */
typedef enum {
  CHOOSE_OPEN,              /* a project folder to open */
  CHOOSE_NEW,               /* where a new, empty project goes */
  CHOOSE_NEW_THEN_GATHER,   /* the same, then on to the Gather page */
  CHOOSE_TREE,              /* a folder of class folders to make a project of */
  CHOOSE_NEW_FROM_TREE,     /* where that project goes */
} ChooserPurpose;

struct _KilnWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack *view_stack;
  KilnGatherPage *gather_page;
  GtkStack *project_stack;
  KilnWelcomePage *welcome_page;
  KilnCuratePage *curate_page;
  KilnDatasetPage *dataset_page;
  AdwStatusPage *preparing_status;
  GtkProgressBar *preparing_progress;
  GMenu *recent_section;
  KilnProgress *import_progress; /* the demo or a new project being prepared */
  char *demo_dir;               /* the demo project being imported */
  KilnTrainPage *train_page;
  KilnClassifyPage *classify_page;
  char *making_dir;             /* the new project being made */
  gboolean gather_next;         /* show the Gather page once it is made */
  guint open_generation;        /* the project opening whose result counts */
  gboolean disposed;

  GFile *project;
  KilnProject *store;           /* the open project's store */
  GtkFileChooserNative *chooser;
  ChooserPurpose chooser_purpose;
  char *tree;                   /* the class-folder tree a project is made of */
  KilnImportMode tree_mode;
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

/* ---- Recent projects ------------------------------------------------------ */

static GSettings *
window_settings (KilnWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));
  return app ? kiln_application_get_settings (KILN_APPLICATION (app)) : NULL;
}

/* The recent project folders still there, newest first. */
static GStrv
recent_projects (KilnWindow *self)
{
  GSettings *settings = window_settings (self);
  g_auto(GStrv) stored = settings ? g_settings_get_strv (settings, "recent-projects") : NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; stored != NULL && stored[i] != NULL && i < MAX_RECENT; i++)
    if (g_file_test (stored[i], G_FILE_TEST_IS_DIR))
      g_strv_builder_add (builder, stored[i]);
  return g_strv_builder_end (builder);
}

/* Menu labels take '_' as a mnemonic: a folder name shows its own. */
static char *
escape_mnemonic (const char *text)
{
  g_auto(GStrv) parts = g_strsplit (text, "_", -1);
  return g_strjoinv ("__", parts);
}

static void
update_recent (KilnWindow *self)
{
  g_auto(GStrv) paths = recent_projects (self);

  g_menu_remove_all (self->recent_section);
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *name = g_path_get_basename (paths[i]);
      g_autofree char *display = g_filename_display_name (name);
      g_autofree char *label = escape_mnemonic (display);
      g_autoptr(GMenuItem) item = g_menu_item_new (label, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (paths[i]));
      g_menu_append_item (self->recent_section, item);
    }
  kiln_welcome_page_set_recent (self->welcome_page, (const char * const *) paths);
}

/* @path first among the recent projects, and the one opened next time. */
static void
remember_project (KilnWindow *self, const char *path)
{
  GSettings *settings = window_settings (self);

  if (settings == NULL || path == NULL)
    return;
  g_auto(GStrv) stored = g_settings_get_strv (settings, "recent-projects");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  guint n = 1;

  g_strv_builder_add (builder, path);
  for (guint i = 0; stored[i] != NULL && n < MAX_RECENT; i++)
    if (!g_str_equal (stored[i], path))
      {
        g_strv_builder_add (builder, stored[i]);
        n++;
      }
  g_auto(GStrv) recent = g_strv_builder_end (builder);
  g_settings_set_strv (settings, "recent-projects", (const char * const *) recent);
  g_settings_set_string (settings, "last-project", path);
}

/* ---- Opening ----------------------------------------------------------------- */

static void
set_title (KilnWindow *self, const char *name)
{
  g_autofree char *title = name ? g_strdup_printf (_("%s – Kiln"), name) : NULL;

  adw_view_switcher_title_set_subtitle (self->switcher_title, name);
  gtk_window_set_title (GTK_WINDOW (self), title ? title : _("Kiln"));
}

/* The welcome page or the open project, once nothing is being prepared. */
static void
show_idle_page (KilnWindow *self)
{
  gtk_stack_set_visible_child_name (self->project_stack, self->store ? "curate" : "welcome");
}

static void
show_project (KilnWindow *self, GFile *folder, KilnProject *store)
{
  g_autofree char *path = g_file_get_path (folder);
  g_autofree char *basename = g_file_get_basename (folder);
  g_autofree char *name = g_filename_display_name (basename);

  g_set_object (&self->project, folder);
  g_set_object (&self->store, store);
  kiln_train_page_set_project (self->train_page, path);
  kiln_classify_page_set_project (self->classify_page, path);
  set_title (self, name);
  kiln_gather_page_set_project (self->gather_page, folder);
  kiln_curate_page_set_project (self->curate_page, store);
  kiln_dataset_page_set_project (self->dataset_page, store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-project", TRUE);
  if (self->import_progress == NULL)
    show_idle_page (self);
  remember_project (self, path);
}

static void
close_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  self->open_generation++;
  g_clear_object (&self->project);
  g_clear_object (&self->store);
  kiln_train_page_set_project (self->train_page, NULL);
  kiln_classify_page_set_project (self->classify_page, NULL);
  set_title (self, NULL);
  kiln_gather_page_set_project (self->gather_page, NULL);
  kiln_curate_page_set_project (self->curate_page, NULL);
  kiln_dataset_page_set_project (self->dataset_page, NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-project", FALSE);
  if (self->import_progress == NULL)
    show_idle_page (self);
  adw_view_stack_set_visible_child_name (self->view_stack, "curate");
}

static void open_chooser (KilnWindow *self, ChooserPurpose purpose);

/* Copy or link: asked before a class-folder tree becomes a project. */
static void
import_mode_response (AdwMessageDialog *dialog, const char *response, KilnWindow *self)
{
  if (g_str_equal (response, "copy") || g_str_equal (response, "link"))
    {
      self->tree_mode = g_str_equal (response, "link") ? KILN_IMPORT_REFERENCE : KILN_IMPORT_COPY;
      open_chooser (self, CHOOSE_NEW_FROM_TREE);
    }
  else
    g_clear_pointer (&self->tree, g_free);
}

static void
ask_import_mode (KilnWindow *self, const char *tree, gboolean was_opened)
{
  g_autofree char *basename = g_path_get_basename (tree);
  g_autofree char *name = g_filename_display_name (basename);
  g_autofree char *heading = was_opened ? g_strdup_printf (_("Make a Project of “%s”?"), name)
                                        : g_strdup (_("Copy or Link the Images?"));
  g_autofree char *body = g_strdup_printf (was_opened ? _("“%s” holds one folder of images per class, but it is "
                                                          "not a Kiln project yet. Copying its images makes the "
                                                          "project stand alone; linking saves space, but the "
                                                          "folder must then stay where it is.")
                                                       : _("“%s” holds one folder of images per class. Copying its "
                                                           "images makes the project stand alone; linking saves "
                                                           "space, but the folder must then stay where it is."),
                                           name);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), heading, body));

  g_free (self->tree);
  self->tree = g_strdup (tree);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "link", _("_Link"), "copy", _("C_opy"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "copy", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "copy");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (import_mode_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct {
  KilnWindow *window;
  GFile *folder;
  guint generation;
} OpenRequest;

static void
open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OpenRequest *request = user_data;
  g_autoptr(KilnWindow) self = request->window;
  g_autoptr(GFile) folder = request->folder;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) store = kiln_project_open_dataset_finish (result, &error);
  guint generation = request->generation;

  g_free (request);
  /* Another project was opened or closed meanwhile, or the window went. */
  if (generation != self->open_generation || self->disposed)
    return;
  if (store == NULL)
    {
      g_autofree char *path = g_file_get_path (folder);
      g_autofree char *name = g_file_get_parse_name (folder);
      g_autofree char *text = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);

      if (kiln_project_is_class_tree (path))
        ask_import_mode (self, path, TRUE);
      else
        show_toast (self, text);
      return;
    }
  show_project (self, folder, store);
}

void
kiln_window_open_project (KilnWindow *self, GFile *folder)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (KILN_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (folder));

  g_autoptr(GFileInfo) info = g_file_query_info (folder, G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                 G_FILE_QUERY_INFO_NONE, NULL, &error);
  if (info != NULL && g_file_info_get_file_type (info) != G_FILE_TYPE_DIRECTORY)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("It is not a folder"));
  if (error == NULL && (path = g_file_get_path (folder)) == NULL)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("It is not a local folder"));
  if (error != NULL)
    {
      g_autofree char *name = g_file_get_parse_name (folder);
      g_autofree char *text = g_strdup_printf (_("Could not open “%s”: %s"), name, error->message);
      show_toast (self, text);
      return;
    }

  /* Opening registers images copied in by hand: a walk of the folder. */
  OpenRequest *request = g_new0 (OpenRequest, 1);
  request->window = g_object_ref (self);
  request->folder = g_object_ref (folder);
  request->generation = ++self->open_generation;
  kiln_project_open_dataset_async (path, NULL, open_done, request);
}

static void
open_recent_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_autoptr(GFile) folder = g_file_new_for_path (g_variant_get_string (parameter, NULL));
  kiln_window_open_project (KILN_WINDOW (widget), folder);
}

/* ---- Preparing: the demo import, a new project ---------------------------------- */

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
start_preparing (KilnWindow *self, const char *title, const char *description)
{
  self->import_progress = kiln_progress_new ("prepare");
  g_signal_connect (self->import_progress, "changed", G_CALLBACK (on_import_progress), self);
  adw_status_page_set_title (self->preparing_status, title);
  adw_status_page_set_description (self->preparing_status, description);
  gtk_progress_bar_set_fraction (self->preparing_progress, 0);
  gtk_progress_bar_set_text (self->preparing_progress, NULL);
  gtk_stack_set_visible_child_name (self->project_stack, "preparing");
  adw_view_stack_set_visible_child_name (self->view_stack, "curate");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", TRUE);
}

/* Whether it was cancelled. */
static gboolean
stop_preparing (KilnWindow *self)
{
  gboolean cancelled = g_cancellable_is_cancelled (kiln_progress_get_cancellable (self->import_progress));

  g_signal_handlers_disconnect_by_data (self->import_progress, self);
  g_clear_object (&self->import_progress);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);
  show_idle_page (self);
  return cancelled;
}

static void
import_demo_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = kiln_demo_ensure_finish (result, &error);
  g_autofree char *project_dir = g_steal_pointer (&self->demo_dir);

  /* The window closed meanwhile (and cancelled the import). */
  if (self->disposed || self->import_progress == NULL)
    return;
  if (stop_preparing (self))
    return;
  if (!ok)
    {
      g_autofree char *text = g_strdup_printf (_("The demo project could not be prepared: %s"), error->message);
      show_toast (self, text);
      return;
    }
  /* The user may have opened a project of their own meanwhile. */
  if (self->store != NULL)
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
  start_preparing (self, _("Preparing the Demo Project"), _("Importing Fashion-MNIST into one folder per class…"));
  self->demo_dir = g_strdup (project_dir);
  /* The whole dataset: 70,000 images in ten class folders. */
  kiln_demo_ensure_async (project_dir, NULL, 0, self->import_progress,
                          kiln_progress_get_cancellable (self->import_progress), import_demo_done, g_object_ref (self));
}

static void
open_demo_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_autofree char *dir = kiln_demo_default_dir ();
  kiln_window_open_demo (KILN_WINDOW (widget), dir);
}

static void
new_project_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) store = kiln_project_new_finish (result, &error);
  g_autofree char *dir = g_steal_pointer (&self->making_dir);

  if (self->disposed || self->import_progress == NULL)
    return;
  if (stop_preparing (self))
    {
      /* Each copy is whole or absent: opening the folder later keeps them. */
      g_autofree char *text = g_strdup_printf (_("Cancelled; what was copied so far is in %s"), dir);
      show_toast (self, text);
      return;
    }
  if (store == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The project could not be made: %s"), error->message);
      show_toast (self, text);
      return;
    }
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  self->open_generation++;
  show_project (self, folder, store);
  if (self->gather_next)
    {
      adw_view_stack_set_visible_child_name (self->view_stack, "gather");
      kiln_gather_page_focus_search (self->gather_page);
    }
}

/* Makes @dir a project, empty (@tree NULL) or of the class folders in
 * @tree, on a worker; then opens it. */
static void
create_project (KilnWindow *self, const char *dir, const char *tree, KilnImportMode mode, gboolean then_gather)
{
  if (self->import_progress != NULL)
    {
      show_toast (self, _("Another project is being prepared; wait for it or cancel it first"));
      return;
    }
  g_autofree char *basename = tree ? g_path_get_basename (tree) : NULL;
  g_autofree char *name = basename ? g_filename_display_name (basename) : NULL;
  g_autofree char *description = name == NULL ? NULL
                                 : g_strdup_printf (mode == KILN_IMPORT_REFERENCE ? _("Linking the images of “%s”…")
                                                                                   : _("Copying the images of “%s”…"),
                                                    name);
  start_preparing (self, _("Making the Project"), description);
  self->making_dir = g_strdup (dir);
  self->gather_next = then_gather;
  kiln_project_new_async (dir, tree, mode, self->import_progress, new_project_done, g_object_ref (self));
}

static void
create_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  const char *dir, *tree, *mode;

  g_variant_get (parameter, "(&s&s&s)", &dir, &tree, &mode);
  create_project (KILN_WINDOW (widget), dir, *tree ? tree : NULL,
                  g_str_equal (mode, "link") ? KILN_IMPORT_REFERENCE : KILN_IMPORT_COPY, FALSE);
}

static void
cancel_import_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);
  if (self->import_progress != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->import_progress));
}

/* ---- Choosing folders -------------------------------------------------------------- */

static void
chosen_tree (KilnWindow *self, const char *path)
{
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *name = g_filename_display_name (basename);

  if (kiln_project_exists (path))
    {
      g_autoptr(GFile) folder = g_file_new_for_path (path);
      kiln_window_open_project (self, folder);
    }
  else if (!kiln_project_is_class_tree (path))
    {
      g_autofree char *text = g_strdup_printf (_("“%s” holds no folders of images: put one folder of images per "
                                                 "class in it, then choose it again"), name);
      show_toast (self, text);
    }
  else
    ask_import_mode (self, path, FALSE);
}

static void
chooser_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KilnWindow *self = KILN_WINDOW (user_data);
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog))
                                                          : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;
  ChooserPurpose purpose = self->chooser_purpose;

  g_clear_object (&self->chooser);
  if (file == NULL)
    {
      if (purpose == CHOOSE_NEW_FROM_TREE)
        g_clear_pointer (&self->tree, g_free);
      return;
    }
  if (path == NULL && purpose != CHOOSE_OPEN)
    {
      show_toast (self, _("Projects live in local folders; choose one on this computer"));
      return;
    }
  switch (purpose)
    {
    case CHOOSE_OPEN:
      kiln_window_open_project (self, file);
      break;
    case CHOOSE_NEW:
    case CHOOSE_NEW_THEN_GATHER:
      create_project (self, path, NULL, KILN_IMPORT_COPY, purpose == CHOOSE_NEW_THEN_GATHER);
      break;
    case CHOOSE_TREE:
      chosen_tree (self, path);
      break;
    case CHOOSE_NEW_FROM_TREE:
      {
        g_autofree char *tree = g_steal_pointer (&self->tree);
        create_project (self, path, tree, self->tree_mode, FALSE);
      }
      break;
    }
}

static void
open_chooser (KilnWindow *self, ChooserPurpose purpose)
{
  gboolean save = purpose == CHOOSE_NEW || purpose == CHOOSE_NEW_THEN_GATHER || purpose == CHOOSE_NEW_FROM_TREE;
  const char *title = purpose == CHOOSE_OPEN ? _("Open Project")
                      : purpose == CHOOSE_TREE ? _("Choose a Folder of Class Folders")
                      : _("New Project");

  if (self->chooser != NULL)
    return;
  self->chooser_purpose = purpose;
  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                               save ? GTK_FILE_CHOOSER_ACTION_SAVE
                                                    : GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               save ? _("_Create") : purpose == CHOOSE_TREE ? _("_Choose") : _("_Open"),
                                               _("_Cancel"));
  if (purpose == CHOOSE_NEW_FROM_TREE && self->tree != NULL)
    {
      /* Beside the folder it is made of, named after it. */
      g_autofree char *parent = g_path_get_dirname (self->tree);
      g_autofree char *basename = g_path_get_basename (self->tree);
      g_autofree char *name = g_strdup_printf (_("%s project"), basename);
      g_autoptr(GFile) where = g_file_new_for_path (parent);
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), where, NULL);
      gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
    }
  else if (save)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), _("New Project"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  open_chooser (KILN_WINDOW (widget), CHOOSE_OPEN);
}

static void
new_project_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  open_chooser (KILN_WINDOW (widget), CHOOSE_NEW);
}

static void
new_project_from_folder_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  open_chooser (KILN_WINDOW (widget), CHOOSE_TREE);
}

static void
start_from_synsets_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);

  /* Gathering needs a project to gather into: an open one, else a new one. */
  if (self->store != NULL)
    {
      adw_view_stack_set_visible_child_name (self->view_stack, "gather");
      kiln_gather_page_focus_search (self->gather_page);
      return;
    }
  open_chooser (self, CHOOSE_NEW_THEN_GATHER);
}

/* New images are in the project: read the store again. */
static void
gather_finished_cb (KilnWindow *self)
{
  kiln_curate_page_reload (self->curate_page);
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

/* "application" is an ordinary property, set after construction: the
 * settings can only be read once it is there. */
static void
application_set_cb (KilnWindow *self)
{
  GSettings *settings = window_settings (self);

  if (settings == NULL)
    return;
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  g_signal_connect_object (settings, "changed::recent-projects", G_CALLBACK (update_recent), self,
                           G_CONNECT_SWAPPED);
  update_recent (self);
}

static void
kiln_window_constructed (GObject *object)
{
  G_OBJECT_CLASS (kiln_window_parent_class)->constructed (object);
#if KILN_DEVELOPMENT
  gtk_widget_add_css_class (GTK_WIDGET (object), "devel");
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
  g_clear_object (&self->store);
  g_clear_pointer (&self->tree, g_free);
  g_clear_pointer (&self->making_dir, g_free);
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

/* Whole classes moved: the Curate page's grid shows stale paths. */
static void
dataset_classes_changed_cb (KilnWindow *self)
{
  kiln_curate_page_reload (self->curate_page);
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

/* (title, store ids): other pages hand a list of images to the Curate page. */
static void
curate_images_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnWindow *self = KILN_WINDOW (widget);
  const char *title;
  g_autoptr(GVariant) ids = NULL;
  gsize n = 0;

  g_variant_get (parameter, "(&s@ax)", &title, &ids);
  const gint64 *data = g_variant_get_fixed_array (ids, &n, sizeof (gint64));
  kiln_curate_page_show_images (self->curate_page, title, data, n);
  adw_view_stack_set_visible_child_name (self->view_stack, "curate");
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

  g_type_ensure (KILN_TYPE_CURATE_PAGE);
  g_type_ensure (KILN_TYPE_DATASET_PAGE);
  g_type_ensure (KILN_TYPE_GATHER_PAGE);
  g_type_ensure (KILN_TYPE_NETWORK_PAGE);
  g_type_ensure (KILN_TYPE_TRAIN_PAGE);
  g_type_ensure (KILN_TYPE_CLASSIFY_PAGE);
  g_type_ensure (KILN_TYPE_WELCOME_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-window.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, gather_page);
  gtk_widget_class_bind_template_callback (widget_class, gather_finished_cb);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, project_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, welcome_page);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, curate_page);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, dataset_page);
  gtk_widget_class_bind_template_callback (widget_class, dataset_classes_changed_cb);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, recent_section);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, preparing_status);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, preparing_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, train_page);
  gtk_widget_class_bind_template_child (widget_class, KilnWindow, classify_page);

  gtk_widget_class_install_action (widget_class, "win.open-project", NULL, open_project_activated);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_activated);
  gtk_widget_class_install_action (widget_class, "win.new-project", NULL, new_project_activated);
  gtk_widget_class_install_action (widget_class, "win.new-project-from-folder", NULL,
                                   new_project_from_folder_activated);
  gtk_widget_class_install_action (widget_class, "win.create-project", "(sss)", create_project_activated);
  gtk_widget_class_install_action (widget_class, "win.close-project", NULL, close_project_activated);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_activated);
  gtk_widget_class_install_action (widget_class, "win.start-from-synsets", NULL, start_from_synsets_activated);
  gtk_widget_class_install_action (widget_class, "win.cancel-import", NULL, cancel_import_activated);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_activated);
  gtk_widget_class_install_action (widget_class, "win.find-synset", NULL, find_synset_activated);
  gtk_widget_class_install_action (widget_class, "win.new-run", NULL, new_run_activated);
  gtk_widget_class_install_action (widget_class, "win.curate-images", "(sax)", curate_images_activated);
}

static void
kiln_window_init (KilnWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Gather comes first in the switcher, but a project opens on its images. */
  adw_view_stack_set_visible_child_name (self->view_stack, "curate");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel-import", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-project", FALSE);
  g_signal_connect (self, "notify::application", G_CALLBACK (application_set_cb), NULL);
}
