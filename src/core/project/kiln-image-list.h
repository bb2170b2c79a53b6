/* kiln-image-list.h: a project's images as a GListModel of KilnImageItem,
 * what the window's Curate page shows in its grid.
 *
 * The list reads every image of the store with its flags, ordered by id,
 * and shows those that pass its filter (a class, a status, a flag). A
 * change the list is told about (kiln_image_list_refresh(), after a
 * discard or relabel) updates the items in place and leaves them where
 * they are even when they no longer pass the filter, so the grid under a
 * reviewer's keyboard does not jump; the next filter change or reload
 * applies the filter again. Counts are over every image, whatever the
 * filter.
 *
 * Signals: "changed" (no arguments) after a reload or refresh changed what
 * the store says, so counts may differ.
 * Threads: the list lives on one thread (the GTK main thread in the
 * window); kiln_image_list_reload_async() reads the store on a worker. */
#pragma once

#include <gio/gio.h>

#include "kiln-image-item.h"
#include "kiln-project.h"

G_BEGIN_DECLS

/* A flag filter matching images with any flag. */
#define KILN_IMAGE_LIST_ANY_FLAG "*"

#define KILN_TYPE_IMAGE_LIST (kiln_image_list_get_type ())
G_DECLARE_FINAL_TYPE (KilnImageList, kiln_image_list, KILN, IMAGE_LIST, GObject)

/* An empty list of @project's images: reload it to fill it. */
KilnImageList *kiln_image_list_new            (KilnProject          *project);
KilnProject   *kiln_image_list_get_project    (KilnImageList        *self);

/* Shows the images of class @class_name (NULL: every class) with @status
 * (KilnImageStatus, or -1 for both) and the flag @flag (NULL: flagged or
 * not; KILN_IMAGE_LIST_ANY_FLAG: any flag). */
void           kiln_image_list_set_filter     (KilnImageList        *self,
                                               const char           *class_name,
                                               int                   status,
                                               const char           *flag);
/* Shows only the images @ids (@n of them; NULL: any image), besides the
 * filter above: a list made elsewhere (a confusion-matrix cell, suspects).
 * Ids the store lacks are left out. */
void           kiln_image_list_set_id_filter  (KilnImageList        *self,
                                               const gint64         *ids,
                                               guint                 n);
gboolean       kiln_image_list_has_id_filter  (KilnImageList        *self);
const char    *kiln_image_list_get_class_filter  (KilnImageList     *self);
int            kiln_image_list_get_status_filter (KilnImageList     *self);
const char    *kiln_image_list_get_flag_filter   (KilnImageList     *self);

/* Reads the whole store again: new images appear, gone ones go, the others
 * are updated in place. The async pair reads on a worker thread. */
gboolean       kiln_image_list_reload         (KilnImageList        *self,
                                               GError              **error);
void           kiln_image_list_reload_async   (KilnImageList        *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean       kiln_image_list_reload_finish  (KilnImageList        *self,
                                               GAsyncResult         *result,
                                               GError              **error);
/* Reads the images @ids (@n of them) again after they changed in the
 * store; an id the store no longer has leaves the list. */
gboolean       kiln_image_list_refresh        (KilnImageList        *self,
                                               const gint64         *ids,
                                               guint                 n,
                                               GError              **error);

/* The item of image @id, shown or not (NULL when the store has none). */
KilnImageItem *kiln_image_list_lookup         (KilnImageList        *self,
                                               gint64                id);
/* Where image @id is in the list, or G_MAXUINT when it is not shown. */
guint          kiln_image_list_find           (KilnImageList        *self,
                                               gint64                id);

/* The store's classes in label order, including classes without images. */
const char * const *kiln_image_list_get_classes (KilnImageList      *self);
/* How many images, shown or not, pass a filter given as for
 * kiln_image_list_set_filter(). */
guint          kiln_image_list_count          (KilnImageList        *self,
                                               const char           *class_name,
                                               int                   status,
                                               const char           *flag);
/* The flag reasons of the images with @status (-1: any), sorted. */
GStrv          kiln_image_list_list_flag_reasons (KilnImageList     *self,
                                                  int                status);

G_END_DECLS
