/* test-util.h: helpers shared by Kiln's test programs. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Deletes @path and everything below it (symbolic links are not followed). */
void kiln_test_remove_tree          (const char *path);

/* Checks an IDX import of the first @n images of @images_file into @dir
 * against the IDX files read independently (zlib's gzread): every image
 * is in the folder of its Fashion-MNIST class with identical pixels, and
 * each class folder holds exactly its count of @prefix files. */
void kiln_test_check_fashion_import (const char *dir,
                                     const char *prefix,
                                     const char *images_file,
                                     const char *labels_file,
                                     guint       n);

G_END_DECLS
