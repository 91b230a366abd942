/*
 * test_text.c - the text data plugin, loaded from the build tree as the
 * worker loads it, on dataset folders written by the test; the training
 * corpus the host offers a model (tc_dataset_train_corpus); and the
 * trainer's group_by_length order, observed through a probe model plugin.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/ops.h>
#include <tc/plugin.h>
#include <tc/trainer.h>

#include "plugin_test.h"

/* Load the plugin and make a scratch directory once per process. */
static int setup(void)
{
    static const char *const plugins[] = {"text"};

    return plugin_test_setup("text", plugins, 1, NULL);
}

/* A fresh dataset folder under plugin_test_dir. */
static const char *folder(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", plugin_test_dir, name);
    mkdir(path, 0700);
    return path;
}

/* Open a dataset with kv option pairs (NULL-terminated). */
static int open_ds(tc_dataset **out, tc_options **opts, const char *const *kv)
{
    size_t n = 0;
    int err;

    while (kv[2 * n])
        n++;
    *out = NULL;
    if ((err = tc_options_parse(opts, tc_plugin_descriptor(plugin_test_plugins[0]), kv, n)) < 0)
        return err;
    err = tc_dataset_open(out, plugin_test_plugins[0], *opts, NULL);
    return err;
}

static const char *CARD = "---\n"
                          "dataset_info:\n"
                          "  features:\n"
                          "  - name: text\n"
                          "    dtype: string\n"
                          "  - name: label\n"
                          "    dtype:\n"
                          "      class_label:\n"
                          "        names:\n"
                          "          '0': ham\n"
                          "          '1': spam\n"
                          "---\n"
                          "# a card\n";

static void test_text__int_labels_and_card_names(void)
{
    const char *dir;
    tc_dataset *d = NULL;
    tc_options *o = NULL;
    const tc_data_info *info;
    int64_t idx[3] = {2, 0, 1};
    const char *texts[3];
    int32_t labels[3];
    char fp[128], fp2[128];

    if (setup() < 0)
        return;
    dir = folder("intlabels");
    plugin_test_write_file(dir, "README.md", CARD);
    plugin_test_write_file(dir, "train.csv", "text,label\nhello there,0\n\"buy, now\",1\n,0\n");
    plugin_test_write_file(dir, "test.csv", "label,text\n1,cheap pills\n0,lunch?\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (!d)
        goto out;
    info = tc_dataset_info(d);
    TC_CHECK(info->input == TC_INPUT_TEXT);
    TC_CHECK(info->text_fields == 1);
    TC_CHECK(info->num_labels == 2);
    TC_CHECK(info->label_names && !strcmp(info->label_names[0], "ham") &&
             !strcmp(info->label_names[1], "spam"));
    TC_CHECK(info->split_size[TC_SPLIT_TRAIN] == 3);
    TC_CHECK(info->split_size[TC_SPLIT_VALIDATION] == 0);
    TC_CHECK(info->split_size[TC_SPLIT_TEST] == 2);
    TC_CHECK(info->train_texts == NULL);
    TC_CHECK_OK(tc_dataset_read(d, TC_SPLIT_TRAIN, idx, 3, NULL, texts, labels));
    TC_CHECK(!strcmp(texts[0], "") && labels[0] == 0); /* an empty CSV cell: "" */
    TC_CHECK(!strcmp(texts[1], "hello there") && labels[1] == 0);
    TC_CHECK(!strcmp(texts[2], "buy, now") && labels[2] == 1);
    TC_CHECK_OK(tc_dataset_read(d, TC_SPLIT_TEST, idx + 1, 2, NULL, texts, labels));
    TC_CHECK(!strcmp(texts[0], "cheap pills") && labels[0] == 1);
    TC_CHECK(!strcmp(texts[1], "lunch?") && labels[1] == 0);
    TC_CHECK_ERR(tc_dataset_read(d, TC_SPLIT_TEST, idx, 1, NULL, texts, labels), TC_ERANGE);
    /* the fingerprint: 16 hex digits, the same for the same bytes, another for others */
    TC_CHECK_OK(tc_dataset_fingerprint(d, fp, sizeof(fp)));
    TC_CHECK(strlen(fp) == 16);
    tc_dataset_free(d);
    tc_options_free(o);
    d = NULL;
    o = NULL;
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
        TC_CHECK_OK(d ? tc_dataset_fingerprint(d, fp2, sizeof(fp2)) : TC_ERROR);
        TC_CHECK(!strcmp(fp, fp2));
    }
    tc_dataset_free(d);
    tc_options_free(o);
    d = NULL;
    o = NULL;
    plugin_test_write_file(dir, "test.csv", "label,text\n1,cheap pills\n0,lunch!\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
        TC_CHECK_OK(d ? tc_dataset_fingerprint(d, fp2, sizeof(fp2)) : TC_ERROR);
        TC_CHECK(strcmp(fp, fp2) != 0);
    }
out:
    tc_dataset_free(d);
    tc_options_free(o);
}

