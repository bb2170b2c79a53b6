/* kiln-op.c: a layer checked against its input shapes, with its output
 * shape and parameter shapes, computed once for every backend; dropout's
 * mask. */
#include "config.h"

#include "kiln-engine-error.h"
#include "kiln-op.h"
#include "kiln-window.h"

#define LAYER_ERROR(code, ...) \
  (g_set_error (error, KILN_ENGINE_ERROR, code, __VA_ARGS__), FALSE)

static gboolean
check_window (const KilnLayerSpec *l, GError **error)
{
  if (l->kernel_h <= 0 || l->kernel_w <= 0)
    return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                        "%s: kernel %d×%d must be at least 1×1", l->name, l->kernel_h, l->kernel_w);
  if (l->stride_h <= 0 || l->stride_w <= 0)
    return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                        "%s: stride %d×%d must be at least 1×1", l->name, l->stride_h, l->stride_w);
  if (l->pad_top < 0 || l->pad_left < 0 || l->pad_bottom < 0 || l->pad_right < 0)
    return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                        "%s: negative padding (%d, %d, %d, %d top/left/bottom/right)", l->name,
                        l->pad_top, l->pad_left, l->pad_bottom, l->pad_right);
  return TRUE;
}

/* Convolution output size, always floored. */
static gboolean
conv_extent (const KilnLayerSpec *l, const char *axis, int in, int k, int s, int d,
             int p0, int p1, int *out, GError **error)
{
  KilnWindowExtent e;

  if (!kiln_window_extent (in, k, s, d, p0, p1, KILN_ROUND_FLOOR, &e))
    return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                        "%s: the %s input %d plus padding %d+%d is smaller than the kernel extent %d; "
                        "use a larger input or more padding", l->name, axis, in, p0, p1, (int) e.span);
  *out = (int) e.size;
  return TRUE;
}

/* Pooling output size with floor or Caffe's ceil rounding; @extra is the
 * padding that must be added after the input for the ceil grid. */
static gboolean
pool_extent (const KilnLayerSpec *l, const char *axis, int in, int k, int s,
             int p0, int p1, int *out, int *extra, GError **error)
{
  KilnWindowExtent e;

  if (!kiln_window_extent (in, k, s, 1, p0, p1, l->rounding, &e))
    return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                        "%s: the %s input %d plus padding %d+%d is smaller than the window %d",
                        l->name, axis, in, p0, p1, k);
  if (p0 >= k || p1 >= k)
    return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                        "%s: padding %d/%d must be smaller than the %s window %d",
                        l->name, p0, p1, axis, k);
  *out = (int) e.size;
  *extra = (int) e.extra_after;
  return TRUE;
}

static gboolean
expect_inputs (const KilnLayerSpec *l, guint n_inputs, guint want, GError **error)
{
  if (n_inputs != want)
    return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: %s takes %u input(s), got %u",
                        l->name, kiln_layer_type_to_string (l->type), want, n_inputs);
  return TRUE;
}

