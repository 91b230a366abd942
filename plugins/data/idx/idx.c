/*
 * idx.c - the "idx" data plugin: labelled u8 tensors in IDX files, the format
 * of MNIST and Fashion-MNIST, gzipped or not.
 *
 * An IDX file is a 4-byte magic (0x00 0x00 type ndim), ndim big-endian u32
 * dimensions and the data in row-major order. We read u8 data only (type
 * 0x08): images are 0x00000803 [n, rows, cols] (0x00000802 [n, F] and
 * 0x00000804 [n, a, b, c] work the same way), labels are 0x00000801 [n].
 * zlib's gzread reads plain and gzipped files alike.
 *
 * Every file is read completely and validated before anything is exposed:
 * the magic, the dimensions (at most IDX_MAX_EXAMPLE_BYTES per example), the
 * declared size against the file's real size (exact for a plain file, at most
 * the deflate expansion bound for a gzip file), truncation, trailing data, and
 * image and label counts that agree. The data stays in memory as u8 and is
 * converted to floats on read through a 256-entry table, so every
 * normalisation costs the same.
 *
 * The fingerprint is FNV-1a 64 over the decompressed bytes of every file used,
 * in split order, plus the options that change what read() returns.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <tc/plugin.h>

#include "../../common/labels.h"

#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_TYPE_U8 0x08u
#define IDX_MAX_DIMS 4                            /* n plus up to three feature dims */
#define IDX_MAX_EXAMPLE_BYTES ((uint64_t)1 << 24) /* product of the feature dims */
#define IDX_GZ_MAX_RATIO 1032u                    /* deflate's maximum expansion */
#define IDX_CHUNK ((size_t)1 << 20)               /* bytes per gzread call */
#define IDX_FNV_OFFSET 0xcbf29ce484222325ull
#define IDX_FNV_PRIME 0x100000001b3ull

#define DEFAULT_DIR "/usr/share/datasets/fashion-mnist/"
#define DEFAULT_TRAIN_IMAGES DEFAULT_DIR "train-images-idx3-ubyte.gz"
#define DEFAULT_TRAIN_LABELS DEFAULT_DIR "train-labels-idx1-ubyte.gz"
#define DEFAULT_TEST_IMAGES DEFAULT_DIR "t10k-images-idx3-ubyte.gz"
#define DEFAULT_TEST_LABELS DEFAULT_DIR "t10k-labels-idx1-ubyte.gz"

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                              "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};

static const char *const split_names[TC_SPLIT_MAX] = {"train", "validation", "test"};

typedef enum idx_norm { IDX_NORM_UNIT = 0, IDX_NORM_STANDARD, IDX_NORM_NONE } idx_norm;

/* One IDX file in memory. */
typedef struct idx_file {
    uint8_t *data;              /* (n, item) bytes after the header */
    int64_t n;                  /* dims[0] */
    int32_t ndim;               /* dimensions including n */
    int64_t dims[IDX_MAX_DIMS]; /* dims[0] = n */
    int64_t item;               /* bytes per example: product of dims[1..] */
} idx_file;

/* One split: images (n, F) and labels (n). Absent when n == 0 and images == NULL. */
typedef struct idx_split {
    uint8_t *images; /* (n, F) */
    uint8_t *labels; /* (n) */
    int64_t n;
} idx_split;

typedef struct idx_data {
    const tc_host *host; /* borrowed */
    idx_split splits[TC_SPLIT_MAX];
    int32_t feature_ndim; /* 1..3 */
    int64_t feature_shape[TC_MAX_DIMS];
    int64_t F;         /* product of feature_shape */
    int32_t max_label; /* over every split's whole labels file; -1 before loading */
    int32_t num_labels;
    char **label_names; /* num_labels owned strings */
    float lut[256];     /* u8 -> feature value */
    uint64_t hash;      /* FNV-1a 64 state */
} idx_data;