static void test_text__string_labels_pairs_and_splits(void)
{
    const char *dir;
    tc_dataset *d = NULL;
    tc_options *o = NULL;
    const tc_data_info *info;
    int64_t idx[2] = {0, 1};
    const char *texts[4];
    int32_t labels[2];

    if (setup() < 0)
        return;
    dir = folder("pairs");
    plugin_test_write_file(
        dir, "data/train.jsonl",
        "{\"premise\": \"a cat sits\", \"hypothesis\": \"an animal sits\", \"gold\": "
        "\"entailment\"}\n"
        "{\"premise\": \"it rains\", \"hypothesis\": \"it is dry\", \"gold\": "
        "\"contradiction\"}\n"
        "{\"premise\": \"x\", \"hypothesis\": \"y\", \"gold\": \"neutral\"}\n");
    plugin_test_write_file(dir, "data/dev.jsonl",
                           "{\"premise\": \"p\", \"hypothesis\": \"h\", \"gold\": \"neutral\"}\n");
    {
        const char *kv[] = {"dataset",      dir,    "text_column", "premise,hypothesis",
                            "label_column", "gold", NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (!d)
        goto out;
    info = tc_dataset_info(d);
    TC_CHECK(info->text_fields == 2);
    TC_CHECK(info->num_labels == 3);
    /* names sorted: contradiction, entailment, neutral */
    TC_CHECK(!strcmp(info->label_names[0], "contradiction") &&
             !strcmp(info->label_names[1], "entailment") &&
             !strcmp(info->label_names[2], "neutral"));
    TC_CHECK(info->split_size[TC_SPLIT_VALIDATION] == 1); /* dev is validation */
    TC_CHECK(info->split_size[TC_SPLIT_TEST] == 0);
    TC_CHECK_OK(tc_dataset_read(d, TC_SPLIT_TRAIN, idx, 2, NULL, texts, labels));
    TC_CHECK(!strcmp(texts[0], "a cat sits") && !strcmp(texts[2], "an animal sits"));
    TC_CHECK(!strcmp(texts[1], "it rains") && !strcmp(texts[3], "it is dry"));
    TC_CHECK(labels[0] == 1 && labels[1] == 0);
    tc_dataset_free(d);
    tc_options_free(o);
    d = NULL;
    o = NULL;
    /* the same with text_pair_column; given label names in another order; no validation */
    {
        const char *kv[] = {"dataset",
                            dir,
                            "text_column",
                            "premise",
                            "text_pair_column",
                            "hypothesis",
                            "label_column",
                            "gold",
                            "label_names",
                            "neutral, entailment,contradiction",
                            "validation_split",
                            "none",
                            "max_examples",
                            "2",
                            NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (!d)
        goto out;
    info = tc_dataset_info(d);
    TC_CHECK(info->text_fields == 2 && info->num_labels == 3);
    TC_CHECK(!strcmp(info->label_names[0], "neutral") &&
             !strcmp(info->label_names[1], "entailment"));
    TC_CHECK(info->split_size[TC_SPLIT_TRAIN] == 2 && info->split_size[TC_SPLIT_VALIDATION] == 0);
    TC_CHECK_OK(tc_dataset_read(d, TC_SPLIT_TRAIN, idx, 2, NULL, texts, labels));
    TC_CHECK(labels[0] == 1 && labels[1] == 2);
out:
    tc_dataset_free(d);
    tc_options_free(o);
}

static void check_open_fails(const char *const *kv, int code, const char *needle)
{
    tc_dataset *d = NULL;
    tc_options *o = NULL;

    TC_CHECK_ERR(open_ds(&d, &o, kv), code);
    TC_CHECK_STR_CONTAINS(tc_error_message(), needle);
    TC_CHECK(d == NULL);
    tc_options_free(o);
}

static void test_text__bad_input(void)
{
    const char *dir;
    char missing[300];

    if (setup() < 0)
        return;
    snprintf(missing, sizeof(missing), "%s/no-such-folder", plugin_test_dir);
    {
        const char *kv[] = {"dataset", missing, NULL};
        check_open_fails(kv, TC_ENOTFOUND, "is not a folder");
    }
    {
        const char *kv[] = {NULL};
        check_open_fails(kv, TC_EINVAL, "data.dataset is required");
    }
    dir = folder("bad-column");
    plugin_test_write_file(dir, "train.csv", "body,label\nhi,0\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_ENOTFOUND, "text");
    }
    {
        const char *kv[] = {"dataset", dir, "text_column", "body", "test_split", "heldout", NULL};
        check_open_fails(kv, TC_ENOTFOUND, "no split 'heldout'");
    }
    {
        const char *kv[] = {"dataset", dir, "text_column", "body", "train_split", "none", NULL};
        check_open_fails(kv, TC_EINVAL, "train_split cannot be 'none'");
    }
    {
        const char *kv[] = {"dataset", dir, "text_column", "a,b,c", NULL};
        check_open_fails(kv, TC_EINVAL, "two as 'a,b'");
    }
    dir = folder("null-label");
    plugin_test_write_file(dir, "train.jsonl",
                           "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": null}\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_EFORMAT, "row 2: the label ('label') is missing");
    }
    dir = folder("mixed-label");
    plugin_test_write_file(
        dir, "train.jsonl",
        "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \"x\"}\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_EFORMAT, "mixes names and numbers");
    }
    dir = folder("unknown-label");
    plugin_test_write_file(dir, "train.csv", "text,label\na,pos\nb,neg\n");
    plugin_test_write_file(dir, "test.csv", "text,label\nc,meh\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_EFORMAT, "label 'meh' is not one of the 2 classes");
    }
    {
        const char *kv[] = {"dataset", dir, "label_names", "pos,neg,pos", NULL};
        check_open_fails(kv, TC_EINVAL, "names 'pos' twice");
    }
    dir = folder("out-of-range");
    plugin_test_write_file(dir, "train.csv", "text,label\na,0\nb,2\n");
    {
        const char *kv[] = {"dataset", dir, "label_names", "x,y", NULL};
        check_open_fails(kv, TC_EFORMAT, "label 2, but there are 2 classes");
    }
    dir = folder("text-number");
    plugin_test_write_file(dir, "train.jsonl", "{\"text\": 5, \"label\": 0}\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_EFORMAT, "non-text value");
    }
    dir = folder("empty-train");
    plugin_test_write_file(dir, "train.csv", "text,label\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        check_open_fails(kv, TC_EFORMAT, "the train split has no rows");
    }
}

/* GLUE-style test labels of -1 are read as TC_IGNORE_INDEX. */
static void test_text__negative_labels_are_ignored(void)
{
    const char *dir;
    tc_dataset *d = NULL;
    tc_options *o = NULL;
    int64_t idx[2] = {0, 1};
    const char *texts[2];
    int32_t labels[2];

    if (setup() < 0)
        return;
    dir = folder("glue");
    plugin_test_write_file(dir, "train.tsv", "sentence\tlabel\ngood\t1\nbad\t0\n");
    plugin_test_write_file(dir, "test.tsv", "sentence\tlabel\nunknown\t-1\nfine\t1\n");
    {
        const char *kv[] = {"dataset", dir, "text_column", "sentence", NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (d) {
        TC_CHECK(tc_dataset_info(d)->num_labels == 2);
        TC_CHECK_OK(tc_dataset_read(d, TC_SPLIT_TEST, idx, 2, NULL, texts, labels));
        TC_CHECK(labels[0] == TC_IGNORE_INDEX && labels[1] == 1);
    }
    tc_dataset_free(d);
    tc_options_free(o);
}

/* A cache snapshot's fingerprint is its commit. */
static void test_text__snapshot_fingerprint(void)
{
    char dir[512], fp[128];
    tc_dataset *d = NULL;
    tc_options *o = NULL;
    const char *sha = "0123456789abcdef0123456789abcdef01234567";

    if (setup() < 0)
        return;
    snprintf(dir, sizeof(dir), "%s/datasets--org--x", plugin_test_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/datasets--org--x/snapshots", plugin_test_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/datasets--org--x/snapshots/%s", plugin_test_dir, sha);
    mkdir(dir, 0700);
    plugin_test_write_file(dir, "train.csv", "text,label\na,0\nb,1\n");
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    TC_CHECK_OK(d ? tc_dataset_fingerprint(d, fp, sizeof(fp)) : TC_ERROR);
    TC_CHECK(d && !strcmp(fp, sha));
    tc_dataset_free(d);
    tc_options_free(o);
}

/* The corpus holds exactly the training examples: train less the held-out validation. */
static void test_text__train_corpus(void)
{
    const char *dir;
    tc_dataset *d = NULL;
    tc_options *o = NULL;
    tc_text_corpus *c = NULL;
    tc_train_config cfg;
    char csv[8192];
    size_t len;
    int i, seen[100] = {0}, n_seen = 0;
    const char *texts[300];

    if (setup() < 0)
        return;
    dir = folder("corpus");
    len = (size_t)snprintf(csv, sizeof(csv), "text,label\n");
    for (i = 0; i < 100; i++)
        len += (size_t)snprintf(csv + len, sizeof(csv) - len, "t%d,%d\n", i, i % 2);
    plugin_test_write_file(dir, "train.csv", csv);
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (!d)
        goto out;
    TC_CHECK_OK(tc_train_config_init(&cfg, TC_TRAIN_CONFIG_VERSION));
    cfg.val_fraction = 0.2f;
    TC_CHECK_OK(tc_dataset_train_corpus(&c, d, &cfg));
    if (!c)
        goto out;
    TC_CHECK(c->n == 80 && c->fields == 1 && c->max_read >= 1);
    for (i = 0; i < c->n; i += (int)c->max_read) {
        int64_t n = c->n - i < c->max_read ? c->n - i : c->max_read, k;
        TC_CHECK_OK(c->read(c->ctx, i, n, texts));
        for (k = 0; k < n; k++) {
            int id = (int)strtol(texts[k] + 1, NULL, 10);
            if (id >= 0 && id < 100 && !seen[id]++)
                n_seen++;
        }
    }
    TC_CHECK(n_seen == 80); /* 80 distinct examples */
    TC_CHECK_ERR(c->read(c->ctx, 79, 2, texts), TC_ERANGE);
    tc_text_corpus_free(c);
    c = NULL;
    /* no held-out part: all 100 */
    cfg.val_fraction = 0.0f;
    TC_CHECK_OK(tc_dataset_train_corpus(&c, d, &cfg));
    TC_CHECK(c && c->n == 100);
out:
    tc_text_corpus_free(c);
    tc_dataset_free(d);
    tc_options_free(o);
}

/* ---- group_by_length, seen by the probe model (tests/plugins/lenprobe.c) ---------------- */

typedef void (*probe_reset_fn)(void);
typedef const int64_t *(*probe_log_fn)(int64_t *n);

static void run_probe(int group, const int64_t **log, int64_t *n)
{
    tc_plugin *probe = NULL;
    tc_dataset *d = NULL;
    tc_options *o = NULL, *mo = NULL;
    tc_model *m = NULL;
    tc_train_config cfg;
    tc_train_result res;
    const char *dir = folder("lengths");
    char csv[65536];
    size_t len;
    int i, k;
    void *h;

    *log = NULL;
    *n = 0;
    len = (size_t)snprintf(csv, sizeof(csv), "text,label\n");
    for (i = 0; i < 200; i++) {
        int words = 1 + (i * 37) % 50;
        for (k = 0; k < words; k++)
            len += (size_t)snprintf(csv + len, sizeof(csv) - len, "w ");
        len += (size_t)snprintf(csv + len, sizeof(csv) - len, ",%d\n", i % 2);
    }
    plugin_test_write_file(dir, "train.csv", csv);
    TC_CHECK_OK(tc_plugin_load(&probe, LENPROBE_PATH));
    h = dlopen(LENPROBE_PATH, RTLD_NOW | RTLD_NOLOAD);
    TC_CHECK(h != NULL);
    if (!probe || !h)
        goto out;
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    TC_CHECK_OK(tc_options_parse(&mo, tc_plugin_descriptor(probe), NULL, 0));
    if (!d || !mo)
        goto out;
    TC_CHECK_OK(tc_model_create(&m, probe, mo, tc_dataset_info(d), 1, NULL));
    TC_CHECK_OK(tc_train_config_init(&cfg, TC_TRAIN_CONFIG_VERSION));
    cfg.epochs = 1;
    cfg.batch_size = 4;
    cfg.val_fraction = 0.0f;
    cfg.group_by_length = group;
    ((probe_reset_fn)dlsym(h, "lenprobe_reset"))();
    memset(&res, 0, sizeof(res));
    TC_CHECK_OK(m ? tc_train(m, d, &cfg, NULL, &res) : TC_ERROR);
    tc_train_result_dispose(&res);
    *log = ((probe_log_fn)dlsym(h, "lenprobe_log"))(n);
out:
    tc_model_free(m);
    tc_options_free(mo);
    tc_dataset_free(d);
    tc_options_free(o);
    tc_plugin_free(probe);
}

static void test_text__group_by_length(void)
{
    const int64_t *log;
    int64_t n, i, falls = 0, rises = 0;

    if (setup() < 0)
        return;
    /* the log holds every training text's length in batch order (then the evaluation's) */
    run_probe(1, &log, &n);
    TC_CHECK(n >= 200);
    for (i = 1; log && i < 200; i++)
        rises += log[i] > log[i - 1];
    TC_CHECK(rises == 0); /* 200 examples < one megabatch of 50 * 4: longest first throughout */
    run_probe(0, &log, &n);
    for (i = 1; log && i < 200; i++)
        falls += log[i]<log[i - 1], rises += log[i]> log[i - 1];
    TC_CHECK(falls > 50 && rises > 50); /* shuffled */
}

/* tc_evaluate on a split, with the probe model's logits fixed to (0, 1): everything is class 1. */
static void test_text__evaluate(void)
{
    tc_plugin *probe = NULL;
    tc_dataset *d = NULL;
    tc_options *o = NULL, *mo = NULL;
    tc_model *m = NULL;
    tc_confusion *conf = NULL;
    tc_tensor *bias;
    const char *dir;
    double loss = 0.0, want;

    if (setup() < 0)
        return;
    dir = folder("evaluate");
    plugin_test_write_file(dir, "train.csv", "text,label\na,0\nb,1\nc,1\n");
    plugin_test_write_file(dir, "test.csv", "text,label\nd,0\ne,0\nf,1\ng,-1\n");
    TC_CHECK_OK(tc_plugin_load(&probe, LENPROBE_PATH));
    {
        const char *kv[] = {"dataset", dir, NULL};
        TC_CHECK_OK(open_ds(&d, &o, kv));
    }
    if (!probe || !d)
        goto out;
    TC_CHECK_OK(tc_options_parse(&mo, tc_plugin_descriptor(probe), NULL, 0));
    TC_CHECK_OK(tc_model_create(&m, probe, mo, tc_dataset_info(d), 1, NULL));
    if (!m)
        goto out;
    bias = tc_params_find(tc_model_params(m), "bias");
    TC_CHECK(bias && bias->numel == 2);
    if (!bias)
        goto out;
    bias->data[0] = 0.0f;
    bias->data[1] = 1.0f;
    TC_CHECK_OK(tc_confusion_new(&conf, 2));
    TC_CHECK_OK(tc_evaluate(m, d, TC_SPLIT_TEST, 3, conf, &loss));
    /* the unlabelled row (-1) is not counted */
    TC_CHECK(tc_confusion_total(conf) == 3);
    TC_CHECK(tc_confusion_count(conf, 0, 1) == 2 && tc_confusion_count(conf, 1, 1) == 1);
    TC_CHECK(tc_confusion_count(conf, 0, 0) == 0 && tc_confusion_count(conf, 1, 0) == 0);
    want = (2.0 * log1p(exp(1.0)) + log1p(exp(-1.0))) / 3.0;
    TC_CHECK_NEAR(loss, want, 1e-6);
    TC_CHECK_ERR(tc_evaluate(m, d, TC_SPLIT_VALIDATION, 0, conf, &loss), TC_EINVAL);
out:
    tc_confusion_free(conf);
    tc_model_free(m);
    tc_options_free(mo);
    tc_dataset_free(d);
    tc_options_free(o);
    tc_plugin_free(probe);
}

static const tc_test_case tests[] = {
    TC_TEST(test_text__int_labels_and_card_names),
    TC_TEST(test_text__string_labels_pairs_and_splits),
    TC_TEST(test_text__bad_input),
    TC_TEST(test_text__negative_labels_are_ignored),
    TC_TEST(test_text__snapshot_fingerprint),
    TC_TEST(test_text__train_corpus),
    TC_TEST(test_text__group_by_length),
    TC_TEST(test_text__evaluate),
};

TC_TEST_MAIN(tests)
