#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "kiln-core.h"
#include "test-util.h"

void
kiln_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          kiln_test_remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

void
kiln_test_isolate_home (void)
{
  static const char *const variables[] = { "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME" };
  g_autofree char *home = g_dir_make_tmp ("kiln-test-home-XXXXXX", NULL);

  g_assert_nonnull (home);
  for (guint i = 0; i < G_N_ELEMENTS (variables); i++)
    {
      g_autofree char *dir = g_build_filename (home, variables[i], NULL);
      g_setenv (variables[i], dir, TRUE);
    }
  g_setenv ("HOME", home, TRUE);
}

static guint8 *
gunzip_all (const char *path,
            gsize       size)
{
  gzFile gz = gzopen (path, "rb");
  guint8 *data = g_malloc (size);

  g_assert_nonnull (gz);
  g_assert_cmpint (gzread (gz, data, size), ==, (int) size);
  gzclose (gz);
  return data;
}

static guint
count_files (const char *dir,
             const char *prefix)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    n += g_str_has_prefix (name, prefix);
  return n;
}

void
kiln_test_check_fashion_import (const char *dir,
                                const char *prefix,
                                const char *images_file,
                                const char *labels_file,
                                guint       n)
{
  g_autofree guint8 *labels = gunzip_all (labels_file, 8 + (gsize) n);
  g_autofree guint8 *images = gunzip_all (images_file, 16 + (gsize) n * 784);
  guint per_class[10] = { 0 };

  g_assert_cmpmem (images, 4, "\0\0\x08\x03", 4);
  g_assert_cmpmem (labels, 4, "\0\0\x08\x01", 4);
  for (guint i = 0; i < n; i++)
    {
      guint label = labels[8 + i];
      g_autofree char *name = g_strdup_printf ("%s%05u.png", prefix, i);
      g_autofree char *path = g_build_filename (dir, kiln_labels_fashion_mnist_classes[label],
                                                name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkPixbuf) pixbuf = NULL;
      guint8 gray[784];

      g_assert_cmpuint (label, <, 10);
      per_class[label]++;
      pixbuf = kiln_image_load (path, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 28);
      kiln_image_to_u8 (pixbuf, KILN_CHANNELS_GRAY, gray);
      g_assert_cmpmem (gray, 784, images + 16 + (gsize) i * 784, 784);
    }
  for (guint c = 0; c < 10; c++)
    {
      g_autofree char *folder = g_build_filename (dir, kiln_labels_fashion_mnist_classes[c], NULL);
      g_assert_cmpuint (count_files (folder, prefix), ==, per_class[c]);
    }
}

int
kiln_test_run_cli (const char *const *args,
                   char              **out,
                   char              **err)
{
  const char *cli = g_getenv ("KILN_CLI");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (char *) cli);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  /* No DISPLAY: the CLI must never need one. */
  g_auto(GStrv) envp = g_environ_unsetenv (g_get_environ (), "DISPLAY");
  envp = g_environ_unsetenv (envp, "WAYLAND_DISPLAY");
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error);
  g_assert_no_error (error);
  return status;
}

void
kiln_test_put_be32 (GByteArray *array,
                    guint32     v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (array, b, 4);
}

void
kiln_test_write_gz (const char   *path,
                    const guint8 *data,
                    gsize         length)
{
  gzFile gz = gzopen (path, "wb");

  g_assert_nonnull (gz);
  g_assert_cmpint (gzwrite (gz, data, length), ==, (int) length);
  g_assert_cmpint (gzclose (gz), ==, Z_OK);
}

double
kiln_test_normalized_error (const float *y,
                            const float *ref,
                            gsize        n,
                            double      *max_abs)
{
  double diff = 0, norm = 0, worst = 0;

  for (gsize i = 0; i < n; i++)
    {
      double d = (double) y[i] - ref[i];
      diff += d * d;
      norm += (double) ref[i] * ref[i];
      worst = MAX (worst, fabs (d));
    }
  if (max_abs)
    *max_abs = worst;
  return norm > 0 ? sqrt (diff) / sqrt (norm) : sqrt (diff);
}

