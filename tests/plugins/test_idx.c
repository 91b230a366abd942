/*
 * test_idx.c - the idx data plugin, loaded from the build tree as the worker
 * loads it. Fixtures are tiny IDX files (gzipped and plain) written into a
 * temporary directory by the test itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <tc/plugin.h>

#include "plugin_test.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist/"

static const tc_plugin_desc *desc;
static const tc_data_vtable *vt;

/* Five 2x3 images with pixel (i, j) = 40 * i + j, labels 0 1 2 1 0. */
#define N_TRAIN 5
static uint8_t train_px[N_TRAIN * 6];
static const uint8_t train_lab[N_TRAIN] = {0, 1, 2, 1, 0};

/* ---- fixtures ----------------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Write an IDX file: magic, dims, then len bytes of data (which may disagree
 * with the dims on purpose). gz selects gzip compression.
 */
static const char *write_idx(const char *name, int gz, uint32_t magic, const uint32_t *dims,
                             int ndim, const uint8_t *data, size_t len)
{
    static char paths[32][512];
    static int next;
    char *path = paths[next++ % 32];
    uint8_t hdr[4 + 16];
    int i;

    snprintf(path, 512, "%s/%s", plugin_test_dir, name);
    put_be32(hdr, magic);
    for (i = 0; i < ndim; i++)
        put_be32(hdr + 4 + 4 * i, dims[i]);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        TC_CHECK(f != NULL);
        if (!f)
            return path;
        TC_CHECK(gzwrite(f, hdr, (unsigned)(4 + 4 * ndim)) == 4 + 4 * ndim);
        if (len)
            TC_CHECK(gzwrite(f, data, (unsigned)len) == (int)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        TC_CHECK(f != NULL);
        if (!f)
            return path;
        TC_CHECK(fwrite(hdr, 1, (size_t)(4 + 4 * ndim), f) == (size_t)(4 + 4 * ndim));
        if (len)
            TC_CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    return path;
}

static const char *images_file(const char *name, int gz, uint32_t n, size_t len)
{
    uint32_t dims[3] = {n, 2, 3};
    return write_idx(name, gz, 0x00000803u, dims, 3, train_px, len);
}

static const char *labels_file(const char *name, int gz, uint32_t n, size_t len)
{
    uint32_t dims[1] = {n};
    return write_idx(name, gz, 0x00000801u, dims, 1, train_lab, len);
}

/* Open the plugin with up to 8 (name, value) pairs ending in NULL. */
static int open_with(void **out, const char *const *kv)
{
    tc_options *o = NULL;
    size_t n = 0;
    int err;

    while (kv[2 * n])
        n++;
    if ((err = tc_options_parse(&o, desc, kv, n)) < 0)
        return err;
    err = vt->open(out, o, NULL);
    tc_options_free(o);
    return err;
}

/* Standard fixture: gzipped train, plain test (the first three train examples). */
static const char *std_kv[16];

static void make_std_kv(void)
{
    std_kv[0] = "train_images";
    std_kv[1] = images_file("train-images.gz", 1, N_TRAIN, sizeof(train_px));
    std_kv[2] = "train_labels";
    std_kv[3] = labels_file("train-labels.gz", 1, N_TRAIN, N_TRAIN);
    std_kv[4] = "test_images";
    std_kv[5] = images_file("test-images", 0, 3, 18);
    std_kv[6] = "test_labels";
    std_kv[7] = labels_file("test-labels", 0, 3, 3);
    std_kv[8] = NULL;
}

/* std_kv plus one more pair. */
static int open_std_plus(void **out, const char *name, const char *value)
{
    const char *kv[16];
    int i;

    for (i = 0; i < 8; i++)
        kv[i] = std_kv[i];
    kv[8] = name;
    kv[9] = value;
    kv[10] = NULL;
    return open_with(out, kv);
}

/* The fixture every test starts with, after plugin_test_setup has loaded the plugin. */
static int setup_fixture(void)
{
    int i;

    for (i = 0; i < N_TRAIN * 6; i++)
        train_px[i] = (uint8_t)(40 * (i / 6) + i % 6);
    desc = tc_plugin_descriptor(plugin_test_plugins[0]);
    vt = desc->vtable;
    make_std_kv();
    return 0;
}

/*
 * Load the plugin and write the standard fixture once per process; every
 * test starts with it.
 */
static int setup(void)
{
    static const char *const plugins[] = {"idx"};

    return plugin_test_setup("idx", plugins, 1, setup_fixture);
}

/* IDX_TEST(name) { body }: a test case that sees the loaded plugin and the fixture files. */
#define IDX_TEST(name) PLUGIN_TEST(name, setup, "idx plugin setup")

/* ---- tests -------------------------------------------------------------------------------- */

IDX_TEST(test_plugins_idx__descriptor)
{
    TC_CHECK(desc->struct_size == sizeof(tc_plugin_desc));
    TC_CHECK(desc->kind == TC_PLUGIN_DATA);
    TC_CHECK(!strcmp(desc->name, "idx"));
    TC_CHECK(!strcmp(desc->version, "0.1.0"));
    TC_CHECK(!strcmp(desc->license, "MIT"));
    TC_CHECK(desc->n_options == 11);
    TC_CHECK(vt->fingerprint != NULL);
}

IDX_TEST(test_plugins_idx__read_gz_and_plain)
{
    void *d = NULL;
    tc_data_info info;
    int64_t idx[2] = {4, 0};
    float feat[12];
    int32_t lab[2];
    int j;

    TC_CHECK_OK(open_with(&d, std_kv));
    if (!d)
        return;
    TC_CHECK_OK(vt->describe(d, &info));
    TC_CHECK(info.input == TC_INPUT_TENSOR);
    TC_CHECK(info.feature_ndim == 2);
    TC_CHECK(info.feature_shape[0] == 2 && info.feature_shape[1] == 3);
    TC_CHECK(info.num_labels == 3);
    TC_CHECK(info.split_size[TC_SPLIT_TRAIN] == 5);
    TC_CHECK(info.split_size[TC_SPLIT_VALIDATION] == 0);
    TC_CHECK(info.split_size[TC_SPLIT_TEST] == 3);
    TC_CHECK(info.label_names && !strcmp(info.label_names[0], "0") &&
             !strcmp(info.label_names[2], "2"));
    TC_CHECK_OK(vt->read(d, TC_SPLIT_TRAIN, idx, 2, feat, NULL, lab));
    for (j = 0; j < 6; j++) {
        TC_CHECK_NEAR(feat[j], (160 + j) / 255.0f, 1e-7);
        TC_CHECK_NEAR(feat[6 + j], j / 255.0f, 1e-7);
    }
    TC_CHECK(lab[0] == 0 && lab[1] == 0);
    idx[0] = 2;
    TC_CHECK_OK(vt->read(d, TC_SPLIT_TEST, idx, 1, feat, NULL, lab));
    TC_CHECK_NEAR(feat[5], (80 + 5) / 255.0f, 1e-7);
    TC_CHECK(lab[0] == 2);
    /* Out of range, and a split that is absent. */
    idx[0] = 3;
    TC_CHECK_ERR(vt->read(d, TC_SPLIT_TEST, idx, 1, feat, NULL, lab), TC_ERANGE);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "test split of 3");
    idx[0] = 0;
    TC_CHECK_ERR(vt->read(d, TC_SPLIT_VALIDATION, idx, 1, feat, NULL, lab), TC_ERANGE);
    vt->close(d);
}

