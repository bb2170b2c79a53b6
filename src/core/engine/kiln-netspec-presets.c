/* kiln-netspec-presets.c: well-known networks as KilnNetSpecs.
 *
 * Layer names follow the source each net comes from (Chainer's alex.py,
 * BVLC's CaffeNet prototxt, torchvision), so imported weights line up. */
#include "config.h"

#include <glib/gi18n.h>

#include "kiln-engine-error.h"
#include "kiln-netspec.h"

static const char *const preset_names[] = {
  "alexnet", "caffenet", "lenet", "fashion-bn", "vgg16", "resnet18", "squeezenet1_1", NULL,
};

const char *const *
kiln_net_spec_list_presets (void)
{
  return preset_names;
}

/* Appends layers to a spec; the first failure sticks and later calls do nothing. */
typedef struct {
  KilnNetSpec *spec;
  GError *error;
} Builder;

static void
push (Builder       *b,
      KilnLayerSpec *layer,
      const char    *input_a,
      const char    *input_b)
{
  if (input_a)
    {
      const char *inputs[] = { input_a, input_b, NULL };
      layer->inputs = g_strdupv ((char **) inputs);
    }
  if (b->error == NULL)
    kiln_net_spec_add_layer (b->spec, layer, &b->error);
  kiln_layer_spec_clear (layer);
}

/* g_set_str() is GLib 2.76. */
static void
replace_str (char **slot, const char *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static void
conv_from (Builder *b, const char *name, const char *input, int n, int k, int s, int p, int group, gboolean bias)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_CONVOLUTION, name);
  l.num_output = n;
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = s;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = p;
  l.group = group;
  l.bias = bias;
  push (b, &l, input, NULL);
}

static void
conv (Builder *b, const char *name, int n, int k, int s, int p)
{
  conv_from (b, name, NULL, n, k, s, p, 1, TRUE);
}

static void
pool (Builder *b, const char *name, KilnLayerType type, int k, int s, int p, KilnRounding rounding)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, type, name);
  l.kernel_h = l.kernel_w = k;
  l.stride_h = l.stride_w = s;
  l.pad_top = l.pad_left = l.pad_bottom = l.pad_right = p;
  l.rounding = rounding;
  push (b, &l, NULL, NULL);
}

static void
simple (Builder *b, KilnLayerType type, const char *name, const char *input_a, const char *input_b)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, type, name);
  push (b, &l, input_a, input_b);
}

static void
lrn (Builder *b, const char *name, float k, float alpha)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_LRN, name);
  l.local_size = 5;
  l.k = k;
  l.alpha = alpha;
  l.beta = 0.75f;
  push (b, &l, NULL, NULL);
}

static void
fc (Builder *b, const char *name, int n)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_INNER_PRODUCT, name);
  l.num_output = n;
  push (b, &l, NULL, NULL);
}

static void
dropout (Builder *b, const char *name, float ratio)
{
  KilnLayerSpec l;

  kiln_layer_spec_init (&l, KILN_LAYER_DROPOUT, name);
  l.ratio = ratio;
  push (b, &l, NULL, NULL);
}

static void
batch_norm (Builder *b, const char *name)
{
  KilnLayerSpec l;

  /* torchvision: eps 1e-5, running stats updated with 0.1 of the batch. */
  kiln_layer_spec_init (&l, KILN_LAYER_BATCH_NORM, name);
  l.momentum = 0.9f;
  push (b, &l, NULL, NULL);
}

static void
relu_named (Builder *b, const char *name)
{
  simple (b, KILN_LAYER_RELU, name, NULL, NULL);
}

static void
relu_dropout (Builder *b, const char *relu_name, const char *drop_name)
{
  relu_named (b, relu_name);
  dropout (b, drop_name, 0.5f);
}

/* The head AlexNet, CaffeNet and VGG share: fc6 and fc7 of 4096 with ReLU
 * and dropout, fc8 of the class count. */
