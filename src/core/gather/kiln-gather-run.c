/* kiln-gather-run.c: one gathering run, from the request to the last
 * recorded outcome. It knows which synsets are wanted and what earlier
 * runs finished, decides what may start (downloads at once, per host, and
 * per synset: kept plus in-flight images stay within the limit, whichever
 * the source), and takes every item through the one check and the store.
 * The HTTP side lives in the worker's main loop; archives and folders are
 * read by the worker thread itself, which waits for room. */
#include "config.h"

#include "kiln-error.h"
#include "kiln-gather-check.h"
#include "kiln-gatherer-private.h"
#include "kiln-synsets.h"

typedef struct {
  guint kept;
  guint in_flight;
} SynsetState;

typedef enum {
  ROOM_OPEN,   /* may start */
  ROOM_BUSY,   /* not now: the limit is taken by images in flight, or no slot is free */
  ROOM_FULL,   /* never: the synset has kept its limit */
} Room;

/* Stopping --------------------------------------------------------------- */

gboolean
kiln_gather_run_stopping (KilnGatherRun *run)
{
  return g_cancellable_is_cancelled (run->stop);
}

static void
wake_waiters (KilnGatherRun *run)
{
  g_mutex_lock (&run->lock);
  g_cond_broadcast (&run->cond);
  g_mutex_unlock (&run->lock);
}

void
kiln_gather_run_set_fatal (KilnGatherRun *run,
                           GError        *error)
{
  g_mutex_lock (&run->lock);
  if (run->fatal == NULL)
    run->fatal = error;
  else
    g_error_free (error);
  g_mutex_unlock (&run->lock);
  g_cancellable_cancel (run->stop);
  wake_waiters (run);
}

/* The per-synset limit --------------------------------------------------- */

gboolean
kiln_gather_run_wants (KilnGatherRun *run,
                       const char    *wnid)
{
  return run->wanted == NULL || g_hash_table_contains (run->wanted, wnid);
}

static SynsetState *
synset_state_locked (KilnGatherRun *run, const char *wnid)
{
  SynsetState *st = g_hash_table_lookup (run->synsets, wnid);

  if (st == NULL)
    {
      st = g_new0 (SynsetState, 1);
      g_hash_table_insert (run->synsets, g_strdup (wnid), st);
    }
  return st;
}

static gboolean
counts_for_full (KilnGatherRun *run, SynsetState *st, const char *wnid)
{
  return run->req->limit && st->kept == run->req->limit && run->wanted && g_hash_table_contains (run->wanted, wnid);
}

static void
count_kept_locked (KilnGatherRun *run, SynsetState *st, const char *wnid)
{
  st->kept++;
  if (counts_for_full (run, st, wnid))
    run->n_synsets_full++;
}

/* An image counted as kept was not one after all. */
static void
uncount_kept (KilnGatherRun *run, const char *wnid)
{
  SynsetState *st;

  g_mutex_lock (&run->lock);
  st = synset_state_locked (run, wnid);
  if (counts_for_full (run, st, wnid))
    run->n_synsets_full--;
  st->kept--;
  g_mutex_unlock (&run->lock);
}

/* Whether one more image of @wnid may start, when @slot_free says the
 * other bound (its host, or the pool) allows it: images kept plus those in
 * flight stay within the limit, since any in flight may still be kept.
 * ROOM_OPEN takes the place. Called with the lock held. */
static Room
take_place_locked (KilnGatherRun *run, const char *wnid, gboolean slot_free)
{
  SynsetState *st = synset_state_locked (run, wnid);
  guint limit = run->req->limit;

  if (limit && st->kept >= limit)
    return ROOM_FULL;
  if ((limit && st->kept + st->in_flight >= limit) || !slot_free)
    return ROOM_BUSY;
  st->in_flight++;
  return ROOM_OPEN;
}

/* Gives the place back, counting the image if it was kept. */
static void
leave_place_locked (KilnGatherRun *run, const char *wnid, gboolean kept)
{
  SynsetState *st = synset_state_locked (run, wnid);

  st->in_flight--;
  if (kept)
    count_kept_locked (run, st, wnid);
  g_cond_broadcast (&run->cond);
}

