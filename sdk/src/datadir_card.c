/*
 * datadir_card.c - read a dataset card (README.md): the YAML front matter's `configs:` and
 * `dataset_info:` (features with class_label names, split sizes), with libyaml's document
 * API. Every walk over the document has a fixed depth, and a budget of node visits bounds
 * the work aliases can multiply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include <tc/datadir.h>

#include "datadir_internal.h"

#define CARD_MAX_VISITS 1000000 /* mapping entries and list items looked at */
#define CARD_MAX_MESSAGE 512

typedef struct card_ctx {
    yaml_document_t *doc;
    const char *where; /* README.md's path, for messages */
    size_t line0;      /* lines before the YAML's first line */
    size_t visits;
} card_ctx;

static yaml_node_t *node_at(card_ctx *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

static size_t line_of(const card_ctx *c, const yaml_node_t *n)
{
    return c->line0 + n->start_mark.line + 1;
}

static const char *kind_of(const yaml_node_t *n)
{
    if (!n)
        return "nothing";
    if (n->type == YAML_SCALAR_NODE)
        return "string";
    if (n->type == YAML_SEQUENCE_NODE)
        return "list";
    return n->type == YAML_MAPPING_NODE ? "mapping" : "nothing";
}

static int visit(card_ctx *c)
{
    if (++c->visits > CARD_MAX_VISITS)
        return tc_error_set(TC_ERANGE,
                            "'%s': the front matter takes over %d steps to read "
                            "(aliases?); simplify it",
                            c->where, CARD_MAX_VISITS);
    return 0;
}

/* The scalar's text when n is a scalar without NUL bytes, else NULL. */
static const char *scalar_of(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return NULL;
    return (const char *)n->data.scalar.value;
}

/* The value of key in mapping m (the last one when repeated, as PyYAML), or NULL. */
static int map_get(card_ctx *c, yaml_node_t *m, const char *key, yaml_node_t **out)
{
    yaml_node_pair_t *p;
    int err;

    *out = NULL;
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar_of(node_at(c, p->key));

        if ((err = visit(c)) < 0)
            return err;
        if (k && strcmp(k, key) == 0)
            *out = node_at(c, p->value);
    }
    return 0;
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static int format_error(card_ctx *c, const yaml_node_t *n, const char *fmt, ...) TC_PRINTF(3, 4);

static int format_error(card_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[CARD_MAX_MESSAGE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tc_error_set(TC_EFORMAT, "'%s' line %zu: %s", c->where, n ? line_of(c, n) : c->line0,
                        msg);
}

/* A copy of scalar n, checked: a string of 1..max_len bytes. what names it in messages. */
static int dup_scalar(card_ctx *c, yaml_node_t *n, const char *what, size_t max_len, char **out)
{
    const char *s = scalar_of(n);

    if (!s || !*s)
        return format_error(c, n, "%s is %s, expected a non-empty string", what,
                            s ? "empty" : kind_of(n));
    if (strlen(s) > max_len)
        return tc_error_set(TC_ERANGE, "'%s' line %zu: %s is longer than %zu bytes", c->where,
                            line_of(c, n), what, max_len);
    *out = tc_strdup(s);
    return *out ? 0 : TC_ENOMEM;
}

static int check_count(card_ctx *c, yaml_node_t *n, size_t count, size_t max, const char *what)
{
    if (count > max)
        return tc_error_set(TC_ERANGE, "'%s' line %zu: %zu %s, more than the limit of %zu",
                            c->where, line_of(c, n), count, what, max);
    return 0;
}

int tc__split_name_ok(const char *s)
{
    int prev_dot = 1;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int word = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80;

        if (ch == '.' && !prev_dot)
            prev_dot = 1;
        else if (word)
            prev_dot = 0;
        else
            return 0;
    }
    return !prev_dot;
}

/* ---- configs ---------------------------------------------------------------------------- */

/* patterns: a string or a list of strings. */
static int read_patterns(card_ctx *c, yaml_node_t *n, tc__card_split *sp)
{
    yaml_node_item_t *it;
    size_t k = 0;
    int err;

    if (n && n->type == YAML_SCALAR_NODE) {
        if (!(sp->patterns = tc_calloc(1, sizeof(char *))))
            return TC_ENOMEM;
        sp->n_patterns = 1;
        return dup_scalar(c, n, "a data_files pattern", TC_DATADIR_MAX_PATH, &sp->patterns[0]);
    }
    if (!n || n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0)
        return format_error(c, n,
                            "data_files of split '%s' is %s, expected a pattern or a "
                            "non-empty list of patterns",
                            sp->name, n && n->type == YAML_SEQUENCE_NODE ? "empty" : kind_of(n));
    if ((err = check_count(c, n, seq_len(n), TC_DATADIR_MAX_ITEMS, "patterns")) < 0)
        return err;
    if (!(sp->patterns = tc_calloc(seq_len(n), sizeof(char *))))
        return TC_ENOMEM;
    sp->n_patterns = seq_len(n);
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, k++) {
        if ((err = visit(c)) < 0 || (err = dup_scalar(c, node_at(c, *it), "a data_files pattern",
                                                      TC_DATADIR_MAX_PATH, &sp->patterns[k])) < 0)
            return err;
    }
    return 0;
}

