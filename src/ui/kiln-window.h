/* kiln-window.h: the main window: a view stack of the project's pages.
 *
 * The window holds at most one project. Without one, the Curate page shows
 * the welcome page (the demo, a new project from a folder, ImageNet
 * synsets, recent projects). New, Open, Close and the recent projects are
 * actions: win.new-project, win.new-project-from-folder (choosers and a
 * copy-or-link question, ending in win.create-project "(sss)": folder,
 * class-folder tree or "", "copy" or "link"), win.open-project,
 * win.open-recent "s", win.close-project, win.open-demo,
 * win.start-from-synsets, win.cancel-import. Recent projects are kept in
 * the "recent-projects" setting.
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

#include "kiln-application.h"

G_BEGIN_DECLS

#define KILN_TYPE_WINDOW (kiln_window_get_type ())
G_DECLARE_FINAL_TYPE (KilnWindow, kiln_window, KILN, WINDOW, AdwApplicationWindow)

KilnWindow *kiln_window_new          (KilnApplication *application);
/* Opens the project in @folder: its store is opened (and images copied in
 * by hand registered) on a worker, then every page shows it. A folder that
 * is not a project is reported in a toast and leaves the window as it was;
 * a folder of class folders is offered to become one. */
void        kiln_window_open_project (KilnWindow      *self,
                                      GFile           *folder);
/* The open project's folder, or NULL (also while one is being opened). */
GFile      *kiln_window_get_project  (KilnWindow      *self);
/* Imports the Fashion-MNIST demo project on a worker thread (showing
 * progress, cancellable) unless it is there already, then opens it. */
void        kiln_window_open_demo    (KilnWindow      *self,
                                      const char      *project_dir);

G_END_DECLS
