/* kiln-curate-page.c: the Curate page (see kiln-curate-page.h). The store
 * is the truth: every edit is a KilnCurationHistory call, after which the
 * list re-reads the images it touched; the page only shows and asks. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-curate-page.h"
#include "kiln-curation-history.h"
#include "kiln-inspector.h"
#include "kiln-progress.h"
#include "kiln-thumbnailer.h"

/* Grid cells, and the decoded size of their thumbnails (the cache's). */
#define THUMB_SIZE 128
#define PREVIEW_SIZE 512
/* Recent thumbnails kept as textures, so scrolling back shows them at once:
 * about 20 MB at 128 × 128 RGBA. */
#define MAX_TEXTURES 300

struct _KilnCuratePage
{
  AdwBin parent_instance;

  AdwToastOverlay *toast_overlay;
  AdwFlap *flap;
  GtkListBox *sidebar;
  GtkLabel *title_label;
  GtkLabel *count_label;
  AdwFlap *preview_flap;
  GtkStack *grid_stack;
  GtkGridView *grid;
  AdwStatusPage *empty_status;
  GtkPicture *preview_picture;
  guint marking;               /* placeholders being hashed on a worker */
  GtkBox *twin_box;
  GtkLabel *twin_label;
  GtkPicture *twin_picture;
  GtkLabel *preview_title;
  GtkListBox *facts_list;
  GtkMenuButton *move_button;
  GtkRevealer *inspect_revealer;
  GtkWidget *all_button;
  GtkProgressBar *inspect_progress;

  KilnProject *project;
  KilnImageList *images;
  GtkMultiSelection *selection;
  KilnCurationHistory *history;
  KilnThumbnailer *thumbnailer;
  KilnThumbnailer *previewer;
  GHashTable *textures;         /* image id → GdkTexture */
  GQueue *texture_order;        /* their ids (gint64 *), oldest first */
  GCancellable *loading;        /* a reload of the list */
  GCancellable *preview_loading;
  KilnProgress *inspecting;
  char *filter;                 /* the sidebar row shown, or "ids" */
  char *ids_title;              /* what the images of the "ids" filter are */
  GPtrArray *facts;             /* rows of facts_list */
  GMenu *move_menu;
  guint sidebar_idle;
  GHashTable *mapped_cells;     /* cells waiting to be seen on screen */
  guint visible_idle;
  guint reloads;                /* reads of the store in flight */
  gboolean syncing_sidebar;
};

G_DEFINE_FINAL_TYPE (KilnCuratePage, kiln_curate_page, ADW_TYPE_BIN)

static void update_sidebar (KilnCuratePage *self);
static void update_preview (KilnCuratePage *self);

/* What the inspector's reasons and a manual discard read as. */
static const char *const reason_labels[KILN_INSPECT_N_REASONS] = {
  [KILN_INSPECT_ZERO_BYTE] = N_("Empty file"),
  [KILN_INSPECT_NOT_AN_IMAGE] = N_("Not an image"),
  [KILN_INSPECT_TRUNCATED] = N_("Truncated"),
  [KILN_INSPECT_UNDECODABLE] = N_("Undecodable"),
  [KILN_INSPECT_TOO_LARGE] = N_("Too many pixels"),
  [KILN_INSPECT_UNREADABLE] = N_("Unreadable"),
  [KILN_INSPECT_TOO_SMALL] = N_("Too small"),
  [KILN_INSPECT_EXTREME_ASPECT] = N_("Odd aspect ratio"),
  [KILN_INSPECT_LOW_INFORMATION] = N_("Little detail"),
  [KILN_INSPECT_TOO_DARK] = N_("Too dark"),
  [KILN_INSPECT_TOO_LIGHT] = N_("Too light"),
  [KILN_INSPECT_ANIMATED] = N_("Animated"),
  [KILN_INSPECT_DUPLICATE] = N_("Duplicate"),
  [KILN_INSPECT_NEAR_DUPLICATE] = N_("Near duplicate"),
  [KILN_INSPECT_PLACEHOLDER] = N_("Placeholder"),
};

static const char *
reason_label (const char *token)
{
  KilnInspectReason reason;

  if (g_strcmp0 (token, "manual") == 0)
    return _("By hand");
  if (g_strcmp0 (token, KILN_CLASS_DROPPED_REASON) == 0)
    return _("Class dropped");
  if (token != NULL && kiln_inspect_reason_from_string (token, &reason) && reason_labels[reason] != NULL)
    return _(reason_labels[reason]);
  return token;
}

static void
show_toast (KilnCuratePage *self, const char *text)
{
  /* Toast titles are markup; messages name files that may hold “&”. */
  g_autofree char *markup = g_markup_escape_text (text, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (markup));
}

/* "6,000 images", with the locale's digit grouping. */
static char *
format_images (guint n)
{
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'u image", "%'u images", n), n);
}

/* ---- Actions' state ------------------------------------------------------ */

static gboolean
is_inspecting (KilnCuratePage *self)
{
  return self->inspecting != NULL;
}

static void
update_actions (KilnCuratePage *self)
{
  /* The inspector rewrites the rows it read when it ends: no edits meanwhile. */
  gboolean editable = self->project != NULL && !is_inspecting (self);
  guint n_selected = 0, n_kept = 0, n_discarded = 0;

  if (self->selection != NULL)
    {
      g_autoptr(GtkBitset) bits = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
      GtkBitsetIter iter;
      guint position;

      for (gboolean ok = gtk_bitset_iter_init_first (&iter, bits, &position); ok;
           ok = gtk_bitset_iter_next (&iter, &position))
        {
          g_autoptr(KilnImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), position);
          n_selected++;
          if (kiln_image_item_get_status (item) == KILN_IMAGE_KEPT)
            n_kept++;
          else
            n_discarded++;
        }
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.discard", editable && n_kept > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.mark-placeholder",
                                 editable && n_kept > 0 && self->marking == 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.restore", editable && n_discarded > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.relabel", editable && n_kept > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.relabel-nth", editable && n_kept > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.new-class", editable && n_kept > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.undo",
                                 editable && kiln_curation_history_can_undo (self->history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.redo",
                                 editable && kiln_curation_history_can_redo (self->history));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.inspect", editable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "curate.cancel-inspect", is_inspecting (self));
  gtk_widget_set_sensitive (GTK_WIDGET (self->move_button), editable && n_kept > 0);
}

/* ---- Thumbnails ------------------------------------------------------------ */

static GdkTexture *
lookup_texture (KilnCuratePage *self, gint64 id)
{
  return g_hash_table_lookup (self->textures, &id);
}

