/* The loops behind _boundary.pyx: one pass over the input that says whether every value
 * passes the checks.
 *
 * The tests are integer arithmetic on the bits of each double, written so that the top
 * (sign) bit of the result is set for a value that fails: 64-bit and, or, add and
 * subtract exist in SSE2, so gcc vectorizes these loops in the portable build too,
 * where floating-point comparisons turned into flags kept them 5x slower. */
#ifndef NBODY_CHECKS_H
#define NBODY_CHECKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NBODY_MAGNITUDE UINT64_C(0x7fffffffffffffff) /* all bits but the sign */
#define NBODY_EXPONENT_ONE UINT64_C(0x0010000000000000) /* the lowest exponent bit */

static inline uint64_t nbody_bits(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* Top bit set if x is inf or nan: its exponent bits are all ones, so adding one to the
 * exponent of its magnitude carries into the sign bit. */
static inline uint64_t nbody_not_finite(uint64_t bits)
{
    return (bits & NBODY_MAGNITUDE) + NBODY_EXPONENT_ONE;
}

/* Top bit set if x is below zero: its sign is set and it is not -0.0, whose bits minus
 * one clear the sign. */
static inline uint64_t nbody_negative(uint64_t bits)
{
    return bits & (bits - 1);
}

/* 1 if every one of values[:count] is finite, else 0. */
static inline int nbody_all_finite(const double *values, ptrdiff_t count)
{
    uint64_t bad = 0;
    for (ptrdiff_t i = 0; i < count; i++)
        bad |= nbody_not_finite(nbody_bits(values[i]));
    return (bad >> 63) == 0;
}

/* 1 if every one of masses[:count] is finite and not negative, else 0. */
static inline int nbody_valid_masses(const double *masses, ptrdiff_t count)
{
    uint64_t bad = 0;
    for (ptrdiff_t i = 0; i < count; i++) {
        const uint64_t bits = nbody_bits(masses[i]);
        bad |= nbody_not_finite(bits) | nbody_negative(bits);
    }
    return (bad >> 63) == 0;
}

#endif
