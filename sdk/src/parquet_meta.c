/*
 * parquet_meta.c - the Parquet footer: "PAR1" at both ends, the FileMetaData length before
 * the last magic, and FileMetaData itself (Thrift compact): the schema, flattened depth
 * first, and each row group's column chunks, one per leaf of the schema in the same order.
 *
 * Only what the reader uses is kept; statistics, key-value metadata (such as pyarrow's
 * ARROW:schema), column orders and page indexes are skipped without being copied.
 */
#include <string.h>

#include "parquet_internal.h"
#include "thrift.h"

/* A SchemaElement as read, before the tree is walked. */
typedef struct pq_selem {
    const uint8_t *name;
    size_t name_len;
    int has_name;
    int32_t type; /* -1: none (a group) */
    int32_t type_length;
    int32_t repetition;   /* -1: none */
    int32_t num_children; /* -1: none */
    int32_t converted;    /* -1: none */
    int32_t logical;      /* LogicalType member id, 0: none */
    int32_t int_bits;
    int int_signed;
} pq_selem;

typedef struct meta_parse {
    tc__thrift t;
    const char *file;
    const char *msg; /* a semantic error found while parsing, static */
    int code;
    pq_selem *elems;
    size_t n_elems;
    int64_t *rg_rows;
    size_t *rg_chunks; /* chunks of each row group */
    size_t n_rg;
    pq_chunk *chunks;
    size_t n_chunks, cap_chunks;
    int64_t num_rows;
    int have_schema, have_rows, have_rgs, encrypted;
} meta_parse;

static int bad(meta_parse *mp, int code, const char *msg)
{
    if (!mp->msg) {
        mp->msg = msg;
        mp->code = code;
    }
    return -1;
}

/* ---- LogicalType, SchemaElement ---------------------------------------------------------- */

static int parse_int_type(meta_parse *mp, pq_selem *e)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;
    int64_t v;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        if (id == 1) {
            rc = tc__thrift_i64(t, type, &v);
            e->int_bits = (int32_t)(v > 0 && v <= 64 ? v : 0);
        } else if (id == 2) {
            rc = tc__thrift_bool(t, type, &e->int_signed);
        } else {
            rc = tc__thrift_skip(t, type);
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    return 0;
}

static int parse_logical(meta_parse *mp, pq_selem *e)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        /* A union: the member set is the type; INTEGER carries its width and sign. */
        e->logical = id;
        if (id == PQ_LT_INTEGER && type == TC__THRIFT_STRUCT)
            rc = parse_int_type(mp, e);
        else
            rc = tc__thrift_skip(t, type);
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    return 0;
}

static int parse_selem(meta_parse *mp, pq_selem *e)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;

    memset(e, 0, sizeof(*e));
    e->type = e->repetition = e->num_children = e->converted = -1;
    e->int_signed = 1;
    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1: rc = tc__thrift_i32(t, type, &e->type); break;
        case 2: rc = tc__thrift_i32(t, type, &e->type_length); break;
        case 3: rc = tc__thrift_i32(t, type, &e->repetition); break;
        case 4:
            rc = tc__thrift_binary(t, type, &e->name, &e->name_len);
            e->has_name = 1;
            break;
        case 5: rc = tc__thrift_i32(t, type, &e->num_children); break;
        case 6: rc = tc__thrift_i32(t, type, &e->converted); break;
        case 10:
            rc = type == TC__THRIFT_STRUCT ? parse_logical(mp, e) : tc__thrift_skip(t, type);
            break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    if (!e->has_name)
        return bad(mp, TC_EFORMAT, "a schema element has no name");
    if (e->type < -1 || e->type > PQ_FIXED_LEN_BYTE_ARRAY)
        return bad(mp, TC_EFORMAT, "a schema element has an unknown physical type");
    return 0;
}

static int parse_schema(meta_parse *mp, int type)
{
    tc__thrift *t = &mp->t;
    uint32_t n;
    int et;

    if (mp->have_schema)
        return bad(mp, TC_EFORMAT, "two schemas");
    if (tc__thrift_list(t, type, &et, &n) < 0)
        return -1;
    if (et != TC__THRIFT_STRUCT)
        return bad(mp, TC_EFORMAT, "the schema is not a list of structures");
    if (n == 0)
        return bad(mp, TC_EFORMAT, "the schema is empty");
    if (n > TC_PARQUET_MAX_SCHEMA)
        return bad(mp, TC_ERANGE, "the schema has more elements than TC_PARQUET_MAX_SCHEMA");
    mp->elems = tc_calloc(n, sizeof(*mp->elems));
    if (!mp->elems)
        return bad(mp, TC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        if (parse_selem(mp, &mp->elems[i]) < 0)
            return -1;
        mp->n_elems = i + 1;
    }
    tc__thrift_list_end(t);
    mp->have_schema = 1;
    return 0;
}

