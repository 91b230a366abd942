/*
 * push.c - `tcd-worker push DIR --repo ORG/NAME [--type model|dataset] [--branch B]
 * [--message M] [--author 'Name <email>'] [--private] [--force]
 * [--when always|improved|never] [--metric M] [--min-improvement X] [--json]`
 *
 * Pushes a folder to a Hub repo with libtchub (git + LFS). When DIR is the
 * output of a training run (model.safetensors and metrics.json), what goes
 * up is the model as users expect it on the Hub: the weights, config.json,
 * metrics.json, the spec it was trained with (tcd-spec.yaml), any tokenizer
 * files, and a model card (README.md with the Hub's YAML front matter and
 * training_curves.svg) generated for the target repo - in a staging folder
 * of symlinks, so DIR itself is not modified. checkpoints/ stays behind. A
 * README.md already in DIR is pushed instead of a generated card.
 *
 * Settings not given on the command line come from the push section of
 * DIR/tcd-spec.yaml (repo, branch, private, when, message, author, license,
 * dataset, min_improvement) and its train.metric.
 *
 * --when improved compares the run (the challenger) with the champion: the
 * model on the target repo and branch. A branch without model.safetensors
 * (or no such repo or branch) has no champion: the push is made. Otherwise
 * (--champion evaluate, the default; push.champion) the champion is pulled
 * at the branch's commit and both models are evaluated by the same code
 * (evaluate.c) on the pinned evaluation split: --eval-split (push.eval_split;
 * default test, else validation) of the challenger's data section at the
 * run's dataset revision (metrics.json data_fingerprint). The push happens
 * only when the challenger's --metric (push.metric, else train.metric;
 * accuracy and f1: higher is better, loss: lower) beats the champion's by
 * more than --min-improvement (default 0). A champion that cannot be
 * evaluated (no tcd-spec.yaml, other classes, a plugin that cannot load it),
 * or a challenger that cannot, and --champion card compare metrics.json with
 * the metric in the model-index of the champion's README.md instead, and the
 * reason says so. A push that is not made is a success with "pushed": false
 * and the reason: "not pushed: challenger accuracy 0.912 <= champion 0.934 +
 * min_improvement 0.01 on test (n=1209)"; the result has "champion" {commit,
 * metric, value, n, split, evaluated, ...} and "challenger" {...}.
 *
 * Previous champion: a push of a run's output over a branch whose head has a
 * model writes tcd-previous.json ({"commit": the head it replaces, "repo",
 * "branch"}) into the pushed tree, and the result says "previous". `--rollback`
 * (no DIR) restores it: it reads tcd-previous.json at the branch head, pulls
 * the repo at that commit and pushes it as a new commit on the branch whose
 * tree equals the previous champion's (files the previous champion did not
 * have are deleted; history is never rewritten). Rolling back again goes one
 * champion further back, as the restored tree has its own tcd-previous.json.
 *
 * With --json, stdout carries progress events (phase "upload", unit
 * "bytes"), log events, and the result:
 *   {"type":"result","state":"succeeded","pushed":true,"changed":true,
 *    "repo":R,"commit":SHA,"url":URL,["reason":..,"champion":{..},
 *    "challenger":{..},"previous":SHA,"rolled_back_to":SHA,]
 *    "metrics":{"files":N,"lfs_files":N,
 *    "lfs_uploaded":N,"lfs_skipped":N,"bytes_uploaded":N,"seconds":S}}
 * Failure: {"type":"result","state":"failed","error":{"code":"conflict",...}},
 * exit 1; usage errors exit 2; SIGTERM cancels with exit 3.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/hub.h>

#include "card.h"
#include "evaluate.h"
#include "spec.h"
#include "worker.h"
#include "xfer.h"

#define PUSH_MAX_METRICS_BYTES (16u << 20)
#define PUSH_PREVIOUS_FILE "tcd-previous.json"

typedef struct push_args {
    const char *dir, *repo, *type, *branch, *message, *when, *metric, *license, *dataset, *author;
    const char *champion, *eval_split; /* "evaluate" or "card"; "test", "validation" or NULL */
    double min_improvement;
    int have_min_improvement;
    int is_private, force; /* -1: not given */
    int json, rollback;
} push_args;

/* What the result says beside the push itself. */
typedef struct push_outcome {
    char why[1024];               /* the reason line, or "" */
    char previous[41];            /* the champion commit this push replaces, or "" */
    char rolled_back_to[41];      /* --rollback: the commit restored */
    cJSON *champion, *challenger; /* when=improved: both sides of the comparison, or NULL */
} push_outcome;

static int push_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "tcd-worker push: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fprintf(stderr, "usage: tcd-worker push DIR --repo ORG/NAME [--type model|dataset] "
                    "[--branch B] [--message M] [--author 'Name <email>'] [--private] [--force]\n"
                    "       [--when always|improved|never] [--metric accuracy|f1|loss] "
                    "[--min-improvement X] [--champion evaluate|card]\n"
                    "       [--eval-split test|validation] [--json]\n"
                    "       tcd-worker push --rollback --repo ORG/NAME [--branch B] [--force] "
                    "[--json]\n");
    return 2;
}

static int file_exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *read_text(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || (size_t)n > max ||
        fseek(f, 0, SEEK_SET) < 0 || !(s = malloc((size_t)n + 1))) {
        fclose(f);
        return NULL;
    }
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        fclose(f);
        return NULL;
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

