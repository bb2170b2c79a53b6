/* KilnSafetensors: reading a file written by an independent script
 * (tests/fixtures/make-safetensors.py), round trips through kiln_safetensors_save,
 * and hostile files that must fail cleanly. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kiln-core.h"

static void
test_reference_fixture (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "reference.safetensors", NULL);
  g_autoptr(KilnSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **keys = NULL;
  const KilnSafetensorsTensor *t;
  float weight[6], bias[2];
  gint64 step;
  const guint8 *half;

  st = kiln_safetensors_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_safetensors_get_n_tensors (st), ==, 6);

  g_assert_true (kiln_safetensors_read_f32 (st, "conv1.weight", weight, 6, &error));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (weight[i], ==, 0.5f * i - 1.0f);
  g_assert_true (kiln_safetensors_read_f32 (st, "conv1.bias", bias, 2, &error));
  g_assert_cmpfloat (bias[0], ==, 0.25f);
  g_assert_cmpfloat (bias[1], ==, -4.0f);
  t = kiln_safetensors_get_tensor (st, "conv1.weight");
  g_assert_cmpuint (t->n_dims, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 3);

  t = kiln_safetensors_get_tensor (st, "step");
  g_assert_cmpint (t->dtype, ==, KILN_DTYPE_I64);
  g_assert_cmpuint (t->n_dims, ==, 0);
  g_assert_cmpuint (t->n_bytes, ==, 8);
  memcpy (&step, t->data, 8);
  g_assert_cmpint (GINT64_FROM_LE (step), ==, G_GINT64_CONSTANT (123456789012));

  /* bfloat16 1.0 is 0x3F80. */
  t = kiln_safetensors_get_tensor (st, "half");
  g_assert_cmpint (t->dtype, ==, KILN_DTYPE_BF16);
  half = t->data;
  g_assert_cmpuint (half[0], ==, 0x80);
  g_assert_cmpuint (half[1], ==, 0x3f);

  t = kiln_safetensors_get_tensor (st, "empty");
  g_assert_cmpuint (t->n_bytes, ==, 0);
  g_assert_cmpint (t->shape[0], ==, 0);
  g_assert_cmpint (kiln_safetensors_get_tensor (st, "mask")->dtype, ==, KILN_DTYPE_BOOL);
  g_assert_null (kiln_safetensors_get_tensor (st, "missing"));

  g_assert_cmpstr (kiln_safetensors_get_metadata (st, "epoch"), ==, "7");
  g_assert_cmpstr (kiln_safetensors_get_metadata (st, "note"), ==, "Kiln fixture ✓");
  keys = kiln_safetensors_get_metadata_keys (st);
  g_assert_cmpstrv (keys, ((const char *[]) { "epoch", "format", "note", NULL }));

  /* Wrong dtype, wrong size, missing name. */
  g_assert_false (kiln_safetensors_read_f32 (st, "step", weight, 2, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "step: holds 8 bytes of I64"));
  g_clear_error (&error);
  g_assert_false (kiln_safetensors_read_f32 (st, "conv1.weight", weight, 5, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (kiln_safetensors_read_f32 (st, "fc9", weight, 5, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
}

static void
test_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-st-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "checkpoint.safetensors", NULL);
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(KilnSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  float weights[12], back[12];
  guint8 labels[5] = { 1, 2, 3, 4, 5 };
  gint64 epoch = GINT64_TO_LE (3);
  const gint64 wshape[] = { 3, 4 }, lshape[] = { 5 }, eshape[] = { 0 };
  const KilnSafetensorsTensor tensors[] = {
    { "fc.weight", KILN_DTYPE_F32, 2, wshape, sizeof weights, weights },
    { "epoch", KILN_DTYPE_I64, 0, NULL, 8, &epoch },
    { "labels", KILN_DTYPE_U8, 1, lshape, 5, labels },
    { "nothing", KILN_DTYPE_F32, 1, eshape, 0, NULL },
  };
  const KilnSafetensorsTensor *t;

  for (int i = 0; i < 12; i++)
    weights[i] = 1.0f / (i + 1);
  g_hash_table_insert (metadata, (char *) "net", (char *) "{\"name\": \"alexnet\"}");
  g_hash_table_insert (metadata, (char *) "epoch", (char *) "3");

  /* Written twice: the second replaces the first whole. */
  g_assert_true (kiln_safetensors_save (path, tensors, 1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (kiln_safetensors_save (path, tensors, G_N_ELEMENTS (tensors), metadata, &error));
  g_assert_no_error (error);

  st = kiln_safetensors_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_safetensors_get_n_tensors (st), ==, 4);
  /* File order is the order given; the data starts 8-byte aligned. */
  for (guint i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      t = kiln_safetensors_get_tensor_at (st, i);
      g_assert_cmpstr (t->name, ==, tensors[i].name);
      g_assert_cmpint (t->dtype, ==, tensors[i].dtype);
      g_assert_cmpuint (t->n_dims, ==, tensors[i].n_dims);
      g_assert_cmpuint (t->n_bytes, ==, tensors[i].n_bytes);
      if (t->n_bytes)
        g_assert_cmpmem (t->data, t->n_bytes, tensors[i].data, tensors[i].n_bytes);
    }
  g_assert_cmpuint (((guintptr) kiln_safetensors_get_tensor_at (st, 0)->data) % 8, ==, 0);
  g_assert_true (kiln_safetensors_read_f32 (st, "fc.weight", back, 12, &error));
  g_assert_cmpmem (back, sizeof back, weights, sizeof weights);
  g_assert_cmpstr (kiln_safetensors_get_metadata (st, "net"), ==, "{\"name\": \"alexnet\"}");
  g_assert_cmpstr (kiln_safetensors_get_metadata (st, "epoch"), ==, "3");
  g_clear_object (&st);

  /* No temp files left behind. */
  listing = g_dir_open (dir, 0, NULL);
  g_assert_cmpstr (g_dir_read_name (listing), ==, "checkpoint.safetensors");
  g_assert_null (g_dir_read_name (listing));

  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_save_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("kiln-st-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "x.safetensors", NULL);
  g_autofree char *nowhere = g_build_filename (dir, "missing", "x.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  float data[4] = { 0 };
  const gint64 shape[] = { 4 }, bad_shape[] = { -4 };
  struct { KilnSafetensorsTensor t[2]; guint n; const char *says; } cases[] = {
    { { { "a", KILN_DTYPE_F32, 1, shape, 12, data } }, 1, "a: 12 bytes" },
    { { { "a", KILN_DTYPE_F32, 1, bad_shape, 16, data } }, 1, "a: 16 bytes" },
    { { { "a", KILN_DTYPE_F32, 1, shape, 16, NULL } }, 1, "a: 16 bytes" },
    { { { "a", KILN_DTYPE_N_TYPES, 1, shape, 16, data } }, 1, "a: 16 bytes" },
    { { { "", KILN_DTYPE_F32, 1, shape, 16, data } }, 1, "“”" },
    { { { "__metadata__", KILN_DTYPE_F32, 1, shape, 16, data } }, 1, "“__metadata__”" },
    { { { "a", KILN_DTYPE_F32, 1, shape, 16, data }, { "a", KILN_DTYPE_F32, 1, shape, 16, data } }, 2, "repeated name “a”" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_false (kiln_safetensors_save (path, cases[i].t, cases[i].n, NULL, &error));
      g_assert_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, cases[i].says));
      g_clear_error (&error);
      g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    }

  g_assert_false (kiln_safetensors_save (nowhere, cases[0].t, 0, NULL, &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A file from a header and a data section, for the hostile cases. */
static GBytes *
make_file (const char *header, gsize data_size)
{
  gsize header_len = strlen (header);
  GByteArray *file = g_byte_array_new ();
  guint8 length[8];

  for (int i = 0; i < 8; i++)
    length[i] = (guint8) ((guint64) header_len >> (8 * i));
  g_byte_array_append (file, length, 8);
  g_byte_array_append (file, (const guint8 *) header, header_len);
  for (gsize i = 0; i < data_size; i++)
    g_byte_array_append (file, (const guint8 *) "\x2a", 1);
  return g_byte_array_free_to_bytes (file);
}

static void
assert_rejected (GBytes *bytes, int code, const char *says)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) st = kiln_safetensors_new_from_bytes (bytes, &error);

  g_assert_null (st);
  g_assert_error (error, KILN_ERROR, code);
  if (says && strstr (error->message, says) == NULL)
    g_error ("“%s” does not say “%s”", error->message, says);
}

static void
test_hostile_headers (void)
{
  struct { const char *header; gsize data; int code; const char *says; } cases[] = {
    { "[]", 0, KILN_ERROR_CORRUPT, "JSON object" },
    { "{\"a\": ", 0, KILN_ERROR_CORRUPT, "not valid JSON" },
    { "{\"a\": {\"dtype\": \"F8_E4M3\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1, KILN_ERROR_UNSUPPORTED, "a: dtype “F8_E4M3”" },
    { "{\"a\": {\"dtype\": 3, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4, KILN_ERROR_CORRUPT, "begin ≤ end" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}}", 4, KILN_ERROR_CORRUPT, "exactly" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "exactly" },
    { "{\"a\": [1, 2]}", 0, KILN_ERROR_CORRUPT, "a: a tensor needs" },
    /* dtype × shape disagrees with the byte range. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "a: its dtype and shape do not match its 4 bytes" },
    /* The element count overflows 64 bits. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4], \"data_offsets\": [0, 4]}}", 4, KILN_ERROR_CORRUPT, "do not match" },
    /* Claims 10 GB in a 4-byte data section. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [50000, 50000], \"data_offsets\": [0, 10000000000]}}", 4, KILN_ERROR_CORRUPT, "GB ending at byte 10000000000, but the data section has only 4 bytes" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [9223372036854775807, 9223372036854775807]}}", 4, KILN_ERROR_CORRUPT, "do not match" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 4, KILN_ERROR_CORRUPT, "a tensor needs" },
    /* Gaps, overlaps and trailing bytes. */
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, KILN_ERROR_CORRUPT, "a: starts at byte 4 where 0 was expected" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
      8, KILN_ERROR_CORRUPT, "starts at byte 4 where 8 was expected" },
    { "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 9, KILN_ERROR_CORRUPT, "cover 4 bytes but the data section has 9" },
    { "{}", 1, KILN_ERROR_CORRUPT, "cover 0 bytes" },
    /* Metadata must be strings. */
    { "{\"__metadata__\": {\"epoch\": 3}}", 0, KILN_ERROR_CORRUPT, "“__metadata__” must map strings to strings" },
    { "{\"__metadata__\": [\"x\"]}", 0, KILN_ERROR_CORRUPT, "“__metadata__”" },
    /* Nesting deep enough to worry a recursive parser. */
    { "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, KILN_ERROR_CORRUPT, "expected shape" },
    { "{\"a\xff\": 1}", 0, KILN_ERROR_CORRUPT, "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = make_file (cases[i].header, cases[i].data);
      g_autofree char *printable = g_strescape (cases[i].header, NULL);
      g_test_message ("case %u: %s", i, printable);
      assert_rejected (bytes, cases[i].code, cases[i].says);
    }

  /* The same shape of file, valid, loads: each case fails for its own reason. */
  g_autoptr(GBytes) good = make_file ("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                                      " \"__metadata__\": {\"epoch\": \"3\"}}  ", 4);
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnSafetensors) st = kiln_safetensors_new_from_bytes (good, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (kiln_safetensors_get_n_tensors (st), ==, 1);
}

static void
test_hostile_lengths (void)
{
  static const guint8 tiny[] = { 1, 2, 3 };
  guint8 huge[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}' };
  guint8 over[16] = { 0x00, 0xe2, 0x0b, 0x06, 0, 0, 0, 0, '{', '}' };   /* 101,442,048 */
  guint8 zero[16] = { 0 };
  guint8 nul[16] = { 4, 0, 0, 0, 0, 0, 0, 0, '{', '\0', '}', ' ' };
  g_autoptr(GBytes) b1 = g_bytes_new_static (tiny, sizeof tiny);
  g_autoptr(GBytes) b2 = g_bytes_new_static (huge, sizeof huge);
  g_autoptr(GBytes) b3 = g_bytes_new_static (over, sizeof over);
  g_autoptr(GBytes) b4 = g_bytes_new_static (zero, sizeof zero);
  g_autoptr(GBytes) b5 = g_bytes_new_static (nul, 12);
  g_autoptr(GBytes) b6 = g_bytes_new_static (nul, 0);

  assert_rejected (b1, KILN_ERROR_CORRUPT, "3 bytes is too short");
  assert_rejected (b2, KILN_ERROR_CORRUPT, "The header claims 9223372036854775807 bytes, but the file has 8");
  assert_rejected (b3, KILN_ERROR_CORRUPT, "claims 101442048 bytes");
  assert_rejected (b4, KILN_ERROR_CORRUPT, "claims 0 bytes");
  assert_rejected (b5, KILN_ERROR_CORRUPT, "UTF-8 JSON object");
  assert_rejected (b6, KILN_ERROR_CORRUPT, "0 bytes is too short");
}

/* A 10 GB claim on disk: mapped, checked against the real size, refused,
 * with the address space capped so any attempt to allocate it would abort. */
static void
test_huge_claim_file (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *path = NULL;
      g_autoptr(GBytes) bytes = make_file ("{\"w\": {\"dtype\": \"F32\", \"shape\": [50000, 50000],"
                                           " \"data_offsets\": [0, 10000000000]}}", 16);
      g_autoptr(GError) error = NULL;
      int fd = g_file_open_tmp ("kiln-huge-claim-XXXXXX.safetensors", &path, &error);

      g_assert_no_error (error);
      close (fd);
      g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
#ifndef __SANITIZE_ADDRESS__
      {
        /* ASan reserves terabytes of shadow memory, so only the plain build caps it. */
        struct rlimit limit = { (rlim_t) 1 << 30, (rlim_t) 1 << 30 };
        g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
      }
#endif
      g_assert_null (kiln_safetensors_new_from_file (path, &error));
      g_assert_error (error, KILN_ERROR, KILN_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "w: claims 10.0"));
      g_remove (path);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (kiln_safetensors_new_from_file ("/nonexistent/kiln.safetensors", &error));
  g_assert_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/reference-fixture", test_reference_fixture);
  g_test_add_func ("/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/save-errors", test_save_errors);
  g_test_add_func ("/safetensors/hostile-headers", test_hostile_headers);
  g_test_add_func ("/safetensors/hostile-lengths", test_hostile_lengths);
  g_test_add_func ("/safetensors/huge-claim-file", test_huge_claim_file);
  g_test_add_func ("/safetensors/missing-file", test_missing_file);
  return g_test_run ();
}
