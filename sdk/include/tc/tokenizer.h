/*
 * tc/tokenizer.h - text tokenizers: WordPiece as Hugging Face's fast BERT
 * tokenizer, and a word-level tokenizer built from training texts
 * (TRANSFORMER-SPEC.md 8-9).
 *
 * A tc_tokenizer is immutable once loaded or built: any number of threads may
 * encode with one tokenizer at the same time. It runs Hugging Face's pipeline
 * for one text (or a pair of texts):
 *
 *   1. added tokens (tokenizer.json "added_tokens"; the special tokens such as
 *      [CLS], [SEP], [PAD]) are matched in the raw text, leftmost-longest, and
 *      become their ids directly: a text containing "[SEP]" yields the [SEP]
 *      id, "[sep]" does not match (it is lowercased and split as "[", "sep",
 *      "]"). Added tokens marked "normalized" are matched after step 2;
 *      "lstrip", "rstrip" and "single_word" are honoured;
 *   2. BertNormalizer: clean_text (delete U+0000, U+FFFD and control or
 *      format characters other than tab, LF and CR; every White_Space
 *      character becomes U+0020), handle_chinese_chars (spaces around CJK
 *      ideographs), strip_accents (NFD, then delete nonspacing marks; when
 *      unset, it follows lowercase), lowercase (per character, as Rust's
 *      char::to_lowercase: U+0130 becomes "i" + U+0307, and a final capital
 *      sigma becomes U+03C3, not U+03C2);
 *   3. BertPreTokenizer: split on White_Space, and every punctuation
 *      character (ASCII punctuation or Unicode category P*) is a word;
 *   4. the model: WordPiece (greedy longest match first, continuation pieces
 *      prefixed "##", a word longer than max_input_chars_per_word code points
 *      or with no match becomes the unknown token) or WordLevel (one id per
 *      word, the unknown id for words not in the vocabulary);
 *   5. truncation, then the post-processor (TemplateProcessing or
 *      BertProcessing: "[CLS] A [SEP]", pairs "[CLS] A [SEP] B [SEP]" with
 *      type ids 0 for the first part and 1 for the second), then padding.
 *
 * Unicode categories, canonical decomposition and case mappings come from
 * utf8proc (Debian's libutf8proc). Input is UTF-8; each byte that is not part
 * of a valid sequence reads as U+FFFD (which clean_text deletes). Known
 * differences from Hugging Face's Rust tokenizers, all outside ordinary text:
 * code points assigned after utf8proc's Unicode version (or before the Rust
 * crates' older tables) may be classified differently, and the word
 * characters that stop a "single_word" added token from matching are
 * letters, marks, decimal and letter digits and connector punctuation (Rust
 * uses its regex's \w).
 *
 * Truncation and padding happen only when the encode options ask for them,
 * as in transformers; the "truncation" and "padding" objects of a
 * tokenizer.json are read only for the pad token. Truncation follows the Rust
 * library exactly: the special tokens of the post-processor are counted
 * within max_length, and longest_first on a pair that must lose tokens from
 * both sides keeps max_length / 2 tokens of the shorter and the rest of the
 * longer one.
 *
 * Limits: files of at most TC_TOKENIZER_MAX_FILE_BYTES, vocabularies of at
 * most TC_TOKENIZER_MAX_VOCAB ids, tokens of at most
 * TC_TOKENIZER_MAX_TOKEN_BYTES bytes, texts of at most
 * TC_TOKENIZER_MAX_INPUT_BYTES bytes. A malformed tokenizer.json, vocab.txt
 * or tokenizer_config.json is TC_EFORMAT with a message naming the file,
 * what is wrong and where (line and column of a JSON syntax error, the JSON
 * key, or the vocab.txt line); a well-formed file using a component we do
 * not implement (a BPE model, a Sequence normalizer, ...) is
 * TC_EUNSUPPORTED.
 *
 * Ownership: a tokenizer returned through **out is the caller's and is
 * released with tc_tokenizer_free; the arrays of a tc_encoding are released
 * with tc_encoding_dispose; strings returned through char **out are released
 * with tc_free.
 */