/* ---- RowGroup, ColumnChunk, ColumnMetaData ----------------------------------------------- */

static int parse_column_meta(meta_parse *mp, pq_chunk *c)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;
    int have_offset = 0, have_size = 0, have_codec = 0;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 1: rc = tc__thrift_i32(t, type, &c->type); break;
        case 4:
            rc = tc__thrift_i32(t, type, &c->codec);
            have_codec = 1;
            break;
        case 5: rc = tc__thrift_i64(t, type, &c->num_values); break;
        case 7:
            rc = tc__thrift_i64(t, type, &c->size);
            have_size = 1;
            break;
        case 9:
            rc = tc__thrift_i64(t, type, &c->data_offset);
            have_offset = 1;
            break;
        case 11: rc = tc__thrift_i64(t, type, &c->dict_offset); break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    if (!have_offset || !have_size || !have_codec)
        return bad(mp, TC_EFORMAT, "a column chunk's metadata lacks its offset, size or codec");
    c->has_meta = 1;
    return 0;
}

static int parse_chunk(meta_parse *mp, pq_chunk *c)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;

    memset(c, 0, sizeof(*c));
    c->dict_offset = -1;
    c->type = -1;
    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        if (id == 1) {
            c->external = 1; /* file_path: the chunk lives in another file */
            rc = tc__thrift_skip(t, type);
        } else if (id == 3 && type == TC__THRIFT_STRUCT) {
            rc = parse_column_meta(mp, c);
        } else if (id == 8 || id == 9) {
            c->external = 2; /* crypto_metadata / encrypted_column_metadata */
            rc = tc__thrift_skip(t, type);
        } else {
            rc = tc__thrift_skip(t, type);
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    return 0;
}

static int push_chunk(meta_parse *mp, pq_chunk **out)
{
    if (mp->n_chunks >= TC_PARQUET_MAX_CHUNKS)
        return bad(mp, TC_ERANGE, "more column chunks than TC_PARQUET_MAX_CHUNKS");
    if (mp->n_chunks == mp->cap_chunks) {
        size_t cap = mp->cap_chunks ? mp->cap_chunks * 2 : 64;
        pq_chunk *c;
        if (cap > TC_PARQUET_MAX_CHUNKS)
            cap = TC_PARQUET_MAX_CHUNKS;
        c = tc_realloc(mp->chunks, cap * sizeof(*c));
        if (!c)
            return bad(mp, TC_ENOMEM, "out of memory");
        mp->chunks = c;
        mp->cap_chunks = cap;
    }
    *out = &mp->chunks[mp->n_chunks++];
    return 0;
}

static int parse_rg_columns(meta_parse *mp, int type, size_t *count)
{
    tc__thrift *t = &mp->t;
    uint32_t n;
    int et;

    if (tc__thrift_list(t, type, &et, &n) < 0)
        return -1;
    if (et != TC__THRIFT_STRUCT)
        return bad(mp, TC_EFORMAT, "a row group's columns are not structures");
    for (uint32_t i = 0; i < n; i++) {
        pq_chunk *c;
        if (push_chunk(mp, &c) < 0 || parse_chunk(mp, c) < 0)
            return -1;
    }
    tc__thrift_list_end(t);
    *count += n;
    return 0;
}

static int parse_row_group(meta_parse *mp, size_t i)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc, have_rows = 0, have_cols = 0;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    mp->rg_chunks[i] = 0;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        if (id == 1 && !have_cols) {
            rc = parse_rg_columns(mp, type, &mp->rg_chunks[i]);
            have_cols = 1;
        } else if (id == 3) {
            rc = tc__thrift_i64(t, type, &mp->rg_rows[i]);
            have_rows = 1;
        } else {
            rc = tc__thrift_skip(t, type);
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    if (!have_rows || !have_cols)
        return bad(mp, TC_EFORMAT, "a row group lacks its row count or columns");
    if (mp->rg_rows[i] < 0)
        return bad(mp, TC_EFORMAT, "a row group has a negative row count");
    return 0;
}

