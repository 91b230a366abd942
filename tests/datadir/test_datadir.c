/*
 * test_datadir.c - <tc/datadir.h>: each case builds a small dataset folder under $TMPDIR
 * (mkdtemp), opens it and checks the splits, files, config, rule and card values exactly.
 * Data file contents do not matter for the layout, except in the CSV case read back with
 * <tc/table.h>.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/datadir.h>
#include <tc/error.h>
#include <tc/table.h>

#include "datadir_internal.h"
#include "tc_test.h"

static char root[512];

static const char spam_card[] = "---\n"
                                "license: pddl\n"
                                "dataset_info:\n"
                                "  features:\n"
                                "  - name: text\n"
                                "    dtype: string\n"
                                "  - name: label\n"
                                "    dtype:\n"
                                "      class_label:\n"
                                "        names:\n"
                                "          '1': spam\n"
                                "          '0': ham\n"
                                "  splits:\n"
                                "  - name: train\n"
                                "    num_examples: 4837\n"
                                "  - name: test\n"
                                "    num_examples: 1209\n"
                                "configs:\n"
                                "- config_name: default\n"
                                "  data_files:\n"
                                "  - split: train\n"
                                "    path: data/train-*\n"
                                "  - split: test\n"
                                "    path: data/test-*\n"
                                "---\n"
                                "\n# SpamAssassin\n";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh empty folder in root. */
static void fresh(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(root, sizeof(root), "%s/datadir-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void cleanup(void)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write root/rel (and its directories) with text. */
static void mk(const char *rel, const char *text)
{
    char path[1024], dir[1024];
    char *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')))
        *slash = '\0';
    TC_CHECK_OK(tc_mkdir_p(dir));
    f = fopen(path, "wb");
    TC_CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

/* tc_datadir_open on root with config; NULL (after a failed check) when it fails. */
static tc_datadir *open_root(const char *config)
{
    tc_datadir *d = NULL;

    TC_CHECK_OK(tc_datadir_open(&d, root, config));
    return d;
}

/* The open fails with code and a message containing needle. */
static void check_fails(const char *config, int code, const char *needle)
{
    tc_datadir *d = NULL;

    TC_CHECK_ERR(tc_datadir_open(&d, root, config), code);
    TC_CHECK(d == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), needle);
    tc_datadir_free(d);
}

/* Split i is name, with exactly the files given (relative to the folder), NULL-ended. */
static void check_split(const tc_datadir *d, size_t i, const char *name, ...)
{
    const char *const *files = tc_datadir_files(d, i);
    const char *rel;
    char want[1024];
    size_t n = 0;
    va_list ap;

    TC_CHECK(tc_datadir_split_name(d, i) && strcmp(tc_datadir_split_name(d, i), name) == 0);
    TC_CHECK(tc_datadir_split_find(d, name) == (int)i);
    va_start(ap, name);
    while ((rel = va_arg(ap, const char *))) {
        snprintf(want, sizeof(want), "%s/%s", tc_datadir_path(d), rel);
        TC_CHECK(n < tc_datadir_file_count(d, i));
        if (n < tc_datadir_file_count(d, i) && strcmp(files[n], want) != 0) {
            fprintf(stderr, "split '%s' file %zu: '%s', expected '%s'\n", name, n, files[n], want);
            TC_CHECK(!"file as expected");
        }
        n++;
    }
    va_end(ap);
    TC_CHECK(tc_datadir_file_count(d, i) == n);
}

static void check_str(const char *got, const char *want)
{
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "got '%s', expected '%s'\n", got ? got : "(null)", want);
        TC_CHECK(!"string as expected");
    }
}

