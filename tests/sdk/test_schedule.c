/*
 * test_schedule.c - learning-rate schedules against HF's lambdas run through
 * torch's LambdaLR and fastai's one-cycle (tests/fixtures/schedule_fixture.txt,
 * written by gen_optim_fixture.py), plus the indexing rules of
 * TRAINING-ANCHORS.md 2.2 checked directly.
 */
#include <stdint.h>

#include <tc/error.h>
#include <tc/optim.h>

#include "tc_test.h"

#define FIXTURE TC_TEST_DATA_DIR "/schedule_fixture.txt"

/* Relative 1e-6 (f32 results); exact zeros must stay zero. */
#define CHECK_REL(got, want) TC_CHECK_NEAR((got), (want), 1e-6 * fabs((double)(want)))

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Parse "lrs v v v" / "moms v v v" at *p into out (count values). */
static int parse_values(char **p, const char *tag, double *out, int count)
{
    char *s = *p;
    int i;

    while (*s == '\n' || *s == ' ')
        s++;
    if (strncmp(s, tag, strlen(tag)) != 0)
        return -1;
    s += strlen(tag);
    for (i = 0; i < count; i++)
        out[i] = strtod(s, &s);
    *p = s;
    return 0;
}

static void test_sdk_schedule__fixture(void)
{
    char *buf = read_all(FIXTURE), *p, *line;
    int schedules = 0;

    TC_CHECK(buf != NULL);
    if (!buf)
        return;
    p = buf;
    while ((line = strstr(p, "\nschedule "))) {
        char kind[32];
        double lr, want[64], moms[64];
        long long total, warmup;
        int count, k, n = 0;
        tc_schedule s;

        if (sscanf(line + 1, "schedule %31s %lf %lld %lld %d%n", kind, &lr, &total, &warmup, &count,
                   &n) != 5 ||
            count > 64) {
            TC_CHECK(0);
            break;
        }
        p = line + 1 + n;
        TC_CHECK(parse_values(&p, "lrs", want, count) == 0);
        TC_CHECK(tc_schedule_kind_parse(kind) >= 0);
        tc_schedule_init(&s, (tc_schedule_kind)tc_schedule_kind_parse(kind), (float)lr, total,
                         warmup);
        for (k = 0; k < count; k++)
            CHECK_REL(tc_schedule_lr(&s, k), want[k]);
        if (s.kind == TC_SCHEDULE_ONE_CYCLE) {
            TC_CHECK(parse_values(&p, "moms", moms, count) == 0);
            for (k = 0; k < count; k++)
                CHECK_REL(tc_schedule_beta1(&s, k), moms[k]);
        } else {
            for (k = 0; k < count; k++)
                TC_CHECK(tc_schedule_beta1(&s, k) == -1.0f);
        }
        schedules++;
    }
    TC_CHECK(schedules == 8);
    free(buf);
}

/* HF linear: the first update gets lr 0 under warmup, the last lr/(N-W). */
static void test_sdk_schedule__linear_indexing(void)
{
    tc_schedule s;
    const float lr = 5e-5f;
    const int64_t N = 10, W = 3;

    tc_schedule_init(&s, TC_SCHEDULE_LINEAR, lr, N, W);
    TC_CHECK(tc_schedule_lr(&s, 0) == 0.0f);
    CHECK_REL(tc_schedule_lr(&s, 1), lr / 3.0);
    CHECK_REL(tc_schedule_lr(&s, W), lr);
    CHECK_REL(tc_schedule_lr(&s, N - 1), lr * 1.0 / (double)(N - W));
    TC_CHECK(tc_schedule_lr(&s, N) == 0.0f);
    TC_CHECK(tc_schedule_lr(&s, N + 5) == 0.0f);

    /* no warmup: the first update uses the full lr */
    tc_schedule_init(&s, TC_SCHEDULE_LINEAR, lr, N, 0);
    TC_CHECK(tc_schedule_lr(&s, 0) == lr);
    CHECK_REL(tc_schedule_lr(&s, N - 1), lr / (double)N);

    /* degenerate: N = W = 0 never divides by zero */
    tc_schedule_init(&s, TC_SCHEDULE_LINEAR, lr, 0, 0);
    TC_CHECK(tc_schedule_lr(&s, 0) == 0.0f);
}

static void test_sdk_schedule__cosine_and_constant(void)
{
    tc_schedule s;
    const float lr = 1e-3f;

    tc_schedule_init(&s, TC_SCHEDULE_COSINE, lr, 12, 2);
    TC_CHECK(tc_schedule_lr(&s, 0) == 0.0f);
    CHECK_REL(tc_schedule_lr(&s, 1), lr * 0.5);
    TC_CHECK(tc_schedule_lr(&s, 2) == lr);
    CHECK_REL(tc_schedule_lr(&s, 7), lr * 0.5); /* halfway through the decay */
    TC_CHECK(tc_schedule_lr(&s, 12) == 0.0f);

    tc_schedule_init(&s, TC_SCHEDULE_CONSTANT, lr, 100, 4);
    TC_CHECK(tc_schedule_lr(&s, 0) == 0.0f);
    CHECK_REL(tc_schedule_lr(&s, 2), lr * 0.5);
    TC_CHECK(tc_schedule_lr(&s, 4) == lr);
    TC_CHECK(tc_schedule_lr(&s, 1000) == lr);
    tc_schedule_init(&s, TC_SCHEDULE_CONSTANT, lr, 100, 0);
    TC_CHECK(tc_schedule_lr(&s, 0) == lr);
    TC_CHECK(tc_schedule_lr(&s, -3) == lr);
}

