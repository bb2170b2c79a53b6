/* kiln-training-setup.h: from a project folder to a ready KilnTrainer.
 *
 * Both front ends start and resume runs through these functions, so the
 * GUI and kiln-cli cannot drift apart. Preparing a new run reads the
 * project's kept images and a named split from its store (the one truth:
 * a discarded image is in no list, and `kiln-cli split` decides what is
 * held out), registering first any image copied into images/<class>/ by
 * hand. It builds or reuses the decode-once cache, computes the mean image
 * of the training images from that cache (the exact conversion training
 * uses), and writes the run folder: config.json, labels.txt (class file),
 * train.txt, val.txt and test.txt (label files, paths relative to the
 * project), split-ids.tsv (the store id of every image in each subset, so
 * the run can be reproduced after the folder changes), and
 * mean.f32/mean.png/mean.json. Resuming reads all of that back and
 * continues from the newest checkpoint.
 *
 * config.json ("format": "kiln-run-1") holds "images_root", "options"
 * (kiln_trainer_options_to_json), "spec" (the net spec), "image" (the
 * cache's width, height, channels, resize mode), "classes", "split" (its
 * name, seed, subset sizes, kept images outside it) and "initial_weights";
 * KilnClassifier reads the same file.
 *
 * Threads: these functions block (decoding images); front ends call the
 * _async/_finish pairs, which run them on a GTask thread. The trainer they
 * return signals on the GMainContext that is thread-default for the caller
 * (of the _async function, for the pairs). */
#pragma once

#include "kiln-image.h"
#include "kiln-labels.h"
#include "kiln-project.h"
#include "kiln-progress.h"
#include "kiln-trainer.h"

G_BEGIN_DECLS

#define KILN_RUN_CONFIG_FORMAT "kiln-run-1"
#define KILN_RUN_SPLIT_IDS_FILE "split-ids.tsv"

typedef struct {
  /* How images become tensors; 0 width/height: the net's input size.
   * A larger cache (AlexNet: 256 for 227 crops) allows random crops. */
  int cache_width, cache_height;
  KilnResizeMode resize;
  /* The project's split to train on; NULL: its current split. */
  const char *split;
  /* When the project has no split yet, one named "default" is made:
   * val_fraction (0.1) for validation, 10% for test, the rest to train,
   * at most max_per_class images a class (0: all), from split_seed. */
  double val_fraction;
  guint64 split_seed;
  guint max_per_class;
  const char *initial_weights;/* fine-tuning: a Kiln checkpoint, or NULL */
  /* What initial_weights is in words, for the run's config; NULL: as
   * kiln_training_resolve_weights() says it (an imported model says more). */
  const char *initial_weights_from;
  /* Fine-tuning keeps the checkpoint's input means (what its filters were
   * trained on); TRUE computes them from this project's images instead. */
  gboolean recompute_mean;
  const char *run_id;         /* NULL: a time stamp */
} KilnTrainingSetup;

void         kiln_training_setup_init    (KilnTrainingSetup *setup);

/* @project_dir is a project (kiln_project_open_dataset); runs go to
 * @project_dir/runs and the cache to kiln_cache_dir(). The spec's last layer should have one output
 * per class folder; when it has another number (fine-tuning a model made
 * for other classes) its top layer is replaced, starting fresh. @progress
 * (optional) follows cache building. */
KilnTrainer *kiln_training_prepare       (const char               *project_dir,
                                          KilnNetSpec              *spec,
                                          const KilnTrainerOptions *options,
                                          const KilnTrainingSetup  *setup,
                                          KilnProgress             *progress,
                                          GError                  **error);

/* Reopens @run_dir and sets the trainer to resume from its newest
 * checkpoint (or to start over when it has none yet). */
KilnTrainer *kiln_training_prepare_resume (const char   *run_dir,
                                           KilnProgress *progress,
                                           GError      **error);
/* The same on @device ("cpu", "cuda:1"…; NULL: the run's own): a
 * checkpoint resumes on any device, for this session only. */