static int parse_row_groups(meta_parse *mp, int type)
{
    tc__thrift *t = &mp->t;
    uint32_t n;
    int et;

    if (mp->have_rgs)
        return bad(mp, TC_EFORMAT, "two row group lists");
    if (tc__thrift_list(t, type, &et, &n) < 0)
        return -1;
    if (et != TC__THRIFT_STRUCT)
        return bad(mp, TC_EFORMAT, "the row groups are not structures");
    if (n > TC_PARQUET_MAX_ROW_GROUPS)
        return bad(mp, TC_ERANGE, "more row groups than TC_PARQUET_MAX_ROW_GROUPS");
    mp->rg_rows = tc_calloc(n ? n : 1, sizeof(*mp->rg_rows));
    mp->rg_chunks = tc_calloc(n ? n : 1, sizeof(*mp->rg_chunks));
    if (!mp->rg_rows || !mp->rg_chunks)
        return bad(mp, TC_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        if (parse_row_group(mp, i) < 0)
            return -1;
        mp->n_rg = i + 1;
    }
    tc__thrift_list_end(t);
    mp->have_rgs = 1;
    return 0;
}

static int parse_file_meta(meta_parse *mp)
{
    tc__thrift *t = &mp->t;
    int16_t last = 0, id;
    int type, rc;

    if (tc__thrift_struct_begin(t) < 0)
        return -1;
    while ((rc = tc__thrift_field(t, &last, &id, &type)) > 0) {
        switch (id) {
        case 2: rc = parse_schema(mp, type); break;
        case 3:
            rc = tc__thrift_i64(t, type, &mp->num_rows);
            mp->have_rows = 1;
            break;
        case 4: rc = parse_row_groups(mp, type); break;
        case 8:
            mp->encrypted = 1;
            rc = tc__thrift_skip(t, type);
            break;
        default: rc = tc__thrift_skip(t, type); break;
        }
        if (rc < 0)
            return -1;
    }
    if (rc < 0)
        return -1;
    tc__thrift_struct_end(t);
    if (mp->encrypted)
        return bad(mp, TC_EUNSUPPORTED, "the file is encrypted");
    if (!mp->have_schema || !mp->have_rows || !mp->have_rgs)
        return bad(mp, TC_EFORMAT, "the file metadata lacks its schema, row count or row groups");
    if (mp->num_rows < 0)
        return bad(mp, TC_EFORMAT, "the file has a negative row count");
    return 0;
}

/* ---- the schema tree --------------------------------------------------------------------- */

#define SCHEMA_MAX_DEPTH 64

static int is_decimal(const pq_selem *e)
{
    return e->converted == PQ_CT_DECIMAL || e->logical == PQ_LT_DECIMAL;
}

/* Type and readability of a top-level primitive field. */
static void classify(const pq_selem *e, pq_field *f, tc_table_column *c)
{
    f->type = e->type;
    f->type_length = e->type_length;
    f->repetition = e->repetition;
    f->max_def = e->repetition == PQ_OPTIONAL;
    c->nullable = f->max_def;
    c->type = TC_VALUE_BYTES;
    switch (e->type) {
    case PQ_BOOLEAN: c->type = TC_VALUE_BOOL; break;
    case PQ_INT32:
    case PQ_INT64:
        c->type = TC_VALUE_INT;
        if (is_decimal(e))
            f->unsupported = "DECIMAL";
        f->is_unsigned = (e->logical == PQ_LT_INTEGER && !e->int_signed) ||
                         (e->converted >= PQ_CT_UINT_8 && e->converted <= PQ_CT_UINT_64);
        break;
    case PQ_INT96: f->unsupported = "INT96 (legacy timestamps)"; break;
    case PQ_FLOAT:
    case PQ_DOUBLE: c->type = TC_VALUE_FLOAT; break;
    case PQ_BYTE_ARRAY:
        if (is_decimal(e))
            f->unsupported = "DECIMAL";
        if (e->logical == PQ_LT_STRING || e->logical == PQ_LT_ENUM || e->logical == PQ_LT_JSON ||
            e->converted == PQ_CT_UTF8 || e->converted == PQ_CT_ENUM || e->converted == PQ_CT_JSON)
            c->type = TC_VALUE_STRING;
        break;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (is_decimal(e))
            f->unsupported = "DECIMAL";
        else if (e->logical == PQ_LT_FLOAT16)
            f->unsupported = "FLOAT16";
        else if (e->converted == PQ_CT_INTERVAL)
            f->unsupported = "INTERVAL";
        else if (e->type_length <= 0 || (uint64_t)e->type_length > TC_PARQUET_MAX_PAGE)
            f->unsupported = "FIXED_LEN_BYTE_ARRAY with a bad length";
        break;
    default: f->unsupported = "unknown physical type"; break;
    }
    if (e->repetition == PQ_REPEATED)
        f->unsupported = "repeated field";
    c->unsupported = f->unsupported;
}

