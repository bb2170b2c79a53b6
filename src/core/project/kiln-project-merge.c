/* kiln-project-merge.c: joins another project into this one (see the
 * header). Files first, each atomically; then the rows of the source in
 * one transaction. A crash between the two leaves files no row names; the
 * next merge finds them by their bytes and uses them instead of copying. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-project-merge.h"
#include "kiln-project-private.h"

/* Gathering's own default: a placeholder is matched within 6 bits. */
#define PLACEHOLDER_DISTANCE 6

typedef struct {
  KilnImageRecord *record;     /* the source row, its path rewritten to ours */
  GPtrArray       *flags;      /* the source's KilnFlag for it, or NULL */
  char            *duplicate;  /* the image here with the same bytes */
  char            *near;       /* the image here that looks like it */
  int              near_bits;
  char            *placeholder;  /* the note of the placeholder it matches */
} Incoming;

static void
incoming_free (Incoming *in)
{
  kiln_image_record_free (in->record);
  g_clear_pointer (&in->flags, g_ptr_array_unref);
  g_free (in->duplicate);
  g_free (in->near);
  g_free (in->placeholder);
  g_free (in);
}

typedef struct {
  KilnProject    *source;
  GHashTable     *by_key;      /* identity key → our path (images already here) */
  GHashTable     *by_sha;      /* sha256 → our path, the images here before this source */
  GArray         *phashes;     /* guint64 of the images here before this source … */
  GPtrArray      *phash_paths; /* … and their paths */
  GHashTable     *taken;       /* our paths that a row names */
  GHashTable     *path_map;    /* source path → our path, for the downloads' file column */
  GPtrArray      *incoming;    /* Incoming * */
  GPtrArray      *downloads;   /* the source's KilnDownloadRecord * to write */
  GPtrArray      *placeholders;  /* the source's KilnPlaceholderRecord * */
  GArray         *foreign_placeholders;  /* guint64: ours that the source does not know */
  GPtrArray      *foreign_notes;
  KilnMergeStats  stats;
} Merge;

static void
merge_clear (Merge *m)
{
  g_clear_object (&m->source);
  g_clear_pointer (&m->by_key, g_hash_table_unref);
  g_clear_pointer (&m->by_sha, g_hash_table_unref);
  g_clear_pointer (&m->phashes, g_array_unref);
  g_clear_pointer (&m->phash_paths, g_ptr_array_unref);
  g_clear_pointer (&m->taken, g_hash_table_unref);
  g_clear_pointer (&m->path_map, g_hash_table_unref);
  g_clear_pointer (&m->incoming, g_ptr_array_unref);
  g_clear_pointer (&m->downloads, g_ptr_array_unref);
  g_clear_pointer (&m->placeholders, g_ptr_array_unref);
  g_clear_pointer (&m->foreign_placeholders, g_array_unref);
  g_clear_pointer (&m->foreign_notes, g_ptr_array_unref);
}

/* Which image a row is, whatever project holds it: its bytes and where it
 * came from. Rows without a URL get one when merged (see below), so the
 * key survives a rename. */
static char *
identity_key (const char *sha256, const char *source_url, const char *path)
{
  if (source_url && *source_url)
    return g_strconcat (sha256, "\nurl\n", source_url, NULL);
  return g_strconcat (sha256, "\npath\n", path, NULL);
}

/* An image without a source URL (labelled from a folder) is known by its
 * file in the source project, as a file:// URL like the folder source's;
 * a discarded one by where it was kept, so a later restore there does not
 * make it new. */
static void
give_origin (KilnProject *source, KilnImageRecord *r)
{
  if (r->source_url && *r->source_url)
    return;
  g_autofree char *abs_path = kiln_project_build_path (source, r->original_path ? r->original_path : r->path);
  g_autofree char *canonical = g_canonicalize_filename (abs_path, NULL);
  g_free (r->source_url);
  r->source_url = g_filename_to_uri (canonical, NULL, NULL);
}

