/*
 * tcd-worker tokenize - encode JSON lines with a tokenizer (tc/tokenizer.h).
 *
 *   tcd-worker tokenize --tokenizer PATH [--pair] [--max-length N] [--truncation[=STRATEGY]]
 *              [--no-special-tokens] [--type-ids] [--attention-mask]
 *
 * PATH is a tokenizer.json, a vocab.txt or a folder holding either (with its
 * tokenizer_config.json). Each line of stdin is a JSON object with a string
 * "text" (and, with --pair, a string "text_pair"; without --pair a
 * "text_pair" is refused rather than ignored); other keys are ignored. Each
 * gives one line on stdout, in order:
 *
 *   {"ids":[101,7592,102]}                 (+ "type_ids", "attention_mask" when asked)
 *
 * Special tokens ([CLS], [SEP]) are added unless --no-special-tokens. Nothing
 * is truncated unless --truncation is given: STRATEGY is longest_first (the
 * default), only_first or only_second, and the limit is --max-length or the
 * tokenizer's model_max_length.
 *
 * A bad line (not JSON, not an object, no string "text", longer than
 * TC_TOKENIZER_MAX_INPUT_BYTES, or a truncation that cannot apply) stops the
 * run: the message names the line number, the lines before it have been
 * written, and the exit code is 1. Every line, a blank one too, must be an
 * object; a "\u0000" escape reads as U+FFFD (both are removed by BERT's
 * clean_text) since the JSON parser ends strings at NUL.
 * Exit codes: 0 all lines encoded, 1 a bad line or a tokenizer that does not
 * load, 2 usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/tokenizer.h>

#include "lines.h"
#include "worker.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

typedef struct tok_args {
    const char *path;
    int pair, type_ids, attention_mask;
    tc_encode_options opts;
} tok_args;

static void tok_usage(void)
{
    fprintf(stderr, "usage: tcd-worker tokenize --tokenizer PATH [--pair] [--max-length N] "
                    "[--truncation[=longest_first|only_first|only_second]]\n"
                    "                  [--no-special-tokens] [--type-ids] [--attention-mask] "
                    "< lines.jsonl\n");
}

static int parse_strategy(const char *s, tc_truncation *out)
{
    if (!strcmp(s, "longest_first"))
        *out = TC_TRUNCATION_LONGEST_FIRST;
    else if (!strcmp(s, "only_first"))
        *out = TC_TRUNCATION_ONLY_FIRST;
    else if (!strcmp(s, "only_second"))
        *out = TC_TRUNCATION_ONLY_SECOND;
    else
        return -1;
    return 0;
}

static int parse_max_length(const char *s, int32_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 1 || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int parse_tok_args(int argc, char **argv, tok_args *a)
{
    int i, max_given = 0;

    memset(a, 0, sizeof(*a));
    tc_encode_options_init(&a->opts, TC_ENCODE_OPTIONS_VERSION);
    for (i = 0; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
            a->path = argv[++i];
        } else if (!strncmp(argv[i], "--tokenizer=", 12)) {
            a->path = argv[i] + 12;
        } else if (!strcmp(argv[i], "--pair")) {
            a->pair = 1;
        } else if (!strcmp(argv[i], "--no-special-tokens")) {
            a->opts.add_special_tokens = 0;
        } else if (!strcmp(argv[i], "--type-ids")) {
            a->type_ids = 1;
        } else if (!strcmp(argv[i], "--attention-mask")) {
            a->attention_mask = 1;
        } else if (!strcmp(argv[i], "--truncation")) {
            a->opts.truncation = TC_TRUNCATION_LONGEST_FIRST;
        } else if (!strncmp(argv[i], "--truncation=", 13)) {
            if (parse_strategy(argv[i] + 13, &a->opts.truncation) < 0) {
                fprintf(stderr, "tcd-worker tokenize: unknown truncation '%s'\n", argv[i] + 13);
                return -1;
            }
        } else if ((!strcmp(argv[i], "--max-length") && i + 1 < argc && (v = argv[++i])) ||
                   (!strncmp(argv[i], "--max-length=", 13) && (v = argv[i] + 13))) {
            if (parse_max_length(v, &a->opts.max_length) < 0) {
                fprintf(stderr, "tcd-worker tokenize: --max-length must be a positive integer\n");
                return -1;
            }
            max_given = 1;
        } else {
            fprintf(stderr, "tcd-worker tokenize: unexpected argument '%s'\n", argv[i]);
            return -1;
        }
    }
    if (!a->path) {
        fprintf(stderr, "tcd-worker tokenize: missing --tokenizer PATH\n");
        return -1;
    }
    if (max_given && a->opts.truncation == TC_TRUNCATION_NONE) {
        fprintf(stderr, "tcd-worker tokenize: --max-length needs --truncation\n");
        return -1;
    }
    return 0;
}

/* Rewrite "\u0000" escapes inside JSON strings as "\ufffd", in place (same length). */
static void replace_nul_escapes(char *s, size_t n)
{
    size_t i;
    int in_string = 0;

    for (i = 0; i < n; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                memcpy(s + i + 2, "fffd", 4);
            i++;
        }
    }
}