/* Skip the group at mp->elems[*idx] and its descendants, counting their leaves. */
static int walk_group(meta_parse *mp, size_t *idx, size_t *leaves)
{
    int32_t left[SCHEMA_MAX_DEPTH];
    int depth = 1;

    left[0] = mp->elems[(*idx)++].num_children;
    while (depth > 0) {
        const pq_selem *e;
        if (left[depth - 1] <= 0) {
            depth--;
            continue;
        }
        left[depth - 1]--;
        if (*idx >= mp->n_elems)
            return bad(mp, TC_EFORMAT, "the schema tree has more children than elements");
        e = &mp->elems[(*idx)++];
        if (e->type >= 0) {
            if (e->num_children > 0)
                return bad(mp, TC_EFORMAT, "a primitive schema element has children");
            (*leaves)++;
        } else if (e->num_children > 0) {
            if (depth == SCHEMA_MAX_DEPTH)
                return bad(mp, TC_ERANGE, "the schema is nested too deeply");
            left[depth++] = e->num_children;
        }
    }
    return 0;
}

static const char *group_reason(const pq_selem *e)
{
    if (e->converted == PQ_CT_LIST || e->logical == PQ_LT_LIST)
        return "nested list";
    if (e->converted == PQ_CT_MAP || e->converted == PQ_CT_MAP_KEY_VALUE || e->logical == PQ_LT_MAP)
        return "nested map";
    if (e->logical == PQ_LT_VARIANT)
        return "nested variant";
    return "nested struct";
}

static int build_fields(meta_parse *mp, pq_meta *m)
{
    const pq_selem *root = &mp->elems[0];
    size_t idx = 1, leaves = 0, n;

    if (root->type >= 0)
        return bad(mp, TC_EFORMAT, "the schema's root is not a group");
    n = root->num_children > 0 ? (size_t)root->num_children : 0;
    if (n > TC_TABLE_MAX_COLUMNS)
        return bad(mp, TC_ERANGE, "more columns than TC_TABLE_MAX_COLUMNS");
    if (n > mp->n_elems - 1)
        return bad(mp, TC_EFORMAT, "the schema's root has more children than elements");
    m->fields = tc_calloc(n ? n : 1, sizeof(*m->fields));
    m->columns = tc_calloc(n ? n : 1, sizeof(*m->columns));
    if (!m->fields || !m->columns)
        return bad(mp, TC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const pq_selem *e;
        char *name;
        if (idx >= mp->n_elems)
            return bad(mp, TC_EFORMAT, "the schema tree has more children than elements");
        e = &mp->elems[idx];
        if (e->name_len > TC_TABLE_MAX_NAME)
            return bad(mp, TC_ERANGE, "a column name is longer than TC_TABLE_MAX_NAME");
        name = tc_malloc(e->name_len + 1);
        if (!name)
            return bad(mp, TC_ENOMEM, "out of memory");
        memcpy(name, e->name, e->name_len);
        name[e->name_len] = '\0';
        m->columns[i].name = name;
        m->n_fields = i + 1;
        if (e->type < 0) {
            m->fields[i].type = -1;
            m->fields[i].unsupported = group_reason(e);
            m->columns[i].unsupported = m->fields[i].unsupported;
            m->columns[i].type = TC_VALUE_NULL;
            m->columns[i].nullable = 1;
            if (walk_group(mp, &idx, &leaves) < 0)
                return -1;
        } else {
            if (e->num_children > 0)
                return bad(mp, TC_EFORMAT, "a primitive schema element has children");
            m->fields[i].leaf = leaves++;
            classify(e, &m->fields[i], &m->columns[i]);
            idx++;
        }
    }
    if (idx != mp->n_elems)
        return bad(mp, TC_EFORMAT, "the schema has elements outside its tree");
    m->n_leaves = leaves;
    return 0;
}

