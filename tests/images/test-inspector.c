/* kiln-inspector on the corpus of tests/make-bad-images.py: each bad file
 * gets its reason and nothing crashes; good files get none; exact and
 * near duplicates and placeholders are found; the hash grouping agrees
 * with brute force without comparing every pair; and a run over a project
 * fills the store, keeps other flags, and can be cancelled. */
#include <string.h>

#include "kiln-core.h"
#include "test-util.h"

static char *
corpus (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "images", name, NULL);
}

static KilnImageReport *
analyse (const KilnInspectorSettings *settings,
         const char                  *name)
{
  g_autofree char *path = corpus (name);
  return kiln_inspector_analyse (settings, path);
}

static guint64
phash_of (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = corpus (name);
  g_autoptr(GdkPixbuf) pixbuf = kiln_image_load (path, NULL, NULL, &error);

  g_assert_no_error (error);
  return kiln_inspector_phash (pixbuf);
}

static void
test_reasons (void)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  struct {
    const char        *name;
    KilnInspectReason  reason;
  } cases[] = {
    { "truncated.jpg", KILN_INSPECT_TRUNCATED },
    { "truncated.png", KILN_INSPECT_TRUNCATED },
    { "zero.jpg", KILN_INSPECT_ZERO_BYTE },
    { "html.jpg", KILN_INSPECT_NOT_AN_IMAGE },
    { "huge.png", KILN_INSPECT_TOO_LARGE },
    { "tiny.png", KILN_INSPECT_TOO_SMALL },
    { "wide.png", KILN_INSPECT_EXTREME_ASPECT },
    { "solid.png", KILN_INSPECT_LOW_INFORMATION },
    { "dark.jpg", KILN_INSPECT_TOO_DARK },
    { "dim.jpg", KILN_INSPECT_TOO_DARK },
    { "black.png", KILN_INSPECT_TOO_DARK },
    { "light.jpg", KILN_INSPECT_TOO_LIGHT },
    { "white.png", KILN_INSPECT_TOO_LIGHT },
    { "blurry.jpg", KILN_INSPECT_BLURRY },
    /* A smooth ramp has no edge at all: the blur check cannot tell it
     * from a heavily blurred picture, and neither can a person. */
    { "16bit.png", KILN_INSPECT_BLURRY },
    { "animated.gif", KILN_INSPECT_ANIMATED },
    { "placeholder-big.jpg", KILN_INSPECT_PLACEHOLDER },
    { "missing-file.jpg", KILN_INSPECT_UNREADABLE },
    { "truncated.webp", KILN_INSPECT_TRUNCATED },
    { "animated.webp", KILN_INSPECT_ANIMATED },
    { "unsupported.avif", KILN_INSPECT_UNSUPPORTED_FORMAT },
  };
  const char *clean[] = {
    "good.jpg", "good.png", "cmyk.jpg", "near-a.jpg", "near-b.jpg", "other.jpg", "still.gif",
    "good.webp", "lowkey.jpg",
  };
  /* Brightness, information and blur: one reason, the most specific. */
  const guint32 picture_flags = (1u << KILN_INSPECT_LOW_INFORMATION) | (1u << KILN_INSPECT_TOO_DARK)
                                | (1u << KILN_INSPECT_TOO_LIGHT) | (1u << KILN_INSPECT_BLURRY);

  kiln_inspector_settings_add_placeholder (settings, phash_of ("placeholder.png"));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(KilnImageReport) report = analyse (settings, cases[i].name);

      g_test_message ("%s: flags %#x", cases[i].name, report->flags);
      g_assert_true (kiln_image_report_has (report, cases[i].reason));
      g_assert_nonnull (report->details[cases[i].reason]);
      /* A file that cannot be decoded has exactly one reason. */
      if (kiln_inspect_reason_is_fatal (cases[i].reason))
        g_assert_cmpuint (report->flags, ==, 1u << cases[i].reason);
      if ((1u << cases[i].reason) & picture_flags)
        g_assert_cmpuint (report->flags & picture_flags, ==, 1u << cases[i].reason);
    }
  for (guint i = 0; i < G_N_ELEMENTS (clean); i++)
    {
      g_autoptr(KilnImageReport) report = analyse (settings, clean[i]);

      g_test_message ("%s: flags %#x, mean %.0f, stddev %.1f, entropy %.2f", clean[i],
                      report->flags, report->mean, report->stddev, report->entropy);
      g_assert_cmpuint (report->flags, ==, 0);
      g_assert_true (report->has_phash);
      g_assert_cmpuint (strlen (report->pixel_hash), ==, 32);
      g_assert_cmpuint (strlen (report->sha256), ==, 64);
    }

  /* A 4000 × 20 banner of coloured stripes is small and an odd shape, not
   * a blank: its statistics see the short side too. */
  g_autoptr(KilnImageReport) banner = analyse (settings, "banner.png");
  g_test_message ("banner.png: flags %#x, stddev %.1f", banner->flags, banner->stddev);
  g_assert_cmpuint (banner->flags, ==, (1u << KILN_INSPECT_EXTREME_ASPECT) | (1u << KILN_INSPECT_TOO_SMALL));
  g_assert_cmpfloat (banner->stddev, >, 30.0);

  /* Sizes are as displayed: the EXIF-rotated JPEG is 40 × 60. */
  g_autoptr(KilnImageReport) rotated = analyse (settings, "rotated.jpg");
  g_assert_cmpint (rotated->width, ==, 40);
  g_assert_cmpint (rotated->height, ==, 60);

  /* The huge PNG's size is known without decoding it. */
  g_autoptr(KilnImageReport) huge = analyse (settings, "huge.png");
  g_assert_cmpint (huge->width, ==, 30000);
  g_assert_false (huge->has_phash);

  /* Without the placeholder in the settings, nothing matches. */
  g_autoptr(KilnInspectorSettings) plain = kiln_inspector_settings_new ();
  g_autoptr(KilnImageReport) not_known = analyse (plain, "placeholder-big.jpg");
  g_assert_false (kiln_image_report_has (not_known, KILN_INSPECT_PLACEHOLDER));

  KilnInspectReason reason;
  for (guint r = 0; r < KILN_INSPECT_N_REASONS; r++)
    {
      g_assert_true (kiln_inspect_reason_from_string (kiln_inspect_reason_to_string (r), &reason));
      g_assert_cmpint (reason, ==, r);
    }
}

