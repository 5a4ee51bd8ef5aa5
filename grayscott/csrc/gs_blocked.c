/* Our own fused kernel: box-sum Laplacian, temporal blocking, OpenMP over row bands.
 *
 * Per cell, the school's Laplacian (8 neighbours, centre -8) is the 3x3 box sum minus 9 x the
 * centre, and the box sum is separable: a vertical pass sums three rows into a scratch row
 * (once per row, reused by the three columns that need it), a horizontal pass adds three
 * neighbouring vertical sums. The Euler update is folded into constants computed once by the
 * caller from the model: u' = au u + bu box_u - dt u v v + cu, v' = av v + bv box_v + dt u v v.
 * Both passes are unit-stride loops over aligned rows with no branch, modulo or indirection,
 * which gcc turns into packed ymm (AVX2) or zmm arithmetic with fused multiply-adds.
 *
 * Temporal blocking: each band of rows advances `depth` steps per call. A wavefront walks
 * down the band; at row s it computes level 1 of row s, level 2 of row s - 1, ..., level
 * `depth` of row s - depth + 1. Levels 1 .. depth - 1 live in rings of three rows per level
 * (slot = row % 3, chosen once per row, not per cell), small enough for the core's L2; main
 * memory sees one read of (u, v) and one write of (u2, v2) per `depth` steps. Bands overlap by
 * depth - 1 rows, recomputed by both neighbours so that threads never wait for each other.
 *
 * Layout (chosen by the caller): row r of a field starts at base + r * stride, 64-byte
 * aligned; interior column j (1-based) is at offset off + j - 1, so the interior starts on a
 * cache line; the frame columns are at off - 1 and off + cols; the rest of the row is zero
 * padding, read by the vertical pass (so that it covers whole aligned rows) and never used.
 * Built with -DREAL=float or -DREAL=double.
 */
#ifndef REAL
#define REAL float
#endif

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

static inline long lmax(long a, long b) { return a > b ? a : b; }
static inline long lmin(long a, long b) { return a < b ? a : b; }

/* One row of one level: the centre rows (uc, vc) with the rows above (ua, va) and below. */
static void row_update(const REAL *restrict ua, const REAL *restrict uc,
                       const REAL *restrict ub, const REAL *restrict va,
                       const REAL *restrict vc, const REAL *restrict vb,
                       REAL *restrict uo, REAL *restrict vo,
                       REAL *restrict su, REAL *restrict sv,
                       long off, long cols, long stride, const REAL *restrict k)
{
    const REAL au = k[0], bu = k[1], cu = k[2], av = k[3], bv = k[4], dt = k[5];
    ua = __builtin_assume_aligned(ua, 64); uc = __builtin_assume_aligned(uc, 64);
    ub = __builtin_assume_aligned(ub, 64); va = __builtin_assume_aligned(va, 64);
    vc = __builtin_assume_aligned(vc, 64); vb = __builtin_assume_aligned(vb, 64);
    su = __builtin_assume_aligned(su, 64); sv = __builtin_assume_aligned(sv, 64);
    uo = __builtin_assume_aligned(uo, 64); vo = __builtin_assume_aligned(vo, 64);
    for (long j = 0; j < stride; j++) {
        su[j] = ua[j] + uc[j] + ub[j];
        sv[j] = va[j] + vc[j] + vb[j];
    }
    for (long j = off; j < off + cols; j++) {
        const REAL u = uc[j], v = vc[j], uvv = u * v * v;
        const REAL box_u = su[j - 1] + su[j] + su[j + 1];
        const REAL box_v = sv[j - 1] + sv[j] + sv[j + 1];
        uo[j] = au * u + bu * box_u - dt * uvv + cu;
        vo[j] = av * v + bv * box_v + dt * uvv;
    }
}

/* `depth` steps of (u, v) into (u2, v2). bands[0..nbands] are interior row edges (1-based);
 * rings: per band, max(depth - 1, 1) levels x 3 slots x 2 fields x stride; scratch: per
 * band, 2 x stride. k: au, bu, cu, av, bv, dt. */
void gs_sweep(const REAL *u, const REAL *v, REAL *u2, REAL *v2, REAL *rings, REAL *scratch,
              const long *bands, int nbands, int depth, long rows, long cols, long off,
              long stride, const REAL *k, int threads)
{
    const long last = rows + 1;  /* the bottom frame row */
    const long level = 6 * stride;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int b = 0; b < nbands; b++) {
#if defined(__SSE__) && !defined(GS_KEEP_DENORMALS)
        /* Flush denormals to zero (FTZ + DAZ) in this thread while it computes, restored
         * below: v decays to ~1e-38 ahead of the front, and each denormal operand costs a
         * microcode assist that made late steps up to 2x slower. */
        const unsigned int csr = _mm_getcsr();
        _mm_setcsr(csr | 0x8040);
#endif
        const long r0 = bands[b], r1 = bands[b + 1];
        REAL *ring = rings + (long)b * lmax(depth - 1, 1) * level;
        REAL *su = scratch + (long)b * 2 * stride, *sv = su + stride;
        const long s_end = lmin(last, r1 + depth - 1) + depth - 1;
        for (long s = lmax(1, r0 - depth + 1); s < s_end; s++) {
            for (int kk = 1; kk <= depth; kk++) {
                const long i = s - kk + 1;
                if (i < lmax(1, r0 - depth + kk) || i >= lmin(last, r1 + depth - kk))
                    continue;
                const REAL *ua, *uc, *ub, *va, *vc, *vb;
                if (kk == 1) {
                    ua = u + (i - 1) * stride; uc = u + i * stride; ub = u + (i + 1) * stride;
                    va = v + (i - 1) * stride; vc = v + i * stride; vb = v + (i + 1) * stride;
                } else {  /* level kk - 1 from its ring; frame rows from the input */
                    const REAL *in = ring + (long)(kk - 2) * level;
                    ua = i == 1 ? u : in + ((i - 1) % 3) * 2 * stride;
                    va = i == 1 ? v : in + ((i - 1) % 3) * 2 * stride + stride;
                    uc = in + (i % 3) * 2 * stride;
                    vc = uc + stride;
                    ub = i + 1 == last ? u + last * stride : in + ((i + 1) % 3) * 2 * stride;
                    vb = i + 1 == last ? v + last * stride
                                       : in + ((i + 1) % 3) * 2 * stride + stride;
                }
                REAL *uo, *vo;
                if (kk == depth) {
                    uo = u2 + i * stride; vo = v2 + i * stride;
                } else {
                    uo = ring + (long)(kk - 1) * level + (i % 3) * 2 * stride;
                    vo = uo + stride;
                }
                row_update(ua, uc, ub, va, vc, vb, uo, vo, su, sv, off, cols, stride, k);
            }
        }
#if defined(__SSE__) && !defined(GS_KEEP_DENORMALS)
        _mm_setcsr(csr);
#endif
    }
}
