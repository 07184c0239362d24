/* The C reference kernel: what the hardware allows, for the suite's "% of reference". */
#ifndef NBODY_REFERENCE_H
#define NBODY_REFERENCE_H

#include <stddef.h>

/* state: (2, n, 3) positions then velocities, C order; rate: the same shape, written:
 * rate[0] = velocities, rate[1] = accelerations. Returns 0, or -1 when out of memory. */
int nbody_derivatives(ptrdiff_t n, const double *state, const double *mass, double *rate);

#endif
