/*
 * tokenizer_load.c - tokenizers from tokenizer.json, vocab.txt and
 * tokenizer_config.json (TRANSFORMER-SPEC.md 8.7, 9), and back to
 * tokenizer.json.
 *
 * Every check names the file and where in it the problem is: the line and
 * column of a JSON syntax error, the key path of a bad value
 * ("model.vocab['x']", "added_tokens[3].id"), or the vocab.txt line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "tokenizer_internal.h"

#define MAX_INPUT_CHARS_PER_WORD ((int64_t)1 << 20)

/* ---- errors and JSON helpers -------------------------------------------------------------- */

static int bad(const char *name, const char *where, const char *fmt, ...) TC_PRINTF(3, 4);

static int bad(const char *name, const char *where, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(TC_EFORMAT, "'%s': %s: %s", name, where, msg);
}

static int unsupported(const char *name, const char *where, const char *type, const char *known)
{
    return tc_error_set(TC_EUNSUPPORTED, "'%s': %s: type '%s' is not supported (only %s)", name,
                        where, type, known);
}

/* Parse JSON text, reporting a syntax error by line and column. */
static int parse_json(cJSON **out, const char *text, size_t len, const char *name)
{
    const char *end = NULL, *p;
    size_t line = 1, col = 1;
    cJSON *root;

    if (len > TC_TOKENIZER_MAX_FILE_BYTES)
        return tc_error_set(TC_ERANGE, "'%s' is larger than the limit of %zu bytes", name,
                            TC_TOKENIZER_MAX_FILE_BYTES);
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root) {
        for (p = end; p < text + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'); p++)
            ;
        if (p == text + len || (*p == '\0' && p + 1 == text + len)) {
            *out = root;
            return TC_OK;
        }
        cJSON_Delete(root);
        end = p;
    }
    if (!end || end < text || end > text + len)
        end = text + len;
    for (p = text; p < end; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return tc_error_set(TC_EFORMAT, "'%s': line %zu, column %zu: %s", name, line, col,
                        root ? "unexpected text after the JSON value" : "invalid JSON");
}

/* An optional boolean: absent or null keeps *v. */
static int get_bool(const cJSON *obj, const char *key, int *v, const char *name, const char *where)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!it || cJSON_IsNull(it))
        return TC_OK;
    if (!cJSON_IsBool(it))
        return bad(name, where, "'%s' must be true or false", key);
    *v = cJSON_IsTrue(it) ? 1 : 0;
    return TC_OK;
}

static int as_int(const cJSON *it, int64_t lo, int64_t hi, int64_t *v)
{
    double d;

    if (!cJSON_IsNumber(it))
        return -1;
    d = it->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi) || (double)(int64_t)d != d)
        return -1;
    *v = (int64_t)d;
    return 0;
}

/* An optional integer in [lo, hi]: absent or null keeps *v. */
static int get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *v,
                   const char *name, const char *where)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!it || cJSON_IsNull(it))
        return TC_OK;
    if (as_int(it, lo, hi, v) < 0)
        return bad(name, where, "'%s' must be an integer from %lld to %lld", key, (long long)lo,
                   (long long)hi);
    return TC_OK;
}

/* A token string: non-NULL, at most TC_TOKENIZER_MAX_TOKEN_BYTES, valid UTF-8. */
static int check_token(const char *s, const char *name, const char *where)
{
    size_t n = strlen(s);

    if (n > TC_TOKENIZER_MAX_TOKEN_BYTES)
        return bad(name, where, "token of %zu bytes is over the limit of %zu", n,
                   TC_TOKENIZER_MAX_TOKEN_BYTES);
    if (tc__utf8_count(s, n) < 0)
        return bad(name, where, "token is not valid UTF-8");
    return TC_OK;
}

/* An optional string (absent or null keeps *v, a borrowed pointer into the JSON). */
static int get_str(const cJSON *obj, const char *key, const char **v, const char *name,
                   const char *where)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!it || cJSON_IsNull(it))
        return TC_OK;
    if (!cJSON_IsString(it))
        return bad(name, where, "'%s' must be a string", key);
    *v = it->valuestring;
    return TC_OK;
}

static int set_str(char **dst, const char *s)
{
    char *d = tc_strdup(s);

    if (!d)
        return TC_ENOMEM;
    tc_free(*dst);
    *dst = d;
    return TC_OK;
}

/* The "type" of a component object, or NULL when the value is null or absent. */
static int component(const cJSON *root, const char *key, const cJSON **obj, const char **type,
                     const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key), *t;

    *obj = NULL;
    *type = NULL;
    if (!it || cJSON_IsNull(it))
        return TC_OK;
    if (!cJSON_IsObject(it))
        return bad(name, key, "must be an object or null");
    t = cJSON_GetObjectItemCaseSensitive(it, "type");
    if (t && !cJSON_IsString(t))
        return bad(name, key, "'type' must be a string");
    *obj = it;
    *type = t ? t->valuestring : NULL;
    return TC_OK;
}

