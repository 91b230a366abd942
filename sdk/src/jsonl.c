/*
 * jsonl.c - JSON Lines, streamed one line at a time and parsed with cJSON.
 *
 * Each line is read into a buffer of at most max_record_bytes, counted for JSON values
 * before parsing (TC_TABLE_MAX_JSON_VALUES bounds cJSON's tree), parsed, and its members
 * matched to the columns through a hash index of the names. See tc/table.h for the
 * mapping of JSON values to cells.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "table_internal.h"

#define JL_IN_BUF ((size_t)64 << 10)

typedef struct jl_reader {
    tc__reader base;
    tc__source src;
    size_t max_record;

    uint8_t *in; /* input buffer */
    size_t in_len, in_pos;
    int eof;

    char *line; /* the current line, NUL-terminated */
    size_t line_len, line_cap;
    uint64_t line_no; /* its number, from 1 */
    uint64_t lines;   /* lines read */
    cJSON *first;     /* the first object, read at open and returned as the first row */
    uint64_t first_line;
    cJSON *cur; /* the row being returned */
    tc__names names;
    int32_t *slot; /* column -> selection position, or -1 */
    uint8_t *filled;
    size_t n_sel;
    size_t mem, peak;
} jl_reader;

TC_PRINTF(3, 4)
static int jl_err(jl_reader *jl, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(code, "file '%s': line %llu: %s", jl->src.name,
                        (unsigned long long)jl->line_no, msg);
}

static int line_push(jl_reader *jl, const uint8_t *p, size_t n)
{
    if (jl->line_len + n + 1 > jl->line_cap) {
        size_t cap = jl->line_cap + jl->line_cap / 2;
        char *q;
        if (cap < jl->line_len + n + 1)
            cap = jl->line_len + n + 1;
        if (cap < 256)
            cap = 256;
        q = tc_realloc(jl->line, cap);
        if (!q)
            return TC_ENOMEM;
        jl->mem += cap - jl->line_cap;
        if (jl->mem > jl->peak)
            jl->peak = jl->mem;
        jl->line = q;
        jl->line_cap = cap;
    }
    memcpy(jl->line + jl->line_len, p, n);
    jl->line_len += n;
    jl->line[jl->line_len] = '\0';
    return TC_OK;
}

/* Read one physical line into jl->line: 1, or 0 at the end of the input. */
static int read_line(jl_reader *jl)
{
    int any = 0;

    jl->line_len = 0;
    jl->line_no = jl->lines + 1;
    for (;;) {
        const uint8_t *nl;
        size_t n;
        int rc;
        if (jl->in_pos == jl->in_len) {
            if (!jl->eof) {
                rc = tc__source_read(&jl->src, jl->in, JL_IN_BUF, &jl->in_len);
                if (rc < 0)
                    return rc;
                jl->in_pos = 0;
                jl->eof = jl->in_len == 0;
            }
            if (jl->eof) {
                if (!any)
                    return 0;
                jl->lines++;
                break;
            }
        }
        any = 1;
        nl = memchr(jl->in + jl->in_pos, '\n', jl->in_len - jl->in_pos);
        n = nl ? (size_t)(nl - (jl->in + jl->in_pos)) : jl->in_len - jl->in_pos;
        if (jl->line_len + n > jl->max_record)
            return jl_err(jl, TC_ERANGE, "longer than %zu bytes (max_record_bytes)",
                          jl->max_record);
        rc = line_push(jl, jl->in + jl->in_pos, n);
        if (rc < 0)
            return rc;
        jl->in_pos += n + (nl != NULL);
        if (nl) {
            jl->lines++;
            break;
        }
    }
    if (jl->line_len && jl->line[jl->line_len - 1] == '\r')
        jl->line[--jl->line_len] = '\0';
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Values in the line, over-counted: separators and openers outside strings, plus one. */
static size_t count_values(const char *s, size_t n)
{
    size_t count = 1;
    int in_str = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ',' || c == '[' || c == '{') {
            count++;
        }
    }
    return count;
}

static const char *json_kind(const cJSON *j)
{
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNull(j))
        return "null";
    return "something else";
}

