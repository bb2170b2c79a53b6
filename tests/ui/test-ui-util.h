/* test-ui-util.h: helpers for the display tests (GTK; run under Xvfb). */
#pragma once

#include <adwaita.h>

#include "kiln-application.h"
#include "kiln-curate-page.h"
#include "kiln-window.h"

G_BEGIN_DECLS

/* One registered application for the whole test program, as in the real
 * app; each call returns a new reference. */
KilnApplication *kiln_test_make_app   (void);
/* Iterates the default main context until @done returns TRUE or @seconds
 * pass; the caller asserts afterwards. */
void             kiln_test_spin_until (gboolean (*done) (gpointer),
                                       gpointer  data,
                                       int       seconds);

/* @widget's template child @name of its class @type; asserts there is one. */
gpointer         kiln_test_child           (gpointer    widget,
                                            GType       type,
                                            const char *name);

/* The AdwActionRow under @widget whose title ends with @suffix, or NULL. */
gpointer         kiln_test_find_action_row (gpointer    widget,
                                            const char *suffix);

/* For the shoot-* helpers: parses "OUT.png WIDTH HEIGHT" with @entries
 * plus --alone, --dark and --localedir, binds the text domain there, and
 * registers a KilnApplication (dark when asked). NULL after printing why
 * when the arguments are wrong. */
KilnApplication *kiln_test_shoot_start     (int                *argc,
                                            char             ***argv,
                                            const GOptionEntry *entries,
                                            gboolean           *alone,
                                            int                *width,
                                            int                *height);

/* Renders @window as it is now to a PNG at @path (for the shoot-* helpers). */
gboolean         kiln_test_save_png        (GtkWidget  *window,
                                            const char *path);

/* Owns org.freedesktop.Notifications on the session bus (the tests run in
 * dbus-run-session) and keeps every notification sent there as
 * "summary\nbody", so a test can see them and GLib finds a server. The
 * array lives as long as the program. */
GPtrArray       *kiln_test_notifications (void);
/* Renders @window as it is on screen to the PNG @path (the shoot-*
 * helpers), saying what the page @page needs as its least width. */
gboolean         kiln_test_shoot_window (GtkWidget  *window,
                                         GtkWidget  *page,
                                         const char *path);

/* The longest gap between frames of @widget's frame clock while @busy
 * says work runs: a tick callback asks for a frame every time, so a gap is
 * a main loop that did not turn. */
typedef struct {
  gboolean  (*busy) (gpointer data);
  gpointer    data;
  GtkWidget  *widget;
  guint       tick;
  gint64      last_frame;     /* µs */
  gint64      longest_gap;    /* µs */
  gint64      longest_at;     /* µs after the first busy frame, when it ended */
  gint64      first_frame;
  guint       frames;         /* counted while busy */
} KilnFrameWatch;

void             kiln_test_frame_watch_start (KilnFrameWatch *watch,
                                              GtkWidget      *widget,
                                              gboolean      (*busy) (gpointer),
                                              gpointer        data);
void             kiln_test_frame_watch_stop  (KilnFrameWatch *watch);

/* Waits for an AdwMessageDialog to be shown and returns it (asserting). */
AdwMessageDialog *kiln_test_wait_message_dialog (void);

/* The window's Curate page. */
KilnCuratePage  *kiln_test_curate_page (KilnWindow *window);
/* Opens the project in @dir in @window and waits until the window has it
 * and its Curate page has read its images. */
void             kiln_test_open_project (KilnWindow *window,
                                         const char *dir);
/* Waits until the Curate page is idle (images read, inspection over). */
void             kiln_test_wait_curate  (KilnCuratePage *page);

/* Asserts what the Curate page's header says: the filter and the count. */
void             kiln_test_assert_curate_title (KilnCuratePage *page,
                                                const char     *title,
                                                const char     *count);

G_END_DECLS
