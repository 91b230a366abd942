/*
 * vectors_read.c - the GloVe / word2vec text reader behind <tc/vectors.h>
 * (vectors_internal.h). The rules it implements are documented in the public header.
 *
 * One buffer of BUF_BYTES holds the text; lines are found with memchr and parsed in place
 * (no allocation per line). A line is split from its end: the last D space-separated fields
 * are the values and the rest is the word, which is looked up before any value is parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vectors_internal.h"

#define BUF_BYTES ((size_t)4 << 20) /* read buffer: more than TC_VECTORS_MAX_LINE_BYTES */
#define GZ_BUF_BYTES (1u << 18)     /* zlib's own input buffer */
#define SHOW_BYTES 40               /* bytes of a bad field quoted in a message */

enum { ROW_EMPTY = 0, ROW_EXACT = 1, ROW_FALLBACK = 2 };

typedef struct reader {
    const char *name; /* the file, in messages */
    gzFile gz;        /* NULL when reading mem */
    const char *mem;
    size_t mem_len, mem_pos;
    char *buf;                    /* (cap) text in [start, end); buf[end] is writable */
    size_t cap, start, scan, end; /* scan: no newline in [start, scan) */
    int eof;
    long long line_no; /* of the last line returned, from 1 */
} reader;

typedef struct header {
    int format; /* tc_vectors_format */
    int32_t dim;
    long long count;       /* word2vec: the declared number of vectors */
    long long header_line; /* word2vec: the header's line */
    int pending;           /* GloVe: the first line is a vector line still to use */
} header;

/* ---- the "C" locale, so that strtof reads "0.5" whatever the process's locale ---------- */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static int c_locale_get(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (!c_locale)
        return tc_error_set(TC_ENOMEM, "cannot create the \"C\" locale for parsing numbers");
    return TC_OK;
}

/* ---- reading lines ------------------------------------------------------------------------ */

static int reader_open_file(reader *r, const char *path)
{
    struct stat st = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    memset(r, 0, sizeof(*r));
    r->name = path;
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return tc_error_set(TC_ENOTFOUND, "vector file '%s' not found", path);
        return tc_error_set(TC_EIO, "cannot open '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        return tc_error_set(TC_EIO, "cannot read '%s': %s", path, strerror(e));
    }
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
        close(fd);
        return tc_error_set(TC_ENOMEM, "out of memory opening '%s'", path);
    }
    (void)gzbuffer(r->gz, GZ_BUF_BYTES);
    r->cap = BUF_BYTES;
    r->buf = tc_malloc(r->cap);
    return r->buf ? TC_OK : TC_ENOMEM;
}

static int reader_open_memory(reader *r, const void *data, size_t len, const char *name)
{
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->mem = data;
    r->mem_len = len;
    r->cap = len < BUF_BYTES - 2 ? len + 2 : BUF_BYTES;
    r->buf = tc_malloc(r->cap);
    return r->buf ? TC_OK : TC_ENOMEM;
}

static void reader_close(reader *r)
{
    if (r->gz)
        (void)gzclose(r->gz);
    tc_free(r->buf);
    r->gz = NULL;
    r->buf = NULL;
}

/* A zlib read failure (got < 0), or the end of the input (got == 0) in the middle of a stream. */
static int gz_failed(reader *r, int got, int saved_errno)
{
    int zerr = Z_OK;
    const char *msg = gzerror(r->gz, &zerr), *colon;
    char where[48] = "";

    if (got == 0 && zerr != Z_BUF_ERROR)
        return TC_OK;
    if (zerr == Z_ERRNO)
        return tc_error_set(TC_EIO, "cannot read '%s': %s", r->name, strerror(saved_errno));
    if (zerr == Z_MEM_ERROR)
        return tc_error_set(TC_ENOMEM, "out of memory decompressing '%s'", r->name);
    if (r->line_no > 0)
        snprintf(where, sizeof(where), " after line %lld", r->line_no);
    if (zerr == Z_BUF_ERROR)
        return tc_error_set(TC_EFORMAT,
                            "'%s' is a truncated gzip file (the compressed data ends%s): download "
                            "it again",
                            r->name, where);
    /* zlib's message starts with "<fd:N>: " for a gzdopen'ed file */
    if (msg && msg[0] == '<' && (colon = strstr(msg, ": ")) != NULL)
        msg = colon + 2;
    return tc_error_set(TC_EFORMAT, "'%s' has corrupt gzip data%s (%s): download it again", r->name,
                        where, msg && *msg ? msg : "unknown zlib error");
}

