/* The limit kernel (see limit.h and docs/limit.md).
 *
 * Two pair loops, each where it is the faster (the switch is at SMALL bodies):
 *  - few bodies: every pair twice, a vector of rows i against one body j at a time, so
 *    each lane sums its own row in a register and nothing is stored until the end;
 *  - many bodies: the pair triangle (each pair i < j once, Newton's third law), two rows
 *    per sweep of j, so every load and store of body j's coordinates and accelerations
 *    serves two pairs.
 * 1/r^3 = y^3 with y the CPU's estimate of 1/sqrt(r2) (14 bits with AVX-512, 12 with AVX2,
 * which estimates in float32) refined by Newton-Raphson steps y <- y (3 - r2 y^2) / 2,
 * each of which doubles the correct bits: two steps for AVX-512, three for AVX2. That is
 * a few multiply-adds instead of a square root and a division, the slowest float64
 * instructions. A collision (r2 = 0) still gives a non-finite value for the caller.
 */
#include "limit.h"
#include "../c/soa.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#define TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))
#endif

/* Below this many bodies the all-pairs loop is the faster (measured; docs/limit.md). */
#ifndef SMALL
#define SMALL 48
#endif
/* Rows per task of the threaded triangle: small enough to balance rows of unequal length. */
#define ROWS_PER_TASK 16
/* Below this many bodies a call is too little work to share between threads. */
#define THREADED_FROM 512

/* One pair, exactly as the C reference computes it: the triangle's pair (i, i + 1). */
static void exact_pair(ptrdiff_t i, ptrdiff_t k, const double *x, const double *y,
                       const double *z, const double *m, double *ax, double *ay, double *az)
{
    const double dx = x[k] - x[i], dy = y[k] - y[i], dz = z[k] - z[i];
    const double r2 = dx * dx + dy * dy + dz * dz;
    const double s = 1.0 / (r2 * sqrt(r2));
    ax[i] += m[k] * s * dx;
    ay[i] += m[k] * s * dy;
    az[i] += m[k] * s * dz;
    ax[k] -= m[i] * s * dx;
    ay[k] -= m[i] * s * dy;
    az[k] -= m[i] * s * dz;
}

/* -- portable: plain C that the compiler vectorizes as it can ---------------------------- */

static void rows_portable(ptrdiff_t n, const double *restrict x, const double *restrict y,
                          const double *restrict z, const double *restrict m,
                          ptrdiff_t first, ptrdiff_t last, double *restrict ax,
                          double *restrict ay, double *restrict az)
{
    for (ptrdiff_t i = first; i < last; i++) {
        const double xi = x[i], yi = y[i], zi = z[i], mi = m[i];
        double sx = 0.0, sy = 0.0, sz = 0.0;
        for (ptrdiff_t j = i + 1; j < n; j++) {
            const double dx = x[j] - xi, dy = y[j] - yi, dz = z[j] - zi;
            const double r2 = dx * dx + dy * dy + dz * dz;
            const double s = 1.0 / (r2 * sqrt(r2));
            sx += m[j] * s * dx;
            sy += m[j] * s * dy;
            sz += m[j] * s * dz;
            ax[j] -= mi * s * dx;
            ay[j] -= mi * s * dy;
            az[j] -= mi * s * dz;
        }
        ax[i] += sx;
        ay[i] += sy;
        az[i] += sz;
    }
}

static void all_pairs_portable(ptrdiff_t n, const double *restrict x, const double *restrict y,
                               const double *restrict z, const double *restrict m,
                               double *restrict ax, double *restrict ay, double *restrict az)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        double sx = 0.0, sy = 0.0, sz = 0.0;
        for (ptrdiff_t j = 0; j < n; j++) {
            const double dx = x[j] - x[i], dy = y[j] - y[i], dz = z[j] - z[i];
            const double r2 = dx * dx + dy * dy + dz * dz;
            const double s = j == i ? 0.0 : m[j] / (r2 * sqrt(r2));
            sx += s * dx;
            sy += s * dy;
            sz += s * dz;
        }
        ax[i] = sx;
        ay[i] = sy;
        az[i] = sz;
    }
}

#ifdef HAVE_X86

