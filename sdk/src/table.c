/*
 * table.c - the public tc_table: format detection, file lists, column selection, rows and
 * batches over the format readers (parquet.c, csv.c, jsonl.c), UTF-8 checks.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "table_internal.h"

struct tc_table {
    tc_table_options opts;
    char **paths; /* n_paths files, owned; NULL for a memory table */
    size_t n_paths;
    size_t file_index; /* the file r reads */
    const void *mem;   /* a memory table's data (borrowed) and name */
    size_t mem_len;
    char *mem_name;
    tc__reader *r; /* the open file, or NULL between files */

    tc_table_column *columns; /* the first file's columns (owned copy) */
    size_t n_columns;
    tc__names names; /* an index of their names */
    size_t *sel;     /* selected columns: indices into columns */
    size_t n_sel;
    size_t *pos;            /* selected columns' positions in r's columns */
    tc_table_column *sel_c; /* selected columns, in order (names borrowed from columns) */

    int started;
    int fail_code; /* sticky error after a failed read */
    char *fail_msg;

    tc_value *cells; /* the current batch */
    size_t cells_cap;
    tc__arena arena;
    uint64_t rows_read;
    size_t reader_peak; /* the most any reader held */

    int64_t row_count; /* cached by tc_table_row_count; -2 before */
};

int tc_table_options_init(tc_table_options *opts, unsigned int version)
{
    TC_ASSERT_ARG(opts);
    if (version != TC_TABLE_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "tc_table_options version %u is not %u", version,
                            TC_TABLE_OPTIONS_VERSION);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return TC_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static int format_of_name(const char *name, tc_table_format want, tc_table_format *out)
{
    static const struct {
        const char *ext;
        tc_table_format format;
    } exts[] = {
        {".parquet", TC_TABLE_FORMAT_PARQUET}, {".csv", TC_TABLE_FORMAT_CSV},
        {".tsv", TC_TABLE_FORMAT_TSV},         {".jsonl", TC_TABLE_FORMAT_JSONL},
        {".ndjson", TC_TABLE_FORMAT_JSONL},    {".json", TC_TABLE_FORMAT_JSONL},
    };

    if (want != TC_TABLE_FORMAT_AUTO) {
        *out = want;
        return TC_OK;
    }
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        if (ends_with(name, exts[i].ext)) {
            *out = exts[i].format;
            return TC_OK;
        }
    }
    return tc_error_set(TC_EINVAL,
                        "cannot tell the format of '%s' from its name (expected .parquet, .csv, "
                        ".tsv, .jsonl, .ndjson or .json; or set tc_table_options.format)",
                        name);
}

static int open_reader(const tc_table_options *opts, const char *path, const void *mem,
                       size_t mem_len, tc__reader **out)
{
    tc__source src = {.fd = -1};
    tc_table_format format;
    tc__reader_open_fn open_fn;
    tc_table_options o;
    int rc;

    rc = format_of_name(path, opts->format, &format);
    if (rc < 0)
        return rc;
    switch (format) {
    case TC_TABLE_FORMAT_PARQUET: open_fn = tc__parquet_open; break;
    case TC_TABLE_FORMAT_CSV:
    case TC_TABLE_FORMAT_TSV: open_fn = tc__csv_open; break;
    case TC_TABLE_FORMAT_JSONL: open_fn = tc__jsonl_open; break;
    default: return tc_error_set(TC_EINVAL, "unknown table format %d", (int)format);
    }
    rc = mem ? tc__source_open_memory(&src, mem, mem_len, path) : tc__source_open_file(&src, path);
    if (rc < 0)
        return rc;
    o = *opts;
    o.format = format;
    rc = open_fn(out, &src, &o);
    /* The reader took the source over, on failure too (it closes it). */
    return rc;
}