static int add_split(card_ctx *c, tc__card_config *cfg, yaml_node_t *name, const char *fixed,
                     yaml_node_t *patterns, yaml_node_t *at)
{
    tc__card_split *sp = &cfg->splits[cfg->n_splits];
    size_t k;
    int err;

    sp->line = line_of(c, at);
    if (fixed && !(sp->name = tc_strdup(fixed)))
        return TC_ENOMEM;
    if (!fixed && (err = dup_scalar(c, name, "a split name", TC_DATADIR_MAX_NAME, &sp->name)) < 0)
        return err;
    cfg->n_splits++;
    if (!tc__split_name_ok(sp->name))
        return format_error(c, at,
                            "split name '%s' is not letters, digits and '_' in "
                            "'.'-separated words",
                            sp->name);
    for (k = 0; k + 1 < cfg->n_splits; k++)
        if (strcmp(cfg->splits[k].name, sp->name) == 0)
            return format_error(c, at, "split '%s' is listed twice in config '%s'", sp->name,
                                cfg->name);
    return read_patterns(c, patterns, sp);
}

/* A list whose items are all {split, path}. */
static int read_split_list(card_ctx *c, yaml_node_t *df, tc__card_config *cfg)
{
    yaml_node_item_t *it;
    int err;

    for (it = df->data.sequence.items.start; it < df->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(c, *it), *split = NULL, *path = NULL;

        if ((err = visit(c)) < 0)
            return err;
        if (!item || item->type != YAML_MAPPING_NODE)
            return format_error(c, item ? item : df,
                                "an item of data_files is a %s, expected "
                                "{split, path} like the others",
                                kind_of(item));
        if ((err = map_get(c, item, "split", &split)) < 0 ||
            (err = map_get(c, item, "path", &path)) < 0)
            return err;
        if (!split || !path)
            return format_error(c, item,
                                "an item of data_files has no '%s', expected "
                                "{split, path}",
                                split ? "path" : "split");
        if ((err = add_split(c, cfg, split, NULL, path, item)) < 0)
            return err;
    }
    return 0;
}

static int read_split_map(card_ctx *c, yaml_node_t *df, tc__card_config *cfg)
{
    yaml_node_pair_t *p;
    int err;

    for (p = df->data.mapping.pairs.start; p < df->data.mapping.pairs.top; p++) {
        if ((err = visit(c)) < 0 ||
            (err = add_split(c, cfg, node_at(c, p->key), NULL, node_at(c, p->value), df)) < 0)
            return err;
    }
    return 0;
}

static int has_mapping_item(card_ctx *c, yaml_node_t *seq)
{
    yaml_node_item_t *it;

    for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(c, *it);

        c->visits++; /* counted; the next visit() reports a spent budget */
        if (item && item->type == YAML_MAPPING_NODE)
            return 1;
    }
    return 0;
}