/* A spec value, or NULL. */
static const char *spec_get(const tcd_spec *spec, const char *section, const char *key)
{
    const tcd_spec_entry *e = spec ? tcd_spec_find(spec, section, key) : NULL;
    return e && *e->value ? e->value : NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* Fill unset arguments from the push section of DIR/tcd-spec.yaml. */
static int defaults_from_spec(push_args *a, tcd_spec *spec, int *have_spec)
{
    char path[4096];
    const char *v;
    int err;
    snprintf(path, sizeof(path), "%s/" TCD_SPEC_FILE, a->dir);
    *have_spec = 0;
    if (access(path, F_OK) < 0)
        return TC_OK;
    if ((err = tcd_spec_load(spec, path)) < 0)
        return err;
    *have_spec = 1;
    if (!a->repo)
        a->repo = spec_get(spec, "push", "repo");
    if (!a->branch)
        a->branch = spec_get(spec, "push", "branch");
    if (!a->message)
        a->message = spec_get(spec, "push", "message");
    if (!a->author)
        a->author = spec_get(spec, "push", "author");
    if (!a->when)
        a->when = spec_get(spec, "push", "when");
    if (!a->license)
        a->license = spec_get(spec, "push", "license");
    if (!a->dataset)
        a->dataset = spec_get(spec, "push", "dataset");
    if (!a->dataset)
        a->dataset = spec_get(spec, "data", "dataset");
    if (!a->metric)
        a->metric = spec_get(spec, "push", "metric");
    if (!a->metric)
        a->metric = spec_get(spec, "train", "metric");
    if (!a->champion)
        a->champion = spec_get(spec, "push", "champion");
    if (!a->eval_split)
        a->eval_split = spec_get(spec, "push", "eval_split");
    if (a->is_private < 0 && (v = spec_get(spec, "push", "private")) &&
        parse_bool(v, &a->is_private) < 0)
        return tc_error_set(TC_EINVAL, "%s: push.private must be true or false, not '%s'", path, v);
    if (!a->have_min_improvement && (v = spec_get(spec, "push", "min_improvement"))) {
        char *end;
        a->min_improvement = strtod(v, &end);
        if (*end || !isfinite(a->min_improvement) || a->min_improvement < 0)
            return tc_error_set(
                TC_EINVAL, "%s: push.min_improvement must be a number >= 0, not '%s'", path, v);
        a->have_min_improvement = 1;
    }
    return TC_OK;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

/* stage/tcd-previous.json: the champion commit this push replaces (for --rollback). */
static int write_previous(const push_args *a, const char *previous, const char *stage)
{
    cJSON *o = cJSON_CreateObject();
    char path[4200], *text;
    int err;

    cJSON_AddStringToObject(o, "commit", previous);
    cJSON_AddStringToObject(o, "repo", a->repo);
    cJSON_AddStringToObject(o, "branch", a->branch ? a->branch : "main");
    text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return tc_error_set(TC_ENOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/" PUSH_PREVIOUS_FILE, stage);
    err = tc_write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return err;
}

/*
 * The staging folder of a training output: a symlink per entry of dir except
 * checkpoints/ and dot files, then the generated card. *own_card is 1 when
 * dir has its own README.md (then nothing is generated).
 */
static int stage_output(const push_args *a, const tcd_spec *spec, const char *previous, tcd_xfer *x,
                        char **out)
{
    const char *tmp = getenv("TMPDIR");
    char *stage = malloc(4096), src[8192], dst[8192], abs_dir[4096];
    DIR *d;
    struct dirent *de;
    int own_card = file_exists(a->dir, "README.md"), err = TC_OK;
    if (!stage)
        return tc_error_set(TC_ENOMEM, "out of memory");
    if (!realpath(a->dir, abs_dir)) {
        free(stage);
        return tc_error_set(TC_EIO, "cannot resolve '%s': %s", a->dir, strerror(errno));
    }
    snprintf(stage, 4096, "%s/tcd-push.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(stage)) {
        err =
            tc_error_set(TC_EIO, "cannot create a staging folder '%s': %s", stage, strerror(errno));
        free(stage);
        return err;
    }
    if (!(d = opendir(abs_dir))) {
        err = tc_error_set(TC_EIO, "cannot read '%s': %s", abs_dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "checkpoints") ||
            !strcmp(de->d_name, PUSH_PREVIOUS_FILE) ||
            (!own_card &&
             (!strcmp(de->d_name, "README.md") || !strcmp(de->d_name, "training_curves.svg"))))
            continue;
        snprintf(src, sizeof(src), "%s/%s", abs_dir, de->d_name);
        snprintf(dst, sizeof(dst), "%s/%s", stage, de->d_name);
        /* only the output's own files and folders: a link could lead anywhere */
        if (lstat(src, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
            char msg[8400];
            snprintf(msg, sizeof(msg), "'%s' is not a regular file or folder; not pushed", src);
            tcd_xfer_notice(msg, x);
            continue;
        }
        if (symlink(src, dst) < 0) {
            err = tc_error_set(TC_EIO, "cannot link '%s' into the staging folder: %s", src,
                               strerror(errno));
            break;
        }
    }
    closedir(d);
    if (err == TC_OK && !own_card) {
        char cfg_path[8192], *cfg, *spec_text;
        tcd_card_info ci;
        cJSON *cfgj = NULL;
        const char *from = spec_get(spec, "model", "from");
        snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", abs_dir);
        cfg = read_text(cfg_path, PUSH_MAX_METRICS_BYTES);
        if (cfg)
            cfgj = cJSON_Parse(cfg);
        snprintf(src, sizeof(src), "%s/" TCD_SPEC_FILE, abs_dir);
        spec_text = read_text(src, TCD_SPEC_MAX_BYTES);
        memset(&ci, 0, sizeof(ci));
        ci.out_dir = stage;
        ci.repo_id = a->repo;
        ci.dataset_id = a->dataset;
        /* model.from names a Hub id when it is not a path */
        ci.base_model = from && from[0] != '/' && from[0] != '.' && strchr(from, '/') &&
                                !strchr(strchr(from, '/') + 1, '/')
                            ? from
                            : NULL;
        ci.license = a->license;
        ci.spec_yaml = spec_text;
        ci.spec_file = spec_text ? TCD_SPEC_FILE : NULL;
        {
            /* our own kinds say model_type "tc-..."; the others are transformers' */
            const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cfgj, "model_type");
            ci.transformers_compatible = cJSON_IsString(mt) && strncmp(mt->valuestring, "tc-", 3);
        }
        err = tcd_card_write(&ci);
        cJSON_Delete(cfgj);
        free(cfg);
        free(spec_text);
    }
    if (err == TC_OK && previous && *previous)
        err = write_previous(a, previous, stage);
    if (err == TC_OK) {
        *out = stage;
        return TC_OK;
    }
fail:
    nftw(stage, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(stage);
    return err;
}

/* The run's value of metric ("accuracy", "f1", "loss") on test, else validation. */
static int local_metric(const char *dir, const char *metric, double *value, const char **split)
{
    char path[4096], key[64], *text;
    cJSON *m;
    const cJSON *v;
    snprintf(path, sizeof(path), "%s/metrics.json", dir);
    if (!(text = read_text(path, PUSH_MAX_METRICS_BYTES)))
        return tc_error_set(TC_ENOTFOUND, "cannot read '%s'", path);
    m = cJSON_Parse(text);
    free(text);
    snprintf(key, sizeof(key), "test_%s", metric);
    v = cJSON_GetObjectItemCaseSensitive(m, key);
    *split = "test";
    if (!cJSON_IsNumber(v)) {
        snprintf(key, sizeof(key), "val_%s", metric);
        v = cJSON_GetObjectItemCaseSensitive(m, key);
        *split = "validation";
    }
    if (!cJSON_IsNumber(v)) {
        cJSON_Delete(m);
        return tc_error_set(TC_EINVAL,
                            "'%s' has no test or validation %s to compare with the champion", path,
                            metric);
    }
    *value = v->valuedouble;
    cJSON_Delete(m);
    return TC_OK;
}

/* The run's dataset revision: metrics.json's data_fingerprint when it is a commit, else "". */
static void run_data_revision(const char *dir, char *out, size_t cap)
{
    char path[4096], *text;
    cJSON *m;
    const char *fp;
    size_t i, n;

    *out = '\0';
    snprintf(path, sizeof(path), "%s/metrics.json", dir);
    if (!(text = read_text(path, PUSH_MAX_METRICS_BYTES)))
        return;
    m = cJSON_Parse(text);
    free(text);
    fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "data_fingerprint"));
    n = fp ? strlen(fp) : 0;
    for (i = 0; i < n && strchr("0123456789abcdef", fp[i]); i++)
        ;
    if (n == 40 && i == n && cap > n)
        memcpy(out, fp, n + 1);
    cJSON_Delete(m);
}

/* One side of the comparison for the result: {commit?, metric, value, n?, split, evaluated}. */
static cJSON *side_json(const char *commit, const char *metric, double value, int64_t n,
                        const char *split, const char *source)
{
    cJSON *o = cJSON_CreateObject();

    if (commit && *commit)
        cJSON_AddStringToObject(o, "commit", commit);
    cJSON_AddStringToObject(o, "metric", metric);
    if (isfinite(value))
        cJSON_AddNumberToObject(o, "value", value);
    else
        cJSON_AddNullToObject(o, "value");
    if (n >= 0)
        cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddStringToObject(o, "split", split);
    cJSON_AddBoolToObject(o, "evaluated", !strcmp(source, "evaluation"));
    cJSON_AddStringToObject(o, "source", source);
    return o;
}

/* Whether mine beats champ by more than min (lower is better for loss). */
static int beats(const char *metric, double mine, double champ, double min)
{
    return !strcmp(metric, "loss") ? champ - mine > min : mine - champ > min;
}

/*
 * The champion by its card: the metric in the README.md of the target
 * branch against metrics.json. 1 push, 0 keep (reason in o->why), < 0 error.
 * note (or NULL) says why the card is used, for the reason line.
 */
static int beats_card(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a, const char *head,
                      const char *note, push_outcome *o)
{
    const char *metric = a->metric ? a->metric : "accuracy", *split = "test";
    const char *branch = a->branch ? a->branch : "main";
    double mine = 0, champ = 0;
    char *card = NULL, tail[600] = "";
    int err, found;
    size_t len;

    if ((err = local_metric(a->dir, metric, &mine, &split)) < 0)
        return err;
    if (note)
        snprintf(tail, sizeof(tail), " (%s; compared with the champion's card)", note);
    err = tc_hub_file_download(&card, c, rt, a->repo, head && *head ? head : branch, "README.md",
                               NULL);
    if (err == TC_ENOTFOUND) {
        snprintf(o->why, sizeof(o->why), "no champion on %s@%s (no model card there); pushing%s",
                 a->repo, branch, tail);
        return 1;
    }
    if (err < 0)
        return err;
    found = tcd_card_read_metric(card, metric, split, &champ);
    tc_free(card);
    if (found < 0)
        return found;
    o->challenger = side_json(NULL, metric, mine, -1, split, "metrics.json");
    if (!found) {
        snprintf(o->why, sizeof(o->why), "the champion's card has no %s %s; pushing%s", split,
                 metric, tail);
        return 1;
    }
    o->champion = side_json(head, metric, champ, -1, split, "card");
    if (beats(metric, mine, champ, a->min_improvement)) {
        snprintf(o->why, sizeof(o->why), "%s %s %.6g beats the champion's %.6g%s; pushing", split,
                 metric, mine, champ,
                 a->min_improvement > 0 ? " by more than min_improvement" : "");
    } else {
        snprintf(o->why, sizeof(o->why),
                 "not pushed: %s %s %.6g does not beat the champion's %.6g on %s@%s by more than "
                 "%.6g; the model stays here as a candidate",
                 split, metric, mine, champ, a->repo, branch, a->min_improvement);
    }
    len = strlen(o->why);
    snprintf(o->why + len, sizeof(o->why) - len, "%s", tail);
    return beats(metric, mine, champ, a->min_improvement);
}

/*
 * The branch head of the target: sha "" when there is no such repo or
 * branch, or the branch has no config.json (no model); *has_model when its
 * tree also has model.safetensors. The head comes from the download of
 * config.json (the commit of its snapshot folder), which, unlike repo info,
 * stops waiting to retry an unreachable Hub as soon as the push is cancelled.
 */
static int branch_head(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a, tcd_xfer *x,
                       char sha[41], int *has_model)
{
    tc_hub_download_options o;
    tc_hub_repo_info *info = NULL;
    char *path = NULL;
    const char *p;
    size_t i;
    int err;

    sha[0] = '\0';
    *has_model = 0;
    tc_hub_download_options_init(&o, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    o.cancel = tcd_xfer_cancel;
    o.payload = x;
    err = tc_hub_file_download(&path, c, rt, a->repo, a->branch ? a->branch : "main", "config.json",
                               &o);
    if (err == TC_ENOTFOUND)
        return TC_OK;
    if (err < 0)
        return err;
    p = strstr(path, "/snapshots/");
    if (p && strlen(p + 11) > 40 && p[11 + 40] == '/')
        snprintf(sha, 41, "%.40s", p + 11);
    tc_free(path);
    if (!sha[0])
        return tc_error_set(TC_EFORMAT, "cannot tell the commit of %s@%s", a->repo,
                            a->branch ? a->branch : "main");
    if ((err = tc_hub_repo_info_get(&info, c, rt, a->repo, sha)) < 0)
        return err;
    for (i = 0; i < info->n_siblings; i++)
        *has_model |= !strcmp(info->siblings[i], "model.safetensors");
    tc_hub_repo_info_free(info);
    return TC_OK;
}

/* The text of file path of the repo at commit head; NULL when it has none (or on errors). */
static char *remote_text(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a,
                         const char *head, const char *path)
{
    char *local = NULL, *text;

    if (tc_hub_file_download(&local, c, rt, a->repo, head, path, NULL) < 0)
        return NULL;
    text = read_text(local, PUSH_MAX_METRICS_BYTES);
    tc_free(local);
    return text;
}

/*
 * The champion this push replaces, into previous: the head, unless the head
 * is this very output pushed before (the same metrics.json), whose own record
 * then stays as it is (so pushing an output again changes nothing).
 */
static void replaced_champion(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a,
                              const char *head, char previous[41])
{
    char path[4096], *mine, *theirs;
    cJSON *j;
    const char *v;

    snprintf(previous, 41, "%s", head);
    snprintf(path, sizeof(path), "%s/metrics.json", a->dir);
    mine = read_text(path, PUSH_MAX_METRICS_BYTES);
    theirs = mine ? remote_text(c, rt, a, head, "metrics.json") : NULL;
    if (mine && theirs && !strcmp(mine, theirs)) {
        free(theirs);
        theirs = remote_text(c, rt, a, head, PUSH_PREVIOUS_FILE);
        j = theirs ? cJSON_Parse(theirs) : NULL;
        v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "commit"));
        snprintf(previous, 41, "%s", v && strlen(v) == 40 ? v : "");
        cJSON_Delete(j);
    }
    free(mine);
    free(theirs);
}