static void
test_every_file_survives (void)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autofree char *dir = corpus ("");
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autoptr(KilnImageReport) report = analyse (settings, name);
      g_assert_nonnull (report);
      n++;
    }
  g_assert_cmpuint (n, >=, 26);
}

static void
test_duplicates (void)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_image_report_free);
  const char *names[] = { "dup-a.png", "near-b.jpg", "good.jpg", "dup-b.png", "near-a.jpg", "other.jpg" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (reports, analyse (settings, names[i]));
  g_assert_cmpuint (kiln_inspector_flag_duplicates (settings, reports), ==, 2);

  KilnImageReport *dup_a = reports->pdata[0], *near_b = reports->pdata[1];
  KilnImageReport *good = reports->pdata[2], *dup_b = reports->pdata[3];
  KilnImageReport *near_a = reports->pdata[4], *other = reports->pdata[5];

  /* Different files, same pixels. */
  g_assert_cmpstr (dup_a->sha256, !=, dup_b->sha256);
  g_assert_cmpstr (dup_a->pixel_hash, ==, dup_b->pixel_hash);
  g_assert_cmpuint (dup_a->flags, ==, 0);
  g_assert_cmpuint (dup_b->flags, ==, 1u << KILN_INSPECT_DUPLICATE);
  g_assert_nonnull (strstr (dup_b->details[KILN_INSPECT_DUPLICATE], "dup-a.png"));

  /* The larger of the near pair is kept, whatever the order. */
  g_test_message ("near distance %d, other distance %d",
                  kiln_inspector_hamming (near_a->phash, near_b->phash),
                  kiln_inspector_hamming (near_a->phash, other->phash));
  g_assert_cmpuint (near_a->flags, ==, 0);
  g_assert_cmpuint (near_b->flags, ==, 1u << KILN_INSPECT_NEAR_DUPLICATE);
  g_assert_nonnull (strstr (near_b->details[KILN_INSPECT_NEAR_DUPLICATE], "near-a.jpg"));
  g_assert_cmpuint (good->flags, ==, 0);
  g_assert_cmpuint (other->flags, ==, 0);

  /* Each member, the kept one too, carries its group's number. */
  g_assert_cmpuint (dup_a->exact_group, >, 0);
  g_assert_cmpuint (dup_a->exact_group, ==, dup_b->exact_group);
  g_assert_cmpuint (near_a->near_group, >, 0);
  g_assert_cmpuint (near_a->near_group, ==, near_b->near_group);
  g_assert_cmpuint (near_a->near_group, !=, dup_a->exact_group);
  g_assert_cmpuint (good->exact_group + good->near_group + other->exact_group + other->near_group, ==, 0);
  g_assert_cmpint (kiln_inspector_hamming (near_a->phash, other->phash), >, settings->near_distance);
}

