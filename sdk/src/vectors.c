/*
 * vectors.c - <tc/vectors.h>: pretrained word vectors into an embedding table. The reader
 * lives in vectors_read.c; this file maps its words to ids with a tc_tokenizer.
 */
#include <tc/vectors.h>

#include "vectors_internal.h"

static int32_t tokenizer_lookup(const char *word, size_t len, void *payload)
{
    return tc_tokenizer_token_to_id((const tc_tokenizer *)payload, word, len);
}

int tc_vectors_load(const char *path, const tc_tokenizer *tok, float *table, int64_t vocab_size,
                    int32_t dim, uint32_t flags, tc_vectors_stats *stats)
{
    tc__vectors_target t;
    size_t cells;
    int32_t n_ids;

    TC_ASSERT_ARG(path);
    TC_ASSERT_ARG(tok);
    TC_ASSERT_ARG(table);
    TC_ASSERT_ARG(dim >= 1 && dim <= TC_VECTORS_MAX_DIM);
    TC_ASSERT_ARG((flags & ~(uint32_t)TC_VECTORS_LOWERCASE_FALLBACK) == 0);
    n_ids = tc_tokenizer_vocab_size(tok);
    if (vocab_size < n_ids)
        return tc_error_set(TC_EINVAL, "the table has %lld rows, fewer than the tokenizer's %d ids",
                            (long long)vocab_size, (int)n_ids);
    if ((uint64_t)vocab_size > SIZE_MAX ||
        tc__mul_size((size_t)vocab_size, (size_t)dim, &cells) < 0)
        return tc_error_set(TC_EINVAL, "a table of %lld rows of %d floats is too large",
                            (long long)vocab_size, (int)dim);
    t.lookup = tokenizer_lookup;
    t.payload = (void *)(uintptr_t)tok;
    t.n_ids = n_ids;
    t.skip_id = tc_tokenizer_pad_id(tok);
    t.table = table;
    t.rows = vocab_size;
    t.dim = dim;
    t.flags = flags;
    return tc__vectors_load_file(path, &t, stats);
}

int tc_vectors_probe(const char *path, int32_t *dim)
{
    TC_ASSERT_ARG(path);
    TC_ASSERT_ARG(dim);
    return tc__vectors_probe_file(path, dim);
}
