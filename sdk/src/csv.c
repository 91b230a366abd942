/*
 * csv.c - CSV and TSV (RFC 4180), streamed one record at a time.
 *
 * A record's fields are gathered into one buffer, each followed by a NUL, with their
 * offsets; the buffer grows up to the record limit and is reused. Input comes through a
 * 64 KiB buffer. See tc/table.h for the dialect: quoting, line ends, the header, nulls.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "table_internal.h"

#define CSV_IN_BUF ((size_t)64 << 10)

typedef struct csv_reader {
    tc__reader base;
    tc__source src;
    int delim;
    size_t max_record;

    uint8_t *in; /* input buffer */
    size_t in_len, in_pos;
    int eof;
    int skip_lf; /* the last record ended with CR: a following LF belongs to it */

    uint8_t *rec; /* the record's fields, each NUL-terminated */
    size_t rec_len, rec_cap;
    size_t *f_off;     /* n_fields + 1 offsets into rec */
    uint8_t *f_quoted; /* n_fields flags: the field was quoted */
    size_t n_fields, f_cap, fq_cap;
    int pending; /* the record in rec is a data row not yet returned (no header) */

    uint64_t line;     /* the line the input position is on (from 1) */
    uint64_t rec_line; /* the line the last record started on */
    size_t *sel;
    size_t n_sel;
    size_t mem, peak;
    tc__names names;
} csv_reader;

TC_PRINTF(3, 4)
static int csv_err(csv_reader *cr, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(code, "file '%s': %s", cr->src.name, msg);
}

static int grow(csv_reader *cr, void *bufp, size_t *cap, size_t need, size_t elem)
{
    void **buf = bufp;
    size_t n = *cap + *cap / 2;
    void *p;

    if (need <= *cap)
        return TC_OK;
    if (n < need)
        n = need;
    if (n < 64)
        n = 64;
    p = tc_realloc(*buf, n * elem);
    if (!p)
        return TC_ENOMEM;
    *buf = p;
    cr->mem += (n - *cap) * elem;
    if (cr->mem > cr->peak)
        cr->peak = cr->mem;
    *cap = n;
    return TC_OK;
}

/* The next input byte, or -1 at the end; < -1 on a read error. */
static int next_byte(csv_reader *cr)
{
    if (cr->in_pos == cr->in_len) {
        int rc;
        if (cr->eof)
            return -1;
        rc = tc__source_read(&cr->src, cr->in, CSV_IN_BUF, &cr->in_len);
        if (rc < 0)
            return rc < -1 ? rc : TC_ERROR;
        cr->in_pos = 0;
        if (cr->in_len == 0) {
            cr->eof = 1;
            return -1;
        }
    }
    return cr->in[cr->in_pos++];
}

static int push_byte(csv_reader *cr, int c)
{
    if (cr->rec_len == cr->rec_cap) {
        int rc = grow(cr, &cr->rec, &cr->rec_cap, cr->rec_len + 1, 1);
        if (rc < 0)
            return rc;
    }
    cr->rec[cr->rec_len++] = (uint8_t)c;
    return TC_OK;
}

static int end_field(csv_reader *cr, int quoted)
{
    int rc;

    if (cr->n_fields >= TC_TABLE_MAX_COLUMNS)
        return csv_err(cr, TC_ERANGE, "line %llu: more than %d fields",
                       (unsigned long long)cr->rec_line, TC_TABLE_MAX_COLUMNS);
    rc = push_byte(cr, 0);
    if (rc == 0)
        rc = grow(cr, &cr->f_off, &cr->f_cap, cr->n_fields + 2, sizeof(*cr->f_off));
    if (rc == 0)
        rc = grow(cr, &cr->f_quoted, &cr->fq_cap, cr->n_fields + 1, 1);
    if (rc < 0)
        return rc;
    cr->f_quoted[cr->n_fields] = (uint8_t)quoted;
    cr->n_fields++;
    cr->f_off[cr->n_fields] = cr->rec_len;
    return TC_OK;
}

enum { S_START, S_UNQUOTED, S_QUOTED, S_QUOTE };

/*
 * Read the next record into rec / f_off: 1, 0 at the end of the input, or an error.
 * Blank lines are skipped.
 */
