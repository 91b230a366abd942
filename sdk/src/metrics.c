/*
 * metrics.c - confusion matrix, accuracy, macro F1 and row argmax.
 *
 * Dimension vocabulary: L labels, B rows, C classes per row.
 */
#include <math.h>
#include <string.h>

#include <tc/error.h>
#include <tc/metrics.h>
#include <tc/ops.h>

struct tc_confusion {
    int32_t num_labels; /* L */
    int64_t total;      /* pairs counted */
    int64_t *counts;    /* (L, L): counts[label * L + pred] */
};

int tc_confusion_new(tc_confusion **out, int32_t num_labels)
{
    tc_confusion *c = NULL;

    TC_ASSERT_ARG(out);
    if (num_labels < 1 || num_labels > TC_CONFUSION_MAX_LABELS)
        return tc_error_set(TC_EINVAL, "invalid number of labels %d, expected 1 .. %d",
                            (int)num_labels, TC_CONFUSION_MAX_LABELS);
    if (!(c = tc_calloc(1, sizeof(*c))))
        return TC_ENOMEM;
    c->num_labels = num_labels;
    c->counts = tc_calloc((size_t)num_labels * (size_t)num_labels, sizeof(int64_t));
    if (!c->counts) {
        tc_free(c);
        return TC_ENOMEM;
    }
    *out = c;
    return TC_OK;
}

void tc_confusion_free(tc_confusion *c)
{
    if (!c)
        return;
    tc_free(c->counts);
    tc_free(c);
}

void tc_confusion_reset(tc_confusion *c)
{
    if (!c)
        return;
    memset(c->counts, 0, (size_t)c->num_labels * (size_t)c->num_labels * sizeof(int64_t));
    c->total = 0;
}

int tc_confusion_add(tc_confusion *c, const int32_t *pred, const int32_t *labels, int64_t n)
{
    int64_t i;
    int32_t L;

    TC_ASSERT_ARG(c);
    TC_ASSERT_ARG(n >= 0);
    TC_ASSERT_ARG(n == 0 || (pred && labels));
    L = c->num_labels;
    for (i = 0; i < n; i++) {
        if (labels[i] == TC_IGNORE_INDEX)
            continue;
        if (labels[i] < 0 || labels[i] >= L)
            return tc_error_set(TC_EINVAL, "label %d at position %lld is outside [0, %d)",
                                (int)labels[i], (long long)i, (int)L);
        if (pred[i] < 0 || pred[i] >= L)
            return tc_error_set(TC_EINVAL, "prediction %d at position %lld is outside [0, %d)",
                                (int)pred[i], (long long)i, (int)L);
    }
    for (i = 0; i < n; i++) {
        if (labels[i] == TC_IGNORE_INDEX)
            continue;
        c->counts[(int64_t)labels[i] * L + pred[i]]++;
        c->total++;
    }
    return TC_OK;
}

int64_t tc_confusion_total(const tc_confusion *c)
{
    return c ? c->total : 0;
}

double tc_confusion_accuracy(const tc_confusion *c)
{
    int64_t correct = 0;
    int32_t k;

    if (!c || c->total == 0)
        return 0.0;
    for (k = 0; k < c->num_labels; k++)
        correct += c->counts[(int64_t)k * c->num_labels + k];
    return (double)correct / (double)c->total;
}

double tc_confusion_macro_f1(const tc_confusion *c)
{
    double sum = 0.0;
    int64_t present = 0;
    int32_t k, j, L;

    if (!c || c->total == 0)
        return 0.0;
    L = c->num_labels;
    for (k = 0; k < L; k++) {
        int64_t tp = c->counts[(int64_t)k * L + k], support = 0, predicted = 0;

        for (j = 0; j < L; j++) {
            support += c->counts[(int64_t)k * L + j];   /* row k: true label k */
            predicted += c->counts[(int64_t)j * L + k]; /* column k: predicted k */
        }
        if (support == 0 && predicted == 0)
            continue; /* absent from y_true and y_pred: not one of sklearn's labels */
        present++;
        /* 2 tp + fp + fn = support + predicted > 0 here */
        sum += 2.0 * (double)tp / (double)(support + predicted);
    }
    return sum / (double)present;
}

int64_t tc_confusion_count(const tc_confusion *c, int32_t label, int32_t pred)
{
    if (!c || label < 0 || label >= c->num_labels || pred < 0 || pred >= c->num_labels)
        return 0;
    return c->counts[(int64_t)label * c->num_labels + pred];
}

void tc_argmax_rows(int32_t *out, const float *logits, int64_t B, int64_t C)
{
    int64_t b, j;

    if (!out || B <= 0)
        return;
    for (b = 0; b < B; b++) {
        const float *row;
        int64_t best = 0;

        if (C < 1 || !logits) {
            out[b] = -1;
            continue;
        }
        row = logits + b * C;
        if (!isnan(row[0])) {
            for (j = 1; j < C; j++) {
                if (isnan(row[j])) {
                    best = j;
                    break;
                }
                if (row[j] > row[best])
                    best = j;
            }
        }
        out[b] = (int32_t)best;
    }
}
