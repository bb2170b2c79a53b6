#include <math.h>
#include <string.h>

#include "kiln-reference.h"

#define AT(s_, b_, c_, y_, x_) ((((gint64) (b_) * (s_)->c + (c_)) * (s_)->h + (y_)) * (s_)->w + (x_))

static void
relu_mask (const KilnOpDesc *d, const double *y, const double *dy, double *out)
{
  gint64 n = kiln_shape_n_elements (&d->output);
  for (gint64 i = 0; i < n; i++)
    out[i] = d->fuse_relu && !(y[i] > 0) ? 0 : dy[i];
}

/* ---- convolution ---- */

static void
conv_forward (const KilnOpDesc *d, const double *x, const double *w, const double *bias, double *y)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *is = &d->inputs[0], *os = &d->output;
  int g = l->group, icg = is->c / g, ocg = os->c / g;

  for (int b = 0; b < os->n; b++)
    for (int oc = 0; oc < os->c; oc++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            int grp = oc / ocg;
            double acc = bias ? bias[oc] : 0;
            for (int ic = 0; ic < icg; ic++)
              for (int ky = 0; ky < l->kernel_h; ky++)
                for (int kx = 0; kx < l->kernel_w; kx++)
                  {
                    int iy = oy * l->stride_h - l->pad_top + ky * l->dilation_h;
                    int ix = ox * l->stride_w - l->pad_left + kx * l->dilation_w;
                    if (iy < 0 || iy >= is->h || ix < 0 || ix >= is->w)
                      continue;
                    acc += x[AT (is, b, grp * icg + ic, iy, ix)] *
                           w[(((gint64) oc * icg + ic) * l->kernel_h + ky) * l->kernel_w + kx];
                  }
            y[AT (os, b, oc, oy, ox)] = d->fuse_relu && acc < 0 ? 0 : acc;
          }
}

static void
conv_backward (const KilnOpDesc *d, const double *x, const double *w, const double *dy,
               double *dx, double *dw, double *db)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *is = &d->inputs[0], *os = &d->output;
  int g = l->group, icg = is->c / g, ocg = os->c / g;

  if (dx)
    memset (dx, 0, kiln_shape_n_elements (is) * sizeof (double));
  if (dw)
    memset (dw, 0, (gint64) os->c * icg * l->kernel_h * l->kernel_w * sizeof (double));
  if (db)
    memset (db, 0, os->c * sizeof (double));

  for (int b = 0; b < os->n; b++)
    for (int oc = 0; oc < os->c; oc++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            int grp = oc / ocg;
            double gy = dy[AT (os, b, oc, oy, ox)];
            if (db)
              db[oc] += gy;
            for (int ic = 0; ic < icg; ic++)
              for (int ky = 0; ky < l->kernel_h; ky++)
                for (int kx = 0; kx < l->kernel_w; kx++)
                  {
                    int iy = oy * l->stride_h - l->pad_top + ky * l->dilation_h;
                    int ix = ox * l->stride_w - l->pad_left + kx * l->dilation_w;
                    if (iy < 0 || iy >= is->h || ix < 0 || ix >= is->w)
                      continue;
                    gint64 wi = (((gint64) oc * icg + ic) * l->kernel_h + ky) * l->kernel_w + kx;
                    gint64 xi = AT (is, b, grp * icg + ic, iy, ix);
                    if (dx)
                      dx[xi] += w[wi] * gy;
                    if (dw)
                      dw[wi] += x[xi] * gy;
                  }
          }
}

/* ---- inner product: y[b, o] = Σ_chw W[o, chw] x[b, chw] + bias[o] ---- */

static void
ip_forward (const KilnOpDesc *d, const double *x, const double *w, const double *bias, double *y)
{
  gint64 k = (gint64) d->inputs[0].c * d->inputs[0].h * d->inputs[0].w;
  int n = d->output.n, o = d->output.c;
  for (int b = 0; b < n; b++)
    for (int j = 0; j < o; j++)
      {
        double acc = bias ? bias[j] : 0;
        for (gint64 i = 0; i < k; i++)
          acc += w[j * k + i] * x[b * k + i];
        y[(gint64) b * o + j] = d->fuse_relu && acc < 0 ? 0 : acc;
      }
}

