/* The CUDA backend against the CPU backend, where a device answers: every
 * op forward (training and inference), backward-data and backward-weights
 * on the same random inputs (relative L2 error under 1e-5 in float32),
 * the optimizer updates, the loss, the uint8 batch conversion, refusals
 * and out-of-memory as GErrors, and a few SGD steps of a small net giving
 * the CPU's losses. Without a device every test is skipped with the
 * reason (TAP "# SKIP"). */
#include <math.h>
#include <string.h>

#include "cuda-test-util.h"
#include "kiln-backend-private.h"
#include "kiln-batch-loader.h"
#include "kiln-engine-error.h"
#include "kiln-net.h"

#define TOL 1e-5

static KilnBackend *cpu, *gpu;
static char *no_gpu_reason;

#define NEED_GPU() \
  G_STMT_START { if (gpu == NULL) { g_test_skip (no_gpu_reason); return; } } G_STMT_END

/* A case is one layer in the net-spec JSON form (kiln-netspec-json.c),
 * so its hyper-parameters read as a user would write them, and the
 * shapes of its inputs. */
typedef struct {
  const char *name;
  const char *layer;            /* the members after "name" */
  KilnShape in[3];
  guint n_in;
  gboolean fuse_relu;
} Case;

#define S(n, c, h, w) ((KilnShape) { n, c, h, w })

