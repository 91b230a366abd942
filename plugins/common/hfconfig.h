/*
 * hfconfig.h - what the bundled model plugins share for their Hugging Face
 * layout: label names copied from the data, id2label/label2id, and
 * config.json written as transformers writes it (json.dumps, indent 2).
 * Compiled into each plugin that uses it (not part of the SDK).
 */
#ifndef TC_PLUGINS_HFCONFIG_H
#define TC_PLUGINS_HFCONFIG_H

#include <cjson/cJSON.h>

#include <tc/plugin.h>

/* Add "num_labels", "id2label" and "label2id" to root; 0 on allocation failure. */
int hf_add_labels(cJSON *root, char *const *names, int32_t n);

/* Add "architectures": [arch] and "model_type"; 0 on allocation failure. */
int hf_add_arch(cJSON *root, const char *arch, const char *model_type);

/* Write root as DIR/config.json, atomically. */
int hf_write_config(const char *dir, const cJSON *root);

/*
 * Finish a config.json built with `ok = ok && cJSON_Add...` steps: write it
 * when ok (else TC_ENOMEM) and delete root either way.
 */
int hf_finish_config(const char *dir, cJSON *root, int ok);

/* Read DIR/name as JSON (at most 16 MiB) into *out (cJSON_Delete). */
int hf_read_json(cJSON **out, const char *dir, const char *name);

#endif /* TC_PLUGINS_HFCONFIG_H */
