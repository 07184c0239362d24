/* The C reference kernel: how gcc compiles the plain pair loop, the suite's "% of ref". */
#ifndef NBODY_REFERENCE_H
#define NBODY_REFERENCE_H

#include <stddef.h>

/* pos, vel: (n, 3) positions and velocities, C order; rate: (2, n, 3), written:
 * rate[0] = velocities, rate[1] = accelerations. Returns 0, or -1 when out of memory. */
int nbody_derivatives(ptrdiff_t n, const double *pos, const double *vel, const double *mass,
                      double *rate);

/* The whole midpoint-RK2 run (kernels.integrate.schedule's steps and frame ends): frame k
 * is recorded after step frame_ends[k] - 1. Returns 0, or -1 when out of memory. */
int nbody_integrate(ptrdiff_t n, const double *initial, const double *mass, const double *steps,
                    const ptrdiff_t *frame_ends, ptrdiff_t nframes, double *frames);

#endif
