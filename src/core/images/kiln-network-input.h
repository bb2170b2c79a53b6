/* kiln-network-input.h: one image as the network sees it, for a preview.
 *
 * The tensor is what a training batch holds for the image at evaluation
 * time (the whole cached image, no random crop, no mirror): decoded and
 * resized by kiln_image_load_u8() with the spec, then converted by
 * kiln_batch_loader_convert_sample(), (value − mean) · scale. Rendering
 * turns it back into pixels so a person can look at it.
 *
 * Threads: plain functions; safe from any thread. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "kiln-image.h"

G_BEGIN_DECLS

/* The trainer's default scale (KilnTrainerOptions.scale 0): 0…255 → 0…1. */
#define KILN_NETWORK_INPUT_DEFAULT_SCALE (1.0f / 255.0f)

/* The C × H × W float tensor of @path under @spec, minus @mean (C × H × W
 * at the spec's size; NULL for none), times @scale (0: the default). */
float     *kiln_network_input_load   (const char          *path,
                                      const KilnImageSpec *spec,
                                      const float         *mean,
                                      float                scale,
                                      GError             **error);

/* @tensor (from kiln_network_input_load with the same @spec, @mean and
 * @scale) as an RGB pixbuf. Normally value / scale + mean, which gives the
 * resized image back; @centered shows value / scale + 128 instead, the
 * mean-subtracted input with mid-gray for "equal to the mean". */
GdkPixbuf *kiln_network_input_render (const float         *tensor,
                                      const KilnImageSpec *spec,
                                      const float         *mean,
                                      float                scale,
                                      gboolean             centered);

G_END_DECLS