/* ---- tokenizer.json ----------------------------------------------------------------------- */

static int parse_vocab_object(tc_tokenizer *tok, const cJSON *vocab, const char *name)
{
    const cJSON *it;
    unsigned char *seen = NULL;
    char where[96];
    int err = TC_OK;

    if (!cJSON_IsObject(vocab))
        return bad(name, "model.vocab", "must be an object of token: id");
    if (!(seen = tc_calloc((size_t)TC_TOKENIZER_MAX_VOCAB / 8, 1)))
        return TC_ENOMEM;
    cJSON_ArrayForEach(it, vocab)
    {
        int64_t id;
        int existed = 0;
        snprintf(where, sizeof(where), "model.vocab['%.40s']", it->string ? it->string : "");
        if (!it->string) {
            err = bad(name, "model.vocab", "entry without a key");
            goto out;
        }
        if ((err = check_token(it->string, name, where)) < 0)
            goto out;
        if (as_int(it, 0, TC_TOKENIZER_MAX_VOCAB - 1, &id) < 0) {
            err = bad(name, where, "id must be an integer from 0 to %d",
                      (int)TC_TOKENIZER_MAX_VOCAB - 1);
            goto out;
        }
        if (seen[id / 8] & (1u << (id % 8))) {
            err = bad(name, where, "id %lld is given to another token too", (long long)id);
            goto out;
        }
        seen[id / 8] |= (unsigned char)(1u << (id % 8));
        if ((err = tc__strmap_put(&tok->vocab, it->string, strlen(it->string), id, NULL,
                                  &existed)) < 0)
            goto out;
        if (existed) {
            err = bad(name, where, "the token appears twice");
            goto out;
        }
    }
out:
    tc_free(seen);
    return err;
}

static int parse_model(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *model;
    const char *type, *unk, *prefix = "##";
    int64_t max_chars = 100;
    int err;

    if ((err = component(root, "model", &model, &type, name)) < 0)
        return err;
    if (!model)
        return bad(name, "model", "missing");
    if (!type) /* Rust accepts an untagged model; infer ours from its keys */
        type = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix") ||
                       cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word")
                   ? "WordPiece"
                   : (cJSON_GetObjectItemCaseSensitive(model, "merges") ? "BPE" : "WordLevel");
    if (!strcmp(type, "WordPiece"))
        tok->kind = TC_TOKENIZER_WORDPIECE;
    else if (!strcmp(type, "WordLevel"))
        tok->kind = TC_TOKENIZER_WORDLEVEL;
    else
        return unsupported(name, "model", type, "WordPiece and WordLevel");
    unk = tok->kind == TC_TOKENIZER_WORDPIECE ? "[UNK]" : "<unk>";
    if ((err = get_str(model, "unk_token", &unk, name, "model")) < 0 ||
        (err = get_str(model, "continuing_subword_prefix", &prefix, name, "model")) < 0 ||
        (err = get_int(model, "max_input_chars_per_word", 1, MAX_INPUT_CHARS_PER_WORD, &max_chars,
                       name, "model")) < 0)
        return err;
    if ((err = check_token(unk, name, "model.unk_token")) < 0 ||
        (err = check_token(prefix, name, "model.continuing_subword_prefix")) < 0)
        return err;
    if ((err = set_str(&tok->unk_token, unk)) < 0 || (err = set_str(&tok->prefix, prefix)) < 0)
        return err;
    tok->prefix_len = strlen(prefix);
    tok->max_input_chars_per_word = max_chars;
    if (!cJSON_GetObjectItemCaseSensitive(model, "vocab"))
        return bad(name, "model.vocab", "missing");
    return parse_vocab_object(tok, cJSON_GetObjectItemCaseSensitive(model, "vocab"), name);
}

static int parse_normalizer(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *nz, *sa;
    const char *type;
    int err;

    if ((err = component(root, "normalizer", &nz, &type, name)) < 0 || !nz)
        return err;
    if (!type || strcmp(type, "BertNormalizer"))
        return unsupported(name, "normalizer", type ? type : "(none)", "BertNormalizer");
    tok->norm.present = 1;
    tok->norm.clean_text = 1;
    tok->norm.handle_chinese_chars = 1;
    tok->norm.lowercase = 1;
    tok->norm.strip_accents = -1;
    if ((err = get_bool(nz, "clean_text", &tok->norm.clean_text, name, "normalizer")) < 0 ||
        (err = get_bool(nz, "handle_chinese_chars", &tok->norm.handle_chinese_chars, name,
                        "normalizer")) < 0 ||
        (err = get_bool(nz, "lowercase", &tok->norm.lowercase, name, "normalizer")) < 0)
        return err;
    sa = cJSON_GetObjectItemCaseSensitive(nz, "strip_accents");
    if (sa && !cJSON_IsNull(sa)) {
        if (!cJSON_IsBool(sa))
            return bad(name, "normalizer", "'strip_accents' must be true, false or null");
        tok->norm.strip_accents = cJSON_IsTrue(sa) ? 1 : 0;
    }
    return TC_OK;
}