static char *
sha256_of (const char *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static gboolean
same_bytes_on_disk (const char *abs_path, const char *sha256)
{
  g_autofree char *data = NULL;
  gsize len;

  if (!g_file_get_contents (abs_path, &data, &len, NULL))
    return FALSE;
  g_autofree char *sum = sha256_of (data, len);
  return g_strcmp0 (sum, sha256) == 0;
}

/* "dir/name.ext" → "dir/name-N.ext". */
static char *
numbered_path (const char *path, guint n)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');
  g_autofree char *stem = dot && dot != base ? g_strndup (base, dot - base) : g_strdup (base);
  const char *ext = dot && dot != base ? dot : "";

  return g_strdup_printf ("%s/%s-%u%s", dir, stem, n, ext);
}

/* Puts the bytes at our path for the image, atomically, unless a file
 * with these very bytes lies there unclaimed (a merge cut short). */
static gboolean
place_file (KilnProject *self, Merge *m, KilnImageRecord *record, const char *data, gsize len,
            GError **error)
{
  g_autofree char *wanted = g_strdup (record->path);
  g_autofree char *path = g_strdup (wanted);
  g_autofree char *abs_path = NULL;
  g_autofree char *dir = NULL;

  for (guint n = 2;; n++)
    {
      g_free (abs_path);
      abs_path = kiln_project_build_path (self, path);
      if (!g_hash_table_contains (m->taken, path) &&
          (!g_file_test (abs_path, G_FILE_TEST_EXISTS) || same_bytes_on_disk (abs_path, record->sha256)))
        break;
      g_free (path);
      path = numbered_path (wanted, n);
    }
  if (strcmp (path, wanted) != 0)
    m->stats.n_renamed++;
  if (!g_file_test (abs_path, G_FILE_TEST_EXISTS))
    {
      dir = g_path_get_dirname (abs_path);
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot create the folder: %s", dir,
                       g_strerror (saved));
          return FALSE;
        }
      /* Temporary file, fsync, rename: a crash leaves the whole file or none. */
      if (!g_file_set_contents_full (abs_path, data, len,
                                     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error))
        return FALSE;
    }
  g_free (record->path);
  record->path = g_steal_pointer (&path);
  return TRUE;
}

static gboolean
load_ours (KilnProject *self, Merge *m, GError **error)
{
  g_autoptr(GPtrArray) images = kiln_project_list_images (self, NULL, -1, error);

  if (images == NULL)
    return FALSE;
  for (guint i = 0; i < images->len; i++)
    {
      const KilnImageRecord *r = images->pdata[i];

      g_hash_table_add (m->taken, g_strdup (r->path));
      if (r->sha256 == NULL)
        continue;
      g_hash_table_insert (m->by_key, identity_key (r->sha256, r->source_url, r->path), g_strdup (r->path));
      if (!g_hash_table_contains (m->by_sha, r->sha256))
        g_hash_table_insert (m->by_sha, g_strdup (r->sha256), g_strdup (r->path));
      if (r->has_phash)
        {
          g_array_append_val (m->phashes, r->phash);
          g_ptr_array_add (m->phash_paths, g_strdup (r->path));
        }
    }
  return TRUE;
}

/* Placeholders here that the source did not know: what another project
 * learned, which the source's images were never checked against. */
static gboolean
load_placeholders (KilnProject *self, Merge *m, GError **error)
{
  g_autoptr(GPtrArray) ours = kiln_project_list_placeholders (self, error);
  g_autoptr(GHashTable) theirs = g_hash_table_new (g_int64_hash, g_int64_equal);

  if (ours == NULL)
    return FALSE;
  m->placeholders = kiln_project_list_placeholders (m->source, error);
  if (m->placeholders == NULL)
    return FALSE;
  for (guint i = 0; i < m->placeholders->len; i++)
    g_hash_table_add (theirs, &((KilnPlaceholderRecord *) m->placeholders->pdata[i])->phash);
  for (guint i = 0; i < ours->len; i++)
    {
      KilnPlaceholderRecord *p = ours->pdata[i];

      if (g_hash_table_contains (theirs, &p->phash))
        continue;
      g_array_append_val (m->foreign_placeholders, p->phash);
      g_ptr_array_add (m->foreign_notes, g_strdup (p->note ? p->note : "a placeholder"));
    }
  return TRUE;
}