/* ---- reading the footer ------------------------------------------------------------------ */

static int check_row_groups(meta_parse *mp, pq_meta *m)
{
    int64_t total = 0;

    for (size_t i = 0; i < mp->n_rg; i++) {
        if (mp->rg_chunks[i] != m->n_leaves)
            return bad(mp, TC_EFORMAT,
                       "a row group's column count differs from the schema's leaf count");
        if (mp->rg_rows[i] > INT64_MAX - total)
            return bad(mp, TC_EFORMAT, "the row groups' row counts overflow");
        total += mp->rg_rows[i];
    }
    if (total != mp->num_rows)
        return bad(mp, TC_EFORMAT, "the row groups' row counts do not add up to the file's");
    return 0;
}

static int parse_footer(pq_meta *m, const uint8_t *buf, size_t len, const char *file)
{
    meta_parse mp;
    int rc = TC_OK;

    memset(&mp, 0, sizeof(mp));
    mp.file = file;
    tc__thrift_init(&mp.t, buf, len);
    if (parse_file_meta(&mp) < 0 || build_fields(&mp, m) < 0 || check_row_groups(&mp, m) < 0) {
        if (mp.msg)
            rc = tc_error_set(mp.code, "file '%s': footer: %s", file, mp.msg);
        else
            rc = tc_error_set(TC_EFORMAT, "file '%s': corrupt footer: %s at byte %zu of %zu", file,
                              mp.t.err, mp.t.err_at, len);
        goto out;
    }
    m->num_rows = mp.num_rows;
    m->rg_rows = mp.rg_rows;
    m->n_rg = mp.n_rg;
    m->chunks = mp.chunks;
    mp.rg_rows = NULL;
    mp.chunks = NULL;
out:
    tc_free(mp.elems);
    tc_free(mp.rg_rows);
    tc_free(mp.rg_chunks);
    tc_free(mp.chunks);
    return rc;
}

int tc__pq_meta_read(pq_meta *m, tc__source *src)
{
    uint8_t tail[8], head[4];
    uint8_t *buf = NULL;
    uint32_t len;
    int rc;

    memset(m, 0, sizeof(*m));
    if (src->size < 12)
        return tc_error_set(TC_EFORMAT, "file '%s': not a parquet file (%llu bytes, too short)",
                            src->name, (unsigned long long)src->size);
    rc = tc__source_pread(src, head, 4, 0);
    if (rc == 0)
        rc = tc__source_pread(src, tail, 8, src->size - 8);
    if (rc < 0)
        return rc;
    if (memcmp(tail + 4, "PARE", 4) == 0)
        return tc_error_set(TC_EUNSUPPORTED, "file '%s': encrypted parquet files are not supported",
                            src->name);
    if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        return tc_error_set(TC_EFORMAT, "file '%s': not a parquet file (no PAR1 magic at its %s)",
                            src->name, memcmp(head, "PAR1", 4) != 0 ? "start" : "end");
    len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
          (uint32_t)tail[3] << 24;
    if (len > src->size - 12)
        return tc_error_set(TC_EFORMAT,
                            "file '%s': footer length %u is more than the file holds (%llu bytes)",
                            src->name, len, (unsigned long long)src->size);
    if (len > TC_PARQUET_MAX_FOOTER)
        return tc_error_set(TC_ERANGE, "file '%s': footer of %u bytes is over the limit of %llu",
                            src->name, len, (unsigned long long)TC_PARQUET_MAX_FOOTER);
    if (len == 0)
        return tc_error_set(TC_EFORMAT, "file '%s': empty footer", src->name);
    buf = tc_malloc(len);
    if (!buf)
        return TC_ENOMEM;
    rc = tc__source_pread(src, buf, len, src->size - 8 - len);
    if (rc == 0)
        rc = parse_footer(m, buf, len, src->name);
    m->data_end = src->size - 8 - len;
    tc_free(buf);
    if (rc < 0)
        tc__pq_meta_dispose(m);
    return rc;
}

void tc__pq_meta_dispose(pq_meta *m)
{
    for (size_t i = 0; i < m->n_fields && m->columns; i++)
        tc_free((void *)(uintptr_t)m->columns[i].name);
    tc_free(m->columns);
    tc_free(m->fields);
    tc_free(m->rg_rows);
    tc_free(m->chunks);
    memset(m, 0, sizeof(*m));
}