/* Flat frames have no frequencies but rounding errors, and their hashes
 * can match (gray.png and silver.png do): they are blank, dark or light,
 * not copies of one another. */
static void
test_flat_frames_not_near_duplicates (void)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_image_report_free);
  const char *names[] = { "solid.png", "black.png", "white.png", "gray.png", "silver.png", "dark.jpg" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (reports, analyse (settings, names[i]));
  g_assert_cmpuint (kiln_inspector_flag_duplicates (settings, reports), ==, 0);
  for (guint i = 0; i < reports->len; i++)
    {
      KilnImageReport *report = reports->pdata[i];

      g_assert_false (kiln_image_report_has (report, KILN_INSPECT_NEAR_DUPLICATE));
      g_assert_cmpuint (report->near_group, ==, 0);
    }
}

static GArray *
brute_force_groups (const guint64 *hashes,
                    guint          n,
                    int            d)
{
  g_autofree guint *parent = g_new (guint, n);
  GArray *groups = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < n; i++)
    parent[i] = i;
  for (guint i = 0; i < n; i++)
    for (guint j = i + 1; j < n; j++)
      if (kiln_inspector_hamming (hashes[i], hashes[j]) <= d)
        {
          guint a = i, b = j;
          while (parent[a] != a) a = parent[a];
          while (parent[b] != b) b = parent[b];
          if (a != b)
            parent[MAX (a, b)] = MIN (a, b);
        }
  for (guint i = 0; i < n; i++)
    {
      guint a = i;
      while (parent[a] != a) a = parent[a];
      g_array_append_val (groups, a);
    }
  return groups;
}

/* Random hashes with planted near copies (a few bits flipped). */
static guint64 *
planted_hashes (guint  n,
                guint  seed,
                int    flips)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint64 *hashes = g_new (guint64, n);

  for (guint i = 0; i < n; i++)
    {
      if (i % 10 == 9)
        {
          guint64 h = hashes[i - 1];
          for (int f = 0; f < flips; f++)
            h ^= G_GUINT64_CONSTANT (1) << g_rand_int_range (rand, 0, 64);
          hashes[i] = h;
        }
      else
        hashes[i] = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
    }
  return hashes;
}

static void
test_grouping_matches_brute_force (void)
{
  const guint n = 3000;
  int distances[] = { 0, 3, 8, 12 };

  for (guint t = 0; t < G_N_ELEMENTS (distances); t++)
    {
      int d = distances[t];
      g_autofree guint64 *hashes = planted_hashes (n, 42 + t, d);
      g_autoptr(GArray) fast = kiln_inspector_group_hashes (hashes, n, d, NULL);
      g_autoptr(GArray) slow = brute_force_groups (hashes, n, d);

      /* Same partition: i and j share a group in one iff in the other. */
      g_assert_cmpuint (fast->len, ==, n);
      for (guint i = 0; i < n; i++)
        for (guint j = i + 1; j < n; j += 1 + (j % 7))
          g_assert_cmpint (g_array_index (fast, guint, i) == g_array_index (fast, guint, j), ==,
                           g_array_index (slow, guint, i) == g_array_index (slow, guint, j));
      /* The planted pairs were found. */
      for (guint i = 9; i < n; i += 10)
        g_assert_cmpuint (g_array_index (fast, guint, i), ==, g_array_index (fast, guint, i - 1));
    }
}

