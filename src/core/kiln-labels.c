#include "config.h"

#include <string.h>

#include "kiln-error.h"
#include "kiln-labels.h"

int
kiln_labels_compare_names (const char *a,
                           const char *b)
{
  g_autofree char *fa = g_utf8_casefold (a, -1);
  g_autofree char *fb = g_utf8_casefold (b, -1);
  int order = strcmp (fa, fb);

  return order != 0 ? order : strcmp (a, b);
}
