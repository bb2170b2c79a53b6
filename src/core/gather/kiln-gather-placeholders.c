/* kiln-gather-placeholders.c: a run's known and learned placeholders (see
 * the header). */
#include "config.h"

#include "kiln-gather-placeholders.h"
#include "kiln-inspector.h"

typedef struct {
  GHashTable *hosts;        /* host:port set */
  GPtrArray  *kept;         /* KilnGatherKeptCopy *, until it becomes a placeholder */
  gboolean    placeholder;
} Repeat;

struct _KilnGatherPlaceholders
{
  KilnProject *project;
  int          distance;
  GMutex       lock;
  GArray      *known;       /* guint64 */
  GHashTable  *repeats;     /* sha256 → Repeat */
};

void
kiln_gather_kept_copy_free (KilnGatherKeptCopy *copy)
{
  g_free (copy->url);
  g_free (copy->wnid);
  g_free (copy);
}

static void
repeat_free (Repeat *repeat)
{
  g_hash_table_unref (repeat->hosts);
  g_ptr_array_unref (repeat->kept);
  g_free (repeat);
}

KilnGatherPlaceholders *
kiln_gather_placeholders_new (KilnProject              *project,
                              const KilnGatherRequest  *request,
                              GError                  **error)
{
  g_autoptr(GPtrArray) stored = kiln_project_list_placeholders (project, error);
  KilnGatherPlaceholders *self;

  if (stored == NULL)
    return NULL;
  self = g_new0 (KilnGatherPlaceholders, 1);
  self->project = g_object_ref (project);
  self->distance = request->placeholder_distance;
  g_mutex_init (&self->lock);
  self->known = g_array_new (FALSE, FALSE, sizeof (guint64));
  if (request->placeholders)
    g_array_append_vals (self->known, request->placeholders->data, request->placeholders->len);
  for (guint i = 0; i < stored->len; i++)
    g_array_append_val (self->known, ((KilnPlaceholderRecord *) g_ptr_array_index (stored, i))->phash);
  self->repeats = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) repeat_free);
  return self;
}

void
kiln_gather_placeholders_free (KilnGatherPlaceholders *self)
{
  if (self == NULL)
    return;
  g_object_unref (self->project);
  g_mutex_clear (&self->lock);
  g_array_unref (self->known);
  g_hash_table_unref (self->repeats);
  g_free (self);
}

gboolean
kiln_gather_placeholders_any (KilnGatherPlaceholders *self)
{
  gboolean any;

  g_mutex_lock (&self->lock);
  any = self->known->len > 0;
  g_mutex_unlock (&self->lock);
  return any;
}

gboolean
kiln_gather_placeholders_match (KilnGatherPlaceholders *self,
                                guint64                 phash,
                                guint64                *known,
                                int                    *distance)
{
  gboolean match;

  g_mutex_lock (&self->lock);
  match = kiln_inspector_match_placeholder (self->known, self->distance, phash, known, distance);
  g_mutex_unlock (&self->lock);
  return match;
}

gboolean
kiln_gather_placeholders_learn (KilnGatherPlaceholders  *self,
                                guint64                  phash,
                                const char              *note,
                                GError                 **error)
{
  gboolean known;

  g_mutex_lock (&self->lock);
  known = kiln_inspector_match_placeholder (self->known, 0, phash, NULL, NULL);
  if (!known)
    g_array_append_val (self->known, phash);
  g_mutex_unlock (&self->lock);
  return known || kiln_project_add_placeholder (self->project, phash, note, error);
}

guint
kiln_gather_placeholders_repeated (KilnGatherPlaceholders *self,
                                   const char             *sha256)
{
  Repeat *repeat;
  guint n = 0;

  g_mutex_lock (&self->lock);
  repeat = g_hash_table_lookup (self->repeats, sha256);
  if (repeat && repeat->placeholder)
    n = g_hash_table_size (repeat->hosts);
  g_mutex_unlock (&self->lock);
  return n;
}

GPtrArray *
kiln_gather_placeholders_note_kept (KilnGatherPlaceholders *self,
                                    const KilnGatherItem   *item,
                                    guint                  *n_hosts)
{
  KilnGatherKeptCopy *copy;
  GPtrArray *discard = NULL;
  Repeat *repeat;

  if (item->host == NULL || item->n_bytes > KILN_GATHER_PLACEHOLDER_MAX_BYTES)
    return NULL;
  copy = g_new0 (KilnGatherKeptCopy, 1);
  copy->url = g_strdup (item->url);
  copy->wnid = g_strdup (item->wnid);
  copy->http_status = item->http_status;
  copy->image_id = item->image_id;

  g_mutex_lock (&self->lock);
  repeat = g_hash_table_lookup (self->repeats, item->sha256);
  if (repeat == NULL)
    {
      repeat = g_new0 (Repeat, 1);
      repeat->hosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      repeat->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_gather_kept_copy_free);
      g_hash_table_insert (self->repeats, g_strdup (item->sha256), repeat);
    }
  g_hash_table_add (repeat->hosts, g_strdup (item->host));
  g_ptr_array_add (repeat->kept, copy);
  if (g_hash_table_size (repeat->hosts) >= KILN_GATHER_PLACEHOLDER_HOSTS)
    {
      /* From now on the check refuses it; what was kept goes back. */
      repeat->placeholder = TRUE;
      discard = g_steal_pointer (&repeat->kept);
      repeat->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) kiln_gather_kept_copy_free);
      *n_hosts = g_hash_table_size (repeat->hosts);
    }
  g_mutex_unlock (&self->lock);
  return discard;
}
