/*
 * tokenizer.c - the tc_tokenizer object and its encode/decode pipeline
 * (tc/tokenizer.h): added tokens, normalizer, pre-tokenizer, WordPiece or
 * WordLevel model, truncation, post-processor, padding.
 *
 * The order of operations and every edge case follow Hugging Face's Rust
 * tokenizers (tokenizer/mod.rs, added_vocabulary.rs, models/wordpiece,
 * utils/truncation.rs, utils/padding.rs, processors/template.rs).
 */
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer_internal.h"

/* ---- lifecycle ---------------------------------------------------------------------------- */

int tc__tokenizer_alloc(tc_tokenizer **out, tc_tokenizer_kind kind)
{
    tc_tokenizer *tok = tc_calloc(1, sizeof(*tok));

    if (!tok)
        return TC_ENOMEM;
    tok->kind = kind;
    tok->unk_id = -1;
    tok->max_input_chars_per_word = 100;
    tok->pad_id = -1;
    tok->norm.strip_accents = -1;
    *out = tok;
    return TC_OK;
}

static void pieces_free(tc__piece *p, size_t n)
{
    size_t i, j;

    for (i = 0; p && i < n; i++) {
        tc_free(p[i].name);
        tc_free(p[i].ids);
        for (j = 0; p[i].tokens && j < p[i].n_ids; j++)
            tc_free(p[i].tokens[j]);
        tc_free(p[i].tokens);
    }
    tc_free(p);
}

void tc_tokenizer_free(tc_tokenizer *tok)
{
    size_t i;

    if (!tok)
        return;
    tc__strmap_dispose(&tok->vocab);
    tc_free(tok->unk_token);
    tc_free(tok->prefix);
    for (i = 0; i < tok->n_added; i++) {
        tc_free(tok->added[i].content);
        tc_free(tok->added[i].cps);
    }
    tc_free(tok->added);
    tc__trie_dispose(&tok->raw_trie);
    tc__trie_dispose(&tok->norm_trie);
    pieces_free(tok->single, tok->n_single);
    pieces_free(tok->pair, tok->n_pair);
    tc_free(tok->decoder_prefix);
    tc_free(tok->id_token);
    tc_free(tok->id_added);
    tc_free(tok);
}

int tc__tokenizer_add_token(tc_tokenizer *tok, const char *content, int32_t id, int special,
                            int normalized)
{
    tc__added_token *na, *t;

    if (tok->n_added >= (size_t)TC_TOKENIZER_MAX_VOCAB)
        return tc_error_set(TC_ERANGE, "more than %d added tokens", (int)TC_TOKENIZER_MAX_VOCAB);
    if (!(na = tc_realloc(tok->added, (tok->n_added + 1) * sizeof(*na))))
        return TC_ENOMEM;
    tok->added = na;
    t = &na[tok->n_added];
    memset(t, 0, sizeof(*t));
    if (!(t->content = tc_strdup(content)))
        return TC_ENOMEM;
    t->id = id;
    t->special = special;
    t->normalized = normalized;
    tok->n_added++;
    return TC_OK;
}

static int piece_special(tc__piece *p, const char *name, int32_t id, int32_t type_id)
{
    p->is_special = 1;
    p->type_id = type_id;
    p->n_ids = 1;
    if (!(p->name = tc_strdup(name)) || !(p->ids = tc_malloc(sizeof(int32_t))) ||
        !(p->tokens = tc_calloc(1, sizeof(char *))) || !(p->tokens[0] = tc_strdup(name)))
        return TC_ENOMEM;
    p->ids[0] = id;
    return TC_OK;
}

int tc__tokenizer_bert_template(tc_tokenizer *tok, const char *cls, int32_t cls_id, const char *sep,
                                int32_t sep_id)
{
    int err;

    if (!(tok->single = tc_calloc(3, sizeof(tc__piece))))
        return TC_ENOMEM;
    tok->n_single = 3;
    if (!(tok->pair = tc_calloc(5, sizeof(tc__piece))))
        return TC_ENOMEM;
    tok->n_pair = 5;
    if ((err = piece_special(&tok->single[0], cls, cls_id, 0)) < 0 ||
        (err = piece_special(&tok->single[2], sep, sep_id, 0)) < 0 ||
        (err = piece_special(&tok->pair[0], cls, cls_id, 0)) < 0 ||
        (err = piece_special(&tok->pair[2], sep, sep_id, 0)) < 0 ||
        (err = piece_special(&tok->pair[4], sep, sep_id, 1)) < 0)
        return err;
    tok->pair[3].seq = 1;
    tok->pair[3].type_id = 1;
    return TC_OK;
}

