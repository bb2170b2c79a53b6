#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-url-list.h"

/* Lines are cut out of a fixed window with memchr: no per-line allocation,
 * which matters for 14 million lines. A line longer than the window (real
 * URL lists stay far below it) is read past and reported, not kept. */
#define WINDOW (256 * 1024)

struct _KilnUrlList
{
  GInputStream *stream;
  char         *origin;
  char         *buf;
  gsize         start;    /* first unread byte */
  gsize         end;      /* one past the last valid byte */
  gboolean      eof;
  guint64       line;
  guint64       n_invalid;
  gboolean      overlong;  /* reading past the rest of a line over the window */
};

KilnUrlList *
kiln_url_list_new_for_stream (GInputStream *stream,
                              const char   *origin)
{
  KilnUrlList *self = g_new0 (KilnUrlList, 1);

  self->stream = g_object_ref (stream);
  self->origin = g_strdup (origin);
  self->buf = g_malloc (WINDOW + 1);
  return self;
}

KilnUrlList *
kiln_url_list_open (const char  *path,
                    GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GError) local_error = NULL;

  in = g_file_read (file, NULL, &local_error);
  if (in == NULL)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: cannot open the URL list: %s",
                   path, local_error->message);
      return NULL;
    }
  return kiln_url_list_new_for_stream (G_INPUT_STREAM (in), path);
}

void
kiln_url_list_free (KilnUrlList *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->stream);
  g_free (self->origin);
  g_free (self->buf);
  g_free (self);
}

const char *
kiln_url_list_get_origin (KilnUrlList *self)
{
  return self->origin;
}

guint64
kiln_url_list_get_n_invalid (KilnUrlList *self)
{
  return self->n_invalid;
}

/* Returns the next raw line (NUL-terminated in place, @length bytes before
 * that), or NULL at the end; *too_long says that the line was longer than
 * the window (its text is gone then). */
static char *
next_line (KilnUrlList   *self,
           gsize         *length,
           gboolean      *too_long,
           GCancellable  *cancellable,
           GError       **error)
{
  *too_long = FALSE;
  for (;;)
    {
      char *nl = memchr (self->buf + self->start, '\n', self->end - self->start);

      if (nl != NULL || (self->eof && (self->start < self->end || self->overlong)))
        {
          char *line = self->buf + self->start;

          if (nl == NULL)
            nl = self->buf + self->end;
          *nl = '\0';
          *length = nl - line;
          self->start = MIN ((gsize) (nl - self->buf) + 1, self->end);
          *too_long = self->overlong;
          self->overlong = FALSE;
          return line;
        }
      if (self->eof)
        return NULL;
      /* Slide the partial line to the front and fill the window; a line
       * that fills it whole is dropped, and read past up to its end. */
      memmove (self->buf, self->buf + self->start, self->end - self->start);
      self->end -= self->start;
      self->start = 0;
      if (self->end == WINDOW)
        {
          self->end = 0;
          self->overlong = TRUE;
        }
      {
        g_autoptr(GError) local_error = NULL;
        gssize n = g_input_stream_read (self->stream, self->buf + self->end, WINDOW - self->end,
                                        cancellable, &local_error);
        if (n < 0)
          {
            g_set_error (error, KILN_ERROR, KILN_ERROR_IO, "%s: read failed after line %" G_GUINT64_FORMAT ": %s",
                         self->origin, self->line, local_error->message);
            return NULL;
          }
        if (n == 0)
          self->eof = TRUE;
        self->end += n;
      }
    }
}

/* What each byte says about a line: a control character other than tab
 * (binary data), or a byte above ASCII (UTF-8 to validate). */
enum { BYTE_CONTROL = 1, BYTE_HIGH = 2 };
static const guint8 byte_kind[256] = {
  [0x00 ... 0x08] = BYTE_CONTROL, [0x0a ... 0x1f] = BYTE_CONTROL, [0x7f] = BYTE_CONTROL,
  [0x80 ... 0xff] = BYTE_HIGH,
};

/* Why @line (@len bytes) cannot be a URL's text, or NULL: UTF-8 without
 * control characters other than tab. One table lookup a byte, and UTF-8
 * is validated only when a byte is not ASCII: lists have 14 million
 * lines. */
static const char *
text_problem (const char *line, gsize len)
{
  guint8 kinds = 0;

  for (gsize i = 0; i < len; i++)
    kinds |= byte_kind[(guchar) line[i]];
  if (kinds & BYTE_CONTROL)
    return "control characters (binary data?), not a URL";
  if ((kinds & BYTE_HIGH) && !g_utf8_validate_len (line, len, NULL))
    return "binary data or another encoding than UTF-8, not a URL";
  return NULL;
}

static gboolean
report (KilnUrlList *self, KilnUrlEntry *entry, const char *problem)
{
  self->n_invalid++;
  entry->url = NULL;
  entry->problem = problem;
  return TRUE;
}

static gboolean
is_image_id (const char *id)
{
  /* n + 8 digits, then '_' and more (ImageNet's image ids). */
  if (id[0] != 'n')
    return FALSE;
  for (guint i = 1; i < 9; i++)
    if (!g_ascii_isdigit (id[i]))
      return FALSE;
  return id[9] == '_';
}

gboolean
kiln_url_list_next (KilnUrlList   *self,
                    KilnUrlEntry  *entry,
                    GCancellable  *cancellable,
                    GError       **error)
{
  const char *problem;
  gboolean too_long;
  gsize len;
  char *line;

  while ((line = next_line (self, &len, &too_long, cancellable, error)) != NULL)
    {
      char *tab, *url;

      self->line++;
      entry->line = self->line;
      entry->id = NULL;
      entry->wnid[0] = '\0';
      if (too_long)
        return report (self, entry, "longer than 256 KiB, not a URL");
      /* Not the tab: "id<TAB>" with no URL must stay recognisable. */
      while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = '\0';
      while (len > 0 && *line == ' ')
        {
          line++;
          len--;
        }
      if (len == 0 || *line == '#')
        continue;
      if ((problem = text_problem (line, len)) != NULL)
        return report (self, entry, problem);

      tab = strchr (line, '\t');
      if (tab != NULL)
        {
          *tab = '\0';
          url = tab + 1;
          while (*url == ' ' || *url == '\t')
            url++;
          g_strchomp (url);
          entry->id = line;
          if (*url == '\0' && strstr (line, "://") != NULL)
            {
              /* A plain URL with a stray tab after it. */
              url = line;
              entry->id = NULL;
            }
          if (is_image_id (line))
            {
              memcpy (entry->wnid, line, 9);
              entry->wnid[9] = '\0';
            }
        }
      else
        url = line;
      if (*url == '\0')
        return report (self, entry, "an image id without a URL");
      entry->url = url;
      entry->problem = NULL;
      return TRUE;
    }
  return FALSE;
}
