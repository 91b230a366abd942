/*
 * worker.h - pieces of tcd-worker shared between its source files.
 */
#ifndef TCD_WORKER_H
#define TCD_WORKER_H

#include <cjson/cJSON.h>

#include <tc/hub.h>
#include <tc/trainer.h>

#include "job.h"

/* What a finished (or cancelled) run reports. */
typedef struct tcd_result_info {
    tc_train_result train;
    char *output;          /* output directory */
    char fingerprint[128]; /* data fingerprint */
    /* what --if-changed compares (see revisions.c): the dataset's Hub commit, else the
     * fingerprint; model.from's Hub commit ("" when none) */
    char data_revision[128], model_revision[41];
    cJSON *confusion; /* the test split's confusion matrix, or NULL */
} tcd_result_info;

/* Print one NDJSON event line on stdout and free it. */
void tcd_emit(cJSON *event);

/* The stable snake_case name of a tc error code ("invalid_argument"). */
const char *tcd_error_code_name(int code);

/* Log every spec entry nobody consumed (e.g. the push section) as a warning. */
void tcd_warn_unused(const tcd_spec *spec, void (*log)(void *, tc_log_level, const char *),
                     void *ctx);

/*
 * Open the data, create the model, train with checkpoints under
 * OUT/checkpoints (resuming unless fresh), then write OUT/model.safetensors,
 * OUT/config.json and OUT/metrics.json. info is filled on TC_OK and TC_ECANCELLED.
 */
int tcd_run_training(tcd_job *job, const char *out, int fresh, const tc_host *host,
                     const tc_train_callbacks *cb, tcd_result_info *info);

/* Not a folder here, and shaped like a Hub id ("name" or "org/name"). */
int tcd_is_hub_id(const char *v);

/*
 * Download a Hub repo (as `tcctl pull` would) into the cache, at revision
 * (NULL: main), only the files matching allow (all when n_allow is 0); what
 * names the spec key for messages ("data.dataset"). *snap: its snapshot
 * folder, free with tc_free.
 */
int tcd_hub_pull(const tc_host *host, tc_hub_repo_type type, const char *what, const char *id,
                 const char *revision, const char *const *allow, size_t n_allow, char **snap);

/* The result: a summary on stderr, and with json the result event on stdout. */
void tcd_print_result(const tcd_result_info *info, const char *state, int json);

void tcd_result_info_dispose(tcd_result_info *info);

/* Not a folder here, and shaped like a Hub id ("name" or "org/name"). */
int tcd_is_hub_id(const char *v);

/* The 40-hex commit a Hub cache snapshot folder ("…/snapshots/<commit>") is of, into out[41];
 * "" when path is not one. */
void tcd_snapshot_commit(const char *path, char out[41]);

/*
 * The revisions of a prepared job as `tcctl train --if-changed` compares them, without pulling
 * or training (revisions.c): *data the dataset's Hub commit when data.dataset is a Hub id (at
 * data.revision), else the data plugin's fingerprint, NULL when it has none; *model model.from's
 * Hub commit (at model.revision) when it is a Hub id, else NULL. Both malloc'd.
 */
int tcd_revisions_resolve(tcd_job *job, const tc_host *host, char **data, char **model);

/* tcd-worker plugins [show NAME] [--json] */
int tcd_cmd_plugins(int argc, char **argv);

/* tcd-worker pull TYPE ORG/NAME [--revision R] [--include G]... [--exclude G]... [--json];
 * cancelled(NULL) is non-zero once SIGTERM/SIGINT arrived. */
int tcd_cmd_pull(int argc, char **argv, int (*cancelled)(void *));

/* tcd-worker push DIR --repo ORG/NAME [...] (see push.c). */
int tcd_cmd_push(int argc, char **argv, int (*cancelled)(void *));

/* tcd-worker forward|predict --model DIR: token ids or texts in, logits or labels out (infer.c). */
int tcd_cmd_infer(int argc, char **argv, int predict);

/* tcd-worker tokenize --tokenizer PATH [...]: JSON lines in, token ids out (see tokenize.c). */
int tcd_cmd_tokenize(int argc, char **argv);

#endif /* TCD_WORKER_H */