static const Case cases[] = {
  { "conv", "\"type\": \"Convolution\", \"num_output\": 8, \"kernel\": [3, 3], \"pad\": [1, 1, 1, 1]",
    { S (2, 3, 11, 13) }, 1 },
  { "conv-alexnet1", "\"type\": \"Convolution\", \"num_output\": 16, \"kernel\": [11, 11], "
    "\"stride\": [4, 4]", { S (2, 3, 35, 35) }, 1, TRUE },
  { "conv-strided-relu", "\"type\": \"Convolution\", \"num_output\": 6, \"kernel\": [3, 2], "
    "\"stride\": [2, 1], \"pad\": [1, 0, 1, 0]", { S (3, 4, 12, 9) }, 1, TRUE },
  { "conv-unequal-pad", "\"type\": \"Convolution\", \"num_output\": 6, \"kernel\": [3, 3], "
    "\"stride\": [2, 1], \"pad\": [0, 1, 2, 0]", { S (2, 4, 10, 9) }, 1 },
  { "conv-grouped", "\"type\": \"Convolution\", \"num_output\": 12, \"kernel\": [5, 5], "
    "\"pad\": [2, 2, 2, 2], \"group\": 2", { S (2, 8, 9, 9) }, 1 },
  { "conv-depthwise", "\"type\": \"Convolution\", \"num_output\": 16, \"kernel\": [3, 3], "
    "\"pad\": [1, 1, 1, 1], \"group\": 16", { S (2, 16, 10, 10) }, 1 },
  { "conv-dilated-nobias", "\"type\": \"Convolution\", \"num_output\": 7, \"kernel\": [3, 3], "
    "\"pad\": [2, 2, 2, 2], \"dilation\": [2, 2], \"bias\": false", { S (1, 5, 14, 15) }, 1 },
  { "conv-1x1", "\"type\": \"Convolution\", \"num_output\": 16, \"kernel\": [1, 1]",
    { S (4, 32, 6, 6) }, 1 },
  { "fc", "\"type\": \"InnerProduct\", \"num_output\": 10", { S (5, 6, 3, 3) }, 1 },
  { "fc-relu-nobias", "\"type\": \"InnerProduct\", \"num_output\": 7, \"bias\": false",
    { S (3, 40, 1, 1) }, 1, TRUE },
  { "relu", "\"type\": \"ReLU\"", { S (2, 3, 5, 7) }, 1 },
  { "lrn", "\"type\": \"LRN\", \"local_size\": 5, \"alpha\": 0.01, \"beta\": 0.75, \"k\": 2",
    { S (2, 12, 6, 5) }, 1 },
  { "lrn-3", "\"type\": \"LRN\", \"local_size\": 3, \"alpha\": 0.5, \"beta\": 0.6, \"k\": 1",
    { S (1, 7, 4, 4) }, 1 },
  { "maxpool", "\"type\": \"MaxPool\", \"kernel\": [3, 3], \"stride\": [2, 2]", { S (2, 4, 9, 9) }, 1 },
  { "maxpool-ceil", "\"type\": \"MaxPool\", \"kernel\": [3, 3], \"stride\": [2, 2], "
    "\"rounding\": \"ceil\"", { S (2, 6, 10, 10) }, 1 },
  { "maxpool-pads", "\"type\": \"MaxPool\", \"kernel\": [3, 2], \"stride\": [2, 2], "
    "\"pad\": [1, 0, 2, 1], \"rounding\": \"ceil\"", { S (1, 3, 11, 8) }, 1 },
  { "avgpool", "\"type\": \"AvgPool\", \"kernel\": [3, 3], \"stride\": [2, 2], \"pad\": [1, 1, 1, 1]",
    { S (2, 4, 9, 9) }, 1 },
  { "avgpool-include-pad", "\"type\": \"AvgPool\", \"kernel\": [3, 3], \"stride\": [2, 2], "
    "\"pad\": [1, 1, 1, 1], \"count_include_pad\": true", { S (2, 4, 9, 9) }, 1 },
  { "avgpool-ceil", "\"type\": \"AvgPool\", \"kernel\": [3, 3], \"stride\": [2, 2], "
    "\"rounding\": \"ceil\"", { S (2, 3, 10, 11) }, 1 },
  { "global-avgpool", "\"type\": \"GlobalAvgPool\"", { S (3, 5, 7, 6) }, 1 },
  { "softmax", "\"type\": \"Softmax\"", { S (4, 10, 1, 1) }, 1 },
  { "softmax-spatial", "\"type\": \"Softmax\"", { S (2, 5, 3, 4) }, 1 },
  { "batchnorm", "\"type\": \"BatchNorm\"", { S (4, 6, 5, 5) }, 1 },
  { "batchnorm-fc", "\"type\": \"BatchNorm\", \"epsilon\": 0.001, \"momentum\": 0.5",
    { S (8, 12, 1, 1) }, 1 },
  { "dropout", "\"type\": \"Dropout\", \"ratio\": 0.3", { S (4, 8, 6, 6) }, 1 },
  { "concat", "\"type\": \"Concat\"", { S (2, 3, 4, 5), S (2, 5, 4, 5), S (2, 1, 4, 5) }, 3 },
  { "add", "\"type\": \"Add\"", { S (2, 3, 4, 5), S (2, 3, 4, 5), S (2, 3, 4, 5) }, 3 },
  { "flatten", "\"type\": \"Flatten\"", { S (3, 4, 2, 5) }, 1 },
};

/* The case's layer, parsed as part of a one-layer net spec. */
static KilnNetSpec *
case_spec (const Case *c, GError **error)
{
  g_autofree char *text = g_strdup_printf (
    "{\"format\": \"kiln-netspec\", \"version\": 1, \"name\": \"%s\", \"input\": "
    "{\"channels\": %d, \"height\": %d, \"width\": %d}, \"layers\": [{\"name\": \"%s\", %s}]}",
    c->name, c->in[0].c, c->in[0].h, c->in[0].w, c->name, c->layer);
  g_autoptr(JsonNode) node = json_from_string (text, error);

  return node != NULL ? kiln_net_spec_new_from_json (node, error) : NULL;
}