IDX_TEST(test_plugins_idx__normalize)
{
    void *d = NULL;
    int64_t idx[1] = {4};
    float feat[6];
    int32_t lab[1];
    const char *kv[16];
    int i;

    TC_CHECK_OK(open_std_plus(&d, "normalize", "none"));
    if (d) {
        TC_CHECK_OK(vt->read(d, TC_SPLIT_TRAIN, idx, 1, feat, NULL, lab));
        TC_CHECK(feat[0] == 160.0f && feat[5] == 165.0f);
        vt->close(d);
        d = NULL;
    }
    for (i = 0; i < 8; i++)
        kv[i] = std_kv[i];
    kv[8] = "normalize";
    kv[9] = "standard";
    kv[10] = "mean";
    kv[11] = "0.5";
    kv[12] = "std";
    kv[13] = "0.25";
    kv[14] = NULL;
    TC_CHECK_OK(open_with(&d, kv));
    if (d) {
        TC_CHECK_OK(vt->read(d, TC_SPLIT_TRAIN, idx, 1, feat, NULL, lab));
        TC_CHECK_NEAR(feat[1], (161 / 255.0 - 0.5) / 0.25, 1e-6);
        vt->close(d);
        d = NULL;
    }
    TC_CHECK_ERR(open_std_plus(&d, "normalize", "minmax"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'normalize'");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "unit, standard, none");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "minmax");
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__bad_magic)
{
    void *d = NULL;
    uint32_t dims[3] = {N_TRAIN, 2, 3};
    const char *bad = write_idx("bad-magic.gz", 1, 0x00000903u, dims, 3, train_px, 30);

    {
        const char *kv[] = {"train_images", bad, "train_labels", std_kv[3], NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "bad-magic.gz");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "bad magic 0x00000903");
    }
    {
        /* Labels passed as images and images as labels. */
        const char *kv[] = {"train_images", std_kv[3], "train_labels", std_kv[1], NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "expected 0x00000803");
    }
    {
        const char *kv[] = {"train_images", std_kv[1], "train_labels", std_kv[1], NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "expected 0x00000801");
    }
    {
        /* Not IDX at all: a few bytes of text. */
        const char *txt = write_idx("text.idx", 0, 0x68656c6cu, dims, 0, NULL, 0);
        const char *kv[] = {"train_images", txt, "train_labels", std_kv[3], NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "bad magic");
    }
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__truncated)
{
    void *d = NULL;
    const char *plain = images_file("trunc-images", 0, N_TRAIN, sizeof(train_px) - 4);
    const char *gz = images_file("trunc-images.gz", 1, N_TRAIN, sizeof(train_px) - 7);
    const char *kv[] = {"train_images", plain, "train_labels", std_kv[3], NULL};
    char cut[512];
    FILE *f;
    uint8_t buf[4096];
    size_t n;

    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "trunc-images");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    kv[1] = gz;
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "trunc-images.gz");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "holds 3");
    /* A gzip stream cut short (its trailer and part of the deflate data missing). */
    snprintf(cut, sizeof(cut), "%s/cut-images.gz", plugin_test_dir);
    f = fopen(std_kv[1], "rb");
    n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    TC_CHECK(n > 20);
    f = fopen(cut, "wb");
    if (f) {
        fwrite(buf, 1, n - 12, f);
        fclose(f);
    }
    kv[1] = cut;
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "cut-images.gz");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    /* A header cut short. */
    f = fopen(cut, "wb");
    if (f) {
        fwrite("\0\0\x08\x03\0\0", 1, 6, f);
        fclose(f);
    }
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__trailing_data)
{
    void *d = NULL;
    const char *plain = labels_file("long-labels", 0, 4, 5);
    const char *gz = labels_file("long-labels.gz", 1, 4, 5);
    const char *kv[] = {"train_images", std_kv[1], "train_labels", plain, NULL};

    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "trailing data");
    kv[3] = gz;
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "long-labels.gz");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "trailing data");
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__count_mismatch)
{
    void *d = NULL;
    const char *lab = labels_file("four-labels.gz", 1, 4, 4);
    const char *kv[] = {"train_images", std_kv[1], "train_labels", lab, NULL};

    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "four-labels.gz' has 4 labels");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "has 5 images");
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__size_bounds)
{
    void *d = NULL;
    uint32_t huge[3] = {4000000000u, 28, 28};
    uint32_t wide[3] = {1, 65536, 65536};
    const char *kv[] = {"train_images", NULL, "train_labels", std_kv[3], NULL};

    /* A gzip file of a few dozen bytes cannot hold 3 TB. */
    kv[1] = write_idx("huge.gz", 1, 0x00000803u, huge, 3, train_px, 30);
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "gzip file can hold");
    kv[1] = write_idx("huge", 0, 0x00000803u, huge, 3, train_px, 30);
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "truncated");
    kv[1] = write_idx("wide.gz", 1, 0x00000803u, wide, 3, train_px, 30);
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "larger than 16777216 bytes");
    wide[1] = 0;
    kv[1] = write_idx("zero.gz", 1, 0x00000803u, wide, 3, train_px, 30);
    TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "zero dimension");
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__shape_mismatch)
{
    void *d = NULL;
    uint32_t dims[3] = {3, 3, 2};
    const char *img = write_idx("t-3x2", 0, 0x00000803u, dims, 3, train_px, 18);

    TC_CHECK_ERR(open_std_plus(&d, "validation_images", img), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "validation_labels");
    {
        const char *kv[] = {"train_images", std_kv[1],     "train_labels",
                            std_kv[3],      "test_images", img,
                            "test_labels",  std_kv[7],     NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EFORMAT);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "examples of 3x2");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "2x3");
    }
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__missing_file)
{
    void *d = NULL;
    char path[512];

    snprintf(path, sizeof(path), "%s/nope.gz", plugin_test_dir);
    TC_CHECK_ERR(open_std_plus(&d, "limit", "0"), TC_OK);
    if (d)
        vt->close(d);
    d = NULL;
    {
        const char *kv[] = {"train_images", path, "train_labels", std_kv[3], NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_ENOTFOUND);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "nope.gz");
    }
    {
        const char *kv[] = {"train_images", "", "train_labels", "", NULL};
        TC_CHECK_ERR(open_with(&d, kv), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "train_images");
    }
    TC_CHECK(d == NULL);
}

