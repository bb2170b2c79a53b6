#define _GNU_SOURCE  /* memmem */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kiln-error.h"
#include "kiln-synsets.h"
#include "kiln-core-resources.h"

#define SYNSETS_RESOURCE "/org/kiln/Kiln/core/synsets.tsv.gz"
#define N_FIELDS 8

typedef struct {
  const char *wnid;
  const char *gloss;
  guint32     words_start;     /* into word_table, NULL-terminated run */
  guint32     parents_start;   /* into parent_idx */
  guint32     children_start;  /* into child_idx */
  guint16     n_parents;
  guint16     n_children;
  guint32     subtree[3];      /* all, in 21k, in 1k */
  guint8      flags;
} Synset;

struct _KilnSynsets
{
  GObject    parent_instance;

  char      *text;             /* the decompressed file, split in place */
  Synset    *synsets;
  guint      n_synsets;
  GPtrArray *word_table;
  guint     *parent_idx;
  guint     *child_idx;

  /* Search: every lemma lower-cased, each followed by '\n'. */
  char      *hay;
  gsize      hay_len;
  guint32   *lemma_start;      /* n_lemmas + 1 entries */
  guint32   *lemma_synset;
  guint      n_lemmas;
};

G_DEFINE_FINAL_TYPE (KilnSynsets, kiln_synsets, G_TYPE_OBJECT)

static void
kiln_synsets_finalize (GObject *object)
{
  KilnSynsets *self = KILN_SYNSETS (object);

  g_free (self->text);
  g_free (self->synsets);
  g_clear_pointer (&self->word_table, g_ptr_array_unref);
  g_free (self->parent_idx);
  g_free (self->child_idx);
  g_free (self->hay);
  g_free (self->lemma_start);
  g_free (self->lemma_synset);

  G_OBJECT_CLASS (kiln_synsets_parent_class)->finalize (object);
}

static void
kiln_synsets_class_init (KilnSynsetsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kiln_synsets_finalize;
}

static void
kiln_synsets_init (KilnSynsets *self)
{
}

static guint
find_wnid (KilnSynsets *self,
           const char  *wnid)
{
  guint lo = 0, hi = self->n_synsets;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      int cmp = strcmp (self->synsets[mid].wnid, wnid);

      if (cmp == 0)
        return mid;
      if (cmp < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return KILN_SYNSET_NONE;
}

static gboolean
parse_uint (const char *s,
            guint32    *out)
{
  guint64 v;
  char *end;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  v = g_ascii_strtoull (s, &end, 10);
  if (*end != '\0' || v > G_MAXUINT32)
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

static gboolean
valid_wnid (const char *s)
{
  if (s[0] != 'n' || strlen (s) != 9)
    return FALSE;
  for (guint i = 1; i < 9; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Splits the text in place and fills the synset table. Parent wnids are kept
 * as strings in @parent_names until every synset is known. */
static gboolean
parse_text (KilnSynsets *self,
            const char  *origin,
            GPtrArray   *parent_names,
            GError     **error)
{
  g_autoptr(GArray) synsets = g_array_new (FALSE, TRUE, sizeof (Synset));
  char *line = self->text;
  guint line_no = 0;

  self->word_table = g_ptr_array_new ();

  while (*line != '\0')
    {
      char *nl = strchr (line, '\n');
      char *fields[N_FIELDS];
      guint n = 0;
      Synset s = { 0 };

      line_no++;
      if (nl != NULL)
        *nl = '\0';
      if (line[0] == '#' || line[0] == '\0')
        goto next;

      for (char *p = line; n < N_FIELDS; n++)
        {
          char *tab = strchr (p, '\t');
          fields[n] = p;
          if (tab == NULL)
            {
              n++;
              break;
            }
          *tab = '\0';
          p = tab + 1;
        }
      if (n != N_FIELDS)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%u: expected %d tab-separated fields, found %u; regenerate it with data/gen-synsets.py",
                       origin, line_no, N_FIELDS, n);
          return FALSE;
        }
      if (!valid_wnid (fields[0]))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%u: “%s” is not a wnid (n + 8 digits)", origin, line_no, fields[0]);
          return FALSE;
        }
      if (synsets->len > 0 && strcmp (g_array_index (synsets, Synset, synsets->len - 1).wnid, fields[0]) >= 0)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%u: wnid %s is out of order; the file must be sorted by wnid",
                       origin, line_no, fields[0]);
          return FALSE;
        }
      s.wnid = fields[0];
      if (strchr (fields[1], '1'))
        s.flags |= KILN_SYNSET_IN_1K;
      if (strchr (fields[1], '2'))
        s.flags |= KILN_SYNSET_IN_21K;
      for (guint i = 0; i < 3; i++)
        if (!parse_uint (fields[3 + i], &s.subtree[i]))
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                         "%s:%u: subtree size “%s” is not a number", origin, line_no, fields[3 + i]);
            return FALSE;
          }
      s.gloss = fields[7];

      s.words_start = self->word_table->len;
      for (char *w = fields[6]; w != NULL;)
        {
          char *bar = strchr (w, '|');
          if (bar != NULL)
            *bar = '\0';
          if (*w != '\0')
            g_ptr_array_add (self->word_table, w);
          w = bar ? bar + 1 : NULL;
        }
      if (self->word_table->len == s.words_start)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%u: synset %s has no words", origin, line_no, s.wnid);
          return FALSE;
        }
      g_ptr_array_add (self->word_table, NULL);

      s.parents_start = parent_names->len;
      if (!g_str_equal (fields[2], "-"))
        for (char *p = fields[2]; p != NULL;)
          {
            char *comma = strchr (p, ',');
            if (comma != NULL)
              *comma = '\0';
            g_ptr_array_add (parent_names, p);
            s.n_parents++;
            p = comma ? comma + 1 : NULL;
          }
      g_array_append_val (synsets, s);

    next:
      if (nl == NULL)
        break;
      line = nl + 1;
    }

  if (synsets->len == 0)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "%s: no synsets", origin);
      return FALSE;
    }
  self->n_synsets = synsets->len;
  self->synsets = (Synset *) (gpointer) g_array_free (g_steal_pointer (&synsets), FALSE);
  return TRUE;
}

