#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "kiln-dataset.h"
#include "kiln-json-text.h"
#include "kiln-error.h"
#include "kiln-inspector.h"
#include "kiln-project-dataset.h"
#include "kiln-parallel.h"

static const char *const subset_names[] = {
  [KILN_SUBSET_TRAIN] = "train",
  [KILN_SUBSET_VAL] = "val",
  [KILN_SUBSET_TEST] = "test",
  [KILN_SUBSET_UNUSED] = "unused",
};

const char *
kiln_subset_to_string (KilnSubset subset)
{
  g_return_val_if_fail (subset < KILN_N_SUBSETS, NULL);
  return subset_names[subset];
}

/* Splitting --------------------------------------------------------------- */

static GRand *
rand_from_seed (guint64 seed)
{
  guint32 words[2] = { (guint32) seed, (guint32) (seed >> 32) };

  return g_rand_new_with_seed_array (words, 2);
}

/* How many of @usable images go to train, val and test. */
static gboolean
class_sizes (const KilnSplitSpec  *spec,
             int                   label,
             guint                 usable,
             guint                 sizes[3],
             GError              **error)
{
  gboolean by_count = spec->counts[0] || spec->counts[1] || spec->counts[2];

  if (by_count)
    {
      guint wanted;

      sizes[1] = spec->counts[1];
      sizes[2] = spec->counts[2];
      wanted = sizes[1] + sizes[2] + spec->counts[0];
      if (wanted > usable || (spec->counts[0] == 0 && sizes[1] + sizes[2] >= usable))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "class %d has %u usable images but the split asks for %u train, %u val "
                       "and %u test; lower the counts or set a minimum per class to leave it out",
                       label, usable, spec->counts[0], sizes[1], sizes[2]);
          return FALSE;
        }
      sizes[0] = spec->counts[0] ? spec->counts[0] : usable - sizes[1] - sizes[2];
      return TRUE;
    }

  sizes[1] = (guint) floor (usable * spec->fractions[1] + 0.5);
  sizes[2] = (guint) floor (usable * spec->fractions[2] + 0.5);
  if (sizes[1] > usable)
    sizes[1] = usable;
  if (sizes[1] + sizes[2] > usable)
    sizes[2] = usable - sizes[1];
  if (spec->fractions[0] + spec->fractions[1] + spec->fractions[2] >= 1.0 - 1e-9)
    sizes[0] = usable - sizes[1] - sizes[2];
  else
    sizes[0] = MIN ((guint) floor (usable * spec->fractions[0] + 0.5), usable - sizes[1] - sizes[2]);
  return TRUE;
}

gboolean
kiln_dataset_split (const int            *labels,
                    gsize                 n,
                    const KilnSplitSpec  *spec,
                    guint8               *subsets,
                    GError              **error)
{
  g_autoptr(GRand) rand = NULL;
  g_autoptr(GArray) members = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autofree int *pool = NULL;
  double total = 0;
  int n_classes = 0;

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (labels != NULL && subsets != NULL), FALSE);

  for (int k = 0; k < 3; k++)
    {
      if (spec->fractions[k] < 0 || spec->fractions[k] > 1)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "split shares must lie between 0 and 1 (got %g)", spec->fractions[k]);
          return FALSE;
        }
      total += spec->fractions[k];
    }
  if (!(spec->counts[0] || spec->counts[1] || spec->counts[2]) && (total > 1.0 + 1e-9 || total <= 0))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "split shares add up to %g; give train/val/test shares that add up to at most 1 "
                   "(such as 0.8, 0.1, 0.1)", total);
      return FALSE;
    }

  if (spec->unstratified && n > 0)
    {
      /* One pool: every labeled item counts as class 0. */
      pool = g_new (int, n);
      for (gsize i = 0; i < n; i++)
        pool[i] = labels[i] < 0 ? -1 : 0;
      labels = pool;
    }
  for (gsize i = 0; i < n; i++)
    n_classes = MAX (n_classes, labels[i] + 1);
  rand = rand_from_seed (spec->seed);

  for (int c = 0; c < n_classes; c++)
    {
      guint sizes[3];
      guint usable, k;

      g_array_set_size (members, 0);
      for (gsize i = 0; i < n; i++)
        if (labels[i] == c)
          g_array_append_val (members, i);
      if (members->len == 0)
        continue;

      /* Fisher–Yates with this split's own generator. */
      for (guint i = members->len - 1; i > 0; i--)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1);
          gsize t = g_array_index (members, gsize, i);

          g_array_index (members, gsize, i) = g_array_index (members, gsize, j);
          g_array_index (members, gsize, j) = t;
        }

      usable = members->len;
      if (usable < spec->min_per_class)
        usable = 0;
      else if (spec->max_per_class > 0)
        usable = MIN (usable, spec->max_per_class);
      if (usable == 0)
        sizes[0] = sizes[1] = sizes[2] = 0;
      else if (!class_sizes (spec, c, usable, sizes, error))
        return FALSE;

      k = 0;
      for (guint i = 0; i < members->len; i++)
        {
          KilnSubset subset = KILN_SUBSET_UNUSED;

          if (k < sizes[0])
            subset = KILN_SUBSET_TRAIN;
          else if (k < sizes[0] + sizes[1])
            subset = KILN_SUBSET_VAL;
          else if (k < sizes[0] + sizes[1] + sizes[2])
            subset = KILN_SUBSET_TEST;
          subsets[g_array_index (members, gsize, i)] = subset;
          k++;
        }
    }
  for (gsize i = 0; i < n; i++)
    if (labels[i] < 0)
      subsets[i] = KILN_SUBSET_UNUSED;
  return TRUE;
}

