/*
 * tokenizer_internal.h - the parts of the tokenizers shared between
 * tokenizer.c (encode, decode), tokenizer_load.c (tokenizer.json, vocab.txt,
 * tokenizer_config.json), tokenizer_unicode.c (UTF-8, character classes,
 * BertNormalizer, BertPreTokenizer), tokenizer_vocab.c (string map, vectors,
 * added-token trie) and tokenizer_wordlevel.c (vocabulary builder).
 *
 * Text is processed as arrays of Unicode code points (uint32_t); the
 * vocabulary is keyed by UTF-8 bytes.
 */
#ifndef TC_TOKENIZER_INTERNAL_H
#define TC_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tc/tokenizer.h>

#include "internal.h"

/* ---- growable vectors (tokenizer_vocab.c) ------------------------------------------------- */

typedef struct tc__u32vec {
    uint32_t *v;
    size_t n, cap;
} tc__u32vec;

typedef struct tc__i32vec {
    int32_t *v;
    size_t n, cap;
} tc__i32vec;

typedef struct tc__bytes {
    char *v; /* NUL-terminated once anything was appended */
    size_t n, cap;
} tc__bytes;

TC_INTERNAL int tc__u32vec_push(tc__u32vec *a, uint32_t x);
TC_INTERNAL int tc__u32vec_reserve(tc__u32vec *a, size_t extra);
TC_INTERNAL void tc__u32vec_dispose(tc__u32vec *a);
TC_INTERNAL int tc__i32vec_push(tc__i32vec *a, int32_t x);
TC_INTERNAL int tc__i32vec_append(tc__i32vec *a, const int32_t *x, size_t n);
TC_INTERNAL void tc__i32vec_dispose(tc__i32vec *a);
/* Make room for extra more bytes (and a NUL) without changing n. */
TC_INTERNAL int tc__bytes_reserve(tc__bytes *b, size_t extra);
TC_INTERNAL int tc__bytes_append(tc__bytes *b, const char *s, size_t n);
TC_INTERNAL int tc__bytes_appendf(tc__bytes *b, const char *fmt, ...) TC_PRINTF(2, 3);
TC_INTERNAL void tc__bytes_dispose(tc__bytes *b);

/* ---- string map: UTF-8 key -> int64 value, keys copied into one arena --------------------- */

typedef struct tc__strmap_slot {
    size_t off; /* key offset in the arena; SIZE_MAX when the slot is empty */
    uint32_t len;
    uint32_t hash;
    int64_t value;
} tc__strmap_slot;

typedef struct tc__strmap {
    tc__strmap_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
    char *arena; /* keys, each NUL-terminated */
    size_t arena_len, arena_cap;
} tc__strmap;

/*
 * Insert key with value, or find it. *out_slot (optional) is the key's slot,
 * valid until the next insertion; *existed is 1 when the key was there (its
 * value is then left unchanged).
 */
TC_INTERNAL int tc__strmap_put(tc__strmap *m, const char *key, size_t len, int64_t value,
                               tc__strmap_slot **out_slot, int *existed);
/* The slot of the key a + b (concatenated), or NULL. */
TC_INTERNAL tc__strmap_slot *tc__strmap_get2(const tc__strmap *m, const char *a, size_t alen,
                                             const char *b, size_t blen);
TC_INTERNAL tc__strmap_slot *tc__strmap_get(const tc__strmap *m, const char *key, size_t len);
TC_INTERNAL const char *tc__strmap_key(const tc__strmap *m, const tc__strmap_slot *s);
TC_INTERNAL void tc__strmap_dispose(tc__strmap *m);

/* ---- added-token trie over code points ---------------------------------------------------- */

typedef struct tc__trie_node {
    uint32_t cp;
    int32_t child; /* first child, -1 none */
    int32_t next;  /* next sibling, -1 none */
    int32_t value; /* index of the added token ending here, -1 none */
} tc__trie_node;

typedef struct tc__trie {
    tc__trie_node *nodes; /* nodes[0] is the root once anything was inserted */
    size_t n, cap;
} tc__trie;

TC_INTERNAL int tc__trie_insert(tc__trie *t, const uint32_t *cps, size_t n, int32_t value);
/* The longest key starting at s[0]: its value (and *len), or -1. */
TC_INTERNAL int32_t tc__trie_longest(const tc__trie *t, const uint32_t *s, size_t n, size_t *len);
TC_INTERNAL void tc__trie_dispose(tc__trie *t);

/* ---- Unicode (tokenizer_unicode.c) -------------------------------------------------------- */