static float *
random_floats (GRand *rand, gint64 n, double lo, double hi)
{
  float *v = g_new (float, n);
  for (gint64 i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

static KilnTensor *
tensor_on (KilnBackend *backend, const KilnShape *shape, const float *host)
{
  g_autoptr(GError) error = NULL;
  KilnTensor *t = kiln_tensor_new (backend, shape, &error);
  g_assert_no_error (error);
  if (host != NULL)
    kiln_tensor_upload (t, host, kiln_shape_n_elements (shape));
  else
    kiln_tensor_fill (t, 0.f);
  return t;
}

static void
compare (const char *name, const char *what, KilnTensor *on_gpu, KilnTensor *on_cpu, double tol)
{
  gint64 n = kiln_tensor_n_elements (on_cpu);
  g_autofree float *a = kiln_tensor_dup_host (on_gpu);
  g_autofree float *b = kiln_tensor_dup_host (on_cpu);
  double err = cuda_test_rel_err (a, b, n);

  g_test_message ("%s %s: relative error %.3g", name, what, err);
  if (!(err < tol))
    g_error ("%s %s: CUDA differs from the CPU by %.3g (over %.0e)", name, what, err, tol);
}

/* One backend's half of a case. */
typedef struct {
  KilnBackend *backend;
  KilnOp *op;
  KilnTensor *src[KILN_OP_MAX_INPUTS], *params[KILN_OP_MAX_PARAMS];
  KilnTensor *dsrc[KILN_OP_MAX_INPUTS], *dparams[KILN_OP_MAX_PARAMS];
  KilnTensor *dst, *dy;
} Side;

static void
side_clear (Side *s)
{
  for (guint i = 0; i < KILN_OP_MAX_INPUTS; i++)
    {
      g_clear_pointer (&s->src[i], kiln_tensor_free);
      g_clear_pointer (&s->dsrc[i], kiln_tensor_free);
    }
  for (guint i = 0; i < KILN_OP_MAX_PARAMS; i++)
    {
      g_clear_pointer (&s->params[i], kiln_tensor_free);
      g_clear_pointer (&s->dparams[i], kiln_tensor_free);
    }
  g_clear_pointer (&s->dst, kiln_tensor_free);
  g_clear_pointer (&s->dy, kiln_tensor_free);
  g_clear_pointer (&s->op, kiln_op_free);
}

static KilnOpArgs
side_args (Side *s, guint n_params, gboolean train, guint64 seed)
{
  return (KilnOpArgs) {
    .src = s->src, .dst = s->dst, .params = s->params, .n_params = n_params,
    .diff_src = s->dsrc, .diff_dst = s->dy, .diff_params = s->dparams,
    .train = train, .seed = seed,
  };
}

/* A CUDA backend made with other settings, for the cases that depend on
 * them: timed algorithm search, and TF32 (which rounds products to a
 * 10-bit mantissa, hence its looser bound). */
typedef struct {
  const char *variable, *value;
  double tol;
  KilnBackend *backend;
} Variant;

static Variant variants[] = {
  { "KILN_CUDA_CONV_SEARCH", "find", TOL, NULL },
  { "KILN_CUDA_TF32", "1", 5e-3, NULL },
};

typedef struct {
  const Case *c;
  Variant *variant;
} VariantCase;

static void
check_case (const Case *c, KilnBackend *on_gpu, double tol)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_str_hash (c->name));
  KilnOpDesc desc;
  KilnShape pshapes[KILN_OP_MAX_PARAMS];
  guint n_learn;
  Side sides[2] = { { .backend = on_gpu }, { .backend = cpu } };
  guint64 seed = 0x5eed14;

  g_autoptr(KilnNetSpec) net_spec = case_spec (c, &error);
  g_assert_no_error (error);
  const KilnLayerSpec *layer = kiln_net_spec_get_layer (net_spec, 0);
  g_assert_true (kiln_op_desc_init (&desc, layer, c->in, c->n_in, &error));
  g_assert_no_error (error);
  desc.fuse_relu = c->fuse_relu;
  guint n_params = kiln_op_desc_param_shapes (&desc, pshapes, &n_learn);

  float *src[KILN_OP_MAX_INPUTS] = { NULL }, *params[KILN_OP_MAX_PARAMS] = { NULL };
  for (guint i = 0; i < desc.n_inputs; i++)
    src[i] = random_floats (rand, kiln_shape_n_elements (&desc.inputs[i]), -1, 1);
  for (guint i = 0; i < n_params; i++)
    params[i] = random_floats (rand, kiln_shape_n_elements (&pshapes[i]),
                               layer->type == KILN_LAYER_BATCH_NORM && i == 3 ? 0.5 : -1, 2);
  g_autofree float *dy = random_floats (rand, kiln_shape_n_elements (&desc.output), -1, 1);

  for (guint s = 0; s < 2; s++)
    {
      Side *side = &sides[s];
      side->op = kiln_backend_op_new (side->backend, &desc, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < desc.n_inputs; i++)
        {
          side->src[i] = tensor_on (side->backend, &desc.inputs[i], src[i]);
          side->dsrc[i] = tensor_on (side->backend, &desc.inputs[i], NULL);
        }
      for (guint i = 0; i < n_params; i++)
        {
          side->params[i] = tensor_on (side->backend, &pshapes[i], params[i]);
          side->dparams[i] = tensor_on (side->backend, &pshapes[i], NULL);
        }
      side->dst = tensor_on (side->backend, &desc.output, NULL);
      side->dy = tensor_on (side->backend, &desc.output, dy);
    }

  /* Training forward, both backward passes, then an inference forward
   * (BatchNorm's with the running statistics the training one moved). */
  for (guint s = 0; s < 2; s++)
    {
      KilnOpArgs args = side_args (&sides[s], n_params, TRUE, seed);
      g_assert_true (kiln_op_forward (sides[s].op, &args, &error));
      g_assert_no_error (error);
    }
  compare (c->name, "forward (train)", sides[0].dst, sides[1].dst, tol);
  for (guint i = n_learn; i < n_params; i++)
    compare (c->name, "running statistics", sides[0].params[i], sides[1].params[i], tol);

  for (guint s = 0; s < 2; s++)
    {
      KilnOpArgs args = side_args (&sides[s], n_params, TRUE, seed);
      g_assert_true (kiln_op_backward_data (sides[s].op, &args, &error));
      g_assert_no_error (error);
      if (n_learn > 0)
        {
          g_assert_true (kiln_op_backward_weights (sides[s].op, &args, &error));
          g_assert_no_error (error);
        }
    }
  for (guint i = 0; i < desc.n_inputs; i++)
    compare (c->name, "backward data", sides[0].dsrc[i], sides[1].dsrc[i], tol);
  for (guint i = 0; i < n_learn; i++)
    compare (c->name, "backward weights", sides[0].dparams[i], sides[1].dparams[i], tol);

  for (guint s = 0; s < 2; s++)
    {
      KilnOpArgs args = side_args (&sides[s], n_params, FALSE, seed);
      g_assert_true (kiln_op_forward (sides[s].op, &args, &error));
      g_assert_no_error (error);
    }
  compare (c->name, "forward (eval)", sides[0].dst, sides[1].dst, tol);

  for (guint s = 0; s < 2; s++)
    side_clear (&sides[s]);
  for (guint i = 0; i < desc.n_inputs; i++)
    g_free (src[i]);
  for (guint i = 0; i < n_params; i++)
    g_free (params[i]);
}

