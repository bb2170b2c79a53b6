/* KilnSynsets: the compiled-in WordNet noun hierarchy answers look-ups,
 * hierarchy walks and searches correctly, its stored subtree sizes agree with
 * a walk of the loaded hierarchy, the committed data file is what the
 * generator makes from Debian's data.noun, and bad files are errors. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-synsets.h"

#define WN_DATA_NOUN "/usr/share/wordnet/data.noun"

static KilnSynsets *
get_synsets (void)
{
  g_autoptr(GError) error = NULL;
  KilnSynsets *synsets = kiln_synsets_get_default (&error);

  g_assert_no_error (error);
  g_assert_nonnull (synsets);
  return synsets;
}

static guint
must_lookup (KilnSynsets *s, const char *wnid)
{
  guint i = kiln_synsets_lookup (s, wnid);
  g_assert_cmpuint (i, !=, KILN_SYNSET_NONE);
  g_assert_cmpstr (kiln_synsets_get_wnid (s, i), ==, wnid);
  return i;
}

static gboolean
array_has (GArray *a, guint v)
{
  for (guint i = 0; i < a->len; i++)
    if (g_array_index (a, guint, i) == v)
      return TRUE;
  return FALSE;
}

static void
test_lookup (void)
{
  g_autoptr(KilnSynsets) s = get_synsets ();
  guint cat = must_lookup (s, "n02121808");
  const char * const *words = kiln_synsets_get_words (s, cat);
  guint n_1k = 0, n_21k = 0;

  /* WordNet 3.0 has 82,115 noun synsets. */
  g_assert_cmpuint (kiln_synsets_get_n_synsets (s), ==, 82115);
  g_assert_cmpstr (kiln_synsets_get_name (s, cat), ==, "domestic cat");
  g_assert_cmpuint (g_strv_length ((char **) words), ==, 4);
  g_assert_cmpstr (words[3], ==, "Felis catus");
  g_assert_cmpstr (kiln_synsets_get_gloss (s, cat), ==, "any domesticated member of the genus Felis");
  g_assert_true (kiln_synsets_in_21k (s, cat));
  g_assert_false (kiln_synsets_in_1k (s, cat));

  /* tabby is an ILSVRC-2012 class; "teddy" is the one 1k class outside the 21k list. */
  g_assert_true (kiln_synsets_in_1k (s, must_lookup (s, "n02123045")));
  g_assert_true (kiln_synsets_in_1k (s, must_lookup (s, "n04399382")));
  g_assert_false (kiln_synsets_in_21k (s, must_lookup (s, "n04399382")));

  for (guint i = 0; i < kiln_synsets_get_n_synsets (s); i++)
    {
      n_1k += kiln_synsets_in_1k (s, i);
      n_21k += kiln_synsets_in_21k (s, i);
    }
  g_assert_cmpuint (n_1k, ==, 1000);
  g_assert_cmpuint (n_21k, ==, 21843);

  g_assert_cmpuint (kiln_synsets_lookup (s, "n99999999"), ==, KILN_SYNSET_NONE);
  g_assert_cmpuint (kiln_synsets_lookup (s, "n0212180"), ==, KILN_SYNSET_NONE);
  g_assert_cmpuint (kiln_synsets_lookup (s, "x02121808"), ==, KILN_SYNSET_NONE);
  g_assert_cmpuint (kiln_synsets_lookup (s, ""), ==, KILN_SYNSET_NONE);
}

