/* The C reference kernel.
 *
 * Newton's third law (each pair i < j once, its force added to i and taken from j) halves
 * the work, and structure-of-arrays copies (x, y, z, ax, ay, az) let the compiler run the
 * inner loop four pairs at a time with AVX2. Compiled with the flags in the top-level
 * meson.build (-O3, fast-math without finite-math-only, -march=native when enabled).
 */
#include "nbody.h"
#include "soa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row i of the pair triangle. `restrict` tells the compiler the output arrays do not
 * overlap the inputs, which is what lets it vectorize the updates of ax[j..]. */
static void pair_row(ptrdiff_t i, ptrdiff_t n,
                     const double *restrict x, const double *restrict y,
                     const double *restrict z, const double *restrict m,
                     double *restrict ax, double *restrict ay, double *restrict az)
{
    const double xi = x[i], yi = y[i], zi = z[i], mi = m[i];
    double sx = 0.0, sy = 0.0, sz = 0.0;
    for (ptrdiff_t j = i + 1; j < n; j++) {
        const double dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
        const double r2 = dx * dx + dy * dy + dz * dz;
        const double s = 1.0 / (r2 * sqrt(r2));
        const double sj = m[j] * s, si = mi * s;
        sx += sj * dx;
        sy += sj * dy;
        sz += sj * dz;
        ax[j] -= si * dx;
        ay[j] -= si * dy;
        az[j] -= si * dz;
    }
    ax[i] += sx;
    ay[i] += sy;
    az[i] += sz;
}

/* ax, ay, az = the accelerations of the n bodies at x, y, z (soa.h's accelerations). */
static void accelerations(const void *context, ptrdiff_t n, const double *x, const double *y,
                          const double *z, const double *m, double *ax, double *ay, double *az)
{
    (void)context;
    memset(ax, 0, (size_t)n * sizeof(double));
    memset(ay, 0, (size_t)n * sizeof(double));
    memset(az, 0, (size_t)n * sizeof(double));
    for (ptrdiff_t i = 0; i < n; i++)
        pair_row(i, n, x, y, z, m, ax, ay, az);
}

int nbody_derivatives(ptrdiff_t n, const double *pos, const double *vel, const double *mass,
                      double *rate)
{
    return soa_derivatives(n, pos, vel, mass, rate, accelerations, NULL);
}

int nbody_integrate(ptrdiff_t n, const double *initial, const double *mass, const double *steps,
                    const ptrdiff_t *frame_ends, ptrdiff_t nframes, double *frames)
{
    return soa_integrate(n, initial, mass, steps, frame_ends, nframes, frames, accelerations,
                         NULL);
}
