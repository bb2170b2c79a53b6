/* kiln-labels.h: class labels from folders and the mlimages/Caffe label
 * files; IDX (MNIST, Fashion-MNIST) import.
 *
 * Label file: one image per line, "relative/path label". The label is the
 * decimal number after the LAST space, so paths may contain spaces (Caffe's
 * ImageData layer splits the same way). Class file: "index name" per line,
 * the name being everything after the first space. Both are UTF-8 text
 * with '\n' line ends. A path or name containing a backslash, newline or
 * carriage return is written with the escapes "\\", "\n" and "\r"; nothing
 * else is escaped, so ordinary paths stay readable by Caffe and mlimages.
 *
 * Threads: plain functions over their arguments; safe from any thread. */
#pragma once

#include <gio/gio.h>

#include "kiln-progress.h"

G_BEGIN_DECLS

/* Label numbers and class indices in files run from 0 to this, less one:
 * a class table is made as large as the largest, so it is checked first. */
#define KILN_LABELS_MAX_CLASSES 1000000

/* Images with labels, and the class names the labels index. */
typedef struct {
  GPtrArray *classes;  /* char *: classes->pdata[label] is its name */
  GPtrArray *paths;    /* char *: relative, '/'-separated */
  GArray    *labels;   /* int, parallel to paths */
} KilnLabelSet;

KilnLabelSet *kiln_label_set_new       (void);
void          kiln_label_set_free      (KilnLabelSet *set);
void          kiln_label_set_add       (KilnLabelSet *set,
                                        const char   *path,
                                        int           label);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnLabelSet, kiln_label_set_free)

/* The class order: case-insensitive (Unicode case folding), ties broken
 * by the exact bytes, so the order never depends on the locale. */
int           kiln_labels_compare_names (const char *a,
                                         const char *b);

/* The one order of class names everywhere (label files, the store,
 * splits, the mean): kiln_labels_compare_names(), with
 * KILN_LABELS_ROOT_CLASS last. */
int           kiln_labels_compare_classes (const char *a,
                                           const char *b);

/* Whether @name has an image extension (jpg, jpeg, png, gif, bmp, webp,
 * tif, tiff, ppm, pgm; any case). */
gboolean      kiln_labels_is_image_name (const char *name);

/* The name of the class formed by images directly in the labeled root,
 * as mlimages called it. */
#define KILN_LABELS_ROOT_CLASS "ROOT"

/* Labels a tree as mlimages did: each sub-folder of @root (hidden ones
 * skipped) is a class, ordered by kiln_labels_compare_names(), holding the
 * images anywhere below it; images directly in @root form one more class,
 * KILN_LABELS_ROOT_CLASS, last. Folders without images make no class. */
KilnLabelSet *kiln_labels_from_folder   (const char    *root,
                                         GCancellable  *cancellable,
                                         GError       **error);

/* Reads a torchvision ImageFolder tree: classes are the sub-folders in
 * code-point order (Python's sorted()), files directly in @root are
 * ignored; the label indices match torchvision's. */
KilnLabelSet *kiln_labels_read_image_folder (const char    *root,
                                             GCancellable  *cancellable,
                                             GError       **error);

/* Writes the label file and, when @class_file is not NULL, the class
 * file; each atomically (temporary file + rename). */
gboolean      kiln_labels_write         (const KilnLabelSet *set,
                                         const char         *label_file,
                                         const char         *class_file,
                                         GError            **error);

/* Reads them back. Without @class_file the classes are named by their
 * numbers ("0", "1", …) up to the largest label. */
KilnLabelSet *kiln_labels_read          (const char    *label_file,
                                         const char    *class_file,
                                         GError       **error);

/* @set relabelled to @classes (names, in the order a model numbers them)
 * by class name. Refused, naming every class of @set that @classes lacks,
 * when one is missing: numbers of two different class files never get
 * compared. */
KilnLabelSet *kiln_labels_map_to_classes (const KilnLabelSet *set,
                                          GPtrArray          *classes,
                                          GError            **error);

/* How many of @set's files are missing under @root; @first_missing (may
 * be NULL) gets the first one's full path. */
guint         kiln_labels_count_missing  (const KilnLabelSet *set,
                                          const char         *root,
                                          char              **first_missing);

/* Fashion-MNIST's ten class names in label order (T-shirt_top … Ankle_boot),
 * NULL-terminated. */
extern const char *const kiln_labels_fashion_mnist_classes[];

/* Imports an IDX image file and its label file (gzip-compressed or not)
 * into @out_root/<class>/<prefix><number>.png, 8-bit gray PNGs. @classes
 * names the labels (NULL: "0", "1", …). @limit > 0 imports only the
 * first @limit images. Returns the written images relative to @out_root,
 * labeled with the IDX label numbers and @classes as class names. */
KilnLabelSet *kiln_labels_import_idx    (const char         *images_file,
                                         const char         *labels_file,
                                         const char * const *classes,
                                         const char         *out_root,
                                         const char         *prefix,
                                         guint               limit,
                                         KilnProgressFunc    progress,
                                         gpointer            user_data,
                                         GCancellable       *cancellable,
                                         GError            **error);

G_END_DECLS