static void
ip_backward (const KilnOpDesc *d, const double *x, const double *w, const double *dy,
             double *dx, double *dw, double *db)
{
  gint64 k = (gint64) d->inputs[0].c * d->inputs[0].h * d->inputs[0].w;
  int n = d->output.n, o = d->output.c;
  if (dx)
    for (int b = 0; b < n; b++)
      for (gint64 i = 0; i < k; i++)
        {
          double acc = 0;
          for (int j = 0; j < o; j++)
            acc += w[j * k + i] * dy[(gint64) b * o + j];
          dx[b * k + i] = acc;
        }
  if (dw)
    for (int j = 0; j < o; j++)
      for (gint64 i = 0; i < k; i++)
        {
          double acc = 0;
          for (int b = 0; b < n; b++)
            acc += x[b * k + i] * dy[(gint64) b * o + j];
          dw[j * k + i] = acc;
        }
  if (db)
    for (int j = 0; j < o; j++)
      {
        double acc = 0;
        for (int b = 0; b < n; b++)
          acc += dy[(gint64) b * o + j];
        db[j] = acc;
      }
}

/* ---- pooling ---- */

typedef struct {
  int kh, kw, sh, sw, pt, pl, pb, pr;
  gboolean max, include_pad;
} Pool;

static Pool
pool_of (const KilnOpDesc *d)
{
  const KilnLayerSpec *l = d->layer;
  if (l->type == KILN_LAYER_GLOBAL_AVG_POOL)
    return (Pool) { d->inputs[0].h, d->inputs[0].w, 1, 1, 0, 0, 0, 0, FALSE, FALSE };
  return (Pool) { l->kernel_h, l->kernel_w, l->stride_h, l->stride_w, l->pad_top, l->pad_left,
                  l->pad_bottom, l->pad_right, l->type == KILN_LAYER_MAX_POOL,
                  l->count_include_pad };
}

/* Walks one window; for max, returns the input index of the maximum. */
static double
pool_window (const KilnOpDesc *d, const Pool *p, const double *x, int b, int c, int oy, int ox,
             gint64 *argmax, double *divisor)
{
  const KilnShape *is = &d->inputs[0];
  double acc = p->max ? -INFINITY : 0;
  int count = 0;
  *argmax = -1;
  for (int ky = 0; ky < p->kh; ky++)
    for (int kx = 0; kx < p->kw; kx++)
      {
        int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
        if (iy < 0 || iy >= is->h || ix < 0 || ix >= is->w)
          continue;
        gint64 i = AT (is, b, c, iy, ix);
        count++;
        if (p->max)
          {
            if (x[i] > acc)
              {
                acc = x[i];
                *argmax = i;
              }
          }
        else
          acc += x[i];
      }
  /* Counting padding: the window clipped to the padded input (Caffe). */
  if (p->include_pad)
    {
      int y0 = oy * p->sh - p->pt, x0 = ox * p->sw - p->pl;
      int y1 = MIN (y0 + p->kh, is->h + p->pb), x1 = MIN (x0 + p->kw, is->w + p->pr);
      *divisor = (double) (y1 - y0) * (x1 - x0);
    }
  else
    *divisor = count;
  return acc;
}

static void
pool_forward (const KilnOpDesc *d, const double *x, double *y)
{
  const KilnShape *os = &d->output;
  Pool p = pool_of (d);
  for (int b = 0; b < os->n; b++)
    for (int c = 0; c < os->c; c++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            gint64 arg;
            double div;
            double v = pool_window (d, &p, x, b, c, oy, ox, &arg, &div);
            y[AT (os, b, c, oy, ox)] = p.max ? v : v / div;
          }
}

