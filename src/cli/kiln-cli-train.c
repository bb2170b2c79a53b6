#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "kiln-json-text.h"
#include "kiln-cli.h"
#include "kiln-core.h"
#include "kiln-training-setup.h"

typedef struct {
  GMainLoop *loop;
  KilnTrainer *trainer;
  gboolean json;
  gboolean tty;
  int final_state;
  guint n_signals;
} TrainUi;

static void
on_progress (KilnTrainer *trainer, TrainUi *ui)
{
  KilnTrainerStatus s;
  if (ui->json || !ui->tty)
    return;
  kiln_trainer_get_status (trainer, &s);
  g_autofree char *line = kiln_trainer_status_format (&s);
  kiln_cli_status_line (line);
}

static void
on_validated (KilnTrainer *trainer, gint64 iteration, double loss, double accuracy, double top5, TrainUi *ui)
{
  if (ui->json)
    return;
  kiln_cli_status_done ();
  g_print (_("validation at iteration %lld: loss %.4f, accuracy %.4f, top-5 %.4f\n"),
           (long long) iteration, loss, accuracy, top5);
}

static void
on_finished (KilnTrainer *trainer, int state, TrainUi *ui)
{
  ui->final_state = state;
  g_main_loop_quit (ui->loop);
}

static gboolean
on_signal (gpointer data)
{
  TrainUi *ui = data;
  if (ui->n_signals++ == 0)
    {
      if (!ui->json)
        {
          kiln_cli_status_done ();
          g_printerr ("%s", _("Stopping after this iteration and saving a checkpoint; resume with --resume.\n"));
        }
      kiln_trainer_stop (ui->trainer);
      return G_SOURCE_CONTINUE;
    }
  /* A second interrupt: the last checkpoint is safe on disk. */
  _exit (130);
}

static gboolean
parse_triple (const char *text, int *c, int *h, int *w)
{
  return text && sscanf (text, "%dx%dx%d", c, h, w) == 3 && *c > 0 && *h > 0 && *w > 0;
}

static void
print_summary_json (KilnTrainer *trainer, int state)
{
  KilnTrainerStatus s;
  const GError *error = kiln_trainer_get_error (trainer);
  static const char *names[] = { "idle", "running", "paused", "stopped", "finished", "failed" };
  g_autoptr(JsonObject) o = json_object_new ();

  kiln_trainer_get_status (trainer, &s);
  json_object_set_string_member (o, "run", kiln_run_get_dir (kiln_trainer_get_run (trainer)));
  json_object_set_string_member (o, "state", names[CLAMP (state, 0, 5)]);
  json_object_set_int_member (o, "iterations", s.iteration);
  json_object_set_int_member (o, "total_iterations", s.total_iterations);
  json_object_set_double_member (o, "loss", s.loss);
  if (isnan (s.val_accuracy))
    json_object_set_null_member (o, "val_accuracy");
  else
    json_object_set_double_member (o, "val_accuracy", s.val_accuracy);
  if (isnan (s.best_val_accuracy))
    json_object_set_null_member (o, "best_val_accuracy");
  else
    json_object_set_double_member (o, "best_val_accuracy", s.best_val_accuracy);
  if (error)
    json_object_set_string_member (o, "error", error->message);
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = kiln_json_to_text (node, TRUE);
  g_print ("%s\n", text);
}

/* --dry-run: the device the run would use, and whether and how it fits. */
static int
print_plan (KilnNetSpec *spec, const KilnTrainerOptions *options, const char *device)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  KilnNetMemory memory;
  g_autofree char *name = kiln_run_device_check (device ? device : options->device, spec, options, &memory,
                                                 &reason, &error);

  if (name == NULL)
    return kiln_cli_fail ("train", error);
  g_autofree char *text = kiln_net_memory_format (&memory);
  g_print (_("device: %s (%s)\n"), name, reason);
  g_print (_("memory: %s at batch %d with %s needs %s\n"), kiln_net_spec_get_name (spec), options->batch_size,
           options->optimizer == KILN_OPTIMIZER_ADAM ? "Adam" : "SGD", text);
  g_print ("%s", _("dry run: nothing was written\n"));
  return 0;
}