static void
run_case (gconstpointer data)
{
  NEED_GPU ();
  check_case (data, gpu, TOL);
}

static void
run_variant (gconstpointer data)
{
  const VariantCase *vc = data;

  NEED_GPU ();
  if (vc->variant->backend == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_setenv (vc->variant->variable, vc->variant->value, TRUE);
      vc->variant->backend = kiln_backend_new ("cuda", &error);
      g_unsetenv (vc->variant->variable);
      g_assert_no_error (error);
    }
  check_case (vc->c, vc->variant->backend, vc->variant->tol);
}

/* The dropout mask is the CPU's element for element: same zeros. */
static void
test_dropout_mask (void)
{
  g_autoptr(GError) error = NULL;
  KilnLayerSpec spec;
  KilnOpDesc desc;
  KilnShape in = { 8, 64, 13, 13 };
  gint64 n = kiln_shape_n_elements (&in);
  g_autofree float *ones = g_new (float, n);
  g_autofree float *a = g_new (float, n), *b = g_new (float, n);

  NEED_GPU ();
  for (gint64 i = 0; i < n; i++)
    ones[i] = 1.f;
  kiln_layer_spec_init (&spec, KILN_LAYER_DROPOUT, "drop6");
  spec.ratio = 0.5f;
  g_assert_true (kiln_op_desc_init (&desc, &spec, &in, 1, &error));
  KilnBackend *backends[] = { gpu, cpu };
  float *out[] = { a, b };
  for (guint s = 0; s < 2; s++)
    {
      g_autoptr(KilnOp) op = kiln_backend_op_new (backends[s], &desc, &error);
      g_autoptr(KilnTensor) x = tensor_on (backends[s], &in, ones);
      g_autoptr(KilnTensor) y = tensor_on (backends[s], &in, NULL);
      KilnTensor *srcs[] = { x };
      KilnOpArgs args = { .src = srcs, .dst = y, .train = TRUE, .seed = 0xa1e8 };
      g_assert_true (kiln_op_forward (op, &args, &error));
      g_assert_no_error (error);
      kiln_tensor_download (y, out[s], n);
    }
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
  kiln_layer_spec_clear (&spec);
}