IDX_TEST(test_plugins_idx__limit_and_validation)
{
    void *d = NULL;
    tc_data_info info;
    const char *kv[] = {"train_images",
                        std_kv[1],
                        "train_labels",
                        std_kv[3],
                        "validation_images",
                        std_kv[5],
                        "validation_labels",
                        std_kv[7],
                        "test_images",
                        "",
                        "test_labels",
                        "",
                        "limit",
                        "2",
                        NULL};
    int64_t idx[1] = {2};
    int32_t lab[1];

    TC_CHECK_OK(open_with(&d, kv));
    if (!d)
        return;
    TC_CHECK_OK(vt->describe(d, &info));
    TC_CHECK(info.split_size[TC_SPLIT_TRAIN] == 2);
    TC_CHECK(info.split_size[TC_SPLIT_VALIDATION] == 2);
    TC_CHECK(info.split_size[TC_SPLIT_TEST] == 0);
    /* Classes count every loaded split's labels, limited or not. */
    TC_CHECK(info.num_labels == 3);
    TC_CHECK_ERR(vt->read(d, TC_SPLIT_TRAIN, idx, 1, NULL, NULL, lab), TC_ERANGE);
    idx[0] = 1;
    TC_CHECK_OK(vt->read(d, TC_SPLIT_TRAIN, idx, 1, NULL, NULL, lab));
    TC_CHECK(lab[0] == 1);
    vt->close(d);
}