static void
remember_texture (KilnCuratePage *self, gint64 id, GdkTexture *texture)
{
  gint64 *key = g_new (gint64, 1);

  *key = id;
  if (g_hash_table_contains (self->textures, key))
    {
      g_free (key);
      return;
    }
  g_hash_table_insert (self->textures, key, g_object_ref (texture));
  g_queue_push_tail (self->texture_order, key);
  while (g_queue_get_length (self->texture_order) > MAX_TEXTURES)
    g_hash_table_remove (self->textures, g_queue_pop_head (self->texture_order));
}

/* One thumbnail on its way to a cell (or the preview). */
typedef struct {
  KilnCuratePage *page;
  GtkPicture *picture;
  gint64 id;
  gboolean remember;
} Request;

static void
request_free (Request *request)
{
  g_object_unref (request->page);
  g_object_unref (request->picture);
  g_free (request);
}

static void
thumbnail_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Request *request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = kiln_thumbnailer_load_finish (result, NULL, NULL, &error);
  GtkPicture *picture = request->picture;

  /* The cell may show another image by now. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (picture), "image-id")) != (gsize) request->id)
    {
      request_free (request);
      return;
    }
  if (pixbuf == NULL)
    {
      /* An image that will not decode says so in its cell. */
      g_autoptr(GtkIconPaintable) icon = gtk_icon_theme_lookup_icon (
        gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (picture))), "image-missing-symbolic",
        NULL, 48, 1, gtk_widget_get_direction (GTK_WIDGET (picture)), 0);
      gtk_picture_set_content_fit (picture, GTK_CONTENT_FIT_SCALE_DOWN);
      gtk_picture_set_paintable (picture, GDK_PAINTABLE (icon));
      gtk_widget_set_tooltip_text (GTK_WIDGET (picture), error->message);
      request_free (request);
      return;
    }
  g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);
  if (request->remember && request->page->textures != NULL)
    remember_texture (request->page, request->id, texture);
  /* Small images (28 × 28 Fashion-MNIST) are scaled up to be seen. */
  gtk_picture_set_content_fit (picture, GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_paintable (picture, GDK_PAINTABLE (texture));
  request_free (request);
}

static void
request_thumbnail (KilnCuratePage   *self,
                   KilnThumbnailer  *thumbnailer,
                   GtkPicture       *picture,
                   KilnImageItem    *item,
                   GCancellable     *cancellable,
                   gboolean          remember)
{
  Request *request = g_new0 (Request, 1);

  request->page = g_object_ref (self);
  request->picture = g_object_ref (picture);
  request->id = kiln_image_item_get_id (item);
  request->remember = remember;
  g_object_set_data (G_OBJECT (picture), "image-id", GSIZE_TO_POINTER ((gsize) request->id));
  kiln_thumbnailer_load_async (thumbnailer, kiln_image_item_get_path (item), cancellable, thumbnail_done, request);
}

/* ---- Grid cells -------------------------------------------------------------- */

typedef struct {
  GtkWidget *picture;
  GtkWidget *flag_badge;
  GtkWidget *discarded_badge;
  GtkWidget *label;
  KilnImageItem *item;          /* bound, or NULL */
  GCancellable *cancellable;    /* its thumbnail */
} Cell;

static void
cell_free (Cell *cell)
{
  g_clear_object (&cell->cancellable);
  g_free (cell);
}

static char *
describe_flags (KilnImageItem *item)
{
  GPtrArray *flags = kiln_image_item_get_flags (item);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *flag = flags->pdata[i];
      if (i > 0)
        g_string_append (text, "\n");
      g_string_append (text, reason_label (flag->reason));
      if (flag->detail != NULL)
        g_string_append_printf (text, ": %s", flag->detail);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
update_cell (GtkWidget *box, GParamSpec *pspec, KilnImageItem *item)
{
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");
  gboolean discarded = kiln_image_item_get_status (item) == KILN_IMAGE_DISCARDED;
  g_autofree char *base = g_path_get_basename (kiln_image_item_get_path (item));
  g_autofree char *flags = describe_flags (item);
  g_autofree char *tooltip = *flags ? g_strdup_printf ("%s\n%s", base, flags) : g_strdup (base);

  gtk_label_set_text (GTK_LABEL (cell->label), kiln_image_item_get_class_name (item));
  gtk_widget_set_visible (cell->flag_badge, kiln_image_item_has_flag (item, NULL));
  gtk_widget_set_visible (cell->discarded_badge, discarded);
  if (discarded)
    gtk_widget_add_css_class (box, "discarded");
  else
    gtk_widget_remove_css_class (box, "discarded");
  gtk_widget_set_tooltip_text (box, tooltip);
}

static GdkContentProvider *
drag_prepare_cb (GtkDragSource *source, double x, double y, GtkWidget *box)
{
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");

  if (cell->item == NULL || kiln_image_item_get_status (cell->item) != KILN_IMAGE_KEPT)
    return NULL;
  return gdk_content_provider_new_typed (KILN_TYPE_IMAGE_ITEM, cell->item);
}

static void
drag_begin_cb (GtkDragSource *source, GdkDrag *drag, GtkWidget *box)
{
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");
  GdkPaintable *paintable = gtk_picture_get_paintable (GTK_PICTURE (cell->picture));

  if (paintable != NULL)
    gtk_drag_source_set_icon (source, paintable, 0, 0);
}

/* GTK 4.8's grid binds up to 30 rows of cells around what it shows, and
 * maps every bound cell for a moment before it has a size; only cells
 * still mapped, with a size, once the frame is laid out are on screen. So
 * a cell that maps waits for that, and decoding stops when it unmaps. */
static gboolean
request_visible_cells (gpointer user_data)
{
  KilnCuratePage *self = user_data;
  GHashTableIter iter;
  gpointer box;

  self->visible_idle = 0;
  g_hash_table_iter_init (&iter, self->mapped_cells);
  while (g_hash_table_iter_next (&iter, &box, NULL))
    {
      Cell *cell = g_object_get_data (box, "cell");

      g_hash_table_iter_remove (&iter);
      if (cell->item == NULL || cell->cancellable != NULL || self->thumbnailer == NULL
          || !gtk_widget_get_mapped (box) || gtk_widget_get_width (box) == 0
          || gtk_picture_get_paintable (GTK_PICTURE (cell->picture)) != NULL)
        continue;
      cell->cancellable = g_cancellable_new ();
      request_thumbnail (self, self->thumbnailer, GTK_PICTURE (cell->picture), cell->item, cell->cancellable, TRUE);
    }
  return G_SOURCE_REMOVE;
}

static void
cell_mapped_cb (GtkWidget *box, KilnCuratePage *self)
{
  g_hash_table_add (self->mapped_cells, box);
  /* Below the frame clock's layout and paint, so it runs after them. */
  if (self->visible_idle == 0)
    self->visible_idle = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, request_visible_cells, self, NULL);
}