static int parse_pretokenizer(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *pt;
    const char *type;
    int err;

    if ((err = component(root, "pre_tokenizer", &pt, &type, name)) < 0 || !pt)
        return err;
    if (!type || strcmp(type, "BertPreTokenizer"))
        return unsupported(name, "pre_tokenizer", type ? type : "(none)", "BertPreTokenizer");
    tok->pretokenizer = 1;
    return TC_OK;
}

static int parse_decoder(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *d;
    const char *type, *prefix = "##";
    int err;

    if ((err = component(root, "decoder", &d, &type, name)) < 0 || !d)
        return err;
    if (!type || strcmp(type, "WordPiece"))
        return unsupported(name, "decoder", type ? type : "(none)", "WordPiece");
    tok->decoder = TC__DECODER_WORDPIECE;
    tok->decoder_cleanup = 1;
    if ((err = get_str(d, "prefix", &prefix, name, "decoder")) < 0 ||
        (err = get_bool(d, "cleanup", &tok->decoder_cleanup, name, "decoder")) < 0)
        return err;
    return set_str(&tok->decoder_prefix, prefix);
}

static int parse_added_tokens(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), *it;
    char where[64];
    size_t i = 0;
    int err;

    if (!arr || cJSON_IsNull(arr))
        return TC_OK;
    if (!cJSON_IsArray(arr))
        return bad(name, "added_tokens", "must be an array");
    cJSON_ArrayForEach(it, arr)
    {
        const char *content = NULL;
        int64_t id = -1;
        int special = 0, normalized, single_word = 0, lstrip = 0, rstrip = 0;
        tc__added_token *t;

        snprintf(where, sizeof(where), "added_tokens[%zu]", i++);
        if (!cJSON_IsObject(it))
            return bad(name, where, "must be an object");
        if ((err = get_str(it, "content", &content, name, where)) < 0 ||
            (err = get_int(it, "id", 0, TC_TOKENIZER_MAX_VOCAB - 1, &id, name, where)) < 0 ||
            (err = get_bool(it, "special", &special, name, where)) < 0)
            return err;
        if (!content || !*content)
            return bad(name, where, "'content' must be a non-empty string");
        if (id < 0)
            return bad(name, where, "'id' is missing");
        if ((err = check_token(content, name, where)) < 0)
            return err;
        normalized = !special;
        if ((err = get_bool(it, "normalized", &normalized, name, where)) < 0 ||
            (err = get_bool(it, "single_word", &single_word, name, where)) < 0 ||
            (err = get_bool(it, "lstrip", &lstrip, name, where)) < 0 ||
            (err = get_bool(it, "rstrip", &rstrip, name, where)) < 0)
            return err;
        if ((err = tc__tokenizer_add_token(tok, content, (int32_t)id, special, normalized)) < 0)
            return err;
        t = &tok->added[tok->n_added - 1];
        t->single_word = single_word;
        t->lstrip = lstrip;
        t->rstrip = rstrip;
    }
    return TC_OK;
}

/* special_tokens["name"] of a TemplateProcessing: its ids and tokens into p. */
static int template_special(tc__piece *p, const cJSON *specials, const char *key, const char *name,
                            const char *where)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(specials, key), *ids, *toks, *it;
    size_t n, i = 0;
    int64_t id;

    if (!cJSON_IsObject(st))
        return bad(name, where, "special token '%.60s' is not in post_processor.special_tokens",
                   key);
    ids = cJSON_GetObjectItemCaseSensitive(st, "ids");
    toks = cJSON_GetObjectItemCaseSensitive(st, "tokens");
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(toks) ||
        (n = (size_t)cJSON_GetArraySize(ids)) != (size_t)cJSON_GetArraySize(toks) || n == 0 ||
        n > 64)
        return bad(name, where, "special token '%.60s' needs 1 to 64 'ids' and as many 'tokens'",
                   key);
    p->is_special = 1;
    p->n_ids = n;
    if (!(p->name = tc_strdup(key)) || !(p->ids = tc_calloc(n, sizeof(int32_t))) ||
        !(p->tokens = tc_calloc(n, sizeof(char *))))
        return TC_ENOMEM;
    cJSON_ArrayForEach(it, ids)
    {
        if (as_int(it, 0, TC_TOKENIZER_MAX_VOCAB - 1, &id) < 0)
            return bad(name, where, "special token '%.60s' has an invalid id", key);
        p->ids[i++] = (int32_t)id;
    }
    i = 0;
    cJSON_ArrayForEach(it, toks)
    {
        if (!cJSON_IsString(it))
            return bad(name, where, "special token '%.60s' has a token that is not a string", key);
        if (!(p->tokens[i++] = tc_strdup(it->valuestring)))
            return TC_ENOMEM;
    }
    return TC_OK;
}