static int read_record(csv_reader *cr)
{
    int state = S_START, started = 0, quoted = 0;
    uint64_t quote_line = 0;
    size_t raw = 0;

    cr->rec_len = 0;
    cr->n_fields = 0;
    cr->f_off[0] = 0;
    cr->rec_line = cr->line;
    for (;;) {
        int c = next_byte(cr), rc = 0;
        if (c < -1)
            return c;
        if (c >= 0 && cr->skip_lf) {
            cr->skip_lf = 0;
            if (c == '\n')
                continue;
        }
        if (c >= 0 && ++raw > cr->max_record)
            return csv_err(cr, TC_ERANGE,
                           "line %llu: record is longer than %zu bytes (max_record_bytes)",
                           (unsigned long long)cr->rec_line, cr->max_record);
        if (c == -1) {
            if (state == S_QUOTED)
                return csv_err(cr, TC_EFORMAT,
                               "line %llu: quoted field opened on line %llu is not closed at the "
                               "end of the file",
                               (unsigned long long)cr->line, (unsigned long long)quote_line);
            if (!started)
                return 0;
            rc = end_field(cr, quoted);
            return rc < 0 ? rc : 1;
        }
        if (c == '\n' || c == '\r') {
            if (state == S_QUOTED) {
                if (c == '\n')
                    cr->line++;
                rc = push_byte(cr, c);
                if (rc < 0)
                    return rc;
                continue;
            }
            cr->line++;
            cr->skip_lf = c == '\r';
            if (!started) { /* a blank line */
                cr->rec_line = cr->line;
                raw = 0;
                continue;
            }
            rc = end_field(cr, quoted);
            return rc < 0 ? rc : 1;
        }
        started = 1;
        switch (state) {
        case S_START:
            quoted = 0;
            if (c == '"') {
                quoted = 1;
                quote_line = cr->line;
                state = S_QUOTED;
            } else if (c == cr->delim) {
                rc = end_field(cr, 0);
            } else {
                rc = push_byte(cr, c);
                state = S_UNQUOTED;
            }
            break;
        case S_UNQUOTED:
            if (c == cr->delim) {
                rc = end_field(cr, 0);
                state = S_START;
            } else {
                rc = push_byte(cr, c);
            }
            break;
        case S_QUOTED:
            if (c == '"')
                state = S_QUOTE;
            else
                rc = push_byte(cr, c);
            break;
        case S_QUOTE:
            if (c == '"') {
                rc = push_byte(cr, c);
                state = S_QUOTED;
            } else if (c == cr->delim) {
                rc = end_field(cr, 1);
                quoted = 0;
                state = S_START;
            } else {
                return csv_err(cr, TC_EFORMAT,
                               "line %llu: unexpected '%c' after the closing quote of field %zu",
                               (unsigned long long)cr->line, c >= 0x20 && c < 0x7f ? c : '?',
                               cr->n_fields + 1);
            }
            break;
        }
        if (rc < 0)
            return rc;
    }
}

static const char *field(const csv_reader *cr, size_t i, size_t *len)
{
    *len = cr->f_off[i + 1] - cr->f_off[i] - 1;
    return (const char *)cr->rec + cr->f_off[i];
}

static int add_column(csv_reader *cr, size_t i, const char *name, size_t len)
{
    char *copy;

    if (len > TC_TABLE_MAX_NAME)
        return csv_err(cr, TC_ERANGE, "line %llu: column name %zu is longer than %d bytes",
                       (unsigned long long)cr->rec_line, i + 1, TC_TABLE_MAX_NAME);
    copy = tc_malloc(len + 1);
    if (!copy)
        return TC_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    cr->base.columns[i].name = copy;
    cr->base.columns[i].type = TC_VALUE_STRING;
    cr->base.columns[i].nullable = 1;
    cr->base.n_columns = i + 1;
    tc__names_add(&cr->names, cr->base.columns, i);
    return TC_OK;
}

/* The header's names, made unique as pandas does: "Unnamed: 3", "x.1". */
static int make_columns(csv_reader *cr, int header)
{
    size_t n = cr->n_fields;
    char tmp[TC_TABLE_MAX_NAME + 32];
    size_t *next = NULL; /* per column: the next suffix to try for a name repeating it */
    int rc = TC_OK;

    cr->base.columns = tc_calloc(n, sizeof(*cr->base.columns));
    next = tc_calloc(n, sizeof(*next));
    if (!cr->base.columns || !next || tc__names_init(&cr->names, n) < 0) {
        tc_free(next);
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len, j;
        const char *name = field(cr, i, &len);
        if (!header) {
            len = (size_t)snprintf(tmp, sizeof(tmp), "%zu", i);
            name = tmp;
        } else if (len == 0) {
            len = (size_t)snprintf(tmp, sizeof(tmp), "Unnamed: %zu", i);
            name = tmp;
        }
        if (len <= TC_TABLE_MAX_NAME &&
            (j = tc__names_find(&cr->names, cr->base.columns, name, len)) != SIZE_MAX) {
            char base[TC_TABLE_MAX_NAME + 1];
            size_t k = next[j] ? next[j] : 1;
            memcpy(base, name, len);
            base[len] = '\0';
            for (;; k++) {
                len = (size_t)snprintf(tmp, sizeof(tmp), "%s.%zu", base, k);
                if (tc__names_find(&cr->names, cr->base.columns, tmp, len) == SIZE_MAX)
                    break;
            }
            next[j] = k + 1;
            name = tmp;
        }
        rc = add_column(cr, i, name, len);
    }
    tc_free(next);
    return rc;
}