static gboolean
link_hierarchy (KilnSynsets *self,
                const char  *origin,
                GPtrArray   *parent_names,
                GError     **error)
{
  g_autofree guint *n_children = g_new0 (guint, self->n_synsets);
  g_autofree guint *fill = NULL;

  self->parent_idx = g_new (guint, MAX (parent_names->len, 1));
  for (guint i = 0; i < self->n_synsets; i++)
    {
      Synset *s = &self->synsets[i];
      for (guint k = 0; k < s->n_parents; k++)
        {
          const char *name = g_ptr_array_index (parent_names, s->parents_start + k);
          guint p = find_wnid (self, name);

          if (p == KILN_SYNSET_NONE || p == i)
            {
              g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                           "%s: synset %s names parent %s, which is not a valid synset",
                           origin, s->wnid, name);
              return FALSE;
            }
          self->parent_idx[s->parents_start + k] = p;
          n_children[p]++;
        }
    }

  /* Children are the inverse of parents, stored as one compact array. */
  fill = g_new0 (guint, self->n_synsets);
  self->child_idx = g_new (guint, MAX (parent_names->len, 1));
  for (guint i = 0, start = 0; i < self->n_synsets; i++)
    {
      if (n_children[i] > G_MAXUINT16)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s: synset %s has %u children, more than Kiln supports",
                       origin, self->synsets[i].wnid, n_children[i]);
          return FALSE;
        }
      self->synsets[i].children_start = start;
      self->synsets[i].n_children = n_children[i];
      start += n_children[i];
    }
  for (guint i = 0; i < self->n_synsets; i++)
    {
      Synset *s = &self->synsets[i];
      for (guint k = 0; k < s->n_parents; k++)
        {
          guint p = self->parent_idx[s->parents_start + k];
          self->child_idx[self->synsets[p].children_start + fill[p]++] = i;
        }
    }
  return TRUE;
}

static void
build_search_index (KilnSynsets *self)
{
  guint n_lemmas = self->word_table->len - self->n_synsets;
  GString *hay = g_string_sized_new (2 * 1024 * 1024);
  guint li = 0;

  self->lemma_start = g_new (guint32, n_lemmas + 1);
  self->lemma_synset = g_new (guint32, n_lemmas);
  for (guint i = 0; i < self->n_synsets; i++)
    {
      const char * const *words = kiln_synsets_get_words (self, i);
      for (guint k = 0; words[k] != NULL; k++)
        {
          g_autofree char *folded = g_utf8_casefold (words[k], -1);

          self->lemma_start[li] = hay->len;
          self->lemma_synset[li] = i;
          li++;
          g_string_append (hay, folded);
          g_string_append_c (hay, '\n');
        }
    }
  self->lemma_start[li] = hay->len;
  self->n_lemmas = li;
  self->hay_len = hay->len;
  self->hay = g_string_free (hay, FALSE);
}