/* The champion's files at commit head, in the Hub cache; *snap: its snapshot folder. */
static int pull_champion(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a,
                         const char *head, tcd_xfer *x, char **snap)
{
    static const char *const files[] = {"*.json",    "*.safetensors", "*.yaml",
                                        "vocab.txt", "*.model",       "*.txt"};
    tc_hub_download_options o;

    tc_hub_download_options_init(&o, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    o.allow_patterns = files;
    o.n_allow = sizeof(files) / sizeof(*files);
    o.cancel = tcd_xfer_cancel;
    o.payload = x;
    return tc_hub_snapshot_download(snap, c, rt, a->repo, head, &o);
}

/*
 * when=improved with the champion evaluated: 1 push, 0 keep (reason in
 * o->why), < 0 error. head: the branch's commit, which has a model.
 */
static int beats_evaluated(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a,
                           const char *head, tcd_xfer *x, push_outcome *o)
{
    const char *metric = a->metric ? a->metric : "accuracy";
    const char *branch = a->branch ? a->branch : "main";
    char spec[4096], rev[64], note[512], *snap = NULL;
    tcd_eval_data ed;
    tcd_eval_result mine, champ;
    double vm, vc;
    int err, push;

    snprintf(spec, sizeof(spec), "%s/" TCD_SPEC_FILE, a->dir);
    run_data_revision(a->dir, rev, sizeof(rev));
    if (tcd_eval_data_open(&ed, spec, a->eval_split, rev) < 0 ||
        tcd_eval_model(&mine, &ed, a->dir) < 0) {
        snprintf(note, sizeof(note), "the challenger could not be evaluated: %s",
                 tc_error_message());
        tcd_eval_data_close(&ed);
        return beats_card(c, rt, a, head, note, o);
    }
    snprintf(note, sizeof(note),
             "evaluating the challenger and the champion (%s@%s commit %.12s) on %s, data %.12s",
             a->repo, branch, head, tcd_eval_split_name(ed.split), ed.revision);
    tcd_xfer_notice(note, x);
    if ((err = pull_champion(c, rt, a, head, x, &snap)) < 0) {
        tcd_eval_data_close(&ed);
        return err;
    }
    if (tcd_eval_model(&champ, &ed, snap) < 0) {
        snprintf(note, sizeof(note), "the champion (commit %.12s) could not be evaluated: %s", head,
                 tc_error_message());
        tc_free(snap);
        tcd_eval_data_close(&ed);
        return beats_card(c, rt, a, head, note, o);
    }
    tc_free(snap);
    vm = tcd_eval_value(&mine, metric);
    vc = tcd_eval_value(&champ, metric);
    o->challenger = tcd_eval_json(&mine, &ed);
    cJSON_AddStringToObject(o->challenger, "metric", metric);
    cJSON_AddNumberToObject(o->challenger, "value", vm);
    cJSON_AddTrueToObject(o->challenger, "evaluated");
    o->champion = tcd_eval_json(&champ, &ed);
    cJSON_AddStringToObject(o->champion, "commit", head);
    cJSON_AddStringToObject(o->champion, "metric", metric);
    cJSON_AddNumberToObject(o->champion, "value", vc);
    cJSON_AddTrueToObject(o->champion, "evaluated");
    push = beats(metric, vm, vc, a->min_improvement);
    snprintf(o->why, sizeof(o->why),
             "%schallenger %s %.6g %s champion %.6g %s min_improvement %.6g on %s (n=%lld; "
             "champion %s@%s commit %.12s, data %.12s)%s",
             push ? "" : "not pushed: ", metric, vm,
             !strcmp(metric, "loss") ? (push ? "<" : ">=") : (push ? ">" : "<="), vc,
             !strcmp(metric, "loss") ? "-" : "+", a->min_improvement,
             tcd_eval_split_name(mine.split), (long long)mine.n, a->repo, branch, head, ed.revision,
             push ? "; pushing" : "; the model stays here as a candidate");
    tcd_eval_data_close(&ed);
    return push;
}

/*
 * when=improved: 1 push, 0 keep (reason in o->why), < 0 error. No model on
 * the target branch: no champion.
 */
static int beats_champion(tc_hub_client *c, tc_hub_repo_type rt, const push_args *a,
                          const char *head, int has_model, tcd_xfer *x, push_outcome *o)
{
    const char *metric = a->metric ? a->metric : "accuracy";
    const char *branch = a->branch ? a->branch : "main";

    if (strcmp(metric, "accuracy") && strcmp(metric, "f1") && strcmp(metric, "loss"))
        return tc_error_set(TC_EINVAL, "--metric must be accuracy, f1 or loss, not '%s'", metric);
    if (a->champion && strcmp(a->champion, "evaluate") && strcmp(a->champion, "card"))
        return tc_error_set(TC_EINVAL, "--champion must be evaluate or card, not '%s'",
                            a->champion);
    if (a->champion && !strcmp(a->champion, "card"))
        return beats_card(c, rt, a, head, NULL, o);
    if (!*head) {
        snprintf(o->why, sizeof(o->why),
                 "no champion on %s@%s (no such repo or branch, or no model there); pushing",
                 a->repo, branch);
        return 1;
    }
    if (!has_model) {
        snprintf(o->why, sizeof(o->why),
                 "no champion on %s@%s (commit %.12s has no model.safetensors); pushing", a->repo,
                 branch, head);
        return 1;
    }
    return beats_evaluated(c, rt, a, head, x, o);
}

static void emit_result(const tcd_xfer *x, const push_args *a, const tc_hub_push_result *r,
                        int pushed, const push_outcome *po)
{
    double secs = tcd_xfer_elapsed(x);
    const char *why = po->why;
    if (x->json) {
        cJSON *e = cJSON_CreateObject(), *m;
        cJSON_AddStringToObject(e, "type", "result");
        cJSON_AddStringToObject(e, "state", "succeeded");
        cJSON_AddBoolToObject(e, "pushed", pushed);
        cJSON_AddStringToObject(e, "repo", a->repo);
        if (why && *why)
            cJSON_AddStringToObject(e, "reason", why);
        if (po->champion)
            cJSON_AddItemReferenceToObject(e, "champion", po->champion);
        if (po->challenger)
            cJSON_AddItemReferenceToObject(e, "challenger", po->challenger);
        if (pushed && po->previous[0])
            cJSON_AddStringToObject(e, "previous", po->previous);
        if (pushed && po->rolled_back_to[0])
            cJSON_AddStringToObject(e, "rolled_back_to", po->rolled_back_to);
        cJSON_AddBoolToObject(e, "changed", pushed && r->changed);
        cJSON_AddStringToObject(e, "commit", pushed ? r->commit : "");
        cJSON_AddStringToObject(e, "url", pushed && r->url ? r->url : "");
        m = cJSON_AddObjectToObject(e, "metrics");
        cJSON_AddNumberToObject(m, "files", (double)r->files);
        cJSON_AddNumberToObject(m, "lfs_files", (double)r->lfs_files);
        cJSON_AddNumberToObject(m, "lfs_uploaded", (double)r->lfs_uploaded);
        cJSON_AddNumberToObject(m, "lfs_skipped", (double)r->lfs_skipped);
        cJSON_AddNumberToObject(m, "bytes_uploaded", (double)r->bytes_uploaded);
        cJSON_AddNumberToObject(m, "seconds", (double)(long)(secs * 1000) / 1000.0);
        tcd_emit(e);
    } else if (!pushed) {
        printf("%s\n", why);
    } else if (!r->changed) {
        fprintf(stderr, "nothing changed in %s; no commit\n", a->repo);
        printf("%s\n", r->url ? r->url : "");
    } else {
        char b[32];
        tcd_fmt_bytes(b, sizeof b, (double)r->bytes_uploaded);
        fprintf(stderr,
                "pushed %zu files to %s (%zu LFS objects uploaded, %zu already there, %s) "
                "in %.1f s\n",
                r->files, a->repo, r->lfs_uploaded, r->lfs_skipped, b, secs);
        printf("%s\n", r->url ? r->url : "");
    }
}
/* "Name <email>" into its parts; -1 when it does not have that shape. */
static int parse_author(const char *s, char *name, size_t ncap, char *email, size_t ecap)
{
    const char *lt = strchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL, *end = lt;
    size_t i;
    if (!lt || !gt || gt[1] || lt == s)
        return -1;
    while (end > s && end[-1] == ' ')
        end--;
    if (end == s || (size_t)(end - s) >= ncap || (size_t)(gt - lt - 1) >= ecap || gt == lt + 1)
        return -1;
    memcpy(name, s, (size_t)(end - s));
    name[end - s] = '\0';
    memcpy(email, lt + 1, (size_t)(gt - lt - 1));
    email[gt - lt - 1] = '\0';
    for (i = 0; name[i]; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == '<' || name[i] == '>')
            return -1;
    for (i = 0; email[i]; i++)
        if ((unsigned char)email[i] <= 0x20 || email[i] == '<')
            return -1;
    return 0;
}

static int parse_args(int argc, char **argv, push_args *a)
{
    int i;
    memset(a, 0, sizeof(*a));
    a->is_private = a->force = -1;
    for (i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (!strcmp(o, "--json")) {
            a->json = 1;
            continue;
        }
        if (!strcmp(o, "--private")) {
            a->is_private = 1;
            continue;
        }
        if (!strcmp(o, "--force")) {
            a->force = 1;
            continue;
        }
        if (!strcmp(o, "--rollback")) {
            a->rollback = 1;
            continue;
        }
        if (!strcmp(o, "--repo"))
            slot = &a->repo;
        else if (!strcmp(o, "--type"))
            slot = &a->type;
        else if (!strcmp(o, "--branch"))
            slot = &a->branch;
        else if (!strcmp(o, "--message"))
            slot = &a->message;
        else if (!strcmp(o, "--author"))
            slot = &a->author;
        else if (!strcmp(o, "--when"))
            slot = &a->when;
        else if (!strcmp(o, "--metric"))
            slot = &a->metric;
        else if (!strcmp(o, "--champion"))
            slot = &a->champion;
        else if (!strcmp(o, "--eval-split"))
            slot = &a->eval_split;
        else if (!strcmp(o, "--min-improvement")) {
            char *end;
            if (!v)
                return push_usage("--min-improvement needs a value", NULL);
            a->min_improvement = strtod(v, &end);
            if (*end || !*v || !isfinite(a->min_improvement) || a->min_improvement < 0)
                return push_usage("--min-improvement wants a number >= 0, not", v);
            a->have_min_improvement = 1;
            i++;
            continue;
        }
        if (slot) {
            if (!v)
                return push_usage("missing the value of", o);
            *slot = v;
            i++;
        } else if (o[0] == '-' || a->dir) {
            return push_usage("unexpected argument", o);
        } else {
            a->dir = o;
        }
    }
    if (a->rollback && a->dir)
        return push_usage("--rollback takes no folder: it restores the previous champion, got",
                          a->dir);
    if (a->rollback && !a->repo)
        return push_usage("--rollback needs --repo ORG/NAME", NULL);
    if (!a->dir && !a->rollback)
        return push_usage("needs a folder to push", NULL);
    if (a->champion && strcmp(a->champion, "evaluate") && strcmp(a->champion, "card"))
        return push_usage("--champion must be evaluate or card, not", a->champion);
    if (a->eval_split && strcmp(a->eval_split, "test") && strcmp(a->eval_split, "validation"))
        return push_usage("--eval-split must be test or validation, not", a->eval_split);
    return 0;
}

/*
 * --rollback: the branch gets a new commit whose tree is the previous
 * champion's (the commit named by tcd-previous.json at the branch head).
 */
static int rollback(tc_hub_client *c, const push_args *a, tcd_xfer *x, push_outcome *po,
                    tc_hub_push_result *r)
{
    static const char *const everything[] = {"*"};
    const char *branch = a->branch ? a->branch : "main";
    char head[41], msg[512], *path = NULL, *text = NULL, *snap = NULL;
    const char *prev;
    tc_hub_download_options d;
    tc_hub_push_options o;
    cJSON *j = NULL;
    size_t i;
    int err, has_model;

    if ((err = branch_head(c, TC_HUB_REPO_MODEL, a, x, head, &has_model)) < 0)
        return err;
    if (!*head)
        return tc_error_set(TC_ENOTFOUND, "no model on %s@%s: nothing to roll back", a->repo,
                            branch);
    err =
        tc_hub_file_download(&path, c, TC_HUB_REPO_MODEL, a->repo, head, PUSH_PREVIOUS_FILE, NULL);
    if (err == TC_ENOTFOUND)
        return tc_error_set(TC_ENOTFOUND,
                            "%s@%s (commit %.12s) has no previous champion to roll back to: it "
                            "has no " PUSH_PREVIOUS_FILE " (tcd writes one when a push replaces "
                            "a model)",
                            a->repo, branch, head);
    if (err < 0)
        return err;
    text = read_text(path, PUSH_MAX_METRICS_BYTES);
    tc_free(path);
    j = text ? cJSON_Parse(text) : NULL;
    free(text);
    prev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "commit"));
    for (i = 0; prev && prev[i] && strchr("0123456789abcdef", prev[i]); i++)
        ;
    if (!prev || i != 40 || prev[i]) {
        cJSON_Delete(j);
        return tc_error_set(TC_EFORMAT,
                            "%s@%s: " PUSH_PREVIOUS_FILE " has no \"commit\" of 40 hex digits",
                            a->repo, branch);
    }
    snprintf(po->rolled_back_to, sizeof(po->rolled_back_to), "%s", prev);
    snprintf(po->previous, sizeof(po->previous), "%s", head);
    cJSON_Delete(j);
    tc_hub_download_options_init(&d, TC_HUB_DOWNLOAD_OPTIONS_VERSION);
    d.cancel = tcd_xfer_cancel;
    d.payload = x;
    if ((err = tc_hub_snapshot_download(&snap, c, TC_HUB_REPO_MODEL, a->repo, po->rolled_back_to,
                                        &d)) < 0)
        return err;
    snprintf(msg, sizeof(msg), "Roll back to %.12s, the champion before %.12s (tcd)",
             po->rolled_back_to, head);
    tc_hub_push_options_init(&o, TC_HUB_PUSH_OPTIONS_VERSION);
    o.branch = branch;
    o.message = a->message ? a->message : msg;
    o.force = a->force > 0;
    o.delete_patterns = everything; /* the tree is the previous champion's, nothing more */
    o.n_delete = 1;
    o.progress = tcd_xfer_progress;
    o.cancel = tcd_xfer_cancel;
    o.notice = tcd_xfer_notice;
    o.payload = x;
    err = tc_hub_push_folder(r, c, TC_HUB_REPO_MODEL, a->repo, snap, &o);
    tc_free(snap);
    if (err == TC_OK)
        snprintf(po->why, sizeof(po->why), "rolled %s@%s back to %.12s (replacing %.12s)", a->repo,
                 branch, po->rolled_back_to, head);
    return err;
}