/* -- AVX-512: eight pairs per instruction ------------------------------------------------ */

TARGET_AVX512 INLINE __m512d inv_cube_512(__m512d r2)
{
    const __m512d half_r2 = _mm512_mul_pd(r2, _mm512_set1_pd(0.5));
    const __m512d three_halves = _mm512_set1_pd(1.5);
    __m512d y = _mm512_rsqrt14_pd(r2);
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(_mm512_mul_pd(half_r2, y), y, three_halves));
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(_mm512_mul_pd(half_r2, y), y, three_halves));
    return _mm512_mul_pd(_mm512_mul_pd(y, y), y);
}

/* The C reference's 1/r^3: a square root and a division, on the CPU's divider. */
TARGET_AVX512 INLINE __m512d exact_inv_cube_512(__m512d r2)
{
    return _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_mul_pd(r2, _mm512_sqrt_pd(r2)));
}

/* Rows i (and i + 1 when two) against bodies j .. j + 7 (lanes outside `lanes` ignored). */
TARGET_AVX512 INLINE void sweep_512(int two, int mixed, __mmask8 lanes, ptrdiff_t j, const double *x,
                                    const double *y, const double *z, const double *m,
                                    double *ax, double *ay, double *az, const __m512d r[8],
                                    __m512d sum[6])
{
    const __m512d one = _mm512_set1_pd(1.0);
    const int tail = lanes != 0xFF;
#define LOAD(p) (tail ? _mm512_maskz_loadu_pd(lanes, (p)) : _mm512_loadu_pd(p))
    const __m512d xj = LOAD(x + j), yj = LOAD(y + j), zj = LOAD(z + j), mj = LOAD(m + j);
    __m512d aj[3] = {LOAD(ax + j), LOAD(ay + j), LOAD(az + j)};
#undef LOAD
    for (int row = 0; row < 1 + two; row++) {
        const __m512d *ri = r + 4 * row; /* xi, yi, zi, mi of this row */
        const __m512d dx = _mm512_sub_pd(xj, ri[0]);
        const __m512d dy = _mm512_sub_pd(yj, ri[1]);
        const __m512d dz = _mm512_sub_pd(zj, ri[2]);
        __m512d r2 = _mm512_fmadd_pd(dz, dz, _mm512_fmadd_pd(dy, dy, _mm512_mul_pd(dx, dx)));
        if (tail)
            r2 = _mm512_mask_mov_pd(one, lanes, r2);
        const __m512d s = mixed && row == 0 ? exact_inv_cube_512(r2) : inv_cube_512(r2);
        const __m512d sj = _mm512_mul_pd(mj, s), si = _mm512_mul_pd(ri[3], s);
        sum[3 * row] = _mm512_fmadd_pd(sj, dx, sum[3 * row]);
        sum[3 * row + 1] = _mm512_fmadd_pd(sj, dy, sum[3 * row + 1]);
        sum[3 * row + 2] = _mm512_fmadd_pd(sj, dz, sum[3 * row + 2]);
        aj[0] = _mm512_fnmadd_pd(si, dx, aj[0]);
        aj[1] = _mm512_fnmadd_pd(si, dy, aj[1]);
        aj[2] = _mm512_fnmadd_pd(si, dz, aj[2]);
    }
    if (tail) {
        _mm512_mask_storeu_pd(ax + j, lanes, aj[0]);
        _mm512_mask_storeu_pd(ay + j, lanes, aj[1]);
        _mm512_mask_storeu_pd(az + j, lanes, aj[2]);
    } else {
        _mm512_storeu_pd(ax + j, aj[0]);
        _mm512_storeu_pd(ay + j, aj[1]);
        _mm512_storeu_pd(az + j, aj[2]);
    }
}