static int32_t count_special(const tc__piece *p, size_t n)
{
    size_t i, total = 0;

    for (i = 0; i < n; i++)
        if (p[i].is_special)
            total += p[i].n_ids;
    return total > (size_t)INT32_MAX ? INT32_MAX : (int32_t)total;
}

static int set_id_token(tc_tokenizer *tok, int32_t id, const char *token, unsigned char added)
{
    if (id < 0 || id >= tok->n_ids)
        return tc_error_set(TC_ERANGE, "id %d out of range", (int)id);
    tok->id_token[id] = token;
    if (added)
        tok->id_added[id] = added;
    return TC_OK;
}

static int build_id_table(tc_tokenizer *tok)
{
    int64_t max_id = -1;
    size_t i;
    int err;

    for (i = 0; i < tok->vocab.cap; i++)
        if (tok->vocab.slots[i].off != SIZE_MAX && tok->vocab.slots[i].value > max_id)
            max_id = tok->vocab.slots[i].value;
    for (i = 0; i < tok->n_added; i++)
        if (tok->added[i].id > max_id)
            max_id = tok->added[i].id;
    tok->n_ids = (int32_t)(max_id + 1);
    if (!(tok->id_token = tc_calloc((size_t)tok->n_ids + 1, sizeof(char *))) ||
        !(tok->id_added = tc_calloc((size_t)tok->n_ids + 1, 1)))
        return TC_ENOMEM;
    for (i = 0; i < tok->vocab.cap; i++) {
        const tc__strmap_slot *s = &tok->vocab.slots[i];
        if (s->off != SIZE_MAX && s->value >= 0 && tok->id_token[s->value] == NULL &&
            (err = set_id_token(tok, (int32_t)s->value, tc__strmap_key(&tok->vocab, s), 0)) < 0)
            return err;
    }
    /* Added tokens take their id over the model's token, as Rust's id_to_token does. */
    for (i = 0; i < tok->n_added; i++)
        if ((err = set_id_token(tok, tok->added[i].id, tok->added[i].content,
                                tok->added[i].special ? 2 : 1)) < 0)
            return err;
    return TC_OK;
}

/* The code points of an added token, normalized when the token says so. */
static int added_cps(const tc_tokenizer *tok, tc__added_token *t)
{
    tc__u32vec raw = {0}, norm = {0};
    int err;

    if ((err = tc__utf8_decode(&raw, t->content, strlen(t->content))) < 0)
        goto out;
    if (t->normalized && tok->norm.present) {
        if ((err = tc__bert_normalize(&norm, &tok->norm, raw.v, raw.n)) < 0)
            goto out;
        t->cps = norm.v;
        t->n_cps = norm.n;
        norm.v = NULL;
    } else {
        t->cps = raw.v;
        t->n_cps = raw.n;
        raw.v = NULL;
    }
out:
    tc__u32vec_dispose(&raw);
    tc__u32vec_dispose(&norm);
    return err;
}

static int compute_max_token_chars(tc_tokenizer *tok, const char *name)
{
    size_t i;

    tok->max_token_chars = 1;
    for (i = 0; i < tok->vocab.cap; i++) {
        const tc__strmap_slot *s = &tok->vocab.slots[i];
        int64_t chars;
        if (s->off == SIZE_MAX)
            continue;
        chars = tc__utf8_count(tc__strmap_key(&tok->vocab, s), s->len);
        if (chars < 0)
            return tc_error_set(TC_EFORMAT, "'%s': vocabulary token '%s' is not valid UTF-8", name,
                                tc__strmap_key(&tok->vocab, s));
        if ((size_t)chars > tok->max_token_chars)
            tok->max_token_chars = (size_t)chars;
    }
    return TC_OK;
}

