/* kiln-preferences-window.h: the application's preferences.
 *
 * Default device (auto, the CPU, or one of the CUDA devices that answer),
 * CPU threads, the image cache's location and size limit, and downloads at
 * once with their timeouts. Every row is bound to its GSettings key; the
 * application hands the keys to the core as they change
 * (kiln_application_apply_preferences), which is where they take effect.
 *
 * Actions (group "preferences"): choose-cache-location (asks for a folder).
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define KILN_TYPE_PREFERENCES_WINDOW (kiln_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (KilnPreferencesWindow, kiln_preferences_window, KILN, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWidget *kiln_preferences_window_new (GtkWindow *parent,
                                        GSettings *settings);

G_END_DECLS
