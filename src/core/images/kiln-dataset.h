/* kiln-dataset.h: splitting a labeled set and computing its mean image.
 *
 * The split is stratified (each class split on its own) and reproducible:
 * the same labels, spec and seed give the same assignment on any machine
 * (GRand's Mersenne Twister, Fisher–Yates per class in class order).
 *
 * The mean image is computed with the conversion training uses
 * (kiln_image_load_u8 with the same KilnImageSpec) by summing the uint8
 * tensors in 64-bit integers, so the result is the exact arithmetic mean,
 * rounded once to float32, whatever the order the workers finish in.
 *
 * Threads: kiln_dataset_split() is a plain function; the mean blocks its
 * caller, decodes on a pool of workers and calls @progress on the calling
 * thread. */
#pragma once

#include <gio/gio.h>

#include "kiln-image.h"
#include "kiln-labels.h"
#include "kiln-progress.h"
#include "kiln-project.h"

G_BEGIN_DECLS

typedef enum {
  KILN_SUBSET_TRAIN,
  KILN_SUBSET_VAL,
  KILN_SUBSET_TEST,
  KILN_SUBSET_UNUSED,   /* left out: class too small, or over the cap */
  KILN_N_SUBSETS
} KilnSubset;

const char *kiln_subset_to_string (KilnSubset subset);

typedef struct {
  double   fractions[3];   /* train, val, test shares (sum <= 1) when counts are all 0 */
  guint    counts[3];      /* per class: val and test sizes, and train (0: the rest) */
  guint    min_per_class;  /* classes with fewer images are left out entirely */
  guint    max_per_class;  /* 0: no cap; otherwise images beyond it are left out */
  guint64  seed;
  /* Perceptual-hash distance that makes two images near twins, kept in one
   * subset (0: KILN_SPLIT_NEAR_DISTANCE; -1: only exact copies). */
  int      near_distance;
  /* TRUE: shuffle all images as one pool, so a subset's class shares
   * follow chance; the per-class counts, minimum and cap then apply to the
   * pool. FALSE (the default, what zeroing gives): class by class. */
  gboolean unstratified;
} KilnSplitSpec;

/* The inspector's default near-duplicate distance. */
#define KILN_SPLIT_NEAR_DISTANCE 4
/* The split training makes on first use when a project has none. */
#define KILN_SPLIT_DEFAULT_NAME "default"

/* 80% train, 10% validation, 10% test per class, seed 0. */
void      kiln_split_spec_init       (KilnSplitSpec        *spec);

typedef struct {
  guint counts[KILN_N_SUBSETS]; /* images per subset */
  guint n_groups;               /* near-duplicate groups of 2 or more, each kept in one subset */
  guint n_moved;                /* images moved to their group's subset to keep it whole */
} KilnSplitSummary;

/* Assigns each of the @n items (with class @labels[i] >= 0) a subset in
 * @subsets. Fails, naming the class, when counts ask for more images than
 * a class has, or when the shares do not add up. */
gboolean  kiln_dataset_split         (const int            *labels,
                                      gsize                 n,
                                      const KilnSplitSpec  *spec,
                                      guint8               *subsets,
                                      GError              **error);

/* Splits the kept images of @project by class and stores the result as
 * the split @name (kiln_project_set_split), which becomes the project's
 * current split. Images the inspector found to be exact or near copies of
 * each other (equal pixel or file hashes, perceptual hashes within
 * @spec->near_distance) all go to the subset of the group's first image,
 * so no test image has a near twin in training. @summary may be NULL. */
gboolean  kiln_dataset_split_project (KilnProject          *project,
                                      const char           *name,
                                      const KilnSplitSpec  *spec,
                                      KilnSplitSummary     *summary,
                                      GError              **error);

/* kiln_dataset_split_project() on a GTask thread, for the window; @spec is
 * copied. The finish fills @summary (may be NULL). */
