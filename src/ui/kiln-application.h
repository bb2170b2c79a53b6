/* kiln-application.h: the AdwApplication (org.kiln.Kiln).
 *
 * Threads: main thread only, like every object in src/ui. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define KILN_TYPE_APPLICATION (kiln_application_get_type ())
G_DECLARE_FINAL_TYPE (KilnApplication, kiln_application, KILN, APPLICATION, AdwApplication)

KilnApplication *kiln_application_new (void);

/* NULL when the schema is not installed (running from a build tree without
 * GSETTINGS_SCHEMA_DIR): callers then keep their defaults. */
GSettings       *kiln_application_get_settings (KilnApplication *self);
/* Hands the preferences in @settings to the core, where each takes effect:
 * the default device and CPU threads to the engine, the cache location
 * and limit to the image caches, download parallelism and timeouts to new
 * gather requests. The application does this at start and on every change. */
void             kiln_application_apply_preferences (GSettings *settings);

G_END_DECLS
