/* kiln-thumbnailer.c: small copies of a project's images on a thread pool,
 * cached on disk. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "kiln-cache-policy.h"
#include "kiln-error.h"
#include "kiln-image.h"
#include "kiln-parallel.h"
#include "kiln-thumbnailer.h"

/* Enough to keep a grid fed without taking every core from training. */
#define MAX_THREADS 3
/* The freedesktop thumbnail keys, kept in the PNG's text chunks. */
#define WIDTH_KEY "tEXt::Thumb::Image::Width"
#define HEIGHT_KEY "tEXt::Thumb::Image::Height"

struct _KilnThumbnailer
{
  GObject       parent_instance;

  char         *project_dir;
  char         *cache_dir;     /* NULL: no disk cache */
  int           size;
  GThreadPool  *pool;
  GCancellable *closing;       /* cancelled when the object goes */
  guint64       sequence;      /* of requests, for newest-first order */
};

G_DEFINE_FINAL_TYPE (KilnThumbnailer, kiln_thumbnailer, G_TYPE_OBJECT)

typedef struct {
  GTask        *task;
  GCancellable *closing;
  guint64       sequence;
  char    *file;        /* absolute */
  char    *cache_file;  /* NULL: not cached */
  int      size;
} Job;

typedef struct {
  GdkPixbuf *pixbuf;
  int        width;
  int        height;
} Thumbnail;

static void
thumbnail_free (Thumbnail *thumbnail)
{
  g_clear_object (&thumbnail->pixbuf);
  g_free (thumbnail);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  g_clear_object (&job->closing);
  g_free (job->file);
  g_free (job->cache_file);
  g_free (job);
}

/* The newest request first. */
static int
newest_first (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Job *x = a, *y = b;
  return x->sequence < y->sequence ? 1 : x->sequence > y->sequence ? -1 : 0;
}

static char *
cache_name (const char *file)
{
  GStatBuf st;

  if (g_stat (file, &st) != 0)
    return NULL;
  g_autofree char *identity = g_strdup_printf ("%llu:%llu:%lld:%lld", (unsigned long long) st.st_dev,
                                               (unsigned long long) st.st_ino, (long long) st.st_size,
                                               (long long) st.st_mtime);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA1, identity, -1);
  return g_strconcat (digest, ".png", NULL);
}

static Thumbnail *
read_cached (const char *cache_file)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (cache_file, NULL);
  const char *width = pixbuf ? gdk_pixbuf_get_option (pixbuf, WIDTH_KEY) : NULL;
  const char *height = pixbuf ? gdk_pixbuf_get_option (pixbuf, HEIGHT_KEY) : NULL;
  Thumbnail *thumbnail;

  if (width == NULL || height == NULL)
    return NULL;   /* not ours, or half written by another program: make it again */
  thumbnail = g_new0 (Thumbnail, 1);
  thumbnail->pixbuf = g_steal_pointer (&pixbuf);
  thumbnail->width = atoi (width);
  thumbnail->height = atoi (height);
  return thumbnail;
}

/* Written under a temporary name and renamed, so a reader never sees half
 * a thumbnail. A cache that cannot be written only costs decoding again. */
static void
write_cached (const char *cache_file, Thumbnail *thumbnail)
{
  g_autofree char *dir = g_path_get_dirname (cache_file);
  g_autofree char *partial = g_strconcat (cache_file, ".partial", NULL);
  g_autofree char *width = g_strdup_printf ("%d", thumbnail->width);
  g_autofree char *height = g_strdup_printf ("%d", thumbnail->height);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    return;
  /* zlib's fastest level: at the default, compressing the cache's files
   * took 40% of the CPU samples while scrolling 100,000 images
   * (bench/curate-scale.sh); the files are a little larger. */
  if (gdk_pixbuf_save (thumbnail->pixbuf, partial, "png", NULL, "compression", "1",
                       "tEXt::Thumb::Image::Width", width, "tEXt::Thumb::Image::Height", height, NULL))
    g_rename (partial, cache_file);
  else
    g_unlink (partial);
}

static Thumbnail *
make_thumbnail (Job *job, GError **error)
{
  KilnImageLoadOptions options = { 0, job->size };
  KilnImageInfo info;
  g_autoptr(GdkPixbuf) decoded = kiln_image_load (job->file, &options, &info, error);
  Thumbnail *thumbnail;
  int w, h;

  if (decoded == NULL)
    return NULL;
  thumbnail = g_new0 (Thumbnail, 1);
  /* The size as displayed: EXIF orientation swaps the sides. */
  gboolean turned = info.orientation >= 5 && info.orientation <= 8;
  thumbnail->width = turned ? info.height : info.width;
  thumbnail->height = turned ? info.width : info.height;
  w = gdk_pixbuf_get_width (decoded);
  h = gdk_pixbuf_get_height (decoded);
  if (w <= job->size && h <= job->size)
    {
      thumbnail->pixbuf = g_steal_pointer (&decoded);
      return thumbnail;
    }
  double scale = MIN ((double) job->size / w, (double) job->size / h);
  thumbnail->pixbuf = gdk_pixbuf_scale_simple (decoded, MAX (1, (int) (w * scale + 0.5)),
                                               MAX (1, (int) (h * scale + 0.5)), GDK_INTERP_BILINEAR);
  if (job->cache_file != NULL)
    write_cached (job->cache_file, thumbnail);
  return thumbnail;
}

