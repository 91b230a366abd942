/*
 * datadir.c - <tc/datadir.h>: scan a dataset folder once (sorted relative paths of its
 * regular files), then find the splits by the card's configs, the parquet-converter layout
 * or the file names, as datasets' data_files.py does.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <tc/datadir.h>
#include <tc/error.h>

#include "datadir_internal.h"

#define GLOB_MAX_PARTS 64
#define SHARD_SUFFIX "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"
#define DATA_EXTENSIONS ".parquet, .csv, .tsv, .jsonl, .ndjson, .json"

enum { FMT_NONE, FMT_PARQUET, FMT_CSV, FMT_TSV, FMT_JSON };

typedef struct dd_split {
    char *name;
    size_t *idx; /* while building: indices into the scan, increasing */
    size_t n_idx, cap_idx;
    char **files; /* absolute paths */
    size_t n_files;
    int64_t examples;
} dd_split;

struct tc_datadir {
    char *path;
    char *config;
    const char *rule;
    dd_split *splits;
    size_t n_splits;
    tc__card *card;
    const tc__card_info *info; /* the chosen config's dataset_info, or NULL */
};

typedef struct dd_scan {
    char **rel;         /* relative paths of the regular files, sorted after the walk */
    unsigned char *fmt; /* FMT_* by extension */
    size_t n, cap;
    size_t entries; /* directory entries looked at */
    size_t n_data;
    char path[TC_DATADIR_MAX_PATH + 1];  /* the walk's current path */
    dev_t dev[TC_DATADIR_MAX_DEPTH + 1]; /* the directories being walked, to stop loops */
    ino_t ino[TC_DATADIR_MAX_DEPTH + 1];
} dd_scan;

/* ---- glob ----------------------------------------------------------------------------- */

static int split_parts(char *s, char **parts)
{
    int n = 0;
    char *p = s;

    for (;;) {
        char *slash = strchr(p, '/');

        if (slash)
            *slash = '\0';
        if (*p) {
            if (n == GLOB_MAX_PARTS)
                return -1;
            parts[n++] = p;
        }
        if (!slash)
            return n;
        p = slash + 1;
    }
}

int tc__glob_match(const char *pattern, const char *path)
{
    char pbuf[TC_DATADIR_MAX_PATH + 1], sbuf[TC_DATADIR_MAX_PATH + 1];
    char *pp[GLOB_MAX_PARTS], *sp[GLOB_MAX_PARTS];
    unsigned char m[GLOB_MAX_PARTS + 1][GLOB_MAX_PARTS + 1];
    int np, ns, i, j;

    if (strlen(pattern) > TC_DATADIR_MAX_PATH || strlen(path) > TC_DATADIR_MAX_PATH)
        return 0;
    memcpy(pbuf, pattern, strlen(pattern) + 1);
    memcpy(sbuf, path, strlen(path) + 1);
    if ((np = split_parts(pbuf, pp)) < 0 || (ns = split_parts(sbuf, sp)) < 0)
        return TC_ERANGE;
    /* m[i][j]: pattern parts i.. match path parts j.. */
    for (i = np; i >= 0; i--) {
        for (j = ns; j >= 0; j--) {
            if (i == np)
                m[i][j] = j == ns;
            else if (strcmp(pp[i], "**") == 0 && i == np - 1)
                m[i][j] = j < ns;
            else if (strcmp(pp[i], "**") == 0)
                m[i][j] = m[i + 1][j] || (j < ns && m[i][j + 1]);
            else
                m[i][j] = j < ns && m[i + 1][j + 1] && fnmatch(pp[i], sp[j], 0) == 0;
        }
    }
    return m[0][0];
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/* Directory parts (all but the last) starting with "__". */
static int special_dirs(const char *path)
{
    const char *p = path, *slash;
    int n = 0;

    while ((slash = strchr(p, '/'))) {
        n += p[0] == '_' && p[1] == '_';
        p = slash + 1;
    }
    return n;
}

/* Whether pattern matches rel, with datasets' exclusions (files to ignore, "__" dirs). */
static int pattern_matches(const char *pattern, const char *rel)
{
    static const char *const ignored[] = {"README.md",         "config.json",
                                          "dataset_info.json", "dataset_infos.json",
                                          "dummy_data.zip",    "dataset_dict.json"};
    const char *b = base_name(rel);
    size_t k;

    for (k = 0; k < sizeof(ignored) / sizeof(ignored[0]); k++)
        if (strcmp(b, ignored[k]) == 0 && strcmp(base_name(pattern), b) != 0)
            return 0;
    if (special_dirs(rel) != special_dirs(pattern))
        return 0;
    return tc__glob_match(pattern, rel) == 1;
}

static int has_magic(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* ---- the folder scan ------------------------------------------------------------------ */

static unsigned char format_of(const char *name)
{
    static const struct {
        const char *ext;
        unsigned char fmt;
    } exts[] = {{".parquet", FMT_PARQUET}, {".csv", FMT_CSV},     {".tsv", FMT_TSV},
                {".jsonl", FMT_JSON},      {".ndjson", FMT_JSON}, {".json", FMT_JSON}};
    size_t n = strlen(name), k;

    for (k = 0; k < sizeof(exts) / sizeof(exts[0]); k++) {
        size_t e = strlen(exts[k].ext);

        if (n > e && strcasecmp(name + n - e, exts[k].ext) == 0)
            return exts[k].fmt;
    }
    return FMT_NONE;
}

static int scan_add(dd_scan *s, const char *rel)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **rels = tc_realloc(s->rel, cap * sizeof(char *));
        unsigned char *fmt;

        if (!rels)
            return TC_ENOMEM;
        s->rel = rels;
        if (!(fmt = tc_realloc(s->fmt, cap)))
            return TC_ENOMEM;
        s->fmt = fmt;
        s->cap = cap;
    }
    if (!(s->rel[s->n] = tc_strdup(rel)))
        return TC_ENOMEM;
    s->fmt[s->n] = format_of(rel);
    s->n_data += s->fmt[s->n] != FMT_NONE;
    s->n++;
    return 0;
}