static int copy_columns(tc_table *t)
{
    const tc__reader *r = t->r;

    t->columns = tc_calloc(r->n_columns ? r->n_columns : 1, sizeof(*t->columns));
    if (!t->columns || tc__names_init(&t->names, r->n_columns) < 0)
        return TC_ENOMEM;
    for (size_t i = 0; i < r->n_columns; i++) {
        t->columns[i] = r->columns[i];
        t->columns[i].name = tc_strdup(r->columns[i].name);
        if (!t->columns[i].name)
            return TC_ENOMEM;
        t->n_columns = i + 1;
        /* Readers make names unique (Parquet need not: the first of a name wins). */
        if (tc__names_find(&t->names, t->columns, t->columns[i].name, strlen(t->columns[i].name)) ==
            SIZE_MAX)
            tc__names_add(&t->names, t->columns, i);
    }
    return TC_OK;
}

static int check_options(const tc_table_options *opts)
{
    if (opts->version != TC_TABLE_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "tc_table_options version %u is not %u", opts->version,
                            TC_TABLE_OPTIONS_VERSION);
    if ((unsigned)opts->format >= TC_TABLE_FORMAT_MAX)
        return tc_error_set(TC_EINVAL, "unknown table format %d", (int)opts->format);
    if (opts->max_record_bytes > TC_TABLE_MAX_RECORD_LIMIT)
        return tc_error_set(TC_ERANGE, "max_record_bytes %zu is over the limit of %zu",
                            opts->max_record_bytes, TC_TABLE_MAX_RECORD_LIMIT);
    if (opts->delimiter == '"' || opts->delimiter == '\n' || opts->delimiter == '\r')
        return tc_error_set(TC_EINVAL, "the delimiter cannot be a quote or a line break");
    return TC_OK;
}

static int table_new(tc_table **out, const tc_table_options *opts, const char *const *paths,
                     size_t n_paths, const void *mem, size_t mem_len, const char *mem_name)
{
    tc_table *t = NULL;
    int rc;

    t = tc_calloc(1, sizeof(*t));
    if (!t)
        return TC_ENOMEM;
    t->row_count = -2;
    if (opts) {
        t->opts = *opts;
    } else {
        tc_table_options_init(&t->opts, TC_TABLE_OPTIONS_VERSION);
    }
    rc = check_options(&t->opts);
    if (rc < 0)
        goto out;
    if (paths) {
        t->paths = tc_calloc(n_paths, sizeof(*t->paths));
        rc = TC_ENOMEM;
        if (!t->paths)
            goto out;
        for (size_t i = 0; i < n_paths; i++) {
            t->paths[i] = tc_strdup(paths[i]);
            if (!t->paths[i])
                goto out;
            t->n_paths = i + 1;
        }
        rc = open_reader(&t->opts, t->paths[0], NULL, 0, &t->r);
    } else {
        t->mem = mem;
        t->mem_len = mem_len;
        t->mem_name = tc_strdup(mem_name);
        rc = TC_ENOMEM;
        if (!t->mem_name)
            goto out;
        t->n_paths = 1;
        rc = open_reader(&t->opts, t->mem_name, mem ? mem : "", mem_len, &t->r);
    }
    if (rc < 0)
        goto out;
    rc = copy_columns(t);
    if (rc < 0)
        goto out;
    *out = t;
    t = NULL;
out:
    tc_table_free(t);
    return rc;
}

int tc_table_open(tc_table **out, const char *path, const tc_table_options *opts)
{
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(path);
    return table_new(out, opts, &path, 1, NULL, 0, NULL);
}

int tc_table_open_files(tc_table **out, const char *const *paths, size_t n,
                        const tc_table_options *opts)
{
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(paths);
    TC_ASSERT_ARG(n > 0);
    for (size_t i = 0; i < n; i++)
        TC_ASSERT_ARG(paths[i]);
    return table_new(out, opts, paths, n, NULL, 0, NULL);
}

int tc_table_open_memory(tc_table **out, const void *data, size_t len, const char *name,
                         const tc_table_options *opts)
{
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(data || len == 0);
    TC_ASSERT_ARG(name);
    return table_new(out, opts, NULL, 0, data, len, name);
}