void
kiln_split_spec_init (KilnSplitSpec *spec)
{
  *spec = (KilnSplitSpec) { .fractions = { 0.8, 0.1, 0.1 } };
}

/* Union–find over image indices, for near-duplicate groups. */
static guint
group_root (guint *parent, guint i)
{
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]];
  return i;
}

static void
group_join (guint *parent, guint a, guint b)
{
  a = group_root (parent, a);
  b = group_root (parent, b);
  /* The lower index leads, so a group's subset is its first image's. */
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

/* Joins images with equal pixels (or bytes) and images whose perceptual
 * hashes lie within @distance, as the inspector groups them. Images never
 * inspected have no hashes and stay alone. */
static guint *
near_duplicate_groups (GPtrArray *images, int distance)
{
  guint n = images->len;
  guint *parent = g_new (guint, MAX (n, 1));
  g_autoptr(GHashTable) first_with = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GArray) hashed = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) hashes = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < n; i++)
    parent[i] = i;
  for (guint i = 0; i < n; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      const char *digests[] = { record->pixel_hash, record->sha256 };
      for (guint d = 0; d < G_N_ELEMENTS (digests); d++)
        {
          gpointer other;
          if (digests[d] == NULL)
            continue;
          if (g_hash_table_lookup_extended (first_with, digests[d], NULL, &other))
            group_join (parent, GPOINTER_TO_UINT (other), i);
          else
            g_hash_table_insert (first_with, (gpointer) digests[d], GUINT_TO_POINTER (i));
        }
      if (record->has_phash)
        {
          g_array_append_val (hashed, i);
          g_array_append_val (hashes, record->phash);
        }
    }
  if (distance >= 0 && hashes->len > 1)
    {
      g_autoptr(GArray) group = kiln_inspector_group_hashes ((const guint64 *) hashes->data, hashes->len,
                                                            distance, NULL);
      g_autoptr(GHashTable) first_in = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (guint k = 0; k < hashes->len; k++)
        {
          gpointer g = GUINT_TO_POINTER (g_array_index (group, guint, k) + 1), other;
          guint i = g_array_index (hashed, guint, k);
          if (g_hash_table_lookup_extended (first_in, g, NULL, &other))
            group_join (parent, GPOINTER_TO_UINT (other), i);
          else
            g_hash_table_insert (first_in, g, GUINT_TO_POINTER (i));
        }
    }
  return parent;
}