#ifndef TC_TOKENIZER_H
#define TC_TOKENIZER_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_TOKENIZER_MAX_FILE_BYTES ((size_t)64 << 20)  /* tokenizer.json, vocab.txt, config */
#define TC_TOKENIZER_MAX_VOCAB ((int32_t)1 << 22)       /* ids are below this */
#define TC_TOKENIZER_MAX_TOKEN_BYTES ((size_t)1024)     /* one vocabulary entry */
#define TC_TOKENIZER_MAX_INPUT_BYTES ((size_t)64 << 20) /* one text */

typedef struct tc_tokenizer tc_tokenizer;

typedef enum tc_tokenizer_kind {
    TC_TOKENIZER_WORDPIECE = 0,
    TC_TOKENIZER_WORDLEVEL = 1,
    TC_TOKENIZER_KIND_MAX
} tc_tokenizer_kind;

/** Which sequence loses tokens when an encoding is longer than max_length. */
typedef enum tc_truncation {
    TC_TRUNCATION_NONE = 0,      /* never truncate */
    TC_TRUNCATION_LONGEST_FIRST, /* transformers' truncation=True */
    TC_TRUNCATION_ONLY_FIRST,
    TC_TRUNCATION_ONLY_SECOND,
    TC_TRUNCATION_MAX
} tc_truncation;

typedef enum tc_padding {
    TC_PADDING_NONE = 0,
    TC_PADDING_LONGEST,    /* to the longest encoding of the batch */
    TC_PADDING_MAX_LENGTH, /* to max_length */
    TC_PADDING_MAX
} tc_padding;

#define TC_ENCODE_OPTIONS_VERSION 1

/** How to encode. NULL options mean TC_ENCODE_OPTIONS_INIT. New fields go at the end. */
typedef struct tc_encode_options {
    unsigned int version;     /* TC_ENCODE_OPTIONS_VERSION */
    int add_special_tokens;   /* 1: the post-processor's [CLS]/[SEP] (default) */
    tc_truncation truncation; /* default TC_TRUNCATION_NONE */
    /*
     * Length limit for truncation and TC_PADDING_MAX_LENGTH, special tokens
     * included; 0 means the tokenizer's model_max_length (tokenizer_config.json),
     * and an error when that is unknown too.
     */
    int32_t max_length;
    tc_padding padding;         /* default TC_PADDING_NONE; padding never truncates */
    int32_t pad_to_multiple_of; /* when padding, round the length up to a multiple; 0: off */
} tc_encode_options;

#define TC_ENCODE_OPTIONS_INIT                                                                     \
    {                                                                                              \
        TC_ENCODE_OPTIONS_VERSION, 1, TC_TRUNCATION_NONE, 0, TC_PADDING_NONE, 0                    \
    }

/** Fill opts with the defaults of this version. @return TC_OK or TC_EINVAL (unknown version) */
TC_API int tc_encode_options_init(tc_encode_options *opts, unsigned int version);

/**
 * One encoded text or pair. All arrays have len entries and are owned by the
 * encoding; release them with tc_encoding_dispose. A zero-initialised
 * tc_encoding is a valid empty one.
 */
typedef struct tc_encoding {
    int32_t *ids;                 /* (len) token ids */
    int32_t *type_ids;            /* (len) token_type_ids: 0 first text, 1 second */
    int32_t *attention_mask;      /* (len) 1 for tokens, 0 for padding */
    int32_t *special_tokens_mask; /* (len) 1 for tokens the post-processor added, and padding */
    size_t len;
} tc_encoding;

/** Release the arrays of enc and zero it. Accepts NULL and an empty encoding. */
TC_API void tc_encoding_dispose(tc_encoding *enc);

/**
 * Load a tokenizer. path is a tokenizer.json (WordPiece or WordLevel), a
 * vocab.txt (WordPiece with BERT's defaults), or a directory holding either
 * (tokenizer.json preferred). A tokenizer_config.json in the same directory
 * supplies model_max_length and, for vocab.txt, do_lower_case, strip_accents,
 * tokenize_chinese_chars and the special token strings.
 * @param[out] out the tokenizer, owned by the caller (tc_tokenizer_free)
 * @return TC_OK, TC_ENOTFOUND (no such file, or a directory with neither
 *         file), TC_EIO, TC_ERANGE (a file over TC_TOKENIZER_MAX_FILE_BYTES),
 *         TC_EFORMAT (malformed) or TC_EUNSUPPORTED
 */
TC_API int tc_tokenizer_load(tc_tokenizer **out, const char *path);

