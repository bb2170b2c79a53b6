/* The image subcommands of kiln-cli end to end on a small project:
 * import-idx, label, inspect --discard, restore, split and mean, each
 * checked through its --json summary and the files it leaves. */
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

#include "kiln-core.h"
#include "test-util.h"

static JsonObject *
run_json (const char *const *args)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  int status = kiln_test_run_cli (args, &out, &err);

  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("kiln-cli %s failed: %s", args[0], err);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}


/* 30 random 8 × 8 images in three classes, as gzip IDX files. */
static void
write_idx (const char *dir)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  g_autoptr(GByteArray) images = g_byte_array_new ();
  g_autoptr(GByteArray) labels = g_byte_array_new ();
  g_autofree char *images_path = g_build_filename (dir, "img.gz", NULL);
  g_autofree char *labels_path = g_build_filename (dir, "lab.gz", NULL);

  kiln_test_put_be32 (images, 0x803);
  kiln_test_put_be32 (images, 30);
  kiln_test_put_be32 (images, 8);
  kiln_test_put_be32 (images, 8);
  kiln_test_put_be32 (labels, 0x801);
  kiln_test_put_be32 (labels, 30);
  for (guint i = 0; i < 30; i++)
    {
      guint8 label = i % 3;
      g_byte_array_append (labels, &label, 1);
      for (guint p = 0; p < 64; p++)
        {
          guint8 v = (guint8) g_rand_int_range (rand, 0, 256);
          g_byte_array_append (images, &v, 1);
        }
    }
  kiln_test_write_gz (images_path, images->data, images->len);
  kiln_test_write_gz (labels_path, labels->data, labels->len);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_file_get_contents (from, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, contents, length, &error);
  g_assert_no_error (error);
}