/* Cross-project checks against what was here before this source. A linear
 * scan: a merge of millions would want an index on hash blocks. */
static void
judge (Merge *m, Incoming *in)
{
  const KilnImageRecord *r = in->record;
  const char *same = g_hash_table_lookup (m->by_sha, r->sha256);

  if (same)
    in->duplicate = g_strdup (same);
  if (!r->has_phash)
    return;
  for (guint i = 0; i < m->foreign_placeholders->len && in->placeholder == NULL; i++)
    if (__builtin_popcountll (r->phash ^ g_array_index (m->foreign_placeholders, guint64, i)) <= PLACEHOLDER_DISTANCE)
      in->placeholder = g_strdup (m->foreign_notes->pdata[i]);
}

static void
judge_near (Merge *m, Incoming *in, int near_distance)
{
  const KilnImageRecord *r = in->record;
  int best = near_distance + 1;

  if (!r->has_phash || in->duplicate)
    return;
  for (guint i = 0; i < m->phashes->len; i++)
    {
      int bits = __builtin_popcountll (r->phash ^ g_array_index (m->phashes, guint64, i));

      if (bits < best)
        {
          best = bits;
          g_free (in->near);
          in->near = g_strdup (m->phash_paths->pdata[i]);
        }
    }
  in->near_bits = best;
}

static gboolean
gather_incoming (KilnProject *self, Merge *m, int near_distance, GCancellable *cancellable, GError **error)
{
  g_autoptr(GPtrArray) images = kiln_project_list_images (m->source, NULL, -1, error);
  g_autoptr(GPtrArray) flags = images ? kiln_project_list_flags (m->source, 0, error) : NULL;
  g_autoptr(GHashTable) flags_of = NULL;

  if (flags == NULL)
    return FALSE;
  flags_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < flags->len; i++)
    {
      KilnFlag *f = flags->pdata[i];
      GPtrArray *list = g_hash_table_lookup (flags_of, &f->image_id);

      if (list == NULL)
        {
          list = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_flag_free);
          g_hash_table_insert (flags_of, &f->image_id, list);
        }
      g_ptr_array_add (list, flags->pdata[i]);
      flags->pdata[i] = kiln_flag_new (f->image_id, f->reason, f->detail);
    }

  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *r = images->pdata[i];
      g_autofree char *abs_path = kiln_project_build_path (m->source, r->path);
      g_autofree char *data = NULL;
      g_autofree char *key = NULL;
      gsize len;
      const char *here;
      Incoming *in;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!g_file_get_contents (abs_path, &data, &len, error))
        {
          g_prefix_error (error, "%s: ", kiln_project_get_path (m->source));
          return FALSE;
        }
      /* The bytes on disk are the truth; a row without a hash gets one. */
      g_free (r->sha256);
      r->sha256 = sha256_of (data, len);
      give_origin (m->source, r);
      key = identity_key (r->sha256, r->source_url, r->path);
      here = g_hash_table_lookup (m->by_key, key);
      if (here)
        {
          g_hash_table_insert (m->path_map, g_strdup (r->path), g_strdup (here));
          m->stats.n_already++;
          continue;
        }
      in = g_new0 (Incoming, 1);
      in->record = kiln_image_record_copy (r);
      in->flags = g_hash_table_lookup (flags_of, &r->id);
      if (in->flags)
        g_ptr_array_ref (in->flags);
      judge (m, in);
      judge_near (m, in, near_distance);
      if (!place_file (self, m, in->record, data, len, error))
        {
          incoming_free (in);
          return FALSE;
        }
      g_hash_table_add (m->taken, g_strdup (in->record->path));
      g_hash_table_insert (m->path_map, g_strdup (r->path), g_strdup (in->record->path));
      /* Two images of one source with the same identity: the second is
       * "already here" once the first is. */
      g_hash_table_insert (m->by_key, g_steal_pointer (&key), g_strdup (in->record->path));
      g_ptr_array_add (m->incoming, in);
    }
  return TRUE;
}