static void
pool_backward (const KilnOpDesc *d, const double *x, const double *dy, double *dx)
{
  const KilnShape *is = &d->inputs[0], *os = &d->output;
  Pool p = pool_of (d);
  memset (dx, 0, kiln_shape_n_elements (is) * sizeof (double));
  for (int b = 0; b < os->n; b++)
    for (int c = 0; c < os->c; c++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            gint64 arg;
            double div;
            double g = dy[AT (os, b, c, oy, ox)];
            pool_window (d, &p, x, b, c, oy, ox, &arg, &div);
            if (p.max)
              {
                if (arg >= 0)
                  dx[arg] += g;
                continue;
              }
            for (int ky = 0; ky < p.kh; ky++)
              for (int kx = 0; kx < p.kw; kx++)
                {
                  int iy = oy * p.sh - p.pt + ky, ix = ox * p.sw - p.pl + kx;
                  if (iy >= 0 && iy < is->h && ix >= 0 && ix < is->w)
                    dx[AT (is, b, c, iy, ix)] += g / div;
                }
          }
}

/* ---- LRN across channels: y = x / (k + alpha/n Σ_window x²)^beta ---- */

static double
lrn_scale (const KilnOpDesc *d, const double *x, int b, int c, int yy, int xx)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *s = &d->inputs[0];
  int half = (l->local_size - 1) / 2;
  double sum = 0;
  for (int j = MAX (0, c - half); j <= MIN (s->c - 1, c + half); j++)
    {
      double v = x[AT (s, b, j, yy, xx)];
      sum += v * v;
    }
  return l->k + l->alpha / l->local_size * sum;
}

static void
lrn_forward (const KilnOpDesc *d, const double *x, double *y)
{
  const KilnShape *s = &d->inputs[0];
  for (int b = 0; b < s->n; b++)
    for (int c = 0; c < s->c; c++)
      for (int yy = 0; yy < s->h; yy++)
        for (int xx = 0; xx < s->w; xx++)
          y[AT (s, b, c, yy, xx)] =
            x[AT (s, b, c, yy, xx)] * pow (lrn_scale (d, x, b, c, yy, xx), -d->layer->beta);
}

static void
lrn_backward (const KilnOpDesc *d, const double *x, const double *dy, double *dx)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *s = &d->inputs[0];
  int half = (l->local_size - 1) / 2;
  double beta = l->beta, a = l->alpha / l->local_size;
  for (int b = 0; b < s->n; b++)
    for (int c = 0; c < s->c; c++)
      for (int yy = 0; yy < s->h; yy++)
        for (int xx = 0; xx < s->w; xx++)
          {
            gint64 i = AT (s, b, c, yy, xx);
            double g = dy[i] * pow (lrn_scale (d, x, b, c, yy, xx), -beta);
            /* x_c appears in the sums of every channel j whose window holds c. */
            for (int j = MAX (0, c - half); j <= MIN (s->c - 1, c + half); j++)
              {
                gint64 k = AT (s, b, j, yy, xx);
                double sj = lrn_scale (d, x, b, j, yy, xx);
                g -= dy[k] * x[k] * beta * pow (sj, -beta - 1) * 2 * a * x[i];
              }
            dx[i] = g;
          }
}

/* ---- softmax over channels ---- */

static void
softmax_forward (const KilnOpDesc *d, const double *x, double *y)
{
  const KilnShape *s = &d->inputs[0];
  for (int b = 0; b < s->n; b++)
    for (int yy = 0; yy < s->h; yy++)
      for (int xx = 0; xx < s->w; xx++)
        {
          double max = -INFINITY, sum = 0;
          for (int c = 0; c < s->c; c++)
            max = MAX (max, x[AT (s, b, c, yy, xx)]);
          for (int c = 0; c < s->c; c++)
            sum += exp (x[AT (s, b, c, yy, xx)] - max);
          for (int c = 0; c < s->c; c++)
            y[AT (s, b, c, yy, xx)] = exp (x[AT (s, b, c, yy, xx)] - max) / sum;
        }
}