/**
 * Build a tokenizer from the text of a tokenizer.json, with an optional
 * tokenizer_config.json text (config may be NULL). name stands for the
 * file in error messages (e.g. "tokenizer.json").
 * @return as tc_tokenizer_load, less the file errors
 */
TC_API int tc_tokenizer_from_json(tc_tokenizer **out, const char *json, size_t len,
                                  const char *config, size_t config_len, const char *name);

/**
 * Build a WordPiece tokenizer from the text of a vocab.txt (one token per
 * line, id = line number from 0; a later duplicate line takes the token, as
 * in transformers) and an optional tokenizer_config.json text. Defaults when
 * the config does not say: do_lower_case true, strip_accents unset (follows
 * lowercasing), tokenize_chinese_chars true, special tokens [UNK] [SEP] [PAD]
 * [CLS] [MASK]. [UNK], [SEP] and [CLS] must be in the vocabulary; a missing
 * [PAD] or [MASK] gets the next free id, as transformers adds it.
 */
TC_API int tc_tokenizer_from_vocab(tc_tokenizer **out, const char *vocab, size_t len,
                                   const char *config, size_t config_len, const char *name);

/** Release a tokenizer. Accepts NULL. */
TC_API void tc_tokenizer_free(tc_tokenizer *tok);

/**
 * Encode one text, or a pair when pair is not NULL (texts are UTF-8 with
 * explicit lengths and may contain NUL bytes).
 * @param[out] out the encoding, owned by the caller (tc_encoding_dispose);
 *             written only on success
 * @return TC_OK; TC_ERANGE for a text over TC_TOKENIZER_MAX_INPUT_BYTES;
 *         TC_EINVAL for options that cannot apply (truncation or
 *         TC_PADDING_MAX_LENGTH with no max_length known, max_length shorter
 *         than the special tokens, only_second without a pair, a sequence
 *         too short to remove the excess from, padding without a pad token)
 */
TC_API int tc_tokenizer_encode(tc_encoding *out, const tc_tokenizer *tok, const char *text,
                               size_t text_len, const char *pair, size_t pair_len,
                               const tc_encode_options *opts);

/**
 * Encode n texts (or pairs when pairs is not NULL) into out[0..n-1];
 * TC_PADDING_LONGEST pads them all to the longest. text_lens (pair_lens)
 * may be NULL for NUL-terminated texts. On failure no encoding is left
 * allocated and the message names the index of the failing text.
 */
TC_API int tc_tokenizer_encode_batch(tc_encoding *out, const tc_tokenizer *tok,
                                     const char *const *texts, const size_t *text_lens,
                                     const char *const *pairs, const size_t *pair_lens, size_t n,
                                     const tc_encode_options *opts);

/**
 * Turn ids back into text with the tokenizer's decoder: WordPiece joins
 * "##" pieces to the previous token, puts a space before other tokens and
 * (when the decoder says cleanup) removes spaces before punctuation and
 * contractions as transformers does; without a decoder, tokens are joined
 * with spaces. Ids outside the vocabulary are skipped.
 * @param[out] out a NUL-terminated string, owned by the caller (tc_free)
 * @param skip_special_tokens leave out the special added tokens
 */
TC_API int tc_tokenizer_decode(char **out, const tc_tokenizer *tok, const int32_t *ids, size_t n,
                               int skip_special_tokens);

/** TC_TOKENIZER_WORDPIECE or TC_TOKENIZER_WORDLEVEL. */
TC_API tc_tokenizer_kind tc_tokenizer_get_kind(const tc_tokenizer *tok);

/** The number of ids: the largest id of the vocabulary or the added tokens, plus one. */
TC_API int32_t tc_tokenizer_vocab_size(const tc_tokenizer *tok);

/** The id of a token (added tokens first, then the model's vocabulary), or -1. */
TC_API int32_t tc_tokenizer_token_to_id(const tc_tokenizer *tok, const char *token, size_t len);

/** The token of an id (borrowed, lives as long as tok), or NULL when no token has it. */
TC_API const char *tc_tokenizer_id_to_token(const tc_tokenizer *tok, int32_t id);

/**
 * The padding id: tokenizer_config.json's pad_token, else the tokenizer.json
 * "padding" pad_id, else the added token [PAD] or <pad>; -1 when none.
 */
TC_API int32_t tc_tokenizer_pad_id(const tc_tokenizer *tok);