/* Which of the source's download outcomes to write: one we lack, or a
 * final one where ours is not, or a kept one where ours is not kept. */
static gboolean
choose_downloads (KilnProject *self, Merge *m, GError **error)
{
  g_autoptr(GPtrArray) theirs = kiln_project_list_downloads (m->source, NULL, error);

  if (theirs == NULL)
    return FALSE;
  for (guint i = 0; i < theirs->len; i++)
    {
      KilnDownloadRecord *d = theirs->pdata[i];
      g_autoptr(KilnDownloadRecord) ours = NULL;
      GError *local = NULL;

      ours = kiln_project_get_download (self, d->url, &local);
      if (local)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      if (ours != NULL &&
          (kiln_download_outcome_is_done (ours->outcome) || !kiln_download_outcome_is_done (d->outcome)) &&
          (ours->outcome == KILN_DOWNLOAD_KEPT || d->outcome != KILN_DOWNLOAD_KEPT))
        continue;
      if (d->file)
        {
          const char *mapped = g_hash_table_lookup (m->path_map, d->file);
          g_free (d->file);
          d->file = g_strdup (mapped);
        }
      g_ptr_array_add (m->downloads, g_steal_pointer (&theirs->pdata[i]));
    }
  return TRUE;
}

static gboolean
write_rows (KilnProject *self, gpointer data, GError **error)
{
  Merge *m = data;
  sqlite3_stmt *stmt;

  for (guint i = 0; i < m->incoming->len; i++)
    {
      Incoming *in = m->incoming->pdata[i];
      KilnImageRecord *r = in->record;
      KilnImageStatus status = r->status;

      if (!kiln_project_add_image (self, r, error))
        return FALSE;
      if (status != KILN_IMAGE_KEPT)
        {
          stmt = kiln_project_sql_prepare (self, "UPDATE images SET status = ?, discard_reason = ?,"
                                                 " original_path = ? WHERE id = ?", error);
          if (stmt == NULL)
            return FALSE;
          sqlite3_bind_int (stmt, 1, status);
          kiln_project_bind_text (stmt, 2, r->discard_reason);
          kiln_project_bind_text (stmt, 3, r->original_path);
          sqlite3_bind_int64 (stmt, 4, r->id);
          if (!kiln_project_sql_step_done (self, stmt, error))
            return FALSE;
        }
      for (guint j = 0; in->flags && j < in->flags->len; j++)
        {
          KilnFlag *f = in->flags->pdata[j];
          if (!kiln_project_set_flag (self, r->id, f->reason, f->detail, error))
            return FALSE;
        }
      if (in->duplicate)
        {
          g_autofree char *detail = g_strdup_printf ("the same bytes as %s (merged from %s)", in->duplicate,
                                                     kiln_project_get_path (m->source));
          if (!kiln_project_set_flag (self, r->id, "duplicate", detail, error))
            return FALSE;
          m->stats.n_duplicates++;
        }
      if (in->near)
        {
          g_autofree char *detail = g_strdup_printf ("looks like %s: perceptual hashes %d bits apart "
                                                     "(merged from %s)", in->near, in->near_bits,
                                                     kiln_project_get_path (m->source));
          if (!kiln_project_set_flag (self, r->id, "near-duplicate", detail, error))
            return FALSE;
          m->stats.n_near++;
        }
      if (in->placeholder)
        {
          g_autofree char *detail = g_strdup_printf ("close to a placeholder another project knew (%s)",
                                                     in->placeholder);
          if (!kiln_project_set_flag (self, r->id, "placeholder", detail, error))
            return FALSE;
          m->stats.n_placeholder_matches++;
        }
      m->stats.n_images++;
    }
  for (guint i = 0; i < m->downloads->len; i++)
    {
      KilnDownloadRecord *d = m->downloads->pdata[i];

      if (!kiln_project_record_download_attempts (self, d->url, d->wnid, d->outcome, d->http_status, d->detail,
                                                  d->file, d->attempts, error))
        return FALSE;
      m->stats.n_downloads++;
    }
  for (guint i = 0; i < m->placeholders->len; i++)
    {
      KilnPlaceholderRecord *p = m->placeholders->pdata[i];

      stmt = kiln_project_sql_prepare (self, "INSERT OR IGNORE INTO placeholders (phash, note, added)"
                                             " VALUES (?, ?, ?)", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) p->phash);
      kiln_project_bind_text (stmt, 2, p->note);
      sqlite3_bind_int64 (stmt, 3, p->added);
      if (!kiln_project_sql_step_done (self, stmt, error))
        return FALSE;
      m->stats.n_placeholders += sqlite3_changes (self->db);
    }
  return TRUE;
}