static int template_pieces(tc__piece **out, size_t *n_out, const cJSON *post, const char *key,
                           int pair, const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(post, key), *it;
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(post, "special_tokens");
    char where[64];
    size_t n, i = 0, count[2] = {0, 0};
    int err;

    snprintf(where, sizeof(where), "post_processor.%s", key);
    if (!cJSON_IsArray(arr) || (n = (size_t)cJSON_GetArraySize(arr)) > 64)
        return bad(name, where, "must be an array of at most 64 pieces");
    if (!(*out = tc_calloc(n ? n : 1, sizeof(tc__piece))))
        return TC_ENOMEM;
    *n_out = n;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
        const cJSON *body = sp ? sp : sq;
        const char *id = NULL;
        int64_t type_id = 0;
        tc__piece *p = &(*out)[i];

        snprintf(where, sizeof(where), "post_processor.%s[%zu]", key, i++);
        if (!cJSON_IsObject(body) || (sp && sq))
            return bad(name, where, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
        if ((err = get_str(body, "id", &id, name, where)) < 0 ||
            (err = get_int(body, "type_id", 0, INT32_MAX, &type_id, name, where)) < 0)
            return err;
        if (!id)
            return bad(name, where, "'id' is missing");
        p->type_id = (int32_t)type_id;
        if (sp) {
            if ((err = template_special(p, specials, id, name, where)) < 0)
                return err;
        } else if (!strcmp(id, "A") || !strcmp(id, "B")) {
            p->seq = id[0] == 'B';
            count[p->seq]++;
        } else {
            return bad(name, where, "sequence id must be 'A' or 'B'");
        }
    }
    snprintf(where, sizeof(where), "post_processor.%s", key);
    if (count[0] != 1 || count[1] != (size_t)pair)
        return bad(name, where,
                   pair ? "must hold $A and $B once each" : "must hold $A once, no $B");
    return TC_OK;
}

/* BertProcessing's "sep"/"cls": ["[SEP]", 102]. */
static int bert_pair(const cJSON *post, const char *key, const char **tok_out, int32_t *id_out,
                     const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(post, key);
    int64_t id;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2 ||
        !cJSON_IsString(cJSON_GetArrayItem(arr, 0)) ||
        as_int(cJSON_GetArrayItem(arr, 1), 0, TC_TOKENIZER_MAX_VOCAB - 1, &id) < 0)
        return bad(name, "post_processor", "'%s' must be [token, id]", key);
    *tok_out = cJSON_GetArrayItem(arr, 0)->valuestring;
    *id_out = (int32_t)id;
    return TC_OK;
}

static int parse_post(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *post;
    const char *type, *cls, *sep;
    int32_t cls_id, sep_id;
    int err;

    if ((err = component(root, "post_processor", &post, &type, name)) < 0 || !post)
        return err;
    if (type && !strcmp(type, "TemplateProcessing")) {
        tok->post = TC__POST_TEMPLATE;
        if ((err = template_pieces(&tok->single, &tok->n_single, post, "single", 0, name)) < 0)
            return err;
        return template_pieces(&tok->pair, &tok->n_pair, post, "pair", 1, name);
    }
    if (type && !strcmp(type, "BertProcessing")) {
        tok->post = TC__POST_BERT;
        if ((err = bert_pair(post, "sep", &sep, &sep_id, name)) < 0 ||
            (err = bert_pair(post, "cls", &cls, &cls_id, name)) < 0)
            return err;
        return tc__tokenizer_bert_template(tok, cls, cls_id, sep, sep_id);
    }
    return unsupported(name, "post_processor", type ? type : "(none)",
                       "TemplateProcessing and BertProcessing");
}

static int parse_padding(tc_tokenizer *tok, const cJSON *root, const char *name)
{
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding"), *tr;
    int64_t id = -1, type_id = 0;
    int err;

    tr = cJSON_GetObjectItemCaseSensitive(root, "truncation");
    if (tr && !cJSON_IsNull(tr) && !cJSON_IsObject(tr))
        return bad(name, "truncation", "must be an object or null");
    if (!pad || cJSON_IsNull(pad))
        return TC_OK;
    if (!cJSON_IsObject(pad))
        return bad(name, "padding", "must be an object or null");
    if ((err = get_int(pad, "pad_id", 0, TC_TOKENIZER_MAX_VOCAB - 1, &id, name, "padding")) < 0 ||
        (err = get_int(pad, "pad_type_id", 0, INT32_MAX, &type_id, name, "padding")) < 0)
        return err;
    tok->pad_id = (int32_t)id;
    tok->pad_type_id = (int32_t)type_id;
    return TC_OK;
}

/* ---- tokenizer_config.json ---------------------------------------------------------------- */

typedef struct tok_config {
    int do_lower_case, strip_accents, tokenize_chinese_chars;
    int64_t model_max_length;
    const char *special[5]; /* unk, sep, pad, cls, mask; NULL when set to null */
} tok_config;

