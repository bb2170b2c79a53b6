/* kiln-netspec-private.h: KilnNetSpec's insides, shared by kiln-netspec.c
 * (the object, its layers and their checks) and kiln-netspec-shapes.c
 * (shape inference, costs, the calculator's messages). Not for other files:
 * they use kiln-netspec.h.
 *
 * Threads: as kiln-netspec.h. */
#pragma once

#include "kiln-netspec.h"

G_BEGIN_DECLS

/* Bounds that keep every product below in gint64 and reject absurd specs. */
#define MAX_SPATIAL   (1 << 16)
#define MAX_CHANNELS  (1 << 24)
#define MAX_WINDOW    (1 << 12)

struct _KilnNetSpec
{
  GObject parent_instance;

  char *name;
  int channels, height, width;
  gboolean exact_fit;
  GPtrArray *layers;   /* KilnLayerSpec * */
  GArray *shapes;      /* KilnLayerShape, one per layer once inferred */
  gboolean shapes_valid;
};

static inline gboolean
in_range (int value, int lo, int hi)
{
  return value >= lo && value <= hi;
}

/* Fails on hyper-parameters that no input size could make work; the error
 * names the layer. */
gboolean   kiln_net_spec_validate_layer (const KilnLayerSpec *layer,
                                         GError             **error);

/* The inputs of layer @index as indices of earlier layers (-1 for the net
 * input), or NULL with @error set for one that dangles or comes later. */
GArray    *kiln_net_spec_resolve_inputs (KilnNetSpec *self,
                                         guint        index,
                                         GError     **error);

/* Which side of a window failed: the one to move when looking for input
 * sizes that work (0: both). */
enum { KILN_SIDE_HEIGHT = 1, KILN_SIDE_WIDTH = 2 };

/* Shape inference without suggestions that keeps what it could infer: on
 * failure the shapes of the first @n_inferred layers are filled in
 * self->shapes (the calculator shows them), the next layer failed and
 * @error says why. */
gboolean   kiln_net_spec_infer_prefix   (KilnNetSpec *self,
                                         guint       *n_inferred,
                                         GError     **error);

/* The nearest input sizes, one above and one below the spec's, at which
 * the whole net infers, as {height, width} ({0, 0}: none within range).
 * Moves only @side's dimension of a non-square input (0: both). FALSE when
 * neither exists. */
gboolean   kiln_net_spec_find_inputs    (KilnNetSpec *self,
                                         int          side,
                                         int          above[2],
                                         int          below[2]);

/* How many values feed each output of layer @index's weights (0 without
 * weights); shapes up to the layer's inputs must be inferred. */
gint64     kiln_net_spec_fan_in         (KilnNetSpec *self,
                                         guint        index);

G_END_DECLS
