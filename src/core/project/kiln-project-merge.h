/* kiln-project-merge.h: joins another project into this one.
 *
 * What N machines gathered into N projects (`kiln-cli gather --shard I/N`)
 * becomes one: every image row (kept and discarded, with its flags), its
 * file, every download outcome and every placeholder of the source. Files
 * keep their path (images/<class>/<name>, discarded/<reason>/…) unless it is
 * taken, then take "<name>-N"; each is copied through a temporary name,
 * fsynced and renamed before the rows that name it are written, and the
 * rows of one source land in one transaction. A source image already in
 * the project (same bytes and same source URL) is not added again, so
 * merging twice changes nothing; an image without a URL (labelled from a
 * folder) takes the file:// URL of its file in the source project, so the
 * same source merged from another path comes in again, flagged duplicate.
 *
 * Across projects, a new image whose bytes equal an image already here is
 * flagged "duplicate", one whose perceptual hash is within @near_distance
 * bits "near-duplicate", one close to a placeholder that another project
 * learned "placeholder": flagged, not discarded, so nothing is lost and the
 * Curate page (or `kiln-cli inspect`) decides. Hashes are the stored ones
 * (the project part decodes nothing): gathering stores them for small
 * files only, so `kiln-cli inspect` on the merged project finds the near
 * duplicates among the others. Splits and runs are the
 * source's own and are not merged: split the joined project again.
 *
 * Threads: as KilnProject; blocking (it copies files). */
#pragma once

#include "kiln-project.h"

G_BEGIN_DECLS

typedef struct {
  guint n_images;        /* image rows added */
  guint n_already;       /* source images the project had already */
  guint n_renamed;       /* added under another name: theirs was taken */
  guint n_downloads;     /* download outcomes added or completed */
  guint n_placeholders;  /* placeholders new to the project */
  guint n_duplicates;    /* added images with the bytes of one already here */
  guint n_near;          /* added images that look like one already here */
  guint n_placeholder_matches;  /* added images close to a placeholder */
  guint n_splits;        /* the source's splits, not merged */
  guint n_runs;          /* the source's training runs, not merged */
} KilnMergeStats;

/* Merges the project in @source_dir into @self, adding to @stats (zero it
 * first). Refuses a folder that is no project and @self itself. */
gboolean kiln_project_merge (KilnProject     *self,
                             const char      *source_dir,
                             int              near_distance,
                             KilnMergeStats  *stats,
                             GCancellable    *cancellable,
                             GError         **error);

G_END_DECLS
