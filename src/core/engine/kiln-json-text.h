/* kiln-json-text.h: JSON text that every parser can read back.
 *
 * json-glib 1.6 (Debian 12) writes a double such as 1e-08 as "1e-08.0",
 * which it cannot parse itself. Every JSON Kiln writes goes through
 * kiln_json_to_text(), which generates with json-glib and then drops that
 * stray ".0" after an exponent (outside strings only).
 *
 * Threads: any. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

char *kiln_json_to_text (JsonNode *node,
                         gboolean  pretty);

G_END_DECLS
