/* test-util.h: helpers shared by Kiln's test programs. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "kiln-netspec.h"
#include "kiln-project.h"

G_BEGIN_DECLS

/* Deletes @path and everything below it (symbolic links are not followed). */
void kiln_test_remove_tree          (const char *path);
/* Fails naming the first file or folder under @path (itself included)
 * whose mode lets anyone write it; symbolic links are not followed. */
void kiln_test_assert_not_world_writable (const char *path);
/* Points HOME and the XDG_*_HOME folders at a fresh temporary folder, so a
 * test never touches the user's own. Not G_TEST_OPTION_ISOLATE_DIRS: that
 * also empties XDG_DATA_DIRS, hiding the MIME database GdkPixbuf needs to
 * load SVG icons. */
void kiln_test_isolate_home         (void);

/* A SoupServer on 127.0.0.1 (a free port) answering every path with
 * @handler; *@base gets "http://127.0.0.1:PORT". It runs in the thread-
 * default context: iterate it (a main loop) while clients wait. */
SoupServer *kiln_test_http_server_new  (SoupServerCallback  handler,
                                        gpointer            data,
                                        char              **base);
/* Disconnects, drops @server and lets its pending sources run out before
 * the next test. */
void        kiln_test_http_server_free (SoupServer         *server);

/* Checks an IDX import of the first @n images of @images_file into @dir
 * against the IDX files read independently (zlib's gzread): every image
 * is in the folder of its Fashion-MNIST class with identical pixels, and
 * each class folder holds exactly its count of @prefix files. */
void kiln_test_check_fashion_import (const char *dir,
                                     const char *prefix,
                                     const char *images_file,
                                     const char *labels_file,
                                     guint       n);

/* Appends @v big-endian (IDX headers). */
void kiln_test_put_be32             (GByteArray *array,
                                     guint32     v);

/* Writes @data gzip-compressed to @path (zlib's gzwrite). */
void kiln_test_write_gz             (const char   *path,
                                     const guint8 *data,
                                     gsize         length);

/* The JSON document in @path (asserting it parses), a copy the caller frees. */
JsonNode *kiln_test_read_json          (const char *path);

/* Runs $KILN_CLI with @args (NULL-terminated) and no display; returns the
 * wait status and the captured output. */
int  kiln_test_run_cli              (const char *const *args,
                                     char              **out,
                                     char              **err);

/* ‖y − ref‖ / ‖ref‖ in double (‖y − ref‖ when ref is all zeros); @max_abs
 * (optional) receives the largest |y − ref|. */
double kiln_test_normalized_error   (const float *y,
                                     const float *ref,
                                     gsize        n,
                                     double      *max_abs);

/* A new, empty project in a new temporary folder (its path in *@dir, for
 * kiln_test_remove_tree); asserts it opens. */
KilnProject *kiln_test_new_project       (const char *prefix,
                                          char      **dir);

/* A new temporary project folder whose images/ holds 24 12×12 PNGs of
 * horizontal and vertical bars (two classes), and a small net for them
 * (1×12×12 in, two outputs): a run on them takes a moment. */
char        *kiln_test_make_bars_project (void);
KilnNetSpec *kiln_test_bars_net          (void);

/* Trains kiln_test_bars_net() on @project (from kiln_test_make_bars_project)
 * as run @run_id to its end: @epochs, batches of 4, a new split with a
 * quarter of each class held out for validation when there is none. */
void         kiln_test_train_bars        (const char *project,
                                          const char *run_id,
                                          int         epochs);
/* Writes @contents to @relative inside @project, making its folders. */
void         kiln_test_write_project_file (KilnProject *project,
                                           const char  *relative,
                                           const char  *contents);
/* Writes a file at @path (its own path as its contents) and stores it as
 * an image of @class_name; returns its id. */
gint64       kiln_test_add_image          (KilnProject *project,
                                           const char  *path,
                                           const char  *class_name);

/* Copies tests/images/@name to @dst, making its folders. */
void         kiln_test_copy_image_fixture (const char  *name,
                                           const char  *dst);

G_END_DECLS
