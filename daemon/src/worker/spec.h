/*
 * spec.h - job specs: a YAML mapping of sections (model, data, train, push)
 * to mappings of scalar values, plus --set overrides. Keys keep the line they
 * came from so errors can point at it.
 */
#ifndef TCD_SPEC_H
#define TCD_SPEC_H

#include <stddef.h>

#define TCD_SPEC_MAX_BYTES (1u << 20)
#define TCD_SPEC_MAX_KEYS 1024
#define TCD_SPEC_MAX_VALUE 4096

typedef struct tcd_spec_entry {
    char *section; /* "model", "data", "train", "push" */
    char *key;
    char *value;
    int line; /* 1-based line in the file, 0 for --set */
    int used; /* set by consumers; unused entries are reported */
} tcd_spec_entry;

typedef struct tcd_spec {
    char *path;
    tcd_spec_entry *entries;
    size_t n;
} tcd_spec;

/* Parse a YAML file. On error returns < 0 with a message in the tc error slot. */
int tcd_spec_load(tcd_spec *spec, const char *path);

/* Apply "section.key=value"; replaces an existing value or adds one. */
int tcd_spec_set(tcd_spec *spec, const char *assignment);

/* The entry for section.key, or NULL. */
tcd_spec_entry *tcd_spec_find(const tcd_spec *spec, const char *section, const char *key);

/* Where an entry came from, "spec.yaml:3" or "--set", in buf. */
const char *tcd_spec_where(const tcd_spec *spec, const tcd_spec_entry *e, char *buf, size_t cap);

/* A stable 64-bit hash of the spec's content (sorted entries, the push section left out),
 * as 16 hex digits. */
void tcd_spec_hash(const tcd_spec *spec, char out[17]);

/* The spec as YAML text (sections model, data, train, push; values double-quoted); free(). */
int tcd_spec_to_yaml(const tcd_spec *spec, char **out);

/* The name of the spec written beside a trained model. */
#define TCD_SPEC_FILE "tcd-spec.yaml"

void tcd_spec_dispose(tcd_spec *spec);

#endif /* TCD_SPEC_H */
