/* The C reference kernel.
 *
 * Newton's third law (each pair i < j once, its force added to i and taken from j) halves
 * the work, and structure-of-arrays copies (x, y, z, ax, ay, az) let the compiler run the
 * inner loop four pairs at a time with AVX2. Compiled with the flags in the top-level
 * meson.build (-O3, fast-math without finite-math-only, -march=native when enabled).
 */
#include "nbody.h"

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

/* ax, ay, az = the accelerations of the n bodies at x, y, z. */
static void accelerations(ptrdiff_t n, const double *x, const double *y, const double *z,
                          const double *m, double *ax, double *ay, double *az)
{
    memset(ax, 0, (size_t)n * sizeof(double));
    memset(ay, 0, (size_t)n * sizeof(double));
    memset(az, 0, (size_t)n * sizeof(double));
    for (ptrdiff_t i = 0; i < n; i++)
        pair_row(i, n, x, y, z, m, ax, ay, az);
}

int nbody_derivatives(ptrdiff_t n, const double *state, const double *mass, double *rate)
{
    double *buffer = malloc(6 * (size_t)n * sizeof(double));
    if (buffer == NULL)
        return -1;
    double *x = buffer, *y = x + n, *z = y + n, *ax = z + n, *ay = ax + n, *az = ay + n;
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = state[3 * i];
        y[i] = state[3 * i + 1];
        z[i] = state[3 * i + 2];
    }
    accelerations(n, x, y, z, mass, ax, ay, az);

    memcpy(rate, state + 3 * n, 3 * (size_t)n * sizeof(double));
    double *acc = rate + 3 * n;
    for (ptrdiff_t i = 0; i < n; i++) {
        acc[3 * i] = ax[i];
        acc[3 * i + 1] = ay[i];
        acc[3 * i + 2] = az[i];
    }
    free(buffer);
    return 0;
}

int nbody_integrate(ptrdiff_t n, const double *initial, const double *mass, const double *steps,
                    const ptrdiff_t *frame_ends, ptrdiff_t nframes, double *frames)
{
    /* The state stays in structure-of-arrays form for the whole run: y and mid hold
     * x, y, z, vx, vy, vz; acc holds ax, ay, az. */
    double *buffer = malloc(15 * (size_t)n * sizeof(double));
    if (buffer == NULL)
        return -1;
    double *y = buffer, *mid = y + 6 * n, *acc = mid + 6 * n;
    for (int c = 0; c < 3; c++) {
        for (ptrdiff_t i = 0; i < n; i++) {
            y[c * n + i] = initial[3 * i + c];
            y[(3 + c) * n + i] = initial[3 * (n + i) + c];
        }
    }
    /* The Python loop's arithmetic, step for step (kernels.integrate.run_rk2). */
    ptrdiff_t start = 0;
    for (ptrdiff_t k = 0; k < nframes; k++) {
        for (ptrdiff_t s = start; s < frame_ends[k]; s++) {
            const double h = steps[s], half = 0.5 * h;
            accelerations(n, y, y + n, y + 2 * n, mass, acc, acc + n, acc + 2 * n);
            for (ptrdiff_t i = 0; i < 3 * n; i++) {
                mid[i] = y[i] + y[3 * n + i] * half;
                mid[3 * n + i] = y[3 * n + i] + acc[i] * half;
            }
            accelerations(n, mid, mid + n, mid + 2 * n, mass, acc, acc + n, acc + 2 * n);
            for (ptrdiff_t i = 0; i < 3 * n; i++) {
                y[i] = y[i] + mid[3 * n + i] * h;
                y[3 * n + i] = y[3 * n + i] + acc[i] * h;
            }
        }
        start = frame_ends[k];
        double *frame = frames + 3 * n * k;
        for (ptrdiff_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                frame[3 * i + c] = y[c * n + i];
    }
    free(buffer);
    return 0;
}