static void test_datadir_datadir__spam_card(void)
{
    const char *const *names = NULL;
    int32_t n = 0;
    tc_datadir *d;

    fresh();
    mk("README.md", spam_card);
    mk("data/train-00000-of-00001.parquet", "x");
    mk("data/test-00000-of-00001.parquet", "x");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "card configs");
        check_str(tc_datadir_config(d), "default");
        TC_CHECK(tc_datadir_split_count(d) == 2);
        check_split(d, 0, "train", "data/train-00000-of-00001.parquet", NULL);
        check_split(d, 1, "test", "data/test-00000-of-00001.parquet", NULL);
        TC_CHECK(tc_datadir_split_examples(d, 0) == 4837);
        TC_CHECK(tc_datadir_split_examples(d, 1) == 1209);
        TC_CHECK(tc_datadir_split_examples(d, 2) == -1);
        TC_CHECK(tc_datadir_split_find(d, "validation") == -1);
        TC_CHECK(tc_datadir_files(d, 2) == NULL && tc_datadir_file_count(d, 2) == 0);
        TC_CHECK_OK(tc_datadir_class_names(&names, &n, d, "label"));
        TC_CHECK(n == 2);
        if (n == 2) {
            check_str(names[0], "ham");
            check_str(names[1], "spam");
        }
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "text"), TC_ENOTFOUND);
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "nope"), TC_ENOTFOUND);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "'nope'");
    }
    tc_datadir_free(d);
    /* without the card: data/{split}-NNNNN-of-NNNNN names the splits */
    mk("README.md", "# no front matter\n");
    mk("data/extra-00000-of-00001.parquet", "x");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "file names");
        TC_CHECK(tc_datadir_split_count(d) == 3);
        check_split(d, 0, "train", "data/train-00000-of-00001.parquet", NULL);
        check_split(d, 1, "test", "data/test-00000-of-00001.parquet", NULL);
        check_split(d, 2, "extra", "data/extra-00000-of-00001.parquet", NULL);
        TC_CHECK(tc_datadir_split_examples(d, 0) == -1);
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "label"), TC_ENOTFOUND);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__top_csv_readable(void)
{
    tc_table *t = NULL;
    const tc_value *row = NULL;
    tc_datadir *d;

    fresh();
    mk("train.csv", "text,label\nhello,1\n");
    mk("test.csv", "text,label\nbye,0\n");
    mk("notes.txt", "not data");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "file names");
        check_str(tc_datadir_config(d), "default");
        TC_CHECK(tc_datadir_split_count(d) == 2);
        check_split(d, 0, "train", "train.csv", NULL);
        check_split(d, 1, "test", "test.csv", NULL);
        TC_CHECK_OK(tc_table_open(&t, tc_datadir_files(d, 0)[0], NULL));
        if (t) {
            TC_CHECK(tc_table_column_count(t) == 2);
            TC_CHECK(tc_table_next(t, &row) == 1);
            TC_CHECK(row && row[0].len == 5 && memcmp(row[0].str, "hello", 5) == 0);
        }
        tc_table_free(t);
    }
    tc_datadir_free(d);
    check_fails("other", TC_ENOTFOUND, "its configs: default");
    cleanup();
}

static void test_datadir_datadir__dir_names(void)
{
    tc_datadir *d;

    fresh();
    mk("train/b.csv", "x");
    mk("train/a.csv", "x");
    mk("train/sub/c.csv", "x");
    mk("dev/x.csv", "x");
    mk("test.csv", "x"); /* a keyword in a directory name wins: this file is in no split */
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "file names");
        TC_CHECK(tc_datadir_split_count(d) == 2);
        check_split(d, 0, "train", "train/a.csv", "train/b.csv", "train/sub/c.csv", NULL);
        check_split(d, 1, "validation", "dev/x.csv", NULL);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__keywords_in_names(void)
{
    tc_datadir *d;

    fresh();
    mk("my_data-validation.jsonl", "{}\n");
    mk("testing.tsv", "a\n");
    mk("data/train_0.csv", "a\n");
    mk("data/train_1.csv", "a\n");
    mk("fooTrainbar.csv", "a\n"); /* no delimiters: no split */
    mk("pretrained.csv", "a\n");  /* "train" inside a word: no split */
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "file names");
        TC_CHECK(tc_datadir_split_count(d) == 3);
        check_split(d, 0, "train", "data/train_0.csv", "data/train_1.csv", NULL);
        check_split(d, 1, "validation", "my_data-validation.jsonl", NULL);
        check_split(d, 2, "test", "testing.tsv", NULL);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__all_as_train(void)
{
    tc_datadir *d;

    fresh();
    mk("fooTrainbar.csv", "a\n");
    mk("Zeta.csv", "a\n");
    mk("a/b.csv", "a\n");
    mk(".hidden.csv", "a\n");
    mk(".git/x.csv", "a\n");
    mk("__pycache__/y.csv", "a\n");
    mk("config.json", "{}");
    mk("dataset_info.json", "{}");
    mk("README.md", "---\nlicense: mit\n---\n");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "all files as train");
        TC_CHECK(tc_datadir_split_count(d) == 1);
        check_split(d, 0, "train", "Zeta.csv", "a/b.csv", "fooTrainbar.csv", NULL);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__mixed_formats(void)
{
    fresh();
    mk("train.csv", "a\n");
    mk("train_2.parquet", "x");
    check_fails(NULL, TC_EFORMAT, "'train.csv' and 'train_2.parquet'");
    cleanup();
}

