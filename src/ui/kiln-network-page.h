/* kiln-network-page.h: the window's Network page, the layer-size calculator.
 *
 * Pick a preset or open a net spec (a kiln-netspec JSON, as `kiln-cli
 * import-model` writes, or an ONNX model), set the input N × N × C, and see
 * every layer's output W × H × D with its arithmetic, parameters and
 * multiply-adds, in a table whose K, F, S and P cells (and pooling type)
 * can be edited, and in a diagram of the shrinking volumes. A layer that
 * does not divide evenly is red, with its fixes as buttons and what it does
 * further down; compare mode puts a second input size beside the first and
 * marks every row that changes. The numbers are KilnNetCalc's.
 *
 * Actions (group "network"): preset (s), open, set-input ((iii) C, H, W),
 * set-compare ((iii); H 0 turns it off), set-param ((uii) layer, a
 * KilnCalcParam, value), apply-fix ((uu) layer, fix).
 *
 * Threads: main thread only; files are read on a worker. */
#pragma once

#include <adwaita.h>

#include "kiln-core.h"

G_BEGIN_DECLS

#define KILN_TYPE_NETWORK_PAGE (kiln_network_page_get_type ())
G_DECLARE_FINAL_TYPE (KilnNetworkPage, kiln_network_page, KILN, NETWORK_PAGE, AdwBin)

GtkWidget   *kiln_network_page_new       (void);
KilnNetCalc *kiln_network_page_get_calc  (KilnNetworkPage *self);
/* Loads a net spec or ONNX model; "loaded" is emitted when it is shown,
 * or the page says why it could not be. */
void         kiln_network_page_open_file (KilnNetworkPage *self,
                                          GFile           *file);

G_END_DECLS
