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

G_END_DECLS
