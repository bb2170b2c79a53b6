/* kiln-gather-item.c: a candidate image and its outcome (see the header). */
#include "config.h"

#include <glib/gstdio.h>

#include "kiln-gather-item.h"

static const char *
class_for (const KilnGatherRequest *request,
           const char              *wnid)
{
  if (request->class_name)
    return request->class_name;
  if (request->wnid)
    return request->wnid;
  return *wnid ? wnid : "unsorted";
}

KilnGatherItem *
kiln_gather_item_new (const KilnGatherRequest *request,
                      const char              *url,
                      const char              *wnid)
{
  KilnGatherItem *item = g_new0 (KilnGatherItem, 1);

  item->url = g_strdup (url);
  item->wnid = g_strdup (wnid ? wnid : "");
  item->class_name = g_strdup (class_for (request, item->wnid));
  item->attempts = 1;
  return item;
}

void
kiln_gather_item_drop_body (KilnGatherItem *item)
{
  if (item->body_is_temp && item->body)
    g_unlink (item->body);
  g_clear_pointer (&item->body, g_free);
  item->body_is_temp = FALSE;
  item->n_bytes = 0;
}

void
kiln_gather_item_free (KilnGatherItem *item)
{
  if (item == NULL)
    return;
  kiln_gather_item_drop_body (item);
  g_free (item->url);
  g_free (item->wnid);
  g_free (item->class_name);
  g_free (item->host);
  g_free (item->final_url);
  g_free (item->notes);
  g_free (item->detail);
  g_free (item->file);
  g_free (item);
}

void
kiln_gather_item_set_resultv (KilnGatherItem      *item,
                              KilnDownloadOutcome  outcome,
                              KilnGatherReason     reason,
                              const char          *format,
                              va_list              args)
{
  g_autofree char *text = g_strdup_vprintf (format, args);

  item->outcome = outcome;
  item->reason = reason;
  g_free (item->detail);
  item->detail = g_strdup_printf ("%s: %s%s%s", kiln_gather_reason_to_string (reason), text,
                                  item->notes ? "; the decoder said: " : "", item->notes ? item->notes : "");
}

void
kiln_gather_item_set_result (KilnGatherItem      *item,
                             KilnDownloadOutcome  outcome,
                             KilnGatherReason     reason,
                             const char          *format,
                             ...)
{
  va_list args;

  va_start (args, format);
  kiln_gather_item_set_resultv (item, outcome, reason, format, args);
  va_end (args);
}
