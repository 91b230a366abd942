/*
 * test_rng.c - the counter-based generator: pinned output, stream
 * independence, state save/restore, and the distributions drawn from it.
 * Every run is deterministic, so the statistical bounds never flake; they are
 * set far out (p < 1e-6 for a correct generator) to catch real bias only.
 */
#include <tc/error.h>
#include <tc/rng.h>

#include "tc_test.h"

/* The sequence is part of the contract: checkpoints and reproducible runs rely on it. */
static void test_sdk_rng__golden_values(void)
{
    static const uint64_t want42[4] = {0xd19f8147488c6d59ull, 0xd783eb5cde101ab4ull,
                                       0x746e94d0047a5ebaull, 0xd69c4ea88e64256dull};
    static const uint64_t want0[2] = {0xd4bf4d5750492370ull, 0x5f00af5c7a4a8758ull};
    tc_rng r;
    int i;

    tc_rng_init(&r, 42, TC_RNG_STREAM_INIT);
    TC_CHECK(r.key == 0x37bede9c1bebf272ull);
    TC_CHECK(r.counter == 0);
    for (i = 0; i < 4; i++)
        TC_CHECK(tc_rng_u64(&r) == want42[i]);
    TC_CHECK(r.counter == 4);
    tc_rng_init(&r, 0, 0);
    TC_CHECK(r.key == 0x2ae9fa867a6e4b45ull);
    for (i = 0; i < 2; i++)
        TC_CHECK(tc_rng_u64(&r) == want0[i]);
    tc_rng_init(&r, 42, TC_RNG_STREAM_SHUFFLE);
    TC_CHECK(tc_rng_uniform(&r) == 0x1.1f30eap-1f); /* 0.56092006 */
    TC_CHECK_NEAR(tc_rng_normal(&r), -1.05130839, 1e-6);
}

static void test_sdk_rng__counter_and_restore(void)
{
    tc_rng a, b;
    uint64_t w[8];
    int i;

    tc_rng_init(&a, 7, TC_RNG_STREAM_DROPOUT);
    for (i = 0; i < 8; i++)
        w[i] = tc_rng_u64(&a);
    /* word i depends only on (key, i): jumping the counter reproduces it */
    b = a;
    b.counter = 5;
    TC_CHECK(tc_rng_u64(&b) == w[5]);
    /* saving the two fields saves the generator */
    tc_rng_init(&a, 7, TC_RNG_STREAM_DROPOUT);
    tc_rng_u64(&a);
    tc_rng_u64(&a);
    b = a;
    for (i = 0; i < 6; i++)
        TC_CHECK(tc_rng_u64(&a) == tc_rng_u64(&b));
    /* uniform consumes one word, normal two */
    tc_rng_init(&a, 7, 1);
    tc_rng_uniform(&a);
    TC_CHECK(a.counter == 1);
    tc_rng_normal(&a);
    TC_CHECK(a.counter == 3);
    /* re-initialising restarts the stream */
    tc_rng_init(&a, 7, TC_RNG_STREAM_DROPOUT);
    TC_CHECK(tc_rng_u64(&a) == w[0]);
}

