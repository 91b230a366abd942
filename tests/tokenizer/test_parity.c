/*
 * Tokenizer parity on the committed hard cases: for each fixture tokenizer
 * (tests/fixtures/tokenizer/{uncased,cased,added,vocab_txt}), every line of
 * hard_cases.jsonl is encoded with its options and compared with the ids,
 * type ids, attention mask and decoding that Hugging Face's Rust tokenizers
 * produced (expected_<name>.jsonl, written by js/make_fixtures.mjs). The same
 * runs again on the tokenizer written out with tc_tokenizer_to_json and
 * loaded back, and once more through tc_tokenizer_encode_batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/tokenizer.h>

#include "tc_test.h"

#define FIXTURES TC_TEST_DATA_DIR "/tokenizer"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The lines of a JSONL file as an array of parsed objects (NULL-terminated). */
static cJSON **read_jsonl(const char *path, size_t *n)
{
    char *text = read_text(path), *line, *save = NULL;
    cJSON **items = NULL;
    size_t cap = 0;

    *n = 0;
    if (!text)
        return NULL;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (*n + 2 > cap) {
            cap = cap ? cap * 2 : 64;
            items = realloc(items, cap * sizeof(*items));
        }
        items[(*n)++] = cJSON_Parse(line);
        items[*n] = NULL;
    }
    free(text);
    return items;
}

static void free_jsonl(cJSON **items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        cJSON_Delete(items[i]);
    free(items);
}

static void case_options(const cJSON *c, tc_encode_options *o)
{
    const cJSON *opts = cJSON_GetObjectItem(c, "options"), *it;

    tc_encode_options_init(o, TC_ENCODE_OPTIONS_VERSION);
    if (!opts)
        return;
    if ((it = cJSON_GetObjectItem(opts, "add_special_tokens")))
        o->add_special_tokens = cJSON_IsTrue(it);
    if ((it = cJSON_GetObjectItem(opts, "truncation"))) {
        const char *s = it->valuestring;
        o->truncation = !strcmp(s, "longest_first") ? TC_TRUNCATION_LONGEST_FIRST
                        : !strcmp(s, "only_first")  ? TC_TRUNCATION_ONLY_FIRST
                                                    : TC_TRUNCATION_ONLY_SECOND;
    }
    if ((it = cJSON_GetObjectItem(opts, "max_length")))
        o->max_length = it->valueint;
    if ((it = cJSON_GetObjectItem(opts, "padding")))
        o->padding = TC_PADDING_MAX_LENGTH;
    if ((it = cJSON_GetObjectItem(opts, "pad_to_multiple_of")))
        o->pad_to_multiple_of = it->valueint;
}

static int same_array(const cJSON *want, const int32_t *got, size_t n)
{
    const cJSON *it;
    size_t i = 0;

    if (!cJSON_IsArray(want) || (size_t)cJSON_GetArraySize(want) != n)
        return 0;
    cJSON_ArrayForEach(it, want)
    {
        if (it->valueint != got[i++])
            return 0;
    }
    return 1;
}

static void print_ids(const char *label, const int32_t *v, size_t n)
{
    size_t i;

    fprintf(stderr, "  %s:", label);
    for (i = 0; i < n && i < 60; i++)
        fprintf(stderr, " %d", (int)v[i]);
    fprintf(stderr, "%s\n", n > 60 ? " ..." : "");
}

/* Compare one encoding (err: its return code) with the expected line; 1 when they agree. */
static int check_case(const tc_tokenizer *tok, const cJSON *c, const cJSON *want,
                      const tc_encoding *e, int err, const char *label)
{
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const cJSON *dec = cJSON_GetObjectItem(want, "decoded");
    char *decoded = NULL;
    int ok;

    if (cJSON_GetObjectItem(want, "error")) {
        if (err < 0)
            return 1;
        fprintf(stderr, "%s %s: expected an error, got %zu ids\n", label, name, e->len);
        return 0;
    }
    if (err < 0) {
        fprintf(stderr, "%s %s: error %s\n", label, name, tc_error_message());
        return 0;
    }
    ok = same_array(cJSON_GetObjectItem(want, "ids"), e->ids, e->len) &&
         same_array(cJSON_GetObjectItem(want, "type_ids"), e->type_ids, e->len) &&
         same_array(cJSON_GetObjectItem(want, "attention_mask"), e->attention_mask, e->len);
    if (!ok) {
        char *w = cJSON_PrintUnformatted(cJSON_GetObjectItem(want, "ids"));
        fprintf(stderr, "%s %s: ids differ\n  want: %s\n", label, name, w);
        print_ids("got ", e->ids, e->len);
        print_ids("type", e->type_ids, e->len);
        free(w);
        return 0;
    }
    if (dec && tc_tokenizer_decode(&decoded, tok, e->ids, e->len, 1) == 0 &&
        strcmp(decoded, dec->valuestring)) {
        fprintf(stderr, "%s %s: decode differs\n  want: '%s'\n  got:  '%s'\n", label, name,
                dec->valuestring, decoded);
        ok = 0;
    }
    tc_free(decoded);
    return ok;
}