static const char *const special_keys[5] = {"unk_token", "sep_token", "pad_token", "cls_token",
                                            "mask_token"};
static const char *const special_defaults[5] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

/* A special token: "[SEP]" or {"content": "[SEP]", ...}; null leaves it out. */
static int config_special(const cJSON *cfg, int k, tok_config *c, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, special_keys[k]), *content;

    if (!it)
        return TC_OK;
    if (cJSON_IsNull(it)) {
        c->special[k] = NULL;
        return TC_OK;
    }
    content = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "content") : it;
    if (!cJSON_IsString(content) || !*content->valuestring)
        return bad(name, special_keys[k], "must be a non-empty string or {\"content\": string}");
    c->special[k] = content->valuestring;
    return check_token(c->special[k], name, special_keys[k]);
}

static int parse_config(tok_config *c, const cJSON *cfg, const char *name)
{
    const cJSON *sa, *mml;
    int k, err;

    memset(c, 0, sizeof(*c));
    c->do_lower_case = 1;
    c->strip_accents = -1;
    c->tokenize_chinese_chars = 1;
    for (k = 0; k < 5; k++)
        c->special[k] = special_defaults[k];
    if (!cfg)
        return TC_OK;
    if (!cJSON_IsObject(cfg))
        return bad(name, "top level", "must be an object");
    if ((err = get_bool(cfg, "do_lower_case", &c->do_lower_case, name, "top level")) < 0 ||
        (err = get_bool(cfg, "tokenize_chinese_chars", &c->tokenize_chinese_chars, name,
                        "top level")) < 0)
        return err;
    sa = cJSON_GetObjectItemCaseSensitive(cfg, "strip_accents");
    if (sa && !cJSON_IsNull(sa)) {
        if (!cJSON_IsBool(sa))
            return bad(name, "strip_accents", "must be true, false or null");
        c->strip_accents = cJSON_IsTrue(sa) ? 1 : 0;
    }
    mml = cJSON_GetObjectItemCaseSensitive(cfg, "model_max_length");
    if (mml && !cJSON_IsNull(mml)) {
        if (!cJSON_IsNumber(mml) || mml->valuedouble < 1)
            return bad(name, "model_max_length", "must be a positive number");
        /* transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit" */
        if (mml->valuedouble <= (double)INT32_MAX &&
            as_int(mml, 1, INT32_MAX, &c->model_max_length) < 0)
            return bad(name, "model_max_length", "must be an integer");
    }
    for (k = 0; k < 5; k++)
        if ((err = config_special(cfg, k, c, name)) < 0)
            return err;
    return TC_OK;
}

static int parse_config_text(tok_config *c, cJSON **cfg, const char *text, size_t len,
                             const char *name)
{
    int err;

    *cfg = NULL;
    if (text && (err = parse_json(cfg, text, len, name)) < 0)
        return err;
    return parse_config(c, *cfg, name);
}

/* ---- public loaders ----------------------------------------------------------------------- */

static int from_json(tc_tokenizer **out, const char *json, size_t len, const char *cfg_text,
                     size_t cfg_len, const char *name, const char *cfg_name)
{
    tc_tokenizer *tok = NULL;
    cJSON *root = NULL, *cfg = NULL;
    tok_config c;
    int err;

    if ((err = parse_config_text(&c, &cfg, cfg_text, cfg_len, cfg_name)) < 0)
        goto out;
    if ((err = parse_json(&root, json, len, name)) < 0)
        goto out;
    if (!cJSON_IsObject(root)) {
        err = bad(name, "top level", "must be an object");
        goto out;
    }
    if ((err = tc__tokenizer_alloc(&tok, TC_TOKENIZER_WORDPIECE)) < 0)
        goto out;
    if ((err = parse_model(tok, root, name)) < 0 || (err = parse_normalizer(tok, root, name)) < 0 ||
        (err = parse_pretokenizer(tok, root, name)) < 0 ||
        (err = parse_added_tokens(tok, root, name)) < 0 ||
        (err = parse_post(tok, root, name)) < 0 || (err = parse_decoder(tok, root, name)) < 0 ||
        (err = parse_padding(tok, root, name)) < 0)
        goto out;
    tok->model_max_length = (int32_t)c.model_max_length;
    if ((err = tc__tokenizer_finalize(tok, name)) < 0)
        goto out;
    if (cfg && cJSON_GetObjectItemCaseSensitive(cfg, "pad_token") && c.special[2]) {
        int32_t id = tc_tokenizer_token_to_id(tok, c.special[2], strlen(c.special[2]));
        if (id >= 0)
            tok->pad_id = id;
    }
    *out = tok;
    tok = NULL;
out:
    tc_tokenizer_free(tok);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return err;
}

int tc_tokenizer_from_json(tc_tokenizer **out, const char *json, size_t len, const char *config,
                           size_t config_len, const char *name)
{
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(json || !len);
    if (!name)
        name = "tokenizer.json";
    return from_json(out, json ? json : "", len, config, config_len, name, "tokenizer_config.json");
}