/* Row i, and row i + 1 when `two`, against every j past them. */
TARGET_AVX512 INLINE void rows_from_512(int two, int mixed, ptrdiff_t i, ptrdiff_t n, const double *x,
                                        const double *y, const double *z, const double *m,
                                        double *ax, double *ay, double *az)
{
    __m512d r[8], sum[6];
    for (int row = 0; row < 1 + two; row++) {
        r[4 * row] = _mm512_set1_pd(x[i + row]);
        r[4 * row + 1] = _mm512_set1_pd(y[i + row]);
        r[4 * row + 2] = _mm512_set1_pd(z[i + row]);
        r[4 * row + 3] = _mm512_set1_pd(m[i + row]);
        sum[3 * row] = sum[3 * row + 1] = sum[3 * row + 2] = _mm512_setzero_pd();
    }
    if (two)
        exact_pair(i, i + 1, x, y, z, m, ax, ay, az);
    ptrdiff_t j = i + 1 + two;
    for (; j + 8 <= n; j += 8)
        sweep_512(two, mixed, 0xFF, j, x, y, z, m, ax, ay, az, r, sum);
    if (j < n)
        sweep_512(two, mixed, (__mmask8)((1u << (n - j)) - 1), j, x, y, z, m, ax, ay, az, r, sum);
    for (int row = 0; row < 1 + two; row++) {
        ax[i + row] += _mm512_reduce_add_pd(sum[3 * row]);
        ay[i + row] += _mm512_reduce_add_pd(sum[3 * row + 1]);
        az[i + row] += _mm512_reduce_add_pd(sum[3 * row + 2]);
    }
}

TARGET_AVX512 INLINE void rows_avx512(int mixed, ptrdiff_t n, const double *x, const double *y,
                                      const double *z, const double *m, ptrdiff_t first,
                                      ptrdiff_t last, double *ax, double *ay, double *az)
{
    ptrdiff_t i = first;
    for (; i + 1 < last; i += 2)
        rows_from_512(1, mixed, i, n, x, y, z, m, ax, ay, az);
    if (i < last)
        rows_from_512(0, mixed, i, n, x, y, z, m, ax, ay, az);
}

/* Rows i .. i + 7 (those in `rows`) against body j, added into sx, sy, sz. */
TARGET_AVX512 INLINE void against_512(int exact, ptrdiff_t j, __mmask8 rows, __m512d index,
                                      const double *x, const double *y, const double *z,
                                      const double *m, const __m512d r[3], __m512d sum[3])
{
    /* Every row's lane but row j's own (the self-term, whose r2 is zero). */
    const __mmask8 pairs = rows & _mm512_cmp_pd_mask(index, _mm512_set1_pd((double)j), _CMP_NEQ_OQ);
    const __m512d dx = _mm512_sub_pd(_mm512_set1_pd(x[j]), r[0]);
    const __m512d dy = _mm512_sub_pd(_mm512_set1_pd(y[j]), r[1]);
    const __m512d dz = _mm512_sub_pd(_mm512_set1_pd(z[j]), r[2]);
    __m512d r2 = _mm512_fmadd_pd(dz, dz, _mm512_fmadd_pd(dy, dy, _mm512_mul_pd(dx, dx)));
    r2 = _mm512_mask_mov_pd(_mm512_set1_pd(1.0), pairs, r2);
    const __m512d inv = exact ? exact_inv_cube_512(r2) : inv_cube_512(r2);
    const __m512d s = _mm512_maskz_mul_pd(pairs, _mm512_set1_pd(m[j]), inv);
    sum[0] = _mm512_fmadd_pd(s, dx, sum[0]);
    sum[1] = _mm512_fmadd_pd(s, dy, sum[1]);
    sum[2] = _mm512_fmadd_pd(s, dz, sum[2]);
}

/* Every pair twice, eight rows at a time; `mixed`: every other body j by the divider. */
TARGET_AVX512 INLINE void all_pairs_avx512(int mixed, ptrdiff_t n, const double *x,
                                           const double *y, const double *z, const double *m,
                                           double *ax, double *ay, double *az)
{
    const __m512d lane = _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0);
    for (ptrdiff_t i = 0; i < n; i += 8) {
        const __mmask8 rows = n - i >= 8 ? 0xFF : (__mmask8)((1u << (n - i)) - 1);
        const __m512d index = _mm512_add_pd(lane, _mm512_set1_pd((double)i));
        const __m512d r[3] = {_mm512_maskz_loadu_pd(rows, x + i),
                              _mm512_maskz_loadu_pd(rows, y + i),
                              _mm512_maskz_loadu_pd(rows, z + i)};
        __m512d sum[3] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
        ptrdiff_t j = 0;
        for (; j + 1 < n; j += 2) {
            against_512(0, j, rows, index, x, y, z, m, r, sum);
            against_512(mixed, j + 1, rows, index, x, y, z, m, r, sum);
        }
        if (j < n)
            against_512(0, j, rows, index, x, y, z, m, r, sum);
        _mm512_mask_storeu_pd(ax + i, rows, sum[0]);
        _mm512_mask_storeu_pd(ay + i, rows, sum[1]);
        _mm512_mask_storeu_pd(az + i, rows, sum[2]);
    }
}

