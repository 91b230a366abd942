/*
 * bench_tokenizer.c - WordPiece encoding throughput of libtc's tokenizer
 * (<tc/tokenizer.h>), the C side of bench/tokenizer_vs_hf.sh.
 *
 * Loads a tokenizer (tokenizer.json, vocab.txt or a directory), reads every
 * text of INPUT into memory first (a JSON Lines file with a "text" column,
 * read with <tc/table.h>; or, with --raw, the whole file as one text), then
 * encodes all texts one by one with tc_tokenizer_encode (special tokens
 * added, no truncation or padding), REPS times. Only the encoding is timed.
 * Prints one line:
 *
 *   tc texts=N bytes=B tokens=T best_s=S median_s=M
 *
 * with B the UTF-8 bytes of one pass, T the ids of one pass ([CLS]/[SEP]
 * included) and the best and median seconds of one pass over the REPS.
 *
 * Usage: bench_tokenizer TOKENIZER INPUT.jsonl [REPS (default 5)] [--raw]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tc/error.h>
#include <tc/table.h>
#include <tc/tokenizer.h>

#include "bench_util.h"

typedef struct texts {
    char **s;
    size_t *len;
    size_t n, cap, bytes;
} texts;

static int texts_push(texts *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char **ns = realloc(t->s, cap * sizeof *ns);
        if (!ns)
            return -1;
        t->s = ns;
        size_t *nl = realloc(t->len, cap * sizeof *nl);
        if (!nl)
            return -1;
        t->len = nl;
        t->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->s[t->n] = copy;
    t->len[t->n] = len;
    t->n++;
    t->bytes += len;
    return 0;
}

static int read_jsonl(texts *t, const char *path)
{
    tc_table *tab = NULL;
    const char *cols[] = {"text"};
    const tc_value *row;
    int rc;
    tc_table_options opts = TC_TABLE_OPTIONS_INIT;

    opts.format = TC_TABLE_FORMAT_JSONL;
    opts.max_record_bytes = (size_t)64 << 20;
    if (tc_table_open(&tab, path, &opts) < 0 || tc_table_select(tab, cols, 1) < 0) {
        fprintf(stderr, "bench_tokenizer: %s\n", tc_error_message());
        tc_table_free(tab);
        return -1;
    }
    while ((rc = tc_table_next(tab, &row)) > 0) {
        if (row[0].type != TC_VALUE_STRING)
            continue;
        if (texts_push(t, row[0].str, row[0].len) < 0) {
            fprintf(stderr, "bench_tokenizer: out of memory\n");
            rc = -1;
            break;
        }
    }
    if (rc < 0 && tc_error_message()[0])
        fprintf(stderr, "bench_tokenizer: %s\n", tc_error_message());
    tc_table_free(tab);
    return rc < 0 ? -1 : 0;
}

static int read_raw(texts *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t len = 0;
    char *buf = bench_read_all(f, &len);
    fclose(f);
    int rc = buf ? texts_push(t, buf, len) : -1;
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    const char *tok_path = NULL, *input = NULL;
    long reps = 5;
    int raw = 0, npos = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0)
            raw = 1;
        else if (npos == 0 && ++npos)
            tok_path = argv[i];
        else if (npos == 1 && ++npos)
            input = argv[i];
        else if (npos == 2 && ++npos)
            reps = strtol(argv[i], NULL, 10);
    }
    if (!tok_path || !input || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_tokenizer TOKENIZER INPUT.jsonl [REPS] [--raw]\n");
        return 2;
    }

    tc_tokenizer *tok = NULL;
    if (tc_tokenizer_load(&tok, tok_path) < 0) {
        fprintf(stderr, "bench_tokenizer: %s\n", tc_error_message());
        return 1;
    }
    texts t = {0};
    if ((raw ? read_raw(&t, input) : read_jsonl(&t, input)) < 0) {
        tc_tokenizer_free(tok);
        return 1;
    }

    double *secs = calloc((size_t)reps, sizeof *secs);
    size_t tokens = 0;
    int status = 0;
    for (int r = 0; r < reps && secs && status == 0; r++) {
        size_t n_tok = 0;
        double t0 = bench_now_s();
        for (size_t i = 0; i < t.n; i++) {
            tc_encoding enc = {0};
            if (tc_tokenizer_encode(&enc, tok, t.s[i], t.len[i], NULL, 0, NULL) < 0) {
                fprintf(stderr, "bench_tokenizer: text %zu: %s\n", i, tc_error_message());
                status = 1;
                break;
            }
            n_tok += enc.len;
            tc_encoding_dispose(&enc);
        }
        secs[r] = bench_now_s() - t0;
        tokens = n_tok;
    }
    if (status == 0 && secs) {
        bench_sort_seconds(secs, (size_t)reps);
        printf("tc texts=%zu bytes=%zu tokens=%zu best_s=%.6f median_s=%.6f\n", t.n, t.bytes,
               tokens, secs[0], secs[reps / 2]);
    }
    free(secs);
    for (size_t i = 0; i < t.n; i++)
        free(t.s[i]);
    free(t.s);
    free(t.len);
    tc_tokenizer_free(tok);
    return secs ? status : 1;
}