static void
cell_unmapped_cb (GtkWidget *box, KilnCuratePage *self)
{
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");

  g_hash_table_remove (self->mapped_cells, box);
  if (cell->cancellable != NULL)
    g_cancellable_cancel (cell->cancellable);
  g_clear_object (&cell->cancellable);
}

static void
setup_cell_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnCuratePage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *overlay = gtk_overlay_new ();
  Cell *cell = g_new0 (Cell, 1);
  GtkDragSource *drag = gtk_drag_source_new ();

  gtk_widget_add_css_class (box, "kiln-thumb");
  cell->picture = gtk_picture_new ();
  gtk_widget_set_size_request (cell->picture, THUMB_SIZE, THUMB_SIZE);
  gtk_picture_set_content_fit (GTK_PICTURE (cell->picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_can_shrink (GTK_PICTURE (cell->picture), TRUE);
  gtk_overlay_set_child (GTK_OVERLAY (overlay), cell->picture);
  /* The badges sit on the picture's corner, not the cell's. */
  gtk_widget_set_halign (overlay, GTK_ALIGN_CENTER);

  cell->flag_badge = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  gtk_widget_set_halign (cell->flag_badge, GTK_ALIGN_END);
  gtk_widget_set_valign (cell->flag_badge, GTK_ALIGN_START);
  gtk_widget_add_css_class (cell->flag_badge, "kiln-flag-badge");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), cell->flag_badge);

  cell->discarded_badge = gtk_label_new (_("Discarded"));
  gtk_widget_set_halign (cell->discarded_badge, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (cell->discarded_badge, GTK_ALIGN_END);
  gtk_widget_add_css_class (cell->discarded_badge, "kiln-discarded-badge");
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), cell->discarded_badge);
  gtk_box_append (GTK_BOX (box), overlay);

  cell->label = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (cell->label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (cell->label), 14);
  gtk_widget_add_css_class (cell->label, "caption");
  gtk_box_append (GTK_BOX (box), cell->label);

  gtk_drag_source_set_actions (drag, GDK_ACTION_MOVE);
  g_signal_connect (drag, "prepare", G_CALLBACK (drag_prepare_cb), box);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), box);
  gtk_widget_add_controller (box, GTK_EVENT_CONTROLLER (drag));

  g_object_set_data_full (G_OBJECT (box), "cell", cell, (GDestroyNotify) cell_free);
  g_signal_connect (box, "map", G_CALLBACK (cell_mapped_cb), self);
  g_signal_connect (box, "unmap", G_CALLBACK (cell_unmapped_cb), self);
  gtk_list_item_set_child (list_item, box);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnCuratePage *self)
{
  GtkWidget *box = gtk_list_item_get_child (list_item);
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");
  KilnImageItem *item = gtk_list_item_get_item (list_item);
  GdkTexture *texture = lookup_texture (self, kiln_image_item_get_id (item));

  cell->item = item;
  update_cell (box, NULL, item);
  g_signal_connect_object (item, "notify", G_CALLBACK (update_cell), box, G_CONNECT_SWAPPED);
  gtk_picture_set_content_fit (GTK_PICTURE (cell->picture), GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_paintable (GTK_PICTURE (cell->picture), GDK_PAINTABLE (texture));
  gtk_widget_set_tooltip_text (cell->picture, NULL);
  if (gtk_widget_get_mapped (box))
    cell_mapped_cb (box, self);
}

static void
unbind_cell_cb (GtkSignalListItemFactory *factory, GtkListItem *list_item, KilnCuratePage *self)
{
  GtkWidget *box = gtk_list_item_get_child (list_item);
  Cell *cell = g_object_get_data (G_OBJECT (box), "cell");

  cell_unmapped_cb (box, self);
  if (cell->item != NULL)
    g_signal_handlers_disconnect_by_func (cell->item, update_cell, box);
  cell->item = NULL;
  g_object_set_data (G_OBJECT (cell->picture), "image-id", NULL);
  gtk_picture_set_paintable (GTK_PICTURE (cell->picture), NULL);
}

/* ---- Edits --------------------------------------------------------------------- */

static GArray *
selected_ids (KilnCuratePage *self)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GtkBitset) bits = NULL;
  GtkBitsetIter iter;
  guint position;

  if (self->selection == NULL)
    return ids;
  bits = gtk_selection_model_get_selection (GTK_SELECTION_MODEL (self->selection));
  for (gboolean ok = gtk_bitset_iter_init_first (&iter, bits, &position); ok;
       ok = gtk_bitset_iter_next (&iter, &position))
    {
      g_autoptr(KilnImageItem) item = g_list_model_get_item (G_LIST_MODEL (self->images), position);
      gint64 id = kiln_image_item_get_id (item);
      g_array_append_val (ids, id);
    }
  return ids;
}

typedef enum { EDIT_DISCARD, EDIT_RESTORE, EDIT_RELABEL, EDIT_UNDO, EDIT_REDO, EDIT_PLACEHOLDER } Edit;

/* Runs one edit through the history, then has the list read what changed.
 * A failure part-way keeps what was done and says which image stopped it. */
static void
edit (KilnCuratePage *self, Edit kind, GArray *ids, const char *class_name)
{
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  gint64 *data = ids ? (gint64 *) ids->data : NULL;
  guint n = ids ? ids->len : 0;
  gboolean ok = FALSE;

  if (self->project == NULL || is_inspecting (self))
    return;
  switch (kind)
    {
    case EDIT_DISCARD:
      ok = kiln_curation_history_discard (self->history, data, n, "manual", changed, &error);
      break;
    case EDIT_PLACEHOLDER:
      ok = kiln_curation_history_discard (self->history, data, n, "placeholder", changed, &error);
      break;
    case EDIT_RESTORE:
      ok = kiln_curation_history_restore (self->history, data, n, changed, &error);
      break;
    case EDIT_RELABEL:
      ok = kiln_curation_history_relabel (self->history, data, n, class_name, changed, &error);
      break;
    case EDIT_UNDO:
      ok = kiln_curation_history_undo (self->history, changed, &error);
      break;
    case EDIT_REDO:
      ok = kiln_curation_history_redo (self->history, changed, &error);
      break;
    }
  if (changed->len > 0)
    {
      g_autoptr(GError) read_error = NULL;
      if (!kiln_image_list_refresh (self->images, (gint64 *) changed->data, changed->len, &read_error) && ok)
        {
          ok = FALSE;
          g_propagate_error (&error, g_steal_pointer (&read_error));
        }
    }
  if (!ok)
    show_toast (self, error->message);
  update_actions (self);
  update_preview (self);
}