static void reader_close(tc_table *t)
{
    if (!t->r)
        return;
    if (t->r->ops->peak_bytes) {
        size_t p = t->r->ops->peak_bytes(t->r);
        if (p > t->reader_peak)
            t->reader_peak = p;
    }
    t->r->ops->free(t->r);
    t->r = NULL;
}

void tc_table_free(tc_table *t)
{
    if (!t)
        return;
    reader_close(t);
    for (size_t i = 0; i < t->n_paths && t->paths; i++)
        tc_free(t->paths[i]);
    tc_free(t->paths);
    tc_free(t->mem_name);
    for (size_t i = 0; i < t->n_columns; i++)
        tc_free((void *)(uintptr_t)t->columns[i].name);
    tc_free(t->columns);
    tc__names_dispose(&t->names);
    tc_free(t->sel);
    tc_free(t->pos);
    tc_free(t->sel_c);
    tc_free(t->fail_msg);
    tc_free(t->cells);
    tc__arena_dispose(&t->arena);
    tc_free(t);
}

tc_table_format tc_table_format_of(const tc_table *t)
{
    return t && t->r ? t->r->format : TC_TABLE_FORMAT_AUTO;
}

size_t tc_table_column_count(const tc_table *t)
{
    return t ? t->n_columns : 0;
}

const tc_table_column *tc_table_column_at(const tc_table *t, size_t i)
{
    return t && i < t->n_columns ? &t->columns[i] : NULL;
}

static int find_column(const tc__names *ix, const tc_table_column *cols, const char *name,
                       size_t *out)
{
    size_t i = tc__names_find(ix, cols, name, strlen(name));

    if (i == SIZE_MAX)
        return TC_ENOTFOUND;
    *out = i;
    return TC_OK;
}

int tc_table_column_find(const tc_table *t, const char *name, size_t *out)
{
    TC_ASSERT_ARG(t);
    TC_ASSERT_ARG(name);
    TC_ASSERT_ARG(out);
    if (find_column(&t->names, t->columns, name, out) < 0)
        return tc_error_set(TC_ENOTFOUND, "no column '%s' in '%s'", name,
                            t->paths ? t->paths[0] : t->mem_name);
    return TC_OK;
}

static int set_selection(tc_table *t, const size_t *idx, size_t n)
{
    size_t *sel = tc_calloc(n ? n : 1, sizeof(*sel));
    size_t *pos = tc_calloc(n ? n : 1, sizeof(*pos));
    tc_table_column *sel_c = tc_calloc(n ? n : 1, sizeof(*sel_c));

    if (!sel || !pos || !sel_c) {
        tc_free(sel);
        tc_free(pos);
        tc_free(sel_c);
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        sel[i] = idx[i];
        sel_c[i] = t->columns[idx[i]];
    }
    tc_free(t->sel);
    tc_free(t->pos);
    tc_free(t->sel_c);
    t->sel = sel;
    t->pos = pos;
    t->sel_c = sel_c;
    t->n_sel = n;
    return TC_OK;
}

int tc_table_select(tc_table *t, const char *const *names, size_t n)
{
    size_t *idx = NULL;
    const char *file;
    int rc = TC_OK;

    TC_ASSERT_ARG(t);
    TC_ASSERT_ARG(names);
    TC_ASSERT_ARG(n > 0);
    if (t->started)
        return tc_error_set(TC_EINVAL, "columns must be selected before the first read");
    file = t->paths ? t->paths[0] : t->mem_name;
    idx = tc_calloc(n, sizeof(*idx));
    if (!idx)
        return TC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const tc_table_column *c;
        TC_ASSERT_ARG(names[i]);
        if (find_column(&t->names, t->columns, names[i], &idx[i]) < 0) {
            rc = tc_error_set(TC_ENOTFOUND, "file '%s': no column '%s'", file, names[i]);
            goto out;
        }
        c = &t->columns[idx[i]];
        if (c->unsupported) {
            rc = tc_error_set(TC_EUNSUPPORTED, "file '%s': column '%s' cannot be read: %s", file,
                              c->name, c->unsupported);
            goto out;
        }
        for (size_t k = 0; k < i; k++) {
            if (idx[k] == idx[i]) {
                rc = tc_error_set(TC_EINVAL, "column '%s' is selected twice", names[i]);
                goto out;
            }
        }
    }
    rc = set_selection(t, idx, n);
