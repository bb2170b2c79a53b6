/* test-ui-util.h: helpers for the display tests (GTK; run under Xvfb). */
#pragma once

#include <adwaita.h>

#include "kiln-application.h"

G_BEGIN_DECLS

/* One registered application for the whole test program, as in the real
 * app; each call returns a new reference. */
KilnApplication *kiln_test_make_app   (void);
/* Iterates the default main context until @done returns TRUE or @seconds
 * pass; the caller asserts afterwards. */
void             kiln_test_spin_until (gboolean (*done) (gpointer),
                                       gpointer  data,
                                       int       seconds);

/* The AdwActionRow under @widget whose title ends with @suffix, or NULL. */
gpointer         kiln_test_find_action_row (gpointer    widget,
                                            const char *suffix);

G_END_DECLS