/* Append what the input has next to buf[end..cap-1); sets eof when there is nothing. */
static int reader_fill(reader *r)
{
    size_t room = r->cap - 1 - r->end, n;

    if (!r->gz) {
        n = r->mem_len - r->mem_pos < room ? r->mem_len - r->mem_pos : room;
        if (n)
            memcpy(r->buf + r->end, r->mem + r->mem_pos, n);
        r->mem_pos += n;
    } else {
        int got, err;
        errno = 0;
        got = gzread(r->gz, r->buf + r->end, (unsigned)room);
        if (got <= 0 && (err = gz_failed(r, got, errno)) < 0)
            return err;
        n = got > 0 ? (size_t)got : 0;
    }
    if (!n)
        r->eof = 1;
    r->end += n;
    return TC_OK;
}

static int line_too_long(const reader *r)
{
    return tc_error_set(TC_ERANGE,
                        "'%s' line %lld is longer than %zu bytes: is it a GloVe or word2vec text "
                        "file?",
                        r->name, r->line_no, TC_VECTORS_MAX_LINE_BYTES);
}

/* The next line, newline removed and NUL-terminated in place: 1, 0 at the end, or an error. */
static int reader_next(reader *r, char **line, size_t *len)
{
    int err;

    for (;;) {
        char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
        if (nl || (r->eof && r->start < r->end)) {
            size_t stop = nl ? (size_t)(nl - r->buf) : r->end;
            r->line_no++;
            if (stop - r->start > TC_VECTORS_MAX_LINE_BYTES)
                return line_too_long(r);
            *line = r->buf + r->start;
            *len = stop - r->start;
            r->buf[stop] = '\0';
            r->start = r->scan = nl ? stop + 1 : stop;
            return 1;
        }
        if (r->eof)
            return 0;
        if (r->end - r->start > TC_VECTORS_MAX_LINE_BYTES) {
            r->line_no++;
            return line_too_long(r);
        }
        if (r->start) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        r->scan = r->end;
        if ((err = reader_fill(r)) < 0)
            return err;
    }
}

/* The next line that is not blank, with a first-line BOM and trailing blanks removed. */
static int reader_next_nonblank(reader *r, char **line, size_t *len)
{
    int got;

    while ((got = reader_next(r, line, len)) > 0) {
        char *s = *line;
        size_t n = *len;
        if (r->line_no == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
            s += 3;
            n -= 3;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            n--;
        if (n) {
            s[n] = '\0';
            *line = s;
            *len = n;
            return 1;
        }
    }
    return got;
}

/* ---- fields --------------------------------------------------------------------------------- */

/* The number of runs of spaces in s: the number of values when the first field is the word. */
static long long count_values(const char *s, size_t len)
{
    long long runs = 0;
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] == ' ' && (i == 0 || s[i - 1] != ' '))
            runs++;
    return runs;
}

/* Whether s[0..len) is one number strtof reads whole (finite or not). */
static int is_number(const char *s, size_t len)
{
    char *end;

    if (!len || (unsigned char)s[0] <= ' ')
        return 0;
    (void)strtof_l(s, &end, c_locale);
    return end == s + len;
}

/* Whether every space-separated part of a word after its first is a number. */
static int word_tail_is_numbers(const char *w, size_t len)
{
    size_t i = 0, j;

    while (i < len && w[i] != ' ')
        i++;
    while (i < len) {
        while (i < len && w[i] == ' ')
            i++;
        for (j = i; j < len && w[j] != ' ';)
            j++;
        if (j > i && !is_number(w + i, j - i))
            return 0;
        i = j;
    }
    return 1;
}