static void test_datadir_datadir__converter(void)
{
    tc_datadir *d;

    fresh();
    mk("default/train/0001.parquet", "x");
    mk("default/train/0000.parquet", "x");
    mk("default/partial-test/0000.parquet", "x");
    mk("default/validation/0000.parquet", "x");
    mk("default/partial-validation/0000.parquet", "x"); /* the full split wins */
    mk("other/train/0000.parquet", "x");
    mk(".gitattributes", "*.parquet filter=lfs");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "parquet-converter");
        check_str(tc_datadir_config(d), "default");
        TC_CHECK(tc_datadir_split_count(d) == 3);
        check_split(d, 0, "train", "default/train/0000.parquet", "default/train/0001.parquet",
                    NULL);
        check_split(d, 1, "validation", "default/validation/0000.parquet", NULL);
        check_split(d, 2, "test", "default/partial-test/0000.parquet", NULL);
    }
    tc_datadir_free(d);
    if ((d = open_root("other"))) {
        check_str(tc_datadir_config(d), "other");
        TC_CHECK(tc_datadir_split_count(d) == 1);
        check_split(d, 0, "train", "other/train/0000.parquet", NULL);
    }
    tc_datadir_free(d);
    check_fails("nope", TC_ENOTFOUND, "its configs: default, other");
    cleanup();
}

static void test_datadir_datadir__converter_old_names(void)
{
    tc_datadir *d;

    fresh();
    mk("plain_text/imdb-train-00001-of-00002.parquet", "x");
    mk("plain_text/imdb-train-00000-of-00002.parquet", "x");
    mk("plain_text/imdb-test.parquet", "x");
    mk("plain_text/imdb-unsupervised.parquet", "x");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "parquet-converter");
        check_str(tc_datadir_config(d), "plain_text");
        TC_CHECK(tc_datadir_split_count(d) == 3);
        check_split(d, 0, "train", "plain_text/imdb-train-00000-of-00002.parquet",
                    "plain_text/imdb-train-00001-of-00002.parquet", NULL);
        check_split(d, 1, "test", "plain_text/imdb-test.parquet", NULL);
        check_split(d, 2, "unsupervised", "plain_text/imdb-unsupervised.parquet", NULL);
    }
    tc_datadir_free(d);
    /* a file that does not fit the converter's names: the file-name rules */
    mk("plain_text/notes.csv", "a\n");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_rule(d), "file names");
        check_str(tc_datadir_config(d), "default");
    }
    tc_datadir_free(d);
    cleanup();
}

static const char two_configs[] = "---\n"
                                  "dataset_info:\n"
                                  "- config_name: a\n"
                                  "  features:\n"
                                  "  - name: label\n"
                                  "    class_label:\n"
                                  "      names: [neg, pos]\n"
                                  "- config_name: b\n"
                                  "  features:\n"
                                  "  - name: label\n"
                                  "    dtype:\n"
                                  "      class_label:\n"
                                  "        names:\n"
                                  "        - x\n"
                                  "        - y\n"
                                  "        - z\n"
                                  "  splits:\n"
                                  "  - name: eval\n"
                                  "    num_examples: 7\n"
                                  "configs:\n"
                                  "- config_name: a\n"
                                  "  data_files: a/*.csv\n"
                                  "- config_name: b\n"
                                  "  default: true\n"
                                  "  data_files:\n"
                                  "  - split: train\n"
                                  "    path: [b/y.csv, b/x.csv, \"b/*.csv\"]\n"
                                  "  - split: eval\n"
                                  "    path: b/e.jsonl\n"
                                  "- config_name: c\n"
                                  "  data_dir: sub\n"
                                  "- config_name: d\n"
                                  "  data_dir: sub\n"
                                  "  data_files:\n"
                                  "    dev: \"**/*.csv\"\n"
                                  "---\n";

