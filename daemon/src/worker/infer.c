/*
 * infer.c - a trained model used from a folder: `tcd-worker forward` and
 * `tcd-worker predict`.
 *
 *   tcd-worker forward --model DIR [--batch N]
 *       stdin:  {"input_ids": [101, ...], "attention_mask": [1, ...], "token_type_ids": [...]}
 *       stdout: {"logits": [...]}
 *   tcd-worker predict --model DIR [--batch N]
 *       stdin:  {"text": "...", "text_pair": "..."}      (text_pair optional)
 *       stdout: {"label": "spam", "id": 1, "scores": [...], "logits": [...]}
 *
 * DIR is a model folder in Hugging Face layout: a tcd output (config.json,
 * model.safetensors, tcd-spec.yaml, tokenizer files) or a checkpoint from the
 * Hub with a config.json whose model_type is distilbert or bert. The model
 * plugin and its options come from DIR/tcd-spec.yaml (the spec the model was
 * trained with) when present, else from model_type; the plugin's "from" or
 * "tokenizer" option points at DIR, and the labels are config.json's
 * id2label. Evaluation mode: no dropout. Lines are read in batches of --batch
 * (default 32); each line gives one output line, in order. scores are the
 * softmax of the logits. A bad line stops the run with a message naming it
 * (the lines before it were written): exit 1; usage errors exit 2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include <tc/ops.h>
#include <tc/tokenizer.h>
#include <tc/trainer.h>

#include "lines.h"
#include "spec.h"
#include "worker.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define INFER_MAX_LINE ((size_t)16 << 20)
#define INFER_MAX_BATCH 4096
#define INFER_MAX_SEQ 65536

typedef struct infer {
    tc_plugin *plugin;
    tc_options *opts;
    tc_model *model;
    char **names;
    int32_t L;
} infer;

static void infer_close(infer *x)
{
    int32_t i;

    tc_model_free(x->model);
    tc_options_free(x->opts);
    tc_plugin_free(x->plugin);
    for (i = 0; x->names && i < x->L; i++)
        free(x->names[i]);
    free(x->names);
    memset(x, 0, sizeof(*x));
}

/* config.json's id2label as names[0..L-1]; ids must be 0..L-1. */
static int read_labels(infer *x, const cJSON *cfg, const char *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cfg, "id2label"), *e;
    int32_t n = cJSON_GetArraySize(m), id;
    char *end;

    if (!cJSON_IsObject(m) || n < 1 || n > TC_DATA_MAX_LABELS)
        return tc_error_set(TC_EFORMAT, "%s has no id2label (the model's class names)", path);
    if (!(x->names = calloc((size_t)n, sizeof(char *))))
        return TC_ENOMEM;
    x->L = n;
    cJSON_ArrayForEach(e, m)
    {
        id = (int32_t)strtol(e->string, &end, 10);
        if (*end || id < 0 || id >= n || x->names[id] || !cJSON_IsString(e))
            return tc_error_set(TC_EFORMAT,
                                "%s: id2label key '%s' is not one of 0..%d once, "
                                "with a string name",
                                path, e->string, n - 1);
        if (!(x->names[id] = strdup(e->valuestring)))
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* The plugin name and option pairs: from DIR/tcd-spec.yaml, else from model_type. */
static int pick_plugin(infer *x, const char *dir, const cJSON *cfg, tcd_spec *spec, const char **kv,
                       size_t *n_kv, const char **plugin)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "model_type"));
    char path[4096];
    struct stat st;
    size_t i;
    int err;

    (void)x;
    *n_kv = 0;
    snprintf(path, sizeof(path), "%s/" TCD_SPEC_FILE, dir);
    if (stat(path, &st) == 0) {
        tcd_spec_entry *pe;
        if ((err = tcd_spec_load(spec, path)) < 0)
            return err;
        if (!(pe = tcd_spec_find(spec, "model", "plugin")))
            return tc_error_set(TC_EFORMAT, "%s has no model.plugin", path);
        *plugin = pe->value;
        for (i = 0; i < spec->n; i++) {
            const tcd_spec_entry *e = &spec->entries[i];
            if (strcmp(e->section, "model") || e == pe || !strcmp(e->key, "from") ||
                !strcmp(e->key, "revision") || !strcmp(e->key, "tokenizer") ||
                !strcmp(e->key, "vectors"))
                continue;
            kv[2 * *n_kv] = e->key;
            kv[2 * *n_kv + 1] = e->value;
            (*n_kv)++;
        }
        return TC_OK;
    }
    if (type && (!strcmp(type, "distilbert") || !strcmp(type, "bert"))) {
        *plugin = type;
        return TC_OK;
    }
    return tc_error_set(TC_EUNSUPPORTED,
                        "%s: model_type '%s' without a tcd-spec.yaml; tcd-worker reads "
                        "distilbert and bert checkpoints and the models tcd trained",
                        dir, type ? type : "(none)");
}