/* -- AVX2 with FMA: four pairs per instruction ------------------------------------------- */

TARGET_AVX2 INLINE __m256d inv_cube_256(__m256d r2)
{
    /* The float32 estimate holds only inside float32's normal range: outside it (bodies
     * closer than about 1e-19 or farther than 1e19 apart) this vector is computed exactly. */
    const __m256d out_of_range =
        _mm256_or_pd(_mm256_cmp_pd(r2, _mm256_set1_pd(0x1p-120), _CMP_LT_OQ),
                     _mm256_cmp_pd(r2, _mm256_set1_pd(0x1p120), _CMP_GT_OQ));
    if (__builtin_expect(_mm256_movemask_pd(out_of_range) != 0, 0)) {
        return _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(r2, _mm256_sqrt_pd(r2)));
    }
    const __m256d half_r2 = _mm256_mul_pd(r2, _mm256_set1_pd(0.5));
    const __m256d three_halves = _mm256_set1_pd(1.5);
    __m256d y = _mm256_cvtps_pd(_mm_rsqrt_ps(_mm256_cvtpd_ps(r2)));
    y = _mm256_mul_pd(y, _mm256_fnmadd_pd(_mm256_mul_pd(half_r2, y), y, three_halves));
    y = _mm256_mul_pd(y, _mm256_fnmadd_pd(_mm256_mul_pd(half_r2, y), y, three_halves));
    y = _mm256_mul_pd(y, _mm256_fnmadd_pd(_mm256_mul_pd(half_r2, y), y, three_halves));
    return _mm256_mul_pd(_mm256_mul_pd(y, y), y);
}

TARGET_AVX2 INLINE __m256d exact_inv_cube_256(__m256d r2)
{
    return _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(r2, _mm256_sqrt_pd(r2)));
}

/* All ones in the lanes from j that are below n. */
TARGET_AVX2 INLINE __m256i lanes_below_256(ptrdiff_t j, ptrdiff_t n)
{
    const __m256i index = _mm256_add_epi64(_mm256_set1_epi64x(j), _mm256_set_epi64x(3, 2, 1, 0));
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), index);
}

TARGET_AVX2 INLINE void sweep_256(int two, int mixed, int tail, __m256i lanes, ptrdiff_t j,
                                  const double *x, const double *y, const double *z,
                                  const double *m, double *ax, double *ay, double *az,
                                  const __m256d r[8], __m256d sum[6])
{
#define LOAD(p) (tail ? _mm256_maskload_pd((p), lanes) : _mm256_loadu_pd(p))
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256d xj = LOAD(x + j), yj = LOAD(y + j), zj = LOAD(z + j), mj = LOAD(m + j);
    __m256d aj[3] = {LOAD(ax + j), LOAD(ay + j), LOAD(az + j)};
#undef LOAD
    for (int row = 0; row < 1 + two; row++) {
        const __m256d *ri = r + 4 * row;
        const __m256d dx = _mm256_sub_pd(xj, ri[0]);
        const __m256d dy = _mm256_sub_pd(yj, ri[1]);
        const __m256d dz = _mm256_sub_pd(zj, ri[2]);
        __m256d r2 = _mm256_fmadd_pd(dz, dz, _mm256_fmadd_pd(dy, dy, _mm256_mul_pd(dx, dx)));
        if (tail)
            r2 = _mm256_blendv_pd(one, r2, _mm256_castsi256_pd(lanes));
        const __m256d s = mixed && row == 0 ? exact_inv_cube_256(r2) : inv_cube_256(r2);
        const __m256d sj = _mm256_mul_pd(mj, s), si = _mm256_mul_pd(ri[3], s);
        sum[3 * row] = _mm256_fmadd_pd(sj, dx, sum[3 * row]);
        sum[3 * row + 1] = _mm256_fmadd_pd(sj, dy, sum[3 * row + 1]);
        sum[3 * row + 2] = _mm256_fmadd_pd(sj, dz, sum[3 * row + 2]);
        aj[0] = _mm256_fnmadd_pd(si, dx, aj[0]);
        aj[1] = _mm256_fnmadd_pd(si, dy, aj[1]);
        aj[2] = _mm256_fnmadd_pd(si, dz, aj[2]);
    }
    if (tail) {
        _mm256_maskstore_pd(ax + j, lanes, aj[0]);
        _mm256_maskstore_pd(ay + j, lanes, aj[1]);
        _mm256_maskstore_pd(az + j, lanes, aj[2]);
    } else {
        _mm256_storeu_pd(ax + j, aj[0]);
        _mm256_storeu_pd(ay + j, aj[1]);
        _mm256_storeu_pd(az + j, aj[2]);
    }
}

