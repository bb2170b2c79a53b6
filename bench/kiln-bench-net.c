/* Times Kiln's engine on a net (by default AlexNet, the "alexnet" preset,
 * 227 × 227; or a KilnNetSpec JSON file): training steps and inference
 * forwards per second, the step's phases, seconds per layer, achieved
 * GFLOP/s, and the machine's single-precision GEMM peak measured with
 * oneDNN's sgemm on the same threads. Prints one "key value" per line for
 * bench/engine-alexnet.sh (and for profiling bench/fashion-cnn.json, see
 * bench/RESULTS.md).
 *
 * Usage: kiln-bench-net [--device DEVICE] [--precision fp32|tf32|bf16]
 *                       [batch] [train-steps] [infer-steps] [spec.json]
 * DEVICE as kiln-cli takes it (default cpu). TF32 and bf16 are asked of the
 * CUDA backend through KILN_CUDA_TF32=1 / KILN_CUDA_BF16=1; a backend whose
 * description does not mention bf16 does not run it, and this exits 3
 * ("skipped") rather than time float32 under another name.
 * With KILN_BENCH_ONNX=FILE it also writes the net, as trained, as an ONNX
 * model there (what bench/engine-ort.py times in onnxruntime). */
#include <dnnl.h>
#include <glib.h>
#include <omp.h>
#include <string.h>