static int infer_open(infer *x, const char *dir)
{
    cJSON *cfg = NULL;
    tcd_spec spec;
    const char *kv[2 * 64 + 8], *name = NULL;
    char *path = NULL, cfgpath[4096];
    size_t n = 0;
    tc_data_info info;
    int err;

    memset(x, 0, sizeof(*x));
    memset(&spec, 0, sizeof(spec));
    snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", dir);
    {
        FILE *f = fopen(cfgpath, "rb");
        char *text;
        long len;
        if (!f)
            return tc_error_set(TC_ENOTFOUND, "cannot read '%s': is --model a model folder?",
                                cfgpath);
        if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || len > (16 << 20) ||
            fseek(f, 0, SEEK_SET) < 0 || !(text = malloc((size_t)len + 1))) {
            fclose(f);
            return tc_error_set(TC_EIO, "cannot read '%s'", cfgpath);
        }
        if (fread(text, 1, (size_t)len, f) != (size_t)len) {
            fclose(f);
            free(text);
            return tc_error_set(TC_EIO, "cannot read '%s'", cfgpath);
        }
        fclose(f);
        cfg = cJSON_ParseWithLength(text, (size_t)len);
        free(text);
        if (!cfg)
            return tc_error_set(TC_EFORMAT, "'%s' is not valid JSON", cfgpath);
    }
    if ((err = read_labels(x, cfg, cfgpath)) < 0)
        goto out;
    if ((err = pick_plugin(x, dir, cfg, &spec, kv, &n, &name)) < 0)
        goto out;
    if (n > 64) {
        err = tc_error_set(TC_ERANGE, "%s/" TCD_SPEC_FILE ": too many model options", dir);
        goto out;
    }
    if ((err = tc_plugin_find(&path, name, NULL)) < 0 ||
        (err = tc_plugin_load(&x->plugin, path)) < 0)
        goto out;
    if (tc_plugin_descriptor(x->plugin)->kind != TC_PLUGIN_MODEL) {
        err = tc_error_set(TC_EINVAL, "plugin '%s' is not a model plugin", name);
        goto out;
    }
    /* the folder is the checkpoint and holds the vocabulary */
    if (tcd_plugin_option(x->plugin, "from")) {
        kv[2 * n] = "from";
        kv[2 * n++ + 1] = dir;
    } else if (tcd_plugin_option(x->plugin, "tokenizer")) {
        kv[2 * n] = "tokenizer";
        kv[2 * n++ + 1] = dir;
    }
    if ((err = tc_options_parse(&x->opts, tc_plugin_descriptor(x->plugin), kv, n)) < 0)
        goto out;
    memset(&info, 0, sizeof(info));
    info.input = TC_INPUT_TEXT;
    info.num_labels = x->L;
    info.label_names = (const char *const *)x->names;
    info.split_size[TC_SPLIT_TRAIN] = 1;
    info.text_fields = 1;
    if ((err = tc_model_create(&x->model, x->plugin, x->opts, &info, 0, NULL)) < 0)
        goto out;
    err = tc_model_load_pretrained(x->model, dir);
out:
    tc_free(path);
    tcd_spec_dispose(&spec);
    cJSON_Delete(cfg);
    if (err < 0)
        infer_close(x);
    return err;
}

/* ---- batches of lines --------------------------------------------------------------------- */

typedef struct pending {
    cJSON **docs; /* parsed lines */
    int64_t n;
} pending;

/* An int array member of a line, or NULL with *n = -1 when absent. */
static int int_array(const cJSON *doc, const char *key, int32_t **out, int64_t *n, size_t line)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(doc, key), *e;
    int64_t i = 0;

    *out = NULL;
    *n = -1;
    if (!a)
        return TC_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > INFER_MAX_SEQ)
        return tc_error_set(TC_EINVAL, "line %zu: \"%s\" must be an array of 1..%d integers", line,
                            key, INFER_MAX_SEQ);
    *n = cJSON_GetArraySize(a);
    if (!(*out = malloc((size_t)*n * sizeof(int32_t))))
        return TC_ENOMEM;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) ||
            fabs(e->valuedouble) > 2147483647.0) {
            free(*out);
            *out = NULL;
            return tc_error_set(TC_EINVAL, "line %zu: \"%s\"[%lld] is not an integer", line, key,
                                (long long)i);
        }
        (*out)[i++] = (int32_t)e->valuedouble;
    }
    return TC_OK;
}

