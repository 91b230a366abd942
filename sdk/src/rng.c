/*
 * rng.c - the counter-based random number generator (TRAINING-ANCHORS.md 2.8).
 *
 * A generator is a 64-bit key and a 64-bit counter. The key is derived from
 * (seed, stream) by two rounds of a strong 64-bit mixer; word i of a stream is
 * a keyed two-round mix of the counter value i:
 *
 *   key  = mixA(mixA(seed ^ K0) ^ mixB(stream + K1))
 *   word = mixB(mixA(key ^ (i * G)) + key)
 *
 * mixA is the splitmix64 finaliser, mixB the "moremur" variant with different
 * shift/multiply constants; both are bijections of 64-bit words with full
 * avalanche. Because a word depends only on (key, i), saving the two fields
 * saves the generator, and any item can get its own stream without sharing
 * state between threads.
 *
 * The exact sequence is part of the contract (checkpoints and reproducible
 * runs depend on it): tests/sdk/test_rng.c pins golden values.
 */
#include <math.h>

#include <tc/rng.h>

#include "internal.h"
#include "vmath.h"

#define RNG_GOLDEN 0x9E3779B97F4A7C15ull /* 2^64 / phi, odd */
#define RNG_K0 0x6A09E667F3BCC909ull     /* sqrt(2) fraction, as in SHA-512 */
#define RNG_K1 0xBB67AE8584CAA73Bull     /* sqrt(3) fraction */

static uint64_t mix_a(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t mix_b(uint64_t z)
{
    z = (z ^ (z >> 27)) * 0x3C79AC492BA7B653ull;
    z = (z ^ (z >> 33)) * 0x1C69B3F74AC4AE35ull;
    return z ^ (z >> 27);
}

void tc_rng_init(tc_rng *r, uint64_t seed, uint64_t stream)
{
    if (!r)
        return;
    r->key = mix_a(mix_a(seed ^ RNG_K0) ^ mix_b(stream + RNG_K1));
    r->counter = 0;
}

uint64_t tc_rng_u64(tc_rng *r)
{
    uint64_t i = r->counter++;

    return mix_b(mix_a(r->key ^ (i * RNG_GOLDEN)) + r->key);
}

float tc_rng_uniform(tc_rng *r)
{
    /* the top 24 bits, scaled by 2^-24: exactly representable, at most 1 - 2^-24 */
    return (float)(tc_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

TC_VEC_CLONES static void keep_mask(uint8_t *mask, uint64_t key, uint64_t first, int64_t n, float p)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        uint64_t w = mix_b(mix_a(key ^ ((first + (uint64_t)i) * RNG_GOLDEN)) + key);
        mask[i] = (float)(int32_t)(w >> 40) * (1.0f / 16777216.0f) >= p;
    }
}

void tc__rng_keep_mask(tc_rng *r, uint8_t *mask, int64_t n, float p)
{
    if (n <= 0)
        return;
    keep_mask(mask, r->key, r->counter, n, p);
    r->counter += (uint64_t)n;
}

float tc_rng_normal(tc_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    /* u1 in (0, 1] so the logarithm is finite; u2 in [0, 1); 53 bits each */
    double u1 = (double)((tc_rng_u64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (double)(tc_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);

    return (float)(sqrt(-2.0 * log(u1)) * cos(two_pi * u2));
}

uint64_t tc_rng_below(tc_rng *r, uint64_t n)
{
    uint64_t threshold, x;

    if (n == 0)
        return 0;
    /* 2^64 mod n: words below it would over-represent the small residues */
    threshold = (0 - n) % n;
    do {
        x = tc_rng_u64(r);
    } while (x < threshold);
    return x % n;
}

void tc_rng_permutation(tc_rng *r, int64_t *idx, int64_t n)
{
    int64_t i;

    if (!idx || n <= 0)
        return;
    for (i = 0; i < n; i++)
        idx[i] = i;
    for (i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)tc_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