static void
discard_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  g_autoptr(GArray) ids = selected_ids (self);
  edit (self, EDIT_DISCARD, ids, NULL);
}

typedef struct {
  KilnProject *project;
  GArray      *ids;
  GPtrArray   *files;    /* absolute paths, one per id */
} PlaceholderJob;

static void
placeholder_job_free (PlaceholderJob *job)
{
  g_object_unref (job->project);
  g_array_unref (job->ids);
  g_ptr_array_unref (job->files);
  g_free (job);
}

/* Decoding each image for its hash: on a worker, not the window's thread. */
static void
placeholder_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PlaceholderJob *job = data;

  for (guint i = 0; i < job->files->len; i++)
    {
      const char *file = job->files->pdata[i];
      g_autofree char *name = g_path_get_basename (file);
      g_autoptr(GError) error = NULL;
      guint64 phash;

      if (!kiln_inspector_placeholder_hash (file, &phash, &error) ||
          !kiln_project_add_placeholder (job->project, phash, name, &error))
        {
          g_task_return_new_error (task, error->domain, error->code, _("%s cannot be a placeholder: %s"), name,
                                   error->message);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
placeholder_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (source);
  PlaceholderJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  self->marking--;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    show_toast (self, error->message);
  else if (self->project == job->project)
    {
      edit (self, EDIT_PLACEHOLDER, job->ids, NULL);
      show_toast (self, g_dngettext (GETTEXT_PACKAGE,
                                     "Marked as a placeholder: gathering and inspection refuse images like it",
                                     "Marked as placeholders: gathering and inspection refuse images like them",
                                     job->ids->len));
    }
  update_actions (self);
}

/* The selected images become the project's placeholders (their perceptual
 * hashes, as `kiln-cli placeholder add` stores them), so gathering and
 * inspection refuse look-alikes; then they are discarded as placeholders,
 * which undo reverts (the hashes stay known). */
static void
mark_placeholder_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  g_autoptr(GArray) ids = selected_ids (self);

  if (self->project == NULL || is_inspecting (self) || ids->len == 0)
    return;
  PlaceholderJob *job = g_new0 (PlaceholderJob, 1);
  job->project = g_object_ref (self->project);
  job->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  job->files = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < ids->len; i++)
    {
      KilnImageItem *item = kiln_image_list_lookup (self->images, g_array_index (ids, gint64, i));
      if (item == NULL)
        continue;
      g_array_append_val (job->ids, g_array_index (ids, gint64, i));
      g_ptr_array_add (job->files, kiln_project_build_path (self->project, kiln_image_item_get_path (item)));
    }
  g_autoptr(GTask) task = g_task_new (self, NULL, placeholder_done, NULL);
  g_task_set_source_tag (task, mark_placeholder_activated);
  g_task_set_task_data (task, job, (GDestroyNotify) placeholder_job_free);
  self->marking++;
  update_actions (self);
  g_task_run_in_thread (task, placeholder_thread);
}

static void
restore_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  g_autoptr(GArray) ids = selected_ids (self);
  edit (self, EDIT_RESTORE, ids, NULL);
}

static void
undo_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  edit (KILN_CURATE_PAGE (widget), EDIT_UNDO, NULL, NULL);
}

static void
redo_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  edit (KILN_CURATE_PAGE (widget), EDIT_REDO, NULL, NULL);
}

static void
relabel (KilnCuratePage *self, GArray *ids, const char *class_name)
{
  edit (self, EDIT_RELABEL, ids, class_name);
}

static void
relabel_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  g_autoptr(GArray) ids = selected_ids (self);
  relabel (self, ids, g_variant_get_string (parameter, NULL));
}

static void
relabel_nth_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  guint n = g_variant_get_uint32 (parameter);
  const char * const *classes = self->images ? kiln_image_list_get_classes (self->images) : NULL;

  if (classes == NULL || n == 0 || n > g_strv_length ((char **) classes))
    return;
  g_autoptr(GArray) ids = selected_ids (self);
  relabel (self, ids, classes[n - 1]);
}

static void
new_class_response (AdwMessageDialog *dialog, const char *response, KilnCuratePage *self)
{
  GtkEditable *entry = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  if (!g_str_equal (response, "move") || *name == '\0')
    return;
  g_autoptr(GArray) ids = selected_ids (self);
  relabel (self, ids, name);
}

static void
new_class_entry_changed (GtkEditable *entry, AdwMessageDialog *dialog)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  adw_message_dialog_set_response_enabled (dialog, "move", *name != '\0');
}

/* A class made here is made by moving images into it: the store has no
 * empty classes to train on. */
static void
new_class_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *entry = gtk_entry_new ();
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, _("Move to a New Class"),
                            _("The selected images move to a new folder of that name under images/.")));

  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Class name"), -1);
  adw_message_dialog_set_extra_child (dialog, entry);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "move", _("_Move"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "move", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_response_enabled (dialog, "move", FALSE);
  adw_message_dialog_set_default_response (dialog, "move");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect (entry, "changed", G_CALLBACK (new_class_entry_changed), dialog);
  g_signal_connect_object (dialog, "response", G_CALLBACK (new_class_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* A drop of one image moves it; a drop of a selected image moves the whole
 * selection, as a file manager does. */
static gboolean
class_drop_cb (GtkDropTarget *target, const GValue *value, double x, double y, KilnCuratePage *self)
{
  KilnImageItem *item = g_value_get_object (value);
  const char *class_name = g_object_get_data (G_OBJECT (target), "class-name");
  g_autoptr(GArray) ids = NULL;
  guint position;

  if (item == NULL || self->images == NULL || class_name == NULL)
    return FALSE;
  position = kiln_image_list_find (self->images, kiln_image_item_get_id (item));
  if (position != G_MAXUINT && gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), position))
    ids = selected_ids (self);
  else
    {
      gint64 id = kiln_image_item_get_id (item);
      ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_array_append_val (ids, id);
    }
  relabel (self, ids, class_name);
  return TRUE;
}

/* ---- Inspect ------------------------------------------------------------------- */

static void
on_inspect_progress (KilnProgress *progress, KilnCuratePage *self)
{
  KilnProgressSnapshot s;
  kiln_progress_snapshot (progress, &s, NULL);
  g_autofree char *text = kiln_progress_format (&s);
  gtk_progress_bar_set_fraction (self->inspect_progress, s.total > 0 ? (double) s.done / s.total : 0);
  gtk_progress_bar_set_text (self->inspect_progress, text);
}

static void
inspect_reloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnCuratePage) self = user_data;
  g_autoptr(GError) error = NULL;

  self->reloads--;
  if (!kiln_image_list_reload_finish (KILN_IMAGE_LIST (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && self->images == (gpointer) source)
    show_toast (self, error->message);
}

static void
inspect_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnProgress) progress = user_data;
  KilnCuratePage *self = g_object_get_data (G_OBJECT (progress), "page");
  g_autoptr(GError) error = NULL;
  KilnInspectorSummary summary;
  gboolean ok = kiln_inspector_run_finish (result, &summary, &error);

  /* The page dropped this run: another project, or the page went. */
  if (self == NULL || self->inspecting != progress)
    return;
  g_signal_handlers_disconnect_by_data (self->inspecting, self);
  g_clear_object (&self->inspecting);
  gtk_revealer_set_reveal_child (self->inspect_revealer, FALSE);
  update_actions (self);
  if (!ok)
    {
      if (g_cancellable_is_cancelled (kiln_progress_get_cancellable (progress)))
        show_toast (self, _("Inspection cancelled; nothing was recorded"));
      else
        {
          g_autofree char *text = g_strdup_printf (_("The images could not be inspected: %s"), error->message);
          show_toast (self, text);
        }
      return;
    }
  g_autofree char *images = format_images (summary.n_images);
  g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Inspected %s: %'u flagged",
                                                        "Inspected %s: %'u flagged", summary.n_flagged),
                                           images, summary.n_flagged);
  show_toast (self, text);
  g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  self->loading = g_cancellable_new ();
  self->reloads++;
  kiln_image_list_reload_async (self->images, self->loading, inspect_reloaded, g_object_ref (self));
}

