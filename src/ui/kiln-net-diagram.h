/* kiln-net-diagram.h: the volumes of a net drawn as they shrink.
 *
 * Each layer that changes the shape of its input is a box whose face
 * grows with W and H and whose depth grows with D, labelled with its name
 * and "W × H × D"; where a fully connected layer flattens a volume the
 * diagram writes out its inputs ("9,216 = 6 × 6 × 256"). A row that does
 * not fit is drawn in the error colour. In compare mode the second size's
 * volumes are drawn below, the changed ones highlighted. The data is a
 * KilnNetCalc; its "updated" signal redraws.
 *
 * Threads: main thread only. */
#pragma once

#include <gtk/gtk.h>

#include "kiln-core.h"

G_BEGIN_DECLS

#define KILN_TYPE_NET_DIAGRAM (kiln_net_diagram_get_type ())
G_DECLARE_FINAL_TYPE (KilnNetDiagram, kiln_net_diagram, KILN, NET_DIAGRAM, GtkWidget)

GtkWidget   *kiln_net_diagram_new      (void);
void         kiln_net_diagram_set_calc (KilnNetDiagram *self,
                                        KilnNetCalc    *calc);
KilnNetCalc *kiln_net_diagram_get_calc (KilnNetDiagram *self);
/* How many volumes it draws per size (the input included); for tests. */
guint        kiln_net_diagram_get_n_volumes (KilnNetDiagram *self);

G_END_DECLS
