/*
 * spec.c - job spec parsing with libyaml (see spec.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <tc/error.h>

#include "spec.h"

static const char *const sections[] = {"model", "data", "train", "push", NULL};

static int known_section(const char *s)
{
    size_t i;

    for (i = 0; sections[i]; i++)
        if (!strcmp(s, sections[i]))
            return 1;
    return 0;
}

static int add_entry(tcd_spec *spec, const char *section, const char *key, const char *value,
                     int line)
{
    tcd_spec_entry *e = tcd_spec_find(spec, section, key), *grown;

    if (strlen(value) > TCD_SPEC_MAX_VALUE)
        return tc_error_set(TC_EINVAL, "value of '%s.%s' is longer than %d bytes", section, key,
                            TCD_SPEC_MAX_VALUE);
    if (e) {
        if (line > 0)
            return tc_error_set(TC_EINVAL, "%s:%d: key '%s.%s' is given twice", spec->path, line,
                                section, key);
        free(e->value);
        if (!(e->value = strdup(value)))
            return tc_error_set(TC_ENOMEM, "out of memory");
        e->line = line;
        return 0;
    }
    if (spec->n >= TCD_SPEC_MAX_KEYS)
        return tc_error_set(TC_ERANGE, "job spec has more than %d keys", TCD_SPEC_MAX_KEYS);
    grown = realloc(spec->entries, (spec->n + 1) * sizeof(*grown));
    if (!grown)
        return tc_error_set(TC_ENOMEM, "out of memory");
    spec->entries = grown;
    e = &spec->entries[spec->n];
    memset(e, 0, sizeof(*e));
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    spec->n++;
    if (!e->section || !e->key || !e->value)
        return tc_error_set(TC_ENOMEM, "out of memory");
    return 0;
}

static int scalar(yaml_document_t *doc, yaml_node_t *n, const char **out)
{
    (void)doc;
    if (!n || n->type != YAML_SCALAR_NODE)
        return -1;
    *out = (const char *)n->data.scalar.value;
    return 0;
}

static int walk_section(tcd_spec *spec, yaml_document_t *doc, const char *section, yaml_node_t *map)
{
    yaml_node_pair_t *p;

    if (map->type == YAML_SCALAR_NODE && map->data.scalar.length == 0)
        return 0; /* "train:" with nothing under it */
    if (map->type != YAML_MAPPING_NODE)
        return tc_error_set(TC_EINVAL, "%s:%zu: '%s' must be a mapping of keys to values",
                            spec->path, map->start_mark.line + 1, section);
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *ks, *vs;
        int err;
        if (scalar(doc, k, &ks) < 0)
            return tc_error_set(TC_EINVAL, "%s:%zu: keys under '%s' must be plain names",
                                spec->path, k ? k->start_mark.line + 1 : 0, section);
        if (scalar(doc, v, &vs) < 0)
            return tc_error_set(TC_EINVAL,
                                "%s:%zu: '%s.%s' must be a single value, not a list or mapping",
                                spec->path, v ? v->start_mark.line + 1 : 0, section, ks);
        if ((err = add_entry(spec, section, ks, vs, (int)k->start_mark.line + 1)) < 0)
            return err;
    }
    return 0;
}

static int walk(tcd_spec *spec, yaml_document_t *doc)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    yaml_node_pair_t *p;
    int err;

    if (!root)
        return tc_error_set(TC_EINVAL, "%s: the job spec is empty; see examples/ for one",
                            spec->path);
    if (root->type != YAML_MAPPING_NODE)
        return tc_error_set(TC_EINVAL,
                            "%s:%zu: a job spec is a mapping with model, data and "
                            "train sections",
                            spec->path, root->start_mark.line + 1);
    for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *ks;
        if (scalar(doc, k, &ks) < 0)
            return tc_error_set(TC_EINVAL, "%s:%zu: section names must be plain words", spec->path,
                                k ? k->start_mark.line + 1 : 0);
        if (!known_section(ks))
            return tc_error_set(TC_EINVAL,
                                "%s:%zu: unknown section '%s' (expected model, data, train or "
                                "push)",
                                spec->path, k->start_mark.line + 1, ks);
        if ((err = walk_section(spec, doc, ks, yaml_document_get_node(doc, p->value))) < 0)
            return err;
    }
    return 0;
}

int tcd_spec_load(tcd_spec *spec, const char *path)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    FILE *f;
    long size;
    int err = 0;

    memset(spec, 0, sizeof(*spec));
    if (!(spec->path = strdup(path)))
        return tc_error_set(TC_ENOMEM, "out of memory");
    if (!(f = fopen(path, "rbe")))
        return tc_error_set(TC_ENOTFOUND, "cannot open job spec '%s'", path);
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > (long)TCD_SPEC_MAX_BYTES) {
        fclose(f);
        return tc_error_set(TC_ERANGE, "job spec '%s' is larger than %u bytes", path,
                            TCD_SPEC_MAX_BYTES);
    }
    rewind(f);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        err = tc_error_set(TC_EINVAL, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
                           parser.problem_mark.column + 1,
                           parser.problem ? parser.problem : "invalid YAML",
                           parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(f);
        return err;
    }
    err = walk(spec, &doc);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return err;
}

