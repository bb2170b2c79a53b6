/* kiln-gather-source-folder.c: the folder producer. Walks a folder and
 * its subfolders in name order (so that a limit picks the same files each
 * time), skipping hidden entries, and offers each file where it is (the
 * check maps it, the store copies it when kept); files are named by their
 * file:// URI. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "kiln-gather-check.h"
#include "kiln-gatherer-private.h"

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Offers one file, unless it is over the size cap; the check reads it
 * where it is. FALSE: the run stops. */
static gboolean
offer_file (KilnGatherRun *run, const char *path, const char *url, const char *wnid)
{
  g_autoptr(KilnGatherItem) item = kiln_gather_item_new (run->req, url, wnid);
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      kiln_gather_item_set_result (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_NETWORK, "%s: %s", path,
                                   g_strerror (saved));
      kiln_gather_run_record (run, item);
      return TRUE;
    }
  if (!kiln_gather_check_size (run->req, item, st.st_size))
    {
      kiln_gather_run_record (run, item);
      return TRUE;
    }
  item->body = g_strdup (path);
  item->n_bytes = st.st_size;
  return kiln_gather_run_offer_item (run, g_steal_pointer (&item));
}

static gboolean
read_folder (KilnGatherRun *run, const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *wnid = run->req->wnid ? run->req->wnid : "";
  const char *name;

  if (d == NULL)
    {
      g_prefix_error (error, "%s: ", dir);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len && !kiln_gather_run_stopping (run); i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autofree char *url = NULL;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (!read_folder (run, path, error))
            return FALSE;
          continue;
        }
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      url = g_filename_to_uri (path, NULL, NULL);
      if (url == NULL)
        {
          kiln_gather_progress_add_skipped (run, 1);
          continue;
        }
      if (!kiln_gather_run_should_read (run, url, wnid))
        continue;
      if (!offer_file (run, path, url, wnid))
        return TRUE;
    }
  return TRUE;
}

gboolean
kiln_gather_source_folder_read (KilnGatherRun  *run,
                                GError        **error)
{
  return read_folder (run, run->req->location, error);
}