static void
test_updates (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  KilnShape shape = { 1, 1000, 3, 7 };
  gint64 n = kiln_shape_n_elements (&shape);
  g_autofree float *w = random_floats (rand, n, -1, 1);
  g_autofree float *g = random_floats (rand, n, -0.1, 0.1);
  g_autofree float *m = random_floats (rand, n, -0.01, 0.01);
  g_autofree float *v = random_floats (rand, n, 0, 0.01);
  KilnTensor *t[2][4];
  KilnBackend *backends[] = { gpu, cpu };

  NEED_GPU ();
  for (guint s = 0; s < 2; s++)
    {
      t[s][0] = tensor_on (backends[s], &shape, w);
      t[s][1] = tensor_on (backends[s], &shape, g);
      t[s][2] = tensor_on (backends[s], &shape, m);
      t[s][3] = tensor_on (backends[s], &shape, v);
      for (int step = 1; step <= 3; step++)
        {
          kiln_backend_sgd_update (backends[s], t[s][0], t[s][1], t[s][2], 0.01f, 0.9f, 5e-4f);
          kiln_backend_adam_update (backends[s], t[s][0], t[s][1], t[s][2], t[s][3], 1e-3f, 0.9f,
                                    0.999f, 1e-8f, 1e-4f, step);
          kiln_backend_axpy (backends[s], -0.5f, t[s][1], t[s][0]);
        }
    }
  compare ("updates", "weights", t[0][0], t[1][0], 1e-6);
  compare ("updates", "first moment", t[0][2], t[1][2], 1e-6);
  compare ("updates", "second moment", t[0][3], t[1][3], 1e-6);

  kiln_tensor_fill (t[0][0], 0.25f);
  g_autofree float *filled = kiln_tensor_dup_host (t[0][0]);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat (filled[i], ==, 0.25f);
  for (guint s = 0; s < 2; s++)
    for (guint i = 0; i < 4; i++)
      kiln_tensor_free (t[s][i]);
}