/* The next non-blank line as an object: 1 with *out (owned by the caller), 0 at the end. */
static int next_object(jl_reader *jl, cJSON **out)
{
    const char *end = NULL;
    size_t i;
    cJSON *j;
    int rc;

    do {
        rc = read_line(jl);
        if (rc <= 0)
            return rc;
        for (i = 0; i < jl->line_len && is_space(jl->line[i]); i++)
            ;
    } while (i == jl->line_len);
    if (jl->line[i] == '[' && !jl->first_line)
        return jl_err(jl, TC_EFORMAT,
                      "expected a JSON object, got an array (JSON Lines holds one object per "
                      "line; a file that is one JSON array is not supported)");
    if (count_values(jl->line, jl->line_len) > TC_TABLE_MAX_JSON_VALUES)
        return jl_err(jl, TC_ERANGE, "more than %zu JSON values (TC_TABLE_MAX_JSON_VALUES)",
                      TC_TABLE_MAX_JSON_VALUES);
    j = cJSON_ParseWithLengthOpts(jl->line, jl->line_len, &end, 0);
    if (!j)
        return jl_err(jl, TC_EFORMAT, "invalid JSON at column %zu",
                      end ? (size_t)(end - jl->line) + 1 : (size_t)1);
    for (i = (size_t)(end - jl->line); i < jl->line_len && is_space(jl->line[i]); i++)
        ;
    if (i < jl->line_len) {
        cJSON_Delete(j);
        return jl_err(jl, TC_EFORMAT, "text after the JSON value at column %zu", i + 1);
    }
    if (!cJSON_IsObject(j)) {
        const char *kind = json_kind(j);
        cJSON_Delete(j);
        return jl_err(jl, TC_EFORMAT, "expected a JSON object, got %s", kind);
    }
    *out = j;
    return 1;
}

static tc_value_type json_type(const cJSON *j)
{
    if (cJSON_IsBool(j))
        return TC_VALUE_BOOL;
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        return d == floor(d) && fabs(d) <= 9007199254740992.0 ? TC_VALUE_INT : TC_VALUE_FLOAT;
    }
    if (cJSON_IsString(j) || cJSON_IsArray(j) || cJSON_IsObject(j))
        return TC_VALUE_STRING;
    return TC_VALUE_NULL;
}

static int to_cell(const cJSON *j, tc_value *v, tc__arena *a)
{
    char *text;

    memset(v, 0, sizeof(*v));
    v->type = json_type(j);
    switch (v->type) {
    case TC_VALUE_BOOL: v->i = cJSON_IsTrue(j); return TC_OK;
    case TC_VALUE_INT: v->i = (int64_t)j->valuedouble; return TC_OK;
    case TC_VALUE_FLOAT: v->f = j->valuedouble; return TC_OK;
    case TC_VALUE_STRING:
        if (cJSON_IsString(j)) {
            v->len = strlen(j->valuestring);
            v->str = tc__arena_push(a, j->valuestring, v->len);
            return v->str ? TC_OK : TC_ENOMEM;
        }
        text = cJSON_PrintUnformatted(j);
        if (!text)
            return tc_error_set(TC_ENOMEM, "out of memory printing a JSON value");
        v->len = strlen(text);
        v->str = tc__arena_push(a, text, v->len);
        cJSON_free(text);
        return v->str ? TC_OK : TC_ENOMEM;
    default: return TC_OK;
    }
}

static int make_columns(jl_reader *jl)
{
    size_t n = 0, k = 0;
    const cJSON *c;

    cJSON_ArrayForEach(c, jl->first) n++;
    if (n > TC_TABLE_MAX_COLUMNS)
        return jl_err(jl, TC_ERANGE, "more than %d keys (TC_TABLE_MAX_COLUMNS)",
                      TC_TABLE_MAX_COLUMNS);
    jl->base.columns = tc_calloc(n ? n : 1, sizeof(*jl->base.columns));
    if (!jl->base.columns || tc__names_init(&jl->names, n) < 0)
        return TC_ENOMEM;
    cJSON_ArrayForEach(c, jl->first)
    {
        size_t len = strlen(c->string);
        char *name;
        if (len > TC_TABLE_MAX_NAME)
            return jl_err(jl, TC_ERANGE, "a key is longer than %d bytes", TC_TABLE_MAX_NAME);
        if (tc__names_find(&jl->names, jl->base.columns, c->string, len) != SIZE_MAX)
            continue; /* a repeated key: the first one counts */
        name = tc_strdup(c->string);
        if (!name)
            return TC_ENOMEM;
        jl->base.columns[k].name = name;
        jl->base.columns[k].type = json_type(c);
        jl->base.columns[k].nullable = 1;
        jl->base.n_columns = ++k;
        tc__names_add(&jl->names, jl->base.columns, k - 1);
    }
    return TC_OK;
}