int tc__tokenizer_finalize(tc_tokenizer *tok, const char *name)
{
    const tc__strmap_slot *unk;
    size_t i;
    int err;

    if (tok->unk_token) {
        if ((unk = tc__strmap_get(&tok->vocab, tok->unk_token, strlen(tok->unk_token))))
            tok->unk_id = (int32_t)unk->value;
        else
            return tc_error_set(TC_EFORMAT, "'%s': the unknown token '%s' is not in the vocabulary",
                                name, tok->unk_token);
    }
    if ((err = compute_max_token_chars(tok, name)) < 0 || (err = build_id_table(tok)) < 0)
        return err;
    for (i = 0; i < tok->n_added; i++) {
        tc__added_token *t = &tok->added[i];
        if ((err = added_cps(tok, t)) < 0)
            return err;
        if (!t->n_cps)
            continue; /* an added token normalized to nothing can never match */
        err = tc__trie_insert(t->normalized && tok->norm.present ? &tok->norm_trie : &tok->raw_trie,
                              t->cps, t->n_cps, (int32_t)i);
        if (err < 0)
            return err;
    }
    tok->n_special_single = count_special(tok->single, tok->n_single);
    tok->n_special_pair = count_special(tok->pair, tok->n_pair);
    if (tok->pad_id < 0) {
        for (i = 0; i < tok->n_added; i++)
            if (tok->added[i].special && (!strcmp(tok->added[i].content, "[PAD]") ||
                                          !strcmp(tok->added[i].content, "<pad>")))
                tok->pad_id = tok->added[i].id;
    }
    return TC_OK;
}

/* ---- accessors ---------------------------------------------------------------------------- */

tc_tokenizer_kind tc_tokenizer_get_kind(const tc_tokenizer *tok)
{
    return tok->kind;
}

int32_t tc_tokenizer_vocab_size(const tc_tokenizer *tok)
{
    return tok->n_ids;
}

int32_t tc_tokenizer_token_to_id(const tc_tokenizer *tok, const char *token, size_t len)
{
    const tc__strmap_slot *s;
    size_t i;

    for (i = tok->n_added; i-- > 0;)
        if (strlen(tok->added[i].content) == len && !memcmp(tok->added[i].content, token, len))
            return tok->added[i].id;
    s = tc__strmap_get(&tok->vocab, token, len);
    return s ? (int32_t)s->value : -1;
}

const char *tc_tokenizer_id_to_token(const tc_tokenizer *tok, int32_t id)
{
    return id >= 0 && id < tok->n_ids ? tok->id_token[id] : NULL;
}

int32_t tc_tokenizer_pad_id(const tc_tokenizer *tok)
{
    return tok->pad_id;
}

int32_t tc_tokenizer_unk_id(const tc_tokenizer *tok)
{
    return tok->unk_id;
}

int32_t tc_tokenizer_model_max_length(const tc_tokenizer *tok)
{
    return tok->model_max_length;
}

int32_t tc_tokenizer_num_special_tokens(const tc_tokenizer *tok, int pair)
{
    if (tok->post == TC__POST_NONE)
        return 0;
    return pair ? tok->n_special_pair : tok->n_special_single;
}

int tc_encode_options_init(tc_encode_options *opts, unsigned int version)
{
    tc_encode_options def = TC_ENCODE_OPTIONS_INIT;

    TC_ASSERT_ARG(opts);
    if (version != TC_ENCODE_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_encode_options version %u", version);
    *opts = def;
    return TC_OK;
}

void tc_encoding_dispose(tc_encoding *enc)
{
    if (!enc)
        return;
    tc_free(enc->ids);
    tc_free(enc->type_ids);
    tc_free(enc->attention_mask);
    tc_free(enc->special_tokens_mask);
    memset(enc, 0, sizeof(*enc));
}

/* ---- one sequence: added tokens, normalizer, pre-tokenizer, model ------------------------- */

typedef struct scratch {
    tc__u32vec cps, norm, words, raw_segs, norm_segs, offs;
    tc__bytes utf8;
} scratch;

static void scratch_dispose(scratch *sc)
{
    tc__u32vec_dispose(&sc->cps);
    tc__u32vec_dispose(&sc->norm);
    tc__u32vec_dispose(&sc->words);
    tc__u32vec_dispose(&sc->raw_segs);
    tc__u32vec_dispose(&sc->norm_segs);
    tc__u32vec_dispose(&sc->offs);
    tc__bytes_dispose(&sc->utf8);
}

/* Rust regex's \w, approximated by categories: letters, marks, decimal digits, Pc. */
static int is_word_char(uint32_t cp)
{
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);

    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
           c == UTF8PROC_CATEGORY_PC;
}

