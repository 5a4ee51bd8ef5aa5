/* Our own fused kernel: box-sum Laplacian, temporal blocking, OpenMP over row bands.
 *
 * Per cell, the school's Laplacian (8 neighbours, centre -8) is the 3x3 box sum minus 9 x the
 * centre, and the box sum is separable: three rows summed, then three neighbouring column
 * sums. The Euler update is folded into constants computed once by the caller from the
 * model: u' = cu + au u + bu box_u - dt u v v, v' = av v + bv box_v + dt u v v.
 *
 * The row loop works on whole vectors (GCC/clang vector extensions: ymm on AVX2, zmm on
 * AVX-512, the same code on any SIMD): the column sums of the previous, current and next vector stay in
 * registers and their left and right neighbours are made by shuffles, not loads (one
 * vperm2f128 per vector and field, reused by the next vector, and one vpalignr each side).
 * On AVX2: 6 loads, 2 stores, 8 adds, 6 shuffles and 8 multiplies or FMAs per 8 cells; no branch,
 * modulo or indirection in the loop. Compilers without __builtin_shufflevector (gcc < 12)
 * get the two-pass row (a scratch row of column sums, then the update), about 1.6x slower.
 *
 * Temporal blocking: each band of rows advances `depth` steps per call. A wavefront walks
 * down the band; at row s it computes level 1 of row s, level 2 of row s - 1, ..., level
 * `depth` of row s - depth + 1. Levels 1 .. depth - 1 live in rings of three rows per level
 * (slot = row % 3, chosen once per row, not per cell); main memory sees one read of (u, v)
 * and one write of (u2, v2) per `depth` steps. Bands overlap by depth - 1 rows, recomputed by
 * both neighbours so that threads never wait for each other.
 *
 * Tried and dropped: non-temporal stores for the last level (35 % slower), and column tiles (each level's rows cut into 128-512 columns widened by
 * depth - level on each side, so that a wave step's rows stay in L1): 1.4-1.8x slower,
 * with or without software prefetch of the next input rows (see benchmarks/NOTES.md).
 *
 * Layout (chosen by the caller): row r of a field starts at base + r * stride, 64-byte
 * aligned; interior column c (0-based) is at offset off + c, so the interior starts on a
 * cache line; the frame columns are at off - 1 and off + cols; the rest of the row is zero
 * padding with room for one whole vector after the last interior one (read, never used).
 * Built with -DREAL=float, or -DREAL=double -DGS_DOUBLE.
 */
#ifndef REAL
#define REAL float
#endif
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

static inline long lmax(long a, long b) { return a > b ? a : b; }
static inline long lmin(long a, long b) { return a < b ? a : b; }

#if !defined(GS_TWO_PASS) && (defined(__clang__) || __GNUC__ >= 12)
/* Vectors of 32 bytes (ymm), or 64 (zmm) where the compiler targets AVX-512 or GS_WIDE asks
 * for it (GCC then splits each operation in two ymm ones: how the wide path is tested on
 * AVX2). LEFT(x, c) and RIGHT(c, x, n) are c shifted by one element, the missing one taken
 * from the previous vector p or the next one n. With two 128-bit lanes (ymm), x is the
 * vector of the lanes straddling two vectors (CROSS: vperm2f128), made once and used by two
 * vectors, and the shifts are in-lane alignments (vpalignr). With four lanes (zmm), the
 * straddling vectors differ on each side, so x is simply p and each shift one valignd. */
#if defined(__AVX512F__) && !defined(GS_NARROW)
#define GS_WIDE
#endif
#if defined(GS_DOUBLE) && !defined(GS_WIDE)
#define LANES 4
#define CROSS(c, n) __builtin_shufflevector(c, n, 2, 3, 4, 5)
#define LEFT(x, c) __builtin_shufflevector(x, c, 1, 4, 3, 6)
#define RIGHT(c, x, n) __builtin_shufflevector(c, x, 1, 4, 3, 6)
#elif !defined(GS_WIDE)
#define LANES 8
#define CROSS(c, n) __builtin_shufflevector(c, n, 4, 5, 6, 7, 8, 9, 10, 11)
#define LEFT(x, c) __builtin_shufflevector(x, c, 3, 8, 9, 10, 7, 12, 13, 14)
#define RIGHT(c, x, n) __builtin_shufflevector(c, x, 1, 2, 3, 8, 5, 6, 7, 12)
#elif defined(GS_DOUBLE)
#define LANES 8
#define CROSS(c, n) (c)
#define LEFT(p, c) __builtin_shufflevector(p, c, 7, 8, 9, 10, 11, 12, 13, 14)
#define RIGHT(c, x, n) __builtin_shufflevector(c, n, 1, 2, 3, 4, 5, 6, 7, 8)
#else
#define LANES 16
#define CROSS(c, n) (c)
#define LEFT(p, c) __builtin_shufflevector(p, c, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, \
                                           26, 27, 28, 29, 30)
#define RIGHT(c, x, n) __builtin_shufflevector(c, n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, \
                                               13, 14, 15, 16)
#endif
#define VBYTES (LANES * (int)sizeof(REAL))
typedef REAL vreal __attribute__((vector_size(LANES * sizeof(REAL))));