static void
test_loss (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  KilnShape shape = { 37, 1000, 1, 1 };
  g_autofree float *x = random_floats (rand, kiln_shape_n_elements (&shape), -5, 5);
  int labels[37];
  double loss[2];
  int correct[2];
  KilnBackend *backends[] = { gpu, cpu };
  g_autoptr(KilnTensor) diff_gpu = NULL;
  g_autoptr(KilnTensor) diff_cpu = NULL;

  NEED_GPU ();
  for (int i = 0; i < shape.n; i++)
    labels[i] = g_rand_int_range (rand, 0, shape.c);
  /* A few rows predicted right, for the count. */
  for (int i = 0; i < 5; i++)
    x[(gint64) i * shape.c + labels[i]] = 50.f;
  for (guint s = 0; s < 2; s++)
    {
      g_autoptr(KilnTensor) logits = tensor_on (backends[s], &shape, x);
      KilnTensor *diff = tensor_on (backends[s], &shape, NULL);
      g_assert_true (kiln_backend_softmax_cross_entropy (backends[s], logits, labels, diff,
                                                         &loss[s], &correct[s], &error));
      g_assert_no_error (error);
      if (s == 0)
        diff_gpu = diff;
      else
        diff_cpu = diff;
    }
  g_test_message ("loss: CUDA %.12g, CPU %.12g; correct %d, %d", loss[0], loss[1], correct[0],
                  correct[1]);
  g_assert_cmpfloat (fabs (loss[0] - loss[1]), <, 1e-9 * fabs (loss[1]));
  g_assert_cmpint (correct[0], ==, correct[1]);
  g_assert_cmpint (correct[0], >=, 5);
  compare ("loss", "gradient", diff_gpu, diff_cpu, 1e-6);

  /* A label outside the classes is refused before anything runs. */
  labels[3] = 1000;
  g_autoptr(KilnTensor) logits = tensor_on (gpu, &shape, x);
  g_assert_false (kiln_backend_softmax_cross_entropy (gpu, logits, labels, NULL, &loss[0], NULL,
                                                      &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
}

/* The device's conversion is kiln_batch_loader_convert_sample's, bit for bit. */
static void
test_convert_batch (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  const int n = 5, c = 3, h = 20, w = 17, ch = 15, cw = 12;
  gint64 per = (gint64) c * h * w, out_per = (gint64) c * ch * cw;
  g_autofree guint8 *pixels = g_new (guint8, n * per);
  g_autofree float *mean = random_floats (rand, per, 90, 140);
  g_autofree float *want = g_new (float, n * out_per);
  g_autofree float *got = g_new (float, n * out_per);
  int crops[3 * 5];

  NEED_GPU ();
  g_assert_nonnull (gpu->vtable->convert_batch);
  for (gint64 i = 0; i < n * per; i++)
    pixels[i] = (guint8) g_rand_int_range (rand, 0, 256);
  for (int i = 0; i < n; i++)
    {
      crops[3 * i] = g_rand_int_range (rand, 0, h - ch + 1);
      crops[3 * i + 1] = g_rand_int_range (rand, 0, w - cw + 1);
      crops[3 * i + 2] = i % 2;
      kiln_batch_loader_convert_sample (pixels + i * per, c, h, w, ch, cw, crops[3 * i],
                                        crops[3 * i + 1], crops[3 * i + 2], mean, 1.f / 255,
                                        want + i * out_per);
    }
  KilnShape mean_shape = { 1, c, h, w }, out_shape = { n, c, ch, cw };
  g_autoptr(KilnTensor) tmean = tensor_on (gpu, &mean_shape, mean);
  g_autoptr(KilnTensor) dst = tensor_on (gpu, &out_shape, NULL);
  g_assert_true (gpu->vtable->convert_batch (gpu, pixels, n, c, h, w, crops, tmean, 1.f / 255, dst,
                                             &error));
  g_assert_no_error (error);
  kiln_tensor_download (dst, got, n * out_per);
  g_assert_cmpmem (got, n * out_per * sizeof (float), want, n * out_per * sizeof (float));

  /* Back to back, refilling the host buffer at once: each batch was
   * staged before the call returned, through both staging slots. */
  KilnTensor *outs[3];
  for (int b = 0; b < 3; b++)
    {
      outs[b] = tensor_on (gpu, &out_shape, NULL);
      memset (pixels, 40 * (b + 1), n * per);
      g_assert_true (gpu->vtable->convert_batch (gpu, pixels, n, c, h, w, crops, NULL, 1.f,
                                                 outs[b], &error));
      g_assert_no_error (error);
    }
  memset (pixels, 0, n * per);
  for (int b = 0; b < 3; b++)
    {
      kiln_tensor_download (outs[b], got, n * out_per);
      for (gint64 i = 0; i < n * out_per; i++)
        g_assert_cmpfloat (got[i], ==, 40.f * (b + 1));
      kiln_tensor_free (outs[b]);
    }

  /* A crop outside the image is an error, not a wild read. */
  crops[0] = h;
  g_assert_false (gpu->vtable->convert_batch (gpu, pixels, n, c, h, w, crops, tmean, 1.f, dst,
                                              &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_INVALID_ARGUMENT);
}

static void
test_refusals (void)
{
  g_autoptr(GError) error = NULL;
  KilnLayerSpec spec;
  KilnOpDesc desc;
  KilnShape in = { 1, 32, 4, 4 };

  NEED_GPU ();
  kiln_layer_spec_init (&spec, KILN_LAYER_LRN, "norm1");
  spec.local_size = 17;
  g_assert_true (kiln_op_desc_init (&desc, &spec, &in, 1, &error));
  g_assert_false (kiln_backend_supports_op (gpu, &desc, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "norm1"));
  g_assert_nonnull (strstr (error->message, "CPU backend"));
  g_clear_error (&error);
  g_assert_true (kiln_backend_supports_op (cpu, &desc, &error));
  kiln_layer_spec_clear (&spec);

  kiln_layer_spec_init (&spec, KILN_LAYER_RELU, "relu1");
  g_assert_true (kiln_op_desc_init (&desc, &spec, &in, 1, &error));
  desc.fuse_relu = TRUE;
  g_assert_false (kiln_backend_supports_op (gpu, &desc, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_UNSUPPORTED);
  kiln_layer_spec_clear (&spec);
}

/* Out of device memory is an error that says what to lower, and the
 * backend keeps working after it. */
static void
test_out_of_memory (void)
{
  g_autoptr(GError) error = NULL;
  KilnShape huge = { 1 << 16, 1 << 12, 1 << 10, 1 << 4 };   /* 16 TiB */
  KilnShape small = { 1, 1, 1, 4 };
  float host[4] = { 1, 2, 3, 4 }, back[4];

  NEED_GPU ();
  g_assert_null (kiln_tensor_new (gpu, &huge, &error));
  g_assert_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "out of device memory"));
  g_assert_nonnull (strstr (error->message, "batch size"));
  g_autoptr(KilnTensor) t = tensor_on (gpu, &small, host);
  kiln_tensor_download (t, back, 4);
  g_assert_cmpmem (back, sizeof back, host, sizeof host);
}

#define IMG 12
#define CLASSES 5
#define BATCH 16

static void
add_layer (KilnNetSpec *spec, KilnLayerSpec *l)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (kiln_net_spec_add_layer (spec, l, &error));
  g_assert_no_error (error);
  kiln_layer_spec_clear (l);
}

/* conv+relu → LRN → ceil max pool → grouped conv → BN → dropout → fc. */
static KilnNetSpec *
small_net (void)
{
  KilnNetSpec *spec = kiln_net_spec_new ("small", 3, IMG, IMG);
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv1");
  l.num_output = 8;
  l.kernel_h = l.kernel_w = 3;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = 1;
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "relu1");
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_LRN, "norm1");
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_MAX_POOL, "pool1");
  l.kernel_h = l.kernel_w = 3;
  l.stride_h = l.stride_w = 2;
  l.rounding = KILN_ROUND_CEIL;
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, "conv2");
  l.num_output = 16;
  l.group = 2;
  l.kernel_h = l.kernel_w = 3;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = 1;
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_BATCH_NORM, "bn2");
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_RELU, "relu2");
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_DROPOUT, "drop2");
  l.ratio = 0.25f;
  add_layer (spec, &l);
  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, "fc");
  l.num_output = CLASSES;
  add_layer (spec, &l);
  return spec;
}