out:
    tc_free(idx);
    return rc;
}

size_t tc_table_selected_count(const tc_table *t)
{
    size_t n = 0;

    if (!t)
        return 0;
    if (t->sel)
        return t->n_sel;
    for (size_t i = 0; i < t->n_columns; i++)
        n += !t->columns[i].unsupported;
    return n;
}

const tc_table_column *tc_table_selected_at(const tc_table *t, size_t i)
{
    if (!t)
        return NULL;
    if (t->sel)
        return i < t->n_sel ? &t->sel_c[i] : NULL;
    for (size_t k = 0; k < t->n_columns; k++) {
        if (t->columns[k].unsupported)
            continue;
        if (i-- == 0)
            return &t->columns[k];
    }
    return NULL;
}

/* Map the selection onto the open reader's columns (a later file may order them otherwise). */
static int bind_reader(tc_table *t)
{
    tc__reader *r = t->r;
    const char *first = t->paths ? t->paths[0] : t->mem_name;
    tc__names ix = {0};
    int rc = TC_OK;

    if (t->file_index == 0) { /* the columns t->columns copies */
        memcpy(t->pos, t->sel, t->n_sel * sizeof(*t->pos));
        return r->ops->select(r, t->pos, t->n_sel);
    }
    if (tc__names_init(&ix, r->n_columns) < 0)
        return TC_ENOMEM;
    for (size_t i = 0; i < r->n_columns; i++)
        if (tc__names_find(&ix, r->columns, r->columns[i].name, strlen(r->columns[i].name)) ==
            SIZE_MAX)
            tc__names_add(&ix, r->columns, i);
    for (size_t i = 0; i < t->n_sel && rc == 0; i++) {
        const tc_table_column *want = &t->sel_c[i];
        const tc_table_column *got;
        if (find_column(&ix, r->columns, want->name, &t->pos[i]) < 0) {
            rc = tc_error_set(TC_EFORMAT, "file '%s': no column '%s', which '%s' has", r->name,
                              want->name, first);
            break;
        }
        got = &r->columns[t->pos[i]];
        if (got->unsupported)
            rc = tc_error_set(TC_EUNSUPPORTED, "file '%s': column '%s' cannot be read: %s", r->name,
                              got->name, got->unsupported);
        else if (r->format != TC_TABLE_FORMAT_JSONL && got->type != want->type)
            rc = tc_error_set(TC_EFORMAT,
                              "file '%s': column '%s' holds another type than in '%s' (%d, not "
                              "%d)",
                              r->name, want->name, first, (int)got->type, (int)want->type);
    }
    tc__names_dispose(&ix);
    return rc < 0 ? rc : r->ops->select(r, t->pos, t->n_sel);
}

static int start(tc_table *t)
{
    int rc;

    if (!t->sel) {
        size_t n = tc_table_selected_count(t), k = 0;
        size_t *idx = tc_calloc(n ? n : 1, sizeof(*idx));
        if (!idx)
            return TC_ENOMEM;
        for (size_t i = 0; i < t->n_columns; i++)
            if (!t->columns[i].unsupported)
                idx[k++] = i;
        rc = set_selection(t, idx, n);
        tc_free(idx);
        if (rc < 0)
            return rc;
    }
    t->started = 1;
    return bind_reader(t);
}

static int next_file(tc_table *t)
{
    reader_close(t);
    t->file_index++;
    if (open_reader(&t->opts, t->paths[t->file_index], NULL, 0, &t->r) < 0)
        return tc_error_last()->code;
    return bind_reader(t);
}