static void test_datadir_datadir__config_by_name(void)
{
    const char *const *names = NULL;
    int32_t n = 0;
    tc_datadir *d;

    fresh();
    mk("README.md", two_configs);
    mk("a/1.csv", "a\n");
    mk("a/0.csv", "a\n");
    mk("b/x.csv", "a\n");
    mk("b/y.csv", "a\n");
    mk("b/e.jsonl", "{}\n");
    mk("sub/train.csv", "a\n");
    mk("sub/test.csv", "a\n");
    if ((d = open_root(NULL))) {
        check_str(tc_datadir_config(d), "b");
        check_str(tc_datadir_rule(d), "card configs");
        TC_CHECK(tc_datadir_split_count(d) == 2);
        check_split(d, 0, "train", "b/x.csv", "b/y.csv", NULL);
        check_split(d, 1, "eval", "b/e.jsonl", NULL);
        TC_CHECK(tc_datadir_split_examples(d, 1) == 7);
        TC_CHECK_OK(tc_datadir_class_names(&names, &n, d, "label"));
        TC_CHECK(n == 3 && names && strcmp(names[2], "z") == 0);
    }
    tc_datadir_free(d);
    if ((d = open_root("a"))) {
        check_str(tc_datadir_config(d), "a");
        check_split(d, 0, "train", "a/0.csv", "a/1.csv", NULL);
        TC_CHECK(tc_datadir_split_examples(d, 0) == -1);
        TC_CHECK_OK(tc_datadir_class_names(&names, &n, d, "label"));
        TC_CHECK(n == 2 && names && strcmp(names[0], "neg") == 0 && strcmp(names[1], "pos") == 0);
    }
    tc_datadir_free(d);
    if ((d = open_root("c"))) { /* data_dir without data_files: the file-name rules in it */
        check_str(tc_datadir_rule(d), "card configs");
        TC_CHECK(tc_datadir_split_count(d) == 2);
        check_split(d, 0, "train", "sub/train.csv", NULL);
        check_split(d, 1, "test", "sub/test.csv", NULL);
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "label"), TC_ENOTFOUND);
    }
    tc_datadir_free(d);
    if ((d = open_root("d"))) {
        TC_CHECK(tc_datadir_split_count(d) == 1);
        check_split(d, 0, "dev", "sub/test.csv", "sub/train.csv", NULL);
    }
    tc_datadir_free(d);
    check_fails("zzz", TC_ENOTFOUND, "its configs: a, b, c, d");
    cleanup();
}

static void test_datadir_datadir__no_default_config(void)
{
    fresh();
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files: x.csv\n"
                    "- config_name: y\n  data_files: y.csv\n---\n");
    mk("x.csv", "a\n");
    mk("y.csv", "a\n");
    check_fails(NULL, TC_ENOTFOUND, "name one of: x, y");
    cleanup();
}