static void
softmax_backward (const KilnOpDesc *d, const double *x, const double *dy, double *dx)
{
  const KilnShape *s = &d->inputs[0];
  gint64 n = kiln_shape_n_elements (s);
  g_autofree double *y = g_new (double, n);
  softmax_forward (d, x, y);
  for (int b = 0; b < s->n; b++)
    for (int yy = 0; yy < s->h; yy++)
      for (int xx = 0; xx < s->w; xx++)
        {
          double dot = 0;
          for (int c = 0; c < s->c; c++)
            dot += dy[AT (s, b, c, yy, xx)] * y[AT (s, b, c, yy, xx)];
          for (int c = 0; c < s->c; c++)
            {
              gint64 i = AT (s, b, c, yy, xx);
              dx[i] = y[i] * (dy[i] - dot);
            }
        }
}

/* ---- BatchNorm ---- */

static void
bn_stats (const KilnShape *s, const double *x, int c, double *mean, double *var)
{
  double m = 0, v = 0;
  gint64 count = (gint64) s->n * s->h * s->w;
  for (int b = 0; b < s->n; b++)
    for (int i = 0; i < s->h * s->w; i++)
      m += x[AT (s, b, c, 0, 0) + i];
  m /= count;
  for (int b = 0; b < s->n; b++)
    for (int i = 0; i < s->h * s->w; i++)
      {
        double t = x[AT (s, b, c, 0, 0) + i] - m;
        v += t * t;
      }
  *mean = m;
  *var = v / count;
}

static void
bn_forward (const KilnOpDesc *d, const double *x, const double *const *p, double *y, gboolean train)
{
  const KilnShape *s = &d->inputs[0];
  for (int c = 0; c < s->c; c++)
    {
      double mean = p[2][c], var = p[3][c];
      if (train)
        bn_stats (s, x, c, &mean, &var);
      double inv = 1 / sqrt (var + d->layer->epsilon);
      for (int b = 0; b < s->n; b++)
        for (int i = 0; i < s->h * s->w; i++)
          {
            gint64 k = AT (s, b, c, 0, 0) + i;
            y[k] = p[0][c] * (x[k] - mean) * inv + p[1][c];
          }
    }
}

static void
bn_backward (const KilnOpDesc *d, const double *x, const double *const *p, const double *dy,
             double *dx, double *dscale, double *dshift)
{
  const KilnShape *s = &d->inputs[0];
  double m = (double) s->n * s->h * s->w;
  for (int c = 0; c < s->c; c++)
    {
      double mean, var, sum_dy = 0, sum_dy_xhat = 0;
      bn_stats (s, x, c, &mean, &var);
      double inv = 1 / sqrt (var + d->layer->epsilon);
      for (int b = 0; b < s->n; b++)
        for (int i = 0; i < s->h * s->w; i++)
          {
            gint64 k = AT (s, b, c, 0, 0) + i;
            sum_dy += dy[k];
            sum_dy_xhat += dy[k] * (x[k] - mean) * inv;
          }
      if (dscale)
        dscale[c] = sum_dy_xhat;
      if (dshift)
        dshift[c] = sum_dy;
      if (dx)
        for (int b = 0; b < s->n; b++)
          for (int i = 0; i < s->h * s->w; i++)
            {
              gint64 k = AT (s, b, c, 0, 0) + i;
              double xhat = (x[k] - mean) * inv;
              dx[k] = p[0][c] * inv * (dy[k] - sum_dy / m - xhat * sum_dy_xhat / m);
            }
    }
}

/* ---- dispatch ---- */

/* Input index that padded index @o reads along an axis of @n, or −1: edge
 * clamps, reflect bounces off the end samples until it lands inside. */