static int check_utf8(tc_table *t, const tc_value *cells)
{
    for (size_t i = 0; i < t->n_sel; i++) {
        size_t bad;
        char where[128];
        if (cells[i].type != TC_VALUE_STRING || tc__utf8_valid(cells[i].str, cells[i].len, &bad))
            continue;
        t->r->ops->where(t->r, where, sizeof(where));
        return tc_error_set(TC_EFORMAT,
                            "file '%s': %s, column '%s': invalid UTF-8 at byte %zu of the value "
                            "(TC_TABLE_ALLOW_INVALID_UTF8 passes it through)",
                            t->r->name, where, t->sel_c[i].name, bad);
    }
    return TC_OK;
}

/* One row into cells: 1, 0 at the end of the last file, or an error. */
static int read_row(tc_table *t, tc_value *cells)
{
    for (;;) {
        int rc = t->r->ops->next(t->r, cells, &t->arena);
        if (rc > 0) {
            if (!(t->opts.flags & TC_TABLE_ALLOW_INVALID_UTF8)) {
                rc = check_utf8(t, cells);
                if (rc < 0)
                    return rc;
            }
            return 1;
        }
        if (rc < 0)
            return rc;
        if (!t->paths || t->file_index + 1 >= t->n_paths)
            return 0;
        rc = next_file(t);
        if (rc < 0)
            return rc;
    }
}

static int fail(tc_table *t, int rc)
{
    if (!t->fail_code) {
        t->fail_code = rc;
        t->fail_msg = tc_strdup(tc_error_message());
        tc_error_set(rc, "%s", t->fail_msg ? t->fail_msg : "table read failed");
    }
    return rc;
}

int tc_table_read(tc_table *t, size_t max_rows, tc_table_batch *out)
{
    size_t need, n = 0;
    int rc;

    TC_ASSERT_ARG(t);
    TC_ASSERT_ARG(out);
    TC_ASSERT_ARG(max_rows > 0);
    if (t->fail_code)
        return tc_error_set(t->fail_code, "%s", t->fail_msg ? t->fail_msg : "table read failed");
    if (!t->started) {
        rc = start(t);
        if (rc < 0)
            return fail(t, rc);
    }
    if (tc__mul_size(max_rows, t->n_sel ? t->n_sel : 1, &need) < 0 ||
        need > SIZE_MAX / sizeof(tc_value))
        return tc_error_set(TC_ERANGE, "a batch of %zu rows is too large", max_rows);
    if (need > t->cells_cap) {
        tc_value *c = tc_realloc(t->cells, need * sizeof(*c));
        if (!c)
            return TC_ENOMEM;
        t->cells = c;
        t->cells_cap = need;
    }
    tc__arena_reset(&t->arena);
    while (n < max_rows && t->r) {
        rc = read_row(t, t->cells + n * t->n_sel);
        if (rc < 0)
            return fail(t, rc);
        if (rc == 0)
            break;
        n++;
    }
    out->n_rows = n;
    out->n_columns = t->n_sel;
    out->cells = t->cells;
    out->first_row = t->rows_read;
    t->rows_read += n;
    return TC_OK;
}

int tc_table_next(tc_table *t, const tc_value **out)
{
    tc_table_batch b;
    int rc;

    TC_ASSERT_ARG(out);
    rc = tc_table_read(t, 1, &b);
    if (rc < 0)
        return rc;
    if (b.n_rows == 0)
        return 0;
    *out = b.cells;
    return 1;
}

int tc_table_row_count(tc_table *t, int64_t *out)
{
    int64_t total = 0;

    TC_ASSERT_ARG(t);
    TC_ASSERT_ARG(out);
    if (t->row_count != -2) {
        *out = t->row_count;
        return TC_OK;
    }
    for (size_t i = 0; i < t->n_paths; i++) {
        const char *name = t->paths ? t->paths[i] : t->mem_name;
        tc_table_format f;
        tc__reader *r = NULL;
        int64_t n;
        int rc;

        if (format_of_name(name, t->opts.format, &f) < 0 || f != TC_TABLE_FORMAT_PARQUET) {
            total = -1;
            break;
        }
        if (t->r && i == t->file_index) {
            n = t->r->ops->row_count(t->r);
        } else {
            rc = open_reader(&t->opts, name, NULL, 0, &r);
            if (rc < 0)
                return rc;
            n = r->ops->row_count(r);
            r->ops->free(r);
        }
        if (n < 0 || total > INT64_MAX - n) {
            total = -1;
            break;
        }
        total += n;
    }
    t->row_count = total;
    *out = total;
    return TC_OK;
}

