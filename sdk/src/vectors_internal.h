/*
 * vectors_internal.h - the word-vector reader behind <tc/vectors.h> (not installed).
 *
 * vectors_read.c parses GloVe / word2vec text from a file (through zlib) or from memory and
 * knows nothing of tokenizers: words are mapped to rows by a lookup callback. vectors.c
 * wraps it with a tc_tokenizer. The split lets tests/fuzz/fuzz_vectors.c build the reader
 * alone (vectors_read.c, error.c, alloc.c and zlib) and feed it bytes from memory.
 *
 * Every rule of the public header holds here; the pad row of the public API is skip_id.
 */
#ifndef TC_VECTORS_INTERNAL_H
#define TC_VECTORS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tc/vectors.h>

#include "internal.h"

/*
 * Map a word (len bytes, not NUL-terminated) to a row id, or return -1. Ids must be below
 * the n_ids given to the reader.
 */
typedef int32_t (*tc__vectors_lookup_fn)(const char *word, size_t len, void *payload);

/* Where the words go: the lookup, its ids and the table. */
typedef struct tc__vectors_target {
    tc__vectors_lookup_fn lookup;
    void *payload;
    int32_t n_ids;   /* lookup returns ids below this; one state byte each */
    int32_t skip_id; /* never written (the pad id), or -1 */
    float *table;    /* (rows, dim) */
    int64_t rows;    /* ids at or past rows are ignored */
    int32_t dim;
    uint32_t flags; /* tc_vectors_flags */
} tc__vectors_target;

/* tc_vectors_load on a file (name = path in messages). */
TC_INTERNAL int tc__vectors_load_file(const char *path, const tc__vectors_target *t,
                                      tc_vectors_stats *stats);

/* tc_vectors_load on len bytes of uncompressed text; name stands for the file in messages. */
TC_INTERNAL int tc__vectors_load_memory(const void *data, size_t len, const char *name,
                                        const tc__vectors_target *t, tc_vectors_stats *stats);

/* tc_vectors_probe on a file. */
TC_INTERNAL int tc__vectors_probe_file(const char *path, int32_t *dim);

/* tc_vectors_probe on len bytes of uncompressed text. */
TC_INTERNAL int tc__vectors_probe_memory(const void *data, size_t len, const char *name,
                                         int32_t *dim);

#endif /* TC_VECTORS_INTERNAL_H */