/* Decode UTF-8, appending code points; each invalid byte becomes U+FFFD. */
TC_INTERNAL int tc__utf8_decode(tc__u32vec *out, const char *s, size_t n);
/* Append the UTF-8 encoding of cp (at most 4 bytes) to buf; returns the byte count. */
TC_INTERNAL size_t tc__utf8_put(char *buf, uint32_t cp);
/* Append the UTF-8 encoding of n code points. */
TC_INTERNAL int tc__utf8_encode(tc__bytes *out, const uint32_t *cps, size_t n);
/* The number of code points of valid UTF-8, or -1 when s is not valid UTF-8. */
TC_INTERNAL int64_t tc__utf8_count(const char *s, size_t n);

TC_INTERNAL int tc__is_whitespace(uint32_t cp); /* the White_Space property */
TC_INTERNAL int tc__is_punct(uint32_t cp);      /* ASCII punctuation or category P* */

typedef struct tc__normalizer {
    int present; /* 0: no normalizer */
    int clean_text;
    int handle_chinese_chars;
    int strip_accents; /* 1, 0, or -1 (null: follow lowercase) */
    int lowercase;
} tc__normalizer;

/* BertNormalizer of in[0..n) appended to out. */
TC_INTERNAL int tc__bert_normalize(tc__u32vec *out, const tc__normalizer *nz, const uint32_t *in,
                                   size_t n);

/* BertPreTokenizer: word boundaries of s[0..n) appended as (begin, end) pairs. */
TC_INTERNAL int tc__bert_pretokenize(tc__u32vec *words, const uint32_t *s, size_t n);

/* ---- the tokenizer ------------------------------------------------------------------------ */

typedef struct tc__added_token {
    char *content;
    uint32_t *cps; /* content as code points (normalized content for normalized tokens) */
    size_t n_cps;
    int32_t id;
    int special, normalized, single_word, lstrip, rstrip;
} tc__added_token;

enum { TC__POST_NONE = 0, TC__POST_TEMPLATE, TC__POST_BERT };
enum { TC__DECODER_NONE = 0, TC__DECODER_WORDPIECE };

/* One piece of a TemplateProcessing template. */
typedef struct tc__piece {
    int is_special; /* 1: a special token, 0: sequence A or B */
    int seq;        /* 0 (A) or 1 (B) for sequences */
    int32_t type_id;
    char *name;   /* the special token's key in special_tokens */
    int32_t *ids; /* its ids */
    size_t n_ids;
    char **tokens; /* its tokens (n_ids) */
} tc__piece;

struct tc_tokenizer {
    tc_tokenizer_kind kind;
    tc__normalizer norm;
    int pretokenizer; /* 1: BertPreTokenizer, 0: none */

    tc__strmap vocab; /* the model's vocabulary: token -> id */
    char *unk_token;
    int32_t unk_id;
    char *prefix; /* WordPiece continuing_subword_prefix */
    size_t prefix_len;
    int64_t max_input_chars_per_word;
    size_t max_token_chars; /* the longest vocabulary entry, in code points */

    tc__added_token *added;
    size_t n_added;
    tc__trie raw_trie;  /* added tokens with normalized false */
    tc__trie norm_trie; /* added tokens with normalized true */

    int post; /* TC__POST_* */
    tc__piece *single, *pair;
    size_t n_single, n_pair;
    int32_t n_special_single, n_special_pair;

    int decoder; /* TC__DECODER_* */
    char *decoder_prefix;
    int decoder_cleanup;

    int32_t pad_id, pad_type_id;
    int32_t model_max_length;

    int32_t n_ids;           /* largest id + 1 */
    const char **id_token;   /* (n_ids) borrowed from vocab or added, NULL for holes */
    unsigned char *id_added; /* (n_ids) 1 added, 2 added and special */
};

/* Allocate an empty tokenizer with the defaults of a BERT WordPiece. */
TC_INTERNAL int tc__tokenizer_alloc(tc_tokenizer **out, tc_tokenizer_kind kind);
/*
 * After the vocabulary, added tokens and post-processor are set: build the
 * id table and tries, check the unknown token, compute the bounds. name is
 * the file for messages.
 */
TC_INTERNAL int tc__tokenizer_finalize(tc_tokenizer *tok, const char *name);
/* Append an added token (content copied). */
TC_INTERNAL int tc__tokenizer_add_token(tc_tokenizer *tok, const char *content, int32_t id,
                                        int special, int normalized);
/* A BERT template "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1" with the given ids. */
TC_INTERNAL int tc__tokenizer_bert_template(tc_tokenizer *tok, const char *cls, int32_t cls_id,
                                            const char *sep, int32_t sep_id);

#endif /* TC_TOKENIZER_INTERNAL_H */