static void
leave_place (KilnGatherRun *run, const char *wnid, gboolean kept)
{
  g_mutex_lock (&run->lock);
  leave_place_locked (run, wnid, kept);
  g_mutex_unlock (&run->lock);
}

gboolean
kiln_gather_run_all_full (KilnGatherRun *run)
{
  gboolean full;

  g_mutex_lock (&run->lock);
  full = run->req->limit > 0 && run->wanted != NULL && run->n_synsets_full >= g_hash_table_size (run->wanted);
  g_mutex_unlock (&run->lock);
  return full;
}

/* Recording -------------------------------------------------------------- */

void
kiln_gather_run_record (KilnGatherRun        *run,
                        const KilnGatherItem *item)
{
  g_autoptr(GError) error = NULL;

  if (!kiln_gather_store_record (run->store, item, &error))
    {
      kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
      return;
    }
  kiln_gather_progress_count_outcome (run, item);
}

void
kiln_gather_run_offer_invalid (KilnGatherRun *run,
                               const char    *key,
                               const char    *wnid,
                               const char    *format,
                               ...)
{
  g_autoptr(KilnGatherItem) item = NULL;
  va_list args;

  if (g_hash_table_contains (run->done_urls, key))
    {
      kiln_gather_progress_add_skipped (run, 1);
      return;
    }
  item = kiln_gather_item_new (run->req, key, wnid);
  /* A line that is no URL was never requested. */
  item->attempts = 0;
  va_start (args, format);
  kiln_gather_item_set_resultv (item, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_INVALID, format, args);
  va_end (args);
  kiln_gather_run_record (run, item);
}

void
kiln_gather_run_source_error (KilnGatherRun *run,
                              char          *message)
{
  g_debug ("%s", message);
  g_mutex_lock (&run->lock);
  g_free (run->last_source_error);
  run->last_source_error = message;
  g_mutex_unlock (&run->lock);
  kiln_gather_progress_add_source_error (run);
}

/* A small body that many hosts serve is a placeholder: the copies kept
 * before the last host showed it go to discarded/placeholder/ (undoable),
 * their downloads say why, and the image is learned. Returns whether
 * @item itself was among them (pool thread). */
static gboolean
discard_repeated (KilnGatherRun *run, KilnGatherItem *item, GPtrArray *copies, guint n_hosts)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *what = g_strdup_printf ("the same %" G_GUINT64_FORMAT " bytes came from %u hosts",
                                           item->n_bytes, n_hosts);
  gboolean itself = FALSE;

  if (item->has_phash)
    {
      g_autofree char *note = g_strdup_printf ("learned: %s, e.g. %s", what, item->url);
      if (!kiln_gather_placeholders_learn (run->placeholders, item->phash, note, &error))
        {
          kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
          return FALSE;
        }
    }
  for (guint i = 0; i < copies->len; i++)
    {
      KilnGatherKeptCopy *copy = g_ptr_array_index (copies, i);
      g_autoptr(KilnGatherItem) rejected = kiln_gather_item_new (run->req, copy->url, copy->wnid);

      if (!kiln_project_discard_image (run->project, copy->image_id, "placeholder", &error))
        {
          kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
          return FALSE;
        }
      rejected->attempts = 0;
      rejected->http_status = copy->http_status;
      kiln_gather_item_set_result (rejected, KILN_DOWNLOAD_REJECTED, KILN_GATHER_REASON_PLACEHOLDER,
                                   "%s; moved to discarded/placeholder/", what);
      if (!kiln_gather_store_record (run->store, rejected, &error))
        {
          kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
          return FALSE;
        }
      kiln_gather_progress_unkeep (run);
      if (copy->image_id == item->image_id)
        itself = TRUE;
      else
        uncount_kept (run, copy->wnid);
    }
  return itself;
}

/* Checks @item and keeps or records it (pool thread). TRUE when it was
 * kept; FALSE when rejected (and recorded) or abandoned. */
