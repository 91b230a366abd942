/*
 * checkpoint.c - per-epoch checkpoints of a training run and resume from them
 * (layout in <tc/trainer.h>).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "trainer_internal.h"

#define STATE_MAX_BYTES (1u << 20)
#define TRAINER_MAX_BYTES (64u << 20)

int tc__params_clone(tc_params **out, const tc_params *src)
{
    tc_params *p = NULL;
    size_t i, n = tc_params_count(src);
    int err;

    if ((err = tc_params_new(&p)) < 0)
        return err;
    for (i = 0; i < n; i++) {
        const tc_tensor *t = tc_params_at(src, i);
        tc_tensor *c;
        if ((err = tc_params_add(p, &c, t->name, t->ndim, t->shape,
                                 t->flags & TC_TENSOR_NO_DECAY)) < 0)
            goto out;
    }
    if ((err = tc_params_copy(p, src)) < 0)
        goto out;
    *out = p;
    p = NULL;
out:
    tc_params_free(p);
    return err;
}

static int path_join(char *buf, size_t cap, const char *a, const char *b)
{
    if ((size_t)snprintf(buf, cap, "%s/%s", a, b) >= cap)
        return tc_error_set(TC_EINVAL, "path too long: '%s/%s'", a, b);
    return TC_OK;
}

/* Remove a directory holding only plain files (our checkpoint directories). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (path_join(path, sizeof(path), dir, e->d_name) == TC_OK)
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static cJSON *eval_json(const tc__eval *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "loss", e->loss);
    cJSON_AddNumberToObject(o, "accuracy", e->accuracy);
    cJSON_AddNumberToObject(o, "f1", e->f1);
    return o;
}

static cJSON *history_json(const tc__run *r)
{
    cJSON *a = cJSON_CreateArray();
    int32_t i;

    for (i = 0; i < r->n_history; i++) {
        const tc_epoch_report *h = &r->history[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", h->epoch);
        cJSON_AddNumberToObject(o, "step", (double)h->step);
        cJSON_AddNumberToObject(o, "lr", h->lr);
        cJSON_AddNumberToObject(o, "train_loss", h->train_loss);
        cJSON_AddNumberToObject(o, "val_loss", h->val_loss);
        cJSON_AddNumberToObject(o, "val_accuracy", h->val_accuracy);
        cJSON_AddNumberToObject(o, "val_f1", h->val_f1);
        cJSON_AddNumberToObject(o, "seconds", h->seconds);
        cJSON_AddNumberToObject(o, "train_seconds", h->train_seconds);
        cJSON_AddBoolToObject(o, "improved", h->improved);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static int write_json(const char *path, cJSON *root)
{
    char *text;
    int err;

    if (!root)
        return tc_error_set(TC_ENOMEM, "out of memory building '%s'", path);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return tc_error_set(TC_ENOMEM, "out of memory building '%s'", path);
    err = tc__write_file_atomic(path, text, strlen(text));
    cJSON_free(text);
    return err;
}

static int write_trainer_json(const tc__run *r, const char *path, int32_t epoch, int partial)
{
    cJSON *o = cJSON_CreateObject(), *rng = cJSON_CreateObject();
    char buf[32];

    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "run_id", r->cfg->run_id ? r->cfg->run_id : "");
    cJSON_AddNumberToObject(o, "epoch", epoch);
    cJSON_AddNumberToObject(o, "step", (double)tc_optim_steps(r->optim));
    snprintf(buf, sizeof(buf), "%016" PRIx64, r->dropout.key);
    cJSON_AddStringToObject(rng, "key", buf);
    snprintf(buf, sizeof(buf), "%016" PRIx64, r->dropout.counter);
    cJSON_AddStringToObject(rng, "counter", buf);
    cJSON_AddItemToObject(o, "dropout_rng", rng);
    cJSON_AddNumberToObject(o, "best_epoch", r->best_epoch);
    cJSON_AddNumberToObject(o, "best_metric", r->best_metric);
    cJSON_AddItemToObject(o, "best_eval", eval_json(&r->best_eval));
    cJSON_AddNumberToObject(o, "bad_epochs", r->bad_epochs);
    if (partial) {
        cJSON *pos = cJSON_CreateObject();
        cJSON_AddNumberToObject(pos, "epoch", r->cur.epoch);
        cJSON_AddNumberToObject(pos, "batch", (double)r->cur.batch);
        cJSON_AddNumberToObject(pos, "loss_sum", r->cur.loss_sum);
        cJSON_AddNumberToObject(pos, "counted", (double)r->cur.counted);
        cJSON_AddNumberToObject(pos, "lr", r->cur.lr);
        cJSON_AddItemToObject(o, "partial", pos);
    } else {
        cJSON_AddNullToObject(o, "partial");
    }
    cJSON_AddItemToObject(o, "history", history_json(r));
    return write_json(path, o);
}

int tc__checkpoint_save(tc__run *r, int32_t epoch, int partial)
{
    const char *root = r->cfg->checkpoint_dir;
    char name[64], tmp[4096], fin[4096], file[4096];
    DIR *d;
    struct dirent *e;
    cJSON *state;
    int err;

    if ((err = tc__mkdir_p(root)) < 0)
        return err;
    if (partial)
        snprintf(name, sizeof(name), "epoch-%04d-batch-%06lld", r->cur.epoch,
                 (long long)r->cur.batch);
    else
        snprintf(name, sizeof(name), "epoch-%04d", epoch);
    if ((err = path_join(fin, sizeof(fin), root, name)) < 0)
        return err;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", fin) >= sizeof(tmp))
        return tc_error_set(TC_EINVAL, "path too long: '%s'", fin);
    remove_dir(tmp);
    if (mkdir(tmp, 0755) < 0)
        return tc_error_set(TC_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    if ((err = path_join(file, sizeof(file), tmp, "model.safetensors")) < 0 ||
        (err = tc_params_save(tc_model_params(r->model), file, NULL)) < 0)
        return err;
    if ((err = path_join(file, sizeof(file), tmp, "best.safetensors")) < 0 ||
        (err = tc_params_save(r->best, file, NULL)) < 0)
        return err;
    if ((err = path_join(file, sizeof(file), tmp, "optimizer.safetensors")) < 0 ||
        (err = tc_optim_save(r->optim, file)) < 0)
        return err;
    if ((err = path_join(file, sizeof(file), tmp, "trainer.json")) < 0 ||
        (err = write_trainer_json(r, file, epoch, partial)) < 0)
        return err;
    remove_dir(fin);
    if (rename(tmp, fin) < 0)
        return tc_error_set(TC_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    fsync_dir(root);
    state = cJSON_CreateObject();
    cJSON_AddNumberToObject(state, "epoch", epoch);
    cJSON_AddStringToObject(state, "dir", name);
    cJSON_AddStringToObject(state, "run_id", r->cfg->run_id ? r->cfg->run_id : "");
    if ((err = path_join(file, sizeof(file), root, "state.json")) < 0 ||
        (err = write_json(file, state)) < 0)
        return err;
    /* Only now is the new epoch current: drop the older ones. */
    if ((d = opendir(root))) {
        while ((e = readdir(d))) {
            if (strncmp(e->d_name, "epoch-", 6) || !strcmp(e->d_name, name))
                continue;
            if (path_join(file, sizeof(file), root, e->d_name) == TC_OK)
                remove_dir(file);
        }
        closedir(d);
    }
    return TC_OK;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int parse_hex64(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char *end;

    if (!cJSON_IsString(v) || strlen(v->valuestring) != 16)
        return -1;
    errno = 0;
    *out = strtoull(v->valuestring, &end, 16);
    return *end || errno ? -1 : 0;
}