static void
test_project_workflow (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-cli-images-XXXXXX", &error);
  g_autofree char *project = g_build_filename (dir, "project", NULL);
  g_autofree char *images_path = g_build_filename (dir, "img.gz", NULL);
  g_autofree char *labels_path = g_build_filename (dir, "lab.gz", NULL);

  write_idx (dir);

  /* import-idx into the project. */
  const char *import[] = { "import-idx", "--images", images_path, "--labels", labels_path,
                           "--names", "ant,bee,cat", "--prefix", "t-", "--project", project,
                           "--json", NULL };
  g_autoptr(JsonObject) imported = run_json (import);
  g_assert_cmpint (json_object_get_int_member (imported, "images"), ==, 30);
  g_assert_cmpint (json_object_get_int_member (imported, "added_to_project"), ==, 30);
  JsonObject *classes = json_object_get_object_member (imported, "classes");
  g_assert_cmpint (json_object_get_int_member (classes, "bee"), ==, 10);

  /* Two more files arrive: a truncated JPEG and a copy of an image. */
  g_autofree char *truncated = g_test_build_filename (G_TEST_DIST, "images", "truncated.jpg", NULL);
  g_autofree char *bad_copy = g_build_filename (project, "images", "ant", "broken.jpg", NULL);
  g_autofree char *original = g_build_filename (project, "images", "bee", "t-00001.png", NULL);
  g_autofree char *dup_copy = g_build_filename (project, "images", "bee", "again.png", NULL);
  copy_file (truncated, bad_copy);
  copy_file (original, dup_copy);

  const char *label[] = { "label", "--project", project, "--json", NULL };
  g_autoptr(JsonObject) labeled = run_json (label);
  g_assert_cmpint (json_object_get_int_member (labeled, "images"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (labeled, "added_to_project"), ==, 2);
  JsonArray *class_list = json_object_get_array_member (labeled, "classes");
  g_assert_cmpuint (json_array_get_length (class_list), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (class_list, 2), "name"),
                   ==, "cat");
  g_autofree char *label_file = g_build_filename (project, "labels.txt", NULL);
  g_autoptr(KilnLabelSet) written = kiln_labels_read (label_file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (written->paths->len, ==, 32);

  /* inspect flags both and --discard moves them away. */
  const char *inspect[] = { "inspect", "--project", project, "--min-side", "4", "--discard",
                            "--threads", "2", "--json", NULL };
  g_autoptr(JsonObject) inspected = run_json (inspect);
  JsonObject *reasons = json_object_get_object_member (inspected, "reasons");
  g_assert_cmpint (json_object_get_int_member (inspected, "images"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (reasons, "truncated"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (reasons, "duplicate"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (inspected, "discarded"), ==, 2);
  g_assert_false (g_file_test (bad_copy, G_FILE_TEST_EXISTS));
  g_autofree char *moved = g_build_filename (project, "discarded", "truncated", "ant", "broken.jpg", NULL);
  g_assert_true (g_file_test (moved, G_FILE_TEST_EXISTS));

  /* restore puts them back. */
  const char *restore[] = { "restore", "--project", project, "--all", "--json", NULL };
  g_autoptr(JsonObject) restored = run_json (restore);
  g_assert_cmpint (json_object_get_int_member (restored, "restored"), ==, 2);
  g_assert_true (g_file_test (bad_copy, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (dup_copy, G_FILE_TEST_EXISTS));

  /* split: stratified shares of 32 kept images (ant 11, bee 11, cat 10). */
  const char *split[] = { "split", "--project", project, "--shares", "60,20,20", "--seed", "3",
                          "--json", NULL };
  g_autoptr(JsonObject) splitted = run_json (split);
  gint64 train = json_object_get_int_member (splitted, "train");
  g_assert_cmpint (train + json_object_get_int_member (splitted, "val")
                   + json_object_get_int_member (splitted, "test"), ==, 32);
  /* again.png is a copy of t-00001.png: the pair stays in one subset,
   * which may move one image away from the 7 + 7 + 6 of plain shares. */
  g_assert_cmpint (json_object_get_int_member (splitted, "near_duplicate_groups"), ==, 1);
  gint64 moved_images = json_object_get_int_member (splitted, "moved_to_keep_groups_whole");
  g_assert_cmpint (moved_images, <=, 1);
  g_assert_cmpint (ABS (train - (7 + 7 + 6)), <=, moved_images);
  g_autoptr(JsonObject) again = run_json (split);
  g_assert_cmpint (json_object_get_int_member (again, "val"), ==,
                   json_object_get_int_member (splitted, "val"));

  /* mean of the training subset, gray, 8 wide and 6 high (sizes are WxH). */
  g_autofree char *mean_dir = g_build_filename (dir, "mean", NULL);
  const char *mean[] = { "mean", "--project", project, "--split", "default", "--size", "8x6",
                         "--gray", "--output", mean_dir, "--json", NULL };
  g_autoptr(JsonObject) averaged = run_json (mean);
  g_assert_cmpint (json_object_get_int_member (averaged, "images")
                   + json_object_get_int_member (averaged, "skipped"), ==, train);
  g_autofree char *f32 = g_build_filename (mean_dir, "mean.f32", NULL);
  g_autofree float *values = kiln_mean_image_load_f32 (f32, 8 * 6, &error);
  g_assert_no_error (error);
  g_autofree char *png = g_build_filename (mean_dir, "mean.png", NULL);
  int png_width = 0, png_height = 0;
  g_assert_nonnull (gdk_pixbuf_get_file_info (png, &png_width, &png_height));
  g_assert_cmpint (png_width, ==, 8);
  g_assert_cmpint (png_height, ==, 6);

  /* A size that is not WIDTHxHEIGHT is a usage error that shows the form. */
  {
    g_autofree char *bad_out = NULL, *bad_err = NULL;
    const char *bad_size[] = { "cache", "--project", project, "--size", "16", NULL };
    int bad = kiln_test_run_cli (bad_size, &bad_out, &bad_err);
    g_assert_true (WIFEXITED (bad));
    g_assert_cmpint (WEXITSTATUS (bad), ==, 2);
    g_assert_nonnull (strstr (bad_err, "WIDTHxHEIGHT"));
  }

  /* Usage errors exit with status 2 and say what is missing. */
  g_autofree char *out = NULL, *err = NULL;
  const char *no_project[] = { "split", NULL };
  int status = kiln_test_run_cli (no_project, &out, &err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_nonnull (strstr (err, "--project"));
  kiln_test_remove_tree (dir);
}

/* Runs kiln-cli; returns its exit status (-1 when it did not exit). */
static int
run_status (const char *const *args,
            char             **out,
            char             **err)
{
  int status = kiln_test_run_cli (args, out, err);

  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static JsonObject *
file_entry (JsonArray  *files,
            const char *path)
{
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);

      if (g_str_equal (json_object_get_string_member (file, "path"), path))
        return file;
    }
  return NULL;
}

/* The verdict on each image, not only counts: inspect --json lists the
 * flagged files with their reasons and duplicate groups, images --flag
 * lists them from the store later, a missing file given to inspect is an
 * error that names it, and cache names the images it could not decode. */
static void
test_verdicts (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-cli-verdicts-XXXXXX", &error);
  g_autofree char *tree = g_build_filename (dir, "tree", NULL);
  g_autofree char *project = g_build_filename (dir, "project", NULL);
  const char *files[][2] = {
    { "good.jpg", "cats/good.jpg" }, { "truncated.jpg", "cats/cut.jpg" },
    { "dup-a.png", "cats/dup-a.png" }, { "dup-b.png", "dogs/dup-b.png" },
    { "good.webp", "dogs/good.webp" }, { "blurry.jpg", "dogs/blurry.jpg" },
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *from = g_test_build_filename (G_TEST_DIST, "images", files[i][0], NULL);
      g_autofree char *to = g_build_filename (tree, files[i][1], NULL);
      g_autofree char *parent = g_path_get_dirname (to);

      g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
      copy_file (from, to);
    }
  const char *make[] = { "new", project, "--from", tree, "--json", NULL };
  g_autoptr(JsonObject) made = run_json (make);
  g_assert_nonnull (made);

  const char *inspect[] = { "inspect", "--project", project, "--json", NULL };
  g_autoptr(JsonObject) inspected = run_json (inspect);
  JsonArray *listed = json_object_get_array_member (inspected, "files");
  /* Every file but none: the cut JPEG, the blurred photo, and two pairs
   * (the kept member listed too, for its group): the PNGs with the same
   * pixels, and good.webp, the picture of good.jpg in another codec. */
  g_assert_cmpuint (json_array_get_length (listed), ==, 6);
  JsonObject *cut = file_entry (listed, "images/cats/cut.jpg");
  g_assert_nonnull (cut);
  g_assert_true (json_object_has_member (json_object_get_object_member (cut, "flags"), "truncated"));
  JsonObject *dup_a = file_entry (listed, "images/cats/dup-a.png");
  JsonObject *dup_b = file_entry (listed, "images/dogs/dup-b.png");
  g_assert_nonnull (dup_a);
  g_assert_nonnull (dup_b);
  g_assert_cmpint (json_object_get_int_member (dup_a, "exact_group"), >, 0);
  g_assert_cmpint (json_object_get_int_member (dup_a, "exact_group"), ==,
                   json_object_get_int_member (dup_b, "exact_group"));
  g_assert_true (json_object_has_member (json_object_get_object_member (dup_b, "flags"), "duplicate"));
  g_assert_nonnull (file_entry (listed, "images/dogs/blurry.jpg"));
  JsonObject *jpeg = file_entry (listed, "images/cats/good.jpg");
  JsonObject *webp = file_entry (listed, "images/dogs/good.webp");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (jpeg, "flags")), ==, 0);
  g_assert_true (json_object_has_member (json_object_get_object_member (webp, "flags"), "near-duplicate"));
  g_assert_cmpint (json_object_get_int_member (jpeg, "near_group"), ==,
                   json_object_get_int_member (webp, "near_group"));
  g_assert_cmpint (json_object_get_int_member (jpeg, "near_group"), !=,
                   json_object_get_int_member (dup_a, "exact_group"));

  /* images --flag: from the store, one reason. */
  const char *truncated[] = { "images", "--project", project, "--flag", "truncated", "--json", NULL };
  g_autoptr(JsonObject) flagged = run_json (truncated);
  g_assert_cmpint (json_object_get_int_member (flagged, "count"), ==, 1);
  JsonObject *only = json_array_get_object_element (json_object_get_array_member (flagged, "images"), 0);
  g_assert_cmpstr (json_object_get_string_member (only, "path"), ==, "images/cats/cut.jpg");
  g_assert_cmpstr (json_object_get_string_member (only, "status"), ==, "kept");
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *duplicates[] = { "images", "--project", project, "--flag", "duplicate", NULL };
    const char *typo[] = { "images", "--project", project, "--flag", "truncted", NULL };

    g_assert_cmpint (run_status (duplicates, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "images/dogs/dup-b.png: duplicate: same pixels as images/cats/dup-a.png"));
    g_assert_null (strstr (out, "cut.jpg"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    /* A misspelt reason is a usage error, not an empty list. */
    g_assert_cmpint (run_status (typo, &out, &err), ==, 2);
    g_assert_nonnull (strstr (err, "truncted"));
  }

  /* A missing file: the others are still inspected, the status is 1 and
   * the message names it. */
  {
    g_autofree char *out = NULL, *err = NULL;
    g_autofree char *good = g_build_filename (tree, "cats", "good.jpg", NULL);
    g_autofree char *missing = g_build_filename (dir, "no-such-photo.jpg", NULL);
    const char *args[] = { "inspect", good, missing, NULL };

    g_assert_cmpint (run_status (args, &out, &err), ==, 1);
    g_assert_nonnull (strstr (out, "good.jpg: ok"));
    g_assert_nonnull (strstr (err, missing));
  }

  /* cache names what it could not decode, and why. */
  {
    g_autofree char *out = NULL, *err = NULL;
    const char *text[] = { "cache", "--project", project, "--size", "16x16", NULL };
    const char *json[] = { "cache", "--project", project, "--size", "16x16", "--json", NULL };

    g_assert_cmpint (run_status (text, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "1 undecodable"));
    g_assert_nonnull (strstr (out, "images/cats/cut.jpg: truncated:"));
    g_autoptr(JsonObject) cached = run_json (json);
    JsonArray *bad = json_object_get_array_member (cached, "undecodable_files");
    g_assert_cmpuint (json_array_get_length (bad), ==, 1);
    JsonObject *entry = json_array_get_object_element (bad, 0);
    g_assert_cmpstr (json_object_get_string_member (entry, "path"), ==, "images/cats/cut.jpg");
    g_assert_cmpstr (json_object_get_string_member (entry, "problem"), ==, "truncated");
  }
  kiln_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/images/project-workflow", test_project_workflow);
  g_test_add_func ("/cli/images/verdicts", test_verdicts);
  return g_test_run ();
}