static const tc_option_spec idx_options[] = {
    {"train_images", TC_OPTION_STRING, DEFAULT_TRAIN_IMAGES,
     "IDX u8 images of the training split (.gz or plain)", 1, 0},
    {"train_labels", TC_OPTION_STRING, DEFAULT_TRAIN_LABELS,
     "IDX u8 labels of the training split (.gz or plain)", 1, 0},
    {"validation_images", TC_OPTION_STRING, NULL,
     "IDX images of a validation split; absent: the trainer holds out part of train", 1, 0},
    {"validation_labels", TC_OPTION_STRING, NULL,
     "IDX labels of the validation split (set with validation_images)", 1, 0},
    {"test_images", TC_OPTION_STRING, DEFAULT_TEST_IMAGES,
     "IDX u8 images of the test split; \"\" (with test_labels \"\") for none", 1, 0},
    {"test_labels", TC_OPTION_STRING, DEFAULT_TEST_LABELS,
     "IDX u8 labels of the test split; \"\" (with test_images \"\") for none", 1, 0},
    {"normalize", TC_OPTION_STRING, "unit",
     "pixel scaling: unit (x/255), standard ((x/255 - mean)/std) or none (0..255)", 1, 0},
    {"mean", TC_OPTION_FLOAT, "0.2860", "mean of x/255 for normalize=standard", -1e6, 1e6},
    {"std", TC_OPTION_FLOAT, "0.3530", "standard deviation of x/255 for normalize=standard", 1e-6,
     1e6},
    {"limit", TC_OPTION_INT, "0", "use at most this many examples of each split (0: all)", 0, 1e9},
    {"label_names", TC_OPTION_STRING, "",
     "comma-separated class names (default: Fashion-MNIST's for its files, else 0,1,...)", 1, 0},
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void hash_bytes(uint64_t *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t x = *h;
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= p[i];
        x *= IDX_FNV_PRIME;
    }
    *h = x;
}

static void hash_str(uint64_t *h, const char *s)
{
    hash_bytes(h, s, strlen(s) + 1);
}

static void host_log(const tc_host *host, tc_log_level level, const char *msg)
{
    if (host && host->struct_size >= offsetof(tc_host, log) + sizeof(host->log) && host->log)
        host->log(host->ctx, level, msg);
}