/* data_files: a pattern, a list of patterns, a list of {split, path}, or {split: patterns}. */
static int read_data_files(card_ctx *c, yaml_node_t *df, tc__card_config *cfg)
{
    size_t n = 1;
    int err;

    if (df->type == YAML_SEQUENCE_NODE &&
        (err = check_count(c, df, seq_len(df), TC_DATADIR_MAX_ITEMS, "items")) < 0)
        return err;
    if (df->type == YAML_SEQUENCE_NODE && has_mapping_item(c, df))
        n = seq_len(df);
    else if (df->type == YAML_MAPPING_NODE)
        n = (size_t)(df->data.mapping.pairs.top - df->data.mapping.pairs.start);
    if (n == 0)
        return format_error(c, df, "data_files of config '%s' is empty", cfg->name);
    if ((err = check_count(c, df, n, TC_DATADIR_MAX_ITEMS, "splits")) < 0)
        return err;
    if (!(cfg->splits = tc_calloc(n, sizeof(*cfg->splits))))
        return TC_ENOMEM;
    cfg->has_data_files = 1;
    if (df->type == YAML_SCALAR_NODE ||
        (df->type == YAML_SEQUENCE_NODE && !has_mapping_item(c, df)))
        return add_split(c, cfg, NULL, "train", df, df);
    if (df->type == YAML_SEQUENCE_NODE)
        return read_split_list(c, df, cfg);
    return read_split_map(c, df, cfg);
}

static int read_bool(const yaml_node_t *n)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    const char *s = scalar_of(n);
    size_t k;

    for (k = 0; s && k < sizeof(yes) / sizeof(yes[0]); k++)
        if (strcmp(s, yes[k]) == 0)
            return 1;
    return 0;
}

static int read_config(card_ctx *c, yaml_node_t *item, tc__card_config *cfg)
{
    yaml_node_t *name = NULL, *df = NULL, *dir = NULL, *def = NULL;
    int err;

    cfg->line = line_of(c, item);
    if (item->type != YAML_MAPPING_NODE)
        return format_error(c, item,
                            "an item of configs is a %s, expected a mapping with "
                            "config_name and data_files",
                            kind_of(item));
    if ((err = map_get(c, item, "config_name", &name)) < 0 ||
        (err = map_get(c, item, "data_files", &df)) < 0 ||
        (err = map_get(c, item, "data_dir", &dir)) < 0 ||
        (err = map_get(c, item, "default", &def)) < 0)
        return err;
    if (!name)
        return format_error(c, item, "an item of configs has no config_name");
    if ((err = dup_scalar(c, name, "config_name", TC_DATADIR_MAX_NAME, &cfg->name)) < 0)
        return err;
    cfg->is_default = read_bool(def);
    if (dir && (err = dup_scalar(c, dir, "data_dir", TC_DATADIR_MAX_PATH, &cfg->data_dir)) < 0)
        return err;
    return df ? read_data_files(c, df, cfg) : 0;
}

static int read_configs(card_ctx *c, yaml_node_t *n, tc__card *card)
{
    yaml_node_item_t *it;
    size_t k = 0, j;
    int err;

    if (n->type != YAML_SEQUENCE_NODE)
        return format_error(c, n, "configs is a %s, expected a list of {config_name, data_files}",
                            kind_of(n));
    if ((err = check_count(c, n, seq_len(n), TC_DATADIR_MAX_ITEMS, "configs")) < 0)
        return err;
    card->has_configs = 1;
    if (!(card->configs = tc_calloc(seq_len(n), sizeof(*card->configs))))
        return TC_ENOMEM;
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, k++) {
        yaml_node_t *item = node_at(c, *it);

        card->n_configs = k + 1;
        if ((err = visit(c)) < 0 || (err = read_config(c, item, &card->configs[k])) < 0)
            return err;
        for (j = 0; j < k; j++)
            if (strcmp(card->configs[j].name, card->configs[k].name) == 0)
                return format_error(c, item, "config '%s' is listed twice", card->configs[k].name);
    }
    return 0;
}

/* ---- dataset_info --------------------------------------------------------------------- */

static void feature_error(card_ctx *c, tc__card_feature *f, const yaml_node_t *n, const char *what)
{
    char msg[CARD_MAX_MESSAGE];

    snprintf(msg, sizeof(msg), "'%s' line %zu: the class_label names of feature '%s' %s", c->where,
             line_of(c, n), f->name, what);
    f->error = tc_strdup(msg); /* NULL on OOM: the caller reports TC_ENOMEM */
}

/* An id: decimal digits only, below limit. -1 when not. */
static int64_t read_id(const yaml_node_t *n, int64_t limit)
{
    const char *s = scalar_of(n);
    int64_t v = 0;

    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v >= limit)
            return -1;
    }
    return v;
}

