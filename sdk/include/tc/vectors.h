/*
 * tc/vectors.h - pretrained word vectors (GloVe, word2vec, fastText .vec text files) as the
 * starting rows of an embedding table.
 *
 * A text classifier with an embedding table of vocab_size rows of dim floats (row-major,
 * row i for token id i of a tc_tokenizer) can start from pretrained vectors: allocate the
 * table, initialise every row (random normal, zeros, ...), then let tc_vectors_load
 * overwrite the rows of the vocabulary's tokens that the file has a vector for:
 *
 *     int32_t dim;
 *     tc_vectors_stats st;
 *
 *     if (tc_vectors_probe("glove.6B.100d.txt.gz", &dim) < 0)
 *         goto fail;                                   (tc_error_message() says why)
 *     table = tc_malloc(vocab_size * dim * sizeof(float));   (overflow-check it)
 *     init_random_normal(table, vocab_size * dim);
 *     if (tc_vectors_load("glove.6B.100d.txt.gz", tok, table, vocab_size, dim,
 *                         TC_VECTORS_LOWERCASE_FALLBACK, &st) < 0)
 *         goto fail;
 *     memset(table + pad_id * dim, 0, dim * sizeof(float));  (if the model wants a zero pad)
 *
 * Formats. Both are text, UTF-8 (any bytes but the space are part of a word), one vector
 * per line, fields separated by spaces, and may be gzip-compressed (read through zlib
 * whatever the file's name; a plain file reads as it is):
 *
 * - GloVe: "word v1 v2 ... vD" on every line. D is the number of fields of the first line
 *   minus one (so the first line's word must not contain a space).
 * - word2vec text (also fastText's .vec): a first line of exactly two unsigned integers
 *   "N D", then N lines as above. A file whose first line is two integers is always read as
 *   word2vec (a 1-dimensional GloVe file whose first word is a number cannot be told apart).
 *   The number of vector lines must be N: fewer is TC_EFORMAT (a truncated file, as in
 *   gensim's "unexpected end of input"), and so is more (gensim stops reading after N lines
 *   and ignores the rest; a header that disagrees with its file is more likely a damaged or
 *   concatenated file, so we refuse it, naming the first line past N).
 *   Binary word2vec files (.bin, the C tool's -binary 1 output) are TC_EUNSUPPORTED: convert
 *   them to text first, e.g. with gensim: KeyedVectors.load_word2vec_format(p, binary=True)
 *   .save_word2vec_format(q, binary=False).
 *
 * Reading rules:
 * - Trailing spaces, tabs and CR are ignored (the word2vec C tool ends each line with a
 *   space; Windows files end with CRLF); so are blank lines, which are not counted. A UTF-8
 *   byte order mark at the start of the file is skipped.
 * - Words with spaces: the last D fields of a line are the vector and everything before
 *   them (inner spaces kept) is the word, so lines such as ". . . 0.1 ..." of GloVe 840B
 *   read as the word ". . .". Because a line with too many values would read the same way,
 *   a word whose space-separated parts after the first are all numbers ("the 0.1" with one
 *   value too many) is TC_EFORMAT instead. Vocabularies built by tc_tokenizer never hold a
 *   word with a space (the pre-tokenizer splits on them), so such lines only match added
 *   tokens that contain spaces.
 * - Matching: a word fills the row of tc_tokenizer_token_to_id(word) (added tokens first,
 *   then the model's vocabulary). With TC_VECTORS_LOWERCASE_FALLBACK, a word that is not
 *   in the vocabulary is looked up again with its ASCII letters lowercased; such a match
 *   fills the row only when no earlier line filled it, and an exact match met later
 *   replaces it ("Apple" then "apple" in the file: the vocabulary's "apple" gets the vector
 *   of "apple"). Only ASCII A-Z are lowercased; other bytes are compared as they are.
 * - Duplicates: the first line with a word wins, as in gensim and torchtext; later lines
 *   with the same word are read (and counted in lines) but change nothing.
 * - Padding: the row of tc_tokenizer_pad_id(tok) is never written, even when the file has
 *   a vector for the pad token's string; it keeps whatever the caller put there. A model
 *   that wants a zero pad row (PyTorch's padding_idx) zeroes it itself. Every other id,
 *   <unk> and other special tokens included, is filled when the file has its exact string.
 * - Values are parsed with strtof in the "C" locale whatever the process's locale is, so
 *   "0.5" is one half everywhere; they must be finite ("nan", "inf" and values that
 *   overflow a float are TC_EFORMAT). Lines whose word matches nothing are checked for their
 *   number of fields but their values are not parsed (that is where the speed comes from),
 *   so a bad value on such a line goes unnoticed.
 *
 * Limits (everything a file can make us allocate is bounded): a line holds at most
 * TC_VECTORS_MAX_LINE_BYTES bytes (newline excluded), D is 1 to TC_VECTORS_MAX_DIM. Memory
 * used besides the caller's table: a read buffer of 4 MiB plus one byte per vocabulary id.
 *
 * Errors name the file and, where it applies, the line (counted from 1, blank lines
 * included) and say what to do: TC_ENOTFOUND (no such file), TC_EIO (cannot read it),
 * TC_EFORMAT (empty file, malformed header or line, wrong number of values, a value that is
 * not a finite number, N lines that disagree with the header, corrupt or truncated gzip),
 * TC_ERANGE (a line too long, a dimension out of bounds), TC_EUNSUPPORTED (binary word2vec),
 * TC_EINVAL (bad arguments, or a table dim that differs from the file's). After an error
 * the table may have been partly written.
 *
 * Thread safety: calls on different tables may run at the same time; the tokenizer is only
 * read.
 */