static gboolean
check_and_store (KilnGatherRun *run, KilnGatherItem *item)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) repeated = NULL;
  KilnImageInfo info;
  guint n_hosts = 0;

  if (!kiln_gather_check_image (run->req, run->placeholders, item, &info))
    {
      kiln_gather_run_record (run, item);
      return FALSE;
    }
  if (!kiln_gather_store_keep (run->store, item, &info, run->stop, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
      return FALSE;
    }
  kiln_gather_progress_count_outcome (run, item);
  repeated = kiln_gather_placeholders_note_kept (run->placeholders, item, &n_hosts);
  return repeated == NULL || !discard_repeated (run, item, repeated, n_hosts);
}

/* HTTP scheduling (worker thread) ---------------------------------------- */

static guint
host_count (KilnGatherRun *run, const char *host)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (run->host_in_flight, host));
}

static void
release_host (KilnGatherRun *run, KilnGatherJob *job)
{
  if (!job->holds_host)
    return;
  g_hash_table_insert (run->host_in_flight, g_strdup (job->host), GUINT_TO_POINTER (host_count (run, job->host) - 1));
  job->holds_host = FALSE;
}

/* Its synset place is already taken (see kiln_gather_run_pump). */
static void
start_job (KilnGatherRun *run, KilnGatherJob *job)
{
  run->in_flight++;
  g_hash_table_add (run->active, job);
  job->holds_host = TRUE;
  g_hash_table_insert (run->host_in_flight, g_strdup (job->host), GUINT_TO_POINTER (host_count (run, job->host) + 1));
  kiln_gather_job_start (job);
}

/* The job is over for this run: count it, free it, start more. */
static void
finish_job (KilnGatherRun *run, KilnGatherJob *job, gboolean kept)
{
  release_host (run, job);
  leave_place (run, job->item->wnid, kept);
  run->in_flight--;
  g_hash_table_remove (run->active, job);
  kiln_gather_job_free (job);
  kiln_gather_progress_update_queue (run);
  kiln_gather_run_pump (run);
  kiln_gather_run_check_finished (run);
}

static gboolean
job_stored_in_worker (gpointer data)
{
  KilnGatherJob *job = data;

  finish_job (job->run, job, job->kept);
  return G_SOURCE_REMOVE;
}

static void
http_pool_func (gpointer data, gpointer user_data)
{
  KilnGatherJob *job = data;

  job->kept = check_and_store (job->run, job->item);
  g_main_context_invoke (job->run->ctx, job_stored_in_worker, job);
}

static gboolean
retry_cb (gpointer data)
{
  KilnGatherJob *job = data;
  KilnGatherRun *run = job->run;

  g_clear_pointer (&job->retry_timer, g_source_unref);
  run->waiting--;
  g_queue_push_head (&run->pending, job);
  kiln_gather_run_pump (run);
  return G_SOURCE_REMOVE;
}

void
kiln_gather_run_job_over (KilnGatherRun        *run,
                          KilnGatherJob        *job,
                          KilnGatherJobVerdict  verdict)
{
  switch (verdict)
    {
    case KILN_GATHER_JOB_BODY:
      /* The connection is free; the job keeps its synset place until the
       * pool has kept or rejected its image. */
      release_host (run, job);
      g_thread_pool_push (run->pool, job, NULL);
      kiln_gather_run_pump (run);
      break;
    case KILN_GATHER_JOB_RETRY:
      /* Waiting holds no place: another URL of the synset may go first. */
      release_host (run, job);
      leave_place (run, job->item->wnid, FALSE);
      run->in_flight--;
      run->waiting++;
      job->retry_timer = g_timeout_source_new (job->retry_delay_ms);
      g_source_set_callback (job->retry_timer, retry_cb, job, NULL);
      g_source_attach (job->retry_timer, run->ctx);
      kiln_gather_progress_update_queue (run);
      kiln_gather_run_pump (run);
      break;
    case KILN_GATHER_JOB_ENDED:
      if (!kiln_gather_run_stopping (run))
        kiln_gather_run_record (run, job->item);
      finish_job (run, job, FALSE);
      break;
    case KILN_GATHER_JOB_ABANDONED:
    default:
      finish_job (run, job, FALSE);
      break;
    }
}