/* vocab.txt lines into the vocabulary: id = line number, later duplicates take the token. */
static int parse_vocab_txt(tc_tokenizer *tok, const char *text, size_t len, const char *name)
{
    size_t pos = 0, line = 0;
    char where[48];
    int err;

    while (pos < len) {
        size_t end = pos, next;
        tc__strmap_slot *slot;
        int existed;

        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        next = end < len && text[end] == '\r' && end + 1 < len && text[end + 1] == '\n' ? end + 2
                                                                                        : end + 1;
        snprintf(where, sizeof(where), "line %zu", line + 1);
        if (line >= (size_t)TC_TOKENIZER_MAX_VOCAB)
            return bad(name, where, "more than %d tokens", (int)TC_TOKENIZER_MAX_VOCAB);
        if (end - pos > TC_TOKENIZER_MAX_TOKEN_BYTES)
            return bad(name, where, "token of %zu bytes is over the limit of %zu", end - pos,
                       TC_TOKENIZER_MAX_TOKEN_BYTES);
        if (memchr(text + pos, '\0', end - pos) || tc__utf8_count(text + pos, end - pos) < 0)
            return bad(name, where, "token is not valid UTF-8 text");
        if ((err = tc__strmap_put(&tok->vocab, text + pos, end - pos, (int64_t)line, &slot,
                                  &existed)) < 0)
            return err;
        if (existed)
            slot->value = (int64_t)line;
        line++;
        pos = next;
    }
    if (!line)
        return bad(name, "line 1", "the vocabulary is empty");
    return TC_OK;
}

/* The special tokens of a vocab.txt tokenizer, as transformers adds them. */
static int vocab_specials(tc_tokenizer *tok, const tok_config *c, const char *name)
{
    int32_t next = (int32_t)tok->vocab.count, ids[5];
    int k, err;

    for (k = 0; k < 5; k++) {
        const tc__strmap_slot *s;
        ids[k] = -1;
        if (!c->special[k])
            continue;
        s = tc__strmap_get(&tok->vocab, c->special[k], strlen(c->special[k]));
        if (s) {
            ids[k] = (int32_t)s->value;
        } else if (k == 2 || k == 4) { /* pad, mask: appended as new tokens */
            ids[k] = next++;
        } else {
            return bad(name, special_keys[k], "'%s' is not in the vocabulary", c->special[k]);
        }
        if ((err = tc__tokenizer_add_token(tok, c->special[k], ids[k], 1, 0)) < 0)
            return err;
    }
    if (!c->special[0] || !c->special[1] || !c->special[3])
        return bad(name, "special tokens", "unk_token, sep_token and cls_token are required");
    tok->pad_id = ids[2];
    return tc__tokenizer_bert_template(tok, c->special[3], ids[3], c->special[1], ids[1]);
}

static int from_vocab(tc_tokenizer **out, const char *text, size_t len, const char *cfg_text,
                      size_t cfg_len, const char *name, const char *cfg_name)
{
    tc_tokenizer *tok = NULL;
    cJSON *cfg = NULL;
    tok_config c;
    int err;

    if (len > TC_TOKENIZER_MAX_FILE_BYTES) {
        err = tc_error_set(TC_ERANGE, "'%s' is larger than the limit of %zu bytes", name,
                           TC_TOKENIZER_MAX_FILE_BYTES);
        goto out;
    }
    if ((err = parse_config_text(&c, &cfg, cfg_text, cfg_len, cfg_name)) < 0)
        goto out;
    if ((err = tc__tokenizer_alloc(&tok, TC_TOKENIZER_WORDPIECE)) < 0 ||
        (err = parse_vocab_txt(tok, text, len, name)) < 0)
        goto out;
    tok->norm.present = 1;
    tok->norm.clean_text = 1;
    tok->norm.handle_chinese_chars = c.tokenize_chinese_chars;
    tok->norm.strip_accents = c.strip_accents;
    tok->norm.lowercase = c.do_lower_case;
    tok->pretokenizer = 1;
    tok->post = TC__POST_TEMPLATE;
    tok->decoder = TC__DECODER_WORDPIECE;
    tok->decoder_cleanup = 1;
    tok->model_max_length = (int32_t)c.model_max_length;
    if ((err = set_str(&tok->unk_token, c.special[0] ? c.special[0] : "[UNK]")) < 0 ||
        (err = set_str(&tok->prefix, "##")) < 0 || (err = set_str(&tok->decoder_prefix, "##")) < 0)
        goto out;
    tok->prefix_len = 2;
    if ((err = vocab_specials(tok, &c, name)) < 0 || (err = tc__tokenizer_finalize(tok, name)) < 0)
        goto out;
    *out = tok;
    tok = NULL;
out:
    tc_tokenizer_free(tok);
    cJSON_Delete(cfg);
    return err;
}

