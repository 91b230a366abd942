/*
 * text.c - the "text" data plugin: labelled texts (or text pairs) from a
 * Hub-style dataset folder, read with <tc/datadir.h> and <tc/table.h>.
 *
 * The folder is a local dataset (e.g. from scripts/make-spam-dataset) or a
 * snapshot in the huggingface_hub cache: tcd-worker pulls a Hub id given as
 * data.dataset and hands this plugin the snapshot folder. <tc/datadir.h>
 * finds the splits and their files (the card's configs, the parquet
 * converter's layout, or the file naming conventions) and the class names
 * of the card's class_label features.
 *
 * Every split used is read completely at open: the text column(s) and the
 * label column of each row, texts copied into one buffer per split. Labels:
 *   - integer (or boolean) labels are class ids; the names come from the
 *     label_names option, else the card's class_label names, else "0", "1",
 *     ... up to the largest id seen; a negative id (GLUE's -1 on unlabelled
 *     test rows) becomes TC_IGNORE_INDEX, which the trainer leaves out of the
 *     loss and the metrics;
 *   - string labels are mapped to ids by the label_names option, else by the
 *     sorted distinct labels of the train split; a validation or test label
 *     not among them is an error naming it.
 * A null text reads as ""; a null label is an error naming the split and row.
 *
 * The fingerprint is the dataset commit when the folder is a cache snapshot
 * (.../snapshots/<40 hex digits>), else FNV-1a 64 over the relative path and
 * bytes of every data file used.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tc/datadir.h>
#include <tc/ops.h>
#include <tc/plugin.h>
#include <tc/table.h>

#include "../../common/labels.h"

#define TEXT_MAX_BYTES ((int64_t)1 << 35)    /* all texts of all splits */
#define TEXT_MAX_EXAMPLES ((int64_t)1 << 31) /* rows of one split */
#define TEXT_MAX_LABEL_BYTES 1024
#define TEXT_READ_ROWS 512
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static const char *const split_names[TC_SPLIT_MAX] = {"train", "validation", "test"};

static const tc_option_spec text_options[] = {
    {"dataset", TC_OPTION_STRING, NULL,
     "dataset folder (Hub layout), or a Hub dataset id that tcd-worker pulls first", 1, 0},
    {"revision", TC_OPTION_STRING, NULL,
     "branch, tag or commit of a Hub dataset id (tcd-worker pulls it); default main", 1, 0},
    {"config", TC_OPTION_STRING, NULL,
     "dataset config (subset) name; default: the card's default, or 'default'", 1, 0},
    {"text_column", TC_OPTION_STRING, "text",
     "column holding the text; 'a,b' names the two columns of text pairs", 1, 0},
    {"text_pair_column", TC_OPTION_STRING, NULL,
     "column holding the second text of pairs (same as text_column 'a,b')", 1, 0},
    {"label_column", TC_OPTION_STRING, "label", "column holding the label (integer or string)", 1,
     0},
    {"label_names", TC_OPTION_STRING, NULL,
     "comma-separated class names in id order; default: the card's class_label names", 1, 0},
    {"train_split", TC_OPTION_STRING, "train", "dataset split to train on", 1, 0},
    {"validation_split", TC_OPTION_STRING, NULL,
     "split to validate on; default 'validation' when present; 'none': hold out train.val_fraction",
     1, 0},
    {"test_split", TC_OPTION_STRING, NULL,
     "split for the final evaluation; default 'test' when present; 'none' for no test", 1, 0},
    {"max_examples", TC_OPTION_INT, "0", "read at most this many rows of each split (0: all)", 0,
     2147483647.0},
    {"max_length", TC_OPTION_INT, "0",
     "tokens per text (pair) that models keep, unless their own max_length says (0: theirs)", 0,
     1048576},
};