void      kiln_dataset_split_project_async  (KilnProject          *project,
                                             const char           *name,
                                             const KilnSplitSpec  *spec,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean  kiln_dataset_split_project_finish (GAsyncResult         *result,
                                             KilnSplitSummary     *summary,
                                             GError              **error);

/* The groups of two or more kept images that a split keeps whole (equal
 * pixels or bytes, or perceptual hashes within @near_distance, 0 meaning
 * KILN_SPLIT_NEAR_DISTANCE), as kiln_dataset_split_project() finds them:
 * a GPtrArray of GStrv, each the group's image paths, first image first. */
GPtrArray *kiln_dataset_near_duplicate_groups (KilnProject  *project,
                                               int           near_distance,
                                               GError      **error);

/* The split training uses: @name when given (failing, with the command to
 * make it, when it does not exist), else the project's current split, else
 * a new KILN_SPLIT_DEFAULT_NAME split made with @spec (*@created TRUE). */
char     *kiln_dataset_ensure_split  (KilnProject          *project,
                                      const char           *name,
                                      const KilnSplitSpec  *spec,
                                      gboolean             *created,
                                      GError              **error);

typedef struct {
  KilnImageSpec  spec;
  float         *mean;             /* channels × height × width */
  double         channel_mean[3];  /* per channel, over all pixels */
  double         channel_std[3];
  KilnLabelSet  *used;             /* the images that went into the mean */
  KilnLabelSet  *skipped;          /* those that could not be decoded */
} KilnMeanImage;

void kiln_mean_image_free (KilnMeanImage *mean);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnMeanImage, kiln_mean_image_free)

/* The mean of @set's images (paths relative to @root), converted as
 * @spec says, on @n_threads workers (0: one per processor). Images that
 * fail to decode are listed in ->skipped, not counted. Fails when none
 * decodes or when cancelled. */
KilnMeanImage *kiln_dataset_compute_mean (const char          *root,
                                          const KilnLabelSet  *set,
                                          const KilnImageSpec *spec,
                                          guint                n_threads,
                                          KilnProgressFunc     progress,
                                          gpointer             user_data,
                                          GCancellable        *cancellable,
                                          GError             **error);

/* Writes @directory/mean.png (rounded, to look at), mean.f32 (raw
 * little-endian float32, CHW), mean.json (spec, count, per-channel mean
 * and std) and mean-images.txt (the images used, as a label file). */
gboolean       kiln_mean_image_save      (const KilnMeanImage *mean,
                                          const char          *directory,
                                          GError             **error);

/* Reads mean.f32 back, checking it holds exactly @n_floats values. */
float         *kiln_mean_image_load_f32  (const char          *path,
                                          gsize                n_floats,
                                          GError             **error);

/* The images a project's mean is computed from: the @subset (NULL:
 * "train") of the split @split (NULL: the current one), or every kept
 * image when the project has no split yet. What kiln-cli mean and the
 * window use, so both average the same images. */
KilnLabelSet  *kiln_dataset_mean_images  (KilnProject         *project,
                                          const char          *split,
                                          const char          *subset,
                                          GError             **error);

/* Where a project keeps the mean of @spec by default:
 * cache/mean-WxH-rgb|gray-MODE under the project folder. */
char          *kiln_dataset_mean_folder  (KilnProject         *project,
                                          const KilnImageSpec *spec);

/* kiln_dataset_mean_images() then kiln_dataset_compute_mean() and
 * kiln_mean_image_save() into kiln_dataset_mean_folder(), on a GTask
 * thread. @progress (optional) counts the images, cancels the job, and is
 * finished when the job ends. The result holds the mean and its lists. */
void           kiln_dataset_compute_project_mean_async  (KilnProject         *project,
                                                         const char          *split,
                                                         const char          *subset,
                                                         const KilnImageSpec *spec,
                                                         KilnProgress        *progress,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
KilnMeanImage *kiln_dataset_compute_project_mean_finish (GAsyncResult        *result,
                                                         GError             **error);

G_END_DECLS