/* An image judged while the inspection runs: its flags show in the grid at
 * once; the store gets them, with the duplicates, when it ends. */
static void
flags_arrived (gint64 image_id, GPtrArray *flags, gpointer data)
{
  KilnCuratePage *self = g_object_get_data (G_OBJECT (data), "page");
  KilnImageItem *item = self && self->inspecting == data && self->images
                        ? kiln_image_list_lookup (self->images, image_id) : NULL;

  if (item != NULL)
    kiln_image_item_add_flags (item, flags);
}

static void
inspect_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);

  if (self->project == NULL || is_inspecting (self))
    return;
  self->inspecting = kiln_progress_new ("inspect");
  /* A weak pointer: the run may outlive the page. */
  g_object_set_data (G_OBJECT (self->inspecting), "page", self);
  g_signal_connect (self->inspecting, "changed", G_CALLBACK (on_inspect_progress), self);
  gtk_progress_bar_set_fraction (self->inspect_progress, 0);
  gtk_progress_bar_set_text (self->inspect_progress, _("Inspecting…"));
  gtk_revealer_set_reveal_child (self->inspect_revealer, TRUE);
  update_actions (self);
  kiln_inspector_run_async_full (self->project, NULL, 0, self->inspecting, flags_arrived, self->inspecting,
                                 inspect_done, g_object_ref (self->inspecting));
}

static void
cancel_inspect_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (widget);

  if (self->inspecting != NULL)
    g_cancellable_cancel (kiln_progress_get_cancellable (self->inspecting));
}

/* ---- Filter and sidebar ------------------------------------------------------------ */

/* The list's filter for a sidebar row's name; FALSE for an unknown name. */
static gboolean
parse_filter (const char *name, char **class_name, int *status, char **flag)
{
  *class_name = NULL;
  *flag = NULL;
  *status = KILN_IMAGE_KEPT;
  if (g_str_equal (name, "all"))
    return TRUE;
  if (g_str_has_prefix (name, "class:") && name[6] != '\0')
    {
      *class_name = g_strdup (name + 6);
      return TRUE;
    }
  if (g_str_equal (name, "flagged"))
    {
      *flag = g_strdup (KILN_IMAGE_LIST_ANY_FLAG);
      return TRUE;
    }
  if (g_str_has_prefix (name, "flag:") && name[5] != '\0')
    {
      *flag = g_strdup (name + 5);
      return TRUE;
    }
  if (g_str_equal (name, "discarded"))
    {
      *status = KILN_IMAGE_DISCARDED;
      return TRUE;
    }
  return FALSE;
}

static char *
filter_title (KilnCuratePage *self, const char *name)
{
  if (g_str_equal (name, "ids"))
    return g_strdup (self->ids_title);
  if (g_str_has_prefix (name, "class:"))
    return g_strdup (name + 6);
  if (g_str_has_prefix (name, "flag:"))
    return g_strdup (reason_label (name + 5));
  if (g_str_equal (name, "flagged"))
    return g_strdup (_("Flagged"));
  if (g_str_equal (name, "discarded"))
    return g_strdup (_("Discarded"));
  return g_strdup (_("All Images"));
}

static void
update_title (KilnCuratePage *self)
{
  guint n = self->images ? g_list_model_get_n_items (G_LIST_MODEL (self->images)) : 0;
  g_autofree char *what = filter_title (self, self->filter);
  g_autofree char *count = format_images (n);

  gtk_label_set_text (self->title_label, self->project ? what : "");
  gtk_label_set_text (self->count_label, self->project ? count : "");
  gtk_widget_set_visible (self->all_button, g_str_equal (self->filter, "ids"));
  gtk_stack_set_visible_child_name (self->grid_stack, n > 0 ? "grid" : "empty");
  if (g_str_equal (self->filter, "discarded"))
    adw_status_page_set_description (self->empty_status, _("Discarded images are moved to the project's "
                                                           "discarded folder, never deleted."));
  else if (self->images != NULL && kiln_image_list_count (self->images, NULL, -1, NULL) == 0)
    adw_status_page_set_description (self->empty_status, _("Gather some (Alt+1), or put one folder of images per "
                                                           "class in the project's images folder."));
  else
    adw_status_page_set_description (self->empty_status, NULL);
}

static void
apply_filter (KilnCuratePage *self, const char *name)
{
  g_autofree char *class_name = NULL, *flag = NULL;
  int status;

  if (!parse_filter (name, &class_name, &status, &flag))
    return;
  g_free (self->filter);
  self->filter = g_strdup (name);
  if (self->images != NULL)
    {
      kiln_image_list_set_id_filter (self->images, NULL, 0);
      kiln_image_list_set_filter (self->images, class_name, status, flag);
    }
  update_title (self);
  update_sidebar (self);
}