static int
ref_pad_index (KilnPadMode mode, int o, int before, int n)
{
  int i = o - before;

  if (mode == KILN_PAD_CONSTANT)
    return i >= 0 && i < n ? i : -1;
  if (mode == KILN_PAD_EDGE)
    return CLAMP (i, 0, n - 1);
  while (i < 0 || i >= n)
    i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

static void
pad_forward (const KilnOpDesc *d, const double *x, double *y)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *is = &d->inputs[0], *os = &d->output;

  for (int b = 0; b < os->n; b++)
    for (int c = 0; c < os->c; c++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            int iy = ref_pad_index (l->pad_mode, oy, l->pad_top, is->h);
            int ix = ref_pad_index (l->pad_mode, ox, l->pad_left, is->w);
            y[AT (os, b, c, oy, ox)] = iy < 0 || ix < 0 ? l->pad_value : x[AT (is, b, c, iy, ix)];
          }
}

static void
pad_backward (const KilnOpDesc *d, const double *dy, double *dx)
{
  const KilnLayerSpec *l = d->layer;
  const KilnShape *is = &d->inputs[0], *os = &d->output;

  memset (dx, 0, kiln_shape_n_elements (is) * sizeof (double));
  for (int b = 0; b < os->n; b++)
    for (int c = 0; c < os->c; c++)
      for (int oy = 0; oy < os->h; oy++)
        for (int ox = 0; ox < os->w; ox++)
          {
            int iy = ref_pad_index (l->pad_mode, oy, l->pad_top, is->h);
            int ix = ref_pad_index (l->pad_mode, ox, l->pad_left, is->w);
            if (iy >= 0 && ix >= 0)
              dx[AT (is, b, c, iy, ix)] += dy[AT (os, b, c, oy, ox)];
          }
}