#include "kiln-backend-cpu.h"
#include "kiln-net.h"
#include "kiln-onnx-export.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
sgemm_peak (int threads)
{
  const int n = 2560;
  float *a = g_new (float, (gsize) n * n), *b = g_new (float, (gsize) n * n);
  float *c = g_new0 (float, (gsize) n * n);
  double best = 0;

  for (gsize i = 0; i < (gsize) n * n; i++)
    a[i] = b[i] = 1.f / (1 + i % 7);
  omp_set_num_threads (threads);
  /* The first call packs and spins up threads; it does not count. */
  dnnl_sgemm ('N', 'N', n, n, n, 1.f, a, n, b, n, 0.f, c, n);
  for (int rep = 0; rep < 5; rep++)
    {
      double t = now ();
      dnnl_sgemm ('N', 'N', n, n, n, 1.f, a, n, b, n, 0.f, c, n);
      double gflops = 2.0 * n * n * n / (now () - t) / 1e9;
      best = MAX (best, gflops);
    }
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* Process policy: unlike kiln and kiln-cli (see kiln-cli.c's main), this
 * keeps libgomp's default wait policy unless the caller sets one, so that
 * it and the PyTorch peer in bench/engine-alexnet.sh run under the same
 * OpenMP policy. */
int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *profile = NULL;
  g_autofree char *device = NULL, *precision = NULL;
  g_autofree float *logits = NULL;   /* here: the gotos below jump past later declarations */
  g_auto(GStrv) lines = NULL;
  const GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu, cuda, cuda:N or auto (default cpu)", "DEVICE" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, "fp32 (default), tf32 or bf16", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[BATCH] [TRAIN-STEPS] [INFER-STEPS] [SPEC.json]");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("kiln-bench-net: %s\n", error->message);
      return 2;
    }
  int batch = argc > 1 ? atoi (argv[1]) : 32;
  int train_steps = argc > 2 ? atoi (argv[2]) : 5;
  int infer_steps = argc > 3 ? atoi (argv[3]) : 10;

  if (precision == NULL)
    precision = g_strdup ("fp32");
  if (g_str_equal (precision, "tf32"))
    g_setenv ("KILN_CUDA_TF32", "1", TRUE);
  else if (g_str_equal (precision, "bf16"))
    g_setenv ("KILN_CUDA_BF16", "1", TRUE);
  else if (!g_str_equal (precision, "fp32"))
    {
      g_printerr ("kiln-bench-net: --precision is fp32, tf32 or bf16, not “%s”\n", precision);
      return 2;
    }
  g_autoptr(KilnBackend) backend = kiln_backend_new (device ? device : "cpu", &error);
  if (backend != NULL && g_str_equal (precision, "bf16") &&
      strstr (kiln_backend_get_description (backend), "bf16") == NULL)
    {
      g_print ("skipped bf16: %s does not run bf16 (%s)\n", kiln_backend_get_name (backend),
               kiln_backend_get_description (backend));
      return 3;
    }
  gboolean on_cpu = backend != NULL && g_str_equal (kiln_backend_get_name (backend), "cpu");
  g_autoptr(KilnNetSpec) spec = backend == NULL ? NULL
                                : argc > 4 ? kiln_net_spec_new_from_file (argv[4], &error)
                                : kiln_net_spec_new_preset ("alexnet", 1000, &error);
  if (spec == NULL || !kiln_net_spec_infer_shapes (spec, &error))
    {
      g_printerr ("kiln-bench-net: %s\n", error->message);
      return 1;
    }
  int channels, height, width;
  kiln_net_spec_get_input (spec, &channels, &height, &width);
  /* Labels below the top layer's width: the last layer is the class scores. */
  KilnLayerSpec *top = kiln_net_spec_get_layer (spec, kiln_net_spec_get_n_layers (spec) - 1);
  int classes = MAX (top->num_output, 1);
  g_autoptr(KilnNet) net = kiln_net_new (spec, backend, batch, 1, &error);
  if (net == NULL)
    {
      g_printerr ("kiln-bench-net: %s\n", error->message);
      return 1;
    }

  gint64 n_in = (gint64) batch * channels * height * width;
  g_autofree float *x = g_new (float, n_in);
  g_autofree int *labels = g_new (int, batch);
  GRand *rand = g_rand_new_with_seed (1);
  for (gint64 i = 0; i < n_in; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (int i = 0; i < batch; i++)
    labels[i] = g_rand_int_range (rand, 0, classes);
  g_rand_free (rand);

  g_autoptr(KilnOptimizer) opt = kiln_optimizer_new_sgd (0.001f, 0.9f, 5e-4f);
  double loss;

  /* One warm-up step each: primitives are created on first use. */
  if (!kiln_net_train_step (net, opt, x, labels, &loss, NULL, &error))
    goto fail;
  /* The step in its phases, to say where the time goes. */
  double phase[4] = { 0 };
  guint64 reorders_before = on_cpu ? kiln_backend_cpu_get_reorder_count (backend) : 0;
  double t = now ();
  for (int s = 0; s < train_steps; s++)
    {
      double t0 = now ();
      kiln_net_set_input (net, x);
      if (!kiln_net_forward (net, TRUE, &error))
        goto fail;
      double t1 = now ();
      if (!kiln_net_loss (net, labels, &loss, NULL, &error))
        goto fail;
      double t2 = now ();
      if (!kiln_net_backward (net, &error))
        goto fail;
      double t3 = now ();
      if (!kiln_net_update (net, opt, &error))
        goto fail;
      double t4 = now ();
      phase[0] += t1 - t0;
      phase[1] += t2 - t1;
      phase[2] += t3 - t2;
      phase[3] += t4 - t3;
    }
  double train_s = (now () - t) / train_steps;
  double train_reorders = on_cpu ? (double) (kiln_backend_cpu_get_reorder_count (backend) - reorders_before) / train_steps
                                 : 0;
  profile = kiln_net_dup_profile (net);

  if (!kiln_net_forward (net, FALSE, &error))
    goto fail;
  reorders_before = on_cpu ? kiln_backend_cpu_get_reorder_count (backend) : 0;
  const KilnShape *out = kiln_net_get_output_shape (net);
  logits = g_new (float, kiln_shape_n_elements (out));
  t = now ();
  for (int s = 0; s < infer_steps; s++)
    if (!kiln_net_forward (net, FALSE, &error))
      goto fail;
  /* A GPU runs forwards asynchronously: reading the output waits for them. */
  kiln_net_get_output (net, logits);
  double infer_s = (now () - t) / infer_steps;
  double infer_reorders = on_cpu ? (double) (kiln_backend_cpu_get_reorder_count (backend) - reorders_before)
                                   / MAX (infer_steps, 1) : 0;

  double fwd_flop = 2.0 * kiln_net_spec_get_total_macs (spec) * batch;
  int threads = on_cpu ? kiln_backend_cpu_get_threads (backend) : (int) g_get_num_processors ();
  const dnnl_version_t *onednn = dnnl_version ();
  g_print ("device %s\n", kiln_backend_get_name (backend));
  g_print ("precision %s\n", precision);
  g_print ("backend %s\n", kiln_backend_get_description (backend));
  g_print ("isa %s\n", kiln_backend_cpu_get_isa_name ());
  g_print ("onednn %d.%d.%d\n", onednn->major, onednn->minor, onednn->patch);
  g_print ("threads %d\n", threads);
  g_print ("batch %d\n", batch);
  g_print ("train_images_per_s %.3f\n", batch / train_s);
  g_print ("infer_images_per_s %.3f\n", batch / infer_s);
  /* Training ≈ 3 × the forward work (forward, backward-data, backward-weights). */
  g_print ("train_gflops %.2f\n", 3 * fwd_flop / train_s / 1e9);
  g_print ("infer_gflops %.2f\n", fwd_flop / infer_s / 1e9);
  if (on_cpu)
    g_print ("sgemm_peak_gflops %.2f\n", sgemm_peak (threads));
  g_print ("train_forward_s %.3f\n", phase[0] / train_steps);
  g_print ("train_loss_s %.3f\n", phase[1] / train_steps);
  g_print ("train_backward_s %.3f\n", phase[2] / train_steps);
  g_print ("train_update_s %.3f\n", phase[3] / train_steps);
  g_print ("final_loss %.4f\n", loss);
  g_print ("train_reorders_per_step %.1f\n", train_reorders);
  g_print ("infer_reorders_per_step %.1f\n", infer_reorders);
  const char *onnx = g_getenv ("KILN_BENCH_ONNX");
  if (onnx != NULL && *onnx && !kiln_onnx_export (net, onnx, &error))
    goto fail;
  /* Per layer, summed over the warm-up and the timed training steps. */
  lines = g_strsplit (profile, "\n", -1);
  for (guint i = 0; lines[i] && lines[i][0]; i++)
    g_print ("layer %s\n", lines[i]);
  return 0;

fail:
  g_printerr ("kiln-bench-net: %s\n", error->message);
  return 1;
}
