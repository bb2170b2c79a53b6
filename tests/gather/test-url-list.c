/* KilnUrlList: both line forms, comments, blank lines, CRLF, a last line
 * without a newline, lines that hold no URL (invalid UTF-8, binary data, an
 * id without a URL, a line longer than the window) reported by number
 * while the lines after them are read, and lines cut across the read
 * window's edge. */
#include <gio/gio.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-url-list.h"

static KilnUrlList *
list_for (const char *text, gssize len)
{
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data (g_memdup2 (text, len < 0 ? strlen (text) : (gsize) len),
                                                                    len < 0 ? (gssize) strlen (text) : len, g_free);
  return kiln_url_list_new_for_stream (in, "test");
}

static void
test_forms (void)
{
  g_autoptr(KilnUrlList) list = list_for ("# comment\n\n"
                                          "n02121808_1\thttp://a/1.jpg\r\n"
                                          "  http://b/2.png  \n"
                                          "bad\xff\xfe line\n"
                                          "custom-id\thttp://c/3.gif\n"
                                          "n02121808_2\t\n"
                                          "http://e/5.jpg\t\n"
                                          "http://d/4.jpg", -1);
  g_autoptr(GError) error = NULL;
  KilnUrlEntry e;

  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_cmpstr (e.id, ==, "n02121808_1");
  g_assert_cmpstr (e.wnid, ==, "n02121808");
  g_assert_cmpstr (e.url, ==, "http://a/1.jpg");
  g_assert_cmpuint (e.line, ==, 3);
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_null (e.id);
  g_assert_cmpstr (e.wnid, ==, "");
  g_assert_cmpstr (e.url, ==, "http://b/2.png");
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_null (e.url);
  g_assert_nonnull (strstr (e.problem, "UTF-8"));
  g_assert_cmpuint (e.line, ==, 5);
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_cmpstr (e.id, ==, "custom-id");
  g_assert_cmpstr (e.wnid, ==, "");
  g_assert_cmpstr (e.url, ==, "http://c/3.gif");
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_null (e.url);
  g_assert_cmpstr (e.problem, ==, "an image id without a URL");
  g_assert_cmpuint (e.line, ==, 7);
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_null (e.id);
  g_assert_null (e.problem);
  g_assert_cmpstr (e.url, ==, "http://e/5.jpg");
  g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_cmpstr (e.url, ==, "http://d/4.jpg");
  g_assert_cmpuint (e.line, ==, 9);
  g_assert_false (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_url_list_get_n_invalid (list), ==, 2);
}

/* 100,000 lines cross the 256 kB window many times; every one comes back. */
static void
test_window_edges (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(KilnUrlList) list = NULL;
  g_autoptr(GError) error = NULL;
  KilnUrlEntry e;
  guint n = 0;

  for (guint i = 0; i < 100000; i++)
    g_string_append_printf (text, "n%08u_%u\thttp://farm%u.example/%u.jpg\n", i % 1000, i, i % 7, i);
  list = list_for (text->str, text->len);
  while (kiln_url_list_next (list, &e, NULL, &error))
    {
      g_autofree char *want = g_strdup_printf ("http://farm%u.example/%u.jpg", n % 7, n);
      g_assert_cmpstr (e.url, ==, want);
      n++;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 100000);
}

/* A line over the 256 KiB window, at the start, in the middle and last
 * without a newline, and binary data: each is one numbered problem line,
 * and every URL around them comes back. */
static void
test_bad_lines (void)
{
  g_autofree char *line = g_strnfill (300 * 1024, 'x');
  g_autofree char *text = g_strdup_printf ("%s\nhttp://a/1.jpg\n%s\nhttp://b/2.jpg\n\x89PNG\r\n"
                                           "bin\001ary\nhttp://c/3.jpg\n%s", line, line, line);
  g_autoptr(KilnUrlList) list = list_for (text, -1);
  g_autoptr(GError) error = NULL;
  struct { guint64 line; const char *url; const char *problem; } want[] = {
    { 1, NULL, "longer than 256 KiB" }, { 2, "http://a/1.jpg", NULL }, { 3, NULL, "longer than 256 KiB" },
    { 4, "http://b/2.jpg", NULL }, { 5, NULL, "binary data" }, { 6, NULL, "control characters" },
    { 7, "http://c/3.jpg", NULL }, { 8, NULL, "longer than 256 KiB" },
  };
  KilnUrlEntry e;

  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_assert_true (kiln_url_list_next (list, &e, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (e.line, ==, want[i].line);
      g_assert_cmpstr (e.url, ==, want[i].url);
      if (want[i].problem)
        g_assert_true (g_str_has_prefix (e.problem, want[i].problem));
      else
        g_assert_null (e.problem);
    }
  g_assert_false (kiln_url_list_next (list, &e, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_url_list_get_n_invalid (list), ==, 5);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnUrlList) list = kiln_url_list_open ("/nonexistent/urls.txt", &error);

  g_assert_null (list);
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/urls.txt"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/url-list/forms", test_forms);
  g_test_add_func ("/url-list/window-edges", test_window_edges);
  g_test_add_func ("/url-list/bad-lines", test_bad_lines);
  g_test_add_func ("/url-list/missing-file", test_missing_file);
  return g_test_run ();
}