/** The id of the model's unknown token. */
TC_API int32_t tc_tokenizer_unk_id(const tc_tokenizer *tok);

/** tokenizer_config.json's model_max_length, or 0 when unknown or unbounded. */
TC_API int32_t tc_tokenizer_model_max_length(const tc_tokenizer *tok);

/** How many special tokens the post-processor adds to one text (pair 0) or a pair (pair 1). */
TC_API int32_t tc_tokenizer_num_special_tokens(const tc_tokenizer *tok, int pair);

/**
 * Serialize as a tokenizer.json that Hugging Face's libraries load
 * (vocabulary in id order). A tokenizer loaded from vocab.txt is written
 * as its tokenizer.json equivalent.
 * @param[out] out a NUL-terminated string, owned by the caller (tc_free)
 */
TC_API int tc_tokenizer_to_json(char **out, const tc_tokenizer *tok);

/** Write tc_tokenizer_to_json's text to path, atomically. @return TC_OK or TC_EIO */
TC_API int tc_tokenizer_save(const tc_tokenizer *tok, const char *path);

/* ---- word-level vocabularies built from training texts ---------------------------------- */

#define TC_WORDLEVEL_MAX_DISTINCT ((size_t)1 << 24) /* distinct words a builder counts */

#define TC_WORDLEVEL_OPTIONS_VERSION 1

/**
 * Options of a word-level vocabulary. NULL means TC_WORDLEVEL_OPTIONS_INIT.
 *
 * Texts are normalized and split exactly as a tokenizer.json with a
 * BertNormalizer (clean_text, handle_chinese_chars, the lowercase and
 * strip_accents below) and a BertPreTokenizer would: words are runs of
 * characters between White_Space, and each punctuation character is a word
 * of its own ("don't" is "don", "'", "t").
 */
typedef struct tc_wordlevel_options {
    unsigned int version; /* TC_WORDLEVEL_OPTIONS_VERSION */
    int lowercase;        /* default 1 */
    int strip_accents;    /* 1, 0, or -1 (default): as lowercase */
    int64_t min_freq;     /* words seen fewer times are left out; default 1 */
    /*
     * The largest vocabulary, <pad> and <unk> included; 0 (default) for no
     * limit. At most TC_TOKENIZER_MAX_VOCAB.
     */
    int32_t max_size;
} tc_wordlevel_options;

#define TC_WORDLEVEL_OPTIONS_INIT                                                                  \
    {                                                                                              \
        TC_WORDLEVEL_OPTIONS_VERSION, 1, -1, 1, 0                                                  \
    }

/** Fill opts with the defaults of this version. @return TC_OK or TC_EINVAL */
TC_API int tc_wordlevel_options_init(tc_wordlevel_options *opts, unsigned int version);

typedef struct tc_wordlevel_builder tc_wordlevel_builder;

/** Start counting words. @param[out] out owned by the caller (tc_wordlevel_builder_free) */
TC_API int tc_wordlevel_builder_new(tc_wordlevel_builder **out, const tc_wordlevel_options *opts);

/**
 * Count the words of one text. Words longer than TC_TOKENIZER_MAX_TOKEN_BYTES
 * are not counted (they will encode as <unk>).
 * @return TC_OK, TC_ERANGE (text too long, or more than
 *         TC_WORDLEVEL_MAX_DISTINCT distinct words), TC_ENOMEM
 */
TC_API int tc_wordlevel_builder_add(tc_wordlevel_builder *b, const char *text, size_t len);

/**
 * Build the tokenizer: <pad> is id 0, <unk> id 1, then the words seen at
 * least min_freq times by decreasing count, ties by their UTF-8 bytes in
 * ascending order, cut at max_size. Deterministic: the same texts in any
 * order give the same vocabulary. The builder may go on counting and finish
 * again. The tokenizer has no post-processor (no special tokens are added)
 * and pads with <pad>; tc_tokenizer_save writes it in Hugging Face's
 * WordLevel format.
 * @param[out] out owned by the caller (tc_tokenizer_free)
 */
TC_API int tc_wordlevel_builder_finish(tc_tokenizer **out, const tc_wordlevel_builder *b);

/** Release a builder. Accepts NULL. */
TC_API void tc_wordlevel_builder_free(tc_wordlevel_builder *b);

#ifdef __cplusplus
}
#endif

#endif /* TC_TOKENIZER_H */