static int wrong_count(const reader *r, const char *s, size_t len, int32_t dim)
{
    return tc_error_set(TC_EFORMAT,
                        "'%s' line %lld has %lld values, expected %d: every line must be 'word v1 "
                        "... v%d'",
                        r->name, r->line_no, count_values(s, len), (int)dim, (int)dim);
}

/*
 * Split a line (len > 0, no trailing spaces) into its word s[0..*word_len) and its dim
 * values, which start at *values: the last dim fields are the values.
 */
static int split_line(const reader *r, char *s, size_t len, int32_t dim, size_t *word_len,
                      char **values)
{
    size_t p = len;
    int32_t k;

    for (k = 0; k < dim; k++) {
        while (p && s[p - 1] != ' ')
            p--;
        if (!p)
            return wrong_count(r, s, len, dim);
        *values = s + p;
        while (p && s[p - 1] == ' ')
            p--;
    }
    if (memchr(s, ' ', p) && word_tail_is_numbers(s, p))
        return wrong_count(r, s, len, dim);
    *word_len = p;
    return TC_OK;
}

static int bad_value(const reader *r, int32_t i, const char *p, const char *line_end)
{
    size_t n = 0;

    while (p + n < line_end && p[n] != ' ' && n < SHOW_BYTES)
        n++;
    return tc_error_set(TC_EFORMAT, "'%s' line %lld: value %d '%.*s' is not a finite number",
                        r->name, r->line_no, (int)i + 1, (int)n, p);
}

/* Parse dim values starting at p (split_line checked there are dim fields) into row. */
static int parse_values(const reader *r, const char *p, const char *line_end, int32_t dim,
                        float *row /* (dim) */)
{
    int32_t i;

    for (i = 0; i < dim; i++) {
        char *end;
        float v;
        if ((unsigned char)*p <= ' ')
            return bad_value(r, i, p, line_end);
        v = strtof_l(p, &end, c_locale);
        if (end == p || (end != line_end && *end != ' ') || !isfinite(v))
            return bad_value(r, i, p, line_end);
        row[i] = v;
        p = end;
        while (*p == ' ')
            p++;
    }
    return TC_OK;
}

/* ---- the header ---------------------------------------------------------------------------- */

static int all_digits(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return len > 0;
}

