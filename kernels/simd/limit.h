/* The limit kernel: the fastest float64 derivative this project builds for the CPU it runs on.
 *
 * Structure-of-arrays bodies, an explicit SIMD pair loop per instruction set (AVX-512,
 * AVX2 with FMA, and a portable C loop), the fastest timed at run time, and 1/r^3 from the CPU's
 * reciprocal-square-root estimate refined by Newton-Raphson steps instead of a square
 * root and a division. See docs/limit.md, "What one pair costs".
 */
#ifndef NBODY_LIMIT_H
#define NBODY_LIMIT_H

#include <stddef.h>

/* The kernel's variants. "rsqrt": every pair's 1/r^3 from the estimate; "mixed": one row
 * of each two from the square root and division, on the CPU's divider, which then works
 * beside the multiply-add units (the faster where the divider is fast, as on AMD Zen 5). */
enum nbody_variant {
    NBODY_AVX512_RSQRT,
    NBODY_AVX512_MIXED,
    NBODY_AVX2_RSQRT,
    NBODY_AVX2_MIXED,
    NBODY_PORTABLE,
    NBODY_VARIANTS
};

/* The fastest variant on this CPU, timed on first use (a few milliseconds) and kept. */
int nbody_limit_best(void);
const char *nbody_limit_variant_name(int variant);
/* Whether this build holds the code for `variant` and this CPU can run it. */
int nbody_limit_runs(int variant);
/* Whether this build can use several threads (compiled with OpenMP). */
int nbody_limit_has_threads(void);

/* rate (2, n, 3) = (velocities, accelerations) for positions pos and velocities vel, each
 * (n, 3), C order. threads: 1 for one thread, 0 for OpenMP's default (every core).
 * Returns 0, or -1 when out of memory. */
int nbody_limit_derivatives(int variant, int threads, ptrdiff_t n, const double *pos,
                            const double *vel, const double *mass, double *rate);

/* Rows [first, last) of the pair triangle (each pair i < j once) for structure-of-arrays
 * positions x, y, z and masses m of n bodies: adds every force of those pairs into ax,
 * ay, az (length n), on both bodies of each pair. Splitting 0..n into row ranges and
 * summing what each adds gives the accelerations. */
void nbody_limit_rows(int variant, ptrdiff_t n, const double *x, const double *y, const double *z,
                      const double *m, ptrdiff_t first, ptrdiff_t last, double *ax, double *ay,
                      double *az);

/* The whole midpoint-RK2 run (kernels.integrate.schedule's steps and frame ends): frame k
 * is recorded after step frame_ends[k] - 1. Returns 0, or -1 when out of memory. */
int nbody_limit_integrate(int variant, int threads, ptrdiff_t n, const double *initial,
                          const double *mass, const double *steps, const ptrdiff_t *frame_ends,
                          ptrdiff_t nframes, double *frames);

#endif
