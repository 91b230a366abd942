/*
 * test_params.c - the flat parameter store: declaration, stable tensors over
 * moving buffers, gradient clipping against a hand computation, copy,
 * safetensors save/load and the initialisers.
 */
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/error.h>
#include <tc/params.h>
#include <tc/safetensors.h>

#include "tc_test.h"

static char tmpdir[256];

static const char *tmp_file(const char *name)
{
    static char buf[4][512];
    static int k;

    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/tc_test_params_XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
    return buf[k];
}

/* fc1.weight (3, 4), fc1.bias (4), fc2.weight (2, 3) */
static tc_params *make_mlp(void)
{
    const int64_t w1[2] = {3, 4}, b1[1] = {4}, w2[2] = {2, 3};
    tc_params *p = NULL;

    if (tc_params_new(&p) < 0)
        return NULL;
    if (tc_params_add(p, NULL, "fc1.weight", 2, w1, 0) < 0 ||
        tc_params_add(p, NULL, "fc1.bias", 1, b1, TC_TENSOR_NO_DECAY) < 0 ||
        tc_params_add(p, NULL, "fc2.weight", 2, w2, 0) < 0) {
        tc_params_free(p);
        return NULL;
    }
    return p;
}

static void test_sdk_params__add_and_find(void)
{
    const int64_t w[2] = {3, 4}, b[1] = {4};
    char name[32] = "fc1.weight";
    tc_params *p = NULL;
    tc_tensor *tw = NULL, *tb = NULL, *ts = NULL;
    int64_t i;
    int zero = 1;

    TC_CHECK_OK(tc_params_new(&p));
    if (!p)
        return;
    TC_CHECK(tc_params_count(p) == 0 && tc_params_numel(p) == 0);
    TC_CHECK(tc_params_find(p, "fc1.weight") == NULL);
    TC_CHECK_OK(tc_params_add(p, &tw, name, 2, w, 0));
    TC_CHECK_OK(tc_params_add(p, &tb, "fc1.bias", 1, b, TC_TENSOR_NO_DECAY));
    TC_CHECK_OK(tc_params_add(p, &ts, "scale", 0, NULL, 0));
    if (!tw || !tb || !ts) {
        tc_params_free(p);
        return;
    }
    snprintf(name, sizeof(name), "changed"); /* the name was copied */
    TC_CHECK(strcmp(tw->name, "fc1.weight") == 0 && tw->name != name);
    TC_CHECK(tc_params_count(p) == 3 && tc_params_numel(p) == 17);
    TC_CHECK(tc_params_at(p, 0) == tw && tc_params_at(p, 1) == tb && tc_params_at(p, 2) == ts);
    TC_CHECK(tc_params_at(p, 3) == NULL);
    TC_CHECK(tc_params_find(p, "fc1.weight") == tw && tc_params_find(p, "fc1.bias") == tb);
    TC_CHECK(tc_params_find(p, "fc1") == NULL && tc_params_find(p, NULL) == NULL);
    TC_CHECK(tw->ndim == 2 && tw->shape[0] == 3 && tw->shape[1] == 4 && tw->shape[2] == 1 &&
             tw->shape[3] == 1 && tw->numel == 12);
    TC_CHECK(ts->ndim == 0 && ts->numel == 1 && ts->shape[0] == 1);
    TC_CHECK(tw->dtype == TC_DTYPE_F32 && tw->device == TC_DEVICE_CPU && tw->node == NULL);
    TC_CHECK(tw->flags == (TC_TENSOR_PARAM | TC_TENSOR_REQUIRES_GRAD));
    TC_CHECK(tb->flags == (TC_TENSOR_PARAM | TC_TENSOR_REQUIRES_GRAD | TC_TENSOR_NO_DECAY));
    /* one flat buffer each, same offsets, zero-filled */
    TC_CHECK(tw->data == tc_params_data(p) && tw->grad == tc_params_grad(p));
    TC_CHECK(tb->data == tw->data + 12 && tb->grad == tw->grad + 12);
    TC_CHECK(ts->data == tw->data + 16 && ts->grad == tw->grad + 16);
    for (i = 0; i < 17; i++)
        zero &= tc_params_data(p)[i] == 0.0f && tc_params_grad(p)[i] == 0.0f;
    TC_CHECK(zero);
    tc_params_free(p);
    tc_params_free(NULL);
    TC_CHECK(tc_params_count(NULL) == 0 && tc_params_find(NULL, "x") == NULL);
}