void
kiln_gather_run_offer_url (KilnGatherRun *run,
                           const char    *url,
                           const char    *wnid,
                           const char    *origin,
                           guint64        line)
{
  KilnGatherJob *job;

  if (g_hash_table_contains (run->done_urls, url))
    {
      kiln_gather_progress_add_skipped (run, 1);
      return;
    }
  if (g_hash_table_contains (run->seen_urls, url))
    return;
  g_hash_table_add (run->seen_urls, g_strdup (url));
  job = kiln_gather_job_new (run, url, wnid);
  if (job == NULL)
    kiln_gather_run_offer_invalid (run, url, wnid, "line %" G_GUINT64_FORMAT " of %s: not an http(s) URL "
                                   "with a host name", line, origin);
  else
    g_queue_push_tail (&run->pending, job);
}

void
kiln_gather_run_offer_entry (KilnGatherRun      *run,
                             const KilnUrlEntry *entry,
                             const char         *wnid,
                             const char         *origin,
                             const char         *list_uri)
{
  g_autofree char *key = NULL;
  guint n_shards = run->req->shard_count;

  /* By line number, not by URL hash: any machine that reads the same list
   * (or the same API answer) splits it the same way, and the shards are
   * even to a line. Bad lines go to their shard too, so each is reported once. */
  if (n_shards > 1 && (entry->line - 1) % n_shards != run->req->shard_index)
    return;
  if (entry->url)
    {
      kiln_gather_run_offer_url (run, entry->url, wnid, origin, entry->line);
      return;
    }
  /* Its text may be binary or huge: the line is named by its number. */
  key = g_strdup_printf ("%s#line=%" G_GUINT64_FORMAT, list_uri, entry->line);
  kiln_gather_run_offer_invalid (run, key, wnid, "line %" G_GUINT64_FORMAT " of %s: %s", entry->line, origin,
                                 entry->problem);
}

static void
fill (KilnGatherRun *run)
{
  if (run->source_done || kiln_gather_run_stopping (run))
    return;
  if (run->list)
    kiln_gather_source_urls_fill (run);
  else if (g_queue_get_length (&run->pending) < KILN_GATHER_PENDING_LOW)
    kiln_gather_source_api_fill (run);
}

void
kiln_gather_run_pump (KilnGatherRun *run)
{
  const KilnGatherRequest *req = run->req;
  guint dropped = 0;

  if (kiln_gather_run_stopping (run))
    return;
  if (g_queue_get_length (&run->pending) < KILN_GATHER_PENDING_LOW)
    fill (run);

  for (GList *l = run->pending.head; l != NULL && run->in_flight < req->max_parallel;)
    {
      KilnGatherJob *job = l->data;
      GList *next = l->next;
      Room room;

      g_mutex_lock (&run->lock);
      room = take_place_locked (run, job->item->wnid, host_count (run, job->host) < req->max_per_host);
      g_mutex_unlock (&run->lock);
      if (room == ROOM_FULL)
        {
          g_queue_delete_link (&run->pending, l);
          kiln_gather_job_free (job);
          dropped++;
        }
      else if (room == ROOM_OPEN)
        {
          g_queue_delete_link (&run->pending, l);
          start_job (run, job);
        }
      l = next;
    }
  if (dropped)
    kiln_gather_progress_add_over_limit (run, dropped);
  kiln_gather_progress_update_queue (run);
}

void
kiln_gather_run_check_finished (KilnGatherRun *run)
{
  gboolean stopping = kiln_gather_run_stopping (run);

  if (run->finished || run->in_flight > 0 || run->api_busy || run->fill_idle)
    return;
  if (!stopping && run->waiting > 0)
    return;
  if (!stopping && !(run->source_done && g_queue_is_empty (&run->pending)))
    return;
  run->finished = TRUE;
  g_main_loop_quit (run->loop);
}

