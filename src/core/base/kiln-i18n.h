/* kiln-i18n.h: where Kiln's message catalogues are read from.
 *
 * Installed, they are under LOCALEDIR. Run from the build tree (as the
 * README's run command does), they are the build's po/ folder, where
 * meson compiles them; KILN_LOCALEDIR overrides both.
 *
 * Threads: call once from main() before any thread starts. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The folder holding ja/LC_MESSAGES/kiln.mo and the others. */
const char *kiln_i18n_get_localedir (void);
/* setlocale, bindtextdomain (UTF-8) and textdomain for Kiln. */
void        kiln_i18n_init          (void);

G_END_DECLS
