/* kiln-emitter.h: coalesced reporting from worker threads to the owner's
 * main context; private to the core (progress, gatherer, trainer).
 *
 * The owner keeps its state under its own lock; workers change it, then
 * call kiln_emitter_post(). The emitter keeps at most one source attached
 * to the owner's GMainContext, so a thousand posts cost a few callbacks:
 * the callback runs there, reads the newest state under the owner's lock
 * and emits the owner's signals. Posts made while a callback runs schedule
 * the next one, so the last state is never lost.
 *
 * Threads: post from any thread. The callback runs on the context's thread
 * with a strong reference to the owner, taken from a weak one: an owner
 * that died with a source pending is simply not called back. After
 * kiln_emitter_post_final() one callback comes with @final TRUE, last and
 * once; nothing follows it. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _KilnEmitter KilnEmitter;

/* On the owner's context; @owner is alive for the call. */
typedef void (*KilnEmitterFunc) (gpointer owner,
                                 gboolean final);

/* @owner is a GObject, held weakly. @context NULL: the thread-default one.
 * @name names the source (a static string, as for g_source_set_static_name). */
KilnEmitter *kiln_emitter_new          (gpointer         owner,
                                        GMainContext    *context,
                                        KilnEmitterFunc  func,
                                        const char      *name);
KilnEmitter *kiln_emitter_ref          (KilnEmitter     *self);
void         kiln_emitter_unref        (KilnEmitter     *self);
/* The least time between two callbacks of plain posts (default 100 ms). */
void         kiln_emitter_set_interval (KilnEmitter     *self,
                                        guint            milliseconds);

/* Thread-safe. Something changed: a callback will come, at once when
 * @urgent (events), else once the interval since the last one has passed. */
void         kiln_emitter_post         (KilnEmitter     *self,
                                        gboolean         urgent);
/* Thread-safe. The owner's work is over: the next callback, at once, is the
 * final one. Later posts are ignored. */
void         kiln_emitter_post_final   (KilnEmitter     *self);
/* The owner is going (dispose or finalize): the pending source is removed
 * and no callback starts after this returns. Any thread. */
void         kiln_emitter_close        (KilnEmitter     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnEmitter, kiln_emitter_unref)

G_END_DECLS
