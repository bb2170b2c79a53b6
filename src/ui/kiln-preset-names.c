/* kiln-preset-names.c: display names of the network presets. */
#include "config.h"

#include "kiln-preset-names.h"

/* Proper names: not translated. */
static const struct { const char *id, *label; } preset_labels[] = {
  { "alexnet", "AlexNet" },
  { "caffenet", "CaffeNet" },
  { "lenet", "LeNet" },
  { "fashion-bn", "Fashion-MNIST BN" },
  { "vgg16", "VGG-16" },
  { "resnet18", "ResNet-18" },
  { "squeezenet1_1", "SqueezeNet 1.1" },
};

const char *
kiln_preset_get_label (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (preset_labels); i++)
    if (g_strcmp0 (preset_labels[i].id, id) == 0)
      return preset_labels[i].label;
  return id;
}
