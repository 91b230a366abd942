/*
 * hfconfig.c - config.json and label maps for the bundled model plugins.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hfconfig.h"

#define HF_PATH_MAX 4096
#define HF_MAX_JSON ((long)16 << 20)

int hf_add_labels(cJSON *root, char *const *names, int32_t n)
{
    cJSON *id2label, *label2id;
    char key[16];
    int32_t i;

    if (!cJSON_AddNumberToObject(root, "num_labels", n))
        return 0;
    id2label = cJSON_AddObjectToObject(root, "id2label");
    label2id = cJSON_AddObjectToObject(root, "label2id");
    if (!id2label || !label2id)
        return 0;
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%d", (int)i);
        if (!cJSON_AddStringToObject(id2label, key, names[i]))
            return 0;
        /* Names are unique in practice; keep the first id if one repeats. */
        if (!cJSON_GetObjectItemCaseSensitive(label2id, names[i]) &&
            !cJSON_AddNumberToObject(label2id, names[i], i))
            return 0;
    }
    return 1;
}

int hf_add_arch(cJSON *root, const char *arch, const char *model_type)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "architectures");
    cJSON *item = cJSON_CreateString(arch);

    if (!arr || !item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return cJSON_AddStringToObject(root, "model_type", model_type) != NULL;
}

/* A growing text buffer; after an allocation failure it only records oom. */
typedef struct textbuf {
    char *p;
    size_t len, cap;
    int oom;
} textbuf;

static void tb_puts(textbuf *b, const char *s)
{
    size_t n = strlen(s);

    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 1024;
        char *np;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (!(np = tc_realloc(b->p, ncap))) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* A value (scalar or empty container) as compact JSON. */
static void tb_value(textbuf *b, const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);

    if (!s) {
        b->oom = 1;
        return;
    }
    tb_puts(b, s);
    cJSON_free(s);
}

/* A string as a JSON string literal, escaped by cJSON. */
static void tb_string(textbuf *b, const char *text)
{
    cJSON *tmp = cJSON_CreateString(text);

    if (!tmp) {
        b->oom = 1;
        return;
    }
    tb_value(b, tmp);
    cJSON_Delete(tmp);
}

/*
 * JSON laid out as Python's json.dumps(indent=2) does, which is how
 * transformers writes config.json: two-space indents, "key": value.
 */
static void tb_json(textbuf *b, const cJSON *item, int depth)
{
    const cJSON *c;
    int obj = cJSON_IsObject(item), i;

    if ((!obj && !cJSON_IsArray(item)) || !item->child) {
        tb_value(b, item);
        return;
    }
    tb_puts(b, obj ? "{\n" : "[\n");
    for (c = item->child; c; c = c->next) {
        for (i = 0; i <= depth; i++)
            tb_puts(b, "  ");
        if (obj) {
            tb_string(b, c->string);
            tb_puts(b, ": ");
        }
        tb_json(b, c, depth + 1);
        tb_puts(b, c->next ? ",\n" : "\n");
    }
    for (i = 0; i < depth; i++)
        tb_puts(b, "  ");
    tb_puts(b, obj ? "}" : "]");
}

int hf_write_config(const char *dir, const cJSON *root)
{
    textbuf text = {NULL, 0, 0, 0};
    char path[HF_PATH_MAX];
    int err;

    tb_json(&text, root, 0);
    tb_puts(&text, "\n");
    if (text.oom) {
        tc_free(text.p);
        return tc_error_set(TC_ENOMEM, "out of memory building config.json");
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/config.json", dir) >= sizeof(path))
        err = tc_error_set(TC_EINVAL, "path too long: '%s/config.json'", dir);
    else
        err = tc_write_file_atomic(path, text.p, text.len);
    tc_free(text.p);
    return err;
}

int hf_finish_config(const char *dir, cJSON *root, int ok)
{
    int err;

    if (!ok || !root) {
        cJSON_Delete(root);
        return tc_error_set(TC_ENOMEM, "out of memory building config.json");
    }
    err = hf_write_config(dir, root);
    cJSON_Delete(root);
    return err;
}

int hf_read_json(cJSON **out, const char *dir, const char *name)
{
    char path[HF_PATH_MAX], *text = NULL;
    long size;
    FILE *f;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return tc_error_set(TC_EINVAL, "path too long: '%s/%s'", dir, name);
    if (!(f = fopen(path, "rb")))
        return tc_error_set(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot read '%s': %s", path,
                            strerror(errno));
    if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        fclose(f);
        return tc_error_set(TC_EIO, "cannot read '%s'", path);
    }
    if (size > HF_MAX_JSON) {
        fclose(f);
        return tc_error_set(TC_ERANGE, "'%s' is %ld bytes (at most %ld)", path, size, HF_MAX_JSON);
    }
    if (!(text = tc_malloc((size_t)size + 1))) {
        fclose(f);
        return TC_ENOMEM;
    }
    if (fread(text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        tc_free(text);
        return tc_error_set(TC_EIO, "cannot read '%s'", path);
    }
    fclose(f);
    text[size] = '\0';
    *out = cJSON_ParseWithLength(text, (size_t)size);
    tc_free(text);
    if (!*out)
        return tc_error_set(TC_EFORMAT, "'%s' is not valid JSON", path);
    return TC_OK;
}
