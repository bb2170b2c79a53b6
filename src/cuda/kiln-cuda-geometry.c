#include "config.h"

#include <string.h>

#include "kiln-cuda-geometry.h"

void
kiln_cuda_conv_geometry (const KilnOpDesc *desc, KilnCudaConvGeometry *geom)
{
  const KilnLayerSpec *l = desc->layer;
  const KilnShape *in = &desc->inputs[0];

  memset (geom, 0, sizeof *geom);
  geom->filter[0] = l->num_output;
  geom->filter[1] = in->c / l->group;
  geom->filter[2] = l->kernel_h;
  geom->filter[3] = l->kernel_w;
  geom->group = l->group;
  geom->stride_h = l->stride_h;
  geom->stride_w = l->stride_w;
  geom->dilation_h = l->dilation_h;
  geom->dilation_w = l->dilation_w;
  geom->input = *in;
  if (l->pad_top == l->pad_bottom && l->pad_left == l->pad_right)
    {
      geom->pad_h = l->pad_top;
      geom->pad_w = l->pad_left;
      return;
    }
  geom->explicit_pad = TRUE;
  geom->pad_top = l->pad_top;
  geom->pad_left = l->pad_left;
  geom->input.h = in->h + l->pad_top + l->pad_bottom;
  geom->input.w = in->w + l->pad_left + l->pad_right;
}

KilnShape
kiln_cuda_conv_output (const KilnCudaConvGeometry *geom)
{
  int span_h = (geom->filter[2] - 1) * geom->dilation_h + 1;
  int span_w = (geom->filter[3] - 1) * geom->dilation_w + 1;
  KilnShape out = {
    geom->input.n,
    geom->filter[0],
    1 + (geom->input.h + 2 * geom->pad_h - span_h) / geom->stride_h,
    1 + (geom->input.w + 2 * geom->pad_w - span_w) / geom->stride_w,
  };
  return out;
}

void
kiln_cuda_pool_geometry (const KilnOpDesc *desc, KilnCudaPoolGeometry *geom)
{
  const KilnLayerSpec *l = desc->layer;
  const KilnShape *in = &desc->inputs[0];

  memset (geom, 0, sizeof *geom);
  if (l->type == KILN_LAYER_GLOBAL_AVG_POOL)
    {
      geom->mode = KILN_CUDA_POOL_AVG_EXCLUDE_PAD;
      geom->kernel_h = in->h;
      geom->kernel_w = in->w;
      geom->stride_h = geom->stride_w = 1;
      return;
    }
  geom->mode = l->type == KILN_LAYER_MAX_POOL ? KILN_CUDA_POOL_MAX
             : l->count_include_pad ? KILN_CUDA_POOL_AVG_INCLUDE_PAD
             : KILN_CUDA_POOL_AVG_EXCLUDE_PAD;
  geom->kernel_h = l->kernel_h;
  geom->kernel_w = l->kernel_w;
  geom->stride_h = l->stride_h;
  geom->stride_w = l->stride_w;
  geom->pad_top = l->pad_top;
  geom->pad_left = l->pad_left;
  /* As the CPU backend: ceil rounding is more padding after the input. */
  geom->pad_bottom = l->pad_bottom + desc->extra_pad_bottom;
  geom->pad_right = l->pad_right + desc->extra_pad_right;
}

KilnShape
kiln_cuda_pool_output (const KilnCudaPoolGeometry *geom, const KilnShape *input)
{
  KilnShape out = {
    input->n,
    input->c,
    1 + (input->h + geom->pad_top + geom->pad_bottom - geom->kernel_h) / geom->stride_h,
    1 + (input->w + geom->pad_left + geom->pad_right - geom->kernel_w) / geom->stride_w,
  };
  return out;
}

void
kiln_cuda_gemm_geometry (const KilnOpDesc *desc, KilnCudaGemmGeometry *geom)
{
  const KilnShape *in = &desc->inputs[0];

  geom->m = desc->layer->num_output;
  geom->n = in->n;
  geom->k = in->c * in->h * in->w;
}

void
kiln_cuda_gemm_call (const KilnCudaGemmGeometry *g, KilnCudaGemmPass pass, KilnCudaGemmCall *call)
{
  switch (pass)
    {
    case KILN_CUDA_GEMM_FORWARD:
      /* dstᵀ (m × n) = W (m × k, stored k-major) · srcᵀ (k × n) */
      *call = (KilnCudaGemmCall) { TRUE, FALSE, g->m, g->n, g->k, g->k, g->k, g->m };
      break;
    case KILN_CUDA_GEMM_BACKWARD_DATA:
      /* diff_srcᵀ (k × n) = Wᵀ (k × m) · diff_dstᵀ (m × n) */
      *call = (KilnCudaGemmCall) { FALSE, FALSE, g->k, g->n, g->m, g->k, g->m, g->k };
      break;
    case KILN_CUDA_GEMM_BACKWARD_WEIGHTS:
    default:
      /* dWᵀ (k × m) = srcᵀ (k × n) · diff_dst (n × m) */
      *call = (KilnCudaGemmCall) { FALSE, TRUE, g->k, g->m, g->n, g->k, g->m, g->k };
      break;
    }
}