/* Write "key":[v0,v1,...] (after a comma unless first) without printf, which dominated. */
static void put_ints(FILE *out, const char *key, const int32_t *v, size_t n, int first)
{
    char buf[4096];
    size_t k = 0, i;

    fprintf(out, "%s\"%s\":[", first ? "" : ",", key);
    for (i = 0; i < n; i++) {
        char digits[12];
        uint32_t x = v[i] < 0 ? (uint32_t)(-(int64_t)v[i]) : (uint32_t)v[i];
        size_t d = 0;
        if (k + 16 > sizeof(buf)) {
            fwrite(buf, 1, k, out);
            k = 0;
        }
        if (i)
            buf[k++] = ',';
        if (v[i] < 0)
            buf[k++] = '-';
        do {
            digits[d++] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        while (d)
            buf[k++] = digits[--d];
    }
    buf[k++] = ']';
    fwrite(buf, 1, k, out);
}

/* The "text"-like field of a line: a string, or NULL with a message in why. */
static const cJSON *text_field(const cJSON *obj, const char *key, const char **why)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!it)
        *why = "is missing";
    else if (!cJSON_IsString(it))
        *why = "is not a string";
    else
        return it;
    return NULL;
}

static int encode_line(const tc_tokenizer *tok, const tok_args *a, char *line, size_t len,
                       size_t lineno)
{
    cJSON *obj;
    const cJSON *text, *pair = NULL;
    const char *why = NULL, *end = NULL;
    tc_encoding enc = {0};
    int err;

    replace_nul_escapes(line, len);
    obj = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!obj || !cJSON_IsObject(obj)) {
        fprintf(stderr, "tcd-worker tokenize: line %zu: %s\n", lineno,
                obj ? "not a JSON object" : "invalid JSON");
        cJSON_Delete(obj);
        return -1;
    }
    if (!(text = text_field(obj, "text", &why))) {
        fprintf(stderr, "tcd-worker tokenize: line %zu: \"text\" %s\n", lineno, why);
    } else if (a->pair && !(pair = text_field(obj, "text_pair", &why))) {
        fprintf(stderr, "tcd-worker tokenize: line %zu: \"text_pair\" %s (--pair)\n", lineno, why);
    } else if (!a->pair && cJSON_GetObjectItemCaseSensitive(obj, "text_pair")) {
        fprintf(stderr, "tcd-worker tokenize: line %zu: \"text_pair\" given without --pair\n",
                lineno);
        why = "";
    }
    if (why) {
        cJSON_Delete(obj);
        return -1;
    }
    err = tc_tokenizer_encode(&enc, tok, text->valuestring, strlen(text->valuestring),
                              pair ? pair->valuestring : NULL, pair ? strlen(pair->valuestring) : 0,
                              &a->opts);
    cJSON_Delete(obj);
    if (err < 0) {
        fprintf(stderr, "tcd-worker tokenize: line %zu: %s\n", lineno, tc_error_message());
        return -1;
    }
    fputc('{', stdout);
    put_ints(stdout, "ids", enc.ids, enc.len, 1);
    if (a->type_ids)
        put_ints(stdout, "type_ids", enc.type_ids, enc.len, 0);
    if (a->attention_mask)
        put_ints(stdout, "attention_mask", enc.attention_mask, enc.len, 0);
    fputs("}\n", stdout);
    tc_encoding_dispose(&enc);
    return 0;
}

int tcd_cmd_tokenize(int argc, char **argv)
{
    tok_args a;
    tc_tokenizer *tok = NULL;
    tcd_lines r;
    size_t lineno = 0;
    int rc = 0, got;

    if (parse_tok_args(argc, argv, &a) < 0) {
        tok_usage();
        return EXIT_USAGE;
    }
    if (tc_tokenizer_load(&tok, a.path) < 0) {
        fprintf(stderr, "tcd-worker tokenize: %s\n", tc_error_message());
        return EXIT_FAILED;
    }
    if (tcd_lines_init(&r, stdin) < 0) {
        tc_tokenizer_free(tok);
        return EXIT_FAILED;
    }
    while ((got = tcd_lines_read(&r, TC_TOKENIZER_MAX_INPUT_BYTES)) != 0) {
        lineno++;
        if (got == -2) {
            fprintf(stderr, "tcd-worker tokenize: line %zu: longer than %zu bytes\n", lineno,
                    TC_TOKENIZER_MAX_INPUT_BYTES);
        } else if (got < 0) {
            fprintf(stderr, "tcd-worker tokenize: line %zu: out of memory\n", lineno);
        } else if (encode_line(tok, &a, r.line, r.line_len, lineno) == 0) {
            continue;
        }
        rc = EXIT_FAILED;
        break;
    }
    if (rc == 0 && ferror(stdin)) {
        fprintf(stderr, "tcd-worker tokenize: cannot read stdin\n");
        rc = EXIT_FAILED;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tcd-worker tokenize: cannot write stdout\n");
        rc = EXIT_FAILED;
    }
    tcd_lines_dispose(&r);
    tc_tokenizer_free(tok);
    return rc;
}