/* Next vector q: load it, sum its three rows, then the box sums and the update of vector q. */
#define STEP(q)                                                                             \
    const vreal u_n = C[(q) + 1], v_n = E[(q) + 1];                                         \
    const vreal su_n = A[(q) + 1] + u_n + B[(q) + 1], sv_n = D[(q) + 1] + v_n + F[(q) + 1]; \
    const vreal xu_n = CROSS(su_c, su_n), xv_n = CROSS(sv_c, sv_n);                         \
    const vreal box_u = LEFT(xu_c, su_c) + su_c + RIGHT(su_c, xu_n, su_n);                        \
    const vreal box_v = LEFT(xv_c, sv_c) + sv_c + RIGHT(sv_c, xv_n, sv_n);                        \
    const vreal uvv = u_c * v_c * v_c;                                                      \
    const vreal un = cu + au * u_c + bu * box_u - dt * uvv;                                 \
    const vreal vn = av * v_c + bv * box_v + dt * uvv;                                     \
    (void)xu_n; (void)xv_n;

/* Interior columns [lo, hi) of one row of one level, widened to whole vectors (the caller
 * makes the widening harmless: extra cells land in ring rows, or lo and hi are vector
 * edges); never past the last interior column. */
static void row_update(const REAL *restrict ua, const REAL *restrict uc,
                       const REAL *restrict ub, const REAL *restrict va,
                       const REAL *restrict vc, const REAL *restrict vb,
                       REAL *restrict uo, REAL *restrict vo, REAL *restrict su,
                       REAL *restrict sv, long off, long cols, long lo, long hi,
                       const REAL *restrict k)
{
    (void)su; (void)sv;
    const REAL au = k[0], bu = k[1], cu = k[2], av = k[3], bv = k[4], dt = k[5];
    const vreal *A = __builtin_assume_aligned(ua + off, VBYTES);
    const vreal *C = __builtin_assume_aligned(uc + off, VBYTES);
    const vreal *B = __builtin_assume_aligned(ub + off, VBYTES);
    const vreal *D = __builtin_assume_aligned(va + off, VBYTES);
    const vreal *E = __builtin_assume_aligned(vc + off, VBYTES);
    const vreal *F = __builtin_assume_aligned(vb + off, VBYTES);
    vreal *U = __builtin_assume_aligned(uo + off, VBYTES);
    vreal *V = __builtin_assume_aligned(vo + off, VBYTES);
    const long q0 = lo / LANES, q1 = (hi + LANES - 1) / LANES, full = lmin(q1, cols / LANES);
    const vreal su_p = A[q0 - 1] + C[q0 - 1] + B[q0 - 1];
    const vreal sv_p = D[q0 - 1] + E[q0 - 1] + F[q0 - 1];
    vreal u_c = C[q0], v_c = E[q0];
    vreal su_c = A[q0] + u_c + B[q0], sv_c = D[q0] + v_c + F[q0];
    vreal xu_c = CROSS(su_p, su_c), xv_c = CROSS(sv_p, sv_c);
    long q = q0;
#pragma GCC unroll 2
    for (; q < full; q++) {
        STEP(q)
        U[q] = un;
        V[q] = vn;
        su_c = su_n; sv_c = sv_n; xu_c = xu_n; xv_c = xv_n; u_c = u_n; v_c = v_n;
    }
    if (q < q1) {  /* the last, partial vector: its interior lanes only (never for 1920) */
        STEP(q)
        for (long l = 0; l < cols - q * LANES; l++) {
            uo[off + q * LANES + l] = un[l];
            vo[off + q * LANES + l] = vn[l];
        }
    }
}
#else
/* Two passes: column sums of [lo - 1, hi + 1) into the scratch rows, then the update. */
static void row_update(const REAL *restrict ua, const REAL *restrict uc,
                       const REAL *restrict ub, const REAL *restrict va,
                       const REAL *restrict vc, const REAL *restrict vb,
                       REAL *restrict uo, REAL *restrict vo, REAL *restrict su,
                       REAL *restrict sv, long off, long cols, long lo, long hi,
                       const REAL *restrict k)
{
    (void)cols;
    const REAL au = k[0], bu = k[1], cu = k[2], av = k[3], bv = k[4], dt = k[5];
    for (long j = off + lo - 1; j < off + hi + 1; j++) {
        su[j] = ua[j] + uc[j] + ub[j];
        sv[j] = va[j] + vc[j] + vb[j];
    }
    for (long j = off + lo; j < off + hi; j++) {
        const REAL u = uc[j], v = vc[j], uvv = u * v * v;
        const REAL box_u = su[j - 1] + su[j] + su[j + 1];
        const REAL box_v = sv[j - 1] + sv[j] + sv[j + 1];
        uo[j] = cu + au * u + bu * box_u - dt * uvv;
        vo[j] = av * v + bv * box_v + dt * uvv;
    }
}
#endif

/* `depth` steps of (u, v) into (u2, v2). bands[0..nbands] are interior row edges (1-based);
 * rings: per band,
 * max(depth - 1, 1) levels x 3 slots x 2 fields x stride; scratch: per band, 2 x stride.
 * k: au, bu, cu, av, bv, dt. */
void gs_sweep(const REAL *u, const REAL *v, REAL *u2, REAL *v2, REAL *rings, REAL *scratch,
              const long *bands, int nbands, int depth, long rows, long cols, long off,
              long stride, const REAL *k, int threads)
{
    const long last = rows + 1;  /* the bottom frame row */
    const long level = 6 * stride;
#ifndef _OPENMP
    (void)threads;
#endif
    #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int b = 0; b < nbands; b++) {
#if defined(__SSE__) && !defined(GS_KEEP_DENORMALS)
        /* Flush denormals to zero (FTZ + DAZ) in this thread while it computes, restored
         * below: v decays to ~1e-38 ahead of the front, and denormal operands cost
         * microcode assists. */
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
                row_update(ua, uc, ub, va, vc, vb, uo, vo, su, sv, off, cols, 0, cols, k);
            }
        }
#if defined(__SSE__) && !defined(GS_KEEP_DENORMALS)
        _mm_setcsr(csr);
#endif
    }
}