static int names_from_list(card_ctx *c, yaml_node_t *names, tc__card_feature *f)
{
    yaml_node_item_t *it;
    int32_t k = 0;
    int err;

    for (it = names->data.sequence.items.start; it < names->data.sequence.items.top; it++) {
        yaml_node_t *v = node_at(c, *it);

        if ((err = visit(c)) < 0)
            return err;
        if (!scalar_of(v)) {
            feature_error(c, f, v ? v : names, "has an item that is not a string");
            return f->error ? 0 : TC_ENOMEM;
        }
        if (!(f->names[k++] = tc_strdup(scalar_of(v))))
            return TC_ENOMEM;
    }
    return 0;
}

static int names_from_map(card_ctx *c, yaml_node_t *names, tc__card_feature *f)
{
    yaml_node_pair_t *p;
    char what[128];
    int err;

    for (p = names->data.mapping.pairs.start; p < names->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        int64_t id = read_id(k, f->n_names);

        if ((err = visit(c)) < 0)
            return err;
        if (id >= 0 && !f->names[id] && scalar_of(v)) {
            if (!(f->names[id] = tc_strdup(scalar_of(v))))
                return TC_ENOMEM;
            continue;
        }
        if (id < 0 && read_id(k, INT32_MAX) >= 0)
            snprintf(what, sizeof(what), "skip ids: id %s with %d names (ids must be 0..%d)",
                     scalar_of(k) ? scalar_of(k) : "?", (int)f->n_names, (int)f->n_names - 1);
        else if (id < 0)
            snprintf(what, sizeof(what), "have an id that is not a non-negative integer");
        else if (f->names[id])
            snprintf(what, sizeof(what), "repeat id %d", (int)id);
        else
            snprintf(what, sizeof(what), "give id %d a %s, expected a string", (int)id, kind_of(v));
        feature_error(c, f, k ? k : names, what);
        return f->error ? 0 : TC_ENOMEM;
    }
    return 0;
}

static int read_class_label(card_ctx *c, yaml_node_t *cl, tc__card_feature *f)
{
    yaml_node_t *names = NULL;
    size_t n;
    int err;

    if ((err = map_get(c, cl, "names", &names)) < 0 || !names)
        return err;
    f->has_class_label = 1;
    if (names->type == YAML_SCALAR_NODE) {
        feature_error(c, f, names, "are a string, expected a list or a mapping of ids to names");
        return f->error ? 0 : TC_ENOMEM;
    }
    n = names->type == YAML_SEQUENCE_NODE
            ? seq_len(names)
            : (size_t)(names->data.mapping.pairs.top - names->data.mapping.pairs.start);
    if ((err = check_count(c, names, n, TC_DATADIR_MAX_CLASSES, "class names")) < 0)
        return err;
    if (!(f->names = tc_calloc(n, sizeof(char *))))
        return TC_ENOMEM;
    f->n_names = (int32_t)n;
    if (names->type == YAML_SEQUENCE_NODE)
        return names_from_list(c, names, f);
    return names_from_map(c, names, f);
}

static int read_feature(card_ctx *c, yaml_node_t *item, tc__card_feature *f)
{
    yaml_node_t *name = NULL, *dtype = NULL, *cl = NULL;
    int err;

    if ((err = map_get(c, item, "name", &name)) < 0 || !scalar_of(name))
        return err;
    if (strlen(scalar_of(name)) > TC_DATADIR_MAX_NAME)
        return 0;
    if (!(f->name = tc_strdup(scalar_of(name))))
        return TC_ENOMEM;
    if ((err = map_get(c, item, "class_label", &cl)) < 0)
        return err;
    if (!cl && ((err = map_get(c, item, "dtype", &dtype)) < 0 ||
                (err = map_get(c, dtype, "class_label", &cl)) < 0))
        return err;
    return cl ? read_class_label(c, cl, f) : 0;
}

/* features: a list of {name, dtype}; items of other shapes are skipped. */
static int read_features(card_ctx *c, yaml_node_t *n, tc__card_info *info)
{
    yaml_node_item_t *it;
    size_t k = 0;
    int err;

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return 0;
    if ((err = check_count(c, n, seq_len(n), TC_DATADIR_MAX_ITEMS, "features")) < 0)
        return err;
    if (!(info->features = tc_calloc(seq_len(n), sizeof(*info->features))))
        return TC_ENOMEM;
    info->n_features = seq_len(n); /* items without a name stay {0} and are skipped */
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, k++) {
        if ((err = visit(c)) < 0 ||
            (err = read_feature(c, node_at(c, *it), &info->features[k])) < 0)
            return err;
    }
    return 0;
}