static int load_history(tc__run *r, const cJSON *arr, int32_t epoch)
{
    const cJSON *h;

    r->n_history = 0;
    cJSON_ArrayForEach(h, arr)
    {
        tc_epoch_report *e;
        if (r->n_history >= epoch || r->n_history >= r->cfg->epochs)
            break;
        e = &r->history[r->n_history++];
        memset(e, 0, sizeof(*e));
        e->epoch = (int32_t)json_num(h, "epoch");
        e->epochs = r->cfg->epochs;
        e->step = (int64_t)json_num(h, "step");
        e->lr = json_num(h, "lr");
        e->train_loss = json_num(h, "train_loss");
        e->val_loss = json_num(h, "val_loss");
        e->val_accuracy = json_num(h, "val_accuracy");
        e->val_f1 = json_num(h, "val_f1");
        e->seconds = json_num(h, "seconds");
        e->train_seconds = json_num(h, "train_seconds");
        e->improved = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "improved"));
    }
    return TC_OK;
}

static int restore(tc__run *r, const char *dir, const char *tj, int32_t epoch)
{
    cJSON *root = NULL;
    const cJSON *rng, *be, *pos;
    char *text = NULL, file[4096];
    size_t len;
    int err;

    if ((err = tc__read_file(tj, TRAINER_MAX_BYTES, &text, &len)) < 0)
        return err;
    if (!(root = cJSON_Parse(text)) || json_num(root, "epoch") != (double)epoch) {
        err = tc_error_set(TC_EFORMAT, "checkpoint file '%s' is damaged; remove '%s' to start over",
                           tj, r->cfg->checkpoint_dir);
        goto out;
    }
    rng = cJSON_GetObjectItemCaseSensitive(root, "dropout_rng");
    if (parse_hex64(rng, "key", &r->dropout.key) < 0 ||
        parse_hex64(rng, "counter", &r->dropout.counter) < 0) {
        err = tc_error_set(TC_EFORMAT, "checkpoint file '%s' has a bad dropout_rng", tj);
        goto out;
    }
    r->best_epoch = (int32_t)json_num(root, "best_epoch");
    r->best_metric = json_num(root, "best_metric");
    r->bad_epochs = (int32_t)json_num(root, "bad_epochs");
    be = cJSON_GetObjectItemCaseSensitive(root, "best_eval");
    r->best_eval.loss = json_num(be, "loss");
    r->best_eval.accuracy = json_num(be, "accuracy");
    r->best_eval.f1 = json_num(be, "f1");
    load_history(r, cJSON_GetObjectItemCaseSensitive(root, "history"), epoch);
    memset(&r->cur, 0, sizeof(r->cur));
    pos = cJSON_GetObjectItemCaseSensitive(root, "partial");
    if (cJSON_IsObject(pos)) {
        double pe = json_num(pos, "epoch"), pb = json_num(pos, "batch");
        double pc = json_num(pos, "counted");
        if (pe != (double)(epoch + 1) || !(pb >= 0 && pb <= 1e15) || !(pc >= 0 && pc <= 1e15)) {
            err = tc_error_set(TC_EFORMAT, "checkpoint file '%s' has a bad position", tj);
            goto out;
        }
        r->cur.epoch = epoch + 1;
        r->cur.batch = (int64_t)pb;
        r->cur.counted = (int64_t)pc;
        r->cur.loss_sum = json_num(pos, "loss_sum");
        r->cur.lr = json_num(pos, "lr");
    }
    if ((err = path_join(file, sizeof(file), dir, "model.safetensors")) < 0 ||
        (err = tc_params_load(tc_model_params(r->model), file, 0)) < 0)
        goto out;
    if ((err = path_join(file, sizeof(file), dir, "best.safetensors")) < 0 ||
        (err = tc_params_load(r->best, file, 0)) < 0)
        goto out;
    if ((err = path_join(file, sizeof(file), dir, "optimizer.safetensors")) < 0 ||
        (err = tc_optim_load(r->optim, file)) < 0)
        goto out;
out:
    cJSON_Delete(root);
    tc_free(text);
    return err;
}

