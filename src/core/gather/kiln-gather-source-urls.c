/* kiln-gather-source-urls.c: the URL-list producer. Reads a list file
 * (fall11_urls.txt's "wnid_n<TAB>url" lines, or one URL a line, through
 * kiln-url-list) in slices on the worker thread, so that a list of
 * millions of lines neither sits in memory nor holds up the responses.
 * Lines that hold no URL are recorded as invalid by their line number. */
#include "config.h"

#include "kiln-gatherer-private.h"

#define PENDING_HIGH 2048
#define LINES_PER_FILL 20000

gboolean
kiln_gather_source_urls_open (KilnGatherRun  *run,
                              GError        **error)
{
  run->list = kiln_url_list_open (run->req->location, error);
  run->list_uri = g_filename_to_uri (run->req->location, NULL, NULL);
  if (run->list_uri == NULL)
    run->list_uri = g_strconcat ("file://", run->req->location, NULL);
  return run->list != NULL;
}

static gboolean
fill_idle_cb (gpointer data)
{
  KilnGatherRun *run = data;

  g_clear_pointer (&run->fill_idle, g_source_unref);
  kiln_gather_run_pump (run);
  kiln_gather_run_check_finished (run);
  return G_SOURCE_REMOVE;
}

void
kiln_gather_source_urls_fill (KilnGatherRun *run)
{
  KilnUrlEntry entry;
  g_autoptr(GError) error = NULL;
  guint lines = 0;

  while (g_queue_get_length (&run->pending) < PENDING_HIGH && lines < LINES_PER_FILL)
    {
      const char *wnid;

      if (kiln_gather_run_all_full (run) || !kiln_url_list_next (run->list, &entry, NULL, &error))
        {
          if (error)
            kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
          run->source_done = TRUE;
          return;
        }
      lines++;
      wnid = entry.wnid[0] ? entry.wnid : (run->req->wnid ? run->req->wnid : "");
      /* A bad line is reported whatever synset it might have named. */
      if (entry.url && !kiln_gather_run_wants (run, wnid))
        continue;
      kiln_gather_run_offer_entry (run, &entry, wnid, run->req->location, run->list_uri);
    }
  /* Still short of work: read on from an idle, so responses interleave. */
  if (g_queue_get_length (&run->pending) < KILN_GATHER_PENDING_LOW && run->fill_idle == NULL)
    {
      run->fill_idle = g_idle_source_new ();
      g_source_set_callback (run->fill_idle, fill_idle_cb, run, NULL);
      g_source_attach (run->fill_idle, run->ctx);
    }
}