int tcd_spec_set(tcd_spec *spec, const char *assignment)
{
    const char *eq = strchr(assignment, '='), *dot = strchr(assignment, '.');
    char section[64], key[256];

    if (!eq || !dot || dot > eq || dot == assignment || eq == dot + 1)
        return tc_error_set(TC_EINVAL,
                            "--set wants section.key=value (e.g. train.epochs=3), got "
                            "'%s'",
                            assignment);
    if ((size_t)(dot - assignment) >= sizeof(section) || (size_t)(eq - dot - 1) >= sizeof(key))
        return tc_error_set(TC_EINVAL, "--set key too long in '%s'", assignment);
    memcpy(section, assignment, (size_t)(dot - assignment));
    section[dot - assignment] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    if (!known_section(section))
        return tc_error_set(TC_EINVAL,
                            "--set %s: unknown section '%s' (expected model, data, train or push)",
                            assignment, section);
    return add_entry(spec, section, key, eq + 1, 0);
}

tcd_spec_entry *tcd_spec_find(const tcd_spec *spec, const char *section, const char *key)
{
    size_t i;

    for (i = 0; i < spec->n; i++)
        if (!strcmp(spec->entries[i].section, section) && !strcmp(spec->entries[i].key, key))
            return &spec->entries[i];
    return NULL;
}

const char *tcd_spec_where(const tcd_spec *spec, const tcd_spec_entry *e, char *buf, size_t cap)
{
    if (e->line > 0)
        snprintf(buf, cap, "%s:%d", spec->path, e->line);
    else
        snprintf(buf, cap, "--set %s.%s", e->section, e->key);
    return buf;
}

static int cmp_entry(const void *a, const void *b)
{
    const tcd_spec_entry *x = *(const tcd_spec_entry *const *)a;
    const tcd_spec_entry *y = *(const tcd_spec_entry *const *)b;
    int c = strcmp(x->section, y->section);
    return c ? c : strcmp(x->key, y->key);
}

void tcd_spec_hash(const tcd_spec *spec, char out[17])
{
    const tcd_spec_entry **sorted = calloc(spec->n ? spec->n : 1, sizeof(*sorted));
    uint64_t h = 1469598103934665603ull;
    size_t i;

    size_t n = 0;

    /* where the model is published does not change the run: push is left out */
    for (i = 0; sorted && i < spec->n; i++)
        if (strcmp(spec->entries[i].section, "push"))
            sorted[n++] = &spec->entries[i];
    if (sorted)
        qsort(sorted, n, sizeof(*sorted), cmp_entry);
    for (i = 0; sorted && i < n; i++) {
        const char *parts[3] = {sorted[i]->section, sorted[i]->key, sorted[i]->value};
        size_t j;
        for (j = 0; j < 3; j++) {
            const unsigned char *s = (const unsigned char *)parts[j];
            for (; *s; s++) {
                h ^= *s;
                h *= 1099511628211ull;
            }
            h ^= 0xff;
            h *= 1099511628211ull;
        }
    }
    free(sorted);
    snprintf(out, 17, "%016" PRIx64, h);
}

/* Append s to the growing buffer; -1 when out of memory. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*len + n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* A YAML double-quoted scalar: backslash escapes for quotes, backslashes and control bytes. */
static int add_quoted(char **buf, size_t *len, size_t *cap, const char *v)
{
    char esc[8];
    int rc = buf_add(buf, len, cap, "\"", 1);
    for (; rc == 0 && *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            rc = buf_add(buf, len, cap, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            rc = buf_add(buf, len, cap, esc, 4);
        } else {
            rc = buf_add(buf, len, cap, v, 1);
        }
    }
    return rc ? rc : buf_add(buf, len, cap, "\"", 1);
}

int tcd_spec_to_yaml(const tcd_spec *spec, char **out)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, i, k;
    static const char head[] = "# the spec this model was trained with (tcd)\n";
    int rc = buf_add(&buf, &len, &cap, head, sizeof(head) - 1);

    for (k = 0; rc == 0 && sections[k]; k++) {
        int header = 0;
        for (i = 0; rc == 0 && i < spec->n; i++) {
            const tcd_spec_entry *e = &spec->entries[i];
            if (strcmp(e->section, sections[k]))
                continue;
            if (!header) {
                rc = buf_add(&buf, &len, &cap, sections[k], strlen(sections[k]));
                rc = rc ? rc : buf_add(&buf, &len, &cap, ":\n", 2);
                header = 1;
            }
            rc = rc ? rc : buf_add(&buf, &len, &cap, "  ", 2);
            if (strspn(e->key, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(e->key))
                rc = rc ? rc : buf_add(&buf, &len, &cap, e->key, strlen(e->key));
            else
                rc = rc ? rc : add_quoted(&buf, &len, &cap, e->key);
            rc = rc ? rc : buf_add(&buf, &len, &cap, ": ", 2);
            rc = rc ? rc : add_quoted(&buf, &len, &cap, e->value);
            rc = rc ? rc : buf_add(&buf, &len, &cap, "\n", 1);
        }
    }
    if (rc) {
        free(buf);
        return tc_error_set(TC_ENOMEM, "out of memory");
    }
    *out = buf;
    return TC_OK;
}

void tcd_spec_dispose(tcd_spec *spec)
{
    size_t i;

    for (i = 0; i < spec->n; i++) {
        free(spec->entries[i].section);
        free(spec->entries[i].key);
        free(spec->entries[i].value);
    }
    free(spec->entries);
    free(spec->path);
    memset(spec, 0, sizeof(*spec));
}