static void test_datadir_datadir__snapshot_symlinks(void)
{
    char snap[600], target[700];
    tc_datadir *d = NULL;

    fresh();
    mk("blobs/aaa", "x");
    mk("blobs/bbb", "x");
    mk("blobs/ccc", spam_card);
    mk("snapshots/rev/data/.keep", "");
    snprintf(snap, sizeof(snap), "%s/snapshots/rev", root);
    snprintf(target, sizeof(target), "%s/data/train-00000-of-00001.parquet", snap);
    TC_CHECK(symlink("../../../blobs/aaa", target) == 0);
    snprintf(target, sizeof(target), "%s/data/test-00000-of-00001.parquet", snap);
    TC_CHECK(symlink("../../../blobs/bbb", target) == 0);
    snprintf(target, sizeof(target), "%s/README.md", snap);
    TC_CHECK(symlink("../../blobs/ccc", target) == 0);
    snprintf(target, sizeof(target), "%s/data/dangling-train.parquet", snap);
    TC_CHECK(symlink("../../../blobs/missing", target) == 0);
    snprintf(target, sizeof(target), "%s/loop", snap);
    TC_CHECK(symlink(".", target) == 0); /* a directory linking to itself: not walked twice */
    TC_CHECK_OK(tc_datadir_open(&d, snap, NULL));
    if (d) {
        check_str(tc_datadir_rule(d), "card configs");
        check_split(d, 0, "train", "data/train-00000-of-00001.parquet", NULL);
        check_split(d, 1, "test", "data/test-00000-of-00001.parquet", NULL);
        TC_CHECK(tc_datadir_split_examples(d, 0) == 4837);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__class_names_errors(void)
{
    const char *const *names = NULL;
    int32_t n = -1;
    tc_datadir *d;

    fresh();
    mk("train.csv", "a\n");
    mk("README.md", "---\n"
                    "dataset_info:\n"
                    "  features:\n"
                    "  - name: sparse\n"
                    "    dtype:\n"
                    "      class_label:\n"
                    "        names:\n"
                    "          '0': a\n"
                    "          '2': c\n"
                    "  - name: twice\n"
                    "    class_label:\n"
                    "      names: {0: a, 0: b}\n"
                    "  - name: plain\n"
                    "    dtype: int64\n"
                    "  - name: nested\n"
                    "    class_label:\n"
                    "      names: [[a], b]\n"
                    "---\n");
    if ((d = open_root(NULL))) {
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "sparse"), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "skip ids: id 2 with 2 names");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "line 9");
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "twice"), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "repeat id 0");
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "plain"), TC_ENOTFOUND);
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, "nested"), TC_EFORMAT);
        TC_CHECK(n == -1 && names == NULL);
        TC_CHECK_ERR(tc_datadir_class_names(&names, &n, d, NULL), TC_EINVAL);
    }
    tc_datadir_free(d);
    cleanup();
}

static void test_datadir_datadir__malformed_cards(void)
{
    fresh();
    mk("train.csv", "a\n");
    mk("README.md", "---\nlicense: mit\n");
    check_fails(NULL, TC_EFORMAT, "line 1: the front matter opened here has no closing");
    mk("README.md", "---\nlicense: mit\nconfigs: [a, b\ntags: x\n---\n");
    check_fails(NULL, TC_EFORMAT, "line 4: YAML error");
    mk("README.md", "---\nlicense: mit\nconfigs:\n  config_name: x\n---\n");
    check_fails(NULL, TC_EFORMAT, "line 4: configs is a mapping, expected a list");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files:\n    train: {a: b}\n---\n");
    check_fails(NULL, TC_EFORMAT, "data_files of split 'train' is mapping");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files:\n  - train.csv\n"
                    "  - split: test\n    path: t.csv\n---\n");
    check_fails(NULL, TC_EFORMAT, "line 5: an item of data_files is a string");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files:\n  - split: no-dash\n"
                    "    path: t.csv\n---\n");
    check_fails(NULL, TC_EFORMAT, "split name 'no-dash'");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files:\n"
                    "  - split: train\n    path: data/*.parquet\n---\n");
    check_fails(NULL, TC_ENOTFOUND, "README.md line 5: data_files pattern 'data/*.parquet'");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files: [train.csv, missing.csv]\n"
                    "---\n");
    check_fails(NULL, TC_ENOTFOUND, "'missing.csv'");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files: README.md\n---\n");
    check_fails(NULL, TC_ENOTFOUND, "only 'README.md'");
    mk("README.md", "---\nconfigs:\n- config_name: x\n  data_files: /etc/x.csv\n---\n");
    check_fails(NULL, TC_EUNSUPPORTED, "'/etc/x.csv'");
    mk("README.md", "---\n- a\n- b\n---\n");
    check_fails(NULL, TC_EFORMAT, "the front matter is a list");
    mk("README.md", "---\n\n---\ntext\n"); /* empty front matter: fine */
    tc_datadir_free(open_root(NULL));
    cleanup();
}