static void
test_hierarchy (void)
{
  g_autoptr(KilnSynsets) s = get_synsets ();
  guint cat = must_lookup (s, "n02121808");
  guint entity = must_lookup (s, "n00001740");
  guint n_parents, n_children;
  const guint *parents = kiln_synsets_get_parents (s, cat, &n_parents);
  const guint *children = kiln_synsets_get_children (s, cat, &n_children);
  g_autoptr(GArray) ancestors = kiln_synsets_get_ancestors (s, cat);
  g_autoptr(GArray) below = kiln_synsets_get_descendants (s, cat, 0);

  /* domestic cat: a cat and a domestic animal; 16 hyponyms (tabby, Persian, …). */
  g_assert_cmpuint (n_parents, ==, 2);
  g_assert_cmpstr (kiln_synsets_get_wnid (s, parents[0]), ==, "n02121620");
  g_assert_cmpstr (kiln_synsets_get_wnid (s, parents[1]), ==, "n01317541");
  g_assert_cmpuint (n_children, ==, 16);
  g_assert_true (array_has (ancestors, must_lookup (s, "n02121620")));
  g_assert_true (array_has (ancestors, must_lookup (s, "n01317541")));
  g_assert_cmpuint (g_array_index (ancestors, guint, ancestors->len - 1), ==, entity);
  g_assert_false (array_has (ancestors, cat));
  g_assert_cmpuint (below->len, ==, kiln_synsets_get_subtree_size (s, cat, 0));
  g_assert_cmpuint (g_array_index (below, guint, 0), ==, cat);
  for (guint k = 0; k < n_children; k++)
    g_assert_true (array_has (below, children[k]));

  g_assert_cmpuint (kiln_synsets_get_subtree_size (s, entity, 0), ==, 82115);
  g_assert_cmpuint (kiln_synsets_get_subtree_size (s, entity, KILN_SYNSET_IN_21K), ==, 21843);
  g_assert_cmpuint (kiln_synsets_get_subtree_size (s, entity, KILN_SYNSET_IN_1K), ==, 1000);

  /* Every synset: children and parents mirror each other, the root is
   * reached, and the stored subtree sizes (computed by the generator) agree
   * with a walk of the hierarchy as loaded (checked on a stride to stay fast). */
  for (guint i = 0; i < kiln_synsets_get_n_synsets (s); i++)
    {
      const guint *ps = kiln_synsets_get_parents (s, i, &n_parents);
      const guint *cs = kiln_synsets_get_children (s, i, &n_children);

      g_assert_true (n_parents > 0 || i == entity);
      for (guint k = 0; k < n_children; k++)
        {
          guint np, found = 0;
          const guint *cp = kiln_synsets_get_parents (s, cs[k], &np);
          for (guint j = 0; j < np; j++)
            found += cp[j] == i;
          g_assert_cmpuint (found, ==, 1);
        }
      (void) ps;
      if (i % 97 == 0)
        {
          g_autoptr(GArray) a = kiln_synsets_get_ancestors (s, i);
          g_autoptr(GArray) d21 = kiln_synsets_get_descendants (s, i, KILN_SYNSET_IN_21K);
          g_autoptr(GArray) d1 = kiln_synsets_get_descendants (s, i, KILN_SYNSET_IN_1K);
          g_assert_true (i == entity || g_array_index (a, guint, a->len - 1) == entity);
          g_assert_cmpuint (d21->len, ==, kiln_synsets_get_subtree_size (s, i, KILN_SYNSET_IN_21K));
          g_assert_cmpuint (d1->len, ==, kiln_synsets_get_subtree_size (s, i, KILN_SYNSET_IN_1K));
        }
    }

  /* The dog subtree holds the ILSVRC dog breeds. */
  {
    guint dog = must_lookup (s, "n02084071");
    g_autoptr(GArray) dogs = kiln_synsets_get_descendants (s, dog, KILN_SYNSET_IN_1K);
    g_assert_cmpuint (dogs->len, ==, kiln_synsets_get_subtree_size (s, dog, KILN_SYNSET_IN_1K));
    g_assert_cmpuint (dogs->len, >=, 110);
    g_assert_true (array_has (dogs, must_lookup (s, "n02085620")));  /* Chihuahua */
    for (guint i = 0; i < dogs->len; i++)
      g_assert_true (kiln_synsets_in_1k (s, g_array_index (dogs, guint, i)));
  }
}

static void
assert_first (KilnSynsets *s, const char *query, const char *wnid)
{
  g_autoptr(GArray) r = kiln_synsets_search (s, query, 10);

  g_assert_cmpuint (r->len, >, 0);
  g_assert_cmpstr (kiln_synsets_get_wnid (s, g_array_index (r, guint, 0)), ==, wnid);
}

static void
test_search (void)
{
  g_autoptr(KilnSynsets) s = get_synsets ();
  guint cat = must_lookup (s, "n02121808");

  /* Exact lemma first; among the exact "cat"s the ImageNet one first. */
  {
    g_autoptr(GArray) r = kiln_synsets_search (s, "Cat", 0);
    guint first = g_array_index (r, guint, 0);
    gboolean exact = FALSE;
    for (guint k = 0; kiln_synsets_get_words (s, first)[k]; k++)
      exact |= g_ascii_strcasecmp (kiln_synsets_get_words (s, first)[k], "cat") == 0;
    g_assert_true (exact);
    g_assert_true (kiln_synsets_in_21k (s, first));
    g_assert_true (array_has (r, cat));
    /* Every result contains the query, case-insensitively. */
    for (guint i = 0; i < r->len; i++)
      {
        const char * const *w = kiln_synsets_get_words (s, g_array_index (r, guint, i));
        gboolean hit = FALSE;
        for (guint k = 0; w[k] && !hit; k++)
          {
            g_autofree char *lower = g_ascii_strdown (w[k], -1);
            hit = strstr (lower, "cat") != NULL;
          }
        g_assert_true (hit);
      }
  }
  assert_first (s, "domestic cat", "n02121808");
  assert_first (s, "DOMESTIC_CAT", "n02121808");
  assert_first (s, "felis catus", "n02121808");
  assert_first (s, "  tabby cat ", "n02123045");
  assert_first (s, "n02121808", "n02121808");
  {
    g_autoptr(GArray) r = kiln_synsets_search (s, "omestic ca", 0);
    g_assert_true (array_has (r, cat));
    g_autoptr(GArray) limited = kiln_synsets_search (s, "a", 5);
    g_assert_cmpuint (limited->len, ==, 5);
    g_autoptr(GArray) wn = kiln_synsets_search (s, "n021218", 0);
    g_assert_true (array_has (wn, cat));
    g_autoptr(GArray) none = kiln_synsets_search (s, "zzqxj", 0);
    g_assert_cmpuint (none->len, ==, 0);
    g_autoptr(GArray) empty = kiln_synsets_search (s, "   ", 0);
    g_assert_cmpuint (empty->len, ==, 0);
  }
}