/* splits: a list of {name, num_examples}; items of other shapes are skipped. */
static int read_info_splits(card_ctx *c, yaml_node_t *n, tc__card_info *info)
{
    yaml_node_item_t *it;
    int err;

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return 0;
    if ((err = check_count(c, n, seq_len(n), TC_DATADIR_MAX_ITEMS, "splits")) < 0)
        return err;
    if (!(info->split_names = tc_calloc(seq_len(n), sizeof(char *))) ||
        !(info->split_examples = tc_calloc(seq_len(n), sizeof(int64_t))))
        return TC_ENOMEM;
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(c, *it), *name = NULL, *num = NULL;

        if ((err = visit(c)) < 0 || (err = map_get(c, item, "name", &name)) < 0 ||
            (err = map_get(c, item, "num_examples", &num)) < 0)
            return err;
        if (!scalar_of(name) || strlen(scalar_of(name)) > TC_DATADIR_MAX_NAME)
            continue;
        if (!(info->split_names[info->n_splits] = tc_strdup(scalar_of(name))))
            return TC_ENOMEM;
        info->split_examples[info->n_splits++] = read_id(num, INT64_MAX / 10);
    }
    return 0;
}

static int read_info(card_ctx *c, yaml_node_t *n, tc__card_info *info)
{
    yaml_node_t *name = NULL, *features = NULL, *splits = NULL;
    int err;

    if (n->type != YAML_MAPPING_NODE)
        return format_error(c, n, "an item of dataset_info is a %s, expected a mapping",
                            kind_of(n));
    if ((err = map_get(c, n, "config_name", &name)) < 0 ||
        (err = map_get(c, n, "features", &features)) < 0 ||
        (err = map_get(c, n, "splits", &splits)) < 0)
        return err;
    if (name &&
        (err = dup_scalar(c, name, "config_name", TC_DATADIR_MAX_NAME, &info->config_name)) < 0)
        return err;
    if ((err = read_features(c, features, info)) < 0)
        return err;
    return read_info_splits(c, splits, info);
}

static int read_infos(card_ctx *c, yaml_node_t *n, tc__card *card)
{
    yaml_node_item_t *it;
    size_t count = n->type == YAML_SEQUENCE_NODE ? seq_len(n) : 1;
    int err;

    if (n->type == YAML_SCALAR_NODE)
        return format_error(c, n,
                            "dataset_info is a string, expected a mapping or a list of "
                            "mappings with config_name");
    if ((err = check_count(c, n, count, TC_DATADIR_MAX_ITEMS, "dataset_info items")) < 0)
        return err;
    if (!(card->infos = tc_calloc(count, sizeof(*card->infos))))
        return TC_ENOMEM;
    if (n->type == YAML_MAPPING_NODE) {
        card->n_infos = 1;
        return read_info(c, n, &card->infos[0]);
    }
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        card->n_infos++;
        if ((err = visit(c)) < 0 ||
            (err = read_info(c, node_at(c, *it), &card->infos[card->n_infos - 1])) < 0)
            return err;
    }
    return 0;
}

/* ---- front matter ---------------------------------------------------------------------- */

/* "---" at t[i] ending its line (newline or the end of the text). */
static int is_fence(const char *t, size_t len, size_t i)
{
    if (i + 3 > len || memcmp(t + i, "---", 3) != 0)
        return 0;
    return i + 3 == len || t[i + 3] == '\n' ||
           (t[i + 3] == '\r' && i + 4 < len && t[i + 4] == '\n');
}

static size_t count_lines(const char *t, size_t n)
{
    size_t k, lines = 0;

    for (k = 0; k < n; k++)
        lines += t[k] == '\n';
    return lines;
}

/*
 * Find the YAML between the fences, as huggingface_hub does (^\s*---[\r\n]+ ... [\r\n]+---
 * then a newline or the end): *begin and *end, or *found = 0 when there is no opening fence.
 */