static void
classifier (Builder *b, int classes)
{
  fc (b, "fc6", 4096);
  relu_dropout (b, "relu6", "drop6");
  fc (b, "fc7", 4096);
  relu_dropout (b, "relu7", "drop7");
  fc (b, "fc8", classes);
}

/* Chainer's examples/imagenet/alex.py: ReLU before LRN, no groups, 227 input.
 * Chainer's LRN is n 5, k 2, alpha 1e-4 undivided (5e-4 here), beta 0.75;
 * its max pooling defaults to cover_all, i.e. ceil. */
static void
build_alexnet (Builder *b, int classes)
{
  conv (b, "conv1", 96, 11, 4, 0);
  relu_named (b, "relu1");
  lrn (b, "norm1", 2.0f, 5e-4f);
  pool (b, "pool1", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  conv (b, "conv2", 256, 5, 1, 2);
  relu_named (b, "relu2");
  lrn (b, "norm2", 2.0f, 5e-4f);
  pool (b, "pool2", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  conv (b, "conv3", 384, 3, 1, 1);
  relu_named (b, "relu3");
  conv (b, "conv4", 384, 3, 1, 1);
  relu_named (b, "relu4");
  conv (b, "conv5", 256, 3, 1, 1);
  relu_named (b, "relu5");
  pool (b, "pool5", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  classifier (b, classes);
}

/* BVLC reference CaffeNet: pooling before LRN, conv2/4/5 in two groups. */
static void
build_caffenet (Builder *b, int classes)
{
  conv (b, "conv1", 96, 11, 4, 0);
  relu_named (b, "relu1");
  pool (b, "pool1", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  lrn (b, "norm1", 1.0f, 1e-4f);
  conv_from (b, "conv2", NULL, 256, 5, 1, 2, 2, TRUE);
  relu_named (b, "relu2");
  pool (b, "pool2", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  lrn (b, "norm2", 1.0f, 1e-4f);
  conv (b, "conv3", 384, 3, 1, 1);
  relu_named (b, "relu3");
  conv_from (b, "conv4", NULL, 384, 3, 1, 1, 2, TRUE);
  relu_named (b, "relu4");
  conv_from (b, "conv5", NULL, 256, 3, 1, 1, 2, TRUE);
  relu_named (b, "relu5");
  pool (b, "pool5", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  classifier (b, classes);
}

/* Caffe's examples/mnist LeNet on 28×28 gray. */
static void
build_lenet (Builder *b, int classes)
{
  conv (b, "conv1", 20, 5, 1, 0);
  pool (b, "pool1", KILN_LAYER_MAX_POOL, 2, 2, 0, KILN_ROUND_CEIL);
  conv (b, "conv2", 50, 5, 1, 0);
  pool (b, "pool2", KILN_LAYER_MAX_POOL, 2, 2, 0, KILN_ROUND_CEIL);
  fc (b, "ip1", 500);
  relu_named (b, "relu1");
  fc (b, "ip2", classes);
}

/* The demo's net for 28×28 gray (Fashion-MNIST), chosen by time to 93% on
 * two cores (bench/RESULTS.md): three 3×3 convolutions, batch norm after
 * each pooling and between conv2 and conv3, where it acts on the fewest
 * values and leaves conv+ReLU one fused primitive. */
static void
build_fashion_bn (Builder *b, int classes)
{
  conv (b, "conv1", 32, 3, 1, 1);
  relu_named (b, "relu1");
  pool (b, "pool1", KILN_LAYER_MAX_POOL, 2, 2, 0, KILN_ROUND_FLOOR);
  batch_norm (b, "bn1");
  conv (b, "conv2", 64, 3, 1, 1);
  relu_named (b, "relu2");
  batch_norm (b, "bn2");
  conv (b, "conv3", 64, 3, 1, 1);
  relu_named (b, "relu3");
  pool (b, "pool2", KILN_LAYER_MAX_POOL, 2, 2, 0, KILN_ROUND_FLOOR);
  batch_norm (b, "bn3");
  fc (b, "fc1", 256);
  relu_named (b, "relu4");
  dropout (b, "drop1", 0.25f);
  fc (b, "fc2", classes);
}

/* torchvision vgg16 (configuration D), names as in Caffe's VGG_ILSVRC_16. */
static void
build_vgg16 (Builder *b, int classes)
{
  static const int widths[] = { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0,
                                512, 512, 512, 0, 512, 512, 512, 0 };
  int block = 1, index = 1;

  for (guint i = 0; i < G_N_ELEMENTS (widths); i++)
    {
      if (widths[i] == 0)
        {
          g_autofree char *name = g_strdup_printf ("pool%d", block);
          pool (b, name, KILN_LAYER_MAX_POOL, 2, 2, 0, KILN_ROUND_FLOOR);
          block++;
          index = 1;
          continue;
        }
      g_autofree char *cname = g_strdup_printf ("conv%d_%d", block, index);
      g_autofree char *rname = g_strdup_printf ("relu%d_%d", block, index);
      conv (b, cname, widths[i], 3, 1, 1);
      relu_named (b, rname);
      index++;
    }
  classifier (b, classes);
}

/* torchvision resnet18: BasicBlocks, a 1×1 strided projection where the
 * shape changes, global average pooling. */
static void
build_resnet18 (Builder *b, int classes)
{
  static const int widths[] = { 64, 128, 256, 512 };
  g_autofree char *previous = g_strdup ("relu");

  conv_from (b, "conv1", NULL, 64, 7, 2, 3, 1, FALSE);
  batch_norm (b, "bn1");
  relu_named (b, "relu");
  pool (b, "maxpool", KILN_LAYER_MAX_POOL, 3, 2, 1, KILN_ROUND_FLOOR);
  replace_str (&previous, "maxpool");

  for (int stage = 0; stage < 4; stage++)
    for (int block = 0; block < 2; block++)
      {
        int stride = stage > 0 && block == 0 ? 2 : 1;
        g_autofree char *p = g_strdup_printf ("layer%d.%d.", stage + 1, block);
        g_autofree char *c1 = g_strconcat (p, "conv1", NULL);
        g_autofree char *b1 = g_strconcat (p, "bn1", NULL);
        g_autofree char *r1 = g_strconcat (p, "relu1", NULL);
        g_autofree char *c2 = g_strconcat (p, "conv2", NULL);
        g_autofree char *b2 = g_strconcat (p, "bn2", NULL);
        g_autofree char *dc = g_strconcat (p, "downsample.0", NULL);
        g_autofree char *db = g_strconcat (p, "downsample.1", NULL);
        g_autofree char *add = g_strconcat (p, "add", NULL);
        g_autofree char *out = g_strconcat (p, "relu2", NULL);
        const char *shortcut = previous;

        conv_from (b, c1, previous, widths[stage], 3, stride, 1, 1, FALSE);
        batch_norm (b, b1);
        relu_named (b, r1);
        conv_from (b, c2, NULL, widths[stage], 3, 1, 1, 1, FALSE);
        batch_norm (b, b2);
        if (stride != 1)
          {
            conv_from (b, dc, previous, widths[stage], 1, stride, 0, 1, FALSE);
            batch_norm (b, db);
            shortcut = db;
          }
        simple (b, KILN_LAYER_ADD, add, b2, shortcut);
        relu_named (b, out);
        replace_str (&previous, out);
      }

  simple (b, KILN_LAYER_GLOBAL_AVG_POOL, "avgpool", NULL, NULL);
  fc (b, "fc", classes);
}

static void
fire (Builder *b, int index, int squeeze, int expand)
{
  g_autofree char *p = g_strdup_printf ("fire%d/", index);
  g_autofree char *sq = g_strconcat (p, "squeeze1x1", NULL);
  g_autofree char *sqr = g_strconcat (p, "relu_squeeze1x1", NULL);
  g_autofree char *e1 = g_strconcat (p, "expand1x1", NULL);
  g_autofree char *e1r = g_strconcat (p, "relu_expand1x1", NULL);
  g_autofree char *e3 = g_strconcat (p, "expand3x3", NULL);
  g_autofree char *e3r = g_strconcat (p, "relu_expand3x3", NULL);
  g_autofree char *cat = g_strconcat (p, "concat", NULL);

  conv (b, sq, squeeze, 1, 1, 0);
  relu_named (b, sqr);
  conv (b, e1, expand, 1, 1, 0);
  relu_named (b, e1r);
  conv_from (b, e3, sqr, expand, 3, 1, 1, 1, TRUE);
  relu_named (b, e3r);
  simple (b, KILN_LAYER_CONCAT, cat, e1r, e3r);
}

/* torchvision squeezenet1_1: Fire modules, ceil pooling, a 1×1
 * convolution as the classifier, global average pooling. */
static void
build_squeezenet1_1 (Builder *b, int classes)
{
  conv (b, "conv1", 64, 3, 2, 0);
  relu_named (b, "relu_conv1");
  pool (b, "pool1", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  fire (b, 2, 16, 64);
  fire (b, 3, 16, 64);
  pool (b, "pool3", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  fire (b, 4, 32, 128);
  fire (b, 5, 32, 128);
  pool (b, "pool5", KILN_LAYER_MAX_POOL, 3, 2, 0, KILN_ROUND_CEIL);
  fire (b, 6, 48, 192);
  fire (b, 7, 48, 192);
  fire (b, 8, 64, 256);
  fire (b, 9, 64, 256);
  simple (b, KILN_LAYER_DROPOUT, "drop9", NULL, NULL);
  conv (b, "conv10", classes, 1, 1, 0);
  relu_named (b, "relu_conv10");
  simple (b, KILN_LAYER_GLOBAL_AVG_POOL, "pool10", NULL, NULL);
  simple (b, KILN_LAYER_FLATTEN, "flatten", NULL, NULL);
}

KilnNetSpec *
kiln_net_spec_new_preset (const char *name,
                          int         num_classes,
                          GError    **error)
{
  static const struct {
    const char *name;
    void (*build) (Builder *b, int classes);
    int c, size, classes;
    gboolean exact_fit;
  } presets[] = {
    { "alexnet", build_alexnet, 3, 227, 1000, TRUE },
    { "caffenet", build_caffenet, 3, 227, 1000, TRUE },
    { "lenet", build_lenet, 1, 28, 10, TRUE },
    { "fashion-bn", build_fashion_bn, 1, 28, 10, TRUE },
    { "vgg16", build_vgg16, 3, 224, 1000, TRUE },
    { "resnet18", build_resnet18, 3, 224, 1000, FALSE },
    { "squeezenet1_1", build_squeezenet1_1, 3, 224, 1000, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      if (g_strcmp0 (name, presets[i].name) != 0)
        continue;

      Builder b = { kiln_net_spec_new (name, presets[i].c, presets[i].size, presets[i].size), NULL };
      kiln_net_spec_set_exact_fit (b.spec, presets[i].exact_fit);
      presets[i].build (&b, num_classes > 0 ? num_classes : presets[i].classes);
      if (b.error)
        {
          g_propagate_prefixed_error (error, b.error, "%s: ", name);
          g_object_unref (b.spec);
          return NULL;
        }
      return b.spec;
    }

  g_autofree char *known = g_strjoinv (", ", (char **) preset_names);
  g_set_error (error, KILN_ENGINE_ERROR, KILN_ENGINE_ERROR_NOT_FOUND,
               _("There is no preset network called “%s”; the presets are %s"),
               name ? name : "", known);
  return NULL;
}