static void
test_grouping_not_quadratic (void)
{
  const guint n = 50000;
  g_autofree guint64 *hashes = planted_hashes (n, 7, 6);
  guint64 compared = 0;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GArray) groups = kiln_inspector_group_hashes (hashes, n, 8, &compared);

  g_test_message ("%u hashes: %" G_GUINT64_FORMAT " full comparisons (all pairs: %"
                  G_GUINT64_FORMAT "), %.2f s", n, compared, (guint64) n * (n - 1) / 2,
                  (g_get_monotonic_time () - start) / 1e6);
  /* Radius 2 per band: ~137 × 4 buckets of n / 65,536 hashes each. */
  g_assert_cmpuint (compared, <, (guint64) n * 1000);
  for (guint i = 9; i < n; i += 10)
    g_assert_cmpuint (g_array_index (groups, guint, i), ==, g_array_index (groups, guint, i - 1));

  /* A thousand copies of one hash: one group, no pairwise work. */
  g_autofree guint64 *same = g_new (guint64, 1000);
  for (guint i = 0; i < 1000; i++)
    same[i] = G_GUINT64_CONSTANT (0x0123456789abcdef);
  g_autoptr(GArray) one = kiln_inspector_group_hashes (same, 1000, 8, &compared);
  g_assert_cmpuint (compared, ==, 0);
  g_assert_cmpuint (g_array_index (one, guint, 999), ==, g_array_index (one, guint, 0));
}

static void
test_placeholder_file (void)
{
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-placeholders-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "placeholders.txt", NULL);

  g_file_set_contents (path, "# Flickr-like\n00ff00ff00ff00ff\n\n  0123456789ABCDEF  # another\n",
                       -1, &error);
  kiln_inspector_settings_load_placeholders (settings, path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (settings->placeholders->len, ==, 2);
  g_assert_cmpuint (g_array_index (settings->placeholders, guint64, 1), ==,
                    G_GUINT64_CONSTANT (0x0123456789abcdef));

  g_file_set_contents (path, "00ff00ff00ff00ff\nnot-a-hash\n", -1, &error);
  g_assert_false (kiln_inspector_settings_load_placeholders (settings, path, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, ":2:"));
  /* A bad file adds nothing. */
  g_assert_cmpuint (settings->placeholders->len, ==, 2);
  kiln_test_remove_tree (dir);
}

static void
copy_into (KilnProject *project,
           const char  *name,
           const char  *relative)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *src = corpus (name);
  g_autofree char *dst = kiln_project_build_path (project, relative);
  g_autofree char *parent = g_path_get_dirname (dst);
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr(KilnImageRecord) record = kiln_image_record_new (relative, NULL);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_get_contents (src, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents (dst, contents, length, &error);
  g_assert_no_error (error);
  record->class_name = g_path_get_basename (parent);
  kiln_project_add_image (project, record, &error);
  g_assert_no_error (error);
}

static gboolean
has_flag (KilnProject *project,
          const char  *path,
          const char  *reason)
{
  g_autoptr(KilnImageRecord) record = kiln_project_find_image (project, path, NULL);
  g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, record->id, NULL);

  for (guint i = 0; i < flags->len; i++)
    if (g_str_equal (((KilnFlag *) flags->pdata[i])->reason, reason))
      return TRUE;
  return FALSE;
}

static guint
n_flags (KilnProject *project,
         const char  *path)
{
  g_autoptr(KilnImageRecord) record = kiln_project_find_image (project, path, NULL);
  g_autoptr(GPtrArray) flags = kiln_project_list_flags (project, record->id, NULL);
  return flags->len;
}

