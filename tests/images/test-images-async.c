/* The images part off the caller's thread, on real files: thumbnails
 * (fitted, cached on disk under the file's identity so a relabel's move
 * keeps them, small images not cached, cancellation, dropping the
 * thumbnailer with work queued) and the inspector's _async run (flags in
 * the store, progress, Cancel). */
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

typedef struct {
  char        *dir;
  KilnProject *project;
} Fixture;

/* Copies tests/images/@name into the project's images/@class/. */
static gint64
add_fixture (KilnProject *project, const char *name, const char *class_name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *relative = g_strdup_printf ("images/%s/%s", class_name, name);
  g_autofree char *dst = kiln_project_build_path (project, relative);

  kiln_test_copy_image_fixture (name, dst);
  g_autoptr(KilnImageRecord) record = kiln_image_record_new (relative, class_name);
  g_assert_true (kiln_project_add_image (project, record, &error));
  return record->id;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->project = kiln_test_new_project ("kiln-images-async", &f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->project);
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
}

typedef struct {
  GdkPixbuf *pixbuf;
  GError    *error;
  int        width, height;
  gboolean   done;
} Loaded;

static void
loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  Loaded *l = data;
  l->pixbuf = kiln_thumbnailer_load_finish (result, &l->width, &l->height, &l->error);
  l->done = TRUE;
}

static void
load (KilnThumbnailer *thumbnailer, const char *path, GCancellable *cancellable, Loaded *l)
{
  memset (l, 0, sizeof *l);
  kiln_thumbnailer_load_async (thumbnailer, path, cancellable, loaded, l);
  while (!l->done)
    g_main_context_iteration (NULL, TRUE);
}

static void
loaded_clear (Loaded *l)
{
  g_clear_object (&l->pixbuf);
  g_clear_error (&l->error);
}

static void
test_thumbnails (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnThumbnailer) thumbnailer = kiln_thumbnailer_new (f->dir, 32, TRUE);
  gint64 jpeg = add_fixture (f->project, "good.jpg", "cat");   /* 96 × 64 */
  add_fixture (f->project, "tiny.png", "cat");                 /* 1 × 1 */
  add_fixture (f->project, "zero.jpg", "cat");
  Loaded l;

  /* Fitted in 32 × 32, aspect kept; the size given is the image's own. */
  load (thumbnailer, "images/cat/good.jpg", NULL, &l);
  g_assert_no_error (l.error);
  g_assert_cmpint (gdk_pixbuf_get_width (l.pixbuf), ==, 32);
  g_assert_cmpint (gdk_pixbuf_get_height (l.pixbuf), ==, 21);
  g_assert_cmpint (l.width, ==, 96);
  g_assert_cmpint (l.height, ==, 64);
  loaded_clear (&l);
  g_autofree char *cached = kiln_thumbnailer_get_cache_file (thumbnailer, "images/cat/good.jpg");
  g_assert_true (g_str_has_prefix (cached, f->dir));
  g_assert_nonnull (strstr (cached, "/cache/thumbnails/32/"));
  g_assert_true (g_file_test (cached, G_FILE_TEST_IS_REGULAR));

  /* A relabel moves the file, not its identity: the same cache file
   * serves it. Marked, to see that it is read rather than made again. */
  g_assert_true (kiln_project_relabel_image (f->project, jpeg, "dog", NULL, &error));
  g_autofree char *after_move = kiln_thumbnailer_get_cache_file (thumbnailer, "images/dog/good.jpg");
  g_assert_cmpstr (after_move, ==, cached);
  g_autoptr(GdkPixbuf) mark = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 5, 3);
  gdk_pixbuf_fill (mark, 0xff0000ff);
  g_assert_true (gdk_pixbuf_save (mark, cached, "png", &error, "tEXt::Thumb::Image::Width", "96",
                                  "tEXt::Thumb::Image::Height", "64", NULL));
  load (thumbnailer, "images/dog/good.jpg", NULL, &l);
  g_assert_no_error (l.error);
  g_assert_cmpint (gdk_pixbuf_get_width (l.pixbuf), ==, 5);
  g_assert_cmpint (l.width, ==, 96);
  loaded_clear (&l);

  /* An image smaller than the size comes as it is, and is not cached. */
  load (thumbnailer, "images/cat/tiny.png", NULL, &l);
  g_assert_no_error (l.error);
  g_assert_cmpint (gdk_pixbuf_get_width (l.pixbuf), ==, 1);
  loaded_clear (&l);
  g_autofree char *tiny_cache = kiln_thumbnailer_get_cache_file (thumbnailer, "images/cat/tiny.png");
  g_assert_false (g_file_test (tiny_cache, G_FILE_TEST_EXISTS));

  /* A broken file is an error naming it; cancelled requests are dropped. */
  load (thumbnailer, "images/cat/zero.jpg", NULL, &l);
  g_assert_error (l.error, KILN_ERROR, KILN_ERROR_CORRUPT);
  loaded_clear (&l);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  load (thumbnailer, "images/dog/good.jpg", cancellable, &l);
  g_assert_error (l.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (l.pixbuf);
  loaded_clear (&l);

  /* Without a cache nothing is written. */
  g_autoptr(KilnThumbnailer) uncached = kiln_thumbnailer_new (f->dir, 16, FALSE);
  load (uncached, "images/dog/good.jpg", NULL, &l);
  g_assert_cmpint (gdk_pixbuf_get_width (l.pixbuf), ==, 16);
  loaded_clear (&l);
  g_autofree char *sixteen = g_build_filename (f->dir, "cache", "thumbnails", "16", NULL);
  g_assert_false (g_file_test (sixteen, G_FILE_TEST_EXISTS));
}

