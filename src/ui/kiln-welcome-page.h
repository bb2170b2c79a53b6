/* kiln-welcome-page.h: what the window shows while no project is open.
 *
 * Three ways in (the Fashion-MNIST demo, a new project from a folder of
 * class folders, ImageNet synsets), the recent projects, New and Open. Its
 * rows and buttons only name the window's actions (win.open-demo,
 * win.new-project-from-folder, win.start-from-synsets, win.new-project,
 * win.open-project, win.open-recent).
 *
 * Threads: main thread only. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define KILN_TYPE_WELCOME_PAGE (kiln_welcome_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnWelcomePage, kiln_welcome_page, KILN, WELCOME_PAGE, AdwBin)

GtkWidget *kiln_welcome_page_new        (void);
/* The recent project folders, newest first (the group hides when empty). */
void       kiln_welcome_page_set_recent (KilnWelcomePage    *self,
                                         const char * const *paths);

G_END_DECLS