static void
cancel_at_first (guint64  done,
                 guint64  total,
                 gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

static void
test_project_run (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-inspect-XXXXXX", &error);
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();
  KilnInspectorSummary summary;
  const char *files[][2] = {
    { "good.jpg", "images/cats/good.jpg" },
    { "dup-a.png", "images/cats/dup a.png" },
    { "dup-b.png", "images/dogs/dup b.png" },
    { "near-a.jpg", "images/dogs/near-a.jpg" },
    { "near-b.jpg", "images/dogs/near-b.jpg" },
    { "truncated.jpg", "images/dogs/truncated.jpg" },
    { "html.jpg", "images/cats/html.jpg" },
    { "zero.jpg", "images/cats/zero.jpg" },
    { "solid.png", "images/cats/solid.png" },
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    copy_into (project, files[i][0], files[i][1]);

  /* A flag from someone else survives inspections. */
  g_autoptr(KilnImageRecord) good = kiln_project_find_image (project, "images/cats/good.jpg", &error);
  kiln_project_set_flag (project, good->id, "user-review", "looks odd", &error);
  g_assert_no_error (error);

  /* Cancelled: an error, and nothing recorded. */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_assert_false (kiln_inspector_run (project, settings, 2, cancel_at_first, cancellable,
                                      cancellable, &summary, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (has_flag (project, "images/dogs/truncated.jpg", "truncated"));

  for (int round = 0; round < 2; round++)
    {
      kiln_inspector_run (project, settings, 2, NULL, NULL, NULL, &summary, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (summary.n_images, ==, G_N_ELEMENTS (files));
      g_assert_cmpuint (summary.n_flagged, ==, 6);
      g_assert_cmpuint (summary.n_duplicate_groups, ==, 2);
      g_assert_cmpuint (summary.counts[KILN_INSPECT_DUPLICATE], ==, 1);
      g_assert_cmpuint (summary.counts[KILN_INSPECT_NEAR_DUPLICATE], ==, 1);

      g_assert_true (has_flag (project, "images/dogs/truncated.jpg", "truncated"));
      g_assert_true (has_flag (project, "images/cats/html.jpg", "not-an-image"));
      g_assert_true (has_flag (project, "images/cats/zero.jpg", "zero-byte"));
      g_assert_true (has_flag (project, "images/cats/solid.png", "low-information"));
      g_assert_true (has_flag (project, "images/dogs/dup b.png", "duplicate"));
      g_assert_true (has_flag (project, "images/dogs/near-b.jpg", "near-duplicate"));
      g_assert_cmpuint (n_flags (project, "images/dogs/near-a.jpg"), ==, 0);
      g_assert_cmpuint (n_flags (project, "images/cats/dup a.png"), ==, 0);
      /* Only the user's flag on the good image, after both rounds. */
      g_assert_cmpuint (n_flags (project, "images/cats/good.jpg"), ==, 1);
      g_assert_true (has_flag (project, "images/cats/good.jpg", "user-review"));
    }

  /* The store has the measurements. */
  g_autoptr(KilnImageRecord) measured = kiln_project_find_image (project, "images/cats/good.jpg", &error);
  g_assert_cmpint (measured->width, ==, 96);
  g_assert_cmpint (measured->height, ==, 64);
  g_assert_cmpint (measured->size, ==, 2832);
  g_assert_cmpuint (strlen (measured->sha256), ==, 64);
  g_assert_cmpuint (strlen (measured->pixel_hash), ==, 32);
  g_assert_true (measured->has_phash);
  g_autoptr(KilnImageRecord) bad = kiln_project_find_image (project, "images/cats/zero.jpg", &error);
  g_assert_null (bad->pixel_hash);
  g_assert_false (bad->has_phash);

  /* Discarding by the recorded flags is the project's job, and undoable. */
  g_autoptr(KilnImageRecord) truncated = kiln_project_find_image (project, "images/dogs/truncated.jpg", &error);
  kiln_project_discard_image (project, truncated->id, "truncated", &error);
  g_assert_no_error (error);
  kiln_inspector_run (project, settings, 1, NULL, NULL, NULL, &summary, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (summary.n_images, ==, G_N_ELEMENTS (files) - 1);
  kiln_test_remove_tree (dir);
}

typedef struct {
  GMutex      lock;
  GHashTable *seen;          /* image id → the reasons, joined */
  GThread    *main_thread;
  gboolean    off_thread;    /* a hand-over on another thread (async must not) */
  gboolean    after_done;    /* a hand-over after the run's callback */
  gboolean    done;
} Handed;

static void
on_flags (gint64 image_id, GPtrArray *flags, gpointer data)
{
  Handed *h = data;
  g_autoptr(GString) reasons = g_string_new (NULL);

  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *flag = flags->pdata[i];
      g_assert_cmpint (flag->image_id, ==, image_id);
      g_string_append_printf (reasons, "%s%s", i ? "," : "", flag->reason);
    }
  g_mutex_lock (&h->lock);
  g_hash_table_insert (h->seen, g_memdup2 (&image_id, sizeof image_id), g_string_free (g_steal_pointer (&reasons), FALSE));
  h->off_thread |= g_thread_self () != h->main_thread;
  h->after_done |= h->done;
  g_mutex_unlock (&h->lock);
}

static void
async_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Handed *h = data;
  g_autoptr(GError) error = NULL;

  g_assert_true (kiln_inspector_run_finish (result, NULL, &error));
  g_assert_no_error (error);
  h->done = TRUE;
}

/* As each image is judged its flags are handed over (before duplicates,
 * which need them all): on the inspecting thread for the blocking call, on
 * the caller's context for the async one, all of them before its
 * callback. Good images are not handed over. */
static void
test_flags_as_judged (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("kiln-inspect-XXXXXX", &error);
  g_autoptr(KilnProject) project = kiln_project_open (dir, &error);
  g_autoptr(KilnInspectorSettings) settings = kiln_inspector_settings_new ();

  g_assert_no_error (error);
  copy_into (project, "good.jpg", "images/cats/good.jpg");
  copy_into (project, "truncated.jpg", "images/dogs/truncated.jpg");
  copy_into (project, "zero.jpg", "images/cats/zero.jpg");
  g_autoptr(KilnImageRecord) truncated = kiln_project_find_image (project, "images/dogs/truncated.jpg", &error);
  g_autoptr(KilnImageRecord) zero = kiln_project_find_image (project, "images/cats/zero.jpg", &error);

  for (int async = 0; async < 2; async++)
    {
      Handed h = { .seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free),
                   .main_thread = g_thread_self () };
      g_mutex_init (&h.lock);
      if (async)
        {
          kiln_inspector_run_async_full (project, NULL, 2, NULL, on_flags, &h, async_done, &h);
          while (!h.done)
            g_main_context_iteration (NULL, TRUE);
          /* Nothing is left to arrive later. */
          while (g_main_context_iteration (NULL, FALSE))
            ;
          g_assert_false (h.off_thread);
          g_assert_false (h.after_done);
        }
      else
        {
          g_autoptr(GPtrArray) reports = kiln_inspector_run_with_flags (project, settings, 2, NULL, NULL, on_flags,
                                                                        &h, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (reports);
        }
      g_assert_cmpuint (g_hash_table_size (h.seen), ==, 2);
      g_assert_cmpstr (g_hash_table_lookup (h.seen, &truncated->id), ==, "truncated");
      g_assert_cmpstr (g_hash_table_lookup (h.seen, &zero->id), ==, "zero-byte");
      g_hash_table_unref (h.seen);
      g_mutex_clear (&h.lock);
    }
  kiln_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/inspector/reasons", test_reasons);
  g_test_add_func ("/inspector/every-file-survives", test_every_file_survives);
  g_test_add_func ("/inspector/duplicates", test_duplicates);
  g_test_add_func ("/inspector/flat-frames-not-near-duplicates", test_flat_frames_not_near_duplicates);
  g_test_add_func ("/inspector/grouping-matches-brute-force", test_grouping_matches_brute_force);
  g_test_add_func ("/inspector/grouping-not-quadratic", test_grouping_not_quadratic);
  g_test_add_func ("/inspector/placeholder-file", test_placeholder_file);
  g_test_add_func ("/inspector/project-run", test_project_run);
  g_test_add_func ("/inspector/flags-as-judged", test_flags_as_judged);
  return g_test_run ();
}