KilnSynsets *
kiln_synsets_new_from_bytes (GBytes      *gzipped,
                             const char  *origin,
                             GError     **error)
{
  g_autoptr(KilnSynsets) self = g_object_new (KILN_TYPE_SYNSETS, NULL);
  g_autoptr(GInputStream) raw = g_memory_input_stream_new_from_bytes (gzipped);
  g_autoptr(GZlibDecompressor) gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = g_converter_input_stream_new (raw, G_CONVERTER (gunzip));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GPtrArray) parent_names = g_ptr_array_new ();
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (gzipped != NULL, NULL);

  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, &local_error) < 0 ||
      !g_output_stream_write_all (out, "", 1, NULL, NULL, &local_error) ||
      !g_output_stream_close (out, NULL, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                   "%s: cannot decompress the synset data (%s); regenerate it with data/gen-synsets.py",
                   origin, local_error->message);
      return NULL;
    }
  self->text = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));

  if (!parse_text (self, origin, parent_names, error) ||
      !link_hierarchy (self, origin, parent_names, error))
    return NULL;
  build_search_index (self);
  return g_steal_pointer (&self);
}

KilnSynsets *
kiln_synsets_new_from_file (const char  *path,
                            GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;

  mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot read the synset data: %s",
                   path, local_error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  return kiln_synsets_new_from_bytes (bytes, path, error);
}

KilnSynsets *
kiln_synsets_get_default (GError **error)
{
  static GMutex lock;
  static KilnSynsets *instance;
  KilnSynsets *ret = NULL;

  g_mutex_lock (&lock);
  if (instance == NULL)
    {
      /* Referencing the resource by name keeps it linked from the static core. */
      g_autoptr(GBytes) bytes = g_resource_lookup_data (kiln_core_get_resource (), SYNSETS_RESOURCE,
                                                        G_RESOURCE_LOOKUP_FLAGS_NONE, error);
      if (bytes != NULL)
        instance = kiln_synsets_new_from_bytes (bytes, "resource://" SYNSETS_RESOURCE, error);
    }
  if (instance != NULL)
    ret = g_object_ref (instance);
  g_mutex_unlock (&lock);
  return ret;
}

guint
kiln_synsets_get_n_synsets (KilnSynsets *self)
{
  g_return_val_if_fail (KILN_IS_SYNSETS (self), 0);
  return self->n_synsets;
}

guint
kiln_synsets_lookup (KilnSynsets *self,
                     const char  *wnid)
{
  g_return_val_if_fail (KILN_IS_SYNSETS (self), KILN_SYNSET_NONE);
  if (wnid == NULL || !valid_wnid (wnid))
    return KILN_SYNSET_NONE;
  return find_wnid (self, wnid);
}

#define CHECK_INDEX(val) \
  g_return_val_if_fail (KILN_IS_SYNSETS (self) && index < self->n_synsets, val)

const char *
kiln_synsets_get_wnid (KilnSynsets *self,
                       guint        index)
{
  CHECK_INDEX (NULL);
  return self->synsets[index].wnid;
}

const char * const *
kiln_synsets_get_words (KilnSynsets *self,
                        guint        index)
{
  CHECK_INDEX (NULL);
  return (const char * const *) &self->word_table->pdata[self->synsets[index].words_start];
}

const char *
kiln_synsets_get_name (KilnSynsets *self,
                       guint        index)
{
  CHECK_INDEX (NULL);
  return self->word_table->pdata[self->synsets[index].words_start];
}

const char *
kiln_synsets_get_gloss (KilnSynsets *self,
                        guint        index)
{
  CHECK_INDEX (NULL);
  return self->synsets[index].gloss;
}

KilnSynsetFlags
kiln_synsets_get_flags (KilnSynsets *self,
                        guint        index)
{
  CHECK_INDEX (0);
  return self->synsets[index].flags;
}

gboolean
kiln_synsets_in_1k (KilnSynsets *self,
                    guint        index)
{
  return (kiln_synsets_get_flags (self, index) & KILN_SYNSET_IN_1K) != 0;
}

