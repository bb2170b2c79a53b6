/* Placeholders a project knows: `kiln-cli placeholder add|list|remove`,
 * the store's migration that added their table (a store of schema 1 still
 * opens), and their use by `gather --folder` and `inspect` without any
 * --placeholders file. */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-core.h"
#include "test-util.h"

/* A "photo unavailable" card, or a photo-like noise image for @seed > 0. */
static void
write_image (const char *path, guint seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 160, 120);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

  for (int y = 0; y < 120; y++)
    for (int x = 0; x < 160; x++)
      {
        guint8 *p = pixels + y * stride + x * 3;
        guint8 v = (y > 50 && y < 70 && x > 30 && x < 130) ? 40 : 180 - y / 2;

        for (int c = 0; c < 3; c++)
          p[c] = seed ? g_rand_int_range (rand, 0, 256) : v;
      }
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", &error, NULL));
  g_assert_no_error (error);
}

static int
cli (char **out, const char *first, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *err = NULL;
  va_list ap;
  int status;

  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  status = kiln_test_run_cli ((const char * const *) args->pdata, out, &err);
  g_test_message ("%s: %s", first, err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

typedef struct {
  char *dir;
  char *project;
  char *card;
  char *photos;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;

  f->dir = g_dir_make_tmp ("kiln-placeholders-XXXXXX", &error);
  g_assert_no_error (error);
  f->project = g_build_filename (f->dir, "project", NULL);
  f->card = g_build_filename (f->dir, "unavailable.png", NULL);
  f->photos = g_build_filename (f->dir, "photos", NULL);
  write_image (f->card, 0);
  g_mkdir (f->photos, 0755);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/photo%u.png", f->photos, i);
      write_image (path, i + 1);
    }
  {
    /* The card copied under another name, as hosts serve it. */
    g_autofree char *copy = g_build_filename (f->photos, "dead-link.png", NULL);
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (f->card, &bytes, &len, &error));
    g_assert_true (g_file_set_contents (copy, bytes, len, &error));
  }
  project = kiln_project_open (f->project, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  kiln_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->project);
  g_free (f->card);
  g_free (f->photos);
}

static guint64
card_hash (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  guint64 hash = 0;

  g_assert_true (kiln_inspector_placeholder_hash (f->card, &hash, &error));
  g_assert_no_error (error);
  return hash;
}

/* add prints the hash, list shows it (text and JSON), remove takes the
 * image or the hash, and removing what is not there fails. */
static void
test_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *hash = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", card_hash (f));
  g_autofree char *missing = g_build_filename (f->dir, "no-project", NULL);
  char *out = NULL;

  g_assert_cmpint (cli (&out, "placeholder", "add", "--project", f->project, f->card, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, hash));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "placeholder", "list", "--project", f->project, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, hash));
  g_assert_nonnull (strstr (out, "unavailable.png"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "placeholder", "list", "--project", f->project, "--json", NULL), ==, 0);
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;
    JsonArray *rows;

    json_parser_load_from_data (parser, out, -1, &error);
    g_assert_no_error (error);
    rows = json_node_get_array (json_parser_get_root (parser));
    g_assert_cmpuint (json_array_get_length (rows), ==, 1);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rows, 0), "hash"), ==, hash);
  }
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "placeholder", "remove", "--project", f->project, hash, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "placeholder", "remove", "--project", f->project, f->card, NULL), ==, 1);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "placeholder", "list", "--project", f->project, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  /* No project is made for a mistyped folder. */
  g_assert_cmpint (cli (&out, "placeholder", "list", "--project", missing, NULL), ==, 1);
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  g_free (out);
}

/* A store of schema 1 (before the placeholders table) opens, migrates,
 * and keeps what it held. */
static void
test_migration (Fixture *f, gconstpointer data)
{
  g_autofree char *db_path = g_build_filename (f->project, "kiln.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProject) project = NULL;
  g_autoptr(GPtrArray) records = NULL;
  sqlite3 *db;

  {
    g_autoptr(KilnProject) p = kiln_project_open (f->project, &error);
    g_assert_true (kiln_project_record_download (p, "http://a/1.jpg", NULL, KILN_DOWNLOAD_KEPT, 200, "kept", NULL,
                                                 &error));
  }
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "DROP TABLE placeholders; PRAGMA user_version = 1;", NULL, NULL, NULL), ==,
                   SQLITE_OK);
  sqlite3_close (db);

  project = kiln_project_open (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpint (kiln_project_get_schema_version (project), ==, KILN_PROJECT_SCHEMA_VERSION);
  g_assert_true (kiln_project_download_is_done (project, "http://a/1.jpg", &error));
  /* 64-bit hashes survive SQLite's signed integers. */
  g_assert_true (kiln_project_add_placeholder (project, G_GUINT64_CONSTANT (0xfedcba9876543210), "x", &error));
  records = kiln_project_list_placeholders (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 1);
  g_assert_cmpuint (((KilnPlaceholderRecord *) records->pdata[0])->phash, ==, G_GUINT64_CONSTANT (0xfedcba9876543210));
}

static JsonObject *
parse_object (JsonParser *parser, const char *text)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* Registered once, the card is refused by gather --folder and flagged by
 * inspect, with no --placeholders file given. */
static void
test_applied (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *earlier = g_build_filename (f->dir, "earlier", NULL);
  g_autofree char *copy = g_build_filename (earlier, "dead.png", NULL);
  char *out = NULL;
  JsonObject *summary;

  /* Kept by an earlier import, before anyone knew. */
  g_mkdir (earlier, 0755);
  write_image (copy, 0);
  g_assert_cmpint (cli (&out, "gather", "--project", f->project, "--folder", earlier, "--class", "old", "--json",
                        NULL), ==, 0);
  g_assert_cmpint (json_object_get_int_member (parse_object (parser, out), "kept"), ==, 1);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (cli (&out, "placeholder", "add", "--project", f->project, f->card, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cli (&out, "gather", "--project", f->project, "--folder", f->photos, "--class", "new", "--json",
                        NULL), ==, 0);
  summary = parse_object (parser, out);
  g_assert_cmpint (json_object_get_int_member (summary, "kept"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (summary, "by_reason"), "placeholder"),
                   ==, 1);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (cli (&out, "inspect", "--project", f->project, "--json", NULL), ==, 0);
  summary = parse_object (parser, out);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (summary, "reasons"), "placeholder"),
                   ==, 1);
  g_free (out);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  kiln_test_isolate_home ();
  g_test_add ("/placeholders/cli", Fixture, NULL, fixture_setup, test_cli, fixture_teardown);
  g_test_add ("/placeholders/migration", Fixture, NULL, fixture_setup, test_migration, fixture_teardown);
  g_test_add ("/placeholders/applied", Fixture, NULL, fixture_setup, test_applied, fixture_teardown);
  return g_test_run ();
}
