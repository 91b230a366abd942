/*
 * tokenizer_wordlevel.c - word-level vocabularies counted from training
 * texts (tc_wordlevel_builder in tc/tokenizer.h).
 *
 * A builder normalizes and splits each text exactly as the tokenizer it
 * builds will (BertNormalizer + BertPreTokenizer), so every counted word is
 * one the tokenizer can produce. The literal special tokens "<pad>" and
 * "<unk>" are skipped in texts, as the tokenizer matches them before
 * normalization.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_internal.h"

static const char *const PAD = "<pad>";
static const char *const UNK = "<unk>";

struct tc_wordlevel_builder {
    tc_wordlevel_options opts;
    tc__normalizer norm;
    tc__strmap counts; /* word -> count */
    tc__u32vec cps, normed, words;
    tc__bytes utf8;
};

int tc_wordlevel_options_init(tc_wordlevel_options *opts, unsigned int version)
{
    tc_wordlevel_options def = TC_WORDLEVEL_OPTIONS_INIT;

    TC_ASSERT_ARG(opts);
    if (version != TC_WORDLEVEL_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_wordlevel_options version %u", version);
    *opts = def;
    return TC_OK;
}

int tc_wordlevel_builder_new(tc_wordlevel_builder **out, const tc_wordlevel_options *opts)
{
    tc_wordlevel_options def = TC_WORDLEVEL_OPTIONS_INIT;
    tc_wordlevel_builder *b;

    TC_ASSERT_ARG(out);
    if (!opts)
        opts = &def;
    if (opts->version != TC_WORDLEVEL_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_wordlevel_options version %u", opts->version);
    if (opts->min_freq < 0 || opts->max_size < 0 || opts->max_size == 1 ||
        opts->max_size > TC_TOKENIZER_MAX_VOCAB || opts->strip_accents < -1 ||
        opts->strip_accents > 1)
        return tc_error_set(TC_EINVAL,
                            "invalid word-level options: min_freq %lld, max_size %d "
                            "(0, or 2 to %d), strip_accents %d",
                            (long long)opts->min_freq, (int)opts->max_size,
                            (int)TC_TOKENIZER_MAX_VOCAB, opts->strip_accents);
    if (!(b = tc_calloc(1, sizeof(*b))))
        return TC_ENOMEM;
    b->opts = *opts;
    b->norm.present = 1;
    b->norm.clean_text = 1;
    b->norm.handle_chinese_chars = 1;
    b->norm.lowercase = opts->lowercase ? 1 : 0;
    b->norm.strip_accents = opts->strip_accents;
    *out = b;
    return TC_OK;
}

void tc_wordlevel_builder_free(tc_wordlevel_builder *b)
{
    if (!b)
        return;
    tc__strmap_dispose(&b->counts);
    tc__u32vec_dispose(&b->cps);
    tc__u32vec_dispose(&b->normed);
    tc__u32vec_dispose(&b->words);
    tc__bytes_dispose(&b->utf8);
    tc_free(b);
}

/* Count the words of a piece of text that holds no special token. */
static int count_piece(tc_wordlevel_builder *b, const char *text, size_t len)
{
    size_t i;
    int err;

    b->cps.n = b->normed.n = b->words.n = 0;
    if ((err = tc__utf8_decode(&b->cps, text, len)) < 0 ||
        (err = tc__bert_normalize(&b->normed, &b->norm, b->cps.v, b->cps.n)) < 0 ||
        (err = tc__bert_pretokenize(&b->words, b->normed.v, b->normed.n)) < 0)
        return err;
    for (i = 0; i + 1 < b->words.n; i += 2) {
        tc__strmap_slot *slot;
        int existed;
        b->utf8.n = 0;
        if ((err = tc__utf8_encode(&b->utf8, b->normed.v + b->words.v[i],
                                   b->words.v[i + 1] - b->words.v[i])) < 0)
            return err;
        if (b->utf8.n > TC_TOKENIZER_MAX_TOKEN_BYTES)
            continue;
        if (b->counts.count >= TC_WORDLEVEL_MAX_DISTINCT &&
            !tc__strmap_get(&b->counts, b->utf8.v, b->utf8.n))
            return tc_error_set(TC_ERANGE, "more than %zu distinct words",
                                TC_WORDLEVEL_MAX_DISTINCT);
        if ((err = tc__strmap_put(&b->counts, b->utf8.v, b->utf8.n, 1, &slot, &existed)) < 0)
            return err;
        if (existed)
            slot->value++;
    }
    return TC_OK;
}

/* The next "<pad>" or "<unk>" in text[0..len), or NULL. */
static const char *next_special(const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        if (end - p >= 5 && (!memcmp(p, PAD, 5) || !memcmp(p, UNK, 5)))
            return p;
        p++;
    }
    return NULL;
}

int tc_wordlevel_builder_add(tc_wordlevel_builder *b, const char *text, size_t len)
{
    const char *p;
    int err;

    TC_ASSERT_ARG(b);
    TC_ASSERT_ARG(text || !len);
    if (len > TC_TOKENIZER_MAX_INPUT_BYTES)
        return tc_error_set(TC_ERANGE, "text of %zu bytes is over the limit of %zu", len,
                            TC_TOKENIZER_MAX_INPUT_BYTES);
    while (len && (p = next_special(text, len)) != NULL) {
        if ((err = count_piece(b, text, (size_t)(p - text))) < 0)
            return err;
        len -= (size_t)(p - text) + 5;
        text = p + 5;
    }
    return len ? count_piece(b, text, len) : TC_OK;
}

typedef struct entry {
    const char *word;
    uint32_t len;
    int64_t count;
} entry;

/* By decreasing count, then by bytes (a prefix first). */
static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if ((c = memcmp(a->word, b->word, n)) != 0)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int build(tc_tokenizer *tok, const tc_wordlevel_builder *b, const entry *e, size_t n)
{
    size_t i;
    int err;

    tok->norm = b->norm;
    tok->pretokenizer = 1;
    tok->post = TC__POST_NONE;
    tok->decoder = TC__DECODER_NONE;
    if (!(tok->unk_token = tc_strdup(UNK)) || !(tok->prefix = tc_strdup("##")))
        return TC_ENOMEM;
    tok->prefix_len = 2;
    if ((err = tc__strmap_put(&tok->vocab, PAD, 5, 0, NULL, NULL)) < 0 ||
        (err = tc__strmap_put(&tok->vocab, UNK, 5, 1, NULL, NULL)) < 0)
        return err;
    for (i = 0; i < n; i++)
        if ((err = tc__strmap_put(&tok->vocab, e[i].word, e[i].len, (int64_t)i + 2, NULL, NULL)) <
            0)
            return err;
    if ((err = tc__tokenizer_add_token(tok, PAD, 0, 1, 0)) < 0 ||
        (err = tc__tokenizer_add_token(tok, UNK, 1, 1, 0)) < 0)
        return err;
    tok->pad_id = 0;
    return tc__tokenizer_finalize(tok, "word-level vocabulary");
}

int tc_wordlevel_builder_finish(tc_tokenizer **out, const tc_wordlevel_builder *b)
{
    tc_tokenizer *tok = NULL;
    entry *e = NULL;
    size_t i, n = 0, limit;
    int64_t min_freq;
    int err;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(b);
    min_freq = b->opts.min_freq < 1 ? 1 : b->opts.min_freq;
    limit = (size_t)(b->opts.max_size ? b->opts.max_size : TC_TOKENIZER_MAX_VOCAB) - 2;
    if (!(e = tc_calloc(b->counts.count + 1, sizeof(*e))))
        return TC_ENOMEM;
    for (i = 0; i < b->counts.cap; i++) {
        const tc__strmap_slot *s = &b->counts.slots[i];
        if (s->off == SIZE_MAX || s->value < min_freq)
            continue;
        e[n].word = tc__strmap_key(&b->counts, s);
        e[n].len = s->len;
        e[n].count = s->value;
        n++;
    }
    qsort(e, n, sizeof(*e), entry_cmp);
    if (n > limit)
        n = limit;
    if ((err = tc__tokenizer_alloc(&tok, TC_TOKENIZER_WORDLEVEL)) < 0 ||
        (err = build(tok, b, e, n)) < 0)
        goto out;
    *out = tok;
    tok = NULL;
out:
    tc_tokenizer_free(tok);
    tc_free(e);
    return err;
}