static gboolean
cancel_in_worker (gpointer data)
{
  KilnGatherRun *run = data;
  GHashTableIter iter;
  gpointer key;
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, run->active);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      KilnGatherJob *job = key;
      if (job->retry_timer)
        g_ptr_array_add (waiting, job);
      else
        kiln_gather_job_cancel (job);
    }
  for (guint i = 0; i < waiting->len; i++)
    {
      KilnGatherJob *job = g_ptr_array_index (waiting, i);
      g_hash_table_remove (run->active, job);
      run->waiting--;
      kiln_gather_job_free (job);
    }
  if (run->session)
    soup_session_abort (run->session);
  kiln_gather_run_check_finished (run);
  return G_SOURCE_REMOVE;
}

static void
on_user_cancelled (GCancellable *cancellable, gpointer data)
{
  KilnGatherRun *run = data;

  g_cancellable_cancel (run->stop);
  /* Archive and folder runs wait on the condition, not the loop. */
  wake_waiters (run);
  g_main_context_invoke (run->ctx, cancel_in_worker, run);
}

static gboolean
run_network (KilnGatherRun *run, GError **error)
{
  const KilnGatherRequest *req = run->req;

  if (req->source == KILN_GATHER_URLS && !kiln_gather_source_urls_open (run, error))
    return FALSE;
  /* Two more connections than downloads, for the API's URL lists. */
  run->session = soup_session_new_with_options ("max-conns", req->max_parallel + 2,
                                                "max-conns-per-host", req->max_per_host,
                                                "user-agent", "Kiln/" PACKAGE_VERSION " ",
                                                NULL);
  run->pool = g_thread_pool_new (http_pool_func, run, MAX (1, MIN (2 * g_get_num_processors () + 2, req->max_parallel)),
                                 FALSE, NULL);
  kiln_gather_run_pump (run);
  kiln_gather_run_check_finished (run);
  if (!run->finished)
    g_main_loop_run (run->loop);
  return TRUE;
}

/* Archives and folders (worker thread, no network) ------------------------ */

gboolean
kiln_gather_run_should_read (KilnGatherRun *run,
                             const char    *url,
                             const char    *wnid)
{
  gboolean full;

  if (g_hash_table_contains (run->done_urls, url))
    {
      kiln_gather_progress_add_skipped (run, 1);
      return FALSE;
    }
  g_mutex_lock (&run->lock);
  full = run->req->limit && synset_state_locked (run, wnid)->kept >= run->req->limit;
  g_mutex_unlock (&run->lock);
  if (full)
    kiln_gather_progress_add_over_limit (run, 1);
  return !full;
}

gboolean
kiln_gather_run_offer_item (KilnGatherRun  *run,
                            KilnGatherItem *item)
{
  g_autoptr(KilnGatherItem) owned = item;
  gboolean stopping;
  Room room = ROOM_BUSY;

  g_mutex_lock (&run->lock);
  while (!(stopping = kiln_gather_run_stopping (run)) &&
         (room = take_place_locked (run, item->wnid, run->local_in_flight < run->req->max_parallel)) == ROOM_BUSY)
    g_cond_wait (&run->cond, &run->lock);
  if (room == ROOM_OPEN)
    run->local_in_flight++;
  g_mutex_unlock (&run->lock);

  if (stopping)
    return FALSE;
  if (room == ROOM_FULL)
    {
      kiln_gather_progress_add_over_limit (run, 1);
      return TRUE;
    }
  kiln_gather_progress_add_bytes (run, item->n_bytes);
  g_thread_pool_push (run->pool, g_steal_pointer (&owned), NULL);
  return TRUE;
}

static void
local_pool_func (gpointer data, gpointer user_data)
{
  g_autoptr(KilnGatherItem) item = data;
  KilnGatherRun *run = user_data;
  gboolean kept = check_and_store (run, item);

  g_mutex_lock (&run->lock);
  run->local_in_flight--;
  leave_place_locked (run, item->wnid, kept);
  g_mutex_unlock (&run->lock);
}

static gboolean
run_local (KilnGatherRun *run, GError **error)
{
  const KilnGatherRequest *req = run->req;
  gboolean ok;

  run->pool = g_thread_pool_new (local_pool_func, run, MAX (1, MIN (g_get_num_processors (), req->max_parallel)),
                                 FALSE, NULL);
  if (req->source == KILN_GATHER_ARCHIVE)
    ok = kiln_gather_source_archive_read (run, error);
  else
    ok = kiln_gather_source_folder_read (run, error);
  run->source_done = TRUE;
  return ok;
}