int tc_tokenizer_from_vocab(tc_tokenizer **out, const char *vocab, size_t len, const char *config,
                            size_t config_len, const char *name)
{
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(vocab || !len);
    if (!name)
        name = "vocab.txt";
    return from_vocab(out, vocab ? vocab : "", len, config, config_len, name,
                      "tokenizer_config.json");
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int tc_tokenizer_load(tc_tokenizer **out, const char *path)
{
    char file[4096], cfg_path[4096];
    char *text = NULL, *cfg = NULL;
    size_t len = 0, cfg_len = 0, n;
    const char *slash, *base;
    int err, vocab_txt;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(path);
    n = strlen(path);
    if (n + 32 > sizeof(file))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", path);
    if (is_dir(path)) {
        snprintf(file, sizeof(file), "%s/tokenizer.json", path);
        if (!exists(file))
            snprintf(file, sizeof(file), "%s/vocab.txt", path);
        if (!exists(file))
            return tc_error_set(TC_ENOTFOUND, "'%s' holds neither tokenizer.json nor vocab.txt",
                                path);
        snprintf(cfg_path, sizeof(cfg_path), "%s/tokenizer_config.json", path);
    } else {
        snprintf(file, sizeof(file), "%s", path);
        slash = strrchr(path, '/');
        snprintf(cfg_path, sizeof(cfg_path), "%.*stokenizer_config.json",
                 slash ? (int)(slash - path + 1) : 0, path);
    }
    base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    vocab_txt = strlen(base) >= 4 && !strcmp(base + strlen(base) - 4, ".txt");
    if ((err = tc__read_file(file, TC_TOKENIZER_MAX_FILE_BYTES, &text, &len)) < 0)
        goto out;
    if (strcmp(cfg_path, file) && exists(cfg_path) &&
        (err = tc__read_file(cfg_path, TC_TOKENIZER_MAX_FILE_BYTES, &cfg, &cfg_len)) < 0)
        goto out;
    if (vocab_txt)
        err = from_vocab(out, text, len, cfg, cfg_len, file, cfg_path);
    else
        err = from_json(out, text, len, cfg, cfg_len, file, cfg_path);
out:
    tc_free(text);
    tc_free(cfg);
    return err;
}

/* ---- tokenizer.json writer ---------------------------------------------------------------- */

static cJSON *normalizer_json(const tc_tokenizer *tok)
{
    cJSON *o;

    if (!tok->norm.present)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "BertNormalizer");
    cJSON_AddBoolToObject(o, "clean_text", tok->norm.clean_text);
    cJSON_AddBoolToObject(o, "handle_chinese_chars", tok->norm.handle_chinese_chars);
    if (tok->norm.strip_accents < 0)
        cJSON_AddNullToObject(o, "strip_accents");
    else
        cJSON_AddBoolToObject(o, "strip_accents", tok->norm.strip_accents);
    cJSON_AddBoolToObject(o, "lowercase", tok->norm.lowercase);
    return o;
}

static cJSON *pieces_json(const tc__piece *p, size_t n, cJSON *specials)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i, j;

    for (i = 0; i < n; i++) {
        cJSON *wrap = cJSON_CreateObject(), *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "id", p[i].is_special ? p[i].name : p[i].seq ? "B" : "A");
        cJSON_AddNumberToObject(body, "type_id", p[i].type_id);
        cJSON_AddItemToObject(wrap, p[i].is_special ? "SpecialToken" : "Sequence", body);
        cJSON_AddItemToArray(arr, wrap);
        if (p[i].is_special && !cJSON_GetObjectItemCaseSensitive(specials, p[i].name)) {
            cJSON *st = cJSON_CreateObject(), *ids = cJSON_CreateArray(),
                  *toks = cJSON_CreateArray();
            cJSON_AddStringToObject(st, "id", p[i].name);
            for (j = 0; j < p[i].n_ids; j++) {
                cJSON_AddItemToArray(ids, cJSON_CreateNumber(p[i].ids[j]));
                cJSON_AddItemToArray(toks, cJSON_CreateString(p[i].tokens[j]));
            }
            cJSON_AddItemToObject(st, "ids", ids);
            cJSON_AddItemToObject(st, "tokens", toks);
            cJSON_AddItemToObject(specials, p[i].name, st);
        }
    }
    return arr;
}

static cJSON *post_json(const tc_tokenizer *tok)
{
    cJSON *o, *specials;

    if (tok->post == TC__POST_NONE)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    if (tok->post == TC__POST_BERT) {
        cJSON *sep = cJSON_CreateArray(), *cls = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "type", "BertProcessing");
        cJSON_AddItemToArray(sep, cJSON_CreateString(tok->single[2].name));
        cJSON_AddItemToArray(sep, cJSON_CreateNumber(tok->single[2].ids[0]));
        cJSON_AddItemToArray(cls, cJSON_CreateString(tok->single[0].name));
        cJSON_AddItemToArray(cls, cJSON_CreateNumber(tok->single[0].ids[0]));
        cJSON_AddItemToObject(o, "sep", sep);
        cJSON_AddItemToObject(o, "cls", cls);
        return o;
    }
    specials = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "TemplateProcessing");
    cJSON_AddItemToObject(o, "single", pieces_json(tok->single, tok->n_single, specials));
    cJSON_AddItemToObject(o, "pair", pieces_json(tok->pair, tok->n_pair, specials));
    cJSON_AddItemToObject(o, "special_tokens", specials);
    return o;
}