/* Starts @trainer, follows it to its end and says how it ended. */
static int
run_trainer (KilnTrainer *trainer, gboolean fresh, gboolean as_json)
{
  g_autoptr(GError) error = NULL;

  const char *from = json_object_get_string_member_with_default (kiln_run_get_config (kiln_trainer_get_run (trainer)),
                                                                 "initial_weights_from", NULL);
  if (from != NULL && fresh && !as_json)
    g_print (_("starting from %s\n"), from);

  TrainUi ui = { .loop = g_main_loop_new (NULL, FALSE), .trainer = trainer, .json = as_json,
                 .tty = isatty (STDERR_FILENO) };
  g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &ui);
  g_signal_connect (trainer, "validated", G_CALLBACK (on_validated), &ui);
  g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &ui);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, &ui);
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, &ui);

  if (!as_json)
    g_print (_("run: %s\n"), kiln_run_get_dir (kiln_trainer_get_run (trainer)));
  if (!kiln_trainer_start (trainer, &error))
    {
      g_main_loop_unref (ui.loop);
      return kiln_cli_fail ("train", error);
    }
  g_main_loop_run (ui.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_main_loop_unref (ui.loop);
  kiln_cli_status_done ();

  if (as_json)
    print_summary_json (trainer, ui.final_state);
  else
    {
      KilnTrainerStatus s;
      kiln_trainer_get_status (trainer, &s);
      if (ui.final_state == KILN_TRAINER_FINISHED)
        g_print (_("finished: %lld iterations, loss %.4f, best validation accuracy %.4f\n"),
                 (long long) s.iteration, s.loss, s.best_val_accuracy);
      else if (ui.final_state == KILN_TRAINER_STOPPED)
        g_print (_("stopped at iteration %lld; resume with: kiln-cli train --resume %s\n"),
                 (long long) s.iteration, kiln_run_get_dir (kiln_trainer_get_run (trainer)));
    }
  if (ui.final_state == KILN_TRAINER_FAILED)
    {
      g_autoptr(GError) copy = g_error_copy (kiln_trainer_get_error (trainer));
      return kiln_cli_fail ("train", copy);
    }
  return 0;
}