TARGET_AVX2 INLINE double sum_256(__m256d v)
{
    const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

TARGET_AVX2 INLINE void rows_from_256(int two, int mixed, ptrdiff_t i, ptrdiff_t n, const double *x,
                                      const double *y, const double *z, const double *m,
                                      double *ax, double *ay, double *az)
{
    __m256d r[8], sum[6];
    for (int row = 0; row < 1 + two; row++) {
        r[4 * row] = _mm256_set1_pd(x[i + row]);
        r[4 * row + 1] = _mm256_set1_pd(y[i + row]);
        r[4 * row + 2] = _mm256_set1_pd(z[i + row]);
        r[4 * row + 3] = _mm256_set1_pd(m[i + row]);
        sum[3 * row] = sum[3 * row + 1] = sum[3 * row + 2] = _mm256_setzero_pd();
    }
    if (two)
        exact_pair(i, i + 1, x, y, z, m, ax, ay, az);
    const __m256i all = _mm256_set1_epi64x(-1);
    ptrdiff_t j = i + 1 + two;
    for (; j + 4 <= n; j += 4)
        sweep_256(two, mixed, 0, all, j, x, y, z, m, ax, ay, az, r, sum);
    if (j < n)
        sweep_256(two, mixed, 1, lanes_below_256(j, n), j, x, y, z, m, ax, ay, az, r, sum);
    for (int row = 0; row < 1 + two; row++) {
        ax[i + row] += sum_256(sum[3 * row]);
        ay[i + row] += sum_256(sum[3 * row + 1]);
        az[i + row] += sum_256(sum[3 * row + 2]);
    }
}

TARGET_AVX2 INLINE void rows_avx2(int mixed, ptrdiff_t n, const double *x, const double *y,
                                  const double *z, const double *m, ptrdiff_t first,
                                  ptrdiff_t last, double *ax, double *ay, double *az)
{
    ptrdiff_t i = first;
    for (; i + 1 < last; i += 2)
        rows_from_256(1, mixed, i, n, x, y, z, m, ax, ay, az);
    if (i < last)
        rows_from_256(0, mixed, i, n, x, y, z, m, ax, ay, az);
}

/* Rows i .. i + 3 (those in `rows`) against body j, added into sum. */
TARGET_AVX2 INLINE void against_256(int exact, ptrdiff_t j, __m256i rows, __m256d index,
                                    const double *x, const double *y, const double *z,
                                    const double *m, const __m256d r[3], __m256d sum[3])
{
    /* Every row's lane but row j's own (the self-term, whose r2 is zero). */
    const __m256d pairs = _mm256_and_pd(
        _mm256_castsi256_pd(rows), _mm256_cmp_pd(index, _mm256_set1_pd((double)j), _CMP_NEQ_OQ));
    const __m256d dx = _mm256_sub_pd(_mm256_set1_pd(x[j]), r[0]);
    const __m256d dy = _mm256_sub_pd(_mm256_set1_pd(y[j]), r[1]);
    const __m256d dz = _mm256_sub_pd(_mm256_set1_pd(z[j]), r[2]);
    __m256d r2 = _mm256_fmadd_pd(dz, dz, _mm256_fmadd_pd(dy, dy, _mm256_mul_pd(dx, dx)));
    r2 = _mm256_blendv_pd(_mm256_set1_pd(1.0), r2, pairs);
    const __m256d inv = exact ? exact_inv_cube_256(r2) : inv_cube_256(r2);
    const __m256d s = _mm256_and_pd(pairs, _mm256_mul_pd(_mm256_set1_pd(m[j]), inv));
    sum[0] = _mm256_fmadd_pd(s, dx, sum[0]);
    sum[1] = _mm256_fmadd_pd(s, dy, sum[1]);
    sum[2] = _mm256_fmadd_pd(s, dz, sum[2]);
}

/* Every pair twice, four rows at a time; `mixed`: every other body j by the divider. */
TARGET_AVX2 INLINE void all_pairs_avx2(int mixed, ptrdiff_t n, const double *x,
                                       const double *y, const double *z, const double *m,
                                       double *ax, double *ay, double *az)
{
    const __m256d lane = _mm256_set_pd(3, 2, 1, 0);
    for (ptrdiff_t i = 0; i < n; i += 4) {
        const __m256i rows = lanes_below_256(i, n);
        const __m256d index = _mm256_add_pd(lane, _mm256_set1_pd((double)i));
        const __m256d r[3] = {_mm256_maskload_pd(x + i, rows), _mm256_maskload_pd(y + i, rows),
                              _mm256_maskload_pd(z + i, rows)};
        __m256d sum[3] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
        ptrdiff_t j = 0;
        for (; j + 1 < n; j += 2) {
            against_256(0, j, rows, index, x, y, z, m, r, sum);
            against_256(mixed, j + 1, rows, index, x, y, z, m, r, sum);
        }
        if (j < n)
            against_256(0, j, rows, index, x, y, z, m, r, sum);
        _mm256_maskstore_pd(ax + i, rows, sum[0]);
        _mm256_maskstore_pd(ay + i, rows, sum[1]);
        _mm256_maskstore_pd(az + i, rows, sum[2]);
    }
}

#endif /* HAVE_X86 */

/* -- variants and the choice among them ------------------------------------------------ */

#ifdef HAVE_X86
/* Each variant's two loops as plain functions, for the table below. */
#define VARIANT(isa, target, kind, mixed)                                                       \
    target static void rows_##isa##_##kind(ptrdiff_t n, const double *x, const double *y,       \
                                           const double *z, const double *m, ptrdiff_t first,   \
                                           ptrdiff_t last, double *ax, double *ay, double *az)  \
    {                                                                                           \
        rows_##isa(mixed, n, x, y, z, m, first, last, ax, ay, az);                              \
    }                                                                                           \
    target static void all_pairs_##isa##_##kind(ptrdiff_t n, const double *x, const double *y,  \
                                                const double *z, const double *m, double *ax,   \
                                                double *ay, double *az)                         \
    {                                                                                           \
        all_pairs_##isa(mixed, n, x, y, z, m, ax, ay, az);                                      \
    }