void
kiln_ref_forward (const KilnOpDesc    *d,
                  const double *const *src,
                  const double *const *params,
                  double              *dst,
                  gboolean             train,
                  guint64              seed)
{
  const KilnLayerSpec *l = d->layer;
  gint64 n = kiln_shape_n_elements (&d->output);

  switch (l->type)
    {
    case KILN_LAYER_CONVOLUTION:
      conv_forward (d, src[0], params[0], l->bias ? params[1] : NULL, dst);
      break;
    case KILN_LAYER_INNER_PRODUCT:
      ip_forward (d, src[0], params[0], l->bias ? params[1] : NULL, dst);
      break;
    case KILN_LAYER_RELU:
      for (gint64 i = 0; i < n; i++)
        dst[i] = src[0][i] > 0 ? src[0][i] : 0;
      break;
    case KILN_LAYER_LRN:
      lrn_forward (d, src[0], dst);
      break;
    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
    case KILN_LAYER_GLOBAL_AVG_POOL:
      pool_forward (d, src[0], dst);
      break;
    case KILN_LAYER_SOFTMAX:
      softmax_forward (d, src[0], dst);
      break;
    case KILN_LAYER_BATCH_NORM:
      bn_forward (d, src[0], params, dst, train);
      break;
    case KILN_LAYER_DROPOUT:
      for (gint64 i = 0; i < n; i++)
        dst[i] = !train ? src[0][i]
                        : kiln_dropout_keep (seed, i, l->ratio) ? src[0][i] / (1.0 - l->ratio) : 0;
      break;
    case KILN_LAYER_FLATTEN:
      memcpy (dst, src[0], n * sizeof (double));
      break;
    case KILN_LAYER_PAD:
      pad_forward (d, src[0], dst);
      break;
    case KILN_LAYER_ADD:
      for (gint64 i = 0; i < n; i++)
        {
          dst[i] = 0;
          for (guint k = 0; k < d->n_inputs; k++)
            dst[i] += src[k][i];
        }
      break;
    case KILN_LAYER_CONCAT:
      {
        const KilnShape *os = &d->output;
        int c0 = 0;
        for (guint k = 0; k < d->n_inputs; k++)
          {
            const KilnShape *is = &d->inputs[k];
            for (int b = 0; b < is->n; b++)
              for (int c = 0; c < is->c; c++)
                for (int i = 0; i < is->h * is->w; i++)
                  dst[AT (os, b, c0 + c, 0, 0) + i] = src[k][AT (is, b, c, 0, 0) + i];
            c0 += is->c;
          }
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

void
kiln_ref_backward (const KilnOpDesc    *d,
                   const double *const *src,
                   const double *const *params,
                   const double        *diff_dst,
                   double             **diff_src,
                   double             **diff_params,
                   gboolean             train,
                   guint64              seed)
{
  const KilnLayerSpec *l = d->layer;
  gint64 n = kiln_shape_n_elements (&d->output);
  double *dx = diff_src[0];
  double *dw = diff_params ? diff_params[0] : NULL;
  double *db = diff_params && (l->bias || l->type == KILN_LAYER_BATCH_NORM) ? diff_params[1] : NULL;

  switch (l->type)
    {
    case KILN_LAYER_CONVOLUTION:
    case KILN_LAYER_INNER_PRODUCT:
      {
        g_autofree double *y = g_new (double, n);
        g_autofree double *g = g_new (double, n);
        kiln_ref_forward (d, src, params, y, train, seed);
        relu_mask (d, y, diff_dst, g);
        if (l->type == KILN_LAYER_CONVOLUTION)
          conv_backward (d, src[0], params[0], g, dx, dw, db);
        else
          ip_backward (d, src[0], params[0], g, dx, dw, db);
        break;
      }
    case KILN_LAYER_RELU:
      for (gint64 i = 0; i < n; i++)
        dx[i] = src[0][i] > 0 ? diff_dst[i] : 0;
      break;
    case KILN_LAYER_LRN:
      lrn_backward (d, src[0], diff_dst, dx);
      break;
    case KILN_LAYER_MAX_POOL:
    case KILN_LAYER_AVG_POOL:
    case KILN_LAYER_GLOBAL_AVG_POOL:
      pool_backward (d, src[0], diff_dst, dx);
      break;
    case KILN_LAYER_SOFTMAX:
      softmax_backward (d, src[0], diff_dst, dx);
      break;
    case KILN_LAYER_BATCH_NORM:
      bn_backward (d, src[0], params, diff_dst, dx, dw, db);
      break;
    case KILN_LAYER_DROPOUT:
      for (gint64 i = 0; i < n; i++)
        dx[i] = !train ? diff_dst[i]
                       : kiln_dropout_keep (seed, i, l->ratio) ? diff_dst[i] / (1.0 - l->ratio) : 0;
      break;
    case KILN_LAYER_FLATTEN:
      memcpy (dx, diff_dst, n * sizeof (double));
      break;
    case KILN_LAYER_PAD:
      pad_backward (d, diff_dst, dx);
      break;
    case KILN_LAYER_ADD:
      for (guint k = 0; k < d->n_inputs; k++)
        if (diff_src[k])
          memcpy (diff_src[k], diff_dst, n * sizeof (double));
      break;
    case KILN_LAYER_CONCAT:
      {
        const KilnShape *os = &d->output;
        int c0 = 0;
        for (guint k = 0; k < d->n_inputs; k++)
          {
            const KilnShape *is = &d->inputs[k];
            for (int b = 0; b < is->n; b++)
              for (int c = 0; c < is->c; c++)
                for (int i = 0; i < is->h * is->w; i++)
                  if (diff_src[k])
                    diff_src[k][AT (is, b, c, 0, 0) + i] = diff_dst[AT (os, b, c0 + c, 0, 0) + i];
            c0 += is->c;
          }
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

double
kiln_ref_softmax_cross_entropy (const double *x, const int *labels, int n, int c, double *diff)
{
  double total = 0;
  for (int b = 0; b < n; b++)
    {
      const double *row = x + (gint64) b * c;
      double max = -INFINITY, sum = 0;
      for (int j = 0; j < c; j++)
        max = MAX (max, row[j]);
      for (int j = 0; j < c; j++)
        sum += exp (row[j] - max);
      double log_z = max + log (sum);
      total += log_z - row[labels[b]];
      if (diff)
        for (int j = 0; j < c; j++)
          diff[(gint64) b * c + j] = (exp (row[j] - log_z) - (j == labels[b])) / n;
    }
  return total / n;
}