int
kiln_cli_train (int argc, char **argv)
{
  g_autofree char *project = NULL, *preset = NULL, *spec_file = NULL, *input = NULL, *resume = NULL;
  g_autofree char *optimizer = NULL, *schedule = NULL, *device = NULL, *run_id = NULL, *weights = NULL;
  g_autofree char *resize = NULL, *cache_size = NULL, *freeze = NULL, *split = NULL, *again = NULL;
  int epochs = 0, batch = 0, checkpoint_every = -1, keep = 0, warmup = -1, max_per_class = 0;
  double lr = 0, momentum = -1, weight_decay = -1, gamma = 0, val_fraction = -1;
  gint64 seed = -1;
  gboolean no_mirror = FALSE, random_crop = FALSE, as_json = FALSE, no_feature_cache = FALSE;
  gboolean recompute_mean = FALSE, dry_run = FALSE;
  const GOptionEntry entries[] = {
    { "project", 'p', 0, G_OPTION_ARG_FILENAME, &project, N_("Project folder (with images/<class>/…)"), N_("DIR") },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &resume, N_("Continue the run in DIR from its newest checkpoint"), N_("DIR") },
    { "again", 0, 0, G_OPTION_ARG_FILENAME, &again, N_("Train a new run with the choices of the run in DIR (--epochs, --device and --run-id may differ)"), N_("DIR") },
    { "preset", 0, 0, G_OPTION_ARG_STRING, &preset, N_("Network preset (lenet, fashion-bn, alexnet, caffenet, vgg16, resnet18, squeezenet1_1)"), N_("NAME") },
    { "spec", 0, 0, G_OPTION_ARG_FILENAME, &spec_file, N_("Network spec (JSON from kiln-cli calc --save)"), N_("FILE") },
    { "input", 0, 0, G_OPTION_ARG_STRING, &input, N_("Network input size"), N_("CxHxW") },
    { "cache-size", 0, 0, G_OPTION_ARG_STRING, &cache_size, N_("Decode images to this size, width × height (larger than the input allows random crops)"), N_("WxH") },
    { "resize", 0, 0, G_OPTION_ARG_STRING, &resize, N_("How images are fitted: squash, crop-center, fill, downscale-crop"), N_("MODE") },
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, N_("Start from these weights (fine-tuning; layers of another shape start fresh)"), N_("FILE") },
    { "freeze-up-to", 0, 0, G_OPTION_ARG_STRING, &freeze, N_("Freeze the layers up to and including LAYER (fine-tuning)"), N_("LAYER") },
    { "recompute-mean", 0, 0, G_OPTION_ARG_NONE, &recompute_mean, N_("Fine-tuning: compute the input mean from this project's images instead of keeping the pretrained model's"), NULL },
    { "no-feature-cache", 0, 0, G_OPTION_ARG_NONE, &no_feature_cache, N_("Run frozen layers every step instead of caching their outputs once"), NULL },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, N_("Epochs (default 10)"), N_("N") },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, N_("Batch size (default 32)"), N_("N") },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, N_("Learning rate (default 0.01)"), N_("X") },
    { "optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, N_("sgd (momentum) or adam"), N_("NAME") },
    { "momentum", 0, 0, G_OPTION_ARG_DOUBLE, &momentum, N_("SGD momentum (default 0.9)"), N_("X") },
    { "weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, N_("L2 weight decay (default 5e-4)"), N_("X") },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, N_("fixed, step, exponential (default, ×0.97/epoch) or cosine"), N_("NAME") },
    { "gamma", 0, 0, G_OPTION_ARG_DOUBLE, &gamma, N_("Decay factor of step/exponential schedules"), N_("X") },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, N_("Linear warm-up iterations"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Random seed (weights, order, dropout, split)"), N_("N") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split, N_("Train on this split of the project (default: its current split; the first run makes one: 80% train, 10% val, 10% test)"), N_("NAME") },
    { "val-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &val_fraction, N_("Share of each class for validation when the first run makes the split (default 0.1)"), N_("X") },
    { "max-per-class", 0, 0, G_OPTION_ARG_INT, &max_per_class, N_("At most N images per class when the first run makes the split"), N_("N") },
    { "random-crop", 0, 0, G_OPTION_ARG_NONE, &random_crop, N_("Random crops from the cached size"), NULL },
    { "no-mirror", 0, 0, G_OPTION_ARG_NONE, &no_mirror, N_("No random left-right flips"), NULL },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &checkpoint_every, N_("Also checkpoint every N iterations"), N_("N") },
    { "keep", 0, 0, G_OPTION_ARG_INT, &keep, N_("Checkpoints to keep besides the best (default 3)"), N_("N") },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, N_("cpu, cuda, cuda:N or auto (default: $KILN_DEVICE, else the Preferences' device, else auto); a resumed run may change it"), N_("DEVICE") },
    /* The name before devices had numbers; kept so scripts keep working. */
    { "backend", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &device, N_("Same as --device"), N_("DEVICE") },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, N_("Say which device the run would use and the memory it needs, then stop"), NULL },
    { "run-id", 0, 0, G_OPTION_ARG_STRING, &run_id, N_("Name of the run folder (default: the time)"), N_("ID") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print a JSON summary at the end"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnTrainer) trainer = NULL;
  g_autoptr(KilnProgress) progress = kiln_progress_new ("cache");
  g_autoptr(GAsyncResult) prepared = NULL;

  if (!kiln_cli_parse ("train", NULL, _("Train or fine-tune a classifier on a project's class folders."),
                       entries, &argc, &argv))
    return 2;
  if (again != NULL)
    {
      const char *fixed[] = {
        project ? "--project" : NULL, resume ? "--resume" : NULL, preset ? "--preset" : NULL,
        spec_file ? "--spec" : NULL, input ? "--input" : NULL, optimizer ? "--optimizer" : NULL,
        schedule ? "--schedule" : NULL, weights ? "--weights" : NULL, resize ? "--resize" : NULL,
        cache_size ? "--cache-size" : NULL, freeze ? "--freeze-up-to" : NULL, split ? "--split" : NULL,
        batch > 0 ? "--batch" : NULL, lr > 0 ? "--lr" : NULL, seed >= 0 ? "--seed" : NULL,
        no_mirror ? "--no-mirror" : NULL, random_crop ? "--random-crop" : NULL,
      };
      for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
        if (fixed[i] != NULL)
          {
            g_printerr (_("kiln-cli train: --again takes the run's own choices; %s cannot be given with it\n"),
                        fixed[i]);
            return 2;
          }
      g_auto(KilnRunRecipe) recipe;
      kiln_run_recipe_init (&recipe);
      g_autofree char *run_dir = g_canonicalize_filename (again, NULL);
      if (!kiln_run_recipe_load_from_run (&recipe, run_dir, &error))
        return kiln_cli_fail ("train", error);
      /* PROJECT/runs/ID */
      g_autofree char *runs = g_path_get_dirname (run_dir);
      g_autofree char *project_dir = g_path_get_dirname (runs);
      if (epochs > 0)
        recipe.epochs = epochs;
      if (device != NULL)
        {
          g_free (recipe.device);
          recipe.device = g_steal_pointer (&device);
        }
      g_free (recipe.run_id);
      recipe.run_id = g_steal_pointer (&run_id);
      return kiln_cli_train_recipe (&recipe, project_dir, as_json);
    }
  if (!as_json)
    kiln_cli_show_progress (progress, _("decoding images"));

  if (resume != NULL)
    {
      /* A run keeps the settings it started with; only its length can grow. */
      const char *fixed[] = {
        project ? "--project" : NULL, preset ? "--preset" : NULL, spec_file ? "--spec" : NULL,
        input ? "--input" : NULL, optimizer ? "--optimizer" : NULL, schedule ? "--schedule" : NULL,
        run_id ? "--run-id" : NULL, weights ? "--weights" : NULL,
        resize ? "--resize" : NULL, cache_size ? "--cache-size" : NULL, freeze ? "--freeze-up-to" : NULL,
        split ? "--split" : NULL, batch > 0 ? "--batch" : NULL, lr > 0 ? "--lr" : NULL,
        momentum >= 0 ? "--momentum" : NULL, weight_decay >= 0 ? "--weight-decay" : NULL,
        gamma > 0 ? "--gamma" : NULL, warmup >= 0 ? "--warmup" : NULL, seed >= 0 ? "--seed" : NULL,
        val_fraction >= 0 ? "--val-fraction" : NULL, max_per_class > 0 ? "--max-per-class" : NULL,
        checkpoint_every >= 0 ? "--checkpoint-every" : NULL, keep > 0 ? "--keep" : NULL,
        no_mirror ? "--no-mirror" : NULL, random_crop ? "--random-crop" : NULL,
        no_feature_cache ? "--no-feature-cache" : NULL, recompute_mean ? "--recompute-mean" : NULL,
      };
      for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
        if (fixed[i] != NULL)
          {
            g_printerr (_("kiln-cli train: %s cannot change when a run resumes; it keeps the settings it "
                          "started with (only --epochs can grow). Start a new run to change it\n"), fixed[i]);
            return 2;
          }
      if (dry_run)
        {
          g_autoptr(JsonObject) config = kiln_training_read_config (resume, &error);
          g_autoptr(KilnNetSpec) spec = NULL;
          KilnTrainerOptions options;
          if (config == NULL || !kiln_training_config_get_net (config, &spec, &options, &error))
            return kiln_cli_fail ("train", error);
          int status = print_plan (spec, &options, device);
          kiln_trainer_options_clear (&options);
          return status;
        }
      gboolean extended = FALSE;
      if (epochs > 0 && !kiln_training_extend_epochs (resume, epochs, &extended, &error))
        return kiln_cli_fail ("train", error);
      KilnRunSummary summary;
      if (!extended && kiln_run_summarize (resume, &summary, NULL) && summary.finished)
        {
          kiln_cli_status_done ();
          if (as_json)
            {
              g_autoptr(JsonBuilder) builder = json_builder_new ();
              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "run");
              json_builder_add_string_value (builder, resume);
              json_builder_set_member_name (builder, "state");
              json_builder_add_string_value (builder, "finished");
              json_builder_set_member_name (builder, "iterations");
              json_builder_add_int_value (builder, summary.iteration);
              json_builder_end_object (builder);
              kiln_cli_print_json (builder);
            }
          else
            g_print (_("%s already finished (iteration %lld); train it longer with "
                       "--resume %s --epochs N\n"), resume, (long long) summary.iteration, resume);
          return 0;
        }
      if (extended && !as_json)
        g_print (_("%s now trains to %d epochs\n"), resume, epochs);
      kiln_training_prepare_resume_on_async (resume, device, progress, NULL, kiln_cli_keep_result, &prepared);
    }
  else
    {
      if (project == NULL)
        {
          g_printerr ("%s", _("kiln-cli train: give --project DIR (or --resume RUN)\n"));
          return 2;
        }
      /* The window's New Run wizard fills the same recipe. */
      g_auto(KilnRunRecipe) recipe;
      kiln_run_recipe_init (&recipe);
      if (input != NULL && !parse_triple (input, &recipe.input_channels, &recipe.input_height, &recipe.input_width))
        {
          g_printerr (_("kiln-cli train: --input wants CxHxW, e.g. 3x227x227, not “%s”\n"), input);
          return 2;
        }
      if (cache_size != NULL &&
          !kiln_cli_parse_size ("train", "--cache-size", cache_size, &recipe.cache_width, &recipe.cache_height))
        return 2;
      recipe.spec_file = g_steal_pointer (&spec_file);
      recipe.preset = g_steal_pointer (&preset);
      recipe.weights = g_steal_pointer (&weights);
      recipe.freeze_up_to = g_steal_pointer (&freeze);
      recipe.feature_cache = !no_feature_cache;
      recipe.recompute_mean = recompute_mean;
      recipe.epochs = epochs;
      recipe.batch_size = batch;
      recipe.optimizer = g_steal_pointer (&optimizer);
      recipe.learning_rate = lr;
      recipe.momentum = momentum;
      recipe.weight_decay = weight_decay;
      recipe.schedule = g_steal_pointer (&schedule);
      recipe.gamma = gamma;
      recipe.warmup = warmup;
      recipe.seed = seed;
      recipe.mirror = !no_mirror;
      recipe.random_crop = random_crop;
      recipe.checkpoint_every = checkpoint_every;
      recipe.keep = keep;
      recipe.device = g_steal_pointer (&device);
      recipe.split = g_steal_pointer (&split);
      recipe.val_fraction = val_fraction;
      recipe.max_per_class = max_per_class;
      recipe.resize = g_steal_pointer (&resize);
      recipe.run_id = g_steal_pointer (&run_id);
      /* Options that contradict each other are a usage error. */
      if (!kiln_run_recipe_check (&recipe, &error))
        {
          g_printerr ("kiln-cli train: %s\n", error->message);
          return 2;
        }
      if (dry_run)
        {
          g_autoptr(KilnNetSpec) spec = NULL;
          KilnTrainerOptions options;
          KilnTrainingSetup setup;
          kiln_cli_status_done ();
          if (!kiln_run_recipe_build (&recipe, project, &spec, &options, &setup, NULL, &error))
            return kiln_cli_fail ("train", error);
          int status = print_plan (spec, &options, NULL);
          kiln_trainer_options_clear (&options);
          return status;
        }
      kiln_run_recipe_prepare_async (&recipe, project, progress, NULL, kiln_cli_keep_result, &prepared);
    }
  kiln_cli_wait (&prepared);
  trainer = resume != NULL ? kiln_training_prepare_resume_finish (prepared, &error)
                           : kiln_run_recipe_prepare_finish (prepared, &error);
  kiln_cli_status_done ();
  if (trainer == NULL)
    return kiln_cli_fail ("train", error);
  return run_trainer (trainer, resume == NULL, as_json);
}

int
kiln_cli_train_recipe (const KilnRunRecipe *recipe, const char *project, gboolean as_json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KilnProgress) progress = kiln_progress_new ("cache");
  g_autoptr(GAsyncResult) prepared = NULL;
  g_autoptr(KilnTrainer) trainer = NULL;

  if (!as_json)
    kiln_cli_show_progress (progress, _("decoding images"));
  kiln_run_recipe_prepare_async (recipe, project, progress, NULL, kiln_cli_keep_result, &prepared);
  kiln_cli_wait (&prepared);
  trainer = kiln_run_recipe_prepare_finish (prepared, &error);
  kiln_cli_status_done ();
  if (trainer == NULL)
    return kiln_cli_fail ("train", error);
  return run_trainer (trainer, TRUE, as_json);
}
