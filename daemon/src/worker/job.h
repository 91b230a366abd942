/*
 * job.h - a training job built from a spec: plugins loaded, options
 * validated, train config filled. Everything that can be checked is checked
 * here, before any data is read.
 */
#ifndef TCD_JOB_H
#define TCD_JOB_H

#include <tc/trainer.h>

#include "spec.h"

typedef struct tcd_job {
    tcd_spec spec;
    tc_plugin *model_plugin, *data_plugin;
    tc_options *model_opts, *data_opts;
    tc_train_config cfg;
    const char *pretrained; /* model.from: a local HF-layout directory, or NULL */
    char *pretrained_dir;   /* the snapshot folder of a model.from Hub id, once pulled */
    char run_id[17];
    /* the Hub commits pulled for data.dataset and model.from ("" when not from the Hub) */
    char data_commit[41], model_commit[41];
} tcd_job;

/* Validate spec (already loaded, overrides applied) into job. */
int tcd_job_prepare(tcd_job *job);

void tcd_job_dispose(tcd_job *job);

/*
 * Parse a section's ("data" or "model") options again with key set to value
 * (e.g. data.dataset -> the snapshot folder of a pulled Hub dataset).
 */
int tcd_job_set_option(tcd_job *job, const char *section, const char *key, const char *value);

/* Whether the section's ("data" or "model") plugin declares a string option of that name. */
int tcd_job_declares(const tcd_job *job, const char *section, const char *key);

/* The option of that name that plugin p (may be NULL) declares, or NULL. */
const tc_option_spec *tcd_plugin_option(const tc_plugin *p, const char *name);

#endif /* TCD_JOB_H */