static int host_cancelled(const tc_host *host)
{
    return host &&
           host->struct_size >= offsetof(tc_host, is_cancelled) + sizeof(host->is_cancelled) &&
           host->is_cancelled && host->is_cancelled(host->ctx);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read up to n bytes; returns the count read (short at end of file) or -1 on a zlib error. */
static int64_t gz_read_full(gzFile f, void *buf, size_t n)
{
    uint8_t *p = buf;
    size_t got = 0;

    while (got < n) {
        size_t want = n - got < IDX_CHUNK ? n - got : IDX_CHUNK;
        int r = gzread(f, p + got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

static int gz_fail(gzFile f, const char *path)
{
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);

    if (zerr == Z_ERRNO)
        return tc_error_set(TC_EIO, "cannot read '%s': %s", path, strerror(errno));
    if (zerr == Z_BUF_ERROR)
        return tc_error_set(TC_EFORMAT, "'%s' is truncated: %s", path,
                            msg ? msg : "unexpected end of file");
    return tc_error_set(TC_EFORMAT, "'%s' is not a valid gzip or IDX file: %s", path,
                        msg ? msg : "unknown zlib error");
}

/* ---- reading one file --------------------------------------------------------------------- */

/*
 * Read the magic and dimensions of an IDX file. labels: expect 0x00000801,
 * else u8 tensors of 2..IDX_MAX_DIMS dimensions.
 */
static int read_header(gzFile f, const char *path, int labels, idx_file *out, uint64_t *hash)
{
    uint8_t hdr[4 + 4 * IDX_MAX_DIMS];
    uint32_t magic;
    int64_t got;
    int32_t i, ndim;
    int ok;

    if ((got = gz_read_full(f, hdr, 4)) < 0)
        return gz_fail(f, path);
    if (got < 4)
        return tc_error_set(TC_EFORMAT, "'%s' is truncated: it has no IDX header", path);
    magic = be32(hdr);
    ndim = hdr[3];
    if (labels)
        ok = magic == IDX_MAGIC_LABELS;
    else
        ok = hdr[0] == 0 && hdr[1] == 0 && hdr[2] == IDX_TYPE_U8 && ndim >= 2 &&
             ndim <= IDX_MAX_DIMS;
    if (!ok)
        return tc_error_set(TC_EFORMAT, "'%s' has bad magic 0x%08x, expected 0x%08x (IDX u8 %s)",
                            path, magic, labels ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES,
                            labels ? "labels" : "images");
    if ((got = gz_read_full(f, hdr + 4, 4 * (size_t)ndim)) < 0)
        return gz_fail(f, path);
    if (got < 4 * ndim)
        return tc_error_set(TC_EFORMAT, "'%s' is truncated in its IDX header", path);
    hash_bytes(hash, hdr, 4 + 4 * (size_t)ndim);
    out->ndim = ndim;
    out->item = 1;
    for (i = 0; i < ndim; i++) {
        out->dims[i] = be32(hdr + 4 + 4 * i);
        if (i == 0)
            continue;
        if (out->dims[i] == 0)
            return tc_error_set(TC_EFORMAT, "'%s' has a zero dimension (dimension %d)", path,
                                (int)i);
        out->item *= out->dims[i];
        if ((uint64_t)out->item > IDX_MAX_EXAMPLE_BYTES)
            return tc_error_set(TC_EFORMAT,
                                "'%s' declares examples larger than %llu bytes, the limit", path,
                                (unsigned long long)IDX_MAX_EXAMPLE_BYTES);
    }
    out->n = out->dims[0];
    return TC_OK;
}

/* Check the declared data size against what a file of this size can hold. */
static int check_size(gzFile f, const char *path, const idx_file *h, uint64_t file_size)
{
    uint64_t header = 4 + 4 * (uint64_t)h->ndim;
    uint64_t data = (uint64_t)h->n * (uint64_t)h->item; /* < 2^56: no overflow */

    if (gzdirect(f)) {
        if (file_size < header + data)
            return tc_error_set(TC_EFORMAT,
                                "'%s' is truncated: its header declares %lld examples (%llu "
                                "bytes) but it holds %llu bytes of data",
                                path, (long long)h->n, (unsigned long long)data,
                                (unsigned long long)(file_size - header));
        if (file_size > header + data)
            return tc_error_set(TC_EFORMAT,
                                "'%s' has %llu bytes of trailing data after %lld "
                                "examples",
                                path, (unsigned long long)(file_size - header - data),
                                (long long)h->n);
    } else if (data / IDX_GZ_MAX_RATIO > file_size) {
        return tc_error_set(TC_EFORMAT,
                            "'%s' declares %lld examples (%llu bytes), more than a %llu-byte "
                            "gzip file can hold",
                            path, (long long)h->n, (unsigned long long)data,
                            (unsigned long long)file_size);
    }
    return TC_OK;
}

/*
 * Read the data of h into a buffer that grows as bytes arrive, so a header
 * that lies costs no more memory than the file really holds.
 */
static int read_data(gzFile f, const char *path, const tc_host *host, idx_file *h, uint64_t *hash)
{
    size_t total = (size_t)h->n * (size_t)h->item, cap = 0, got = 0;
    uint8_t *buf = NULL, extra;
    int64_t r;
    int err = TC_OK;

    while (got < total) {
        if (got == cap) {
            size_t ncap = cap ? cap * 2 : IDX_CHUNK;
            uint8_t *nb;
            if (ncap > total)
                ncap = total;
            if (!(nb = tc_realloc(buf, ncap))) {
                err = TC_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        if (host_cancelled(host)) {
            err = tc_error_set(TC_ECANCELLED, "reading '%s' was cancelled", path);
            goto out;
        }
        if ((r = gz_read_full(f, buf + got, cap - got)) < 0) {
            err = gz_fail(f, path);
            goto out;
        }
        hash_bytes(hash, buf + got, (size_t)r);
        got += (size_t)r;
        if (r == 0 || got < cap)
            break;
    }
    if (got < total) {
        err = tc_error_set(TC_EFORMAT,
                           "'%s' is truncated: its header declares %lld examples but it holds "
                           "%lld",
                           path, (long long)h->n, (long long)(got / (size_t)h->item));
        goto out;
    }
    if ((r = gz_read_full(f, &extra, 1)) != 0) {
        err = r < 0 ? gz_fail(f, path)
                    : tc_error_set(TC_EFORMAT, "'%s' has trailing data after %lld examples", path,
                                   (long long)h->n);
        goto out;
    }
    h->data = buf ? buf : tc_malloc(0);
    if (!h->data) {
        err = TC_ENOMEM;
        goto out;
    }
    buf = NULL;
out:
    tc_free(buf);
    return err;
}

/* Read and validate one IDX file completely. On success *out owns its data. */
static int read_idx(idx_file *out, const char *path, int labels, const tc_host *host,
                    uint64_t *hash)
{
    idx_file h;
    gzFile f = NULL;
    struct stat st;
    int err = TC_OK;

    memset(&h, 0, sizeof(h));
    if (stat(path, &st) < 0)
        return tc_error_set(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tc_error_set(TC_EINVAL, "'%s' is not a regular file", path);
    if (!(f = gzopen(path, "rbe"))) {
        err = tc_error_set(errno == ENOENT ? TC_ENOTFOUND : TC_EIO, "cannot open '%s': %s", path,
                           errno ? strerror(errno) : "out of memory");
        goto out;
    }
    gzbuffer(f, 1u << 17);
    if ((err = read_header(f, path, labels, &h, hash)) < 0)
        goto out;
    if ((err = check_size(f, path, &h, (uint64_t)st.st_size)) < 0)
        goto out;
    if ((err = read_data(f, path, host, &h, hash)) < 0)
        goto out;
    *out = h;
out:
    if (f)
        gzclose_r(f);
    return err;
}

/* ---- splits ------------------------------------------------------------------------------- */

static void format_shape(char *buf, size_t cap, const int64_t *dims, int32_t ndim)
{
    size_t len = 0;
    int32_t i;

    buf[0] = '\0';
    for (i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "x" : "", (long long)dims[i]);
}

/* The first split loaded sets the feature shape; later ones must match it. */
static int check_shape(idx_data *d, const idx_file *img, const char *path)
{
    char want[64], have[64];
    int32_t i, fnd = img->ndim - 1;

    if (d->feature_ndim == 0) {
        d->feature_ndim = fnd;
        for (i = 0; i < fnd; i++)
            d->feature_shape[i] = img->dims[i + 1];
        d->F = img->item;
        return TC_OK;
    }
    if (fnd == d->feature_ndim &&
        !memcmp(d->feature_shape, img->dims + 1, (size_t)fnd * sizeof(int64_t)))
        return TC_OK;
    format_shape(want, sizeof(want), d->feature_shape, d->feature_ndim);
    format_shape(have, sizeof(have), img->dims + 1, fnd);
    return tc_error_set(TC_EFORMAT, "'%s' holds examples of %s but the training split's are %s",
                        path, have, want);
}

static int load_split(idx_data *d, tc_split s, const char *images, const char *labels,
                      int64_t limit)
{
    idx_file img, lab;
    idx_split *sp = &d->splits[s];
    int64_t i;
    int err;

    memset(&img, 0, sizeof(img));
    memset(&lab, 0, sizeof(lab));
    hash_str(&d->hash, split_names[s]);
    if ((err = read_idx(&img, images, 0, d->host, &d->hash)) < 0)
        goto out;
    if ((err = read_idx(&lab, labels, 1, d->host, &d->hash)) < 0)
        goto out;
    if (img.n != lab.n) {
        err = tc_error_set(TC_EFORMAT, "'%s' has %lld labels but '%s' has %lld images", labels,
                           (long long)lab.n, images, (long long)img.n);
        goto out;
    }
    if (img.n == 0) {
        err = tc_error_set(TC_EFORMAT, "'%s' has no examples", images);
        goto out;
    }
    if ((err = check_shape(d, &img, images)) < 0)
        goto out;
    /* Classes come from whole files, so a limited run has the full run's class set. */
    for (i = 0; i < lab.n; i++)
        if (lab.data[i] > d->max_label)
            d->max_label = lab.data[i];
    sp->n = limit > 0 && limit < img.n ? limit : img.n;
    if (sp->n < img.n) {
        /* Give back what the limit leaves unused; keeping the larger block is fine too. */
        uint8_t *p = tc_realloc(img.data, (size_t)(sp->n * img.item));
        if (p)
            img.data = p;
        tc_error_clear();
    }
    sp->images = img.data;
    sp->labels = lab.data;
    img.data = lab.data = NULL;
out:
    tc_free(img.data);
    tc_free(lab.data);
    return err;
}

/* ---- labels ------------------------------------------------------------------------------- */

static int make_names(idx_data *d, const char *const *src)
{
    return labels_copy(&d->label_names, d->num_labels, src);
}

/*
 * The class set: max label + 1 over every split's whole file, widened to the
 * number of label names when names are given (they define the classes), or
 * to Fashion-MNIST's ten when its files are used without names.
 */
static int setup_labels(idx_data *d, const tc_options *opts)
{
    const char *text = tc_options_string(opts, "label_names");
    const char *train = tc_options_string(opts, "train_labels");
    char **names = NULL;
    int32_t n_names = 0, max_label = d->max_label;
    int err = TC_OK;

    d->num_labels = max_label + 1;
    if (text && *text) {
        if ((err = labels_parse(&names, &n_names, text, "label_names")) < 0)
            return err;
        if (n_names < d->num_labels) {
            err = tc_error_set(TC_EINVAL,
                               "option 'label_names' names %d classes but the data has labels "
                               "up to %d",
                               (int)n_names, (int)max_label);
            goto out;
        }
        d->num_labels = n_names;
        d->label_names = names;
        names = NULL;
    } else if (train && !strcmp(train, DEFAULT_TRAIN_LABELS) && d->num_labels <= 10) {
        d->num_labels = 10;
        err = make_names(d, fashion_names);
    } else {
        err = make_names(d, NULL);
    }
out:
    labels_free(names, n_names);
    return err;
}

/* ---- options ------------------------------------------------------------------------------ */

static int parse_norm(const char *s, idx_norm *out)
{
    if (s && !strcmp(s, "unit"))
        *out = IDX_NORM_UNIT;
    else if (s && !strcmp(s, "standard"))
        *out = IDX_NORM_STANDARD;
    else if (s && !strcmp(s, "none"))
        *out = IDX_NORM_NONE;
    else
        return tc_error_set(TC_EINVAL,
                            "option 'normalize' of plugin 'idx' must be one of unit, standard, "
                            "none; got '%s'",
                            s ? s : "");
    return TC_OK;
}

static void fill_lut(idx_data *d, idx_norm norm, double mean, double std)
{
    int v;

    for (v = 0; v < 256; v++) {
        double x = v / 255.0;
        if (norm == IDX_NORM_STANDARD)
            x = (x - mean) / std;
        else if (norm == IDX_NORM_NONE)
            x = v;
        d->lut[v] = (float)x;
    }
}

/* The two paths of a split: both set or both empty/absent. */
static int split_paths(const tc_options *opts, const char *prefix, const char **images,
                       const char **labels)
{
    char ni[32], nl[32];

    snprintf(ni, sizeof(ni), "%s_images", prefix);
    snprintf(nl, sizeof(nl), "%s_labels", prefix);
    *images = tc_options_string(opts, ni);
    *labels = tc_options_string(opts, nl);
    if (*images && !**images)
        *images = NULL;
    if (*labels && !**labels)
        *labels = NULL;
    if (!*images != !*labels)
        return tc_error_set(TC_EINVAL,
                            "options '%s' and '%s' of plugin 'idx' go together: set both or "
                            "neither",
                            ni, nl);
    return TC_OK;
}

/* ---- the vtable --------------------------------------------------------------------------- */

static void idx_close(void *self)
{
    idx_data *d = self;
    int s;

    if (!d)
        return;
    for (s = 0; s < TC_SPLIT_MAX; s++) {
        tc_free(d->splits[s].images);
        tc_free(d->splits[s].labels);
    }
    labels_free(d->label_names, d->num_labels);
    tc_free(d);
}

static void log_summary(const idx_data *d)
{
    char shape[64], msg[256];

    format_shape(shape, sizeof(shape), d->feature_shape, d->feature_ndim);
    snprintf(msg, sizeof(msg),
             "idx: %lld train, %lld validation, %lld test examples of %s, %d classes",
             (long long)d->splits[TC_SPLIT_TRAIN].n, (long long)d->splits[TC_SPLIT_VALIDATION].n,
             (long long)d->splits[TC_SPLIT_TEST].n, shape, (int)d->num_labels);
    host_log(d->host, TC_LOG_INFO, msg);
}

static int idx_open(void **out, const tc_options *opts, const tc_host *host)
{
    static const char *const prefixes[TC_SPLIT_MAX] = {"train", "validation", "test"};
    idx_data *d = NULL;
    const char *images[TC_SPLIT_MAX], *labels[TC_SPLIT_MAX];
    int64_t limit = tc_options_int(opts, "limit");
    double mean = tc_options_float(opts, "mean"), std = tc_options_float(opts, "std");
    idx_norm norm = IDX_NORM_UNIT;
    char text[64];
    int s, err;

    TC_ASSERT_ARG(out && opts);
    if ((err = parse_norm(tc_options_string(opts, "normalize"), &norm)) < 0)
        return err;
    for (s = 0; s < TC_SPLIT_MAX; s++)
        if ((err = split_paths(opts, prefixes[s], &images[s], &labels[s])) < 0)
            return err;
    if (!images[TC_SPLIT_TRAIN])
        return tc_error_set(TC_EINVAL,
                            "options 'train_images' and 'train_labels' of plugin 'idx' must "
                            "name files");
    if (!(d = tc_calloc(1, sizeof(*d))))
        return TC_ENOMEM;
    d->host = host;
    d->hash = IDX_FNV_OFFSET;
    d->max_label = -1;
    for (s = 0; s < TC_SPLIT_MAX; s++)
        if (images[s] && (err = load_split(d, (tc_split)s, images[s], labels[s], limit)) < 0)
            goto out;
    if ((err = setup_labels(d, opts)) < 0)
        goto out;
    fill_lut(d, norm, mean, std);
    hash_str(&d->hash, norm == IDX_NORM_UNIT ? "unit" : norm == IDX_NORM_NONE ? "none" : "std");
    if (norm == IDX_NORM_STANDARD) {
        snprintf(text, sizeof(text), "%.17g,%.17g", mean, std);
        hash_str(&d->hash, text);
    }
    snprintf(text, sizeof(text), "limit=%lld", (long long)limit);
    hash_str(&d->hash, text);
    log_summary(d);
    *out = d;
    d = NULL;
out:
    idx_close(d);
    return err;
}

static int idx_describe(void *self, tc_data_info *out)
{
    const idx_data *d = self;
    int32_t i;
    int s;

    TC_ASSERT_ARG(d && out);
    memset(out, 0, sizeof(*out));
    out->input = TC_INPUT_TENSOR;
    out->feature_ndim = d->feature_ndim;
    for (i = 0; i < TC_MAX_DIMS; i++)
        out->feature_shape[i] = i < d->feature_ndim ? d->feature_shape[i] : 1;
    out->num_labels = d->num_labels;
    out->label_names = (const char *const *)d->label_names;
    for (s = 0; s < TC_SPLIT_MAX; s++)
        out->split_size[s] = d->splits[s].n;
    return TC_OK;
}

static int idx_read(void *self, tc_split split, const int64_t *indices, int64_t n, float *features,
                    const char **texts, int32_t *labels)
{
    const idx_data *d = self;
    const idx_split *sp;
    int64_t i, j;

    TC_ASSERT_ARG(d && n >= 0 && (indices || n == 0));
    if ((int)split < 0 || split >= TC_SPLIT_MAX)
        return tc_error_set(TC_EINVAL, "unknown split %d", (int)split);
    sp = &d->splits[split];
    for (i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= sp->n)
            return tc_error_set(TC_ERANGE,
                                "example %lld is out of range for the %s split of %lld examples",
                                (long long)indices[i], split_names[split], (long long)sp->n);
    for (i = 0; i < n; i++) {
        const uint8_t *px = sp->images + indices[i] * d->F;
        if (features) {
            float *row = features + i * d->F;
            for (j = 0; j < d->F; j++)
                row[j] = d->lut[px[j]];
        }
        if (labels)
            labels[i] = sp->labels[indices[i]];
        if (texts)
            texts[i] = NULL;
    }
    return TC_OK;
}

static int idx_fingerprint(void *self, char *out, size_t cap)
{
    const idx_data *d = self;

    TC_ASSERT_ARG(d && out);
    if (cap < 17)
        return tc_error_set(TC_ERANGE, "fingerprint buffer of %zu bytes is too small (17)", cap);
    snprintf(out, cap, "%016llx", (unsigned long long)d->hash);
    return TC_OK;
}

static const tc_data_vtable idx_vtable = {
    .struct_size = sizeof(tc_data_vtable),
    .open = idx_open,
    .describe = idx_describe,
    .read = idx_read,
    .fingerprint = idx_fingerprint,
    .close = idx_close,
};

static const tc_plugin_desc idx_desc = {
    .struct_size = sizeof(tc_plugin_desc),
    .abi_major = TC_PLUGIN_ABI_MAJOR,
    .abi_minor = TC_PLUGIN_ABI_MINOR,
    .name = "idx",
    .version = "0.1.0",
    .license = "MIT",
    .description = "labelled u8 tensors from IDX files (MNIST, Fashion-MNIST), gzipped or plain",
    .kind = TC_PLUGIN_DATA,
    .options = idx_options,
    .n_options = sizeof(idx_options) / sizeof(idx_options[0]),
    .vtable = &idx_vtable,
};

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor);

TC_PLUGIN_EXPORT const tc_plugin_desc *tc_plugin_entry(uint32_t host_major, uint32_t host_minor)
{
    (void)host_minor;
    if (host_major != TC_PLUGIN_ABI_MAJOR)
        return NULL;
    return &idx_desc;
}