void
kiln_curate_page_show_images (KilnCuratePage *self, const char *title, const gint64 *ids, guint n)
{
  g_return_if_fail (KILN_IS_CURATE_PAGE (self));

  if (self->images == NULL)
    return;
  g_free (self->filter);
  self->filter = g_strdup ("ids");
  g_free (self->ids_title);
  self->ids_title = g_strdup (title);
  /* Kept or discarded: the list is what the caller named, nothing less. */
  kiln_image_list_set_filter (self->images, NULL, -1, NULL);
  static const gint64 none = 0;
  kiln_image_list_set_id_filter (self->images, ids ? ids : &none, ids ? n : 0);
  update_title (self);
  update_sidebar (self);
}

static void
filter_activated (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  apply_filter (KILN_CURATE_PAGE (widget), g_variant_get_string (parameter, NULL));
}

static void
sidebar_row_selected_cb (KilnCuratePage *self, GtkListBoxRow *row)
{
  if (row == NULL || self->syncing_sidebar)
    return;
  apply_filter (self, gtk_widget_get_name (GTK_WIDGET (row)));
  /* A folded sidebar is a chooser: it goes once something is chosen. */
  if (adw_flap_get_folded (self->flap))
    adw_flap_set_reveal_flap (self->flap, FALSE);
}

static void
add_heading (KilnCuratePage *self, const char *text)
{
  GtkWidget *label = gtk_label_new (text);
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (label, 12);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_append (self->sidebar, row);
}

static GtkWidget *
add_filter_row (KilnCuratePage *self, const char *name, const char *label_text, guint count, const char *key)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (label_text);
  g_autofree char *count_text = g_strdup_printf ("%'u", count);
  GtkWidget *number = gtk_label_new (count_text);

  gtk_widget_set_name (row, name);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_add_css_class (number, "dim-label");
  gtk_widget_add_css_class (number, "numeric");
  gtk_box_append (GTK_BOX (box), number);
  if (key != NULL)
    {
      GtkWidget *hint = gtk_label_new (key);
      gtk_widget_set_valign (hint, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (hint, "kiln-key-hint");
      gtk_box_append (GTK_BOX (box), hint);
    }
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  gtk_list_box_append (self->sidebar, row);
  return row;
}

/* Rebuilt whole (a few dozen rows) after the list changed; idle, so a drop
 * on a row never removes that row while its handler runs. */
static gboolean
rebuild_sidebar (gpointer user_data)
{
  KilnCuratePage *self = user_data;
  GtkWidget *child;

  self->sidebar_idle = 0;
  self->syncing_sidebar = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar))) != NULL)
    gtk_list_box_remove (self->sidebar, child);
  g_menu_remove_all (self->move_menu);
  g_autoptr(GMenu) class_items = g_menu_new ();
  if (self->images == NULL)
    {
      self->syncing_sidebar = FALSE;
      return G_SOURCE_REMOVE;
    }

  add_heading (self, _("Classes"));
  add_filter_row (self, "all", _("All Images"), kiln_image_list_count (self->images, NULL, KILN_IMAGE_KEPT, NULL),
                  NULL);
  const char * const *classes = kiln_image_list_get_classes (self->images);
  for (guint i = 0; classes[i] != NULL; i++)
    {
      g_autofree char *name = g_strconcat ("class:", classes[i], NULL);
      g_autofree char *key = i < 9 ? g_strdup_printf ("%u", i + 1) : NULL;
      GtkWidget *row = add_filter_row (self, name, classes[i],
                                       kiln_image_list_count (self->images, classes[i], KILN_IMAGE_KEPT, NULL), key);
      GtkDropTarget *target = gtk_drop_target_new (KILN_TYPE_IMAGE_ITEM, GDK_ACTION_MOVE);
      g_autofree char *tooltip = key ? g_strdup_printf (_("Drop images here, or press %s, to move them to “%s”"),
                                                        key, classes[i])
                                     : g_strdup_printf (_("Drop images here to move them to “%s”"), classes[i]);

      g_object_set_data_full (G_OBJECT (target), "class-name", g_strdup (classes[i]), g_free);
      g_signal_connect (target, "drop", G_CALLBACK (class_drop_cb), self);
      gtk_widget_add_controller (row, GTK_EVENT_CONTROLLER (target));
      gtk_widget_set_tooltip_text (row, tooltip);

      g_autoptr(GMenuItem) item = g_menu_item_new (classes[i], NULL);
      g_menu_item_set_action_and_target_value (item, "curate.relabel", g_variant_new_string (classes[i]));
      g_menu_append_item (class_items, item);
    }
  g_menu_append_section (self->move_menu, NULL, G_MENU_MODEL (class_items));
  g_menu_append (self->move_menu, _("New Class…"), "curate.new-class");

  add_heading (self, _("Review"));
  add_filter_row (self, "flagged", _("Flagged"),
                  kiln_image_list_count (self->images, NULL, KILN_IMAGE_KEPT, KILN_IMAGE_LIST_ANY_FLAG), NULL);
  g_auto(GStrv) reasons = kiln_image_list_list_flag_reasons (self->images, KILN_IMAGE_KEPT);
  for (guint i = 0; reasons[i] != NULL; i++)
    {
      g_autofree char *name = g_strconcat ("flag:", reasons[i], NULL);
      g_autofree char *label = g_strdup_printf ("   %s", reason_label (reasons[i]));
      add_filter_row (self, name, label, kiln_image_list_count (self->images, NULL, KILN_IMAGE_KEPT, reasons[i]),
                      NULL);
    }
  add_filter_row (self, "discarded", _("Discarded"),
                  kiln_image_list_count (self->images, NULL, KILN_IMAGE_DISCARDED, NULL), NULL);

  for (child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (g_strcmp0 (gtk_widget_get_name (child), self->filter) == 0)
      gtk_list_box_select_row (self->sidebar, GTK_LIST_BOX_ROW (child));
  self->syncing_sidebar = FALSE;
  return G_SOURCE_REMOVE;
}

static void
update_sidebar (KilnCuratePage *self)
{
  if (self->sidebar_idle == 0)
    self->sidebar_idle = g_idle_add (rebuild_sidebar, self);
}

static void
on_images_changed (KilnCuratePage *self)
{
  update_sidebar (self);
  update_title (self);
  update_actions (self);
  update_preview (self);
}

/* ---- Preview --------------------------------------------------------------------- */

static void
add_fact (KilnCuratePage *self, const char *title, const char *value)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), value);
  gtk_list_box_append (self->facts_list, row);
  g_ptr_array_add (self->facts, row);
}