static int walk(dd_scan *s, size_t root_len, size_t len, int depth);

/* One directory entry, already appended to s->path (len bytes). */
static int walk_entry(dd_scan *s, size_t root_len, size_t len, int depth)
{
    struct stat st;
    int k;

    if (stat(s->path, &st) != 0)
        return 0; /* a dangling symlink, or gone since readdir: not a file */
    if (S_ISREG(st.st_mode))
        return scan_add(s, s->path + root_len + 1);
    if (!S_ISDIR(st.st_mode))
        return 0;
    for (k = 0; k <= depth; k++)
        if (s->dev[k] == st.st_dev && s->ino[k] == st.st_ino)
            return 0; /* a link back to a directory being walked */
    if (depth + 1 > TC_DATADIR_MAX_DEPTH)
        return tc_error_set(TC_ERANGE,
                            "'%s' is nested more than %d directories deep; move the "
                            "data files up",
                            s->path, TC_DATADIR_MAX_DEPTH);
    s->dev[depth + 1] = st.st_dev;
    s->ino[depth + 1] = st.st_ino;
    return walk(s, root_len, len, depth + 1);
}

static int walk(dd_scan *s, size_t root_len, size_t len, int depth)
{
    DIR *dir = opendir(s->path);
    struct dirent *e;
    int err = 0;

    if (!dir)
        return errno == ENOENT ? 0
                               : tc_error_set(TC_EIO, "cannot read directory '%s': %s", s->path,
                                              strerror(errno));
    while (!err && (e = readdir(dir))) {
        size_t n = strlen(e->d_name);

        if (e->d_name[0] == '.')
            continue; /* ".", "..", and hidden files and directories */
        if (++s->entries > TC_DATADIR_MAX_ENTRIES) {
            err = tc_error_set(TC_ERANGE,
                               "'%s' holds more than %d files and directories; "
                               "point at a smaller folder",
                               s->path, TC_DATADIR_MAX_ENTRIES);
            break;
        }
        if (len + 1 + n > TC_DATADIR_MAX_PATH) {
            s->path[len] = '\0';
            err = tc_error_set(TC_ERANGE, "a path in '%s' is longer than %d bytes", s->path,
                               TC_DATADIR_MAX_PATH);
            break;
        }
        s->path[len] = '/';
        memcpy(s->path + len + 1, e->d_name, n + 1);
        err = walk_entry(s, root_len, len + 1 + n, depth);
        s->path[len] = '\0';
    }
    closedir(dir);
    return err;
}

