/* kiln-project-dataset.h: the project's images as a dataset.
 *
 * The store (kiln.db) is the one truth about which images exist, which are
 * kept, their classes and their named splits. Training, caching, the mean
 * image, evaluation and every page read their images through these calls,
 * never by walking images/ themselves; the only walk of images/ is
 * kiln_project_sync_images(), which registers files a user copied into a
 * class folder by hand.
 *
 * Threads: as KilnProject (any thread; the calls block on disk). */
#pragma once

#include "kiln-labels.h"
#include "kiln-progress.h"
#include "kiln-project.h"

G_BEGIN_DECLS

/* The kept images of @self, or only those in @subset ("train", "val",
 * "test") of the split @split when @split is not NULL, as a label set whose
 * paths are relative to the project folder ("images/cat/1.jpg"). Classes
 * are the store's classes that have at least one kept image, in the
 * store's order, so every subset of one split shares one class list.
 * @ids, if not NULL (a GArray of gint64), receives each image's store id,
 * parallel to the paths. Fails, naming the project, when @split does not
 * exist. */
KilnLabelSet *kiln_project_get_label_set (KilnProject  *self,
                                          const char   *split,
                                          const char   *subset,
                                          GArray       *ids,
                                          GError      **error);

/* The split set last (what training uses unless told otherwise), or NULL
 * without an error when the project has none. */
char         *kiln_project_get_current_split (KilnProject  *self,
                                              GError      **error);

/* Registers, in one transaction, the images under images/<class>/ that the
 * store does not know yet (a file copied in by hand). Discarded images are
 * not under images/, so they stay discarded. @n_added may be NULL. */
gboolean      kiln_project_sync_images   (KilnProject   *self,
                                          guint         *n_added,
                                          GCancellable  *cancellable,
                                          GError       **error);

/* Opens the project in @project_dir to read its dataset, registering first
 * the images copied into images/<class>/ by hand. A folder of class folders
 * that is not a project is refused with the command that makes it one; a
 * folder with images/ but no store yet (an older Kiln's, or one laid out by
 * hand) becomes a project. */
KilnProject  *kiln_project_open_dataset  (const char    *project_dir,
                                          GCancellable  *cancellable,
                                          GError       **error);

/* kiln_project_open_dataset() on a worker thread: what a window opens. */
void          kiln_project_open_dataset_async  (const char          *project_dir,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
KilnProject  *kiln_project_open_dataset_finish (GAsyncResult        *result,
                                                GError             **error);

/* Whether @path looks like a folder of class folders (at least one
 * sub-folder holding an image) that is not a Kiln project: what a user
 * points at before making it one with kiln_project_new_from_folder(). */
gboolean      kiln_project_is_class_tree (const char    *path);

typedef enum {
  KILN_IMPORT_COPY,       /* the project owns copies; the folder may change or go */
  KILN_IMPORT_REFERENCE,  /* images/<class>/<name> are symbolic links to the folder's files */
} KilnImportMode;

/* Makes @project_dir (new, or an empty folder) a project holding the
 * class-folder tree @folder: one class per sub-folder, as
 * kiln_labels_from_folder() labels it. Copies are written under a
 * temporary name and renamed, so an interrupted import leaves no partial
 * image behind; discarding a referenced image moves the link, never the
 * user's file. @progress (optional) counts files and can cancel. */
KilnProject  *kiln_project_new_from_folder (const char     *project_dir,
                                            const char     *folder,
                                            KilnImportMode  mode,
                                            KilnProgress   *progress,
                                            GError        **error);

/* A new project in @project_dir (new, or an empty folder) on a worker
 * thread: empty when @folder is NULL, else kiln_project_new_from_folder()
 * of @folder in @mode. @progress (optional) counts the files, can cancel,
 * and is finished when the job ends. */
void          kiln_project_new_async       (const char          *project_dir,
                                            const char          *folder,
                                            KilnImportMode       mode,
                                            KilnProgress        *progress,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
KilnProject  *kiln_project_new_finish      (GAsyncResult        *result,
                                            GError             **error);

/* Writes the kept images as label files into @folder (created if
 * missing): labels.txt ("path label", paths relative to the project
 * folder) and classes.txt ("index name"), and with @split also
 * train.txt, val.txt and test.txt of that split, all numbered by the same
 * class list. Each file is written atomically. */
gboolean     kiln_project_export_labels      (KilnProject  *self,
                                              const char   *split,
                                              const char   *folder,
                                              GError      **error);

G_END_DECLS