static void
count_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = kiln_thumbnailer_load_finish (result, NULL, NULL, &error);
  g_assert_true (pixbuf != NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  (*(guint *) data)++;
}

/* Dropping the thumbnailer with requests queued: every callback still
 * comes, later, on the caller's context. */
static void
test_drop_with_work_queued (Fixture *f, gconstpointer data)
{
  KilnThumbnailer *thumbnailer = kiln_thumbnailer_new (f->dir, 24, TRUE);
  guint done = 0;

  add_fixture (f->project, "good.png", "cat");
  for (guint i = 0; i < 40; i++)
    kiln_thumbnailer_load_async (thumbnailer, "images/cat/good.png", NULL, count_done, &done);
  g_object_unref (thumbnailer);
  while (done < 40)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (done, ==, 40);
}

typedef struct {
  gboolean             ok;
  GError              *error;
  KilnInspectorSummary summary;
  gboolean             done;
} Inspected;

static void
inspected (GObject *source, GAsyncResult *result, gpointer data)
{
  Inspected *i = data;
  i->ok = kiln_inspector_run_finish (result, &i->summary, &i->error);
  i->done = TRUE;
}

static void
on_progress (KilnProgress *progress, gpointer data)
{
  KilnProgressSnapshot s;
  kiln_progress_snapshot (progress, &s, NULL);
  *(gint64 *) data = s.total;
}

static void
test_inspector_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 good = add_fixture (f->project, "good.jpg", "cat");
  gint64 truncated = add_fixture (f->project, "truncated.jpg", "cat");
  gint64 zero = add_fixture (f->project, "zero.jpg", "dog");
  g_autoptr(KilnProgress) progress = kiln_progress_new ("inspect");
  gint64 total = 0;
  Inspected i = { 0 };

  g_signal_connect (progress, "changed", G_CALLBACK (on_progress), &total);
  kiln_inspector_run_async (f->project, NULL, 2, progress, inspected, &i);
  while (!i.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (i.error);
  g_assert_true (i.ok);
  g_assert_cmpuint (i.summary.n_images, ==, 3);
  g_assert_cmpuint (i.summary.n_flagged, ==, 2);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (total, ==, 3);

  g_autoptr(GPtrArray) flags = kiln_project_list_flags (f->project, 0, &error);
  g_assert_cmpuint (flags->len, ==, 2);
  g_assert_cmpint (((KilnFlag *) flags->pdata[0])->image_id, ==, truncated);
  g_assert_cmpstr (((KilnFlag *) flags->pdata[0])->reason, ==, "truncated");
  g_assert_cmpint (((KilnFlag *) flags->pdata[1])->image_id, ==, zero);
  g_assert_cmpstr (((KilnFlag *) flags->pdata[1])->reason, ==, "zero-byte");
  g_autoptr(KilnImageRecord) record = kiln_project_get_image (f->project, good, &error);
  g_assert_cmpint (record->width, ==, 96);

  /* Cancelled: an error, and nothing new recorded. */
  g_assert_true (kiln_project_clear_flags (f->project, zero, NULL, &error));
  g_autoptr(KilnProgress) cancelled = kiln_progress_new ("inspect");
  g_cancellable_cancel (kiln_progress_get_cancellable (cancelled));
  Inspected c = { 0 };
  kiln_inspector_run_async (f->project, kiln_inspector_settings_new (), 0, cancelled, inspected, &c);
  while (!c.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (c.ok);
  g_assert_nonnull (c.error);
  g_clear_error (&c.error);
  g_autoptr(GPtrArray) after = kiln_project_list_flags (f->project, zero, &error);
  g_assert_cmpuint (after->len, ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/images-async/thumbnails", test_thumbnails);
  ADD ("/images-async/drop-with-work-queued", test_drop_with_work_queued);
  ADD ("/images-async/inspector", test_inspector_async);
#undef ADD
  return g_test_run ();
}