static int find_front_matter(const char *t, size_t len, const char *where, size_t *begin,
                             size_t *end, int *found)
{
    size_t i = 0, k;

    *found = 0;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
        i++;
    if (i + 3 >= len || memcmp(t + i, "---", 3) != 0 || (t[i + 3] != '\n' && t[i + 3] != '\r'))
        return 0;
    *begin = i + 3;
    while (*begin < len && (t[*begin] == '\n' || t[*begin] == '\r'))
        (*begin)++;
    for (k = i + 3; k < len; k++) {
        if ((t[k] == '\n' || t[k] == '\r') && is_fence(t, len, k + 1)) {
            *end = k;
            if (*begin > *end)
                *begin = *end;
            *found = 1;
            return 0;
        }
    }
    return tc_error_set(TC_EFORMAT,
                        "'%s' line %zu: the front matter opened here has no "
                        "closing '---' line; add one after the YAML",
                        where, count_lines(t, i) + 1);
}

static int yaml_error(yaml_parser_t *p, const char *text, size_t len, size_t line0,
                      const char *where)
{
    size_t line = p->problem_mark.line;

    if (p->error == YAML_MEMORY_ERROR)
        return tc_error_set(TC_ENOMEM, "out of memory reading '%s'", where);
    if (p->error == YAML_READER_ERROR)
        line = count_lines(text, p->problem_offset < len ? p->problem_offset : len);
    return tc_error_set(TC_EFORMAT, "'%s' line %zu: YAML error: %s%s%s; fix the front matter",
                        where, line0 + line + 1, p->problem ? p->problem : "malformed",
                        p->context ? " " : "", p->context ? p->context : "");
}

static int read_root(card_ctx *c, tc__card *card)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc), *configs = NULL, *info = NULL;
    int err;

    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return format_error(c, root, "the front matter is a %s, expected a mapping", kind_of(root));
    if ((err = map_get(c, root, "configs", &configs)) < 0 ||
        (err = map_get(c, root, "dataset_info", &info)) < 0)
        return err;
    if (configs && (err = read_configs(c, configs, card)) < 0)
        return err;
    return info ? read_infos(c, info, card) : 0;
}

static int parse_yaml(tc__card *card, const char *text, size_t len, size_t line0, const char *where)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    card_ctx c = {&doc, where, line0, 0};
    int err;

    if (!yaml_parser_initialize(&parser))
        return tc_error_set(TC_ENOMEM, "out of memory reading '%s'", where);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err = yaml_error(&parser, text, len, line0, where);
        yaml_parser_delete(&parser);
        return err;
    }
    err = read_root(&c, card);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return err;
}

int tc__card_parse(tc__card **out, const char *text, size_t len, const char *where)
{
    tc__card *card = NULL;
    size_t begin = 0, end = 0;
    int found = 0, err;

    TC_ASSERT_ARG(out && (text || len == 0) && where);
    if (!(card = tc_calloc(1, sizeof(*card))))
        return TC_ENOMEM;
    if ((err = find_front_matter(text, len, where, &begin, &end, &found)) < 0)
        goto out;
    card->has_front_matter = found;
    if (found &&
        (err = parse_yaml(card, text + begin, end - begin, count_lines(text, begin), where)) < 0)
        goto out;
    *out = card;
    card = NULL;
out:
    tc__card_free(card);
    return err;
}

static void free_strings(char **s, size_t n)
{
    size_t k;

    for (k = 0; s && k < n; k++)
        tc_free(s[k]);
    tc_free(s);
}

static void free_config(tc__card_config *cfg)
{
    size_t k;

    for (k = 0; k < cfg->n_splits; k++) {
        tc_free(cfg->splits[k].name);
        free_strings(cfg->splits[k].patterns, cfg->splits[k].n_patterns);
    }
    tc_free(cfg->splits);
    tc_free(cfg->name);
    tc_free(cfg->data_dir);
}

static void free_info(tc__card_info *info)
{
    size_t k;

    for (k = 0; k < info->n_features; k++) {
        tc__card_feature *f = &info->features[k];

        tc_free(f->name);
        free_strings(f->names, f->names ? (size_t)f->n_names : 0);
        tc_free(f->error);
    }
    tc_free(info->features);
    free_strings(info->split_names, info->n_splits);
    tc_free(info->split_examples);
    tc_free(info->config_name);
}

void tc__card_free(tc__card *c)
{
    size_t k;

    if (!c)
        return;
    for (k = 0; k < c->n_configs; k++)
        free_config(&c->configs[k]);
    tc_free(c->configs);
    for (k = 0; k < c->n_infos; k++)
        free_info(&c->infos[k]);
    tc_free(c->infos);
    tc_free(c);
}
