/* kiln-cuda-algo-cache.h: the cuDNN convolution algorithm chosen for each
 * layer shape, per direction, kept for the backend's life so that a shape
 * is searched once (a net's training and evaluation copies, or the same
 * block repeated, share the answer).
 *
 * The key is every number that can change cuDNN's answer: direction,
 * input shape, filter, padding, stride, dilation, groups and whether TF32
 * is allowed. Plain data, no CUDA call.
 *
 * Threads: as the backend (one thread). */
#pragma once

#include "kiln-cuda-geometry.h"

G_BEGIN_DECLS

typedef enum {
  KILN_CUDA_CONV_FORWARD,
  KILN_CUDA_CONV_BACKWARD_DATA,
  KILN_CUDA_CONV_BACKWARD_FILTER,
} KilnCudaConvDirection;

typedef struct {
  int direction;
  int n, c, h, w;
  int filter[4];
  int group, pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w;
  int tf32;
} KilnCudaAlgoKey;

typedef struct {
  int algo;                 /* a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
  int math_type;            /* cudnnMathType_t to set on the descriptor */
  gsize workspace;          /* bytes it needs */
} KilnCudaAlgoChoice;

typedef struct _KilnCudaAlgoCache KilnCudaAlgoCache;

/* Fills every field (padding bytes included, so keys compare as bytes). */
void                kiln_cuda_algo_key_init  (KilnCudaAlgoKey            *key,
                                              KilnCudaConvDirection       direction,
                                              const KilnCudaConvGeometry *geom,
                                              gboolean                    tf32);

KilnCudaAlgoCache  *kiln_cuda_algo_cache_new    (void);
void                kiln_cuda_algo_cache_free   (KilnCudaAlgoCache *self);
const KilnCudaAlgoChoice *kiln_cuda_algo_cache_lookup (KilnCudaAlgoCache     *self,
                                                       const KilnCudaAlgoKey *key);
void                kiln_cuda_algo_cache_insert (KilnCudaAlgoCache        *self,
                                                 const KilnCudaAlgoKey    *key,
                                                 const KilnCudaAlgoChoice *choice);
guint               kiln_cuda_algo_cache_size   (KilnCudaAlgoCache *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KilnCudaAlgoCache, kiln_cuda_algo_cache_free)

G_END_DECLS