/* The run ---------------------------------------------------------------- */

static gboolean
build_wanted (KilnGatherRun *run, GError **error)
{
  const KilnGatherRequest *req = run->req;
  g_autoptr(KilnSynsets) synsets = NULL;
  g_autoptr(GArray) below = NULL;
  guint index;

  if (req->wnid == NULL)
    {
      if (req->source == KILN_GATHER_API)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "the API source needs a synset (--wnid)");
          return FALSE;
        }
      return TRUE;
    }
  run->wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (run->wanted, g_strdup (req->wnid));
  if (req->source == KILN_GATHER_API)
    g_queue_push_tail (&run->api_wnids, g_strdup (req->wnid));
  if (!req->subset)
    return TRUE;

  synsets = kiln_synsets_get_default (error);
  if (synsets == NULL)
    return FALSE;
  index = kiln_synsets_lookup (synsets, req->wnid);
  if (index == KILN_SYNSET_NONE)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
                   "%s is not a WordNet 3.0 noun synset; check the wnid (n + 8 digits)", req->wnid);
      return FALSE;
    }
  below = kiln_synsets_get_descendants (synsets, index, 0);
  for (guint i = 1; i < below->len; i++)
    {
      guint s = g_array_index (below, guint, i);
      const char *wnid = kiln_synsets_get_wnid (synsets, s);

      g_hash_table_add (run->wanted, g_strdup (wnid));
      /* The ImageNet API only knows 21k synsets; asking for others wastes calls. */
      if (req->source == KILN_GATHER_API && kiln_synsets_in_21k (synsets, s))
        g_queue_push_tail (&run->api_wnids, g_strdup (wnid));
    }
  return TRUE;
}

/* Earlier runs: what is done, and how many images each synset kept. */
static gboolean
load_previous (KilnGatherRun *run, GError **error)
{
  g_autoptr(GPtrArray) records = kiln_project_list_downloads (run->project, NULL, error);

  if (records == NULL)
    return FALSE;
  g_mutex_lock (&run->lock);
  for (guint i = 0; i < records->len; i++)
    {
      KilnDownloadRecord *rec = g_ptr_array_index (records, i);
      const char *wnid = rec->wnid ? rec->wnid : "";

      if (!kiln_download_outcome_is_done (rec->outcome) ||
          (rec->outcome == KILN_DOWNLOAD_FAILED && run->req->retry_failed))
        continue;
      g_hash_table_add (run->done_urls, g_strdup (rec->url));
      if (rec->outcome == KILN_DOWNLOAD_KEPT)
        count_kept_locked (run, synset_state_locked (run, wnid), wnid);
    }
  g_mutex_unlock (&run->lock);
  return TRUE;
}

/* What went wrong once the sources are done, first cause first. */
static gboolean
run_outcome (KilnGatherRun *run, gboolean ok, GError **error)
{
  g_autoptr(GError) fatal = NULL;

  g_mutex_lock (&run->lock);
  fatal = g_steal_pointer (&run->fatal);
  g_mutex_unlock (&run->lock);
  if (!ok)
    return FALSE;
  if (fatal)
    {
      g_propagate_error (error, g_steal_pointer (&fatal));
      return FALSE;
    }
  if (run->req->source == KILN_GATHER_API && !kiln_gather_source_api_finish (run, error))
    return FALSE;
  if (g_cancellable_is_cancelled (run->user_cancellable))
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_CANCELLED, "gathering was cancelled; run it again to resume");
      return FALSE;
    }
  return TRUE;
}

