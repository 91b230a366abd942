/*
 * test_metrics.c - confusion matrix, accuracy, macro F1 (scikit-learn's rule)
 * and row argmax. tests/fixtures/metrics_fixture.txt holds a case scored by
 * sklearn.metrics (written by gen_optim_fixture.py).
 */
#include <stdint.h>

#include <tc/error.h>
#include <tc/metrics.h>
#include <tc/ops.h>

#include "tc_test.h"

#define FIXTURE TC_TEST_DATA_DIR "/metrics_fixture.txt"
#define IGN TC_IGNORE_INDEX

/* Four pairs by hand: (0,0) (1,2) (2,2) (2,1), one ignored label. */
static void test_sdk_metrics__hand_case(void)
{
    const int32_t labels[5] = {0, 1, 2, 2, IGN};
    const int32_t pred[5] = {0, 2, 2, 1, 99}; /* an ignored label's prediction is not checked */
    tc_confusion *c = NULL;

    TC_CHECK_OK(tc_confusion_new(&c, 3));
    if (!c)
        return;
    TC_CHECK_OK(tc_confusion_add(c, pred, labels, 5));
    TC_CHECK(tc_confusion_total(c) == 4);
    TC_CHECK(tc_confusion_count(c, 0, 0) == 1);
    TC_CHECK(tc_confusion_count(c, 1, 2) == 1);
    TC_CHECK(tc_confusion_count(c, 2, 2) == 1);
    TC_CHECK(tc_confusion_count(c, 2, 1) == 1);
    TC_CHECK(tc_confusion_count(c, 1, 1) == 0);
    TC_CHECK(tc_confusion_count(c, 3, 0) == 0 && tc_confusion_count(c, 0, -1) == 0);
    TC_CHECK_NEAR(tc_confusion_accuracy(c), 0.5, 1e-15);
    /* F1: class 0 = 1, class 1 = 0 (tp 0), class 2 = 2/(2+1+1) = 0.5 */
    TC_CHECK_NEAR(tc_confusion_macro_f1(c), 0.5, 1e-15);

    /* counts accumulate across batches */
    TC_CHECK_OK(tc_confusion_add(c, pred, labels, 5));
    TC_CHECK(tc_confusion_total(c) == 8 && tc_confusion_count(c, 2, 1) == 2);
    TC_CHECK_NEAR(tc_confusion_macro_f1(c), 0.5, 1e-15);

    tc_confusion_reset(c);
    TC_CHECK(tc_confusion_total(c) == 0 && tc_confusion_count(c, 0, 0) == 0);
    TC_CHECK(tc_confusion_accuracy(c) == 0.0 && tc_confusion_macro_f1(c) == 0.0);
    tc_confusion_free(c);
}

/*
 * A class that never occurs and is never predicted is left out of the mean
 * (sklearn labels=None), while one that occurs but is never predicted counts 0.
 */
static void test_sdk_metrics__absent_and_unpredicted(void)
{
    const int32_t labels[4] = {0, 0, 1, 1};
    const int32_t pred[4] = {0, 0, 0, 0};
    tc_confusion *c = NULL;

    TC_CHECK_OK(tc_confusion_new(&c, 4)); /* classes 2 and 3 never appear */
    if (!c)
        return;
    TC_CHECK_OK(tc_confusion_add(c, pred, labels, 4));
    TC_CHECK_NEAR(tc_confusion_accuracy(c), 0.5, 1e-15);
    /* class 0: tp 2, fp 2, fn 0 -> 4/6; class 1: never predicted -> 0; mean of 2 */
    TC_CHECK_NEAR(tc_confusion_macro_f1(c), (4.0 / 6.0 + 0.0) / 2.0, 1e-15);
    tc_confusion_free(c);

    /* predicted but never a label: counts as 0 */
    {
        const int32_t l2[3] = {0, 0, 0}, p2[3] = {0, 0, 1};
        TC_CHECK_OK(tc_confusion_new(&c, 3));
        TC_CHECK_OK(tc_confusion_add(c, p2, l2, 3));
        /* class 0: tp 2, fn 1 -> 4/5; class 1: fp 1 -> 0; class 2 absent */
        TC_CHECK_NEAR(tc_confusion_macro_f1(c), (0.8 + 0.0) / 2.0, 1e-15);
        tc_confusion_free(c);
    }
}

static void test_sdk_metrics__all_ignored(void)
{
    const int32_t labels[2] = {IGN, IGN}, pred[2] = {0, 1};
    tc_confusion *c = NULL;

    TC_CHECK_OK(tc_confusion_new(&c, 2));
    TC_CHECK_OK(tc_confusion_add(c, pred, labels, 2));
    TC_CHECK_OK(tc_confusion_add(c, NULL, NULL, 0));
    TC_CHECK(tc_confusion_total(c) == 0);
    TC_CHECK(tc_confusion_accuracy(c) == 0.0 && tc_confusion_macro_f1(c) == 0.0);
    tc_confusion_free(c);
}

