/*
 * datadir_internal.h - the dataset card parser and the glob matcher behind <tc/datadir.h>
 * (not installed). datadir_card.c reads README.md's YAML front matter into a tc__card;
 * datadir.c scans the folder and applies the layout rules.
 */
#ifndef TC_DATADIR_INTERNAL_H
#define TC_DATADIR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One split of a config's data_files: its patterns as written. */
typedef struct tc__card_split {
    char *name;
    char **patterns;
    size_t n_patterns;
    size_t line; /* README.md line of the split's entry */
} tc__card_split;

/* One item of the card's `configs:` list. */
typedef struct tc__card_config {
    char *name;
    int is_default;
    char *data_dir;     /* NULL when not given */
    int has_data_files; /* 0: lay out data_dir (or the folder) by the file-name rules */
    tc__card_split *splits;
    size_t n_splits;
    size_t line;
} tc__card_config;

/* One feature of dataset_info.features. */
typedef struct tc__card_feature {
    char *name;
    int has_class_label; /* a class_label with names */
    char **names;        /* names[id], n_names of them, when error is NULL */
    int32_t n_names;
    char *error; /* non-NULL: why the class_label's names are malformed (with the line) */
} tc__card_feature;

/* dataset_info (or one item of it when it is a list). */
typedef struct tc__card_info {
    char *config_name; /* NULL when not given */
    tc__card_feature *features;
    size_t n_features;
    char **split_names;
    int64_t *split_examples; /* -1 when a split has no num_examples */
    size_t n_splits;
} tc__card_info;

/* What datadir.c needs from a dataset card. */
typedef struct tc__card {
    int has_front_matter;
    int has_configs;
    tc__card_config *configs;
    size_t n_configs;
    tc__card_info *infos;
    size_t n_infos;
} tc__card;

/*
 * Parse a dataset card: README.md's text (len bytes, need not be NUL-terminated). A text
 * without front matter gives an empty card. where names the file in messages.
 * @return TC_OK (*out owned, tc__card_free); TC_EFORMAT with the line for a front matter
 *         that is not closed, a YAML error or configs/dataset_info of the wrong shape;
 *         TC_ERANGE past the limits of <tc/datadir.h>; TC_ENOMEM
 */
TC_INTERNAL int tc__card_parse(tc__card **out, const char *text, size_t len, const char *where);

/* Release a card. Accepts NULL. */
TC_INTERNAL void tc__card_free(tc__card *c);

/*
 * Whether path (relative, '/'-separated, no empty components) matches pattern: `*`, `?`
 * and `[...]` within a component (fnmatch(3)), `**` as a whole component for zero or more
 * components (one or more when it ends the pattern). 1 for a match, 0 for none, TC_ERANGE
 * for a pattern or path of over 64 components.
 */
TC_INTERNAL int tc__glob_match(const char *pattern, const char *path);

/* A split name as `datasets` takes it: \w+(\.\w+)* (bytes >= 0x80 count as word bytes). */
TC_INTERNAL int tc__split_name_ok(const char *s);

#endif /* TC_DATADIR_INTERNAL_H */
