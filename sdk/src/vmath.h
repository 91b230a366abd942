/*
 * vmath.h - expf and erff as straight-line float code that GCC vectorizes
 * (no calls, no branches), for the elementwise kernels: GELU, the attention
 * softmax. glibc's expf and erff are scalar calls; in a loop they run one
 * element at a time.
 *
 * Accuracy, measured against double exp/erf (tests/sdk/test_ops.c checks it):
 *   tc__vexpf: relative error below 1e-7 on [-87, 88]; inputs are clamped to
 *              that range (exp(-87) = 1.6e-38, the smallest normal float is
 *              1.2e-38), so the result is never a denormal or infinity.
 *   tc__verff: absolute error below 5e-7 everywhere (about 7 ulp near 1 at
 *              |x| = 3.3; glibc's erff is within 1 ulp); |x| >= 4 gives +-1.
 *
 * TC_VEC_CLONES builds a kernel for AVX-512, for AVX2 and for the x86-64
 * baseline, and picks one at load time by the CPU (GCC's target_clones).
 */
#ifndef TC_VMATH_H
#define TC_VMATH_H

#include <stdint.h>
#include <string.h>

/* The kernels that use these mark their loops `omp simd`; without OpenMP they are plain loops. */
#ifndef _OPENMP
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    !defined(__AVX2__) && !defined(__SANITIZE_ADDRESS__)
#define TC_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TC_VEC_CLONES
#endif

/* e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by Cephes' degree-6 polynomial, 2^n in the
 * exponent bits. */
static inline float tc__vexpf(float x)
{
    float n, r, p, s;
    int32_t e;

    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    n = x * 1.44269504088896341f;
    n = (n + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5 * 2^23 */
    r = x - n * 0.693359375f;            /* ln2, high part: exact in float */
    r = r + n * 2.12194440e-4f;          /* ln2 - 0.693359375 */
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    e = ((int32_t)n + 127) * (1 << 23);
    memcpy(&s, &e, sizeof(s));
    return p * s;
}

/* erf(x): the odd degree-13 / even degree-8 rational approximation on [-4, 4] that Eigen
 * and XLA use. */
static inline float tc__verff(float x)
{
    float x2, p, q;

    x = x < -4.0f ? -4.0f : x > 4.0f ? 4.0f : x;
    x2 = x * x;
    p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

#endif /* TC_VMATH_H */
