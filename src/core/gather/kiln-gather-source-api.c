/* kiln-gather-source-api.c: the HTTP API producer. For each wanted synset
 * (run->api_wnids, filled from the request and its hyponyms) it fetches
 * the URL list that the template (…geturls?wnid={wnid}) answers, one call
 * at a time while the queue runs low, and offers its URLs. A failed call
 * is a source error; a run where every call failed is an error naming the
 * template. */
#include "config.h"

#include "kiln-error.h"
#include "kiln-gatherer-private.h"

static const char *
api_template (KilnGatherRun *run)
{
  return run->req->location ? run->req->location : KILN_GATHER_DEFAULT_API;
}

typedef struct {
  KilnGatherRun *run;
  char          *wnid;
} ApiCall;

static void
on_api_read (GObject *source, GAsyncResult *result, gpointer data)
{
  ApiCall *call = data;
  KilnGatherRun *run = call->run;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  guint status = msg ? soup_message_get_status (msg) : 0;

  run->api_busy = FALSE;
  if (kiln_gather_run_stopping (run))
    ;
  else if (bytes == NULL || status < 200 || status > 299)
    {
      g_autofree char *url = msg ? g_uri_to_string (soup_message_get_uri (msg)) : g_strdup ("?");
      run->api_errors++;
      kiln_gather_run_source_error (run, g_strdup_printf ("%s: the URL list for %s failed: %s", url, call->wnid,
                                                          bytes == NULL ? error->message
                                                                        : soup_message_get_reason_phrase (msg)));
    }
  else
    {
      g_autofree char *url = g_uri_to_string (soup_message_get_uri (msg));
      g_autofree char *origin = g_strdup_printf ("the list of %s", url);
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
      g_autoptr(KilnUrlList) list = kiln_url_list_new_for_stream (in, origin);
      KilnUrlEntry entry;

      while (kiln_url_list_next (list, &entry, NULL, NULL))
        kiln_gather_run_offer_entry (run, &entry, call->wnid, origin, url);
    }
  g_free (call->wnid);
  g_free (call);
  if (g_queue_is_empty (&run->api_wnids))
    run->source_done = TRUE;
  kiln_gather_run_pump (run);
  kiln_gather_run_check_finished (run);
}

void
kiln_gather_source_api_fill (KilnGatherRun *run)
{
  g_autofree char *wnid = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  ApiCall *call;

  if (run->api_busy || (wnid = g_queue_pop_head (&run->api_wnids)) == NULL)
    return;
  /* kiln_gather_request_check() saw the template make an http(s) URL. */
  url = kiln_gather_api_url (api_template (run), wnid, &error);
  uri = url ? kiln_gather_parse_http_url (url) : NULL;
  if (uri == NULL)
    {
      kiln_gather_run_set_fatal (run, g_steal_pointer (&error));
      run->source_done = TRUE;
      return;
    }
  msg = soup_message_new_from_uri ("GET", uri);
  run->api_busy = TRUE;
  run->api_calls++;
  call = g_new0 (ApiCall, 1);
  call->run = run;
  call->wnid = g_steal_pointer (&wnid);
  soup_session_send_and_read_async (run->session, msg, G_PRIORITY_DEFAULT, NULL, on_api_read, call);
}

gboolean
kiln_gather_source_api_finish (KilnGatherRun  *run,
                               GError        **error)
{
  if (run->api_calls == 0 || run->api_errors < run->api_calls)
    return TRUE;
  g_set_error (error, KILN_ERROR, KILN_ERROR_NOT_FOUND,
               "the API gave no URL list for any of the %u synsets (%s); check the template “%s”",
               run->api_calls, run->last_source_error, api_template (run));
  return FALSE;
}