/* fastai one-cycle: lr lr/div -> lr -> lr/div_final, beta1 0.95 -> 0.85 -> 0.95. */
static void test_sdk_schedule__one_cycle(void)
{
    tc_schedule s;
    const float lr = 2e-3f;

    tc_schedule_init(&s, TC_SCHEDULE_ONE_CYCLE, lr, 100, 0);
    TC_CHECK(s.div == 25.0f && s.div_final == 1e5f && s.pct_start == 0.25f);
    TC_CHECK(s.mom_max == 0.95f && s.mom_min == 0.85f);
    CHECK_REL(tc_schedule_lr(&s, 0), lr / 25.0);
    CHECK_REL(tc_schedule_beta1(&s, 0), 0.95);
    CHECK_REL(tc_schedule_lr(&s, 25), lr);
    CHECK_REL(tc_schedule_beta1(&s, 25), 0.85);
    /* the rise is a half cosine: the midpoint of lr/div .. lr at k = 12.5 */
    TC_CHECK(tc_schedule_lr(&s, 12) < (lr / 25.0 + lr) / 2.0);
    TC_CHECK(tc_schedule_lr(&s, 13) > (lr / 25.0 + lr) / 2.0);
    /* monotone: up until pct_start, down after; beta1 mirrors */
    {
        int64_t k;
        for (k = 1; k < 100; k++) {
            float a = tc_schedule_lr(&s, k - 1), b = tc_schedule_lr(&s, k);
            float ma = tc_schedule_beta1(&s, k - 1), mb = tc_schedule_beta1(&s, k);
            TC_CHECK(k <= 25 ? b > a : b < a);
            TC_CHECK(k <= 25 ? mb < ma : mb > ma);
        }
    }
    /* past the end: held at the final values */
    CHECK_REL(tc_schedule_lr(&s, 100), lr / 1e5);
    CHECK_REL(tc_schedule_lr(&s, 500), lr / 1e5);
    CHECK_REL(tc_schedule_beta1(&s, 100), 0.95);

    /* pct_start 0 starts at the peak; pct_start 1 only rises */
    s.pct_start = 0.0f;
    CHECK_REL(tc_schedule_lr(&s, 0), lr);
    CHECK_REL(tc_schedule_beta1(&s, 0), 0.85);
    s.pct_start = 1.0f;
    CHECK_REL(tc_schedule_lr(&s, 0), lr / 25.0);
    TC_CHECK(tc_schedule_lr(&s, 99) > tc_schedule_lr(&s, 98));
    TC_CHECK(isfinite(tc_schedule_lr(&s, 100)));
}

static void test_sdk_schedule__kind_parse(void)
{
    TC_CHECK(tc_schedule_kind_parse("constant") == TC_SCHEDULE_CONSTANT);
    TC_CHECK(tc_schedule_kind_parse("linear") == TC_SCHEDULE_LINEAR);
    TC_CHECK(tc_schedule_kind_parse("cosine") == TC_SCHEDULE_COSINE);
    TC_CHECK(tc_schedule_kind_parse("one_cycle") == TC_SCHEDULE_ONE_CYCLE);
    TC_CHECK(tc_schedule_kind_parse("onecycle") == TC_SCHEDULE_ONE_CYCLE);
    TC_CHECK(tc_schedule_kind_parse("Linear") == -1);
    TC_CHECK(tc_schedule_kind_parse("") == -1);
    TC_CHECK(tc_schedule_kind_parse("polynomial") == -1);
    TC_CHECK(tc_schedule_kind_parse(NULL) == -1);
}

static void test_sdk_schedule__no_schedule(void)
{
    TC_CHECK(tc_schedule_lr(NULL, 0) == 0.0f);
    TC_CHECK(tc_schedule_beta1(NULL, 0) == -1.0f);
    tc_schedule_init(NULL, TC_SCHEDULE_LINEAR, 1.0f, 1, 0);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_schedule__fixture),
    TC_TEST(test_sdk_schedule__linear_indexing),
    TC_TEST(test_sdk_schedule__cosine_and_constant),
    TC_TEST(test_sdk_schedule__one_cycle),
    TC_TEST(test_sdk_schedule__kind_parse),
    TC_TEST(test_sdk_schedule__no_schedule),
};

TC_TEST_MAIN(tests)