static const char *str_or_null(const cJSON *c, const char *key)
{
    const cJSON *it = cJSON_GetObjectItem(c, key);

    return it ? it->valuestring : NULL;
}

/* Encode every case one at a time; returns the number of mismatches. */
static int run_cases(const tc_tokenizer *tok, cJSON **cases, cJSON **want, size_t n,
                     const char *label)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n; i++) {
        tc_encode_options o;
        tc_encoding e = {0};
        const char *text = str_or_null(cases[i], "text"),
                   *pair = str_or_null(cases[i], "text_pair");
        int err;

        case_options(cases[i], &o);
        err = tc_tokenizer_encode(&e, tok, text, strlen(text), pair, pair ? strlen(pair) : 0, &o);
        bad += !check_case(tok, cases[i], want[i], &e, err, label);
        tc_encoding_dispose(&e);
    }
    return bad;
}

/* The single texts without options, encoded in one batch, must match too. */
static int run_batch(const tc_tokenizer *tok, cJSON **cases, cJSON **want, size_t n)
{
    const char **texts = calloc(n, sizeof(char *));
    size_t *idx = calloc(n, sizeof(size_t)), m = 0, i;
    tc_encoding *encs = calloc(n, sizeof(tc_encoding));
    int bad = 0;

    for (i = 0; i < n; i++) {
        if (!cJSON_GetObjectItem(cases[i], "options") && !str_or_null(cases[i], "text_pair")) {
            idx[m] = i;
            texts[m++] = str_or_null(cases[i], "text");
        }
    }
    TC_CHECK_OK(tc_tokenizer_encode_batch(encs, tok, texts, NULL, NULL, NULL, m, NULL));
    for (i = 0; i < m; i++) {
        bad += !check_case(tok, cases[idx[i]], want[idx[i]], &encs[i], 0, "batch");
        tc_encoding_dispose(&encs[i]);
    }
    free(texts);
    free(idx);
    free(encs);
    return bad;
}

static void parity(const char *name, const char *path)
{
    char want_path[512];
    tc_tokenizer *tok = NULL, *again = NULL;
    cJSON **cases, **want;
    size_t n_cases, n_want;
    char *json = NULL;
    int bad;

    snprintf(want_path, sizeof(want_path), FIXTURES "/expected_%s.jsonl", name);
    cases = read_jsonl(FIXTURES "/hard_cases.jsonl", &n_cases);
    want = read_jsonl(want_path, &n_want);
    TC_CHECK(cases && want && n_cases == n_want && n_cases > 50);
    TC_CHECK_OK(tc_tokenizer_load(&tok, path));
    if (!cases || !want || n_cases != n_want || !tok)
        goto out;
    bad = run_cases(tok, cases, want, n_cases, name);
    printf("%s: %zu hard cases, %d differ from Hugging Face's tokenizers\n", name, n_cases, bad);
    TC_CHECK(bad == 0);
    TC_CHECK(run_batch(tok, cases, want, n_cases) == 0);

    /* Written as tokenizer.json and read back, it encodes the same. */
    TC_CHECK_OK(tc_tokenizer_to_json(&json, tok));
    TC_CHECK_OK(tc_tokenizer_from_json(&again, json, json ? strlen(json) : 0, NULL, 0, "saved"));
    if (again)
        TC_CHECK(run_cases(again, cases, want, n_cases, "saved") == 0);
out:
    tc_free(json);
    tc_tokenizer_free(tok);
    tc_tokenizer_free(again);
    free_jsonl(cases, n_cases);
    free_jsonl(want, n_want);
}

static void test_tokenizer_parity__uncased(void)
{
    parity("uncased", FIXTURES "/uncased/tokenizer.json");
}

static void test_tokenizer_parity__cased(void)
{
    parity("cased", FIXTURES "/cased/tokenizer.json");
}

/* Added tokens with lstrip, rstrip, single_word and normalized (ids after the vocabulary). */
static void test_tokenizer_parity__added(void)
{
    parity("added", FIXTURES "/added/tokenizer.json");
}

static void test_tokenizer_parity__vocab_txt(void)
{
    parity("vocab_txt", FIXTURES "/vocab_txt");
}

static const tc_test_case tests[] = {
    TC_TEST(test_tokenizer_parity__uncased),
    TC_TEST(test_tokenizer_parity__cased),
    TC_TEST(test_tokenizer_parity__added),
    TC_TEST(test_tokenizer_parity__vocab_txt),
};

TC_TEST_MAIN(tests)
