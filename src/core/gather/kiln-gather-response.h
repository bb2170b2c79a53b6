/* kiln-gather-response.h: what an HTTP response's status line and headers
 * mean for a download, before its body is read: retry (429, 5xx, with
 * Retry-After), reject (another status, a redirect to another file, a
 * content type that is no image), end (a Content-Length over the cap), or
 * read the body. Split from the job so that a fake response (the fuzz
 * target, tests) goes through the very code a real one does.
 *
 * Threads: plain functions; safe from any thread. */
#pragma once

#include <libsoup/soup.h>

#include "kiln-gather-item.h"

G_BEGIN_DECLS

typedef enum {
  KILN_GATHER_RESPONSE_READ,    /* read the body; expect @expected bytes (or -1) */
  KILN_GATHER_RESPONSE_RETRY,   /* a temporary failure: @retry_what, after @retry_after_ms (or -1) */
  KILN_GATHER_RESPONSE_REJECT,  /* the item is rejected; its small body may be drained */
  KILN_GATHER_RESPONSE_ENDED,   /* the item's outcome is set (too large): stop now */
} KilnGatherResponseAction;

typedef struct {
  goffset  expected;          /* the Content-Length, or -1 */
  gint64   retry_after_ms;    /* -1: none given */
  char    *retry_what;        /* "HTTP 503 Service Unavailable" */
} KilnGatherResponse;

void     kiln_gather_response_clear (KilnGatherResponse *response);

/* Judges the response to a GET of @asked that ended at @final (after any
 * redirects), setting @item's http_status, landing, final_url and, when
 * rejected or ended, its outcome. */
KilnGatherResponseAction kiln_gather_response_judge (const KilnGatherRequest *request,
                                                     KilnGatherItem          *item,
                                                     GUri                    *asked,
                                                     GUri                    *final,
                                                     guint                    status,
                                                     const char              *reason_phrase,
                                                     SoupMessageHeaders      *headers,
                                                     KilnGatherResponse      *response);

/* Retry-After in milliseconds (delta seconds or an HTTP date), -1 when
 * absent or unreadable. */
gint64   kiln_gather_response_retry_after (SoupMessageHeaders *headers);

G_END_DECLS