char *
kiln_test_make_bars_project (void)
{
  char *project = g_dir_make_tmp ("kiln-bars-XXXXXX", NULL);

  g_assert_nonnull (project);
  for (guint i = 0; i < 24; i++)
    {
      const char *cls = i % 2 ? "vertical" : "horizontal";
      g_autofree char *dir = g_build_filename (project, "images", cls, NULL);
      g_autofree char *name = g_strdup_printf ("%u.png", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 12, 12);
      guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
      int stride = gdk_pixbuf_get_rowstride (pixbuf);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      gdk_pixbuf_fill (pixbuf, 0x000000ff);
      for (int k = 1; k < 11; k++)
        {
          int at = 2 + (int) (i % 8);
          int x = i % 2 ? at : k, y = i % 2 ? k : at;
          memset (pixels + y * stride + x * 3, 255, 3);
        }
      g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
    }
  return project;
}

KilnNetSpec *
kiln_test_bars_net (void)
{
  static const struct { KilnLayerType type; const char *name; int outputs, kernel, stride; } layers[] = {
    { KILN_LAYER_CONVOLUTION, "conv", 4, 3, 1 },
    { KILN_LAYER_RELU, "relu", 0, 0, 0 },
    { KILN_LAYER_MAX_POOL, "pool", 0, 2, 2 },
    { KILN_LAYER_INNER_PRODUCT, "fc", 2, 0, 0 },
  };
  KilnNetSpec *spec = kiln_net_spec_new ("bars", 1, 12, 12);

  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    {
      g_auto(KilnLayerSpec) layer;
      kiln_layer_spec_init (&layer, layers[i].type, layers[i].name);
      layer.num_output = layers[i].outputs;
      if (layers[i].kernel > 0)
        {
          layer.kernel_h = layer.kernel_w = layers[i].kernel;
          layer.stride_h = layer.stride_w = layers[i].stride;
        }
      g_assert_true (kiln_net_spec_add_layer (spec, &layer, NULL));
    }
  return spec;
}

void
kiln_test_train_bars (const char *project, const char *run_id, int epochs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnNetSpec) spec = kiln_test_bars_net ();
  KilnTrainerOptions options;
  KilnTrainingSetup setup;

  kiln_trainer_options_init (&options);
  options.epochs = epochs;
  options.batch_size = 4;
  kiln_training_setup_init (&setup);
  setup.val_fraction = 0.25;
  setup.run_id = run_id;
  g_autoptr(KilnTrainer) trainer = kiln_training_prepare (project, spec, &options, &setup, NULL, &error);
  kiln_trainer_options_clear (&options);
  g_assert_no_error (error);
  g_assert_true (kiln_trainer_start (trainer, &error));
  kiln_trainer_join (trainer);
  g_assert_cmpint (kiln_trainer_get_state (trainer), ==, KILN_TRAINER_FINISHED);
}

void
kiln_test_write_project_file (KilnProject *project, const char *relative, const char *contents)
{
  g_autofree char *path = kiln_project_build_path (project, relative);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

gint64
kiln_test_add_image (KilnProject *project, const char *path, const char *class_name)
{
  g_autoptr(KilnImageRecord) record = kiln_image_record_new (path, class_name);
  g_autoptr(GError) error = NULL;

  kiln_test_write_project_file (project, path, path);
  kiln_project_add_image (project, record, &error);
  g_assert_no_error (error);
  g_assert_cmpint (record->id, >, 0);
  return record->id;
}

void
kiln_test_copy_image_fixture (const char *name, const char *dst)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *src = g_test_build_filename (G_TEST_DIST, "images", name, NULL);
  g_autofree char *parent = g_path_get_dirname (dst);
  g_autofree char *bytes = NULL;
  gsize length = 0;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_get_contents (src, &bytes, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (dst, bytes, length, &error);
  g_assert_no_error (error);
}

void
kiln_test_assert_not_world_writable (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  if (S_ISLNK (st.st_mode))
    return;
  if (st.st_mode & S_IWOTH)
    g_error ("%s is world-writable (mode %o)", path, (unsigned) (st.st_mode & 07777));
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          kiln_test_assert_not_world_writable (child);
        }
    }
}

JsonNode *
kiln_test_read_json (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

SoupServer *
kiln_test_http_server_new (SoupServerCallback   handler,
                           gpointer             data,
                           char               **base)
{
  g_autoptr(GError) error = NULL;
  SoupServer *server = soup_server_new (NULL, NULL);
  GSList *uris;

  soup_server_add_handler (server, NULL, handler, data, NULL);
  soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server);
  *base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return server;
}

void
kiln_test_http_server_free (SoupServer *server)
{
  soup_server_disconnect (server);
  g_object_unref (server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

KilnProject *
kiln_test_new_project (const char *prefix, char **dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("%s-XXXXXX", prefix);

  *dir = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
  KilnProject *project = kiln_project_open (*dir, &error);
  g_assert_no_error (error);
  return project;
}
