/* What the C kernels share around their pair loops: the copy of the (2, n, 3) state into
 * structure-of-arrays form and back, and the whole midpoint-RK2 run, each written once
 * and handed the kernel's own accelerations function. Included by nbody.c and
 * ../simd/limit.c. */
#ifndef NBODY_SOA_H
#define NBODY_SOA_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ax, ay, az = the accelerations of the n bodies at x, y, z with masses m. */
typedef void soa_accelerations(const void *context, ptrdiff_t n, const double *x,
                               const double *y, const double *z, const double *m, double *ax,
                               double *ay, double *az);

/* rate = (velocities, accelerations) for positions pos and velocities vel, each (n, 3):
 * rate is (2, n, 3). Returns 0, or -1 when out of memory. */
static int soa_derivatives(ptrdiff_t n, const double *pos, const double *vel, const double *mass,
                           double *rate, soa_accelerations *accelerations, const void *context)
{
    double *buffer = malloc(6 * (size_t)n * sizeof(double));
    if (buffer == NULL)
        return -1;
    double *x = buffer, *y = x + n, *z = y + n, *ax = z + n, *ay = ax + n, *az = ay + n;
    for (ptrdiff_t i = 0; i < n; i++) {
        x[i] = pos[3 * i];
        y[i] = pos[3 * i + 1];
        z[i] = pos[3 * i + 2];
    }
    accelerations(context, n, x, y, z, mass, ax, ay, az);
    memcpy(rate, vel, 3 * (size_t)n * sizeof(double));
    double *acc = rate + 3 * n;
    for (ptrdiff_t i = 0; i < n; i++) {
        acc[3 * i] = ax[i];
        acc[3 * i + 1] = ay[i];
        acc[3 * i + 2] = az[i];
    }
    free(buffer);
    return 0;
}

/* The whole midpoint-RK2 run (kernels.integrate.schedule's steps and frame ends): frame k
 * is recorded after step frame_ends[k] - 1. Returns 0, or -1 when out of memory. */
static int soa_integrate(ptrdiff_t n, const double *initial, const double *mass,
                         const double *steps, const ptrdiff_t *frame_ends, ptrdiff_t nframes,
                         double *frames, soa_accelerations *accelerations, const void *context)
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
            accelerations(context, n, y, y + n, y + 2 * n, mass, acc, acc + n, acc + 2 * n);
            for (ptrdiff_t i = 0; i < 3 * n; i++) {
                mid[i] = y[i] + y[3 * n + i] * half;
                mid[3 * n + i] = y[3 * n + i] + acc[i] * half;
            }
            accelerations(context, n, mid, mid + n, mid + 2 * n, mass, acc, acc + n,
                          acc + 2 * n);
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

#endif