gboolean
kiln_synsets_in_21k (KilnSynsets *self,
                     guint        index)
{
  return (kiln_synsets_get_flags (self, index) & KILN_SYNSET_IN_21K) != 0;
}

const guint *
kiln_synsets_get_parents (KilnSynsets *self,
                          guint        index,
                          guint       *n_parents)
{
  CHECK_INDEX (NULL);
  *n_parents = self->synsets[index].n_parents;
  return &self->parent_idx[self->synsets[index].parents_start];
}

const guint *
kiln_synsets_get_children (KilnSynsets *self,
                           guint        index,
                           guint       *n_children)
{
  CHECK_INDEX (NULL);
  *n_children = self->synsets[index].n_children;
  return &self->child_idx[self->synsets[index].children_start];
}

static int
compare_by_height (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  const guint *height = user_data;
  guint x = *(const guint *) a, y = *(const guint *) b;

  return (int) height[x] - (int) height[y];
}

GArray *
kiln_synsets_get_ancestors (KilnSynsets *self,
                            guint        index)
{
  g_autofree guint *height = NULL;
  gboolean changed = TRUE;
  GArray *out;

  CHECK_INDEX (NULL);
  out = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_val (out, index);
  /* Collect breadth first; ancestor sets are tiny (tens), so a linear
   * duplicate check is cheaper than a hash set. */
  for (guint head = 0; head < out->len; head++)
    {
      const Synset *s = &self->synsets[g_array_index (out, guint, head)];
      for (guint k = 0; k < s->n_parents; k++)
        {
          guint p = self->parent_idx[s->parents_start + k];
          gboolean seen = FALSE;
          for (guint j = 0; j < out->len && !seen; j++)
            seen = g_array_index (out, guint, j) == p;
          if (!seen)
            g_array_append_val (out, p);
        }
    }

  /* Order by the longest path up from @index, so every synset comes before
   * its own parents and the root comes last (two paths may differ in length). */
  height = g_new0 (guint, out->len);
  while (changed)
    {
      changed = FALSE;
      for (guint j = 0; j < out->len; j++)
        {
          const Synset *s = &self->synsets[g_array_index (out, guint, j)];
          for (guint k = 0; k < s->n_parents; k++)
            for (guint m = 0; m < out->len; m++)
              if (g_array_index (out, guint, m) == self->parent_idx[s->parents_start + k] &&
                  height[m] < height[j] + 1)
                {
                  height[m] = height[j] + 1;
                  changed = TRUE;
                }
        }
    }
  {
    /* Sort positions, then map back to synset indices. */
    g_autoptr(GArray) pos = g_array_sized_new (FALSE, FALSE, sizeof (guint), out->len);
    g_autoptr(GArray) sorted = g_array_sized_new (FALSE, FALSE, sizeof (guint), out->len);
    for (guint j = 0; j < out->len; j++)
      g_array_append_val (pos, j);
    g_array_sort_with_data (pos, compare_by_height, height);
    for (guint j = 1; j < pos->len; j++)
      g_array_append_val (sorted, g_array_index (out, guint, g_array_index (pos, guint, j)));
    g_array_free (out, TRUE);
    out = g_steal_pointer (&sorted);
  }
  return out;
}

GArray *
kiln_synsets_get_descendants (KilnSynsets    *self,
                              guint           index,
                              KilnSynsetFlags require)
{
  g_autoptr(GArray) queue = NULL;
  g_autofree guint8 *seen = NULL;
  GArray *out;

  CHECK_INDEX (NULL);
  queue = g_array_new (FALSE, FALSE, sizeof (guint));
  out = g_array_new (FALSE, FALSE, sizeof (guint));
  seen = g_new0 (guint8, self->n_synsets);
  g_array_append_val (queue, index);
  seen[index] = 1;
  for (guint head = 0; head < queue->len; head++)
    {
      guint i = g_array_index (queue, guint, head);
      const Synset *s = &self->synsets[i];

      if ((s->flags & require) == require)
        g_array_append_val (out, i);
      for (guint k = 0; k < s->n_children; k++)
        {
          guint c = self->child_idx[s->children_start + k];
          if (!seen[c])
            {
              seen[c] = 1;
              g_array_append_val (queue, c);
            }
        }
    }
  return out;
}

guint
kiln_synsets_get_subtree_size (KilnSynsets    *self,
                               guint           index,
                               KilnSynsetFlags require)
{
  CHECK_INDEX (0);
  if (require & KILN_SYNSET_IN_1K)
    return self->synsets[index].subtree[2];
  if (require & KILN_SYNSET_IN_21K)
    return self->synsets[index].subtree[1];
  return self->synsets[index].subtree[0];
}

