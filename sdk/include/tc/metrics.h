/*
 * tc/metrics.h - classification metrics from a confusion matrix.
 *
 * A tc_confusion counts (label, prediction) pairs over an evaluation set;
 * accuracy and macro F1 are then read from the counts, so evaluation can
 * stream batch by batch. Labels equal to TC_IGNORE_INDEX (-100, as the
 * cross-entropy loss skips them) are not counted. Counts are int64 and exact;
 * the derived metrics are computed in double.
 *
 * Macro F1 follows scikit-learn's f1_score(average="macro", zero_division=0)
 * with labels=None: the mean of the per-class F1 = 2 tp / (2 tp + fp + fn)
 * over the classes that occur in the labels or in the predictions. A class
 * that occurs in neither is left out of the mean (it does not count as 0); a
 * class that was predicted but never occurs in the labels, or occurs but was
 * never predicted correctly, counts as 0.
 */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Upper bound on num_labels (the matrix holds num_labels^2 int64 counts). */
#define TC_CONFUSION_MAX_LABELS 4096

typedef struct tc_confusion tc_confusion;

/**
 * Create an empty confusion matrix for labels 0 .. num_labels-1.
 * @param out receives the matrix, owned by the caller, released with tc_confusion_free
 * @return TC_OK, TC_EINVAL when num_labels is not in [1, TC_CONFUSION_MAX_LABELS], TC_ENOMEM
 */
TC_API int tc_confusion_new(tc_confusion **out, int32_t num_labels);

/** Release. Accepts NULL. */
TC_API void tc_confusion_free(tc_confusion *c);

/** Set every count to zero (start a new evaluation). */
TC_API void tc_confusion_reset(tc_confusion *c);

/**
 * Count n (label, prediction) pairs. Pairs whose label is TC_IGNORE_INDEX
 * are skipped whatever their prediction. The batch is checked first and
 * counted only if valid, so a failed call changes nothing.
 * @param pred (n) predicted classes
 * @param labels (n) true classes or TC_IGNORE_INDEX
 * @return TC_OK, or TC_EINVAL naming the first label or prediction outside
 *         [0, num_labels) and its position
 */
TC_API int tc_confusion_add(tc_confusion *c, const int32_t *pred, const int32_t *labels, int64_t n);

/** Number of pairs counted (ignored labels excluded). */
TC_API int64_t tc_confusion_total(const tc_confusion *c);

/** Fraction of counted pairs with pred == label; 0 when nothing was counted. */
TC_API double tc_confusion_accuracy(const tc_confusion *c);

/**
 * Macro F1 as scikit-learn computes it (see the top of this header): the mean
 * of per-class F1 over the classes present in the labels or the predictions;
 * 0 when nothing was counted.
 */
TC_API double tc_confusion_macro_f1(const tc_confusion *c);

/** How many pairs had this true label and this prediction; 0 when either is out of range. */
TC_API int64_t tc_confusion_count(const tc_confusion *c, int32_t label, int32_t pred);

/**
 * Row-wise argmax: out[b] = the index of the largest of logits[b*C .. b*C+C-1].
 * Ties go to the first index, as torch.argmax; a NaN counts as the largest
 * value (the first NaN wins), also as torch. With C < 1 (or no logits) every row gives -1.
 * @param out (B) class indices
 * @param logits (B, C) row-major scores
 */
TC_API void tc_argmax_rows(int32_t *out, const float *logits, int64_t B, int64_t C);

#ifdef __cplusplus
}
#endif

#endif /* TC_METRICS_H */
