/*
 * tc/rng.h - the counter-based random number generator.
 *
 * One job seed derives independent streams (initialisation, shuffling,
 * dropout, ...) by stream id. A generator is two 64-bit words, so its state is
 * trivially saved in a checkpoint and restored bit for bit. The output does
 * not depend on thread count: draw sequentially, or derive per-item streams.
 */
#ifndef TC_RNG_H
#define TC_RNG_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Well-known stream ids derived from the job seed. */
typedef enum tc_rng_stream {
    TC_RNG_STREAM_INIT = 1,    /* parameter initialisation */
    TC_RNG_STREAM_SHUFFLE = 2, /* epoch shuffles and held-out splits */
    TC_RNG_STREAM_DROPOUT = 3  /* dropout masks */
} tc_rng_stream;

typedef struct tc_rng {
    uint64_t key;     /* derived from (seed, stream) */
    uint64_t counter; /* number of 64-bit words drawn so far */
} tc_rng;

/** Initialise a generator for stream `stream` of `seed`. */
TC_API void tc_rng_init(tc_rng *r, uint64_t seed, uint64_t stream);

/** Next 64 random bits. */
TC_API uint64_t tc_rng_u64(tc_rng *r);

/** Uniform float in [0, 1) with 24 random bits. */
TC_API float tc_rng_uniform(tc_rng *r);

/** Standard normal sample (Box-Muller; consumes two words). */
TC_API float tc_rng_normal(tc_rng *r);

/** Uniform integer in [0, n), unbiased; n > 0. */
TC_API uint64_t tc_rng_below(tc_rng *r, uint64_t n);

/** Fill idx[0..n-1] with a uniformly random permutation of 0..n-1 (Fisher-Yates). */
TC_API void tc_rng_permutation(tc_rng *r, int64_t *idx, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* TC_RNG_H */