static int push_seg(tc__u32vec *segs, size_t begin, size_t end, uint32_t added)
{
    int err;

    if ((err = tc__u32vec_push(segs, (uint32_t)begin)) < 0 ||
        (err = tc__u32vec_push(segs, (uint32_t)end)) < 0 ||
        (err = tc__u32vec_push(segs, added)) < 0)
        return err;
    return TC_OK;
}

/*
 * Split s[0..n) at the added tokens of trie into (begin, end, token + 1 or 0)
 * triples, as Rust's AddedVocabulary::find_matches: leftmost-longest
 * non-overlapping matches; single_word matches next to a word character are
 * dropped; lstrip/rstrip take the neighbouring whitespace into the token.
 */
static int split_added(tc__u32vec *segs, const tc_tokenizer *tok, const tc__trie *trie,
                       const uint32_t *s, size_t n)
{
    size_t done = 0, i = 0;
    int err;

    segs->n = 0;
    while (trie->n && i < n) {
        size_t len = 0, start, stop;
        int32_t k = tc__trie_longest(trie, s + i, n - i, &len);
        const tc__added_token *t;

        if (k < 0) {
            i++;
            continue;
        }
        t = &tok->added[k];
        start = i;
        stop = i + len;
        i = stop;
        if (t->single_word &&
            ((start > 0 && is_word_char(s[start - 1])) || (stop < n && is_word_char(s[stop]))))
            continue;
        if (t->lstrip)
            while (start > done && tc__is_whitespace(s[start - 1]))
                start--;
        if (t->rstrip)
            while (stop < n && tc__is_whitespace(s[stop]))
                stop++;
        i = stop;
        if (done < start && (err = push_seg(segs, done, start, 0)) < 0)
            return err;
        if ((err = push_seg(segs, start, stop, (uint32_t)k + 1)) < 0)
            return err;
        done = stop;
    }
    if (done < n && (err = push_seg(segs, done, n, 0)) < 0)
        return err;
    return TC_OK;
}

static int wordpiece(tc__i32vec *ids, const tc_tokenizer *tok, const uint32_t *w, size_t n,
                     scratch *sc)
{
    size_t start = 0, mark = ids->n, i;
    int err;

    if ((int64_t)n > tok->max_input_chars_per_word)
        return tc__i32vec_push(ids, tok->unk_id);
    sc->utf8.n = 0;
    sc->offs.n = 0;
    if ((err = tc__u32vec_reserve(&sc->offs, n + 1)) < 0 ||
        (err = tc__bytes_reserve(&sc->utf8, 4 * n + 1)) < 0)
        return err;
    for (i = 0; i < n; i++) {
        sc->offs.v[i] = (uint32_t)sc->utf8.n;
        sc->utf8.n += tc__utf8_put(sc->utf8.v + sc->utf8.n, w[i]);
    }
    sc->offs.v[n] = (uint32_t)sc->utf8.n;
    sc->offs.n = n + 1;
    while (start < n) {
        size_t end = n - start > tok->max_token_chars ? start + tok->max_token_chars : n;
        const tc__strmap_slot *hit = NULL;

        for (; end > start; end--) {
            hit = tc__strmap_get2(&tok->vocab, start ? tok->prefix : NULL,
                                  start ? tok->prefix_len : 0, sc->utf8.v + sc->offs.v[start],
                                  sc->offs.v[end] - sc->offs.v[start]);
            if (hit)
                break;
        }
        if (!hit) {
            ids->n = mark;
            return tc__i32vec_push(ids, tok->unk_id);
        }
        if ((err = tc__i32vec_push(ids, (int32_t)hit->value)) < 0)
            return err;
        start = end;
    }
    return TC_OK;
}

static int wordlevel(tc__i32vec *ids, const tc_tokenizer *tok, const uint32_t *w, size_t n,
                     scratch *sc)
{
    const tc__strmap_slot *hit;
    int err;

    sc->utf8.n = 0;
    if ((err = tc__utf8_encode(&sc->utf8, w, n)) < 0)
        return err;
    hit = tc__strmap_get(&tok->vocab, sc->utf8.v, sc->utf8.n);
    return tc__i32vec_push(ids, hit ? (int32_t)hit->value : tok->unk_id);
}