static void test_sdk_params__add_errors(void)
{
    const int64_t ok[1] = {2}, neg[2] = {2, -1}, five[5] = {1, 1, 1, 1, 1};
    const int64_t huge[2] = {(int64_t)1 << 20, (int64_t)1 << 20};
    tc_params *p = NULL;
    tc_tensor *t = NULL;

    TC_CHECK_OK(tc_params_new(&p));
    if (!p)
        return;
    TC_CHECK_OK(tc_params_add(p, &t, "a", 1, ok, 0));
    t = NULL;
    TC_CHECK_ERR(tc_params_add(p, &t, "a", 1, ok, 0), TC_EEXISTS);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "parameter 'a' already exists");
    TC_CHECK(t == NULL);
    TC_CHECK_ERR(tc_params_add(p, &t, "b", 2, neg, 0), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'b'");
    TC_CHECK_ERR(tc_params_add(p, &t, "c", 5, five, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_add(p, &t, "d", -1, ok, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_add(p, &t, "e", 1, NULL, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_add(p, &t, NULL, 1, ok, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_add(p, &t, "", 1, ok, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_add(p, &t, "f", 2, huge, 0), TC_ERANGE);
    TC_CHECK(t == NULL);
    TC_CHECK(tc_params_count(p) == 1 && tc_params_numel(p) == 2);
    TC_CHECK_ERR(tc_params_add(NULL, &t, "g", 1, ok, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_params_new(NULL), TC_EINVAL);
    tc_params_free(p);
}

/* Many additions move the buffers; the tensor structs stay and follow them. */
static void test_sdk_params__buffers_move(void)
{
    enum { N = 300 };
    tc_tensor *first = NULL, *all[N];
    tc_params *p = NULL;
    char name[32];
    int i, ok = 1, moved = 0;
    int64_t off = 0;

    TC_CHECK_OK(tc_params_new(&p));
    if (!p)
        return;
    for (i = 0; i < N; i++) {
        int64_t shape[2] = {i % 7 + 1, 97};
        float *before = tc_params_data(p);
        int64_t j;
        snprintf(name, sizeof(name), "layer.%d.w", i);
        TC_CHECK_OK(tc_params_add(p, &all[i], name, 2, shape, 0));
        if (i == 0)
            first = all[0];
        moved += before && before != tc_params_data(p);
        for (j = 0; j < all[i]->numel; j++) {
            all[i]->data[j] = (float)i;
            all[i]->grad[j] = (float)-i;
        }
    }
    TC_CHECK(moved > 0);
    TC_CHECK(tc_params_find(p, "layer.0.w") == first && tc_params_at(p, 0) == first);
    for (i = 0; i < N; i++) {
        int64_t j;
        snprintf(name, sizeof(name), "layer.%d.w", i);
        ok &= tc_params_find(p, name) == all[i] && strcmp(all[i]->name, name) == 0;
        ok &= all[i]->data == tc_params_data(p) + off && all[i]->grad == tc_params_grad(p) + off;
        for (j = 0; j < all[i]->numel; j++)
            ok &= all[i]->data[j] == (float)i && all[i]->grad[j] == (float)-i;
        off += all[i]->numel;
    }
    TC_CHECK(ok);
    TC_CHECK(off == tc_params_numel(p));
    tc_params_zero_grad(p);
    for (i = 0; i < tc_params_numel(p); i++)
        ok &= tc_params_grad(p)[i] == 0.0f && tc_params_data(p)[i] != -1.0f;
    TC_CHECK(ok);
    tc_params_free(p);
}

static void test_sdk_params__clip_grad_norm(void)
{
    tc_params *p = make_mlp();
    float *g;
    double sum = 0, norm;
    float c;
    int64_t i, n;
    int ok = 1;
    float saved[24];

    TC_CHECK(p != NULL);
    if (!p)
        return;
    g = tc_params_grad(p);
    n = tc_params_numel(p);
    TC_CHECK(n == 22);
    for (i = 0; i < n; i++) {
        g[i] = (float)((i % 5) - 2) * 0.75f + (float)i * 0.01f;
        sum += (double)g[i] * g[i];
    }
    memcpy(saved, g, (size_t)n * sizeof(float));
    /* max_norm <= 0: just the norm */
    TC_CHECK(tc_params_clip_grad_norm(p, 0.0) == sqrt(sum));
    TC_CHECK(memcmp(saved, g, (size_t)n * sizeof(float)) == 0);
    /* below the limit: untouched */
    TC_CHECK(tc_params_clip_grad_norm(p, 100.0) == sqrt(sum));
    TC_CHECK(memcmp(saved, g, (size_t)n * sizeof(float)) == 0);
    /* above: scaled by max_norm / (norm + 1e-6) */
    norm = tc_params_clip_grad_norm(p, 1.0);
    TC_CHECK(norm == sqrt(sum));
    c = (float)(1.0 / (sqrt(sum) + 1e-6));
    for (i = 0; i < n; i++)
        ok &= g[i] == saved[i] * c;
    TC_CHECK(ok);
    TC_CHECK_NEAR(tc_params_clip_grad_norm(p, 0.0), 1.0, 1e-5);
    tc_params_free(p);

    /* the 3-4-5 case by hand, and torch's behaviour at norm == max_norm */
    {
        const int64_t two[1] = {2};
        tc_tensor *t = NULL;
        TC_CHECK_OK(tc_params_new(&p));
        TC_CHECK_OK(tc_params_add(p, &t, "v", 1, two, 0));
        if (!t) {
            tc_params_free(p);
            return;
        }
        t->grad[0] = 3.0f;
        t->grad[1] = 4.0f;
        TC_CHECK(tc_params_clip_grad_norm(p, 2.5) == 5.0);
        c = (float)(2.5 / 5.000001);
        TC_CHECK(t->grad[0] == 3.0f * c && t->grad[1] == 4.0f * c);
        t->grad[0] = 3.0f;
        t->grad[1] = 4.0f;
        TC_CHECK(tc_params_clip_grad_norm(p, 5.0) == 5.0);
        c = (float)(5.0 / 5.000001);
        TC_CHECK(t->grad[0] == 3.0f * c && c < 1.0f);
        tc_params_zero_grad(p);
        TC_CHECK(tc_params_clip_grad_norm(p, 1.0) == 0.0);
        TC_CHECK(t->grad[0] == 0.0f);
        tc_params_free(p);
    }
}

static void test_sdk_params__copy(void)
{
    tc_params *a = make_mlp(), *b = make_mlp(), *c = NULL;
    const int64_t other[2] = {4, 3}, b1[1] = {4}, w2[2] = {2, 3};
    int64_t i;
    int ok = 1;

    TC_CHECK(a && b);
    if (!a || !b)
        goto out;
    for (i = 0; i < tc_params_numel(a); i++)
        tc_params_data(a)[i] = (float)i * 0.5f;
    TC_CHECK_OK(tc_params_copy(b, a));
    for (i = 0; i < tc_params_numel(a); i++)
        ok &= tc_params_data(b)[i] == (float)i * 0.5f;
    TC_CHECK(ok);
    TC_CHECK_OK(tc_params_new(&c));
    TC_CHECK_OK(tc_params_add(c, NULL, "fc1.weight", 2, other, 0));
    TC_CHECK_ERR(tc_params_copy(c, a), TC_EINVAL);
    TC_CHECK_OK(tc_params_add(c, NULL, "fc1.bias", 1, b1, 0));
    TC_CHECK_OK(tc_params_add(c, NULL, "fc2.weight", 2, w2, 0));
    TC_CHECK_ERR(tc_params_copy(c, a), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "parameter 'fc1.weight' has shape [3, 4]");
out:
    tc_params_free(a);
    tc_params_free(b);
    tc_params_free(c);
}

static void fill(tc_params *p, float base)
{
    int64_t i;

    for (i = 0; i < tc_params_numel(p); i++)
        tc_params_data(p)[i] = base + (float)i * 0.25f;
}

static void test_sdk_params__save_load(void)
{
    const char *path = tmp_file("mlp.safetensors");
    const char *const meta[] = {"format", "pt", NULL};
    tc_params *a = make_mlp(), *b = make_mlp();
    tc_safetensors *st = NULL;
    const tc_st_tensor *t;
    int64_t i;
    int ok = 1;

    TC_CHECK(a && b);
    if (!a || !b)
        goto out;
    fill(a, 1.0f);
    TC_CHECK_OK(tc_params_save(a, path, meta));
    TC_CHECK_OK(tc_params_load(b, path, 0));
    for (i = 0; i < tc_params_numel(a); i++)
        ok &= tc_params_data(b)[i] == tc_params_data(a)[i];
    TC_CHECK(ok);
    /* the file itself: F32, names and shapes, metadata, sorted by name */
    TC_CHECK_OK(tc_safetensors_open(&st, path));
    if (st) {
        TC_CHECK(tc_safetensors_count(st) == 3);
        TC_CHECK(strcmp(tc_safetensors_metadata(st, "format"), "pt") == 0);
        t = tc_safetensors_at(st, 0);
        TC_CHECK(t && strcmp(t->name, "fc1.bias") == 0 && t->dtype == TC_ST_F32);
        t = tc_safetensors_find(st, "fc2.weight");
        TC_CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
        tc_safetensors_free(st);
    }
    /* saving again gives the same bytes */
    {
        FILE *f1, *f2;
        char b1[1024], b2[1024];
        size_t n1, n2;
        TC_CHECK_OK(tc_params_save(b, tmp_file("again.safetensors"), meta));
        f1 = fopen(path, "rb");
        f2 = fopen(tmp_file("again.safetensors"), "rb");
        n1 = f1 ? fread(b1, 1, sizeof(b1), f1) : 0;
        n2 = f2 ? fread(b2, 1, sizeof(b2), f2) : 1;
        TC_CHECK(n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0);
        if (f1)
            fclose(f1);
        if (f2)
            fclose(f2);
    }
out:
    tc_params_free(a);
    tc_params_free(b);
}

static void test_sdk_params__load_errors(void)
{
    const char *path = tmp_file("small.safetensors");
    const int64_t w1t[2] = {4, 3}, b1[1] = {4}, w2[2] = {2, 3}, w1[2] = {3, 4};
    tc_params *src = NULL, *dst = make_mlp();
    int64_t i;
    int ok = 1;

    TC_CHECK(dst != NULL);
    if (!dst)
        return;
    fill(dst, -5.0f);
    /* a file with fc1.weight transposed */
    TC_CHECK_OK(tc_params_new(&src));
    TC_CHECK_OK(tc_params_add(src, NULL, "fc1.weight", 2, w1t, 0));
    TC_CHECK_OK(tc_params_add(src, NULL, "fc1.bias", 1, b1, 0));
    TC_CHECK_OK(tc_params_add(src, NULL, "fc2.weight", 2, w2, 0));
    fill(src, 100.0f);
    TC_CHECK_OK(tc_params_save(src, path, NULL));
    TC_CHECK_ERR(tc_params_load(dst, path, 0), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'fc1.weight'");
    TC_CHECK_STR_CONTAINS(tc_error_message(), path);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "has shape [4, 3], expected [3, 4]");
    /* validation comes first: nothing was loaded */
    for (i = 0; i < tc_params_numel(dst); i++)
        ok &= tc_params_data(dst)[i] == -5.0f + (float)i * 0.25f;
    TC_CHECK(ok);
    tc_params_free(src);

    /* a file with fc1.bias only, plus an extra tensor */
    TC_CHECK_OK(tc_params_new(&src));
    TC_CHECK_OK(tc_params_add(src, NULL, "extra", 1, b1, 0));
    TC_CHECK_OK(tc_params_add(src, NULL, "fc1.bias", 1, b1, 0));
    fill(src, 100.0f);
    TC_CHECK_OK(tc_params_save(src, path, NULL));
    TC_CHECK_ERR(tc_params_load(dst, path, 0), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'fc1.weight' not found in");
    TC_CHECK_STR_CONTAINS(tc_error_message(), path);
    TC_CHECK_OK(tc_params_load(dst, path, 1));
    TC_CHECK(tc_params_find(dst, "fc1.bias")->data[0] == 101.0f);  /* after the 4 floats of extra */
    TC_CHECK(tc_params_find(dst, "fc1.weight")->data[0] == -5.0f); /* left as it was */
    TC_CHECK(tc_params_find(dst, "fc2.weight")->data[5] == -5.0f + 21 * 0.25f);
    tc_params_free(src);

    /* F16 and BF16 convert; integer dtypes are refused */
    {
        uint16_t h[12], bf[4] = {0x3F80, 0xC000, 0x4040, 0x0000};
        int64_t ids[6] = {0};
        tc_st_entry e[3] = {{"fc1.weight", TC_ST_F16, 2, w1, h},
                            {"fc1.bias", TC_ST_BF16, 1, b1, bf},
                            {"fc2.weight", TC_ST_F32, 2, w2, NULL}};
        float f2[6] = {1, 2, 3, 4, 5, 6};
        for (i = 0; i < 12; i++)
            h[i] = 0x3800; /* 0.5 */
        e[2].data = f2;
        TC_CHECK_OK(tc_safetensors_write(path, e, 3, NULL));
        TC_CHECK_OK(tc_params_load(dst, path, 0));
        TC_CHECK(tc_params_find(dst, "fc1.weight")->data[11] == 0.5f);
        TC_CHECK(tc_params_find(dst, "fc1.bias")->data[1] == -2.0f);
        TC_CHECK(tc_params_find(dst, "fc1.bias")->data[2] == 3.0f);
        TC_CHECK(tc_params_find(dst, "fc2.weight")->data[5] == 6.0f);
        e[2].dtype = TC_ST_I64;
        e[2].data = ids;
        TC_CHECK_OK(tc_safetensors_write(path, e, 3, NULL));
        TC_CHECK_ERR(tc_params_load(dst, path, 0), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "tensor 'fc2.weight'");
        TC_CHECK_STR_CONTAINS(tc_error_message(), "I64");
    }
    /* malformed and missing files */
    {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite("garbage!garbage!", 1, 16, f);
            fclose(f);
        }
        TC_CHECK_ERR(tc_params_load(dst, path, 0), TC_EFORMAT);
        TC_CHECK_ERR(tc_params_load(dst, tmp_file("none.safetensors"), 1), TC_ENOTFOUND);
    }
    tc_params_free(dst);
}

static void test_sdk_params__init(void)
{
    const int64_t w[2] = {64, 16}, b[1] = {64}, big[1] = {100000};
    tc_params *p = NULL;
    tc_tensor *tw = NULL, *tb = NULL, *tn = NULL;
    tc_rng r, r2;
    int64_t i;
    double sum = 0, sq = 0;
    float lo = 1, hi = -1, first;
    int ok = 1;

    TC_CHECK_OK(tc_params_new(&p));
    TC_CHECK_OK(tc_params_add(p, &tw, "w", 2, w, 0));
    TC_CHECK_OK(tc_params_add(p, &tb, "b", 1, b, TC_TENSOR_NO_DECAY));
    TC_CHECK_OK(tc_params_add(p, &tn, "n", 1, big, 0));
    if (!tw || !tb || !tn) {
        tc_params_free(p);
        return;
    }
    /* nn.Linear: U(-1/sqrt(16), 1/sqrt(16)) = U(-0.25, 0.25) for weight and bias */
    tc_rng_init(&r, 42, TC_RNG_STREAM_INIT);
    r2 = r;
    tc_init_linear(tw, tb, &r);
    for (i = 0; i < tw->numel; i++) {
        lo = tw->data[i] < lo ? tw->data[i] : lo;
        hi = tw->data[i] > hi ? tw->data[i] : hi;
    }
    for (i = 0; i < tb->numel; i++)
        ok &= tb->data[i] >= -0.25f && tb->data[i] < 0.25f;
    TC_CHECK(ok && lo >= -0.25f && hi < 0.25f && lo < -0.2f && hi > 0.2f);
    /* element order, weight then bias, from the same generator */
    TC_CHECK(r.counter == (uint64_t)(tw->numel + tb->numel));
    first = -0.25f + 0.5f * tc_rng_uniform(&r2);
    TC_CHECK(tw->data[0] == first);
    /* normal */
    tc_init_normal(tn, &r, 1.0f, 0.02f);
    for (i = 0; i < tn->numel; i++) {
        sum += tn->data[i];
        sq += ((double)tn->data[i] - 1.0) * ((double)tn->data[i] - 1.0);
    }
    TC_CHECK_NEAR(sum / (double)tn->numel, 1.0, 0.001);
    TC_CHECK_NEAR(sqrt(sq / (double)tn->numel), 0.02, 0.0005);
    tc_init_uniform(tn, &r, 2.0f, 3.0f);
    for (i = 0; i < tn->numel; i++)
        ok &= tn->data[i] >= 2.0f && tn->data[i] < 3.0f;
    TC_CHECK(ok);
    tc_init_constant(tb, 0.5f);
    for (i = 0; i < tb->numel; i++)
        ok &= tb->data[i] == 0.5f;
    TC_CHECK(ok);
    tc_init_linear(tw, NULL, &r); /* bias may be NULL */
    tc_params_free(p);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_sdk_params__cleanup(void)
{
    if (tmpdir[0])
        TC_CHECK(nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_params__add_and_find), TC_TEST(test_sdk_params__add_errors),
    TC_TEST(test_sdk_params__buffers_move), TC_TEST(test_sdk_params__clip_grad_norm),
    TC_TEST(test_sdk_params__copy),         TC_TEST(test_sdk_params__save_load),
    TC_TEST(test_sdk_params__load_errors),  TC_TEST(test_sdk_params__init),
    TC_TEST(test_sdk_params__cleanup),
};

TC_TEST_MAIN(tests)