GPtrArray *
kiln_dataset_near_duplicate_groups (KilnProject  *project,
                                    int           near_distance,
                                    GError      **error)
{
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GHashTable) by_root = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                         (GDestroyNotify) g_ptr_array_unref);
  g_autofree guint *group = NULL;

  g_return_val_if_fail (KILN_IS_PROJECT (project), NULL);

  images = kiln_project_list_images (project, NULL, KILN_IMAGE_KEPT, error);
  if (images == NULL)
    return NULL;
  group = near_duplicate_groups (images, near_distance == 0 ? KILN_SPLIT_NEAR_DISTANCE : near_distance);
  /* Members in image order, so the root (the lowest index) comes first. */
  for (guint i = 0; i < images->len; i++)
    {
      gpointer root = GUINT_TO_POINTER (group_root (group, i) + 1);
      GPtrArray *paths = g_hash_table_lookup (by_root, root);

      if (paths == NULL)
        {
          paths = g_ptr_array_new ();
          g_hash_table_insert (by_root, root, paths);
        }
      g_ptr_array_add (paths, ((KilnImageRecord *) images->pdata[i])->path);
    }
  for (guint i = 0; i < images->len; i++)
    {
      GPtrArray *paths = g_hash_table_lookup (by_root, GUINT_TO_POINTER (i + 1));
      GStrv copy;

      if (paths == NULL || paths->len < 2)
        continue;
      copy = g_new0 (char *, paths->len + 1);
      for (guint k = 0; k < paths->len; k++)
        copy[k] = g_strdup (paths->pdata[k]);
      g_ptr_array_add (groups, copy);
    }
  return g_steal_pointer (&groups);
}