static long long digits_value(const char *s, size_t len)
{
    long long v = 0;
    size_t i;

    for (i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* A word2vec "N D" line: 1 (h filled), 0 when the line is not one, or an error. */
static int parse_w2v_header(const reader *r, const char *s, size_t len, header *h)
{
    const char *sp = memchr(s, ' ', len), *d;
    size_t n_len, d_len;

    if (!sp)
        return 0;
    n_len = (size_t)(sp - s);
    for (d = sp; d < s + len && *d == ' ';)
        d++;
    d_len = (size_t)(s + len - d);
    if (!all_digits(s, n_len) || !all_digits(d, d_len))
        return 0;
    if (n_len > 18)
        return tc_error_set(TC_ERANGE,
                            "'%s' line %lld: the word2vec header's vector count '%.*s' is out of "
                            "range",
                            r->name, r->line_no, (int)n_len, s);
    if (d_len > 6 || digits_value(d, d_len) < 1 || digits_value(d, d_len) > TC_VECTORS_MAX_DIM)
        return tc_error_set(TC_ERANGE,
                            "'%s' line %lld: the word2vec header's dimension '%.*s' is out of "
                            "range 1..%d",
                            r->name, r->line_no, d_len > SHOW_BYTES ? SHOW_BYTES : (int)d_len, d,
                            (int)TC_VECTORS_MAX_DIM);
    h->format = TC_VECTORS_WORD2VEC;
    h->count = digits_value(s, n_len);
    h->dim = (int32_t)digits_value(d, d_len);
    h->header_line = r->line_no;
    h->pending = 0;
    return 1;
}

/* Bytes no text file has: C0 controls other than tab (CR and LF are gone by now), DEL. */
static int has_binary_bytes(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 1;
    }
    return 0;
}

static int binary_w2v(const reader *r)
{
    return tc_error_set(TC_EUNSUPPORTED,
                        "'%s' looks like a binary word2vec file (line %lld is not text): convert "
                        "it to the text format, e.g. with gensim's KeyedVectors."
                        "load_word2vec_format(path, binary=True).save_word2vec_format(out, "
                        "binary=False)",
                        r->name, r->line_no);
}

/* Read the first non-blank line: the word2vec header, or the first GloVe line (left pending). */
static int read_header(reader *r, header *h, char **s, size_t *len)
{
    int rc = reader_next_nonblank(r, s, len);
    long long values;

    memset(h, 0, sizeof(*h));
    if (rc < 0)
        return rc;
    if (rc == 0)
        return tc_error_set(TC_EFORMAT,
                            "'%s' is empty: expected GloVe ('word v1 ... vD' lines) or word2vec "
                            "text (a 'count dim' line first)",
                            r->name);
    if (memchr(*s, '\0', *len))
        return tc_error_set(TC_EFORMAT,
                            "'%s' is not a text file (line %lld holds a NUL byte): expected GloVe "
                            "or word2vec text, optionally gzip-compressed",
                            r->name, r->line_no);
    if ((rc = parse_w2v_header(r, *s, *len, h)) != 0)
        return rc < 0 ? rc : TC_OK;
    values = count_values(*s, *len);
    if (values < 1)
        return tc_error_set(TC_EFORMAT,
                            "'%s' line %lld has no values: expected GloVe ('word v1 ... vD') or a "
                            "word2vec header ('count dim')",
                            r->name, r->line_no);
    if (values > TC_VECTORS_MAX_DIM)
        return tc_error_set(TC_ERANGE, "'%s' line %lld has %lld values, more than the %d allowed",
                            r->name, r->line_no, values, (int)TC_VECTORS_MAX_DIM);
    h->format = TC_VECTORS_GLOVE;
    h->dim = (int32_t)values;
    h->pending = 1;
    return TC_OK;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* Lowercase ASCII letters of w into out; 1 when something changed. */
static int ascii_lower(char *out, const char *w, size_t len)
{
    int changed = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        char c = w[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
            changed = 1;
        }
        out[i] = c;
    }
    return changed;
}

typedef struct load_state {
    const tc__vectors_target *t;
    uint8_t *rows; /* (n_ids) ROW_* */
    char *lower;   /* (TC_VECTORS_MAX_LINE_BYTES) with TC_VECTORS_LOWERCASE_FALLBACK, or NULL */
    int64_t matched;
} load_state;

static int use_line(const reader *r, load_state *ls, char *s, size_t len)
{
    const tc__vectors_target *t = ls->t;
    size_t wlen = 0;
    char *values = NULL;
    int32_t id;
    int fallback = 0, err;

    if ((err = split_line(r, s, len, t->dim, &wlen, &values)) < 0)
        return err;
    id = t->lookup(s, wlen, t->payload);
    if (id < 0 && ls->lower && ascii_lower(ls->lower, s, wlen)) {
        id = t->lookup(ls->lower, wlen, t->payload);
        fallback = 1;
    }
    if (id < 0 || id >= t->n_ids || id >= t->rows || id == t->skip_id)
        return TC_OK;
    if (ls->rows[id] == ROW_EXACT || (fallback && ls->rows[id] != ROW_EMPTY))
        return TC_OK; /* the first line wins; an exact match beats a lowercased one */
    err = parse_values(r, values, s + len, t->dim, t->table + (size_t)id * (size_t)t->dim);
    if (err < 0)
        return err;
    if (ls->rows[id] == ROW_EMPTY)
        ls->matched++;
    ls->rows[id] = fallback ? ROW_FALLBACK : ROW_EXACT;
    return TC_OK;
}

static int check_dim(const reader *r, const header *h, int32_t dim)
{
    if (h->dim == dim)
        return TC_OK;
    return tc_error_set(TC_EINVAL,
                        "'%s' holds %d-dimensional vectors but the table has dim %d: set the "
                        "embedding dimension to %d or use a %d-dimensional file",
                        r->name, (int)h->dim, (int)dim, (int)h->dim, (int)dim);
}

static int count_mismatch(const reader *r, const header *h, long long lines)
{
    return tc_error_set(TC_EFORMAT,
                        "'%s' has %lld vectors but its word2vec header (line %lld) declares %lld: "
                        "the file is truncated (download it again) or its header is wrong",
                        r->name, lines, h->header_line, h->count);
}

static int read_vectors(reader *r, const tc__vectors_target *t, tc_vectors_stats *stats)
{
    load_state ls = {t, NULL, NULL, 0};
    header h;
    char *s = NULL;
    size_t len = 0;
    long long lines = 0;
    int err, got = 1;

    if ((err = c_locale_get()) < 0 || (err = read_header(r, &h, &s, &len)) < 0 ||
        (err = check_dim(r, &h, t->dim)) < 0)
        goto out;
    err = TC_ENOMEM;
    if (!(ls.rows = tc_calloc(t->n_ids > 0 ? (size_t)t->n_ids : 1, 1)))
        goto out;
    if ((t->flags & TC_VECTORS_LOWERCASE_FALLBACK) &&
        !(ls.lower = tc_malloc(TC_VECTORS_MAX_LINE_BYTES)))
        goto out;
    for (;;) {
        if (!h.pending && (got = reader_next_nonblank(r, &s, &len)) <= 0)
            break;
        h.pending = 0;
        if (h.format == TC_VECTORS_WORD2VEC && lines == h.count) {
            err = tc_error_set(TC_EFORMAT,
                               "'%s' line %lld: more vectors than the %lld its word2vec header "
                               "(line %lld) declares: fix the header or the file",
                               r->name, r->line_no, h.count, h.header_line);
            goto out;
        }
        if (h.format == TC_VECTORS_WORD2VEC && lines == 0 && has_binary_bytes(s, len)) {
            err = binary_w2v(r);
            goto out;
        }
        lines++;
        if ((err = use_line(r, &ls, s, len)) < 0)
            goto out;
    }
    if ((err = got) < 0)
        goto out;
    if (h.format == TC_VECTORS_WORD2VEC && lines != h.count) {
        err = count_mismatch(r, &h, lines);
        goto out;
    }
    if (lines == 0) {
        err = tc_error_set(TC_EFORMAT, "'%s' has no vectors", r->name);
        goto out;
    }
    if (stats) {
        stats->lines = lines;
        stats->matched = ls.matched;
        stats->dim = h.dim;
        stats->format = h.format;
    }
    err = TC_OK;
out:
    tc_free(ls.rows);
    tc_free(ls.lower);
    return err;
}

static int probe(reader *r, int32_t *dim)
{
    header h;
    char *s = NULL;
    size_t len = 0;
    int err;

    if ((err = c_locale_get()) < 0 || (err = read_header(r, &h, &s, &len)) < 0)
        return err;
    if (h.format == TC_VECTORS_WORD2VEC) {
        if ((err = reader_next_nonblank(r, &s, &len)) < 0)
            return err;
        if (err > 0 && has_binary_bytes(s, len))
            return binary_w2v(r);
    }
    *dim = h.dim;
    return TC_OK;
}

int tc__vectors_load_file(const char *path, const tc__vectors_target *t, tc_vectors_stats *stats)
{
    reader r;
    int err = reader_open_file(&r, path);

    if (err == TC_OK)
        err = read_vectors(&r, t, stats);
    reader_close(&r);
    return err;
}

int tc__vectors_load_memory(const void *data, size_t len, const char *name,
                            const tc__vectors_target *t, tc_vectors_stats *stats)
{
    reader r;
    int err = reader_open_memory(&r, data, len, name);

    if (err == TC_OK)
        err = read_vectors(&r, t, stats);
    reader_close(&r);
    return err;
}

int tc__vectors_probe_file(const char *path, int32_t *dim)
{
    reader r;
    int err = reader_open_file(&r, path);

    if (err == TC_OK)
        err = probe(&r, dim);
    reader_close(&r);
    return err;
}

int tc__vectors_probe_memory(const void *data, size_t len, const char *name, int32_t *dim)
{
    reader r;
    int err = reader_open_memory(&r, data, len, name);

    if (err == TC_OK)
        err = probe(&r, dim);
    reader_close(&r);
    return err;
}