static void put_floats(cJSON *o, const char *key, const float *v, int64_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    int64_t i;

    for (i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
}

/* Run one batch of parsed lines (first line number first_line) and print their results. */
static int run_batch(infer *x, tc_graph *g, pending *p, int predict, size_t first_line)
{
    int64_t B = p->n, T = 0, i, k;
    const char **texts = NULL, **pairs = NULL;
    int32_t *ids = NULL, *mask = NULL, *types = NULL;
    int any_pair = 0, any_types = 0;
    tc_tensor *logits = NULL;
    tc_batch b;
    int err = TC_OK;

    tc_graph_reset(g);
    memset(&b, 0, sizeof(b));
    b.size = B;
    if (predict) {
        texts = calloc((size_t)B, sizeof(char *));
        pairs = calloc((size_t)B, sizeof(char *));
        if (!texts || !pairs) {
            err = TC_ENOMEM;
            goto out;
        }
        for (i = 0; i < B; i++) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(p->docs[i], "text");
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(p->docs[i], "text_pair");
            if (!cJSON_IsString(t) || (q && !cJSON_IsString(q))) {
                err = tc_error_set(TC_EINVAL,
                                   "line %zu: expected {\"text\": \"...\"} (and an optional "
                                   "string \"text_pair\")",
                                   first_line + (size_t)i);
                goto out;
            }
            texts[i] = t->valuestring;
            pairs[i] = q ? q->valuestring : "";
            any_pair |= q != NULL;
        }
        b.texts = texts;
        b.pairs = any_pair ? pairs : NULL;
    } else {
        /* every line must have the same length (a padded batch); T from the first */
        for (i = 0; i < B; i++) {
            int32_t *a = NULL, *m = NULL, *t = NULL;
            int64_t na, nm, nt;
            size_t line = first_line + (size_t)i;
            if ((err = int_array(p->docs[i], "input_ids", &a, &na, line)) < 0 ||
                (err = int_array(p->docs[i], "attention_mask", &m, &nm, line)) < 0 ||
                (err = int_array(p->docs[i], "token_type_ids", &t, &nt, line)) < 0) {
                free(a), free(m), free(t);
                goto out;
            }
            if (na < 0 || (nm >= 0 && nm != na) || (nt >= 0 && nt != na) || (i > 0 && na != T)) {
                free(a), free(m), free(t);
                err = tc_error_set(TC_EINVAL,
                                   "line %zu: \"input_ids\" is required, \"attention_mask\" and "
                                   "\"token_type_ids\" must have its length, and every line of "
                                   "a batch the same length (pad them, or use --batch 1)",
                                   line);
                goto out;
            }
            if (i == 0) {
                T = na;
                ids = malloc((size_t)(B * T) * sizeof(int32_t));
                mask = malloc((size_t)(B * T) * sizeof(int32_t));
                types = calloc((size_t)(B * T), sizeof(int32_t));
                if (!ids || !mask || !types) {
                    free(a), free(m), free(t);
                    err = TC_ENOMEM;
                    goto out;
                }
            }
            for (k = 0; k < T; k++) {
                ids[i * T + k] = a[k];
                mask[i * T + k] = m ? m[k] : 1;
                types[i * T + k] = t ? t[k] : 0;
            }
            any_types |= t != NULL;
            free(a), free(m), free(t);
        }
        b.input_ids = ids;
        b.attention_mask = mask;
        b.token_type_ids = any_types ? types : NULL;
        b.seq_len = T;
    }
    if ((err = tc_model_forward(x->model, g, &b, &logits)) < 0) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        err = tc_error_set(err, "lines %zu..%zu: %s", first_line, first_line + (size_t)B - 1, msg);
        goto out;
    }
    for (i = 0; i < B; i++) {
        const float *row = logits->data + i * x->L;
        cJSON *o = cJSON_CreateObject();
        char *s;
        if (predict) {
            float mx = row[0], sum = 0.0f, *sc;
            int32_t best = 0, j;
            sc = malloc((size_t)x->L * sizeof(float));
            if (!sc) {
                cJSON_Delete(o);
                err = TC_ENOMEM;
                goto out;
            }
            for (j = 1; j < x->L; j++)
                if (row[j] > mx)
                    mx = row[j], best = j;
            for (j = 0; j < x->L; j++)
                sum += sc[j] = expf(row[j] - mx);
            for (j = 0; j < x->L; j++)
                sc[j] /= sum;
            cJSON_AddStringToObject(o, "label", x->names[best]);
            cJSON_AddNumberToObject(o, "id", best);
            put_floats(o, "scores", sc, x->L);
            free(sc);
        }
        put_floats(o, "logits", row, x->L);
        s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!s) {
            err = TC_ENOMEM;
            goto out;
        }
        puts(s);
        cJSON_free(s);
    }