static void
test_sgd_steps (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (10);
  const int steps = 10;
  gint64 per = 3 * IMG * IMG;
  g_autofree float *images = random_floats (rand, steps * BATCH * per, -1, 1);
  g_autofree int *labels = g_new (int, steps * BATCH);
  double curve[2][10];
  KilnBackend *backends[] = { gpu, cpu };

  NEED_GPU ();
  for (int i = 0; i < steps * BATCH; i++)
    labels[i] = g_rand_int_range (rand, 0, CLASSES);
  for (guint s = 0; s < 2; s++)
    {
      g_autoptr(KilnNetSpec) spec = small_net ();
      g_autoptr(KilnNet) net = kiln_net_new (spec, backends[s], BATCH, 3, &error);
      g_assert_no_error (error);
      g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.05f, 0.9f, 5e-4f);
      for (int i = 0; i < steps; i++)
        {
          int correct;
          g_assert_true (kiln_net_train_step (net, opt, images + i * BATCH * per,
                                              labels + i * BATCH, &curve[s][i], &correct, &error));
          g_assert_no_error (error);
        }
    }
  for (int i = 0; i < steps; i++)
    {
      double diff = fabs (curve[0][i] - curve[1][i]) / fabs (curve[1][i]);
      g_test_message ("step %d: CUDA %.7f, CPU %.7f (relative %.2g)", i, curve[0][i], curve[1][i],
                      diff);
      g_assert_cmpfloat (diff, <, 1e-4);
    }
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  cpu = kiln_backend_new ("cpu", &error);
  g_assert_no_error (error);
  gpu = kiln_backend_new ("cuda", &error);
  if (gpu == NULL)
    {
      no_gpu_reason = g_strdup_printf ("no CUDA device answers: %s", error->message);
      g_clear_error (&error);
    }
  else
    g_test_message ("%s", kiln_backend_get_description (gpu));

  /* The case table parses here, device or not. */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(KilnNetSpec) spec = case_spec (&cases[i], &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/gpu/cuda/ops/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], run_case);
    }
  /* The convolutions and inner products again with the other settings. */
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      if (g_str_has_prefix (cases[i].name, "conv") || g_str_has_prefix (cases[i].name, "fc"))
        {
          VariantCase *vc = g_new (VariantCase, 1);
          *vc = (VariantCase) { &cases[i], &variants[v] };
          g_autofree char *path = g_strdup_printf ("/gpu/cuda/%s=%s/%s", variants[v].variable,
                                                   variants[v].value, cases[i].name);
          g_test_add_data_func_full (path, vc, run_variant, g_free);
        }
  g_test_add_func ("/gpu/cuda/dropout-mask", test_dropout_mask);
  g_test_add_func ("/gpu/cuda/updates", test_updates);
  g_test_add_func ("/gpu/cuda/loss", test_loss);
  g_test_add_func ("/gpu/cuda/convert-batch", test_convert_batch);
  g_test_add_func ("/gpu/cuda/refusals", test_refusals);
  g_test_add_func ("/gpu/cuda/out-of-memory", test_out_of_memory);
  g_test_add_func ("/gpu/cuda/sgd-steps", test_sgd_steps);

  int ret = g_test_run ();
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    g_clear_pointer (&variants[v].backend, kiln_backend_free);
  g_clear_pointer (&gpu, kiln_backend_free);
  kiln_backend_free (cpu);
  g_free (no_gpu_reason);
  return ret;
}
