/* kiln-window.h: the main window: a view stack of the project's pages.
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-application.h"

G_BEGIN_DECLS

#define KILN_TYPE_WINDOW (kiln_window_get_type ())
G_DECLARE_FINAL_TYPE (KilnWindow, kiln_window, KILN, WINDOW, AdwApplicationWindow)

KilnWindow *kiln_window_new          (KilnApplication *application);
/* Shows the project folder's name and what it holds; a folder that cannot be
 * read is reported in a toast and leaves the window as it was. */
void        kiln_window_open_project (KilnWindow      *self,
                                      GFile           *folder);
GFile      *kiln_window_get_project  (KilnWindow      *self);
/* Imports the Fashion-MNIST demo project on a worker thread (showing
 * progress, cancellable) unless it is there already, then opens it. */
void        kiln_window_open_demo    (KilnWindow      *self,
                                      const char      *project_dir);

G_END_DECLS