gboolean
kiln_dataset_split_project (KilnProject          *project,
                            const char           *name,
                            const KilnSplitSpec  *spec,
                            KilnSplitSummary     *summary,
                            GError              **error)
{
  g_autoptr(GPtrArray) images = NULL;
  g_auto(GStrv) classes = NULL;
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree int *labels = NULL;
  g_autofree guint8 *subsets = NULL;
  g_autofree gint64 *ids = NULL;
  g_autofree const char **names = NULL;
  g_autofree guint *group = NULL;
  g_autofree guint *members = NULL;
  KilnSplitSummary local = { 0 };

  g_return_val_if_fail (KILN_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (name != NULL && spec != NULL, FALSE);

  images = kiln_project_list_images (project, NULL, KILN_IMAGE_KEPT, error);
  if (images == NULL)
    return FALSE;
  classes = kiln_project_list_classes (project, error);
  if (classes == NULL)
    return FALSE;
  for (guint c = 0; classes[c] != NULL; c++)
    g_hash_table_insert (index, classes[c], GUINT_TO_POINTER (c + 1));

  labels = g_new (int, MAX (images->len, 1));
  subsets = g_new (guint8, MAX (images->len, 1));
  ids = g_new (gint64, MAX (images->len, 1));
  names = g_new (const char *, MAX (images->len, 1));
  for (guint i = 0; i < images->len; i++)
    {
      KilnImageRecord *record = images->pdata[i];
      guint c = record->class_name
                ? GPOINTER_TO_UINT (g_hash_table_lookup (index, record->class_name)) : 0;

      labels[i] = (int) c - 1;
      ids[i] = record->id;
    }
  if (!kiln_dataset_split (labels, images->len, spec, subsets, error))
    {
      /* Class numbers follow kiln_project_list_classes(). */
      g_prefix_error (error, "%s: ", kiln_project_get_path (project));
      return FALSE;
    }

  /* A near twin on each side of the split would let the test set grade
   * what training saw: every group goes where its first image went. */
  group = near_duplicate_groups (images, spec->near_distance == 0 ? KILN_SPLIT_NEAR_DISTANCE
                                                                  : spec->near_distance);
  members = g_new0 (guint, MAX (images->len, 1));
  for (guint i = 0; i < images->len; i++)
    {
      guint root = group_root (group, i);
      if (root != i && subsets[i] != subsets[root])
        {
          subsets[i] = subsets[root];
          local.n_moved++;
        }
      if (members[root]++ == 1)
        local.n_groups++;
    }

  for (guint i = 0; i < images->len; i++)
    {
      names[i] = subset_names[subsets[i]];
      local.counts[subsets[i]]++;
    }
  if (summary != NULL)
    *summary = local;
  return kiln_project_set_split (project, name, spec->seed, ids, names, images->len, error);
}

char *
kiln_dataset_ensure_split (KilnProject          *project,
                           const char           *name,
                           const KilnSplitSpec  *spec,
                           gboolean             *created,
                           GError              **error)
{
  g_autofree char *current = NULL;
  g_autoptr(GError) local_error = NULL;

  if (created != NULL)
    *created = FALSE;
  if (name != NULL)
    {
      g_autoptr(GHashTable) split = kiln_project_get_split (project, name, NULL, error);
      return split ? g_strdup (name) : NULL;
    }
  current = kiln_project_get_current_split (project, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (current != NULL)
    return g_steal_pointer (&current);
  if (!kiln_dataset_split_project (project, KILN_SPLIT_DEFAULT_NAME, spec, NULL, error))
    return NULL;
  if (created != NULL)
    *created = TRUE;
  return g_strdup (KILN_SPLIT_DEFAULT_NAME);
}

/* Mean image -------------------------------------------------------------- */

void
kiln_mean_image_free (KilnMeanImage *mean)
{
  if (mean == NULL)
    return;
  g_free (mean->mean);
  kiln_label_set_free (mean->used);
  kiln_label_set_free (mean->skipped);
  g_free (mean);
}

typedef struct {
  const char          *root;
  const KilnLabelSet  *set;
  const KilnImageSpec *spec;
  GCancellable        *cancellable;
  GMutex               mutex;       /* guards the sums */
  guint64             *sums;
  guint64              channel_sum[3];
  guint64              channel_sum2[3];
  guint8              *status;     /* 0 not done, 1 used, 2 skipped */
} MeanRun;

static void
add_one (guint    index,
         gpointer user_data)
{
  MeanRun *run = user_data;
  gsize size = kiln_image_spec_size (run->spec);
  gsize plane = (gsize) run->spec->width * run->spec->height;
  g_autofree guint8 *tensor = NULL;
  g_autofree char *path = NULL;
  guint8 status = 2;

  if (g_cancellable_is_cancelled (run->cancellable))
    goto out;
  tensor = g_malloc (size);
  path = g_build_filename (run->root, run->set->paths->pdata[index], NULL);
  if (!kiln_image_load_u8 (path, run->spec, tensor, NULL, NULL))
    goto out;

  status = 1;
  {
    guint64 sum[3] = { 0 }, sum2[3] = { 0 };

    for (int c = 0; c < (int) run->spec->channels; c++)
      for (gsize i = 0; i < plane; i++)
        {
          guint v = tensor[c * plane + i];
          sum[c] += v;
          sum2[c] += v * v;
        }
    g_mutex_lock (&run->mutex);
    for (gsize i = 0; i < size; i++)
      run->sums[i] += tensor[i];
    for (int c = 0; c < (int) run->spec->channels; c++)
      {
        run->channel_sum[c] += sum[c];
        run->channel_sum2[c] += sum2[c];
      }
    g_mutex_unlock (&run->mutex);
  }

out:
  run->status[index] = status;
}

KilnMeanImage *
kiln_dataset_compute_mean (const char          *root,
                           const KilnLabelSet  *set,
                           const KilnImageSpec *spec,
                           guint                n_threads,
                           KilnProgressFunc     progress,
                           gpointer             user_data,
                           GCancellable        *cancellable,
                           GError             **error)
{
  g_autoptr(KilnMeanImage) mean = NULL;
  MeanRun run = { 0 };
  guint n = set->paths->len;
  gsize size, plane;
  guint n_used = 0;

  g_return_val_if_fail (root != NULL && set != NULL && spec != NULL, NULL);
  if (spec->width <= 0 || spec->height <= 0
      || (spec->channels != KILN_CHANNELS_RGB && spec->channels != KILN_CHANNELS_GRAY))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "a mean image needs a positive size and 1 or 3 channels (got %d × %d × %d)",
                   spec->width, spec->height, spec->channels);
      return NULL;
    }

  size = kiln_image_spec_size (spec);
  plane = (gsize) spec->width * spec->height;
  run.root = root;
  run.set = set;
  run.spec = spec;
  run.cancellable = cancellable;
  run.sums = g_new0 (guint64, size);
  run.status = g_new0 (guint8, MAX (n, 1));
  g_mutex_init (&run.mutex);
  kiln_parallel_for (n, n_threads, add_one, &run, progress, user_data);
  g_mutex_clear (&run.mutex);

  mean = g_new0 (KilnMeanImage, 1);
  mean->spec = *spec;
  mean->used = kiln_label_set_new ();
  mean->skipped = kiln_label_set_new ();
  for (guint c = 0; c < set->classes->len; c++)
    {
      g_ptr_array_add (mean->used->classes, g_strdup (set->classes->pdata[c]));
      g_ptr_array_add (mean->skipped->classes, g_strdup (set->classes->pdata[c]));
    }
  for (guint i = 0; i < n; i++)
    kiln_label_set_add (run.status[i] == 1 ? mean->used : mean->skipped,
                        set->paths->pdata[i], g_array_index (set->labels, int, i));
  n_used = mean->used->paths->len;

  if (g_cancellable_set_error_if_cancelled (cancellable, error) || n_used == 0)
    {
      if (n_used == 0 && (error == NULL || *error == NULL))
        g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                     "None of the %u images under %s could be decoded; there is no mean to compute",
                     n, root);
      g_free (run.sums);
      g_free (run.status);
      return NULL;
    }

  /* One rounding, from the exact integer sum. */
  mean->mean = g_new (float, size);
  for (gsize i = 0; i < size; i++)
    mean->mean[i] = (float) ((double) run.sums[i] / n_used);
  for (int c = 0; c < (int) spec->channels; c++)
    {
      double count = (double) n_used * plane;
      double m = run.channel_sum[c] / count;

      mean->channel_mean[c] = m;
      mean->channel_std[c] = sqrt (MAX (0.0, run.channel_sum2[c] / count - m * m));
    }
  g_free (run.sums);
  g_free (run.status);
  return g_steal_pointer (&mean);
}

