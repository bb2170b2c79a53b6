/* kiln-cache-policy.h: where a project's decoded-image caches live and how
 * large they may grow.
 *
 * The caches (thumbnails, the training tensor caches) are rebuilt from the
 * images at will, so they may live outside the project — on a faster or a
 * roomier disk — and may be trimmed. By default they live in the project's
 * cache/ folder without a limit; a front end may name another location
 * (each project then gets a folder there, named after the project and a
 * hash of its path, so two projects of one name do not share it) and a size
 * limit. Trimming deletes the least recently written files first, thumbnails
 * before tensor caches, which take minutes to rebuild.
 *
 * Threads: the policy is process-wide and may be read from any thread;
 * kiln_cache_trim() blocks on the file system. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* @location NULL or "": each project's own cache/; @size_limit in bytes, 0
 * for none. */
void     kiln_cache_policy_set            (const char *location,
                                           guint64     size_limit);
char    *kiln_cache_policy_dup_location   (void);
guint64  kiln_cache_policy_get_size_limit (void);

/* The caches' folder for @project_dir under the policy. */
char    *kiln_cache_dir                   (const char *project_dir);

/* Deletes cache files of @project_dir until they fit the size limit (none:
 * nothing to do); *@freed (optional) gets the bytes deleted. */
gboolean kiln_cache_trim                  (const char *project_dir,
                                           guint64    *freed,
                                           GError    **error);

G_END_DECLS