/* A duplicate is shown beside the image it copies, to judge the pair. */
static void
show_twin (KilnCuratePage *self, const char *path, const char *reason)
{
  g_autoptr(KilnImageRecord) record = path ? kiln_project_find_image (self->project, path, NULL) : NULL;
  KilnImageItem *twin = record ? kiln_image_list_lookup (self->images, record->id) : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->twin_box), twin != NULL);
  if (twin == NULL)
    {
      g_object_set_data (G_OBJECT (self->twin_picture), "image-id", NULL);
      gtk_picture_set_paintable (self->twin_picture, NULL);
      return;
    }
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *text = g_str_equal (reason, "duplicate") ? g_strdup_printf (_("Same pixels as %s"), base)
                                                             : g_strdup_printf (_("Looks like %s"), base);
  gtk_label_set_text (self->twin_label, text);
  if (GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (self->twin_picture), "image-id")) != (gsize) record->id)
    {
      gtk_picture_set_paintable (self->twin_picture, GDK_PAINTABLE (lookup_texture (self, record->id)));
      request_thumbnail (self, self->previewer, self->twin_picture, twin, self->preview_loading, FALSE);
    }
}

static void
update_preview (KilnCuratePage *self)
{
  g_autoptr(GArray) ids = selected_ids (self);

  for (guint i = 0; i < self->facts->len; i++)
    gtk_list_box_remove (self->facts_list, self->facts->pdata[i]);
  g_ptr_array_set_size (self->facts, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->facts_list), ids->len == 1);
  gtk_widget_set_visible (GTK_WIDGET (self->preview_picture), ids->len == 1);

  if (ids->len != 1)
    {
      show_twin (self, NULL, NULL);
      g_autofree char *count = format_images (ids->len);
      g_autofree char *text = g_strdup_printf (_("%s selected"), count);
      g_object_set_data (G_OBJECT (self->preview_picture), "image-id", NULL);
      gtk_picture_set_paintable (self->preview_picture, NULL);
      gtk_label_set_text (self->preview_title, ids->len == 0 ? _("No image selected") : text);
      return;
    }

  gint64 id = g_array_index (ids, gint64, 0);
  KilnImageItem *item = kiln_image_list_lookup (self->images, id);
  const KilnImageRecord *record = kiln_image_item_get_record (item);
  g_autofree char *base = g_path_get_basename (record->path);
  gtk_label_set_text (self->preview_title, base);

  /* The same image again (its flags changed): keep the picture. */
  if (GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (self->preview_picture), "image-id")) != (gsize) id)
    {
      g_cancellable_cancel (self->preview_loading);
      g_clear_object (&self->preview_loading);
      self->preview_loading = g_cancellable_new ();
      gtk_picture_set_paintable (self->preview_picture, GDK_PAINTABLE (lookup_texture (self, id)));
      request_thumbnail (self, self->previewer, self->preview_picture, item, self->preview_loading, FALSE);
    }

  add_fact (self, _("Class"), record->class_name ? record->class_name : _("None"));
  if (record->width > 0 && record->height > 0)
    {
      g_autofree char *size = g_strdup_printf ("%d × %d", record->width, record->height);
      add_fact (self, _("Pixels"), size);
    }
  g_autofree char *file = kiln_project_build_path (self->project, record->path);
  g_autoptr(GFile) gfile = g_file_new_for_path (file);
  g_autoptr(GFileInfo) info = g_file_query_info (gfile, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                                                 NULL, NULL);
  if (info != NULL)
    {
      g_autofree char *size = g_format_size (g_file_info_get_size (info));
      add_fact (self, _("File Size"), size);
    }
  add_fact (self, _("File"), record->path);
  if (record->status == KILN_IMAGE_DISCARDED)
    add_fact (self, _("Discarded"), reason_label (record->discard_reason));
  if (record->source_url != NULL)
    add_fact (self, _("Source"), record->source_url);
  GPtrArray *flags = kiln_image_item_get_flags (item);
  g_autofree char *twin_path = NULL;
  const char *twin_reason = NULL;
  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *flag = flags->pdata[i];
      add_fact (self, reason_label (flag->reason), flag->detail ? flag->detail : _("Flagged by the inspector"));
      gtk_widget_add_css_class (self->facts->pdata[self->facts->len - 1], "kiln-flag-fact");
      if (twin_path == NULL && (twin_path = kiln_inspector_duplicate_of (flag->reason, flag->detail)) != NULL)
        twin_reason = flag->reason;
    }
  show_twin (self, twin_path, twin_reason);
}

static void
selection_changed_cb (KilnCuratePage *self)
{
  update_actions (self);
  update_preview (self);
}

/* ---- Project ------------------------------------------------------------------- */

static void
reloaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(KilnCuratePage) self = user_data;
  g_autoptr(GError) error = NULL;

  self->reloads--;
  if (kiln_image_list_reload_finish (KILN_IMAGE_LIST (source), result, &error)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->images == (gpointer) source && self->toast_overlay != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The images could not be read: %s"), error->message);
      show_toast (self, text);
    }
}

void
kiln_curate_page_reload (KilnCuratePage *self)
{
  g_return_if_fail (KILN_IS_CURATE_PAGE (self));

  if (self->images == NULL)
    return;
  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  self->loading = g_cancellable_new ();
  self->reloads++;
  kiln_image_list_reload_async (self->images, self->loading, reloaded, g_object_ref (self));
}

static void
drop_project (KilnCuratePage *self)
{
  if (self->loading != NULL)
    g_cancellable_cancel (self->loading);
  g_clear_object (&self->loading);
  if (self->preview_loading != NULL)
    g_cancellable_cancel (self->preview_loading);
  g_clear_object (&self->preview_loading);
  if (self->inspecting != NULL)
    {
      g_cancellable_cancel (kiln_progress_get_cancellable (self->inspecting));
      g_signal_handlers_disconnect_by_data (self->inspecting, self);
      g_object_set_data (G_OBJECT (self->inspecting), "page", NULL);
      g_clear_object (&self->inspecting);
      if (self->inspect_revealer != NULL)
        gtk_revealer_set_reveal_child (self->inspect_revealer, FALSE);
    }
  if (self->selection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->selection, self);
      gtk_grid_view_set_model (self->grid, NULL);
    }
  if (self->images != NULL)
    g_signal_handlers_disconnect_by_data (self->images, self);
  if (self->history != NULL)
    g_signal_handlers_disconnect_by_data (self->history, self);
  g_clear_object (&self->selection);
  g_clear_object (&self->images);
  g_clear_object (&self->history);
  g_clear_object (&self->thumbnailer);
  g_clear_object (&self->previewer);
  g_clear_object (&self->project);
  if (self->textures != NULL)
    g_hash_table_remove_all (self->textures);
  if (self->texture_order != NULL)
    g_queue_clear (self->texture_order);
}