static gboolean
save_file (const char  *path,
           const char  *data,
           gsize        length,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                 &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_mean_image_save (const KilnMeanImage  *mean,
                      const char           *directory,
                      GError              **error)
{
  gsize n = kiln_image_spec_size (&mean->spec);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autofree char *png = NULL;
  g_autofree guint32 *words = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *png_path = g_build_filename (directory, "mean.png", NULL);
  g_autofree char *f32_path = g_build_filename (directory, "mean.f32", NULL);
  g_autofree char *json_path = g_build_filename (directory, "mean.json", NULL);
  g_autofree char *list_path = g_build_filename (directory, "mean-images.txt", NULL);
  g_autoptr(GError) local_error = NULL;
  gsize png_length;

  if (g_mkdir_with_parents (directory, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not create %s: %s",
                   directory, g_strerror (saved));
      return FALSE;
    }

  pixbuf = kiln_image_from_f32 (mean->mean, mean->spec.channels, mean->spec.height,
                                mean->spec.width, NULL, 1.0f);
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &png, &png_length, "png", &local_error, NULL))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "Could not encode %s: %s",
                   png_path, local_error->message);
      return FALSE;
    }

  words = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    {
      guint32 w;
      memcpy (&w, &mean->mean[i], 4);
      words[i] = GUINT32_TO_LE (w);
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "width");
  json_builder_add_int_value (builder, mean->spec.width);
  json_builder_set_member_name (builder, "height");
  json_builder_add_int_value (builder, mean->spec.height);
  json_builder_set_member_name (builder, "channels");
  json_builder_add_int_value (builder, mean->spec.channels);
  json_builder_set_member_name (builder, "layout");
  json_builder_add_string_value (builder, mean->spec.channels == 3 ? "CHW RGB float32 LE" : "HW gray float32 LE");
  json_builder_set_member_name (builder, "resize");
  json_builder_add_string_value (builder, kiln_resize_mode_to_string (mean->spec.mode));
  json_builder_set_member_name (builder, "images");
  json_builder_add_int_value (builder, mean->used->paths->len);
  json_builder_set_member_name (builder, "skipped");
  json_builder_add_int_value (builder, mean->skipped->paths->len);
  json_builder_set_member_name (builder, "channel_mean");
  json_builder_begin_array (builder);
  for (int c = 0; c < (int) mean->spec.channels; c++)
    json_builder_add_double_value (builder, mean->channel_mean[c]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "channel_std");
  json_builder_begin_array (builder);
  for (int c = 0; c < (int) mean->spec.channels; c++)
    json_builder_add_double_value (builder, mean->channel_std[c]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = kiln_json_to_text (root, TRUE);

  return save_file (png_path, png, png_length, error)
         && save_file (f32_path, (const char *) words, n * 4, error)
         && save_file (json_path, json, strlen (json), error)
         && kiln_labels_write (mean->used, list_path, NULL, error);
}

float *
kiln_mean_image_load_f32 (const char  *path,
                          gsize        n_floats,
                          GError     **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  float *values;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (length != n_floats * 4)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_SHAPE,
                   "%s holds %" G_GSIZE_FORMAT " bytes but the input needs %" G_GSIZE_FORMAT
                   " float32 values (%" G_GSIZE_FORMAT " bytes); compute the mean again for this size",
                   path, length, n_floats, n_floats * 4);
      return NULL;
    }
  values = g_new (float, MAX (n_floats, 1));
  for (gsize i = 0; i < n_floats; i++)
    {
      guint32 w;
      memcpy (&w, contents + 4 * i, 4);
      w = GUINT32_FROM_LE (w);
      memcpy (&values[i], &w, 4);
    }
  return values;
}
