/*
 * revisions.c - what `tcctl train --if-changed` compares, for `tcd-worker check --revisions`:
 * the revision of the dataset and of the base model of a prepared job, found without pulling
 * or training.
 *
 *   data   data.dataset is a Hub id: the commit data.revision (default: the default branch)
 *          resolves to on the Hub, asked as the pull of training.c asks (repo info). Otherwise
 *          the data plugin's fingerprint (the plugin opens the data; for the text plugin the
 *          cache snapshot's commit or a hash of the files); null when it has none.
 *   model  model.from is a Hub id: the commit model.revision resolves to; else null.
 *
 * A run reports the same two values in its result event and metrics.json ("data_revision",
 * "model_revision"), taken from what it pulled (the snapshot folder's commit) or from the
 * fingerprint, so tcd compares like with like.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/hub.h>

#include "worker.h"

void tcd_snapshot_commit(const char *path, char out[41])
{
    const char *base = path ? strrchr(path, '/') : NULL;
    size_t i;

    out[0] = '\0';
    if (!base || base - path < 10 || strncmp(base - 10, "/snapshots", 10) != 0 ||
        strlen(base + 1) != 40)
        return;
    for (i = 1; i <= 40; i++)
        if (!((base[i] >= '0' && base[i] <= '9') || (base[i] >= 'a' && base[i] <= 'f')))
            return;
    memcpy(out, base + 1, 41);
}

/* The commit revision (NULL: the default branch) of Hub repo id resolves to. *out malloc'd. */
static int hub_commit(tc_hub_repo_type type, const char *what, const char *id, const char *revision,
                      char **out)
{
    tc_hub_client *client = NULL;
    tc_hub_repo_info *info = NULL;
    char msg[768];
    int err;

    if ((err = tc_hub_client_new(&client, NULL)) < 0)
        return err;
    err = tc_hub_repo_info_get(&info, client, type, id, revision);
    tc_hub_client_free(client);
    if (err < 0) {
        snprintf(msg, sizeof(msg), "%s", tc_error_message());
        return tc_error_set(err, "%s '%s'%s%s: %s", what, id, revision ? " at " : "",
                            revision ? revision : "", msg);
    }
    if (!info->sha || !(*out = strdup(info->sha)))
        err = tc_error_set(info->sha ? TC_ENOMEM : TC_EFORMAT, "%s '%s': %s", what, id,
                           info->sha ? "out of memory" : "the Hub gave no commit sha");
    tc_hub_repo_info_free(info);
    return err;
}

/* The data plugin's fingerprint of the job's data; *out NULL when it has none. */
static int data_fingerprint(tcd_job *job, const tc_host *host, char **out)
{
    tc_dataset *data = NULL;
    char fp[128] = "";
    int err;

    *out = NULL;
    if ((err = tc_dataset_open(&data, job->data_plugin, job->data_opts, host)) < 0)
        return err;
    err = tc_dataset_fingerprint(data, fp, sizeof(fp));
    tc_dataset_free(data);
    if (err < 0)
        return err;
    if (fp[0] && !(*out = strdup(fp)))
        return tc_error_set(TC_ENOMEM, "out of memory");
    return TC_OK;
}

int tcd_revisions_resolve(tcd_job *job, const tc_host *host, char **data, char **model)
{
    const tcd_spec_entry *rev;
    const char *id, *r;
    char *d = NULL, *m = NULL;
    int err;

    id = tcd_job_declares(job, "data", "dataset") ? tc_options_string(job->data_opts, "dataset")
                                                  : NULL;
    if (tcd_is_hub_id(id)) {
        r = tcd_job_declares(job, "data", "revision")
                ? tc_options_string(job->data_opts, "revision")
                : NULL;
        err = hub_commit(TC_HUB_REPO_DATASET, "data.dataset", id, r && *r ? r : NULL, &d);
    } else {
        err = data_fingerprint(job, host, &d);
    }
    if (err < 0)
        goto out;
    if (tcd_is_hub_id(job->pretrained)) {
        rev = tcd_spec_find(&job->spec, "model", "revision");
        if ((err = hub_commit(TC_HUB_REPO_MODEL, "model.from", job->pretrained,
                              rev ? rev->value : NULL, &m)) < 0)
            goto out;
    }
    *data = d;
    *model = m;
    d = m = NULL;
out:
    free(d);
    free(m);
    return err;
}