static int csv_next(tc__reader *r, tc_value *cells, tc__arena *a)
{
    csv_reader *cr = (csv_reader *)r;
    int rc;

    if (cr->pending) {
        cr->pending = 0;
    } else {
        rc = read_record(cr);
        if (rc <= 0)
            return rc;
    }
    if (cr->n_fields != r->n_columns)
        return csv_err(cr, TC_EFORMAT, "line %llu: %zu fields, but the header has %zu",
                       (unsigned long long)cr->rec_line, cr->n_fields, r->n_columns);
    for (size_t i = 0; i < cr->n_sel; i++) {
        size_t k = cr->sel[i], len;
        const char *s = field(cr, k, &len);
        memset(&cells[i], 0, sizeof(cells[i]));
        if (len == 0 && !cr->f_quoted[k])
            continue; /* an empty unquoted field: null */
        cells[i].str = tc__arena_push(a, s, len);
        if (!cells[i].str)
            return TC_ENOMEM;
        cells[i].len = len;
        cells[i].type = TC_VALUE_STRING;
    }
    return 1;
}

static int csv_select(tc__reader *r, const size_t *cols, size_t n)
{
    csv_reader *cr = (csv_reader *)r;

    cr->sel = tc_calloc(n ? n : 1, sizeof(*cr->sel));
    if (!cr->sel)
        return TC_ENOMEM;
    memcpy(cr->sel, cols, n * sizeof(*cols));
    cr->n_sel = n;
    return TC_OK;
}

static int64_t csv_row_count(const tc__reader *r)
{
    (void)r;
    return -1;
}

static void csv_where(const tc__reader *r, char *buf, size_t n)
{
    snprintf(buf, n, "line %llu", (unsigned long long)((const csv_reader *)r)->rec_line);
}

static size_t csv_peak(const tc__reader *r)
{
    return ((const csv_reader *)r)->peak;
}

static void csv_free(tc__reader *r)
{
    csv_reader *cr = (csv_reader *)r;

    if (!cr)
        return;
    tc__reader_columns_free(r);
    tc__names_dispose(&cr->names);
    tc_free(cr->in);
    tc_free(cr->rec);
    tc_free(cr->f_off);
    tc_free(cr->f_quoted);
    tc_free(cr->sel);
    tc__source_close(&cr->src);
    tc_free(cr);
}

static const tc__reader_ops csv_ops = {
    .select = csv_select,
    .next = csv_next,
    .row_count = csv_row_count,
    .where = csv_where,
    .peak_bytes = csv_peak,
    .free = csv_free,
};

static int csv_start(csv_reader *cr, const tc_table_options *opts)
{
    int rc;

    cr->in = tc_malloc(CSV_IN_BUF);
    if (!cr->in)
        return TC_ENOMEM;
    cr->mem = cr->peak = CSV_IN_BUF;
    rc = grow(cr, &cr->f_off, &cr->f_cap, 16, sizeof(*cr->f_off));
    if (rc == 0)
        rc = grow(cr, &cr->f_quoted, &cr->fq_cap, 16, 1);
    if (rc < 0)
        return rc;
    /* A UTF-8 byte order mark. */
    rc = tc__source_read(&cr->src, cr->in, CSV_IN_BUF, &cr->in_len);
    if (rc < 0)
        return rc;
    cr->eof = cr->in_len == 0;
    if (cr->in_len >= 3 && memcmp(cr->in, "\xEF\xBB\xBF", 3) == 0)
        cr->in_pos = 3;
    rc = read_record(cr);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return csv_err(cr, TC_EFORMAT, "empty file: no header line");
    rc = make_columns(cr, !(opts->flags & TC_TABLE_NO_HEADER));
    if (rc < 0)
        return rc;
    cr->pending = (opts->flags & TC_TABLE_NO_HEADER) != 0;
    return TC_OK;
}

int tc__csv_open(tc__reader **out, tc__source *src, const tc_table_options *opts)
{
    csv_reader *cr = tc_calloc(1, sizeof(*cr));
    int rc;

    if (!cr) {
        tc__source_close(src);
        return TC_ENOMEM;
    }
    cr->src = *src;
    memset(src, 0, sizeof(*src));
    src->fd = -1;
    cr->base.ops = &csv_ops;
    cr->base.format = opts->format;
    cr->base.name = cr->src.name;
    cr->delim = opts->delimiter ? (unsigned char)opts->delimiter
                                : (opts->format == TC_TABLE_FORMAT_TSV ? '\t' : ',');
    cr->max_record = opts->max_record_bytes ? opts->max_record_bytes : TC_TABLE_DEFAULT_MAX_RECORD;
    cr->line = 1;
    rc = csv_start(cr, opts);
    if (rc < 0) {
        csv_free(&cr->base);
        return rc;
    }
    *out = &cr->base;
    return TC_OK;
}