IDX_TEST(test_plugins_idx__label_names)
{
    void *d = NULL;
    tc_data_info info;

    TC_CHECK_OK(open_std_plus(&d, "label_names", " shirt, boot ,bag,hat"));
    if (d) {
        TC_CHECK_OK(vt->describe(d, &info));
        TC_CHECK(info.num_labels == 4);
        TC_CHECK(!strcmp(info.label_names[0], "shirt"));
        TC_CHECK(!strcmp(info.label_names[1], "boot"));
        TC_CHECK(!strcmp(info.label_names[3], "hat"));
        vt->close(d);
        d = NULL;
    }
    TC_CHECK_ERR(open_std_plus(&d, "label_names", "a,b"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "labels up to 2");
    TC_CHECK_ERR(open_std_plus(&d, "label_names", "a,b,a"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'a' twice");
    TC_CHECK_ERR(open_std_plus(&d, "label_names", "a,,c"), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "empty");
    TC_CHECK(d == NULL);
}

typedef struct fake_host {
    int cancel;
    char last_log[256];
} fake_host;

static void fake_log(void *ctx, tc_log_level level, const char *message)
{
    fake_host *h = ctx;

    (void)level;
    snprintf(h->last_log, sizeof(h->last_log), "%s", message);
}

static int fake_cancelled(void *ctx)
{
    return ((fake_host *)ctx)->cancel;
}

IDX_TEST(test_plugins_idx__host)
{
    fake_host fh = {0, ""};
    tc_host host;
    tc_options *o = NULL;
    void *d = NULL;

    memset(&host, 0, sizeof(host));
    host.struct_size = sizeof(host);
    host.abi_major = TC_PLUGIN_ABI_MAJOR;
    host.abi_minor = TC_PLUGIN_ABI_MINOR;
    host.ctx = &fh;
    host.log = fake_log;
    host.is_cancelled = fake_cancelled;
    TC_CHECK_OK(tc_options_parse(&o, desc, std_kv, 4));
    if (!o)
        return;
    TC_CHECK_OK(vt->open(&d, o, &host));
    TC_CHECK_STR_CONTAINS(fh.last_log, "5 train, 0 validation, 3 test examples of 2x3, 3 classes");
    if (d)
        vt->close(d);
    d = NULL;
    fh.cancel = 1;
    TC_CHECK_ERR(vt->open(&d, o, &host), TC_ECANCELLED);
    TC_CHECK(d == NULL);
    tc_options_free(o);
}

static void fingerprint_of(const char *const *kv, char *out)
{
    void *d = NULL;

    out[0] = '\0';
    TC_CHECK_OK(open_with(&d, kv));
    if (!d)
        return;
    TC_CHECK_OK(vt->fingerprint(d, out, 32));
    vt->close(d);
}

IDX_TEST(test_plugins_idx__fingerprint)
{
    char a[32], b[32], c[32], small[8];
    const char *kv[16];
    void *d = NULL;
    int i;

    for (i = 0; i < 9; i++)
        kv[i] = std_kv[i];
    fingerprint_of(kv, a);
    fingerprint_of(kv, b);
    TC_CHECK(strlen(a) == 16 && !strcmp(a, b));
    /* The same content plain instead of gzipped: the same fingerprint. */
    kv[1] = images_file("train-images-plain", 0, N_TRAIN, sizeof(train_px));
    fingerprint_of(kv, b);
    TC_CHECK(!strcmp(a, b));
    /* Other content, other options: other fingerprints. */
    train_px[7] ^= 1;
    kv[1] = images_file("train-images-other.gz", 1, N_TRAIN, sizeof(train_px));
    train_px[7] ^= 1;
    fingerprint_of(kv, c);
    TC_CHECK(strlen(c) == 16 && strcmp(a, c) != 0);
    kv[1] = std_kv[1];
    kv[8] = "normalize";
    kv[9] = "none";
    kv[10] = NULL;
    fingerprint_of(kv, c);
    TC_CHECK(strlen(c) == 16 && strcmp(a, c) != 0);
    kv[8] = "limit";
    kv[9] = "4";
    fingerprint_of(kv, b);
    TC_CHECK(strlen(b) == 16 && strcmp(a, b) != 0 && strcmp(b, c) != 0);
    TC_CHECK_OK(open_with(&d, std_kv));
    if (d) {
        TC_CHECK_ERR(vt->fingerprint(d, small, sizeof(small)), TC_ERANGE);
        vt->close(d);
    }
}

IDX_TEST(test_plugins_idx__fashion_mnist)
{
    const char *kv[] = {"limit", "100", NULL};
    void *d = NULL;
    tc_data_info info;
    int64_t idx[1] = {0};
    float feat[784];
    int32_t lab[1];
    int j, nonzero = 0;

    if (access(FASHION_DIR "train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("skip: Fashion-MNIST is not installed in " FASHION_DIR "\n");
        return;
    }
    TC_CHECK_OK(open_with(&d, kv));
    if (!d)
        return;
    TC_CHECK_OK(vt->describe(d, &info));
    TC_CHECK(info.feature_ndim == 2 && info.feature_shape[0] == 28 && info.feature_shape[1] == 28);
    TC_CHECK(info.split_size[TC_SPLIT_TRAIN] == 100 && info.split_size[TC_SPLIT_TEST] == 100);
    TC_CHECK(info.num_labels == 10);
    TC_CHECK(!strcmp(info.label_names[0], "T-shirt/top"));
    TC_CHECK(!strcmp(info.label_names[9], "Ankle boot"));
    TC_CHECK_OK(vt->read(d, TC_SPLIT_TRAIN, idx, 1, feat, NULL, lab));
    TC_CHECK(lab[0] == 9); /* the first training image is an ankle boot */
    for (j = 0; j < 784; j++) {
        TC_CHECK(feat[j] >= 0.0f && feat[j] <= 1.0f);
        nonzero += feat[j] > 0.0f;
    }
    TC_CHECK(nonzero > 100);
    vt->close(d);
}

static const tc_test_case tests[] = {
    TC_TEST(test_plugins_idx__descriptor),
    TC_TEST(test_plugins_idx__read_gz_and_plain),
    TC_TEST(test_plugins_idx__normalize),
    TC_TEST(test_plugins_idx__bad_magic),
    TC_TEST(test_plugins_idx__truncated),
    TC_TEST(test_plugins_idx__trailing_data),
    TC_TEST(test_plugins_idx__count_mismatch),
    TC_TEST(test_plugins_idx__size_bounds),
    TC_TEST(test_plugins_idx__shape_mismatch),
    TC_TEST(test_plugins_idx__missing_file),
    TC_TEST(test_plugins_idx__limit_and_validation),
    TC_TEST(test_plugins_idx__label_names),
    TC_TEST(test_plugins_idx__host),
    TC_TEST(test_plugins_idx__fingerprint),
    TC_TEST(test_plugins_idx__fashion_mnist),
};

TC_TEST_MAIN(tests)