typedef struct text_split {
    char *buf;      /* texts, each NUL-terminated */
    int64_t *off;   /* (2n) offsets into buf: row r's texts at 2r (and 2r + 1 for pairs) */
    int32_t *label; /* (n) ids, or TC_IGNORE_INDEX */
    int64_t n, cap_rows;
    size_t used, cap;
    /* string labels before they are mapped to ids: (n) offsets into sbuf */
    char *sbuf;
    int64_t *soff;
    size_t sused, scap;
    int64_t ignored; /* negative integer labels */
} text_split;

typedef struct text_name {
    const char *name;
    int32_t id;
} text_name;

typedef struct text_data {
    const tc_host *host;
    tc_datadir *dir;
    text_split splits[TC_SPLIT_MAX];
    int32_t fields, max_length;
    int string_labels;
    int32_t num_labels;
    char **names; /* (num_labels) or NULL */
    uint64_t hash;
    const char *root; /* the dataset folder, absolute (borrowed from dir) */
    char commit[41];
    text_name *order; /* (num_labels) sorted by name, for string labels */
    int64_t total_bytes;
} text_data;

static void logf_(const text_data *d, tc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(const text_data *d, tc_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!d->host || !d->host->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->host->log(d->host->ctx, level, msg);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 1024;
    void *q;

    if (need <= *cap)
        return TC_OK;
    while (c < need)
        c *= 2;
    if (!(q = realloc(*p, c * elem)))
        return tc_error_set(TC_ENOMEM, "out of memory reading texts (%zu bytes)", c * elem);
    *p = q;
    *cap = c;
    return TC_OK;
}

static int push_bytes(char **buf, size_t *used, size_t *cap, const char *s, size_t len,
                      int64_t *off)
{
    int err;

    if ((err = grow((void **)buf, cap, *used + len + 1, 1)) < 0)
        return err;
    *off = (int64_t)*used;
    if (len)
        memcpy(*buf + *used, s, len);
    (*buf)[*used + len] = '\0';
    *used += len + 1;
    return TC_OK;
}

/* FNV-1a 64 of a file's bytes (and its name relative to the dataset folder). */
static int hash_file(uint64_t *h, const char *root, const char *path)
{
    size_t lr = strlen(root);
    const char *rel = strncmp(path, root, lr) || path[lr] != '/' ? path : path + lr + 1;
    unsigned char chunk[1 << 16];
    size_t n, i;
    FILE *f;

    for (i = 0; rel[i]; i++)
        *h = (*h ^ (unsigned char)rel[i]) * FNV_PRIME;
    if (!(f = fopen(path, "rb")))
        return tc_error_set(TC_EIO, "cannot read '%s'", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        for (i = 0; i < n; i++)
            *h = (*h ^ chunk[i]) * FNV_PRIME;
    i = (size_t)ferror(f);
    fclose(f);
    return i ? tc_error_set(TC_EIO, "error reading '%s'", path) : TC_OK;
}

/* Room for `need` rows in a split's row arrays. */
static int grow_rows(text_split *sp, int64_t need)
{
    int64_t c = sp->cap_rows ? sp->cap_rows : 1024;
    void *a, *b, *e;

    while (c < need)
        c *= 2;
    a = realloc(sp->off, (size_t)c * 2 * sizeof(int64_t));
    if (a)
        sp->off = a;
    b = realloc(sp->label, (size_t)c * sizeof(int32_t));
    if (b)
        sp->label = b;
    e = realloc(sp->soff, (size_t)c * sizeof(int64_t));
    if (e)
        sp->soff = e;
    if (!a || !b || !e)
        return tc_error_set(TC_ENOMEM, "out of memory for %lld rows", (long long)c);
    sp->cap_rows = c;
    return TC_OK;
}

/* Split "a,b" (no spaces kept around names) into at most two column names. */
static int parse_columns(const char *spec, const char *pair, char cols[2][256], int32_t *fields)
{
    const char *comma = strchr(spec, ',');
    size_t la = comma ? (size_t)(comma - spec) : strlen(spec);

    *fields = 1;
    if (la == 0 || la >= 256)
        return tc_error_set(TC_EINVAL, "data.text_column '%s' is not a column name", spec);
    memcpy(cols[0], spec, la);
    cols[0][la] = '\0';
    if (comma) {
        if (strchr(comma + 1, ',') || !comma[1] || strlen(comma + 1) >= 256)
            return tc_error_set(TC_EINVAL,
                                "data.text_column '%s': give one column, or two as 'a,b'", spec);
        if (pair)
            return tc_error_set(TC_EINVAL,
                                "data.text_column '%s' already names two columns; "
                                "leave data.text_pair_column unset",
                                spec);
        snprintf(cols[1], 256, "%s", comma + 1);
        *fields = 2;
    } else if (pair && *pair) {
        if (strlen(pair) >= 256)
            return tc_error_set(TC_EINVAL, "data.text_pair_column is too long");
        snprintf(cols[1], 256, "%s", pair);
        *fields = 2;
    }
    return TC_OK;
}

/* Read one split's files: texts, and labels (ids, or strings kept for later). */
static int read_split(text_data *d, text_split *sp, const char *name, size_t di, char cols[2][256],
                      const char *label_col, int64_t max_examples)
{
    const char *const *files = tc_datadir_files(d->dir, di);
    size_t nf = tc_datadir_file_count(d->dir, di), i;
    const char *sel[3];
    tc_table *t = NULL;
    tc_table_batch b;
    int err, first_label_type = -1;

    for (i = 0; i < nf; i++)
        if ((err = hash_file(&d->hash, d->root, files[i])) < 0)
            return err;
    if ((err = tc_table_open_files(&t, files, nf, NULL)) < 0)
        return err;
    sel[0] = label_col;
    sel[1] = cols[0];
    sel[2] = cols[1];
    if ((err = tc_table_select(t, sel, 1 + (size_t)d->fields)) < 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        tc_table_free(t);
        return tc_error_set(err, "%s split of '%s': %s (set data.text_column / data.label_column)",
                            name, tc_datadir_config(d->dir), msg);
    }
    for (;;) {
        if ((err = tc_table_read(t, TEXT_READ_ROWS, &b)) < 0)
            goto out;
        if (b.n_rows == 0)
            break;
        for (i = 0; i < b.n_rows; i++) {
            const tc_value *row = b.cells + i * b.n_columns, *lab = &row[0];
            int64_t r = sp->n, f, v = 0;
            int is_str;

            if (max_examples > 0 && sp->n >= max_examples)
                goto done;
            if (sp->n >= TEXT_MAX_EXAMPLES) {
                err = tc_error_set(TC_ERANGE,
                                   "the %s split has more than %lld rows; set "
                                   "data.max_examples",
                                   name, (long long)TEXT_MAX_EXAMPLES);
                goto out;
            }
            if (r >= sp->cap_rows && (err = grow_rows(sp, r + 1)) < 0)
                goto out;
            for (f = 0; f < d->fields; f++) {
                const tc_value *c = &row[1 + f];
                const char *s =
                    c->type == TC_VALUE_STRING || c->type == TC_VALUE_BYTES ? c->str : "";
                size_t len = s == c->str ? c->len : 0;
                if (c->type != TC_VALUE_NULL && s != c->str) {
                    err = tc_error_set(TC_EFORMAT,
                                       "%s split, row %lld: column '%s' holds a non-text value",
                                       name, (long long)(r + 1), cols[f]);
                    goto out;
                }
                d->total_bytes += (int64_t)len + 1;
                if (d->total_bytes > TEXT_MAX_BYTES) {
                    err = tc_error_set(TC_ERANGE,
                                       "the texts exceed %lld bytes; set data.max_examples",
                                       (long long)TEXT_MAX_BYTES);
                    goto out;
                }
                /* offsets of second texts are stored after the first ones at the end */
                if ((err = push_bytes(&sp->buf, &sp->used, &sp->cap, s, len, &sp->off[2 * r + f])) <
                    0)
                    goto out;
            }
            if (lab->type == TC_VALUE_NULL) {
                err = tc_error_set(TC_EFORMAT, "%s split, row %lld: the label ('%s') is missing",
                                   name, (long long)(r + 1), label_col);
                goto out;
            }
            /* CSV cells are strings: "0" and "1" are ids, "spam" is a name */
            is_str = lab->type == TC_VALUE_STRING && tc_value_int(lab, &v) < 0;
            if (first_label_type < 0)
                first_label_type = is_str;
            if (first_label_type != is_str ||
                (d->string_labels >= 0 && d->string_labels != first_label_type)) {
                err = tc_error_set(TC_EFORMAT,
                                   "%s split, row %lld: label column '%s' mixes names and "
                                   "numbers",
                                   name, (long long)(r + 1), label_col);
                goto out;
            }
            if (is_str) {
                if (lab->len > TEXT_MAX_LABEL_BYTES) {
                    err = tc_error_set(TC_ERANGE, "%s split, row %lld: a label of %zu bytes", name,
                                       (long long)(r + 1), lab->len);
                    goto out;
                }
                if ((err = push_bytes(&sp->sbuf, &sp->sused, &sp->scap, lab->str, lab->len,
                                      &sp->soff[r])) < 0)
                    goto out;
                sp->label[r] = 0;
            } else {
                if ((err = tc_value_int(lab, &v)) < 0) {
                    err = tc_error_set(TC_EFORMAT, "%s split, row %lld: label '%s': %s", name,
                                       (long long)(r + 1), label_col, tc_error_message());
                    goto out;
                }
                if (v >= TC_DATA_MAX_LABELS) {
                    err = tc_error_set(TC_ERANGE,
                                       "%s split, row %lld: label %lld (at most %d classes)", name,
                                       (long long)(r + 1), (long long)v, TC_DATA_MAX_LABELS);
                    goto out;
                }
                if (v < 0)
                    sp->ignored++;
                sp->label[r] = v < 0 ? TC_IGNORE_INDEX : (int32_t)v;
            }
            sp->n++;
        }
    }
done:
    if (first_label_type >= 0)
        d->string_labels = first_label_type;
    err = TC_OK;
out:
    tc_table_free(t);
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_names(text_data *d, char **names, int32_t n)
{
    d->names = names;
    d->num_labels = n;
}

static int cmp_order(const void *a, const void *b)
{
    return strcmp(((const text_name *)a)->name, ((const text_name *)b)->name);
}

/* Sort the names for find_name; two classes with one name is an error. */
static int index_names(text_data *d)
{
    int32_t i;

    if (!(d->order = calloc((size_t)d->num_labels, sizeof(*d->order))))
        return TC_ENOMEM;
    for (i = 0; i < d->num_labels; i++) {
        d->order[i].name = d->names[i];
        d->order[i].id = i;
    }
    qsort(d->order, (size_t)d->num_labels, sizeof(*d->order), cmp_order);
    for (i = 1; i < d->num_labels; i++)
        if (!strcmp(d->order[i].name, d->order[i - 1].name))
            return tc_error_set(TC_EFORMAT, "two classes are named '%s'", d->order[i].name);
    return TC_OK;
}

static int32_t find_name(const text_data *d, const char *s)
{
    int32_t lo = 0, hi = d->num_labels - 1;

    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->order[mid].name, s);
        if (!c)
            return d->order[mid].id;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Map string labels to ids; pick the names; check integer labels against them. */
static int resolve_labels(text_data *d, const char *label_col, const char *given)
{
    const text_split *tr = &d->splits[TC_SPLIT_TRAIN];
    int s, err;
    int64_t i;

    if (given) {
        char **names = NULL;
        int32_t n = 0;
        if ((err = labels_parse(&names, &n, given, "label_names")) < 0)
            return err;
        set_names(d, names, n);
    }
    if (d->string_labels == 1) {
        if (!d->names) {
            /* the sorted distinct labels of train */
            char **all, **names = NULL;
            int32_t n = 0;
            if (!(all = calloc((size_t)(tr->n ? tr->n : 1), sizeof(char *))))
                return TC_ENOMEM;
            for (i = 0; i < tr->n; i++)
                all[i] = tr->sbuf + tr->soff[i];
            qsort(all, (size_t)tr->n, sizeof(char *), cmp_str);
            for (i = 0; i < tr->n; i++)
                if (i == 0 || strcmp(all[i], all[i - 1]))
                    all[n++] = all[i];
            if (n > TC_DATA_MAX_LABELS) {
                free(all);
                return tc_error_set(TC_ERANGE, "label column '%s' has %d distinct values",
                                    label_col, n);
            }
            err = labels_copy(&names, n, (const char *const *)all);
            free(all);
            if (err < 0)
                return err;
            set_names(d, names, n);
        }
        if ((err = index_names(d)) < 0)
            return err;
        for (s = 0; s < TC_SPLIT_MAX; s++) {
            text_split *sp = &d->splits[s];
            for (i = 0; i < sp->n; i++) {
                const char *str = sp->sbuf + sp->soff[i];
                int32_t id = find_name(d, str);
                if (id < 0)
                    return tc_error_set(TC_EFORMAT,
                                        "%s split, row %lld: label '%s' is not one of the %d "
                                        "classes (%s%s%s); list every class in data.label_names",
                                        split_names[s], (long long)(i + 1), str, d->num_labels,
                                        d->names[0], d->num_labels > 1 ? ", " : "",
                                        d->num_labels > 1 ? d->names[1] : "");
                sp->label[i] = id;
            }
        }
        return TC_OK;
    }
    if (!d->names) {
        const char *const *card = NULL;
        int32_t n = 0, max = -1;
        if (tc_datadir_class_names(&card, &n, d->dir, label_col) == TC_OK && n > 0) {
            char **names = NULL;
            if ((err = labels_copy(&names, n, card)) < 0)
                return err;
            set_names(d, names, n);
        } else {
            for (s = 0; s < TC_SPLIT_MAX; s++)
                for (i = 0; i < d->splits[s].n; i++)
                    if (d->splits[s].label[i] > max)
                        max = d->splits[s].label[i];
            d->num_labels = max + 1 > 1 ? max + 1 : 1;
        }
    }
    for (s = 0; s < TC_SPLIT_MAX; s++)
        for (i = 0; i < d->splits[s].n; i++)
            if (d->splits[s].label[i] >= d->num_labels)
                return tc_error_set(TC_EFORMAT,
                                    "%s split, row %lld: label %d, but there are %d classes; "
                                    "fix data.label_names",
                                    split_names[s], (long long)(i + 1), d->splits[s].label[i],
                                    d->num_labels);
    return TC_OK;
}

/* The commit of a cache snapshot folder (.../snapshots/<40 hex>), or "". */
static void snapshot_commit(const char *dir, char out[41])
{
    const char *p = strstr(dir, "/snapshots/");
    size_t i;

    out[0] = '\0';
    if (!p)
        return;
    p += strlen("/snapshots/");
    for (i = 0; i < 40; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return;
    if (p[40] != '\0' && !(p[40] == '/' && p[41] == '\0'))
        return;
    memcpy(out, p, 40);
    out[40] = '\0';
}

static void text_close(void *self)
{
    text_data *d = self;
    int s;

    if (!d)
        return;
    for (s = 0; s < TC_SPLIT_MAX; s++) {
        free(d->splits[s].buf);
        free(d->splits[s].off);
        free(d->splits[s].label);
        free(d->splits[s].sbuf);
        free(d->splits[s].soff);
    }
    labels_free(d->names, d->num_labels);
    free(d->order);
    tc_datadir_free(d->dir);
    free(d);
}

/* Which dataset split feeds tc split s: the option, or the default when present. */
static int pick_split(const text_data *d, const tc_options *o, int s, int *out)
{
    static const char *const opt[TC_SPLIT_MAX] = {"train_split", "validation_split", "test_split"};
    const char *want = tc_options_string(o, opt[s]);
    int i;

    *out = -1;
    if (want && !strcmp(want, "none")) {
        if (s == TC_SPLIT_TRAIN)
            return tc_error_set(TC_EINVAL, "data.train_split cannot be 'none'");
        return TC_OK;
    }
    i = tc_datadir_split_find(d->dir, want ? want : split_names[s]);
    if (i < 0 && (want || s == TC_SPLIT_TRAIN)) {
        char have[512] = "";
        size_t k, len = 0;
        for (k = 0; k < tc_datadir_split_count(d->dir) && len < sizeof(have) - 64; k++)
            len += (size_t)snprintf(have + len, sizeof(have) - len, "%s'%s'", k ? ", " : "",
                                    tc_datadir_split_name(d->dir, k));
        return tc_error_set(TC_ENOTFOUND, "data.%s: the dataset has no split '%s' (it has %s)",
                            opt[s], want ? want : split_names[s], have);
    }
    *out = i;
    return TC_OK;
}

static int text_open(void **out, const tc_options *o, const tc_host *host)
{
    const char *path = tc_options_string(o, "dataset");
    int64_t max_examples = tc_options_int(o, "max_examples");
    char cols[2][256] = {"", ""};
    int which[TC_SPLIT_MAX];
    struct stat st;
    text_data *d;
    int s, err;

    TC_ASSERT_ARG(out && o);
    *out = NULL;
    if (!path || !*path)
        return tc_error_set(TC_EINVAL, "data.dataset is required: a dataset folder or a Hub "
                                       "dataset id (e.g. data: {plugin: text, dataset: org/name})");
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return tc_error_set(TC_ENOTFOUND,
                            "data.dataset '%s' is not a folder (tcd-worker pulls a Hub dataset id "
                            "before the plugin opens it)",
                            path);
    if (!(d = calloc(1, sizeof(*d))))
        return TC_ENOMEM;
    d->host = host;
    d->string_labels = -1;
    d->max_length = (int32_t)tc_options_int(o, "max_length");
    d->hash = FNV_OFFSET;
    if ((err = parse_columns(tc_options_string(o, "text_column"),
                             tc_options_string(o, "text_pair_column"), cols, &d->fields)) < 0)
        goto fail;
    if ((err = tc_datadir_open(&d->dir, path, tc_options_string(o, "config"))) < 0)
        goto fail;
    d->root = tc_datadir_path(d->dir);
    for (s = 0; s < TC_SPLIT_MAX; s++)
        if ((err = pick_split(d, o, s, &which[s])) < 0)
            goto fail;
    if ((which[TC_SPLIT_VALIDATION] >= 0 && which[TC_SPLIT_VALIDATION] == which[TC_SPLIT_TRAIN]) ||
        (which[TC_SPLIT_TEST] >= 0 && which[TC_SPLIT_TEST] == which[TC_SPLIT_TRAIN])) {
        err = tc_error_set(TC_EINVAL, "data: the train split cannot also be the validation or "
                                      "test split");
        goto fail;
    }
    for (s = 0; s < TC_SPLIT_MAX; s++) {
        if (which[s] < 0)
            continue;
        if ((err = read_split(d, &d->splits[s], split_names[s], (size_t)which[s], cols,
                              tc_options_string(o, "label_column"), max_examples)) < 0)
            goto fail;
        if (d->splits[s].ignored)
            logf_(d, TC_LOG_INFO,
                  "%s split: %lld rows have a negative label and are left out of loss and "
                  "metrics",
                  split_names[s], (long long)d->splits[s].ignored);
    }
    if (d->splits[TC_SPLIT_TRAIN].n == 0) {
        err = tc_error_set(TC_EFORMAT, "data.dataset '%s': the train split has no rows", path);
        goto fail;
    }
    if ((err = resolve_labels(d, tc_options_string(o, "label_column"),
                              tc_options_string(o, "label_names"))) < 0)
        goto fail;
    snapshot_commit(path, d->commit);
    logf_(d, TC_LOG_INFO,
          "dataset %s (%s, config %s): %lld train, %lld validation, %lld test, %d "
          "classes",
          path, tc_datadir_rule(d->dir), tc_datadir_config(d->dir), (long long)d->splits[0].n,
          (long long)d->splits[1].n, (long long)d->splits[2].n, d->num_labels);
    *out = d;
    return TC_OK;
fail:
    text_close(d);
    return err;
}

static int text_describe(void *self, tc_data_info *out)
{
    const text_data *d = self;
    int s;

    TC_ASSERT_ARG(d && out);
    out->input = TC_INPUT_TEXT;
    out->num_labels = d->num_labels;
    out->label_names = (const char *const *)d->names;
    for (s = 0; s < TC_SPLIT_MAX; s++)
        out->split_size[s] = d->splits[s].n;
    out->text_fields = d->fields;
    out->max_length = d->max_length;
    return TC_OK;
}

static int text_read(void *self, tc_split split, const int64_t *indices, int64_t n, float *features,
                     const char **texts, int32_t *labels)
{
    const text_data *d = self;
    const text_split *sp;
    int64_t i;

    (void)features;
    TC_ASSERT_ARG(d && n >= 0 && (indices || n == 0));
    if ((int)split < 0 || split >= TC_SPLIT_MAX)
        return tc_error_set(TC_EINVAL, "unknown split %d", (int)split);
    sp = &d->splits[split];
    for (i = 0; i < n; i++) {
        int64_t k = indices[i];
        if (k < 0 || k >= sp->n)
            return tc_error_set(TC_ERANGE, "example %lld is out of range for the %s split of %lld",
                                (long long)k, split_names[split], (long long)sp->n);
        if (texts) {
            texts[i] = sp->buf + sp->off[2 * k];
            if (d->fields == 2)
                texts[n + i] = sp->buf + sp->off[2 * k + 1];
        }
        if (labels)
            labels[i] = sp->label[k];
    }
    return TC_OK;
}

static int text_fingerprint(void *self, char *out, size_t cap)
{
    const text_data *d = self;

    TC_ASSERT_ARG(d && out);
    if (cap < 41)
        return tc_error_set(TC_ERANGE, "fingerprint buffer of %zu bytes is too small (41)", cap);
    if (d->commit[0])
        snprintf(out, cap, "%s", d->commit);
    else
        snprintf(out, cap, "%016llx", (unsigned long long)d->hash);
    return TC_OK;
}

static const tc_data_vtable text_vtable = {
    .struct_size = sizeof(tc_data_vtable),
    .open = text_open,
    .describe = text_describe,
    .read = text_read,
    .fingerprint = text_fingerprint,
    .close = text_close,
};

static const tc_plugin_desc text_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "text",
    .version = "0.1.0",
    .license = "MIT",
    .description = "labelled texts or text pairs from a Hub dataset (parquet, csv, tsv, jsonl)",
    .kind = TC_PLUGIN_DATA,
    .options = text_options,
    .n_options = sizeof(text_options) / sizeof(text_options[0]),
    .vtable = &text_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    /* text pairs and the training corpus need a 1.1 host */
    if (host_major != TC_PLUGIN_ABI_MAJOR || host_minor < 1)
        return NULL;
    return &text_desc;
}