static void test_datadir_datadir__card_too_big(void)
{
    char *big = malloc(TC_DATADIR_MAX_CARD_BYTES + 2);

    fresh();
    mk("train.csv", "a\n");
    TC_CHECK(big != NULL);
    if (big) {
        memset(big, 'x', TC_DATADIR_MAX_CARD_BYTES + 1);
        big[TC_DATADIR_MAX_CARD_BYTES + 1] = '\0';
        mk("README.md", big);
        check_fails(NULL, TC_ERANGE, "README.md");
    }
    free(big);
    cleanup();
}

static void test_datadir_datadir__missing_and_empty(void)
{
    char path[600];
    tc_datadir *d = NULL;

    fresh();
    check_fails(NULL, TC_ENOTFOUND, "no data files (.parquet, .csv, .tsv, .jsonl, .ndjson, .json)");
    mk("README.md", "# hi\n");
    mk("notes.txt", "x");
    check_fails(NULL, TC_ENOTFOUND, "no data files");
    snprintf(path, sizeof(path), "%s/does-not-exist", root);
    TC_CHECK_ERR(tc_datadir_open(&d, path, NULL), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "does-not-exist");
    snprintf(path, sizeof(path), "%s/notes.txt", root);
    TC_CHECK_ERR(tc_datadir_open(&d, path, NULL), TC_ENOTFOUND);
    TC_CHECK_ERR(tc_datadir_open(NULL, root, NULL), TC_EINVAL);
    TC_CHECK(d == NULL);
    tc_datadir_free(NULL);
    cleanup();
}

static void test_datadir_datadir__glob(void)
{
    TC_CHECK(tc__glob_match("data/**", "data/a/b.csv") == 1);
    TC_CHECK(tc__glob_match("data/**", "data") == 0);
    TC_CHECK(tc__glob_match("**/train/**", "train/a.csv") == 1);
    TC_CHECK(tc__glob_match("**/train/**", "x/y/train/a/b.csv") == 1);
    TC_CHECK(tc__glob_match("**/train/**", "train.csv") == 0);
    TC_CHECK(tc__glob_match("*.csv", "a/b.csv") == 0);
    TC_CHECK(tc__glob_match("**/*.csv", "b.csv") == 1);
    TC_CHECK(tc__glob_match("a/**/b.csv", "a/b.csv") == 1);
    TC_CHECK(tc__glob_match("a/**/b.csv", "a/x/y/b.csv") == 1);
    TC_CHECK(tc__glob_match("d?ta/[tv]*", "data/train.csv") == 1);
    TC_CHECK(tc__glob_match("d?ta/[!tv]*", "data/train.csv") == 0);
    TC_CHECK(tc__glob_match("**/train[-._ 0-9]*", "my/train_01.csv") == 1);
    TC_CHECK(tc__glob_match("**/*[-._ 0-9]train[-._ 0-9]*", "fooTrainbar.csv") == 0);
}

static tc_test_case tests[] = {
    TC_TEST(test_datadir_datadir__spam_card),
    TC_TEST(test_datadir_datadir__top_csv_readable),
    TC_TEST(test_datadir_datadir__dir_names),
    TC_TEST(test_datadir_datadir__keywords_in_names),
    TC_TEST(test_datadir_datadir__all_as_train),
    TC_TEST(test_datadir_datadir__mixed_formats),
    TC_TEST(test_datadir_datadir__converter),
    TC_TEST(test_datadir_datadir__converter_old_names),
    TC_TEST(test_datadir_datadir__config_by_name),
    TC_TEST(test_datadir_datadir__no_default_config),
    TC_TEST(test_datadir_datadir__snapshot_symlinks),
    TC_TEST(test_datadir_datadir__class_names_errors),
    TC_TEST(test_datadir_datadir__malformed_cards),
    TC_TEST(test_datadir_datadir__card_too_big),
    TC_TEST(test_datadir_datadir__missing_and_empty),
    TC_TEST(test_datadir_datadir__glob),
};

TC_TEST_MAIN(tests)