gboolean
kiln_op_desc_init (KilnOpDesc          *desc,
                   const KilnLayerSpec *l,
                   const KilnShape     *inputs,
                   guint                n_inputs,
                   GError             **error)
{
  char a[64], b[64];

  memset (desc, 0, sizeof *desc);
  desc->layer = l;
  if (n_inputs == 0 || n_inputs > KILN_OP_MAX_INPUTS)
    return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: %u inputs (1 to %d supported)",
                        l->name, n_inputs, KILN_OP_MAX_INPUTS);
  for (guint i = 0; i < n_inputs; i++)
    {
      if (inputs[i].n <= 0 || inputs[i].c <= 0 || inputs[i].h <= 0 || inputs[i].w <= 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE, "%s: input %u has shape %s with a zero dimension",
                            l->name, i, kiln_shape_to_string (&inputs[i], a, sizeof a));
      desc->inputs[i] = inputs[i];
    }
  desc->n_inputs = n_inputs;

  const KilnShape *in = &inputs[0];
  KilnShape *out = &desc->output;
  *out = *in;

  switch (l->type)
    {
    case KILN_LAYER_CONVOLUTION:
      if (!expect_inputs (l, n_inputs, 1, error) || !check_window (l, error))
        return FALSE;
      if (l->num_output <= 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: num_output %d must be positive",
                            l->name, l->num_output);
      if (l->dilation_h <= 0 || l->dilation_w <= 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: dilation %d×%d must be at least 1×1",
                            l->name, l->dilation_h, l->dilation_w);
      if (l->group <= 0 || in->c % l->group != 0 || l->num_output % l->group != 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                            "%s: group %d must divide the input channels %d and num_output %d",
                            l->name, l->group, in->c, l->num_output);
      out->c = l->num_output;
      if (!conv_extent (l, "height", in->h, l->kernel_h, l->stride_h, l->dilation_h,
                        l->pad_top, l->pad_bottom, &out->h, error) ||
          !conv_extent (l, "width", in->w, l->kernel_w, l->stride_w, l->dilation_w,
                        l->pad_left, l->pad_right, &out->w, error))
        return FALSE;
      break;

    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
      if (!expect_inputs (l, n_inputs, 1, error) || !check_window (l, error))
        return FALSE;
      if ((l->dilation_h != 0 && l->dilation_h != 1) || (l->dilation_w != 0 && l->dilation_w != 1))
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: dilated pooling (%d×%d) is not supported; use dilation 1",
                            l->name, l->dilation_h, l->dilation_w);
      if (!pool_extent (l, "height", in->h, l->kernel_h, l->stride_h, l->pad_top, l->pad_bottom,
                        &out->h, &desc->extra_pad_bottom, error) ||
          !pool_extent (l, "width", in->w, l->kernel_w, l->stride_w, l->pad_left, l->pad_right,
                        &out->w, &desc->extra_pad_right, error))
        return FALSE;
      if (l->type == KILN_LAYER_AVG_POOL && l->count_include_pad &&
          (desc->extra_pad_bottom > 0 || desc->extra_pad_right > 0))
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: average pooling that counts padding with ceil rounding over a "
                            "partial last window (%d×%d input) is not supported; use floor rounding "
                            "or count_include_pad = false", l->name, in->h, in->w);
      break;

    case KILN_LAYER_GLOBAL_AVG_POOL:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      out->h = out->w = 1;
      break;

    case KILN_LAYER_LRN:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (l->local_size <= 0 || l->local_size % 2 == 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: LRN size n = %d is not supported; use an odd size such as 5",
                            l->name, l->local_size);
      if (!(l->k > 0.f) || !(l->beta >= 0.f) || !(l->alpha >= 0.f))
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                            "%s: LRN needs k > 0, alpha ≥ 0, beta ≥ 0 (k = %g, alpha = %g, beta = %g)",
                            l->name, l->k, l->alpha, l->beta);
      break;

    case KILN_LAYER_INNER_PRODUCT:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (l->num_output <= 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: num_output %d must be positive",
                            l->name, l->num_output);
      out->c = l->num_output;
      out->h = out->w = 1;
      break;

    case KILN_LAYER_DROPOUT:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (!(l->ratio >= 0.f && l->ratio < 1.f))
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: dropout ratio %g must be in [0, 1)",
                            l->name, l->ratio);
      break;

    case KILN_LAYER_BATCH_NORM:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (!(l->epsilon > 0.f) || !(l->momentum >= 0.f && l->momentum <= 1.f))
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                            "%s: BatchNorm needs epsilon > 0 and momentum in [0, 1] (got %g, %g)",
                            l->name, l->epsilon, l->momentum);
      break;

    case KILN_LAYER_RELU:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      break;

    case KILN_LAYER_SOFTMAX:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (l->axis != 1)
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: softmax over axis %d is not supported; only the channel axis 1",
                            l->name, l->axis);
      break;

    case KILN_LAYER_FLATTEN:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (l->axis != 1)
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: flatten at axis %d is not supported; only axis 1 (keep the batch)",
                            l->name, l->axis);
      out->c = in->c * in->h * in->w;
      out->h = out->w = 1;
      break;

    case KILN_LAYER_CONCAT:
      if (l->axis != 1)
        return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED,
                            "%s: concat along axis %d is not supported; only the channel axis 1",
                            l->name, l->axis);
      out->c = 0;
      for (guint i = 0; i < n_inputs; i++)
        {
          if (inputs[i].n != in->n || inputs[i].h != in->h || inputs[i].w != in->w)
            return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                                "%s: input %u is %s but input 0 is %s; concat needs equal N, H and W",
                                l->name, i, kiln_shape_to_string (&inputs[i], a, sizeof a),
                                kiln_shape_to_string (in, b, sizeof b));
          out->c += inputs[i].c;
        }
      break;

    case KILN_LAYER_ADD:
      if (n_inputs < 2)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: add needs at least 2 inputs, got %u",
                            l->name, n_inputs);
      for (guint i = 1; i < n_inputs; i++)
        if (!kiln_shape_equal (&inputs[i], in))
          return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                              "%s: input %u is %s but input 0 is %s; add needs equal shapes",
                              l->name, i, kiln_shape_to_string (&inputs[i], a, sizeof a),
                              kiln_shape_to_string (in, b, sizeof b));
      break;

    case KILN_LAYER_PAD:
      if (!expect_inputs (l, n_inputs, 1, error))
        return FALSE;
      if (l->pad_top < 0 || l->pad_left < 0 || l->pad_bottom < 0 || l->pad_right < 0)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT,
                            "%s: negative padding (%d, %d, %d, %d top/left/bottom/right); a Pad layer does not crop",
                            l->name, l->pad_top, l->pad_left, l->pad_bottom, l->pad_right);
      if (kiln_pad_mode_to_string (l->pad_mode) == NULL)
        return LAYER_ERROR (KILN_ENGINE_ERROR_INVALID_ARGUMENT, "%s: unknown pad mode %d", l->name, l->pad_mode);
      /* Reflect reads pad values inward from the edge, never the edge twice. */
      if (l->pad_mode == KILN_PAD_REFLECT &&
          (MAX (l->pad_top, l->pad_bottom) >= in->h || MAX (l->pad_left, l->pad_right) >= in->w))
        return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE,
                            "%s: reflect pads (%d, %d, %d, %d top/left/bottom/right) must be smaller than the "
                            "%d×%d input", l->name, l->pad_top, l->pad_left, l->pad_bottom, l->pad_right,
                            in->h, in->w);
      if ((gint64) in->h + l->pad_top + l->pad_bottom > G_MAXINT / 2 ||
          (gint64) in->w + l->pad_left + l->pad_right > G_MAXINT / 2)
        return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE, "%s: the padded size is out of range", l->name);
      out->h = in->h + l->pad_top + l->pad_bottom;
      out->w = in->w + l->pad_left + l->pad_right;
      break;

    case KILN_LAYER_N_TYPES:
    default:
      return LAYER_ERROR (KILN_ENGINE_ERROR_UNSUPPORTED, "%s: unknown layer type %d", l->name, l->type);
    }

  if (out->h <= 0 || out->w <= 0)
    return LAYER_ERROR (KILN_ENGINE_ERROR_SHAPE, "%s: input %s gives an empty output %s", l->name,
                        kiln_shape_to_string (in, a, sizeof a),
                        kiln_shape_to_string (out, b, sizeof b));
  return TRUE;
}