static int jl_next(tc__reader *r, tc_value *cells, tc__arena *a)
{
    jl_reader *jl = (jl_reader *)r;
    const cJSON *c;
    int rc;

    cJSON_Delete(jl->cur);
    jl->cur = NULL;
    if (jl->first) {
        jl->cur = jl->first;
        jl->first = NULL;
        jl->line_no = jl->first_line;
    } else {
        rc = next_object(jl, &jl->cur);
        if (rc <= 0)
            return rc;
    }
    for (size_t i = 0; i < jl->n_sel; i++) {
        memset(&cells[i], 0, sizeof(cells[i]));
        jl->filled[i] = 0;
    }
    cJSON_ArrayForEach(c, jl->cur)
    {
        size_t k = tc__names_find(&jl->names, r->columns, c->string, strlen(c->string));
        int32_t s = k == SIZE_MAX ? -1 : jl->slot[k];
        if (s < 0 || jl->filled[s])
            continue;
        jl->filled[s] = 1;
        rc = to_cell(c, &cells[s], a);
        if (rc < 0)
            return rc;
    }
    return 1;
}

static int jl_select(tc__reader *r, const size_t *cols, size_t n)
{
    jl_reader *jl = (jl_reader *)r;

    jl->slot = tc_calloc(r->n_columns ? r->n_columns : 1, sizeof(*jl->slot));
    jl->filled = tc_calloc(n ? n : 1, 1);
    if (!jl->slot || !jl->filled)
        return TC_ENOMEM;
    for (size_t i = 0; i < r->n_columns; i++)
        jl->slot[i] = -1;
    for (size_t i = 0; i < n; i++)
        jl->slot[cols[i]] = (int32_t)i;
    jl->n_sel = n;
    return TC_OK;
}

static int64_t jl_row_count(const tc__reader *r)
{
    (void)r;
    return -1;
}

static void jl_where(const tc__reader *r, char *buf, size_t n)
{
    snprintf(buf, n, "line %llu", (unsigned long long)((const jl_reader *)r)->line_no);
}

static size_t jl_peak(const tc__reader *r)
{
    return ((const jl_reader *)r)->peak;
}

static void jl_free(tc__reader *r)
{
    jl_reader *jl = (jl_reader *)r;

    if (!jl)
        return;
    tc__reader_columns_free(r);
    tc__names_dispose(&jl->names);
    cJSON_Delete(jl->first);
    cJSON_Delete(jl->cur);
    tc_free(jl->in);
    tc_free(jl->line);
    tc_free(jl->slot);
    tc_free(jl->filled);
    tc__source_close(&jl->src);
    tc_free(jl);
}

static const tc__reader_ops jl_ops = {
    .select = jl_select,
    .next = jl_next,
    .row_count = jl_row_count,
    .where = jl_where,
    .peak_bytes = jl_peak,
    .free = jl_free,
};

static int jl_start(jl_reader *jl)
{
    int rc;

    jl->in = tc_malloc(JL_IN_BUF);
    if (!jl->in)
        return TC_ENOMEM;
    jl->mem = jl->peak = JL_IN_BUF;
    rc = tc__source_read(&jl->src, jl->in, JL_IN_BUF, &jl->in_len);
    if (rc < 0)
        return rc;
    jl->eof = jl->in_len == 0;
    if (jl->in_len >= 3 && memcmp(jl->in, "\xEF\xBB\xBF", 3) == 0)
        jl->in_pos = 3;
    rc = next_object(jl, &jl->first);
    if (rc < 0)
        return rc;
    jl->first_line = jl->line_no;
    if (rc == 0)
        return tc_error_set(TC_EFORMAT, "file '%s': empty file: no JSON object to name the columns",
                            jl->src.name);
    return make_columns(jl);
}

int tc__jsonl_open(tc__reader **out, tc__source *src, const tc_table_options *opts)
{
    jl_reader *jl = tc_calloc(1, sizeof(*jl));
    int rc;

    if (!jl) {
        tc__source_close(src);
        return TC_ENOMEM;
    }
    jl->src = *src;
    memset(src, 0, sizeof(*src));
    src->fd = -1;
    jl->base.ops = &jl_ops;
    jl->base.format = TC_TABLE_FORMAT_JSONL;
    jl->base.name = jl->src.name;
    jl->max_record = opts->max_record_bytes ? opts->max_record_bytes : TC_TABLE_DEFAULT_MAX_RECORD;
    rc = jl_start(jl);
    if (rc < 0) {
        jl_free(&jl->base);
        return rc;
    }
    *out = &jl->base;
    return TC_OK;
}