static cJSON *added_json(const tc_tokenizer *tok)
{
    cJSON *arr = cJSON_CreateArray();
    int32_t id;
    size_t i;

    for (id = 0; id < tok->n_ids; id++) {
        for (i = tok->n_added; i-- > 0;) {
            const tc__added_token *t = &tok->added[i];
            cJSON *o;
            if (t->id != id)
                continue;
            o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", t->id);
            cJSON_AddStringToObject(o, "content", t->content);
            cJSON_AddBoolToObject(o, "single_word", t->single_word);
            cJSON_AddBoolToObject(o, "lstrip", t->lstrip);
            cJSON_AddBoolToObject(o, "rstrip", t->rstrip);
            cJSON_AddBoolToObject(o, "normalized", t->normalized);
            cJSON_AddBoolToObject(o, "special", t->special);
            cJSON_AddItemToArray(arr, o);
            break;
        }
    }
    return arr;
}

static int model_json(cJSON **out, const tc_tokenizer *tok)
{
    const char **by_id = NULL;
    cJSON *m = cJSON_CreateObject(), *vocab = cJSON_CreateObject();
    size_t i;
    int32_t id;

    if (!(by_id = tc_calloc((size_t)tok->n_ids + 1, sizeof(char *)))) {
        cJSON_Delete(m);
        cJSON_Delete(vocab);
        return TC_ENOMEM;
    }
    for (i = 0; i < tok->vocab.cap; i++)
        if (tok->vocab.slots[i].off != SIZE_MAX)
            by_id[tok->vocab.slots[i].value] = tc__strmap_key(&tok->vocab, &tok->vocab.slots[i]);
    for (id = 0; id < tok->n_ids; id++)
        if (by_id[id])
            cJSON_AddItemToObject(vocab, by_id[id], cJSON_CreateNumber(id));
    tc_free(by_id);
    if (tok->kind == TC_TOKENIZER_WORDPIECE) {
        cJSON_AddStringToObject(m, "type", "WordPiece");
        cJSON_AddStringToObject(m, "unk_token", tok->unk_token);
        cJSON_AddStringToObject(m, "continuing_subword_prefix", tok->prefix);
        cJSON_AddNumberToObject(m, "max_input_chars_per_word",
                                (double)tok->max_input_chars_per_word);
        cJSON_AddItemToObject(m, "vocab", vocab);
    } else {
        cJSON_AddStringToObject(m, "type", "WordLevel");
        cJSON_AddItemToObject(m, "vocab", vocab);
        cJSON_AddStringToObject(m, "unk_token", tok->unk_token);
    }
    *out = m;
    return TC_OK;
}

int tc_tokenizer_to_json(char **out, const tc_tokenizer *tok)
{
    cJSON *root = NULL, *model = NULL, *o;
    char *s = NULL;
    int err;

    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(tok);
    if ((err = model_json(&model, tok)) < 0)
        return err;
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON_AddItemToObject(root, "added_tokens", added_json(tok));
    cJSON_AddItemToObject(root, "normalizer", normalizer_json(tok));
    if (tok->pretokenizer) {
        o = cJSON_AddObjectToObject(root, "pre_tokenizer");
        cJSON_AddStringToObject(o, "type", "BertPreTokenizer");
    } else {
        cJSON_AddNullToObject(root, "pre_tokenizer");
    }
    cJSON_AddItemToObject(root, "post_processor", post_json(tok));
    if (tok->decoder == TC__DECODER_WORDPIECE) {
        o = cJSON_AddObjectToObject(root, "decoder");
        cJSON_AddStringToObject(o, "type", "WordPiece");
        cJSON_AddStringToObject(o, "prefix", tok->decoder_prefix ? tok->decoder_prefix : "##");
        cJSON_AddBoolToObject(o, "cleanup", tok->decoder_cleanup);
    } else {
        cJSON_AddNullToObject(root, "decoder");
    }
    cJSON_AddItemToObject(root, "model", model);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return tc_error_set(TC_ENOMEM, "out of memory writing tokenizer.json");
    *out = tc_strdup(s);
    cJSON_free(s);
    return *out ? TC_OK : TC_ENOMEM;
}

int tc_tokenizer_save(const tc_tokenizer *tok, const char *path)
{
    char *json = NULL;
    int err;

    TC_ASSERT_ARG(tok);
    TC_ASSERT_ARG(path);
    if ((err = tc_tokenizer_to_json(&json, tok)) < 0)
        return err;
    err = tc__write_file_atomic(path, json, strlen(json));
    tc_free(json);
    return err;
}