int tc__checkpoint_load(tc__run *r, int32_t *out_epoch)
{
    const char *root = r->cfg->checkpoint_dir;
    char file[4096], dir[4096], *text = NULL;
    const cJSON *dn, *rid;
    cJSON *state = NULL;
    size_t len;
    double ep;
    int err;

    *out_epoch = 0;
    if ((err = path_join(file, sizeof(file), root, "state.json")) < 0)
        return err;
    if (access(file, F_OK) < 0)
        return TC_OK;
    if ((err = tc__read_file(file, STATE_MAX_BYTES, &text, &len)) < 0)
        return err;
    state = cJSON_Parse(text);
    dn = cJSON_GetObjectItemCaseSensitive(state, "dir");
    rid = cJSON_GetObjectItemCaseSensitive(state, "run_id");
    ep = json_num(state, "epoch");
    if (!state || !cJSON_IsString(dn) || strncmp(dn->valuestring, "epoch-", 6) ||
        strchr(dn->valuestring, '/') || !(ep >= 0 && ep <= TC_TRAIN_MAX_EPOCHS)) {
        err = tc_error_set(
            TC_EFORMAT, "checkpoint state '%s' is damaged; remove '%s' to start over", file, root);
        goto out;
    }
    if (r->cfg->run_id && cJSON_IsString(rid) && strcmp(rid->valuestring, r->cfg->run_id)) {
        err = tc_error_set(TC_EINVAL,
                           "the checkpoint in '%s' belongs to a different job spec; rerun with "
                           "--fresh to start over, or use another output directory",
                           root);
        goto out;
    }
    if ((int32_t)ep > r->cfg->epochs) {
        err = tc_error_set(TC_EINVAL, "the checkpoint in '%s' is at epoch %d, past train.epochs=%d",
                           root, (int)ep, r->cfg->epochs);
        goto out;
    }
    if ((err = path_join(dir, sizeof(dir), root, dn->valuestring)) < 0 ||
        (err = path_join(file, sizeof(file), dir, "trainer.json")) < 0)
        goto out;
    if ((err = restore(r, dir, file, (int32_t)ep)) < 0)
        goto out;
    *out_epoch = (int32_t)ep;
out:
    cJSON_Delete(state);
    tc_free(text);
    return err;
}
