/* kiln-image-item.h: one image of a project as a GObject, the item of
 * KilnImageList: its store row and its flags.
 *
 * An item follows its image: when the store changes (a discard, a
 * relabel, an inspection) the list updates the item in place and its
 * properties notify, so a widget bound to it redraws without being
 * rebound.
 *
 * Threads: made on any thread; once in a list, read and updated on the
 * list's thread only. */
#pragma once

#include "kiln-project.h"

G_BEGIN_DECLS

#define KILN_TYPE_IMAGE_ITEM (kiln_image_item_get_type ())
G_DECLARE_FINAL_TYPE (KilnImageItem, kiln_image_item, KILN, IMAGE_ITEM, GObject)

/* Copies @record; takes @flags (KilnFlag of this image; NULL for none). */
KilnImageItem         *kiln_image_item_new                (const KilnImageRecord *record,
                                                           GPtrArray             *flags);
gint64                 kiln_image_item_get_id             (KilnImageItem         *self);
const KilnImageRecord *kiln_image_item_get_record         (KilnImageItem         *self);
/* Relative to the project folder, as in the store. */
const char            *kiln_image_item_get_path           (KilnImageItem         *self);
const char            *kiln_image_item_get_class_name     (KilnImageItem         *self);
KilnImageStatus        kiln_image_item_get_status         (KilnImageItem         *self);
const char            *kiln_image_item_get_discard_reason (KilnImageItem         *self);
/* KilnFlag, ordered by reason; never NULL. */
GPtrArray             *kiln_image_item_get_flags          (KilnImageItem         *self);
/* Whether the image has the flag @reason; any flag when @reason is NULL. */
gboolean               kiln_image_item_has_flag           (KilnImageItem         *self,
                                                           const char            *reason);

/* Shows @flags (KilnFlag, copied) before the store has them — an
 * inspection's verdicts as they arrive: a flag of the same reason is
 * replaced, the others stay; notifies n-flags. The next update from the
 * store has the last word. */
void                   kiln_image_item_add_flags          (KilnImageItem         *self,
                                                           GPtrArray             *flags);

/* Makes @self say what @other says (same image, newer store row) and
 * notifies the properties that changed; for the list. */
void                   kiln_image_item_update             (KilnImageItem         *self,
                                                           KilnImageItem         *other);

G_END_DECLS
