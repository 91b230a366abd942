/*
 * labels.h - label names for the bundled plugins: parsing a label_names
 * option ("a, b,c") and copying the names a dataset reports. Compiled into
 * each plugin that uses it (not part of the SDK).
 */
#ifndef TC_PLUGINS_LABELS_H
#define TC_PLUGINS_LABELS_H

#include <tc/plugin.h>

#define LABELS_MAX_NAME 1024 /* bytes per name */

/*
 * Split "a, b,c" into *n trimmed names (spaces and tabs around each); every
 * name 1..LABELS_MAX_NAME bytes, unique, at most TC_DATA_MAX_LABELS of them.
 * option names the option in messages ("label_names").
 */
int labels_parse(char ***out, int32_t *n, const char *text, const char *option);

/* Copy n names (NULL or NULL entries read as "0", "1", ...) into *out. */
int labels_copy(char ***out, int32_t n, const char *const *src);

/* Release n names from labels_parse or labels_copy. Accepts NULL. */
void labels_free(char **names, int32_t n);

#endif /* TC_PLUGINS_LABELS_H */