KilnTrainer *kiln_training_prepare_resume_on (const char   *run_dir,
                                              const char   *device,
                                              KilnProgress *progress,
                                              GError      **error);

/* Lets a stopped or finished run train to @epochs in all when it is
 * resumed: rewrites its config and logs an "epochs-extended" event.
 * Fewer epochs than set is refused; the same number changes nothing
 * (*@extended FALSE). */
gboolean     kiln_training_extend_epochs (const char  *run_dir,
                                          int          epochs,
                                          gboolean    *extended,
                                          GError     **error);

/* Where the decode-once cache of @project_dir's images converted as @spec
 * says lives (images-HxWxC-MODE.kilncache in kiln_cache_dir()). */
char        *kiln_training_cache_path    (const char          *project_dir,
                                          const KilnImageSpec *spec);
/* Builds (or refreshes, decoding only changed images) the cache of the
 * images of @sets, in order, paths relative to @images_root. */
KilnTensorCache *kiln_training_build_cache (const char          *cache_path,
                                            const char          *images_root,
                                            KilnLabelSet *const *sets,
                                            guint                n_sets,
                                            KilnImageSpec       *spec,
                                            KilnProgress        *progress,
                                            GError             **error);

/* Reads a run's config.json (for the classifier and front ends). */
JsonObject  *kiln_training_read_config   (const char  *run_dir,
                                          GError     **error);
/* The net spec and training options a run's config holds; clear @options
 * with kiln_trainer_options_clear() on success. */
gboolean     kiln_training_config_get_net (JsonObject          *config,
                                           KilnNetSpec        **spec,
                                           KilnTrainerOptions  *options,
                                           GError             **error);
/* The images of @subset ("train", "val" or "test") of the split a run
 * trained on, as it wrote them (SUBSET.txt with labels.txt); their paths
 * are relative to *@images_root (from the run's config). */
KilnLabelSet *kiln_training_read_subset  (const char  *run_dir,
                                          const char  *subset,
                                          char       **images_root,
                                          GError     **error);
/* The store ids of @subset's images, in the order of SUBSET.txt (from the
 * run's split-ids.tsv); KILN_ERROR_NOT_FOUND for a run made before Kiln
 * wrote it. */
GArray       *kiln_training_read_subset_ids (const char  *run_dir,
                                             const char  *subset,
                                             GError     **error);
/* The image conversion a run's config describes. */
gboolean     kiln_training_config_get_image_spec (JsonObject    *config,
                                                  KilnImageSpec *spec,
                                                  GError       **error);

/* kiln_training_prepare() on a GTask thread, for front ends: the arguments
 * are copied, @progress and @cancellable are referenced. Cancelling
 * @cancellable stops the work as cancelling @progress's cancellable does.
 * @callback runs on the caller's thread-default context, and the trainer
 * returned signals there. */
void         kiln_training_prepare_async         (const char               *project_dir,
                                                  KilnNetSpec              *spec,
                                                  const KilnTrainerOptions *options,
                                                  const KilnTrainingSetup  *setup,
                                                  KilnProgress             *progress,
                                                  GCancellable             *cancellable,
                                                  GAsyncReadyCallback       callback,
                                                  gpointer                  user_data);
KilnTrainer *kiln_training_prepare_finish        (GAsyncResult             *result,
                                                  GError                  **error);
/* kiln_training_prepare_resume() likewise. */
void         kiln_training_prepare_resume_async  (const char               *run_dir,
                                                  KilnProgress             *progress,
                                                  GCancellable             *cancellable,
                                                  GAsyncReadyCallback       callback,
                                                  gpointer                  user_data);
/* kiln_training_prepare_resume_on() likewise; finish it with
 * kiln_training_prepare_resume_finish(). */
void         kiln_training_prepare_resume_on_async (const char             *run_dir,
                                                    const char             *device,
                                                    KilnProgress           *progress,
                                                    GCancellable           *cancellable,
                                                    GAsyncReadyCallback     callback,
                                                    gpointer                user_data);
KilnTrainer *kiln_training_prepare_resume_finish (GAsyncResult             *result,
                                                  GError                  **error);

G_END_DECLS