static int popcount64(uint64_t x)
{
    int n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Different seeds and streams give unrelated sequences (about half the bits differ). */
static void test_sdk_rng__streams_independent(void)
{
    const int n = 4000;
    tc_rng r[4];
    long diff[3] = {0, 0, 0};
    int i, k;

    tc_rng_init(&r[0], 42, 1);
    tc_rng_init(&r[1], 42, 2);
    tc_rng_init(&r[2], 43, 1);
    tc_rng_init(&r[3], 42 ^ 1ull << 63, 1);
    TC_CHECK(r[0].key != r[1].key && r[0].key != r[2].key && r[1].key != r[2].key);
    for (i = 0; i < n; i++) {
        uint64_t w0 = tc_rng_u64(&r[0]);
        for (k = 1; k < 4; k++)
            diff[k - 1] += popcount64(w0 ^ tc_rng_u64(&r[k]));
    }
    for (k = 0; k < 3; k++)
        TC_CHECK_NEAR((double)diff[k] / (64.0 * n), 0.5, 0.01);
}

static void test_sdk_rng__bits_balanced(void)
{
    const int n = 200000;
    long ones[64] = {0};
    tc_rng r;
    int i, b;

    tc_rng_init(&r, 123, 1);
    for (i = 0; i < n; i++) {
        uint64_t w = tc_rng_u64(&r);
        for (b = 0; b < 64; b++)
            ones[b] += (long)(w >> b & 1);
    }
    for (b = 0; b < 64; b++)
        TC_CHECK_NEAR((double)ones[b] / n, 0.5, 0.006); /* 5.4 sigma */
}

static void test_sdk_rng__uniform(void)
{
    const int n = 200000;
    double sum = 0, sq = 0;
    float lo = 1, hi = 0;
    int i, grid_ok = 1;
    tc_rng r;

    tc_rng_init(&r, 5, 1);
    for (i = 0; i < n; i++) {
        float u = tc_rng_uniform(&r);
        double scaled = (double)u * 16777216.0;
        if (scaled != (double)(long)scaled)
            grid_ok = 0;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        sum += u;
        sq += (double)u * u;
    }
    TC_CHECK(grid_ok); /* multiples of 2^-24 */
    TC_CHECK(lo >= 0.0f && hi < 1.0f);
    TC_CHECK(lo < 1e-4f && hi > 1.0f - 1e-4f);
    TC_CHECK_NEAR(sum / n, 0.5, 0.004);
    TC_CHECK_NEAR(sq / n - (sum / n) * (sum / n), 1.0 / 12.0, 0.002);
}

static void test_sdk_rng__normal(void)
{
    const int n = 200000;
    double sum = 0, sq = 0, m4 = 0;
    int i, within1 = 0, finite = 1;
    tc_rng r;

    tc_rng_init(&r, 9, TC_RNG_STREAM_INIT);
    for (i = 0; i < n; i++) {
        double z = tc_rng_normal(&r);
        if (!isfinite(z))
            finite = 0;
        sum += z;
        sq += z * z;
        m4 += z * z * z * z;
        within1 += fabs(z) < 1.0;
    }
    TC_CHECK(finite);
    TC_CHECK_NEAR(sum / n, 0.0, 0.012);
    TC_CHECK_NEAR(sq / n, 1.0, 0.02);
    TC_CHECK_NEAR(m4 / n, 3.0, 0.12);
    TC_CHECK_NEAR((double)within1 / n, 0.682689, 0.006);
}

static void test_sdk_rng__below(void)
{
    const int n = 60000;
    long count[3] = {0, 0, 0};
    double chi2 = 0;
    const uint64_t big = (1ull << 63) + 1; /* rejects almost half the words */
    int i, ok = 1;
    tc_rng r;

    tc_rng_init(&r, 11, 2);
    for (i = 0; i < 100; i++)
        ok &= tc_rng_below(&r, 1) == 0;
    TC_CHECK(ok);
    TC_CHECK(tc_rng_below(&r, 0) == 0);
    for (i = 0; i < n; i++) {
        uint64_t v = tc_rng_below(&r, 3);
        if (v >= 3) {
            ok = 0;
            break;
        }
        count[v]++;
    }
    TC_CHECK(ok);
    for (i = 0; i < 3; i++)
        chi2 += (count[i] - n / 3.0) * (count[i] - n / 3.0) / (n / 3.0);
    TC_CHECK(chi2 < 28.0); /* df 2, p ~ 1e-6 */
    {
        long high = 0;
        for (i = 0; i < 20000; i++) {
            uint64_t v = tc_rng_below(&r, big);
            ok &= v < big;
            high += v >= big / 2;
        }
        TC_CHECK(ok);
        TC_CHECK_NEAR(high / 20000.0, 0.5, 0.02);
    }
}

static void test_sdk_rng__permutation(void)
{
    enum { N = 1000 };
    int64_t idx[N], again[N];
    static long hist[24];
    int seen[N] = {0};
    int i, ok = 1, moved = 0;
    double chi2 = 0;
    tc_rng r, r2;

    tc_rng_init(&r, 3, TC_RNG_STREAM_SHUFFLE);
    r2 = r;
    tc_rng_permutation(&r, idx, N);
    tc_rng_permutation(&r2, again, N);
    for (i = 0; i < N; i++) {
        ok &= idx[i] >= 0 && idx[i] < N && !seen[idx[i]];
        if (idx[i] >= 0 && idx[i] < N)
            seen[idx[i]] = 1;
        moved += idx[i] != i;
        ok &= idx[i] == again[i];
    }
    TC_CHECK(ok);
    TC_CHECK(moved > N - 20);
    tc_rng_permutation(&r, idx, 0); /* no-op */
    tc_rng_permutation(&r, idx, 1);
    TC_CHECK(idx[0] == 0);
    /* all 24 orders of 4 items equally likely */
    for (i = 0; i < 24000; i++) {
        int64_t p[4];
        int code = 0, a, b;
        tc_rng_permutation(&r, p, 4);
        /* Lehmer code of p */
        for (a = 0; a < 4; a++) {
            int smaller = 0;
            for (b = a + 1; b < 4; b++)
                smaller += p[b] < p[a];
            code = code * (4 - a) + smaller;
        }
        hist[code]++;
    }
    for (i = 0; i < 24; i++)
        chi2 += (hist[i] - 1000.0) * (hist[i] - 1000.0) / 1000.0;
    TC_CHECK(chi2 < 62.0); /* df 23, p ~ 1e-5 */
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_rng__golden_values),
    TC_TEST(test_sdk_rng__counter_and_restore),
    TC_TEST(test_sdk_rng__streams_independent),
    TC_TEST(test_sdk_rng__bits_balanced),
    TC_TEST(test_sdk_rng__uniform),
    TC_TEST(test_sdk_rng__normal),
    TC_TEST(test_sdk_rng__below),
    TC_TEST(test_sdk_rng__permutation),
};

TC_TEST_MAIN(tests)