/* As-you-type speed: every prefix of a few words, timed. Prints the times;
 * asserts only that each query answered correctly. */
static void
test_search_speed (void)
{
  g_autoptr(KilnSynsets) s = get_synsets ();
  const char *words[] = { "domestic cat", "golden retriever", "e", "aircraft carrier", "zebra" };
  double total = 0, worst = 0;
  guint n = 0;

  for (guint w = 0; w < G_N_ELEMENTS (words); w++)
    for (gsize len = 1; len <= strlen (words[w]); len++)
      {
        g_autofree char *q = g_strndup (words[w], len);
        gint64 t0 = g_get_monotonic_time ();
        g_autoptr(GArray) r = kiln_synsets_search (s, q, 200);
        double ms = (g_get_monotonic_time () - t0) / 1000.0;

        g_assert_cmpuint (r->len, >, 0);
        total += ms;
        worst = MAX (worst, ms);
        n++;
      }
  g_test_message ("search over %u synsets: %u queries, mean %.2f ms, worst %.2f ms",
                  kiln_synsets_get_n_synsets (s), n, total / n, worst);
  g_printerr ("# search: %u queries, mean %.2f ms, worst %.2f ms\n", n, total / n, worst);
}

static GBytes *
gunzip_file (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) raw = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();

  g_assert_no_error (error);
  in = g_converter_input_stream_new (raw, G_CONVERTER (z));
  g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* The committed data file is exactly what the committed generator makes. */
static void
test_generator_matches (void)
{
  const char *srcdir = g_getenv ("KILN_SOURCE_DIR");
  g_autofree char *script = NULL, *committed = NULL, *tmpdir = NULL, *fresh = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = NULL, b = NULL;
  int status = 0;

  if (!g_file_test (WN_DATA_NOUN, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("Debian's wordnet-base is not installed (" WN_DATA_NOUN ")");
      return;
    }
  g_assert_nonnull (srcdir);
  script = g_build_filename (srcdir, "data", "gen-synsets.py", NULL);
  committed = g_build_filename (srcdir, "data", "synsets.tsv.gz", NULL);
  tmpdir = g_dir_make_tmp ("kiln-synsets-XXXXXX", &error);
  g_assert_no_error (error);
  fresh = g_build_filename (tmpdir, "synsets.tsv.gz", NULL);
  {
    const char *argv[] = { "/usr/bin/python3", script, WN_DATA_NOUN, fresh, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                  NULL, NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  a = gunzip_file (committed);
  b = gunzip_file (fresh);
  g_assert_true (g_bytes_equal (a, b));
  g_unlink (fresh);
  g_rmdir (tmpdir);
}

static void
test_bad_files (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSynsets) missing = kiln_synsets_new_from_file ("/nonexistent/synsets.tsv.gz", &error);

  g_assert_null (missing);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
  g_clear_error (&error);

  {
    g_autoptr(GBytes) junk = g_bytes_new_static ("not gzip at all", 15);
    g_autoptr(KilnSynsets) s = kiln_synsets_new_from_bytes (junk, "junk", &error);
    g_assert_null (s);
    g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
    g_clear_error (&error);
  }

  /* Well-formed gzip, bad rows: a dangling parent, a short row. */
  {
    const char *rows[] = {
      "n00000001\t-\t-\t1\t0\t0\troot\tthe root\nn00000002\t2\tn00000009\t1\t1\t0\tleaf\ta leaf\n",
      "n00000001\t-\t-\t1\t0\t0\troot\n",
      "n00000002\t-\t-\t1\t0\t0\tb\tx\nn00000001\t-\t-\t1\t0\t0\ta\tx\n",
    };
    for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
      {
        g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
        g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
        g_autoptr(GOutputStream) gz = g_converter_output_stream_new (mem, G_CONVERTER (z));
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(KilnSynsets) s = NULL;

        g_output_stream_write_all (gz, rows[i], strlen (rows[i]), NULL, NULL, &error);
        g_assert_no_error (error);
        g_output_stream_close (gz, NULL, &error);
        g_assert_no_error (error);
        bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
        s = kiln_synsets_new_from_bytes (bytes, "rows", &error);
        g_assert_null (s);
        g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
        g_assert_nonnull (strstr (error->message, "rows"));
        g_clear_error (&error);
      }
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/synsets/lookup", test_lookup);
  g_test_add_func ("/synsets/hierarchy", test_hierarchy);
  g_test_add_func ("/synsets/search", test_search);
  g_test_add_func ("/synsets/search-speed", test_search_speed);
  g_test_add_func ("/synsets/generator-matches", test_generator_matches);
  g_test_add_func ("/synsets/bad-files", test_bad_files);
  return g_test_run ();
}