/* Pre-tokenize a normalized piece and run the model on each word. */
static int model_piece(tc__i32vec *ids, const tc_tokenizer *tok, const uint32_t *s, size_t n,
                       scratch *sc)
{
    size_t i;
    int err;

    sc->words.n = 0;
    if (tok->pretokenizer) {
        if ((err = tc__bert_pretokenize(&sc->words, s, n)) < 0)
            return err;
    } else if (n && ((err = tc__u32vec_push(&sc->words, 0)) < 0 ||
                     (err = tc__u32vec_push(&sc->words, (uint32_t)n)) < 0)) {
        return err;
    }
    for (i = 0; i + 1 < sc->words.n; i += 2) {
        const uint32_t *w = s + sc->words.v[i];
        size_t wn = sc->words.v[i + 1] - sc->words.v[i];
        err = tok->kind == TC_TOKENIZER_WORDPIECE ? wordpiece(ids, tok, w, wn, sc)
                                                  : wordlevel(ids, tok, w, wn, sc);
        if (err < 0)
            return err;
    }
    return TC_OK;
}

/* Normalize one piece of raw text (not an added token) and encode it. */
static int encode_raw_piece(tc__i32vec *ids, const tc_tokenizer *tok, const uint32_t *s, size_t n,
                            scratch *sc)
{
    const uint32_t *ns = s;
    size_t nn = n, i;
    int err;

    if (tok->norm.present) {
        sc->norm.n = 0;
        if ((err = tc__bert_normalize(&sc->norm, &tok->norm, s, n)) < 0)
            return err;
        ns = sc->norm.v;
        nn = sc->norm.n;
    }
    if (!tok->norm_trie.n)
        return model_piece(ids, tok, ns, nn, sc);
    if ((err = split_added(&sc->norm_segs, tok, &tok->norm_trie, ns, nn)) < 0)
        return err;
    for (i = 0; i < sc->norm_segs.n; i += 3) {
        const uint32_t *seg = sc->norm_segs.v + i;
        if (seg[2])
            err = tc__i32vec_push(ids, tok->added[seg[2] - 1].id);
        else
            err = model_piece(ids, tok, ns + seg[0], seg[1] - seg[0], sc);
        if (err < 0)
            return err;
    }
    return TC_OK;
}

static int encode_sequence(tc__i32vec *ids, const tc_tokenizer *tok, const char *text, size_t len,
                           scratch *sc)
{
    size_t i;
    int err;

    if (len > TC_TOKENIZER_MAX_INPUT_BYTES)
        return tc_error_set(TC_ERANGE, "text of %zu bytes is over the limit of %zu", len,
                            TC_TOKENIZER_MAX_INPUT_BYTES);
    sc->cps.n = 0;
    if ((err = tc__utf8_decode(&sc->cps, text, len)) < 0)
        return err;
    if ((err = split_added(&sc->raw_segs, tok, &tok->raw_trie, sc->cps.v, sc->cps.n)) < 0)
        return err;
    for (i = 0; i < sc->raw_segs.n; i += 3) {
        uint32_t b = sc->raw_segs.v[i], e = sc->raw_segs.v[i + 1], k = sc->raw_segs.v[i + 2];
        if (k)
            err = tc__i32vec_push(ids, tok->added[k - 1].id);
        else
            err = encode_raw_piece(ids, tok, sc->cps.v + b, e - b, sc);
        if (err < 0)
            return err;
    }
    return TC_OK;
}

/* ---- truncation, post-processing, padding ------------------------------------------------- */

static int resolve_max_length(const tc_tokenizer *tok, const tc_encode_options *o, size_t *out)
{
    int32_t m = o->max_length > 0 ? o->max_length : tok->model_max_length;

    if (m <= 0)
        return tc_error_set(TC_EINVAL, "no max_length given and the tokenizer has no "
                                       "model_max_length");
    *out = (size_t)m;
    return TC_OK;
}

