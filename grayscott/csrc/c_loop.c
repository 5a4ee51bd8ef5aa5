/* The yardstick: a straightforward fused C/OpenMP loop of the school's Gray-Scott step.
 *
 * What a student writes in C: one pass over the padded grid per step, the nine-term
 * Laplacian as the model writes it (eight neighbours minus 8 x the centre) and the model's
 * update, rows shared among OpenMP threads, the two pairs of buffers swapped after each step.
 * No blocking, no algebra: it is the reference our own kernels are measured against.
 * The row is a function of its own with `restrict` rows: written inline in the OpenMP loop,
 * gcc 12 left it scalar ("complicated access pattern"), 10x slower than any peer.
 * Built with -DREAL=float or -DREAL=double. Arrays are (rows + 2) x (cols + 2), C order.
 */
#ifndef REAL
#define REAL float
#endif

static void row_step(const REAL *restrict ua, const REAL *restrict uc, const REAL *restrict ub,
                     const REAL *restrict va, const REAL *restrict vc, const REAL *restrict vb,
                     REAL *restrict uo, REAL *restrict vo, long cols,
                     REAL du, REAL dv, REAL feed, REAL kill, REAL dt)
{
    for (long j = 1; j <= cols; j++) {
        REAL lu = ua[j - 1] + ua[j] + ua[j + 1] + uc[j - 1] - 8 * uc[j] + uc[j + 1]
                + ub[j - 1] + ub[j] + ub[j + 1];
        REAL lv = va[j - 1] + va[j] + va[j + 1] + vc[j - 1] - 8 * vc[j] + vc[j + 1]
                + vb[j - 1] + vb[j] + vb[j + 1];
        REAL u = uc[j], v = vc[j], uvv = u * v * v;
        uo[j] = u + dt * (du * lu - uvv + (feed - feed * u));
        vo[j] = v + dt * (dv * lv + uvv - (feed + kill) * v);
    }
}

int gs_loop(REAL *u, REAL *v, REAL *u2, REAL *v2, long rows, long cols, long steps,
            REAL du, REAL dv, REAL feed, REAL kill, REAL dt, int threads)
{
    const long w = cols + 2;
    for (long s = 0; s < steps; s++) {
        #pragma omp parallel for schedule(static) num_threads(threads)
        for (long i = 1; i <= rows; i++)
            row_step(u + (i - 1) * w, u + i * w, u + (i + 1) * w,
                     v + (i - 1) * w, v + i * w, v + (i + 1) * w,
                     u2 + i * w, v2 + i * w, cols, du, dv, feed, kill, dt);
        REAL *t = u; u = u2; u2 = t;
        t = v; v = v2; v2 = t;
    }
    return (int)(steps % 2);
}
