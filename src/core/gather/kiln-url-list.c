#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-url-list.h"

/* Lines are cut out of a fixed window with memchr: no per-line allocation,
 * which matters for 14 million lines. A line longer than the window is an
 * error (real URL lists stay far below it). */
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
  guint64       n_skipped;
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
kiln_url_list_get_n_skipped (KilnUrlList *self)
{
  return self->n_skipped;
}

/* Returns the next raw line (NUL-terminated in place), or NULL at the end. */
static char *
next_line (KilnUrlList   *self,
           GCancellable  *cancellable,
           GError       **error)
{
  for (;;)
    {
      char *nl = memchr (self->buf + self->start, '\n', self->end - self->start);

      if (nl != NULL)
        {
          char *line = self->buf + self->start;
          *nl = '\0';
          self->start = nl - self->buf + 1;
          return line;
        }
      if (self->eof)
        {
          if (self->start < self->end)
            {
              char *line = self->buf + self->start;
              self->buf[self->end] = '\0';
              self->start = self->end;
              return line;
            }
          return NULL;
        }
      /* Slide the partial line to the front and fill the window. */
      memmove (self->buf, self->buf + self->start, self->end - self->start);
      self->end -= self->start;
      self->start = 0;
      if (self->end == WINDOW)
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT,
                       "%s:%" G_GUINT64_FORMAT ": line longer than %d bytes; is this a URL list?",
                       self->origin, self->line + 1, WINDOW);
          return NULL;
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
  char *line;

  while ((line = next_line (self, cancellable, error)) != NULL)
    {
      char *tab, *url;
      gsize len;

      self->line++;
      len = strlen (line);
      /* Not the tab: "id<TAB>" with no URL must stay recognisable. */
      while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = '\0';
      while (*line == ' ')
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (!g_utf8_validate (line, -1, NULL))
        {
          self->n_skipped++;
          continue;
        }

      entry->line = self->line;
      entry->id = NULL;
      entry->wnid[0] = '\0';
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
        {
          self->n_skipped++;
          continue;
        }
      entry->url = url;
      return TRUE;
    }
  return FALSE;
}