size_t tc__table_peak_bytes(const tc_table *t)
{
    size_t p = t->reader_peak;

    if (t->r && t->r->ops->peak_bytes) {
        size_t q = t->r->ops->peak_bytes(t->r);
        if (q > p)
            p = q;
    }
    return p + t->arena.peak;
}

void tc__reader_columns_free(tc__reader *r)
{
    for (size_t i = 0; i < r->n_columns && r->columns; i++)
        tc_free((void *)(uintptr_t)r->columns[i].name);
    tc_free(r->columns);
    r->columns = NULL;
    r->n_columns = 0;
}

/* ---- cell conversions -------------------------------------------------------------------- */

static const char *type_name(tc_value_type t)
{
    switch (t) {
    case TC_VALUE_NULL: return "null";
    case TC_VALUE_BOOL: return "bool";
    case TC_VALUE_INT: return "int";
    case TC_VALUE_FLOAT: return "float";
    case TC_VALUE_STRING: return "string";
    case TC_VALUE_BYTES: return "bytes";
    default: return "unknown";
    }
}

/* The string of v without surrounding ASCII spaces, as [*b, *e); 0 when empty. */
static int trimmed(const tc_value *v, const char **b, const char **e)
{
    const char *s = v->str, *end = v->str + v->len;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *b = s;
    *e = end;
    return s < end;
}

static int bad_value(const tc_value *v, const char *want)
{
    if (v->type == TC_VALUE_STRING || v->type == TC_VALUE_BYTES)
        return tc_error_set(TC_EINVAL, "value '%.64s%s' is not %s", v->str,
                            v->len > 64 ? "..." : "", want);
    return tc_error_set(TC_EINVAL, "a %s value is not %s", type_name(v->type), want);
}

int tc_value_int(const tc_value *v, int64_t *out)
{
    TC_ASSERT_ARG(v);
    TC_ASSERT_ARG(out);
    switch (v->type) {
    case TC_VALUE_INT:
    case TC_VALUE_BOOL: *out = v->i; return TC_OK;
    case TC_VALUE_FLOAT:
        if (!(v->f == floor(v->f)) || v->f < -9223372036854775808.0 ||
            v->f >= 9223372036854775808.0)
            return tc_error_set(TC_EINVAL, "value %.17g is not an integer in range", v->f);
        *out = (int64_t)v->f;
        return TC_OK;
    case TC_VALUE_STRING:
    case TC_VALUE_BYTES: {
        const char *b, *e;
        char *end;
        long long x;
        if (!v->str || !trimmed(v, &b, &e) || !(*b == '-' || *b == '+' || (*b >= '0' && *b <= '9')))
            return bad_value(v, "an integer");
        errno = 0;
        x = strtoll(b, &end, 10);
        if (errno || end != e)
            return bad_value(v, "an integer in range");
        *out = x;
        return TC_OK;
    }
    default: return bad_value(v, "an integer");
    }
}

int tc_value_float(const tc_value *v, double *out)
{
    TC_ASSERT_ARG(v);
    TC_ASSERT_ARG(out);
    switch (v->type) {
    case TC_VALUE_INT:
    case TC_VALUE_BOOL: *out = (double)v->i; return TC_OK;
    case TC_VALUE_FLOAT: *out = v->f; return TC_OK;
    case TC_VALUE_STRING:
    case TC_VALUE_BYTES: {
        const char *b, *e;
        char *end;
        double x;
        if (!v->str || !trimmed(v, &b, &e))
            return bad_value(v, "a number");
        errno = 0;
        x = strtod(b, &end);
        if (end != e || (errno == ERANGE && isinf(x)))
            return bad_value(v, "a number");
        *out = x;
        return TC_OK;
    }
    default: return bad_value(v, "a number");
    }
}
