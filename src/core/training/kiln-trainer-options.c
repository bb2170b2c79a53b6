#include "kiln-trainer-options.h"

#include "kiln-backend.h"
#include "kiln-error.h"

void
kiln_trainer_options_init (KilnTrainerOptions *o)
{
  *o = (KilnTrainerOptions) {
    .batch_size = 32, .epochs = 10, .optimizer = KILN_OPTIMIZER_SGD, .learning_rate = 0.01,
    .momentum = 0.9, .weight_decay = 5e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
    .seed = 1, .mirror = TRUE, .keep_checkpoints = 3, .validate_every = 1,
    .cache_features = TRUE,
  };
  kiln_lr_schedule_init_exponential (&o->schedule, 0.97);
}

void
kiln_trainer_options_clear (KilnTrainerOptions *o)
{
  g_clear_pointer (&o->device, g_free);
}

static const char *policy_names[] = { "fixed", "step", "exponential", "cosine" };

JsonObject *
kiln_trainer_options_to_json (const KilnTrainerOptions *o)
{
  JsonObject *obj = json_object_new ();
  JsonObject *schedule = json_object_new ();

  json_object_set_int_member (obj, "batch_size", o->batch_size);
  json_object_set_int_member (obj, "epochs", o->epochs);
  json_object_set_string_member (obj, "optimizer", o->optimizer == KILN_OPTIMIZER_ADAM ? "adam" : "sgd");
  json_object_set_double_member (obj, "learning_rate", o->learning_rate);
  json_object_set_double_member (obj, "momentum", o->momentum);
  json_object_set_double_member (obj, "weight_decay", o->weight_decay);
  json_object_set_double_member (obj, "beta1", o->beta1);
  json_object_set_double_member (obj, "beta2", o->beta2);
  json_object_set_double_member (obj, "eps", o->eps);
  json_object_set_string_member (schedule, "policy", policy_names[o->schedule.policy]);
  json_object_set_double_member (schedule, "gamma", o->schedule.gamma);
  json_object_set_int_member (schedule, "step_epochs", o->schedule.step_epochs);
  json_object_set_int_member (schedule, "total_epochs", o->schedule.total_epochs);
  json_object_set_double_member (schedule, "min_factor", o->schedule.min_factor);
  json_object_set_int_member (schedule, "warmup_iterations", o->schedule.warmup_iterations);
  json_object_set_object_member (obj, "schedule", schedule);
  /* A string: JSON numbers cannot hold every 64-bit seed. */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  json_object_set_string_member (obj, "seed", seed);
  json_object_set_boolean_member (obj, "random_crop", o->random_crop);
  json_object_set_boolean_member (obj, "mirror", o->mirror);
  json_object_set_double_member (obj, "scale", o->scale);
  json_object_set_int_member (obj, "checkpoint_every", o->checkpoint_every);
  json_object_set_int_member (obj, "keep_checkpoints", o->keep_checkpoints);
  json_object_set_int_member (obj, "validate_every", o->validate_every);
  if (o->device != NULL)
    json_object_set_string_member (obj, "device", o->device);
  json_object_set_boolean_member (obj, "cache_features", o->cache_features);
  return obj;
}

static gboolean
read_number (JsonObject *obj, const char *name, double *out, GError **error)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL)
    return TRUE;   /* keep the default */
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) == G_TYPE_STRING ||
      json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Training options: “%s” must be a number", name);
      return FALSE;
    }
  *out = json_node_get_double (node);
  return TRUE;
}