guint
kiln_op_desc_param_shapes (const KilnOpDesc *desc, KilnShape *shapes, guint *n_learnable)
{
  const KilnLayerSpec *l = desc->layer;
  const KilnShape *in = &desc->inputs[0];
  KilnShape vec = { 1, desc->output.c, 1, 1 };
  guint n = 0;

  switch (l->type)
    {
    case KILN_LAYER_CONVOLUTION:
      shapes[n++] = (KilnShape) { l->num_output, in->c / l->group, l->kernel_h, l->kernel_w };
      if (l->bias)
        shapes[n++] = vec;
      *n_learnable = n;
      return n;
    case KILN_LAYER_INNER_PRODUCT:
      shapes[n++] = (KilnShape) { l->num_output, in->c, in->h, in->w };
      if (l->bias)
        shapes[n++] = vec;
      *n_learnable = n;
      return n;
    case KILN_LAYER_BATCH_NORM:
      for (n = 0; n < 4; n++)
        shapes[n] = vec;
      *n_learnable = 2;
      return 4;
    default:
      *n_learnable = 0;
      return 0;
    }
}

gboolean
kiln_dropout_keep (guint64 seed, gint64 index, float ratio)
{
  /* splitmix64 of (seed, index) */
  guint64 z = seed + 0x9e3779b97f4a7c15ull * (guint64) (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  float u = (float) (z >> 40) * (1.f / 16777216.f);
  return u >= ratio;
}