int tcd_cmd_push(int argc, char **argv, int (*cancelled)(void *))
{
    static const char *const excludes[] = {"checkpoints/*", "*.tmp", ".tcd-*"};
    /* a push without a champion to replace must not leave an older push's record behind */
    static const char *const stale[] = {PUSH_PREVIOUS_FILE};
    push_args a;
    tcd_spec spec;
    tcd_xfer x;
    tc_hub_client *client = NULL;
    tc_hub_push_options o;
    tc_hub_push_result r;
    tc_hub_repo_type rt = TC_HUB_REPO_MODEL;
    push_outcome po;
    char *stage = NULL, code[64], head[41] = "", author_name[256], author_email[256];
    struct stat st;
    int rc, err, have_spec = 0, is_output, has_model = 0;

    if ((rc = parse_args(argc, argv, &a)) != 0)
        return rc;
    memset(&spec, 0, sizeof(spec));
    memset(&r, 0, sizeof(r));
    memset(&po, 0, sizeof(po));
    tcd_xfer_init(&x, "upload", a.json, cancelled);
    if (a.rollback) {
        if ((err = tc_hub_client_new(&client, NULL)) < 0 ||
            (err = rollback(client, &a, &x, &po, &r)) < 0)
            goto fail;
        tcd_xfer_clear_line(&x);
        if (!a.json)
            fprintf(stderr, "%s\n", po.why);
        emit_result(&x, &a, &r, 1, &po);
        rc = 0;
        goto out;
    }
    if (stat(a.dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(po.why, sizeof(po.why),
                 "'%s' is not a folder; give the output folder of a run or a job", a.dir);
        tcd_xfer_fail(&x, "failed", "invalid_argument", po.why);
        return 1;
    }
    is_output = file_exists(a.dir, "model.safetensors") && file_exists(a.dir, "metrics.json");
    if ((err = defaults_from_spec(&a, &spec, &have_spec)) < 0)
        goto fail;
    if (!a.repo) {
        tcd_spec_dispose(&spec);
        return push_usage("needs --repo ORG/NAME (or push.repo in the folder's " TCD_SPEC_FILE ")",
                          NULL);
    }
    if (a.type && !strcmp(a.type, "dataset")) {
        rt = TC_HUB_REPO_DATASET;
    } else if (a.type && strcmp(a.type, "model")) {
        tcd_spec_dispose(&spec);
        return push_usage("--type must be model or dataset, not", a.type);
    }
    if (a.when && strcmp(a.when, "always") && strcmp(a.when, "improved") &&
        strcmp(a.when, "never")) {
        tcd_spec_dispose(&spec);
        return push_usage("--when must be always, improved or never, not", a.when);
    }
    if (a.when && !strcmp(a.when, "never")) {
        snprintf(po.why, sizeof(po.why), "not pushed: push.when is 'never'");
        emit_result(&x, &a, &r, 0, &po);
        tcd_spec_dispose(&spec);
        return 0;
    }
    if ((err = tc_hub_client_new(&client, NULL)) < 0)
        goto fail;
    if (a.when && !strcmp(a.when, "improved") && !is_output) {
        err = tc_error_set(TC_EINVAL, "--when improved needs the output folder of a training "
                                      "run (model.safetensors and metrics.json)");
        goto fail;
    }
    /* NEEDSWORK: the head is read before the push fetches the branch; a push that lands in
     * between makes the record name the commit before it */
    if (is_output && rt == TC_HUB_REPO_MODEL &&
        (err = branch_head(client, rt, &a, &x, head, &has_model)) < 0)
        goto fail;
    if (a.when && !strcmp(a.when, "improved")) {
        if ((err = beats_champion(client, rt, &a, head, has_model, &x, &po)) < 0)
            goto fail;
        if (err == 0) {
            emit_result(&x, &a, &r, 0, &po);
            rc = 0;
            goto out;
        }
        tcd_xfer_notice(po.why, &x);
    }
    if (has_model && is_output)
        replaced_champion(client, rt, &a, head, po.previous);
    if (is_output && rt == TC_HUB_REPO_MODEL &&
        (err = stage_output(&a, &spec, po.previous, &x, &stage)) < 0)
        goto fail;
    tc_hub_push_options_init(&o, TC_HUB_PUSH_OPTIONS_VERSION);
    if (a.author && parse_author(a.author, author_name, sizeof(author_name), author_email,
                                 sizeof(author_email)) < 0) {
        err =
            tc_error_set(TC_EINVAL, "the author must look like 'Name <email>', not '%s'", a.author);
        goto fail;
    }
    if (a.author) {
        o.author_name = author_name;
        o.author_email = author_email;
    }
    o.branch = a.branch;
    o.message = a.message
                    ? a.message
                    : (is_output ? "Upload model trained with tcd" : "Upload folder with tcd");
    o.is_private = a.is_private > 0;
    o.force = a.force > 0;
    o.top_symlinks_only = stage != NULL; /* the staging folder's links, nothing deeper */
    if (is_output) {
        o.ignore_patterns = excludes;
        o.n_ignore = sizeof(excludes) / sizeof(*excludes);
    }
    if (stage) {
        o.delete_patterns = stale;
        o.n_delete = 1;
    }
    o.progress = tcd_xfer_progress;
    o.cancel = tcd_xfer_cancel;
    o.notice = tcd_xfer_notice;
    o.payload = &x;
    err = tc_hub_push_folder(&r, client, rt, a.repo, stage ? stage : a.dir, &o);
    tcd_xfer_clear_line(&x);
    if (err < 0)
        goto fail;
    emit_result(&x, &a, &r, 1, &po);
    rc = 0;
    goto out;
fail:
    tcd_xfer_clear_line(&x);
    if (err == TC_ECANCELLED || cancelled(NULL)) {
        tcd_xfer_fail(&x, "cancelled", "cancelled",
                      "push cancelled; LFS objects already uploaded are not sent again");
        rc = 3;
    } else {
        tcd_xfer_error_code(err, code, sizeof code);
        tcd_xfer_fail(&x, "failed", code, tc_error_message());
        rc = 1;
    }
out:
    if (stage) {
        nftw(stage, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(stage);
    }
    cJSON_Delete(po.champion);
    cJSON_Delete(po.challenger);
    tc_hub_push_result_dispose(&r);
    tc_hub_client_free(client);
    (void)have_spec;
    tcd_spec_dispose(&spec);
    return rc;
}