/* As Rust's truncate_encodings, with max_length less the special tokens. */
static int truncate(tc__i32vec *a, tc__i32vec *b, const tc_tokenizer *tok,
                    const tc_encode_options *o)
{
    size_t max_length = 0, n_added = 0, total, to_remove, n1, n2;
    tc__i32vec *target;
    int err, swap = 0;

    if ((err = resolve_max_length(tok, o, &max_length)) < 0)
        return err;
    if (o->add_special_tokens)
        n_added = (size_t)tc_tokenizer_num_special_tokens(tok, b != NULL);
    if (max_length < n_added)
        return tc_error_set(TC_EINVAL, "max_length %zu is shorter than the %zu special tokens",
                            max_length, n_added);
    max_length -= n_added;
    total = a->n + (b ? b->n : 0);
    if (max_length == 0) {
        a->n = 0;
        if (b)
            b->n = 0;
        return TC_OK;
    }
    if (total <= max_length)
        return TC_OK;
    to_remove = total - max_length;
    if (o->truncation == TC_TRUNCATION_LONGEST_FIRST) {
        if (!b) {
            a->n = max_length;
            return TC_OK;
        }
        n1 = a->n;
        n2 = b->n;
        if (n1 > n2) {
            swap = 1;
            n1 = b->n;
            n2 = a->n;
        }
        n2 = n1 > max_length ? n1 : (n1 > max_length - n1 ? n1 : max_length - n1);
        if (n1 + n2 > max_length) {
            n1 = max_length / 2;
            n2 = n1 + max_length % 2;
        }
        if (swap) {
            size_t t = n1;
            n1 = n2;
            n2 = t;
        }
        if (a->n > n1)
            a->n = n1;
        if (b->n > n2)
            b->n = n2;
        return TC_OK;
    }
    if (o->truncation == TC_TRUNCATION_ONLY_SECOND && !b)
        return tc_error_set(TC_EINVAL, "truncation only_second needs a pair of texts");
    target = o->truncation == TC_TRUNCATION_ONLY_FIRST ? a : b;
    if (target->n <= to_remove)
        return tc_error_set(TC_EINVAL,
                            "cannot truncate the %s text of %zu tokens by the %zu over max_length",
                            target == a ? "first" : "second", target->n, to_remove);
    target->n -= to_remove;
    return TC_OK;
}

static int encoding_alloc(tc_encoding *e, size_t len)
{
    memset(e, 0, sizeof(*e));
    if (!(e->ids = tc_calloc(len, sizeof(int32_t))) ||
        !(e->type_ids = tc_calloc(len, sizeof(int32_t))) ||
        !(e->attention_mask = tc_calloc(len, sizeof(int32_t))) ||
        !(e->special_tokens_mask = tc_calloc(len, sizeof(int32_t)))) {
        tc_encoding_dispose(e);
        return TC_ENOMEM;
    }
    return TC_OK;
}

static void put(tc_encoding *e, int32_t id, int32_t type_id, int32_t special)
{
    e->ids[e->len] = id;
    e->type_ids[e->len] = type_id;
    e->attention_mask[e->len] = 1;
    e->special_tokens_mask[e->len] = special;
    e->len++;
}

static void put_seq(tc_encoding *e, const tc__i32vec *s, int32_t type_id)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        put(e, s->v[i], type_id, 0);
}

/* The post-processor: the template's special tokens and type ids around a and b. */
static int post_process(tc_encoding *out, const tc_tokenizer *tok, const tc__i32vec *a,
                        const tc__i32vec *b, int add_special)
{
    const tc__piece *p = b ? tok->pair : tok->single;
    size_t np = b ? tok->n_pair : tok->n_single, i, j, len = a->n + (b ? b->n : 0);
    int template = tok->post == TC__POST_TEMPLATE || (tok->post == TC__POST_BERT && add_special);
    int err;

    if (template && add_special)
        len += (size_t)tc_tokenizer_num_special_tokens(tok, b != NULL);
    if ((err = encoding_alloc(out, len)) < 0)
        return err;
    if (!template) {
        put_seq(out, a, 0);
        if (b)
            put_seq(out, b, 1);
        return TC_OK;
    }
    for (i = 0; i < np; i++) {
        if (!p[i].is_special)
            put_seq(out, p[i].seq ? b : a, p[i].type_id);
        else if (add_special)
            for (j = 0; j < p[i].n_ids; j++)
                put(out, p[i].ids[j], p[i].type_id, 1);
    }
    return TC_OK;
}

static int pad(tc_encoding *e, size_t target, const tc_tokenizer *tok)
{
    tc_encoding p;
    size_t i;
    int err;

    if (e->len >= target)
        return TC_OK;
    if ((err = encoding_alloc(&p, target)) < 0)
        return err;
    for (i = 0; i < e->len; i++) {
        p.ids[i] = e->ids[i];
        p.type_ids[i] = e->type_ids[i];
        p.attention_mask[i] = e->attention_mask[i];
        p.special_tokens_mask[i] = e->special_tokens_mask[i];
    }
    for (; i < target; i++) {
        p.ids[i] = tok->pad_id;
        p.type_ids[i] = tok->pad_type_id;
        p.special_tokens_mask[i] = 1;
    }
    p.len = target;
    tc_encoding_dispose(e);
    *e = p;
    return TC_OK;
}