static void test_sdk_metrics__errors(void)
{
    const int32_t labels[3] = {0, 7, 1}, pred[3] = {0, 0, 1};
    const int32_t ok_labels[2] = {0, 1}, bad_pred[2] = {1, -1};
    tc_confusion *c = NULL;

    TC_CHECK_ERR(tc_confusion_new(&c, 0), TC_EINVAL);
    TC_CHECK_ERR(tc_confusion_new(&c, TC_CONFUSION_MAX_LABELS + 1), TC_EINVAL);
    TC_CHECK_ERR(tc_confusion_new(NULL, 2), TC_EINVAL);
    TC_CHECK(c == NULL);
    TC_CHECK_OK(tc_confusion_new(&c, 2));
    if (!c)
        return;
    TC_CHECK_ERR(tc_confusion_add(c, pred, labels, 3), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "label 7");
    TC_CHECK_STR_CONTAINS(tc_error_message(), "position 1");
    TC_CHECK(tc_confusion_total(c) == 0); /* nothing counted from a bad batch */
    TC_CHECK_ERR(tc_confusion_add(c, bad_pred, ok_labels, 2), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "prediction -1");
    TC_CHECK(tc_confusion_total(c) == 0 && tc_confusion_count(c, 0, 1) == 0);
    TC_CHECK_ERR(tc_confusion_add(c, NULL, ok_labels, 2), TC_EINVAL);
    TC_CHECK_ERR(tc_confusion_add(c, pred, labels, -1), TC_EINVAL);
    TC_CHECK_ERR(tc_confusion_add(NULL, pred, labels, 1), TC_EINVAL);
    tc_confusion_free(c);
    tc_confusion_free(NULL);
    tc_confusion_reset(NULL);
    TC_CHECK(tc_confusion_total(NULL) == 0);
}

/* The sklearn-scored case: 6 labels, one never predicted, one absent, one only predicted. */
static void test_sdk_metrics__sklearn_fixture(void)
{
    FILE *f = fopen(FIXTURE, "r");
    char line[4096];
    int32_t labels[256], pred[256];
    int num_labels = 0, n = 0, i, got_l = 0, got_p = 0;
    double acc = -1.0, f1 = -1.0;
    tc_confusion *c = NULL;

    TC_CHECK(f != NULL);
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *end;
        int32_t *dst = NULL;

        if (sscanf(line, "num_labels %d", &num_labels) == 1 || sscanf(line, "n %d", &n) == 1 ||
            sscanf(line, "accuracy %lf", &acc) == 1 || sscanf(line, "macro_f1 %lf", &f1) == 1)
            continue;
        if (!strncmp(line, "labels ", 7))
            dst = labels, got_l = 1, p += 7;
        else if (!strncmp(line, "preds ", 6))
            dst = pred, got_p = 1, p += 6;
        for (i = 0; dst && i < n && i < 256; i++) {
            dst[i] = (int32_t)strtol(p, &end, 10);
            p = end;
        }
    }
    fclose(f);
    TC_CHECK(got_l && got_p && n > 0 && n <= 256 && num_labels == 6);
    TC_CHECK_OK(tc_confusion_new(&c, num_labels));
    if (!c)
        return;
    TC_CHECK_OK(tc_confusion_add(c, pred, labels, n));
    TC_CHECK(tc_confusion_total(c) < n); /* some labels are ignored */
    TC_CHECK_NEAR(tc_confusion_accuracy(c), acc, 1e-12);
    TC_CHECK_NEAR(tc_confusion_macro_f1(c), f1, 1e-12);
    tc_confusion_free(c);
}

static void test_sdk_metrics__argmax(void)
{
    const float logits[4 * 3] = {
        0.1f,      0.7f,      0.7f,      /* tie: first max wins -> 1 */
        -3.0f,     -1.0f,     -2.0f,     /* all negative -> 1 */
        2.0f,      NAN,       5.0f,      /* NaN is the max, as torch.argmax -> 1 */
        -INFINITY, -INFINITY, -INFINITY, /* all equal -> 0 */
    };
    const float one[2] = {4.0f, -4.0f};
    int32_t out[4] = {-7, -7, -7, -7};

    tc_argmax_rows(out, logits, 4, 3);
    TC_CHECK(out[0] == 1 && out[1] == 1 && out[2] == 1 && out[3] == 0);
    tc_argmax_rows(out, one, 2, 1);
    TC_CHECK(out[0] == 0 && out[1] == 0);
    out[0] = 9;
    tc_argmax_rows(out, logits, 0, 3); /* no rows: untouched */
    TC_CHECK(out[0] == 9);
    tc_argmax_rows(out, NULL, 2, 0);
    TC_CHECK(out[0] == -1 && out[1] == -1);
    {
        const float first_nan[3] = {NAN, 9.0f, NAN};
        tc_argmax_rows(out, first_nan, 1, 3);
        TC_CHECK(out[0] == 0);
    }
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_metrics__hand_case),       TC_TEST(test_sdk_metrics__absent_and_unpredicted),
    TC_TEST(test_sdk_metrics__all_ignored),     TC_TEST(test_sdk_metrics__errors),
    TC_TEST(test_sdk_metrics__sklearn_fixture), TC_TEST(test_sdk_metrics__argmax),
};

TC_TEST_MAIN(tests)
