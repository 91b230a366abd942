/*
 * evaluate.h - a trained model folder scored on a pinned evaluation split
 * (evaluate.c): `tcd-worker evaluate` and the champion/challenger comparison
 * of `tcd-worker push --when improved`.
 */
#ifndef TCD_EVALUATE_H
#define TCD_EVALUATE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include <tc/trainer.h>

#include "job.h"

/* The evaluation data: the data section of a run's spec, opened at a pinned revision. */
typedef struct tcd_eval_data {
    tcd_job job;        /* the spec, its data plugin and options */
    tc_dataset *data;   /* opened */
    tc_split split;     /* the split evaluated on */
    char revision[128]; /* the data's fingerprint (a Hub dataset's commit) */
} tcd_eval_data;

/* What one model scored. */
typedef struct tcd_eval_result {
    tc_split split;
    int64_t n; /* examples evaluated */
    double accuracy, f1, loss;
} tcd_eval_result;

/*
 * Open the data section of the spec at spec_path. split: "test",
 * "validation", or NULL/"" for test when the data has it, else validation.
 * revision: the commit of a Hub dataset to pull (NULL: data.revision, else
 * main). ed is to be closed with tcd_eval_data_close whatever this returns.
 * @return TC_OK, TC_EINVAL (no such split), or the error of the spec, the
 *         plugin, the Hub or the data
 */
int tcd_eval_data_open(tcd_eval_data *ed, const char *spec_path, const char *split,
                       const char *revision);

void tcd_eval_data_close(tcd_eval_data *ed);

/*
 * Evaluate the model folder dir (its own tcd-spec.yaml and config.json) on
 * ed's split. out is written on success.
 * @return TC_OK; TC_EUNSUPPORTED when dir is not a model tcd trained (no
 *         tcd-spec.yaml, no model.plugin) or its classes are not the data's;
 *         else the error of the plugin or the weights
 */
int tcd_eval_model(tcd_eval_result *out, tcd_eval_data *ed, const char *dir);

/* The value of metric ("accuracy", "f1", "loss") in r. */
double tcd_eval_value(const tcd_eval_result *r, const char *metric);

/* {"split","n","accuracy","f1","loss"[,"data_revision"]} (ed may be NULL). */
cJSON *tcd_eval_json(const tcd_eval_result *r, const tcd_eval_data *ed);

/* "test" or "validation" into *out; TC_EINVAL otherwise. */
int tcd_eval_split_parse(const char *name, tc_split *out);

const char *tcd_eval_split_name(tc_split s);

/* tcd-worker evaluate --model DIR --spec SPEC.yaml [--split S] [--revision R] [--json] */
int tcd_cmd_evaluate(int argc, char **argv);

#endif /* TCD_EVALUATE_H */
