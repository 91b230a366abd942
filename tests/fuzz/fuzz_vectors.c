/*
 * fuzz_vectors.c - libFuzzer target for the word-vector reader (<tc/vectors.h>): the input
 * is a GloVe or word2vec text file held in memory (sdk/src/vectors_internal.h), probed for
 * its dimension, then loaded into a small table through a fixed vocabulary, with and
 * without the lowercase fallback (the input's last byte picks). Anything but a clean return
 * or a clean error is a bug: the sanitizers report it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>

#include "vectors_internal.h"

#define FUZZ_ROWS 6
#define FUZZ_MAX_DIM 1024 /* a larger file dimension is probed but not loaded */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int32_t fuzz_lookup(const char *word, size_t len, void *payload)
{
    static const char *const words[FUZZ_ROWS] = {"<pad>", "the", "cat", ". . .", "a\xC3\xA9", ""};
    int32_t i;

    (void)payload;
    for (i = 0; i < FUZZ_ROWS; i++)
        if (strlen(words[i]) == len && !memcmp(words[i], word, len))
            return i;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float table[FUZZ_ROWS * FUZZ_MAX_DIM];
    tc__vectors_target t = {fuzz_lookup, NULL, FUZZ_ROWS, 0, table, FUZZ_ROWS, 0, 0};
    tc_vectors_stats st;
    int32_t dim = 0;
    uint8_t k = size ? data[size - 1] : 0;

    if (tc__vectors_probe_memory(data, size, "fuzz.txt", &dim) == 0 && dim <= FUZZ_MAX_DIM) {
        t.dim = (k & 0x80) ? dim + 1 : dim; /* sometimes the wrong dimension */
        t.flags = (k & 1) ? TC_VECTORS_LOWERCASE_FALLBACK : 0;
        t.rows = (k & 2) ? FUZZ_ROWS - 2 : FUZZ_ROWS;
        if (t.dim <= FUZZ_MAX_DIM &&
            tc__vectors_load_memory(data, size, "fuzz.txt", &t, &st) == 0 &&
            (st.dim != dim || st.lines < 1 || st.matched > FUZZ_ROWS))
            abort();
    }
    tc_error_clear();
    return 0;
}
