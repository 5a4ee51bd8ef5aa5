/* c-blocked's row update alone, one thread, on row sets of a chosen total size: how many
 * ns per cell the arithmetic costs when its rows sit in L1, L2, L3 or memory.
 *
 *   gcc -O3 -march=native -std=gnu11 benchmarks/kernels/row_bench.c -o /tmp/row_bench
 *   /tmp/row_bench COLS ROWSETS     (one row set: 6 input rows + 2 output rows of COLS)
 *
 * Thread CPU time, so that other work on a shared machine inflates it less than wall time.
 * Numbers and what they say: benchmarks/NOTES.md, section 6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../grayscott/csrc/gs_blocked.c"

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const long cols = argc > 1 ? atol(argv[1]) : 1920, sets = argc > 2 ? atol(argv[2]) : 1;
    if (cols < 8 || sets < 1) {
        fprintf(stderr, "usage: %s COLS>=8 ROWSETS>=1\n", argv[0]);
        return 2;
    }
    const long off = 64 / (long)sizeof(REAL), stride = off * ((cols + off - 1) / off + 2);
    const long n = stride * 8 * sets;
    REAL *buf = aligned_alloc(64, sizeof(REAL) * (size_t)n);
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (long i = 0; i < n; i++)
        buf[i] = (REAL)(0.5 + 0.001 * (double)(i % 7));
    const REAL k[6] = {0.086f, 0.1f, 0.014f, 0.482f, 0.05f, 1.0f};
    const long reps = 400000000 / (cols * sets) + 1;
    const double start = cpu_seconds();
    for (long r = 0; r < reps; r++)
        for (long s = 0; s < sets; s++) {
            REAL *b = buf + s * 8 * stride;
            row_update(b, b + stride, b + 2 * stride, b + 3 * stride, b + 4 * stride,
                       b + 5 * stride, b + 6 * stride, b + 7 * stride, NULL, NULL, off, cols, 0,
                       cols, k);
        }
    const double took = cpu_seconds() - start;
    printf("cols %ld, %ld row sets (%.0f kB): %.3f ns/cell\n", cols, sets,
           (double)(n * (long)sizeof(REAL)) / 1024, 1e9 * took / (double)(reps * sets * cols));
    free(buf);
    return 0;
}