out:
    free(texts);
    free(pairs);
    free(ids);
    free(mask);
    free(types);
    for (i = 0; i < p->n; i++)
        cJSON_Delete(p->docs[i]);
    p->n = 0;
    return err;
}

static void infer_usage(const char *cmd)
{
    fprintf(stderr, "usage: tcd-worker %s --model DIR [--batch N] < lines.jsonl\n", cmd);
}

int tcd_cmd_infer(int argc, char **argv, int predict)
{
    const char *cmd = predict ? "predict" : "forward", *dir = NULL;
    long batch = 32;
    infer x;
    tc_graph *g = NULL;
    tcd_lines r;
    pending p = {NULL, 0};
    size_t lineno = 0, first = 1;
    int i, got, rc = 0, err;

    for (i = 0; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = strtol(argv[++i], &end, 10);
            if (*end || batch < 1 || batch > INFER_MAX_BATCH) {
                fprintf(stderr, "tcd-worker %s: --batch must be 1..%d\n", cmd, INFER_MAX_BATCH);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "tcd-worker %s: unexpected argument '%s'\n", cmd, argv[i]);
            infer_usage(cmd);
            return EXIT_USAGE;
        }
    }
    if (!dir) {
        infer_usage(cmd);
        return EXIT_USAGE;
    }
    if (infer_open(&x, dir) < 0) {
        fprintf(stderr, "tcd-worker %s: %s\n", cmd, tc_error_message());
        return EXIT_FAILED;
    }
    if (tc_graph_new(&g, 0) < 0 || tcd_lines_init(&r, stdin) < 0 ||
        !(p.docs = calloc((size_t)batch, sizeof(cJSON *)))) {
        fprintf(stderr, "tcd-worker %s: out of memory\n", cmd);
        tc_graph_free(g);
        infer_close(&x);
        return EXIT_FAILED;
    }
    tc_graph_set_training(g, 0);
    for (;;) {
        got = tcd_lines_read(&r, INFER_MAX_LINE);
        if (got == 0)
            break;
        lineno++;
        if (got < 0) {
            fprintf(stderr, "tcd-worker %s: line %zu: %s\n", cmd, lineno,
                    got == -2 ? "longer than 16 MiB" : "out of memory");
            rc = EXIT_FAILED;
            break;
        }
        if (!(p.docs[p.n] = cJSON_ParseWithLength(r.line, r.line_len)) ||
            !cJSON_IsObject(p.docs[p.n])) {
            cJSON_Delete(p.docs[p.n]);
            p.docs[p.n] = NULL;
            if ((err = run_batch(&x, g, &p, predict, first)) < 0) {
                fprintf(stderr, "tcd-worker %s: %s\n", cmd, tc_error_message());
            } else {
                fprintf(stderr, "tcd-worker %s: line %zu is not a JSON object\n", cmd, lineno);
            }
            rc = EXIT_FAILED;
            break;
        }
        if (++p.n == batch) {
            if ((err = run_batch(&x, g, &p, predict, first)) < 0) {
                fprintf(stderr, "tcd-worker %s: %s\n", cmd, tc_error_message());
                rc = EXIT_FAILED;
                break;
            }
            first = lineno + 1;
        }
    }
    if (rc == 0 && p.n > 0 && run_batch(&x, g, &p, predict, first) < 0) {
        fprintf(stderr, "tcd-worker %s: %s\n", cmd, tc_error_message());
        rc = EXIT_FAILED;
    }
    for (i = 0; i < (int)p.n; i++)
        cJSON_Delete(p.docs[i]);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tcd-worker %s: cannot write stdout\n", cmd);
        rc = EXIT_FAILED;
    }
    free(p.docs);
    tcd_lines_dispose(&r);
    tc_graph_free(g);
    infer_close(&x);
    return rc;
}