static int cmp_rel(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dispose(dd_scan *s)
{
    size_t k;

    for (k = 0; k < s->n; k++)
        tc_free(s->rel[k]);
    tc_free(s->rel);
    tc_free(s->fmt);
}

static int scan_folder(dd_scan *s, const char *root)
{
    struct stat st;
    size_t k, len = strlen(root);
    int err;
    unsigned char *fmt;

    if (len > TC_DATADIR_MAX_PATH)
        return tc_error_set(TC_ERANGE, "path '%s' is longer than %d bytes", root,
                            TC_DATADIR_MAX_PATH);
    memcpy(s->path, root, len + 1);
    if (stat(root, &st) != 0)
        return tc_error_set(TC_EIO, "cannot read '%s': %s", root, strerror(errno));
    s->dev[0] = st.st_dev;
    s->ino[0] = st.st_ino;
    if ((err = walk(s, len, len, 0)) < 0)
        return err;
    if (s->n == 0)
        return 0;
    /* sort the paths and carry the formats along */
    qsort(s->rel, s->n, sizeof(char *), cmp_rel);
    if (!(fmt = tc_malloc(s->n)))
        return TC_ENOMEM;
    for (k = 0; k < s->n; k++)
        fmt[k] = format_of(s->rel[k]);
    tc_free(s->fmt);
    s->fmt = fmt;
    return 0;
}

/* ---- splits --------------------------------------------------------------------------- */

static int add_split(tc_datadir *d, const char *name, dd_split **out)
{
    dd_split *sp = tc_realloc(d->splits, (d->n_splits + 1) * sizeof(*d->splits));

    if (!sp)
        return TC_ENOMEM;
    d->splits = sp;
    sp = &d->splits[d->n_splits];
    memset(sp, 0, sizeof(*sp));
    sp->examples = -1;
    if (!(sp->name = tc_strdup(name)))
        return TC_ENOMEM;
    d->n_splits++;
    *out = sp;
    return 0;
}

/* Append scan index i (callers go in increasing order; a repeat is dropped). */
static int split_add_file(dd_split *sp, size_t i)
{
    if (sp->n_idx && sp->idx[sp->n_idx - 1] == i)
        return 0;
    if (sp->n_idx == sp->cap_idx) {
        size_t cap = sp->cap_idx ? sp->cap_idx * 2 : 16;
        size_t *idx = tc_realloc(sp->idx, cap * sizeof(size_t));

        if (!idx)
            return TC_ENOMEM;
        sp->idx = idx;
        sp->cap_idx = cap;
    }
    sp->idx[sp->n_idx++] = i;
    return 0;
}

/* Turn a split's scan indices into absolute paths, checking that it has one format. */
static int split_finish(tc_datadir *d, const dd_scan *s, dd_split *sp)
{
    size_t k;

    for (k = 1; k < sp->n_idx; k++)
        if (s->fmt[sp->idx[k]] != s->fmt[sp->idx[0]])
            return tc_error_set(TC_EFORMAT,
                                "split '%s' of '%s' mixes formats: '%s' and '%s'; "
                                "give each format its own split or config",
                                sp->name, d->path, s->rel[sp->idx[0]], s->rel[sp->idx[k]]);
    if (!(sp->files = tc_calloc(sp->n_idx ? sp->n_idx : 1, sizeof(char *))))
        return TC_ENOMEM;
    for (k = 0; k < sp->n_idx; k++) {
        size_t n = strlen(d->path) + 1 + strlen(s->rel[sp->idx[k]]) + 1;

        if (!(sp->files[k] = tc_malloc(n)))
            return TC_ENOMEM;
        snprintf(sp->files[k], n, "%s/%s", d->path, s->rel[sp->idx[k]]);
        sp->n_files = k + 1;
    }
    tc_free(sp->idx);
    sp->idx = NULL;
    sp->n_idx = sp->cap_idx = 0;
    return 0;
}

/* "train", "validation", "test" first, then the others by name. */
static int split_rank(const char *name)
{
    if (strcmp(name, "train") == 0)
        return 0;
    if (strcmp(name, "validation") == 0)
        return 1;
    return strcmp(name, "test") == 0 ? 2 : 3;
}

static int cmp_split(const void *a, const void *b)
{
    const dd_split *x = a, *y = b;
    int rx = split_rank(x->name), ry = split_rank(y->name);

    return rx != ry ? rx - ry : strcmp(x->name, y->name);
}

/* The split called name, added when missing. */
static int split_get(tc_datadir *d, const char *name, dd_split **out)
{
    size_t k;

    for (k = 0; k < d->n_splits; k++) {
        if (strcmp(d->splits[k].name, name) == 0) {
            *out = &d->splits[k];
            return 0;
        }
    }
    return add_split(d, name, out);
}

/* ---- configs -------------------------------------------------------------------------- */

/* names[0..n) joined with ", " into buf (cut with "..." when long). */
static void join_names(char *buf, size_t size, const char *const *names, size_t n)
{
    size_t k, used = 0;

    buf[0] = '\0';
    for (k = 0; k < n && used + 8 < size; k++) {
        int w = snprintf(buf + used, size - used, "%s%s", k ? ", " : "", names[k]);

        if (w < 0 || (size_t)w >= size - used) {
            snprintf(buf + (size > 4 ? size - 4 : 0), size > 4 ? 4 : size, "...");
            return;
        }
        used += (size_t)w;
    }
}

static int config_error(const char *dir, const char *wanted, const char *const *names, size_t n)
{
    char list[512];

    join_names(list, sizeof(list), names, n);
    if (wanted)
        return tc_error_set(TC_ENOTFOUND, "config '%s' not found in '%s'; its configs: %s", wanted,
                            dir, list);
    return tc_error_set(TC_ENOTFOUND,
                        "'%s' has several configs and none is the default; "
                        "name one of: %s",
                        dir, list);
}

/* The card config to use: asked for, default: true, the only one, or "default". */
static int pick_card_config(const tc_datadir *d, const char *wanted, size_t *out)
{
    const tc__card *c = d->card;
    const char *names[TC_DATADIR_MAX_ITEMS];
    size_t k, n = c->n_configs;

    for (k = 0; k < n; k++) {
        names[k] = c->configs[k].name;
        if (wanted ? strcmp(names[k], wanted) == 0 : c->configs[k].is_default) {
            *out = k;
            return 0;
        }
    }
    for (k = 0; !wanted && k < n; k++) {
        if (n == 1 || strcmp(names[k], "default") == 0) {
            *out = k;
            return 0;
        }
    }
    if (n == 0)
        return tc_error_set(TC_EFORMAT,
                            "the card of '%s' has an empty configs list; list at "
                            "least one config or remove configs",
                            d->path);
    return config_error(d->path, wanted, names, n);
}

/* ---- rule 1: the card's configs ------------------------------------------------------- */

/* The pattern as matched against relative paths: data_dir/pattern, without "./". */
static int full_pattern(const tc__card_config *cfg, const char *pattern, const tc__card_split *sp,
                        char *buf, size_t size)
{
    while (pattern[0] == '.' && pattern[1] == '/')
        pattern += 2;
    if (pattern[0] == '/' || strstr(pattern, "://"))
        return tc_error_set(TC_EUNSUPPORTED,
                            "README.md line %zu: data_files pattern '%s' is an "
                            "absolute path or a URL; use a path relative to the "
                            "dataset folder",
                            sp->line, pattern);
    if ((size_t)snprintf(buf, size, "%s%s%s", cfg->data_dir ? cfg->data_dir : "",
                         cfg->data_dir ? "/" : "", pattern) >= size)
        return tc_error_set(TC_ERANGE, "README.md line %zu: data_files pattern '%s' is too long",
                            sp->line, pattern);
    return 0;
}

static int no_match_error(const tc_datadir *d, const dd_scan *s, const char *pattern,
                          const tc__card_split *sp)
{
    size_t k;

    for (k = 0; k < s->n; k++)
        if (s->fmt[k] == FMT_NONE && pattern_matches(pattern, s->rel[k]))
            return tc_error_set(TC_ENOTFOUND,
                                "README.md line %zu: data_files pattern '%s' of "
                                "split '%s' matches no data file in '%s' (only "
                                "'%s'; data files are " DATA_EXTENSIONS ")",
                                sp->line, pattern, sp->name, d->path, s->rel[k]);
    return tc_error_set(TC_ENOTFOUND,
                        "README.md line %zu: data_files pattern '%s' of split '%s' "
                        "matches no data file in '%s'; fix the pattern or add the "
                        "files",
                        sp->line, pattern, sp->name, d->path);
}

static void free_patterns(char **pats, size_t n)
{
    size_t k;

    for (k = 0; pats && k < n; k++)
        tc_free(pats[k]);
    tc_free(pats);
}

/* The split's patterns as matched against relative paths. */
static int card_patterns(const tc__card_config *cfg, const tc__card_split *csp, char ***out)
{
    char buf[TC_DATADIR_MAX_PATH + 1], **pats = tc_calloc(csp->n_patterns, sizeof(char *));
    size_t p;
    int err;

    if (!pats)
        return TC_ENOMEM;
    for (p = 0; p < csp->n_patterns; p++) {
        if ((err = full_pattern(cfg, csp->patterns[p], csp, buf, sizeof(buf))) < 0 ||
            (err = (pats[p] = tc_strdup(buf)) ? 0 : TC_ENOMEM) < 0) {
            free_patterns(pats, csp->n_patterns);
            return err;
        }
    }
    *out = pats;
    return 0;
}

/* One split of a card config: the data files its patterns match. */
static int card_split(tc_datadir *d, const dd_scan *s, const tc__card_config *cfg,
                      const tc__card_split *csp)
{
    char **pats = NULL;
    unsigned char *matched = NULL;
    dd_split *sp = NULL;
    size_t p, k;
    int err;

    if ((err = split_get(d, csp->name, &sp)) < 0 || (err = card_patterns(cfg, csp, &pats)) < 0)
        return err;
    if (!(matched = tc_calloc(csp->n_patterns, 1))) {
        err = TC_ENOMEM;
        goto out;
    }
    for (k = 0; k < s->n; k++) {
        for (p = 0; s->fmt[k] != FMT_NONE && p < csp->n_patterns; p++) {
            if (!pattern_matches(pats[p], s->rel[k]))
                continue;
            matched[p] = 1;
            if ((err = split_add_file(sp, k)) < 0)
                goto out;
        }
    }
    /* as datasets: a literal path must exist; a glob may match nothing in a list */
    for (p = 0; p < csp->n_patterns; p++) {
        if (!matched[p] && (!has_magic(pats[p]) || sp->n_idx == 0)) {
            err = no_match_error(d, s, pats[p], csp);
            goto out;
        }
    }
out:
    tc_free(matched);
    free_patterns(pats, csp->n_patterns);
    return err;
}

static int by_names(tc_datadir *d, const dd_scan *s, const char *prefix);

static int rule_card(tc_datadir *d, const dd_scan *s, const char *wanted)
{
    const tc__card_config *cfg;
    size_t k;
    int err;

    if ((err = pick_card_config(d, wanted, &k)) < 0)
        return err;
    cfg = &d->card->configs[k];
    if (!(d->config = tc_strdup(cfg->name)))
        return TC_ENOMEM;
    d->rule = "card configs";
    if (!cfg->has_data_files) {
        err = by_names(d, s, cfg->data_dir);
        d->rule = "card configs";
        return err;
    }
    for (k = 0; k < cfg->n_splits; k++)
        if ((err = card_split(d, s, cfg, &cfg->splits[k])) < 0)
            return err;
    return 0;
}

/* ---- rule 2: the parquet-converter layout --------------------------------------------- */

typedef struct conv_file {
    char config[TC_DATADIR_MAX_NAME + 1];
    char split[TC_DATADIR_MAX_NAME + 1];
    int partial;
} conv_file;

static int all_digits(const char *s, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    return n > 0;
}

static int copy_name(char *dst, const char *src, size_t n)
{
    if (n == 0 || n > TC_DATADIR_MAX_NAME)
        return 0;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 1;
}

/* {dataset}-{split}[-NNNNN-of-NNNNN].parquet: the split. */
static int conv_old_name(const char *file, conv_file *cf)
{
    size_t n = strlen(file) - strlen(".parquet");
    char stem[TC_DATADIR_MAX_PATH + 1];
    const char *dash;

    memcpy(stem, file, n);
    stem[n] = '\0';
    if (n > 15 && fnmatch("*" SHARD_SUFFIX, stem, 0) == 0)
        stem[n - 15] = '\0';
    dash = strrchr(stem, '-');
    if (!dash || dash == stem)
        return 0;
    return copy_name(cf->split, dash + 1, strlen(dash + 1));
}

/* Whether rel is a converter file; *cf says its config and split. */
static int conv_parse(const char *rel, conv_file *cf)
{
    const char *a = strchr(rel, '/'), *b = a ? strchr(a + 1, '/') : NULL;
    const char *file = b ? b + 1 : a ? a + 1 : NULL;

    memset(cf, 0, sizeof(*cf));
    if (!a || (b && strchr(b + 1, '/')) || format_of(rel) != FMT_PARQUET ||
        !copy_name(cf->config, rel, (size_t)(a - rel)))
        return 0;
    if (strcmp(file + strlen(file) - strlen(".parquet"), ".parquet") != 0)
        return 0;
    if (!b) {
        if (!conv_old_name(file, cf))
            return 0;
    } else {
        size_t n = (size_t)(b - a - 1);

        cf->partial = n > 8 && strncmp(a + 1, "partial-", 8) == 0;
        if (!all_digits(file, strlen(file) - strlen(".parquet")) ||
            strlen(file) < 4 + strlen(".parquet") ||
            !copy_name(cf->split, a + 1 + (cf->partial ? 8 : 0), n - (cf->partial ? 8 : 0)))
            return 0;
    }
    return tc__split_name_ok(cf->split);
}

static int conv_pick_config(tc_datadir *d, const conv_file *cf, size_t n, const char *wanted)
{
    const char *names[TC_DATADIR_MAX_ITEMS];
    size_t k, j, n_names = 0;

    for (k = 0; k < n; k++) {
        for (j = 0; j < n_names && strcmp(names[j], cf[k].config) != 0; j++)
            ;
        if (j == n_names && n_names < TC_DATADIR_MAX_ITEMS)
            names[n_names++] = cf[k].config;
    }
    for (k = 0; k < n_names; k++)
        if (wanted ? strcmp(names[k], wanted) == 0
                   : (strcmp(names[k], "default") == 0 || n_names == 1))
            return (d->config = tc_strdup(names[k])) ? 0 : TC_ENOMEM;
    return config_error(d->path, wanted, names, n_names);
}

/* The splits of the chosen config; a partial split gives way to the full one. */
static int conv_splits(tc_datadir *d, const conv_file *cf, const size_t *at, size_t n)
{
    dd_split *sp = NULL;
    size_t k, j;
    int err, full;

    for (k = 0; k < n; k++) {
        if (strcmp(cf[k].config, d->config) != 0)
            continue;
        for (full = 0, j = 0; cf[k].partial && j < n; j++)
            full |= !cf[j].partial && strcmp(cf[j].config, d->config) == 0 &&
                    strcmp(cf[j].split, cf[k].split) == 0;
        if (full)
            continue;
        if ((err = split_get(d, cf[k].split, &sp)) < 0 || (err = split_add_file(sp, at[k])) < 0)
            return err;
    }
    return 0;
}

/* 1 when the folder is a converter layout (and d is filled), 0 when not, or an error. */
static int rule_converter(tc_datadir *d, const dd_scan *s, const char *wanted)
{
    conv_file *cf = NULL;
    size_t *at = NULL, k, n = 0;
    int err = 0;

    if (!(cf = tc_calloc(s->n_data, sizeof(*cf))) || !(at = tc_calloc(s->n_data, sizeof(size_t)))) {
        err = TC_ENOMEM;
        goto out;
    }
    for (k = 0; k < s->n; k++) {
        if (s->fmt[k] == FMT_NONE || !pattern_matches("**", s->rel[k]))
            continue;
        if (!conv_parse(s->rel[k], &cf[n]))
            goto out; /* not a converter layout */
        at[n++] = k;
    }
    if ((err = conv_pick_config(d, cf, n, wanted)) < 0 || (err = conv_splits(d, cf, at, n)) < 0)
        goto out;
    if (d->n_splits > 1)
        qsort(d->splits, d->n_splits, sizeof(*d->splits), cmp_split);
    d->rule = "parquet-converter";
    err = 1;
out:
    tc_free(cf);
    tc_free(at);
    return err;
}

/* ---- rule 3: split names in file and directory names ---------------------------------- */

static const char *const split_names[3] = {"train", "validation", "test"};
static const char *const keywords[3][5] = {{"train", "training", NULL},
                                           {"validation", "valid", "dev", "val", NULL},
                                           {"test", "testing", "eval", "evaluation", NULL}};
/* datasets' KEYWORDS_IN_DIR_NAME_BASE_PATTERNS and _IN_FILENAME_: before and after the keyword */
static const char *const dir_patterns[] = {
    "**/", "/**", "**/", "[-._ 0-9]*/**", "**/*[-._ 0-9]", "/**", "**/*[-._ 0-9]", "[-._ 0-9]*/**"};
static const char *const file_patterns[] = {"**/", "[-._ 0-9]*", "**/*[-._ 0-9]", "[-._ 0-9]*"};

/* The relative path under prefix ("" for all), or NULL when rel is not under it. */
static const char *under(const char *rel, const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;

    while (n && prefix[n - 1] == '/')
        n--;
    if (n == 0)
        return rel;
    return strncmp(rel, prefix, n) == 0 && rel[n] == '/' ? rel + n + 1 : NULL;
}

/* Whether the file (relative to the prefix) matches a keyword of split c in patterns. */
static int keyword_match(const char *rel, int c, const char *const *patterns, size_t n_patterns)
{
    char pat[128];
    size_t k, p;

    for (k = 0; keywords[c][k]; k++) {
        for (p = 0; p < n_patterns; p++) {
            snprintf(pat, sizeof(pat), "%s%s%s", patterns[2 * p], keywords[c][k],
                     patterns[2 * p + 1]);
            if (pattern_matches(pat, rel))
                return 1;
        }
    }
    return 0;
}

/* The splits of datasets' DEFAULT_PATTERNS_SPLIT_IN_DIR_NAME or _IN_FILENAME; 0 when none. */
static int keyword_splits(tc_datadir *d, const dd_scan *s, const char *prefix,
                          const char *const *patterns, size_t n_patterns)
{
    dd_split *sp = NULL;
    size_t k;
    int c, err;

    for (c = 0; c < 3; c++) {
        for (sp = NULL, k = 0; k < s->n; k++) {
            const char *rel = s->fmt[k] != FMT_NONE ? under(s->rel[k], prefix) : NULL;

            if (!rel || !keyword_match(rel, c, patterns, n_patterns))
                continue;
            if ((!sp && (err = add_split(d, split_names[c], &sp)) < 0) ||
                (err = split_add_file(sp, k)) < 0)
                return err;
        }
    }
    return d->n_splits > 0;
}

/* data/{split}-NNNNN-of-NNNNN*.*: the split, or 0 when rel is not such a file. */
static int shard_split(const char *rel, char *split, size_t size)
{
    const char *b = rel + 5;
    size_t i;

    if (strncmp(rel, "data/", 5) != 0 || strchr(b, '/') ||
        fnmatch("*" SHARD_SUFFIX "*.*", b, 0) != 0)
        return 0;
    for (i = strlen(b); i-- > 1;) {
        if (fnmatch(SHARD_SUFFIX "*.*", b + i, 0) == 0) {
            if (i >= size)
                return 0;
            memcpy(split, b, i);
            split[i] = '\0';
            return 1;
        }
    }
    return 0;
}

/* datasets' SPLIT_PATTERN_SHARDED: 1 when it applies, 0 when not, or an error. */
static int sharded_splits(tc_datadir *d, const dd_scan *s, const char *prefix)
{
    char split[TC_DATADIR_MAX_NAME + 1];
    dd_split *sp = NULL;
    size_t k;
    int err;

    for (k = 0; k < s->n; k++) {
        const char *rel = s->fmt[k] != FMT_NONE ? under(s->rel[k], prefix) : NULL;

        if (!rel || !shard_split(rel, split, sizeof(split)))
            continue;
        if (!tc__split_name_ok(split))
            return tc_error_set(TC_EFORMAT,
                                "'%s' in '%s' names split '%s', which is not "
                                "letters, digits and '_' in '.'-separated words",
                                s->rel[k], d->path, split);
        if ((err = split_get(d, split, &sp)) < 0 || (err = split_add_file(sp, k)) < 0)
            return err;
    }
    if (d->n_splits > 1)
        qsort(d->splits, d->n_splits, sizeof(*d->splits), cmp_split);
    return d->n_splits > 0;
}

/* Rules 3 and 4 over the data files under prefix (NULL: all). */
static int by_names(tc_datadir *d, const dd_scan *s, const char *prefix)
{
    dd_split *sp = NULL;
    size_t k;
    int err;

    d->rule = "file names";
    if ((err = sharded_splits(d, s, prefix)) != 0 ||
        (err = keyword_splits(d, s, prefix, dir_patterns, 4)) != 0 ||
        (err = keyword_splits(d, s, prefix, file_patterns, 2)) != 0)
        return err < 0 ? err : 0;
    d->rule = "all files as train";
    for (k = 0; k < s->n; k++) {
        const char *rel = s->fmt[k] != FMT_NONE ? under(s->rel[k], prefix) : NULL;

        if (!rel || !pattern_matches("**", rel))
            continue;
        if ((!sp && (err = add_split(d, "train", &sp)) < 0) || (err = split_add_file(sp, k)) < 0)
            return err;
    }
    if (!sp)
        return tc_error_set(TC_ENOTFOUND, "no data files (" DATA_EXTENSIONS ") in '%s%s%s'",
                            d->path, prefix ? "/" : "", prefix ? prefix : "");
    return 0;
}

/* ---- open ----------------------------------------------------------------------------- */

static int read_card(tc_datadir *d)
{
    char path[TC_DATADIR_MAX_PATH + 16], *text = NULL;
    size_t len = 0;
    struct stat st;
    int err;

    snprintf(path, sizeof(path), "%s/README.md", d->path);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if ((err = tc__read_file(path, TC_DATADIR_MAX_CARD_BYTES, &text, &len)) < 0)
        return err;
    err = tc__card_parse(&d->card, text, len, path);
    tc_free(text);
    return err;
}

/* The chosen config's dataset_info, and each split's num_examples from it. */
static void pick_info(tc_datadir *d)
{
    const tc__card *c = d->card;
    size_t k, j;

    for (k = 0; c && k < c->n_infos && !d->info; k++) {
        const char *name = c->infos[k].config_name;

        if (name ? strcmp(name, d->config) == 0 : c->n_infos == 1)
            d->info = &c->infos[k];
    }
    for (k = 0; d->info && k < d->n_splits; k++)
        for (j = 0; j < d->info->n_splits; j++)
            if (strcmp(d->info->split_names[j], d->splits[k].name) == 0)
                d->splits[k].examples = d->info->split_examples[j];
}

static int default_config_only(tc_datadir *d, const char *wanted)
{
    static const char *const names[] = {"default"};

    if (wanted && strcmp(wanted, "default") != 0)
        return config_error(d->path, wanted, names, 1);
    return (d->config = tc_strdup("default")) ? 0 : TC_ENOMEM;
}

static int find_layout(tc_datadir *d, const dd_scan *s, const char *wanted)
{
    int err;

    if (d->card && d->card->has_configs)
        return rule_card(d, s, wanted);
    if (s->n_data == 0)
        return tc_error_set(TC_ENOTFOUND, "no data files (" DATA_EXTENSIONS ") in '%s'", d->path);
    if ((err = rule_converter(d, s, wanted)) != 0)
        return err < 0 ? err : 0;
    if ((err = default_config_only(d, wanted)) < 0)
        return err;
    return by_names(d, s, NULL);
}

static int open_root(tc_datadir *d, const char *dir)
{
    char real[PATH_MAX];
    struct stat st;

    if (!realpath(dir, real) || stat(real, &st) != 0)
        return tc_error_set(errno == ENOENT || errno == ENOTDIR ? TC_ENOTFOUND : TC_EIO,
                            "cannot open dataset folder '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tc_error_set(TC_ENOTFOUND, "dataset folder '%s' is not a directory", dir);
    d->path = tc_strdup(real);
    return d->path ? 0 : TC_ENOMEM;
}

int tc_datadir_open(tc_datadir **out, const char *dir, const char *config)
{
    tc_datadir *d = NULL;
    dd_scan *s = NULL;
    size_t k;
    int err;

    TC_ASSERT_ARG(out && dir);
    if (!(d = tc_calloc(1, sizeof(*d))) || !(s = tc_calloc(1, sizeof(*s)))) {
        err = TC_ENOMEM;
        goto out;
    }
    if ((err = open_root(d, dir)) < 0 || (err = read_card(d)) < 0 ||
        (err = scan_folder(s, d->path)) < 0 || (err = find_layout(d, s, config)) < 0)
        goto out;
    for (k = 0; k < d->n_splits; k++)
        if ((err = split_finish(d, s, &d->splits[k])) < 0)
            goto out;
    pick_info(d);
    *out = d;
    d = NULL;
out:
    if (s)
        scan_dispose(s);
    tc_free(s);
    tc_datadir_free(d);
    return err;
}

void tc_datadir_free(tc_datadir *d)
{
    size_t k, j;

    if (!d)
        return;
    for (k = 0; k < d->n_splits; k++) {
        for (j = 0; j < d->splits[k].n_files; j++)
            tc_free(d->splits[k].files[j]);
        tc_free(d->splits[k].files);
        tc_free(d->splits[k].idx);
        tc_free(d->splits[k].name);
    }
    tc_free(d->splits);
    tc_free(d->path);
    tc_free(d->config);
    tc__card_free(d->card);
    tc_free(d);
}

const char *tc_datadir_path(const tc_datadir *d)
{
    return d ? d->path : NULL;
}

const char *tc_datadir_config(const tc_datadir *d)
{
    return d ? d->config : NULL;
}

const char *tc_datadir_rule(const tc_datadir *d)
{
    return d ? d->rule : NULL;
}

size_t tc_datadir_split_count(const tc_datadir *d)
{
    return d ? d->n_splits : 0;
}

const char *tc_datadir_split_name(const tc_datadir *d, size_t i)
{
    return d && i < d->n_splits ? d->splits[i].name : NULL;
}

int tc_datadir_split_find(const tc_datadir *d, const char *name)
{
    size_t k;

    for (k = 0; d && name && k < d->n_splits; k++)
        if (strcmp(d->splits[k].name, name) == 0)
            return (int)k;
    return -1;
}

size_t tc_datadir_file_count(const tc_datadir *d, size_t split)
{
    return d && split < d->n_splits ? d->splits[split].n_files : 0;
}

const char *const *tc_datadir_files(const tc_datadir *d, size_t split)
{
    return d && split < d->n_splits ? (const char *const *)d->splits[split].files : NULL;
}

int64_t tc_datadir_split_examples(const tc_datadir *d, size_t split)
{
    return d && split < d->n_splits ? d->splits[split].examples : -1;
}

int tc_datadir_class_names(const char *const **out, int32_t *out_n, const tc_datadir *d,
                           const char *column)
{
    size_t k;

    TC_ASSERT_ARG(out && out_n && d && column);
    for (k = 0; d->info && k < d->info->n_features; k++) {
        const tc__card_feature *f = &d->info->features[k];

        if (!f->name || strcmp(f->name, column) != 0)
            continue;
        if (f->error)
            return tc_error_set(TC_EFORMAT, "%s", f->error);
        if (!f->has_class_label)
            break;
        *out = (const char *const *)f->names;
        *out_n = f->n_names;
        return 0;
    }
    return tc_error_set(TC_ENOTFOUND,
                        "the card of '%s' has no class_label names for column "
                        "'%s' (config '%s')",
                        d->path, column, d->config);
}