static void
run_job (gpointer data, gpointer pool_data)
{
  Job *job = data;
  GError *error = NULL;
  Thumbnail *thumbnail = NULL;

  kiln_parallel_enter_worker ();
  if (g_cancellable_is_cancelled (job->closing))
    g_task_return_new_error (job->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The thumbnailer was closed");
  else if (!g_task_return_error_if_cancelled (job->task))
    {
      if (job->cache_file != NULL)
        thumbnail = read_cached (job->cache_file);
      if (thumbnail == NULL)
        thumbnail = make_thumbnail (job, &error);
      if (thumbnail != NULL)
        g_task_return_pointer (job->task, thumbnail, (GDestroyNotify) thumbnail_free);
      else
        g_task_return_error (job->task, error);
    }
  job_free (job);
}

char *
kiln_thumbnailer_get_cache_file (KilnThumbnailer *self,
                                 const char      *path)
{
  g_return_val_if_fail (KILN_IS_THUMBNAILER (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  g_autofree char *file = g_build_filename (self->project_dir, path, NULL);
  g_autofree char *name = self->cache_dir ? cache_name (file) : NULL;
  return name ? g_build_filename (self->cache_dir, name, NULL) : NULL;
}

void
kiln_thumbnailer_load_async (KilnThumbnailer     *self,
                             const char          *path,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Job *job;

  g_return_if_fail (KILN_IS_THUMBNAILER (self));
  g_return_if_fail (path != NULL);

  job = g_new0 (Job, 1);
  /* The job does not hold the thumbnailer: its last reference goes on the
   * owner's thread, never on a worker of its own pool. */
  job->task = g_task_new (NULL, cancellable, callback, user_data);
  job->closing = g_object_ref (self->closing);
  g_task_set_source_tag (job->task, kiln_thumbnailer_load_async);
  job->sequence = ++self->sequence;
  job->file = g_build_filename (self->project_dir, path, NULL);
  /* The stat is a syscall on the caller's thread; it names the cache file. */
  job->cache_file = kiln_thumbnailer_get_cache_file (self, path);
  job->size = self->size;
  g_thread_pool_push (self->pool, job, NULL);
}

GdkPixbuf *
kiln_thumbnailer_load_finish (GAsyncResult  *result,
                              int           *width,
                              int           *height,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, kiln_thumbnailer_load_async), NULL);

  Thumbnail *thumbnail = g_task_propagate_pointer (G_TASK (result), error);
  if (thumbnail == NULL)
    return NULL;
  if (width != NULL)
    *width = thumbnail->width;
  if (height != NULL)
    *height = thumbnail->height;
  GdkPixbuf *pixbuf = g_steal_pointer (&thumbnail->pixbuf);
  thumbnail_free (thumbnail);
  return pixbuf;
}

int
kiln_thumbnailer_get_size (KilnThumbnailer *self)
{
  g_return_val_if_fail (KILN_IS_THUMBNAILER (self), 0);
  return self->size;
}

static void
trim_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;

  /* Too full a cache costs disk, not correctness: say so and go on. */
  if (!kiln_cache_trim (data, NULL, &error))
    g_warning ("%s", error->message);
  g_task_return_boolean (task, TRUE);
}

KilnThumbnailer *
kiln_thumbnailer_new (const char *project_dir,
                      int         size,
                      gboolean    cache)
{
  KilnThumbnailer *self;
  g_autofree char *size_name = g_strdup_printf ("%d", size);

  g_return_val_if_fail (project_dir != NULL, NULL);
  g_return_val_if_fail (size > 0, NULL);

  self = g_object_new (KILN_TYPE_THUMBNAILER, NULL);
  self->project_dir = g_strdup (project_dir);
  self->size = size;
  if (cache)
    {
      g_autofree char *caches = kiln_cache_dir (project_dir);
      self->cache_dir = g_build_filename (caches, "thumbnails", size_name, NULL);
      /* A cache with a size limit is trimmed as a project's grid opens. */
      if (kiln_cache_policy_get_size_limit () > 0)
        {
          g_autoptr(GTask) trim = g_task_new (NULL, NULL, NULL, NULL);
          g_task_set_task_data (trim, g_strdup (project_dir), g_free);
          g_task_run_in_thread (trim, trim_thread);
        }
    }
  return self;
}

static void
kiln_thumbnailer_finalize (GObject *object)
{
  KilnThumbnailer *self = KILN_THUMBNAILER (object);

  /* Queued jobs end at once, cancelled; their callbacks still run. */
  g_cancellable_cancel (self->closing);
  g_thread_pool_free (self->pool, FALSE, TRUE);
  g_clear_object (&self->closing);
  g_free (self->project_dir);
  g_free (self->cache_dir);
  G_OBJECT_CLASS (kiln_thumbnailer_parent_class)->finalize (object);
}

static void
kiln_thumbnailer_class_init (KilnThumbnailerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_thumbnailer_finalize;
}

static void
kiln_thumbnailer_init (KilnThumbnailer *self)
{
  self->closing = g_cancellable_new ();
  self->pool = g_thread_pool_new (run_job, NULL, MAX_THREADS, FALSE, NULL);
  g_thread_pool_set_sort_function (self->pool, newest_first, NULL);
}