gboolean
kiln_trainer_options_from_json (KilnTrainerOptions *o, JsonObject *obj, GError **error)
{
  double batch = o->batch_size, epochs = o->epochs, checkpoint = o->checkpoint_every;
  double keep = o->keep_checkpoints, validate = o->validate_every;
  double step_epochs = o->schedule.step_epochs, total_epochs = o->schedule.total_epochs;
  double warmup = o->schedule.warmup_iterations;

  if (!read_number (obj, "batch_size", &batch, error) || !read_number (obj, "epochs", &epochs, error) ||
      !read_number (obj, "learning_rate", &o->learning_rate, error) ||
      !read_number (obj, "momentum", &o->momentum, error) ||
      !read_number (obj, "weight_decay", &o->weight_decay, error) ||
      !read_number (obj, "beta1", &o->beta1, error) || !read_number (obj, "beta2", &o->beta2, error) ||
      !read_number (obj, "eps", &o->eps, error) ||
      !read_number (obj, "checkpoint_every", &checkpoint, error) ||
      !read_number (obj, "keep_checkpoints", &keep, error) ||
      !read_number (obj, "validate_every", &validate, error))
    return FALSE;
  double scale = o->scale;
  if (!read_number (obj, "scale", &scale, error))
    return FALSE;
  o->scale = scale;

  if (json_object_has_member (obj, "optimizer"))
    {
      const char *name = json_object_get_string_member_with_default (obj, "optimizer", "");
      if (g_str_equal (name, "sgd"))
        o->optimizer = KILN_OPTIMIZER_SGD;
      else if (g_str_equal (name, "adam"))
        o->optimizer = KILN_OPTIMIZER_ADAM;
      else
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Training options: unknown optimizer “%s”; use sgd or adam", name);
          return FALSE;
        }
    }
  if (json_object_has_member (obj, "schedule"))
    {
      JsonNode *node = json_object_get_member (obj, "schedule");
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT, "Training options: “schedule” must be an object");
          return FALSE;
        }
      JsonObject *s = json_node_get_object (node);
      const char *policy = json_object_get_string_member_with_default (s, "policy", policy_names[o->schedule.policy]);
      guint p;
      for (p = 0; p < G_N_ELEMENTS (policy_names); p++)
        if (g_str_equal (policy, policy_names[p]))
          break;
      if (p == G_N_ELEMENTS (policy_names))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Training options: unknown schedule “%s”; use fixed, step, exponential or cosine", policy);
          return FALSE;
        }
      o->schedule.policy = p;
      if (!read_number (s, "gamma", &o->schedule.gamma, error) ||
          !read_number (s, "step_epochs", &step_epochs, error) ||
          !read_number (s, "total_epochs", &total_epochs, error) ||
          !read_number (s, "min_factor", &o->schedule.min_factor, error) ||
          !read_number (s, "warmup_iterations", &warmup, error))
        return FALSE;
    }
  if (json_object_has_member (obj, "seed"))
    {
      const char *seed = json_object_get_string_member_with_default (obj, "seed", NULL);
      guint64 value;
      if (seed == NULL || !g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &value, NULL))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                       "Training options: “seed” must be a decimal string");
          return FALSE;
        }
      o->seed = value;
    }
  o->random_crop = json_object_get_boolean_member_with_default (obj, "random_crop", o->random_crop);
  o->mirror = json_object_get_boolean_member_with_default (obj, "mirror", o->mirror);
  o->cache_features = json_object_get_boolean_member_with_default (obj, "cache_features", o->cache_features);
  /* "backend" is what runs before devices had names wrote; its "auto" was
   * the default, not a choice. */
  const char *device = json_object_get_string_member_with_default (obj, "device", NULL);
  const char *legacy = json_object_get_string_member_with_default (obj, "backend", NULL);
  if (device == NULL && g_strcmp0 (legacy, "auto") != 0)
    device = legacy;
  if (device != NULL)
    {
      KilnDeviceKind kind;
      int index;
      g_autoptr(GError) local = NULL;
      if (!kiln_device_parse (device, &kind, &index, &local))
        {
          g_set_error (error, KILN_ERROR, KILN_ERROR_CORRUPT, "Training options: %s", local->message);
          return FALSE;
        }
      g_free (o->device);
      o->device = g_strdup (device);
    }

  if (batch < 1 || batch > 65536 || epochs < 1 || epochs > 1e6 || checkpoint < 0 || checkpoint > G_MAXINT ||
      keep < 1 || keep > 1e6 || validate < 0 || validate > 1e6 || !(o->learning_rate > 0) ||
      step_epochs < 0 || step_epochs > 1e6 || total_epochs < 0 || total_epochs > 1e6 || warmup < 0 ||
      warmup > G_MAXINT)
    {
      g_set_error (error, KILN_ERROR, KILN_ERROR_INVALID_ARGUMENT,
                   "Training options out of range: batch size %g, epochs %g, learning rate %g, "
                   "checkpoint every %g, keep %g (batch and epochs ≥ 1, learning rate > 0)",
                   batch, epochs, o->learning_rate, checkpoint, keep);
      return FALSE;
    }
  o->batch_size = (int) batch;
  o->epochs = (int) epochs;
  o->checkpoint_every = (int) checkpoint;
  o->keep_checkpoints = (guint) keep;
  o->validate_every = (int) validate;
  o->schedule.step_epochs = (int) step_epochs;
  o->schedule.total_epochs = (int) total_epochs;
  o->schedule.warmup_iterations = (int) warmup;
  return kiln_lr_schedule_validate (&o->schedule, error);
}
