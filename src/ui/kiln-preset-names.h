/* kiln-preset-names.h: how the window names the engine's network presets
 * (kiln_net_spec_list_presets() gives their ids).
 *
 * Threads: any. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "AlexNet" for "alexnet"; an id without a display name is shown as is. */
const char *kiln_preset_get_label (const char *id);

G_END_DECLS