VARIANT(avx512, TARGET_AVX512, rsqrt, 0)
VARIANT(avx512, TARGET_AVX512, mixed, 1)
VARIANT(avx2, TARGET_AVX2, rsqrt, 0)
VARIANT(avx2, TARGET_AVX2, mixed, 1)
#undef VARIANT
#endif

typedef void rows_fn(ptrdiff_t, const double *, const double *, const double *, const double *,
                     ptrdiff_t, ptrdiff_t, double *, double *, double *);
typedef void all_pairs_fn(ptrdiff_t, const double *, const double *, const double *,
                          const double *, double *, double *, double *);

static const struct variant {
    const char *name;
    rows_fn *rows;
    all_pairs_fn *all_pairs;
} variants[NBODY_VARIANTS] = {
#ifdef HAVE_X86
    [NBODY_AVX512_RSQRT] = {"avx512-rsqrt", rows_avx512_rsqrt, all_pairs_avx512_rsqrt},
    [NBODY_AVX512_MIXED] = {"avx512-mixed", rows_avx512_mixed, all_pairs_avx512_mixed},
    [NBODY_AVX2_RSQRT] = {"avx2-rsqrt", rows_avx2_rsqrt, all_pairs_avx2_rsqrt},
    [NBODY_AVX2_MIXED] = {"avx2-mixed", rows_avx2_mixed, all_pairs_avx2_mixed},
#else
    [NBODY_AVX512_RSQRT] = {"avx512-rsqrt", NULL, NULL},
    [NBODY_AVX512_MIXED] = {"avx512-mixed", NULL, NULL},
    [NBODY_AVX2_RSQRT] = {"avx2-rsqrt", NULL, NULL},
    [NBODY_AVX2_MIXED] = {"avx2-mixed", NULL, NULL},
#endif
    [NBODY_PORTABLE] = {"portable", rows_portable, all_pairs_portable},
};