#ifndef TC_VECTORS_H
#define TC_VECTORS_H

#include <tc/common.h>
#include <tc/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_VECTORS_MAX_LINE_BYTES ((size_t)1 << 20) /* one line, newline excluded */
#define TC_VECTORS_MAX_DIM ((int32_t)65536)         /* largest vector dimension */

/** The file formats tc_vectors_load reads (tc_vectors_stats.format). */
typedef enum tc_vectors_format {
    TC_VECTORS_GLOVE = 0,    /* no header: "word v1 ... vD" lines */
    TC_VECTORS_WORD2VEC = 1, /* a "N D" header line first (word2vec text, fastText .vec) */
    TC_VECTORS_FORMAT_MAX
} tc_vectors_format;

/** Flags of tc_vectors_load, or-ed together. */
typedef enum tc_vectors_flags {
    /* a word not in the vocabulary is tried again ASCII-lowercased (see the header comment) */
    TC_VECTORS_LOWERCASE_FALLBACK = 1u << 0
} tc_vectors_flags;

/** What tc_vectors_load did. */
typedef struct tc_vectors_stats {
    int64_t lines;   /* vector lines read (not the header, not blank lines) */
    int64_t matched; /* vocabulary ids that received a vector */
    int32_t dim;     /* the file's dimension */
    int format;      /* TC_VECTORS_GLOVE or TC_VECTORS_WORD2VEC */
} tc_vectors_stats;

/**
 * Fill the rows of table for the vocabulary tokens that the vector file at path has,
 * reading the whole file. Rows of tokens the file lacks, the pad token's row and rows at
 * or past tc_tokenizer_vocab_size(tok) are left as they are.
 *
 * @param path       a GloVe or word2vec text file, gzip-compressed or not
 * @param tok        the vocabulary (ids are rows); only read
 * @param table      (vocab_size, dim) row-major, initialised by the caller
 * @param vocab_size rows of table; at least tc_tokenizer_vocab_size(tok)
 * @param dim        columns of table; must equal the file's dimension (tc_vectors_probe)
 * @param flags      0 or TC_VECTORS_LOWERCASE_FALLBACK
 * @param[out] stats what was read and matched; may be NULL; written only on success
 * @return TC_OK, or TC_ENOTFOUND, TC_EIO, TC_EFORMAT, TC_ERANGE, TC_EUNSUPPORTED, TC_EINVAL
 *         (the dims differ: the message names both), TC_ENOMEM; see the header comment
 */
TC_API int tc_vectors_load(const char *path, const tc_tokenizer *tok, float *table,
                           int64_t vocab_size, int32_t dim, uint32_t flags,
                           tc_vectors_stats *stats);

/**
 * Learn the dimension of a vector file before allocating the table: reads only its first
 * lines (the first non-blank line, and for word2vec the next one, to refuse binary files).
 * It does not check the rest of the file; tc_vectors_load does.
 * @param path a GloVe or word2vec text file, gzip-compressed or not
 * @param[out] dim the dimension D, 1 to TC_VECTORS_MAX_DIM; written only on success
 * @return TC_OK, TC_ENOTFOUND, TC_EIO, TC_EFORMAT (empty, or a malformed first line),
 *         TC_ERANGE, TC_EUNSUPPORTED (binary word2vec)
 */
TC_API int tc_vectors_probe(const char *path, int32_t *dim);

#ifdef __cplusplus
}
#endif

#endif /* TC_VECTORS_H */