gboolean
kiln_gather_run_execute (KilnGatherRun  *run,
                         GError        **error)
{
  gboolean ok;

  run->start_us = g_get_monotonic_time ();
  if (!build_wanted (run, error) || !load_previous (run, error) ||
      (run->store = kiln_gather_store_open (run->project, error)) == NULL ||
      (run->placeholders = kiln_gather_placeholders_new (run->project, run->req, error)) == NULL)
    ok = FALSE;
  else if (run->req->source == KILN_GATHER_ARCHIVE || run->req->source == KILN_GATHER_FOLDER)
    ok = run_local (run, error);
  else
    ok = run_network (run, error);

  /* Waits for the items in the pool. */
  if (run->pool)
    g_thread_pool_free (g_steal_pointer (&run->pool), FALSE, TRUE);
  g_clear_pointer (&run->store, kiln_gather_store_close);
  g_clear_pointer (&run->placeholders, kiln_gather_placeholders_free);
  if (run->session)
    soup_session_abort (run->session);
  /* Let the aborted requests' callbacks run before the context goes. */
  while (g_main_context_iteration (run->ctx, FALSE))
    ;
  if (run->cancel_id)
    g_cancellable_disconnect (run->user_cancellable, run->cancel_id);
  run->cancel_id = 0;
  kiln_gather_progress_finish (run);
  return run_outcome (run, ok, error);
}

KilnGatherRun *
kiln_gather_run_new (KilnGatherer            *self,
                     const KilnGatherRequest *request,
                     GTask                   *task,
                     GCancellable            *cancellable)
{
  KilnGatherRun *run = g_new0 (KilnGatherRun, 1);

  run->self = g_object_ref (self);
  run->req = kiln_gather_request_copy (request);
  /* Files are named by absolute file:// URIs, and the run's thread must
   * not depend on the working directory. */
  if (run->req->source != KILN_GATHER_API && run->req->location)
    {
      char *absolute = g_canonicalize_filename (run->req->location, NULL);
      g_free (run->req->location);
      run->req->location = absolute;
    }
  run->project = g_object_ref (kiln_gatherer_get_project (self));
  run->task = g_object_ref (task);
  run->user_cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  run->stop = g_cancellable_new ();
  g_mutex_init (&run->lock);
  g_cond_init (&run->cond);
  run->ctx = g_main_context_new ();
  run->loop = g_main_loop_new (run->ctx, FALSE);
  g_queue_init (&run->pending);
  g_queue_init (&run->api_wnids);
  run->active = g_hash_table_new (NULL, NULL);
  run->host_in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->synsets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  run->done_urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->seen_urls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->cancel_id = g_cancellable_connect (run->user_cancellable, G_CALLBACK (on_user_cancelled), run, NULL);
  return run;
}

void
kiln_gather_run_free (KilnGatherRun *run)
{
  KilnGatherJob *job;
  GHashTableIter iter;

  while ((job = g_queue_pop_head (&run->pending)) != NULL)
    kiln_gather_job_free (job);
  /* What is left active waited for a retry when a fatal error stopped the
   * run (a cancel frees those at once). */
  g_hash_table_iter_init (&iter, run->active);
  while (g_hash_table_iter_next (&iter, (gpointer *) &job, NULL))
    kiln_gather_job_free (job);
  g_queue_clear_full (&run->api_wnids, g_free);
  g_clear_pointer (&run->list, kiln_url_list_free);
  g_free (run->list_uri);
  g_clear_pointer (&run->wanted, g_hash_table_unref);
  g_clear_pointer (&run->active, g_hash_table_unref);
  g_clear_pointer (&run->host_in_flight, g_hash_table_unref);
  g_clear_pointer (&run->synsets, g_hash_table_unref);
  g_clear_pointer (&run->done_urls, g_hash_table_unref);
  g_clear_pointer (&run->seen_urls, g_hash_table_unref);
  g_clear_object (&run->session);
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_pointer (&run->ctx, g_main_context_unref);
  g_clear_pointer (&run->req, kiln_gather_request_free);
  g_clear_object (&run->project);
  g_clear_object (&run->task);
  g_clear_object (&run->user_cancellable);
  g_clear_object (&run->stop);
  g_clear_object (&run->self);
  g_clear_error (&run->fatal);
  g_free (run->last_source_error);
  g_mutex_clear (&run->lock);
  g_cond_clear (&run->cond);
  g_free (run);
}
