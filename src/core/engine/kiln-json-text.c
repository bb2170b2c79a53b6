#include "kiln-json-text.h"

#include <string.h>

char *
kiln_json_to_text (JsonNode *node, gboolean pretty)
{
  g_autofree char *raw = json_to_string (node, pretty);
  GString *out = g_string_sized_new (strlen (raw));
  gboolean in_string = FALSE;

  for (const char *p = raw; *p; p++)
    {
      char c = *p;
      if (in_string)
        {
          g_string_append_c (out, c);
          if (c == '\\' && p[1])
            g_string_append_c (out, *++p);
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      /* A number with an exponent followed by ".0": drop the ".0". */
      else if (c == '.' && p[1] == '0' && !g_ascii_isdigit (p[2]) && p > raw && g_ascii_isdigit (p[-1]))
        {
          const char *q = p - 1;
          while (q > raw && g_ascii_isdigit (*q))
            q--;
          if (*q == '+' || *q == '-')
            q--;
          if (q >= raw && (*q == 'e' || *q == 'E'))
            {
              p++;   /* skip ".0" */
              continue;
            }
        }
      g_string_append_c (out, c);
    }
  return g_string_free (out, FALSE);
}