typedef struct {
  guint index;
  guint key;
} Hit;

static int
compare_hits (gconstpointer a,
              gconstpointer b)
{
  const Hit *x = a, *y = b;

  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

enum { RANK_EXACT, RANK_PREFIX, RANK_WORD, RANK_SUBSTRING, N_RANKS };

/* Sort key: rank, then ImageNet-21k first, then the matched lemma's length. */
static inline guint
hit_key (guint rank, gboolean in_21k, gsize lemma_len)
{
  return (rank << 24) | ((in_21k ? 0u : 1u) << 23) | (guint) MIN (lemma_len, 0x7fffff);
}

GArray *
kiln_synsets_search (KilnSynsets *self,
                     const char  *query,
                     guint        max_results)
{
  g_autofree char *folded = NULL;
  g_autofree guint *best = NULL;
  g_autoptr(GArray) hits = NULL;
  GArray *out;
  gsize qlen;

  g_return_val_if_fail (KILN_IS_SYNSETS (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  out = g_array_new (FALSE, FALSE, sizeof (guint));
  folded = g_utf8_casefold (query, -1);
  g_strstrip (folded);
  g_strdelimit (folded, "_", ' ');
  qlen = strlen (folded);
  if (qlen == 0 || strchr (folded, '\n') != NULL)
    return out;

  best = g_new (guint, self->n_synsets);
  memset (best, 0xff, sizeof (guint) * self->n_synsets);
  hits = g_array_new (FALSE, FALSE, sizeof (Hit));

  /* Lemmas are separated by '\n', which the query cannot hold, so a match
   * never spans two lemmas; matches come in order, so the lemma cursor only
   * moves forward. */
  {
    const char *hay = self->hay;
    gsize pos = 0;
    guint li = 0;
    const char *m;

    while (pos < self->hay_len &&
           (m = memmem (hay + pos, self->hay_len - pos, folded, qlen)) != NULL)
      {
        gsize off = m - hay;
        gsize start, len;
        guint rank, syn, key;

        while (self->lemma_start[li + 1] <= off)
          li++;
        start = self->lemma_start[li];
        len = self->lemma_start[li + 1] - start - 1;
        if (off == start)
          rank = len == qlen ? RANK_EXACT : RANK_PREFIX;
        else if (hay[off - 1] == ' ' || hay[off - 1] == '-')
          rank = RANK_WORD;
        else
          rank = RANK_SUBSTRING;
        syn = self->lemma_synset[li];
        key = hit_key (rank, self->synsets[syn].flags & KILN_SYNSET_IN_21K, len);
        if (key < best[syn])
          {
            if (best[syn] == G_MAXUINT)
              {
                Hit h = { syn, 0 };
                g_array_append_val (hits, h);
              }
            best[syn] = key;
          }
        pos = off + 1;
      }
  }

  /* A query like "n0212" also matches wnids by prefix. */
  if (folded[0] == 'n' && qlen >= 2 && qlen <= 9 &&
      strspn (folded + 1, "0123456789") == qlen - 1)
    {
      guint lo = 0, hi = self->n_synsets;
      while (lo < hi)
        {
          guint mid = lo + (hi - lo) / 2;
          if (strcmp (self->synsets[mid].wnid, folded) < 0)
            lo = mid + 1;
          else
            hi = mid;
        }
      for (guint i = lo; i < self->n_synsets && strncmp (self->synsets[i].wnid, folded, qlen) == 0; i++)
        {
          guint key = hit_key (qlen == 9 ? RANK_EXACT : RANK_PREFIX,
                               self->synsets[i].flags & KILN_SYNSET_IN_21K, 9);
          if (key < best[i])
            {
              if (best[i] == G_MAXUINT)
                {
                  Hit h = { i, 0 };
                  g_array_append_val (hits, h);
                }
              best[i] = key;
            }
        }
    }

  for (guint i = 0; i < hits->len; i++)
    g_array_index (hits, Hit, i).key = best[g_array_index (hits, Hit, i).index];
  g_array_sort (hits, compare_hits);

  for (guint i = 0; i < hits->len && (max_results == 0 || i < max_results); i++)
    g_array_append_val (out, g_array_index (hits, Hit, i).index);
  return out;
}