static guint
count_runs (KilnProject *source)
{
  g_autofree char *runs = kiln_project_build_path (source, "runs");
  g_autoptr(GDir) dir = g_dir_open (runs, 0, NULL);
  guint n = 0;

  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

static gboolean
same_folder (const char *a, const char *b)
{
  g_autofree char *ra = realpath (a, NULL);
  g_autofree char *rb = realpath (b, NULL);

  return ra && rb && strcmp (ra, rb) == 0;
}

gboolean
kiln_project_merge (KilnProject     *self,
                    const char      *source_dir,
                    int              near_distance,
                    KilnMergeStats  *stats,
                    GCancellable    *cancellable,
                    GError         **error)
{
  Merge m = { 0 };
  g_auto(GStrv) splits = NULL;
  gboolean ok;

  g_return_val_if_fail (KILN_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (source_dir != NULL && stats != NULL, FALSE);

  if (!kiln_project_exists (source_dir))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a Kiln project (it has no kiln.db); give the folders gathered with --shard",
                   source_dir);
      return FALSE;
    }
  if (same_folder (source_dir, kiln_project_get_path (self)))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "%s is the project being merged into; a project cannot be merged into itself", source_dir);
      return FALSE;
    }
  m.source = kiln_project_open (source_dir, error);
  if (m.source == NULL)
    return FALSE;
  m.by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m.by_sha = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m.phashes = g_array_new (FALSE, FALSE, sizeof (guint64));
  m.phash_paths = g_ptr_array_new_with_free_func (g_free);
  m.taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  m.path_map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m.incoming = g_ptr_array_new_with_free_func ((GDestroyNotify) incoming_free);
  m.downloads = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_download_record_free);
  m.foreign_placeholders = g_array_new (FALSE, FALSE, sizeof (guint64));
  m.foreign_notes = g_ptr_array_new_with_free_func (g_free);

  splits = kiln_project_list_splits (m.source, error);
  ok = splits != NULL && load_ours (self, &m, error) && load_placeholders (self, &m, error) &&
       gather_incoming (self, &m, near_distance, cancellable, error) && choose_downloads (self, &m, error) &&
       kiln_project_transaction (self, write_rows, &m, error);
  if (ok)
    {
      stats->n_images += m.stats.n_images;
      stats->n_already += m.stats.n_already;
      stats->n_renamed += m.stats.n_renamed;
      stats->n_downloads += m.stats.n_downloads;
      stats->n_placeholders += m.stats.n_placeholders;
      stats->n_duplicates += m.stats.n_duplicates;
      stats->n_near += m.stats.n_near;
      stats->n_placeholder_matches += m.stats.n_placeholder_matches;
      stats->n_splits += g_strv_length (splits);
      stats->n_runs += count_runs (m.source);
    }
  merge_clear (&m);
  return ok;
}