int nbody_limit_runs(int variant)
{
    if (variant < 0 || variant >= NBODY_VARIANTS || variants[variant].rows == NULL)
        return 0;
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (variant == NBODY_AVX512_RSQRT || variant == NBODY_AVX512_MIXED)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    if (variant == NBODY_AVX2_RSQRT || variant == NBODY_AVX2_MIXED)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return variant == NBODY_PORTABLE;
}

const char *nbody_limit_variant_name(int variant)
{
    return variant >= 0 && variant < NBODY_VARIANTS ? variants[variant].name : "unknown";
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Times every variant this CPU runs on the triangle of TUNE_N bodies, interleaved, best
 * of TUNE_ROUNDS each (a busy machine only ever adds time), and keeps the fastest. */
#define TUNE_N 1024
#define TUNE_ROUNDS 5

int nbody_limit_best(void)
{
    static int best = -1;
    int found = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (found >= 0)
        return found;
    double *buffer = malloc(7 * TUNE_N * sizeof(double));
    if (buffer == NULL)
        return NBODY_PORTABLE;
    double *x = buffer, *y = x + TUNE_N, *z = y + TUNE_N, *m = z + TUNE_N, *a = m + TUNE_N;
    /* Bodies on a scrambled lattice in the unit cube: no two close, no randomness. */
    for (ptrdiff_t i = 0; i < TUNE_N; i++) {
        x[i] = (double)((i * 37) % TUNE_N) / TUNE_N;
        y[i] = (double)((i * 101) % TUNE_N) / TUNE_N;
        z[i] = (double)((i * 211) % TUNE_N) / TUNE_N;
        m[i] = 1.0;
    }
    double fastest[NBODY_VARIANTS];
    for (int v = 0; v < NBODY_VARIANTS; v++)
        fastest[v] = INFINITY;
    for (int round = 0; round < TUNE_ROUNDS; round++) {
        for (int v = 0; v < NBODY_VARIANTS; v++) {
            if (!nbody_limit_runs(v))
                continue;
            memset(a, 0, 3 * TUNE_N * sizeof(double));
            const double start = seconds();
            variants[v].rows(TUNE_N, x, y, z, m, 0, TUNE_N, a, a + TUNE_N, a + 2 * TUNE_N);
            const double took = seconds() - start;
            fastest[v] = took < fastest[v] ? took : fastest[v];
        }
    }
    free(buffer);
    found = NBODY_PORTABLE;
    for (int v = 0; v < NBODY_VARIANTS; v++)
        if (fastest[v] < fastest[found])
            found = v;
    __atomic_store_n(&best, found, __ATOMIC_RELAXED);
    return found;
}

int nbody_limit_has_threads(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

void nbody_limit_rows(int variant, ptrdiff_t n, const double *x, const double *y,
                      const double *z, const double *m, ptrdiff_t first, ptrdiff_t last,
                      double *ax, double *ay, double *az)
{
    variants[variant].rows(n, x, y, z, m, first, last, ax, ay, az);
}

#ifdef _OPENMP
/* The triangle's rows shared among threads, each adding into its own copy of the
 * accelerations (`partial`, threads x 3n), summed at the end. */
static void rows_threaded(int variant, int threads, ptrdiff_t n, const double *x, const double *y,
                          const double *z, const double *m, double *ax, double *ay, double *az,
                          double *partial)
{
    const ptrdiff_t tasks = (n + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
#pragma omp parallel num_threads(threads)
    {
        /* OpenMP may give fewer threads than asked for: only theirs are summed. */
        const int team = omp_get_num_threads(), t = omp_get_thread_num();
        double *own = partial + 3 * n * (ptrdiff_t)t;
        memset(own, 0, 3 * (size_t)n * sizeof(double));
        /* Dynamic: the first rows are the longest, and a machine's cores may be busy. */
#pragma omp for schedule(dynamic, 1)
        for (ptrdiff_t task = 0; task < tasks; task++) {
            const ptrdiff_t first = task * ROWS_PER_TASK;
            const ptrdiff_t last = first + ROWS_PER_TASK < n ? first + ROWS_PER_TASK : n;
            nbody_limit_rows(variant, n, x, y, z, m, first, last, own, own + n, own + 2 * n);
        }
#pragma omp for schedule(static)
        for (ptrdiff_t i = 0; i < n; i++) {
            double sx = 0.0, sy = 0.0, sz = 0.0;
            for (int k = 0; k < team; k++) {
                const double *theirs = partial + 3 * n * (ptrdiff_t)k;
                sx += theirs[i];
                sy += theirs[n + i];
                sz += theirs[2 * n + i];
            }
            ax[i] = sx;
            ay[i] = sy;
            az[i] = sz;
        }
    }
}
#endif

/* Scratch for one caller: the threads' partial sums, when there are threads. */
struct workspace {
    int threads;
    double *partial;
};

static int workspace_open(struct workspace *w, int threads, ptrdiff_t n)
{
    w->threads = 1;
    w->partial = NULL;
#ifdef _OPENMP
    if (n >= THREADED_FROM && threads != 1) {
        w->threads = threads > 0 ? threads : omp_get_max_threads();
        if (w->threads > 1) {
            w->partial = malloc(3 * (size_t)n * (size_t)w->threads * sizeof(double));
            if (w->partial == NULL)
                return -1;
        } else {
            w->threads = 1;
        }
    }
#else
    (void)threads;
    (void)n;
#endif
    return 0;
}

/* What a caller's accelerations need besides the bodies: the variant and the threads. */
struct plan {
    int variant;
    struct workspace w;
};

/* ax, ay, az = the accelerations of the n bodies at x, y, z (soa.h's accelerations). */
static void accelerations(const void *context, ptrdiff_t n, const double *x, const double *y,
                          const double *z, const double *m, double *ax, double *ay, double *az)
{
    const struct plan *p = context;
    if (n < SMALL) {
        variants[p->variant].all_pairs(n, x, y, z, m, ax, ay, az);
#ifdef _OPENMP
    } else if (p->w.threads > 1) {
        rows_threaded(p->variant, p->w.threads, n, x, y, z, m, ax, ay, az, p->w.partial);
#endif
    } else {
        memset(ax, 0, (size_t)n * sizeof(double));
        memset(ay, 0, (size_t)n * sizeof(double));
        memset(az, 0, (size_t)n * sizeof(double));
        nbody_limit_rows(p->variant, n, x, y, z, m, 0, n, ax, ay, az);
    }
}

int nbody_limit_derivatives(int variant, int threads, ptrdiff_t n, const double *pos,
                            const double *vel, const double *mass, double *rate)
{
    struct plan p = {.variant = variant};
    int status = workspace_open(&p.w, threads, n);
    if (status == 0)
        status = soa_derivatives(n, pos, vel, mass, rate, accelerations, &p);
    free(p.w.partial);
    return status;
}

int nbody_limit_integrate(int variant, int threads, ptrdiff_t n, const double *initial,
                          const double *mass, const double *steps, const ptrdiff_t *frame_ends,
                          ptrdiff_t nframes, double *frames)
{
    struct plan p = {.variant = variant};
    int status = workspace_open(&p.w, threads, n);
    if (status == 0)
        status = soa_integrate(n, initial, mass, steps, frame_ends, nframes, frames,
                               accelerations, &p);
    free(p.w.partial);
    return status;
}