static int pad_all(tc_encoding *encs, size_t n, const tc_tokenizer *tok, const tc_encode_options *o)
{
    size_t target = 0, i, m;
    int err;

    if (o->padding == TC_PADDING_NONE)
        return TC_OK;
    if (tok->pad_id < 0)
        return tc_error_set(TC_EINVAL, "padding needs a pad token, and the tokenizer has none");
    if (o->padding == TC_PADDING_MAX_LENGTH) {
        if ((err = resolve_max_length(tok, o, &target)) < 0)
            return err;
    } else {
        for (i = 0; i < n; i++)
            if (encs[i].len > target)
                target = encs[i].len;
    }
    m = (size_t)o->pad_to_multiple_of;
    if (m > 0 && target % m)
        target += m - target % m;
    for (i = 0; i < n; i++)
        if ((err = pad(&encs[i], target, tok)) < 0)
            return err;
    return TC_OK;
}

static int check_options(const tc_encode_options *o)
{
    if (o->version != TC_ENCODE_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_encode_options version %u", o->version);
    if ((int)o->truncation < 0 || o->truncation >= TC_TRUNCATION_MAX || (int)o->padding < 0 ||
        o->padding >= TC_PADDING_MAX)
        return tc_error_set(TC_EINVAL, "invalid truncation or padding strategy");
    if (o->max_length < 0 || o->pad_to_multiple_of < 0)
        return tc_error_set(TC_EINVAL, "max_length and pad_to_multiple_of must not be negative");
    return TC_OK;
}

/* Encode one text or pair, without padding. */
static int encode_one(tc_encoding *out, const tc_tokenizer *tok, const char *text, size_t text_len,
                      const char *pair, size_t pair_len, const tc_encode_options *o, scratch *sc)
{
    tc__i32vec a = {0}, b = {0};
    int err;

    if ((err = encode_sequence(&a, tok, text, text_len, sc)) < 0)
        goto out;
    if (pair && (err = encode_sequence(&b, tok, pair, pair_len, sc)) < 0)
        goto out;
    if (o->truncation != TC_TRUNCATION_NONE && (err = truncate(&a, pair ? &b : NULL, tok, o)) < 0)
        goto out;
    err = post_process(out, tok, &a, pair ? &b : NULL, o->add_special_tokens);
out:
    tc__i32vec_dispose(&a);
    tc__i32vec_dispose(&b);
    return err;
}

int tc_tokenizer_encode(tc_encoding *out, const tc_tokenizer *tok, const char *text,
                        size_t text_len, const char *pair, size_t pair_len,
                        const tc_encode_options *opts)
{
    tc_encode_options def = TC_ENCODE_OPTIONS_INIT;
    tc_encoding enc;
    scratch sc;
    int err;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(tok);
    TC_ASSERT_ARG(text || !text_len);
    if (!opts)
        opts = &def;
    if ((err = check_options(opts)) < 0)
        return err;
    memset(&sc, 0, sizeof(sc));
    memset(&enc, 0, sizeof(enc));
    if ((err = encode_one(&enc, tok, text ? text : "", text_len, pair, pair_len, opts, &sc)) < 0 ||
        (err = pad_all(&enc, 1, tok, opts)) < 0) {
        tc_encoding_dispose(&enc);
        goto out;
    }
    *out = enc;
out:
    scratch_dispose(&sc);
    return err;
}

int tc_tokenizer_encode_batch(tc_encoding *out, const tc_tokenizer *tok, const char *const *texts,
                              const size_t *text_lens, const char *const *pairs,
                              const size_t *pair_lens, size_t n, const tc_encode_options *opts)
{
    tc_encode_options def = TC_ENCODE_OPTIONS_INIT;
    tc_encoding *encs = NULL;
    scratch sc;
    size_t i;
    int err = TC_OK;

    TC_ASSERT_ARG(out || !n);
    TC_ASSERT_ARG(tok);
    TC_ASSERT_ARG(texts || !n);
    if (!opts)
        opts = &def;
    if ((err = check_options(opts)) < 0)
        return err;
    memset(&sc, 0, sizeof(sc));
    if (!(encs = tc_calloc(n, sizeof(*encs))))
        return TC_ENOMEM;
    for (i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        const char *p = pairs ? (pairs[i] ? pairs[i] : "") : NULL;
        size_t tl = text_lens ? text_lens[i] : strlen(t);
        size_t pl = p ? (pair_lens ? pair_lens[i] : strlen(p)) : 0;
        if ((err = encode_one(&encs[i], tok, t, tl, p, pl, opts, &sc)) < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", tc_error_message());
            tc_error_set(err, "text %zu of the batch: %s", i, msg);
            goto out;
        }
    }
    if ((err = pad_all(encs, n, tok, opts)) < 0)
        goto out;
    if (n)
        memcpy(out, encs, n * sizeof(*encs));
out:
    if (err < 0)
        for (i = 0; i < n; i++)
            tc_encoding_dispose(&encs[i]);
    tc_free(encs);
    scratch_dispose(&sc);
    return err;
}

/* ---- decode ------------------------------------------------------------------------------- */

static const char *const cleanup_from[] = {" .",  " ?",      " !",  " ,",   " ' ", " n't",
                                           " 'm", " do not", " 's", " 've", " 're"};
static const char *const cleanup_to[] = {".",  "?",      "!",  ",",   "'",  "n't",
                                         "'m", " don't", "'s", "'ve", "'re"};

/* Rust's decoders::wordpiece::cleanup: replace each pattern in turn, all occurrences. */
static int cleanup(tc__bytes *s)
{
    size_t k;
    int err;

    for (k = 0; k < sizeof(cleanup_from) / sizeof(cleanup_from[0]); k++) {
        tc__bytes r = {0};
        size_t fl = strlen(cleanup_from[k]), i = 0;
        if (!s->n || !strstr(s->v, cleanup_from[k]))
            continue;
        while (i < s->n) {
            if (i + fl <= s->n && !memcmp(s->v + i, cleanup_from[k], fl)) {
                err = tc__bytes_append(&r, cleanup_to[k], strlen(cleanup_to[k]));
                i += fl;
            } else {
                err = tc__bytes_append(&r, s->v + i, 1);
                i++;
            }
            if (err < 0) {
                tc__bytes_dispose(&r);
                return err;
            }
        }
        tc__bytes_dispose(s);
        *s = r;
    }
    return TC_OK;
}

/* Append one token as the WordPiece decoder does (i: its position among the kept tokens). */
static int decode_wordpiece_token(tc__bytes *out, const tc_tokenizer *tok, const char *t, size_t i)
{
    tc__bytes piece = {0};
    size_t pl = tok->decoder_prefix ? strlen(tok->decoder_prefix) : 0;
    int err;

    if (i > 0 && pl && !strncmp(t, tok->decoder_prefix, pl))
        err = tc__bytes_append(&piece, t + pl, strlen(t + pl));
    else if (i > 0)
        err = tc__bytes_appendf(&piece, " %s", t);
    else
        err = tc__bytes_append(&piece, t, strlen(t));
    if (err >= 0 && tok->decoder_cleanup)
        err = cleanup(&piece);
    if (err >= 0 && piece.n)
        err = tc__bytes_append(out, piece.v, piece.n);
    tc__bytes_dispose(&piece);
    return err;
}

int tc_tokenizer_decode(char **out, const tc_tokenizer *tok, const int32_t *ids, size_t n,
                        int skip_special_tokens)
{
    tc__bytes s = {0};
    size_t i, kept = 0;
    int err = TC_OK;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(tok);
    TC_ASSERT_ARG(ids || !n);
    if ((err = tc__bytes_append(&s, "", 0)) < 0)
        return err;
    for (i = 0; i < n; i++) {
        const char *t = tc_tokenizer_id_to_token(tok, ids[i]);
        if (!t || (skip_special_tokens && tok->id_added[ids[i]] == 2))
            continue;
        if (tok->decoder == TC__DECODER_WORDPIECE)
            err = decode_wordpiece_token(&s, tok, t, kept);
        else
            err = kept ? tc__bytes_appendf(&s, " %s", t) : tc__bytes_append(&s, t, strlen(t));
        if (err < 0) {
            tc__bytes_dispose(&s);
            return err;
        }
        kept++;
    }
    *out = s.v;
    return TC_OK;
}