void
kiln_curate_page_set_project (KilnCuratePage *self, KilnProject *project)
{
  g_return_if_fail (KILN_IS_CURATE_PAGE (self));
  g_return_if_fail (project == NULL || KILN_IS_PROJECT (project));

  if (project == self->project)
    return;
  drop_project (self);
  g_free (self->filter);
  self->filter = g_strdup ("all");
  if (project != NULL)
    {
      const char *dir = kiln_project_get_path (project);

      self->project = g_object_ref (project);
      self->images = kiln_image_list_new (project);
      kiln_image_list_set_filter (self->images, NULL, KILN_IMAGE_KEPT, NULL);
      self->history = kiln_curation_history_new (project);
      self->thumbnailer = kiln_thumbnailer_new (dir, THUMB_SIZE, TRUE);
      self->previewer = kiln_thumbnailer_new (dir, PREVIEW_SIZE, FALSE);
      self->selection = gtk_multi_selection_new (g_object_ref (G_LIST_MODEL (self->images)));
      g_signal_connect_swapped (self->selection, "selection-changed", G_CALLBACK (selection_changed_cb), self);
      g_signal_connect_swapped (self->selection, "items-changed", G_CALLBACK (selection_changed_cb), self);
      g_signal_connect_swapped (self->images, "changed", G_CALLBACK (on_images_changed), self);
      g_signal_connect_swapped (self->history, "notify", G_CALLBACK (update_actions), self);
      gtk_grid_view_set_model (self->grid, GTK_SELECTION_MODEL (self->selection));
      kiln_curate_page_reload (self);
    }
  update_title (self);
  update_sidebar (self);
  update_actions (self);
  update_preview (self);
}

KilnProject *
kiln_curate_page_get_project (KilnCuratePage *self)
{
  g_return_val_if_fail (KILN_IS_CURATE_PAGE (self), NULL);
  return self->project;
}

KilnImageList *
kiln_curate_page_get_images (KilnCuratePage *self)
{
  g_return_val_if_fail (KILN_IS_CURATE_PAGE (self), NULL);
  return self->images;
}

GtkSelectionModel *
kiln_curate_page_get_selection (KilnCuratePage *self)
{
  g_return_val_if_fail (KILN_IS_CURATE_PAGE (self), NULL);
  return self->selection ? GTK_SELECTION_MODEL (self->selection) : NULL;
}

gboolean
kiln_curate_page_is_busy (KilnCuratePage *self)
{
  g_return_val_if_fail (KILN_IS_CURATE_PAGE (self), FALSE);
  return is_inspecting (self) || self->reloads > 0 || self->marking > 0 || self->sidebar_idle != 0 ||
         self->visible_idle != 0;
}

GtkWidget *
kiln_curate_page_new (void)
{
  return g_object_new (KILN_TYPE_CURATE_PAGE, NULL);
}

/* ---- Object ---------------------------------------------------------------------- */

static void
kiln_curate_page_dispose (GObject *object)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (object);

  drop_project (self);
  g_clear_handle_id (&self->sidebar_idle, g_source_remove);
  g_clear_handle_id (&self->visible_idle, g_source_remove);
  self->toast_overlay = NULL;
  gtk_widget_dispose_template (GTK_WIDGET (self), KILN_TYPE_CURATE_PAGE);
  G_OBJECT_CLASS (kiln_curate_page_parent_class)->dispose (object);
}

static void
kiln_curate_page_finalize (GObject *object)
{
  KilnCuratePage *self = KILN_CURATE_PAGE (object);

  g_clear_pointer (&self->textures, g_hash_table_unref);
  g_clear_pointer (&self->texture_order, g_queue_free);
  g_clear_pointer (&self->facts, g_ptr_array_unref);
  g_clear_pointer (&self->mapped_cells, g_hash_table_unref);
  g_clear_object (&self->move_menu);
  g_free (self->filter);
  g_free (self->ids_title);
  G_OBJECT_CLASS (kiln_curate_page_parent_class)->finalize (object);
}

static void
kiln_curate_page_class_init (KilnCuratePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kiln_curate_page_dispose;
  object_class->finalize = kiln_curate_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/kiln/Kiln/ui/kiln-curate-page.ui");
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, flap);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, sidebar);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, title_label);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, count_label);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, preview_flap);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, grid);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, empty_status);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, preview_picture);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, twin_box);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, twin_label);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, twin_picture);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, preview_title);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, facts_list);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, move_button);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, inspect_revealer);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, inspect_progress);
  gtk_widget_class_bind_template_child (widget_class, KilnCuratePage, all_button);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_selected_cb);

  gtk_widget_class_install_action (widget_class, "curate.discard", NULL, discard_activated);
  gtk_widget_class_install_action (widget_class, "curate.mark-placeholder", NULL, mark_placeholder_activated);
  gtk_widget_class_install_action (widget_class, "curate.restore", NULL, restore_activated);
  gtk_widget_class_install_action (widget_class, "curate.undo", NULL, undo_activated);
  gtk_widget_class_install_action (widget_class, "curate.redo", NULL, redo_activated);
  gtk_widget_class_install_action (widget_class, "curate.relabel", "s", relabel_activated);
  gtk_widget_class_install_action (widget_class, "curate.relabel-nth", "u", relabel_nth_activated);
  gtk_widget_class_install_action (widget_class, "curate.new-class", NULL, new_class_activated);
  gtk_widget_class_install_action (widget_class, "curate.filter", "s", filter_activated);
  gtk_widget_class_install_action (widget_class, "curate.inspect", NULL, inspect_activated);
  gtk_widget_class_install_action (widget_class, "curate.cancel-inspect", NULL, cancel_inspect_activated);

  /* Keys while the focus is in the page (the grid, mostly). */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "curate.discard", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "curate.discard", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK, "curate.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "curate.redo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Z, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "curate.redo", NULL);
  for (guint n = 1; n <= 9; n++)
    {
      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0 + n, 0, "curate.relabel-nth", "u", n);
      gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0 + n, 0, "curate.relabel-nth", "u", n);
    }
}

static void
kiln_curate_page_init (KilnCuratePage *self)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  /* The bin's own child: not a bound template child, which the template's
   * disposal would unparent behind AdwBin's back. */
  self->toast_overlay = ADW_TOAST_OVERLAY (adw_bin_get_child (ADW_BIN (self)));
  self->filter = g_strdup ("all");
  self->textures = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->texture_order = g_queue_new ();
  self->facts = g_ptr_array_new ();
  self->mapped_cells = g_hash_table_new (NULL, NULL);
  self->move_menu = g_menu_new ();
  gtk_menu_button_set_menu_model (self->move_button, G_MENU_MODEL (self->move_menu));

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cell_cb), self);
  gtk_grid_view_set_factory (self->grid, factory);
  g_object_unref (factory);

  update_title (self);
  update_actions (self);
  update_preview (self);
}
