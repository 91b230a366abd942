/*
 * supervise.c - the main loop's side of the job manager: the FIFO
 * scheduler, spawning tcd-worker, reading its NDJSON events, reaping it and
 * mapping its exit to a job state, timeouts and cancel grace kills, loading
 * the state directory at start, and stopping workers at shutdown.
 *
 * Only the main thread runs these, with d->lock held while it touches jobs.
 * Workers are reaped by pid (waitpid(pid, WNOHANG) for each running job),
 * not waitpid(-1): spec checks and plugin probes run as children of API
 * threads, which wait for their own pids.
 *
 * Shutdown (SIGTERM/SIGINT): every worker gets SIGTERM, stops at its next
 * batch boundary (the last epoch checkpoint stays in output/), and its job
 * stays `running` in job.json; the next tcd re-queues it and the worker
 * resumes from the checkpoint. Workers that outlive cancel_grace_s get
 * SIGKILL; they resume the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs.h"
#include "schedule.h"

/* A job the daemon had to resume this many times is given up (`interrupted`). */
#define MAX_ATTEMPTS 10
/* Progress events are persisted at most this often (the last one of an epoch always). */
#define PROGRESS_INTERVAL_S 0.2

static int running_count(const tcd_daemon *d)
{
    size_t i;
    int n = 0;

    for (i = 0; i < d->n_jobs; i++)
        n += d->jobs[i]->pid > 0;
    return n;
}

/* Running workers of one pool: transfer (pull and push jobs) or train. */
static int running_pool(const tcd_daemon *d, int transfer)
{
    size_t i;
    int n = 0;

    for (i = 0; i < d->n_jobs; i++)
        n += d->jobs[i]->pid > 0 && tcd_job__is_transfer(d->jobs[i]) == transfer;
    return n;
}

int tcd_loop_running(tcd_daemon *d)
{
    int n;

    pthread_mutex_lock(&d->lock);
    n = running_count(d);
    pthread_mutex_unlock(&d->lock);
    return n;
}

void tcd_jobs_status_line(tcd_daemon *d, char *buf, size_t cap)
{
    size_t i, q = 0, r = 0;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->n_jobs; i++) {
        q += d->jobs[i]->state == TCD_JOB_QUEUED;
        r += d->jobs[i]->state == TCD_JOB_RUNNING;
    }
    pthread_mutex_unlock(&d->lock);
    snprintf(buf, cap, "%zu running, %zu queued", r, q);
}

/* ---- events from the worker --------------------------------------------------------------- */

static cJSON *progress_of(const cJSON *ev)
{
    cJSON *p = cJSON_Duplicate(ev, 1);

    if (p) {
        cJSON_DeleteItemFromObjectCaseSensitive(p, "type");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "seq");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "ts");
        cJSON_DeleteItemFromObjectCaseSensitive(p, "job");
    }
    return p;
}

static void on_line(tcd_daemon *d, tcd_job *j, const char *s, size_t n)
{
    cJSON *ev, *type;
    const char *t;

    if (n == 0)
        return;
    ev = cJSON_ParseWithLength(s, n);
    type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    if (!cJSON_IsObject(ev) || !cJSON_IsString(type)) {
        cJSON_Delete(ev);
        tcd_job__log(d, j, "warn", "worker: %.*s", (int)(n > 512 ? 512 : n), s);
        return;
    }
    t = type->valuestring;
    if (!strcmp(t, "result")) {
        /* Held back: the job's own `state` event goes first, the result last. */
        cJSON_Delete(j->worker_result);
        j->worker_result = ev;
        return;
    }
    if (!strcmp(t, "progress")) {
        double now = tcd_mono(), done = cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "completed")),
               total = cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "total"));
        cJSON_Delete(j->progress);
        j->progress = progress_of(ev);
        if (done != total && now - j->last_progress < PROGRESS_INTERVAL_S) {
            cJSON_Delete(ev);
            return;
        }
        j->last_progress = now;
    } else if (strcmp(t, "log") != 0 && strcmp(t, "metric") != 0) {
        tcd_job__log(d, j, "warn", "worker printed an event of unknown type '%.64s', ignoring", t);
        cJSON_Delete(ev);
        return;
    }
    tcd_job__emit(d, j, ev, 0);
}

/* Split into lines; a line longer than TCD_MAX_LINE is dropped with a log event. */
static void feed(tcd_daemon *d, tcd_job *j, const char *buf, size_t n)
{
    while (n) {
        const char *nl = memchr(buf, '\n', n);
        size_t take = nl ? (size_t)(nl - buf) : n;

        if (j->line_dropping) {
            if (nl)
                j->line_dropping = 0;
        } else if (j->line_len + take > TCD_MAX_LINE) {
            tcd_job__log(d, j, "warn", "dropped a worker output line longer than %d bytes",
                         TCD_MAX_LINE);
            j->line_len = 0;
            j->line_dropping = !nl;
        } else {
            memcpy(j->line + j->line_len, buf, take);
            j->line_len += take;
            if (nl) {
                on_line(d, j, j->line, j->line_len);
                j->line_len = 0;
            }
        }
        take += nl ? 1 : 0;
        buf += take;
        n -= take;
    }
}

static void close_pipe(tcd_daemon *d, tcd_job *j)
{
    if (j->line_len && !j->line_dropping)
        on_line(d, j, j->line, j->line_len); /* a last line without '\n' */
    j->line_len = 0;
    if (j->out_fd >= 0)
        close(j->out_fd);
    j->out_fd = -1;
}

/*
 * Read what the pipe has (bounded per call, so one chatty worker cannot
 * starve the loop). 0: drained for now (EAGAIN), 1: closed, 2: more to read.
 */
static int read_pipe(tcd_daemon *d, tcd_job *j)
{
    char buf[16384];
    int rounds;

    for (rounds = 0; j->out_fd >= 0 && rounds < 64; rounds++) {
        ssize_t n = read(j->out_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0) {
            close_pipe(d, j);
            return 1;
        }
        feed(d, j, buf, (size_t)n);
    }
    return j->out_fd >= 0 ? 2 : 1;
}

size_t tcd_loop_pollfds(tcd_daemon *d, struct pollfd *fds, size_t cap)
{
    size_t i, n = 0;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->n_jobs && n < cap; i++) {
        if (d->jobs[i]->out_fd >= 0) {
            fds[n].fd = d->jobs[i]->out_fd;
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            n++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

void tcd_loop_on_pipes(tcd_daemon *d, const struct pollfd *fds, size_t n)
{
    size_t i, k;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        for (k = 0; k < d->n_jobs; k++)
            if (d->jobs[k]->out_fd == fds[i].fd)
                read_pipe(d, d->jobs[k]);
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- starting a worker -------------------------------------------------------------------- */

/* Strings of a pull job's include/exclude array into argv as FLAG VALUE pairs. */
static size_t add_patterns(const char **argv, size_t k, const cJSON *arr, const char *flag)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it)) {
            argv[k++] = flag;
            argv[k++] = it->valuestring;
        }
    }
    return k;
}

static const char *xfer_str(const tcd_job *j, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j->xfer, key);

    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* `push DIR|--rollback --repo R --type T --branch B [--message M] [--private] [--force]
 * --when W` into argv (at most 15 entries). W: the job's "when"; a push job without one (made by an
 * older tcd) pushes always, whatever push.when the pushed directory's tcd-spec.yaml says. */
static size_t add_push_args(const char **argv, size_t k, const tcd_job *j)
{
    const char *msg = xfer_str(j, "message", NULL);

    argv[k++] = "push";
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->xfer, "rollback")))
        argv[k++] = "--rollback"; /* restores the previous champion of the repo; no DIR */
    else
        argv[k++] = xfer_str(j, "dir", "");
    argv[k++] = "--repo";
    argv[k++] = xfer_str(j, "repo", "");
    argv[k++] = "--type";
    argv[k++] = xfer_str(j, "repo_type", "model");
    argv[k++] = "--branch";
    argv[k++] = xfer_str(j, "branch", "main");
    if (msg) {
        argv[k++] = "--message";
        argv[k++] = msg;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->xfer, "private")))
        argv[k++] = "--private";
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->xfer, "force")))
        argv[k++] = "--force";
    argv[k++] = "--when";
    argv[k++] = xfer_str(j, "when", "always");
    return k;
}

static int spawn_worker(tcd_daemon *d, tcd_job *j, char *err, size_t errcap)
{
    const cJSON *inc = cJSON_GetObjectItemCaseSensitive(j->xfer, "include");
    const cJSON *exc = cJSON_GetObjectItemCaseSensitive(j->xfer, "exclude");
    /* argv[0], the command's own (run: 6, pull: 6, push: 15), --json, NULL */
    size_t n_args = j->n_sets * 2 + 24 + 2 * (size_t)cJSON_GetArraySize(inc) +
                    2 * (size_t)cJSON_GetArraySize(exc);
    const char **argv = calloc(n_args, sizeof(char *));
    char *spec = tcd_strdup_printf("%s/spec.yaml", j->dir);
    char *outdir = tcd_strdup_printf("%s/output", j->dir);
    char *logp = tcd_strdup_printf("%s/worker.log", j->dir);
    /* HF_TOKEN reaches transfer workers only; they never write it to stdout or stderr */
    char **envp = tcd_worker_env_ex(&d->cfg, tcd_job__is_transfer(j));
    int pipefd[2] = {-1, -1}, logfd = -1, r = -ENOMEM;
    tcd_spawn_opts o;
    size_t i, k = 0;
    pid_t pid;

    if (!argv || !spec || !outdir || !logp || !envp || !(j->line = malloc(TCD_MAX_LINE)))
        goto out;
    argv[k++] = d->cfg.worker_path;
    if (j->kind == TCD_JOB_PULL) {
        argv[k++] = "pull";
        argv[k++] = xfer_str(j, "repo_type", "model");
        argv[k++] = xfer_str(j, "repo", "");
        argv[k++] = "--revision";
        argv[k++] = xfer_str(j, "revision", "main");
        k = add_patterns(argv, k, inc, "--include");
        k = add_patterns(argv, k, exc, "--exclude");
    } else if (j->kind == TCD_JOB_PUSH) {
        k = add_push_args(argv, k, j);
    } else {
        argv[k++] = "run";
        argv[k++] = spec;
        for (i = 0; i < j->n_sets; i++) {
            argv[k++] = "--set";
            argv[k++] = j->sets[i];
        }
        argv[k++] = "--out";
        argv[k++] = outdir;
    }
    argv[k++] = "--json";
    argv[k] = NULL;
    if (pipe2(pipefd, O_CLOEXEC) < 0 ||
        (logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
        r = -errno;
        goto out;
    }
    j->log_start = lseek(logfd, 0, SEEK_END);
    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.envp = envp;
    o.cwd = j->dir;
    o.stdout_fd = pipefd[1];
    o.stderr_fd = logfd;
    o.parent_death_kill = 1;
    if ((r = tcd_spawn(&o, &pid)) < 0)
        goto out;
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    j->out_fd = pipefd[0];
    pipefd[0] = -1;
    j->pid = pid;
    r = 0;
out:
    if (r < 0) {
        snprintf(err, errcap, "cannot start the worker '%s': %s", d->cfg.worker_path, strerror(-r));
        free(j->line);
        j->line = NULL;
    }
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (logfd >= 0)
        close(logfd);
    tcd_strv_free(envp);
    free(argv);
    free(spec);
    free(outdir);
    free(logp);
    return r;
}

/*
 * A push job's directory is checked again before each start: its source job may have been
 * deleted, or its owner may have changed what is there since the job was accepted. 1 (err set)
 * when the job cannot run.
 */
static int push_source_gone(const tcd_job *j, char *err, size_t errcap)
{
    const char *src = xfer_str(j, "source", "");
    const char *dir = tcd_job__push_dir(j);
    char why[400];

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->xfer, "rollback")))
        return 0;
    if (!dir) {
        snprintf(err, errcap, "the push job has no source directory");
        return 1;
    }
    if (tcd_job__push_dir_check(dir, j->owner, tcd_job_id_valid(src), why, sizeof(why)) == TCD_OK)
        return 0;
    if (tcd_job_id_valid(src))
        snprintf(err, errcap, "the output of source job %s is gone: %s", src, why);
    else
        snprintf(err, errcap, "source directory: %s", why);
    return 1;
}

static void job_start(tcd_daemon *d, tcd_job *j)
{
    char err[512];
    double now = tcd_mono();

    j->attempts++;
    j->stop = TCD_STOP_NONE;
    j->kill_at = 0;
    j->line_len = 0;
    j->line_dropping = 0;
    j->last_progress = 0;
    j->exit_code = j->exit_signal = -1;
    cJSON_Delete(j->worker_result);
    j->worker_result = NULL;
    if (j->kind == TCD_JOB_PUSH && push_source_gone(j, err, sizeof(err))) {
        tcd_log(TCD_LOG_NOTICE, "job %s: %s", j->id, err);
        tcd_job__finish(d, j, TCD_JOB_FAILED, err);
        return;
    }
    if (spawn_worker(d, j, err, sizeof(err)) < 0) {
        tcd_log(TCD_LOG_ERR, "job %s: %s", j->id, err);
        tcd_job__finish(d, j, TCD_JOB_FAILED, err);
        return;
    }
    if (!j->started)
        j->started = tcd_now();
    j->deadline = j->timeout_s > 0 ? now + j->timeout_s : 0;
    tcd_log(TCD_LOG_INFO, "job %s: started worker %d (attempt %d)", j->id, (int)j->pid,
            j->attempts);
    tcd_job__set_state(d, j, TCD_JOB_RUNNING, NULL);
}

/* ---- the worker's end --------------------------------------------------------------------- */

static const char *result_message(const tcd_job *j)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j->worker_result, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

    return cJSON_IsString(m) ? m->valuestring : NULL;
}

/*
 * The first line this attempt's worker wrote to worker.log (at most cap - 1 bytes), for a
 * worker that exited with 2 (usage) and no result: it names what the worker refused. "" if none.
 */
static void first_log_line(const tcd_job *j, char *buf, size_t cap)
{
    char *path = tcd_strdup_printf("%s/worker.log", j->dir), *nl;
    ssize_t n = -1;
    int fd;

    buf[0] = '\0';
    if (path && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
        n = pread(fd, buf, cap - 1, j->log_start > 0 ? j->log_start : 0);
        close(fd);
    }
    free(path);
    buf[n > 0 ? n : 0] = '\0';
    if ((nl = strchr(buf, '\n')))
        *nl = '\0';
    for (nl = buf; *nl; nl++)
        if ((unsigned char)*nl < 0x20 || *nl == 0x7f)
            *nl = ' ';
}

static void job_exited(tcd_daemon *d, tcd_job *j, int st)
{
    char reason[1024];
    tcd_job_stop stop = j->stop;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1, sig = WIFSIGNALED(st) ? WTERMSIG(st) : -1;
    const char *msg;

    tcd_log(TCD_LOG_INFO, "job %s: worker %d %s %d", j->id, (int)j->pid,
            code >= 0 ? "exited with" : "killed by signal", code >= 0 ? code : sig);
    j->pid = 0;
    j->prev_pid = 0;
    j->exit_code = code;
    j->exit_signal = sig;
    j->deadline = j->kill_at = 0;
    j->stop = TCD_STOP_NONE;
    free(j->line);
    j->line = NULL;
    if (code == 0) {
        tcd_job__finish(d, j, TCD_JOB_SUCCEEDED, NULL);
        tcd_log(TCD_LOG_INFO, "job %s succeeded", j->id);
        return;
    }
    if (stop == TCD_STOP_NONE && d->shutting_down &&
        (code == 3 || sig == SIGTERM || sig == SIGKILL))
        stop = TCD_STOP_SHUTDOWN;
    if (stop == TCD_STOP_SHUTDOWN && (code == 3 || sig >= 0)) {
        /* Stays `running` in job.json: the next start resumes it. */
        cJSON_Delete(j->worker_result);
        j->worker_result = NULL;
        tcd_job__save(d, j);
        return;
    }
    if (stop == TCD_STOP_CANCEL) {
        snprintf(reason, sizeof(reason), "cancelled by uid %u", (unsigned)j->cancel_uid);
        tcd_job__finish(d, j, TCD_JOB_CANCELLED, reason);
    } else if (stop == TCD_STOP_REPLACE) {
        snprintf(reason, sizeof(reason), "replaced by job %s", j->replaced_by);
        tcd_job__finish(d, j, TCD_JOB_CANCELLED, reason);
    } else if (stop == TCD_STOP_TIMEOUT) {
        snprintf(reason, sizeof(reason), "timeout after %g s", j->timeout_s);
        tcd_job__finish(d, j, TCD_JOB_TIMED_OUT, reason);
    } else if (sig >= 0) {
        snprintf(reason, sizeof(reason), "plugin_crashed: signal %d (%s)", sig,
                 sigdescr_np(sig) ? sigdescr_np(sig) : "unknown signal");
        tcd_job__finish(d, j, TCD_JOB_FAILED, reason);
    } else if (code == 3) {
        tcd_job__finish(d, j, TCD_JOB_CANCELLED, "the worker was stopped from outside tcd");
    } else {
        char line[256] = "";
        msg = result_message(j);
        if (!msg && code == 2) {
            first_log_line(j, line, sizeof(line));
            msg = line[0] ? line : NULL;
        }
        if (msg)
            snprintf(reason, sizeof(reason), "worker exited with %d: %s", code, msg);
        else
            snprintf(reason, sizeof(reason), "worker exited with %d", code);
        tcd_job__finish(d, j, TCD_JOB_FAILED, reason);
    }
    tcd_log(TCD_LOG_INFO, "job %s %s%s%s", j->id, tcd_job__state_name(j->state),
            j->reason ? ": " : "", j->reason ? j->reason : "");
}

static void reap_one(tcd_daemon *d, tcd_job *j, int st)
{
    /* The result line may still sit in the pipe: read to EOF (or to what is there). */
    while (j->out_fd >= 0)
        if (read_pipe(d, j) == 0)
            close_pipe(d, j); /* all it wrote is read; a grandchild may hold the pipe */
    job_exited(d, j, st);
}

void tcd_loop_reap(tcd_daemon *d)
{
    size_t i;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->n_jobs; i++) {
        tcd_job *j = d->jobs[i];
        int st = 0;
        pid_t r;
        if (j->pid <= 0)
            continue;
        r = waitpid(j->pid, &st, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            continue;
        if (r < 0) {
            tcd_log(TCD_LOG_ERR, "job %s: worker %d vanished: %s", j->id, (int)j->pid,
                    strerror(errno));
            st = SIGKILL; /* reads as "killed by signal 9" */
        }
        reap_one(d, j, st);
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- scheduler and timers ----------------------------------------------------------------- */

static double min_deadline(double a, double b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

static void check_timers(tcd_daemon *d, tcd_job *j, double now)
{
    if (j->deadline && now >= j->deadline && j->stop == TCD_STOP_NONE) {
        j->stop = TCD_STOP_TIMEOUT;
        j->deadline = 0;
        kill(-j->pid, SIGTERM);
        j->kill_at = now + d->cfg.limits.cancel_grace_s;
        tcd_job__log(d, j, "warn", "timeout after %g s; stopping the worker", j->timeout_s);
        tcd_log(TCD_LOG_INFO, "job %s: timeout after %g s", j->id, j->timeout_s);
    }
    if (j->kill_at && now >= j->kill_at) {
        kill(-j->pid, SIGKILL);
        j->kill_at = 0;
        tcd_job__log(d, j, "warn", "the worker did not stop within %g s; killed it",
                     d->cfg.limits.cancel_grace_s);
        tcd_log(TCD_LOG_WARNING, "job %s: worker %d did not stop in time; killed it", j->id,
                (int)j->pid);
    }
}

/*
 * A queued job with deadline_s that never started (attempts 0; a job re-queued to resume is not
 * new) and is past created + deadline_s ends `missed` instead of starting late. Returns the
 * monotonic time of the next such deadline, 0 = none.
 */
static double check_missed(tcd_daemon *d, double now)
{
    double wall = tcd_now(), next = 0;
    char reason[160];
    size_t i;

    for (i = 0; i < d->n_jobs; i++) {
        tcd_job *j = d->jobs[i];
        double left;
        if (j->state != TCD_JOB_QUEUED || j->deadline_s <= 0 || j->attempts > 0)
            continue;
        left = j->created + j->deadline_s - wall;
        if (left > 0) {
            next = min_deadline(next, now + left);
            continue;
        }
        snprintf(reason, sizeof(reason), "not started within its deadline of %g s (deadline_s)",
                 j->deadline_s);
        tcd_log(TCD_LOG_NOTICE, "job %s missed: %s", j->id, reason);
        tcd_job__finish(d, j, TCD_JOB_MISSED, reason);
    }
    return next;
}

double tcd_loop_tick(tcd_daemon *d)
{
    double now, next = tcd_schedules_tick(d); /* due schedules queue their jobs first */
    size_t i;
    int running[2];

    now = tcd_mono();
    pthread_mutex_lock(&d->lock);
    if (!d->shutting_down)
        next = min_deadline(next, check_missed(d, now)); /* keeps the schedules' deadline */
    running[0] = running_pool(d, 0);
    running[1] = running_pool(d, 1);
    for (i = 0; i < d->n_jobs && !d->shutting_down; i++) {
        tcd_job *j = d->jobs[i];
        int pool = tcd_job__is_transfer(j);
        int limit = pool ? d->cfg.limits.transfer_concurrency : d->cfg.limits.train_concurrency;
        if (j->state == TCD_JOB_QUEUED && running[pool] < limit) {
            job_start(d, j);
            running[pool] += j->pid > 0;
        }
    }
    for (i = 0; i < d->n_jobs; i++) {
        tcd_job *j = d->jobs[i];
        if (j->pid <= 0)
            continue;
        check_timers(d, j, now);
        next = min_deadline(next, min_deadline(j->deadline, j->kill_at));
    }
    pthread_mutex_unlock(&d->lock);
    return next;
}

/* ---- shutdown ----------------------------------------------------------------------------- */

void tcd_jobs_shutdown_begin(tcd_daemon *d)
{
    double now = tcd_mono();
    size_t i;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->n_jobs; i++) {
        tcd_job *j = d->jobs[i];
        if (j->pid <= 0 || j->stop != TCD_STOP_NONE)
            continue;
        j->stop = TCD_STOP_SHUTDOWN;
        j->deadline = 0;
        kill(-j->pid, SIGTERM);
        j->kill_at = now + d->cfg.limits.cancel_grace_s;
        tcd_job__log(d, j, "info",
                     "daemon stopping; the job resumes from its last checkpoint when tcd starts "
                     "again");
    }
    pthread_mutex_unlock(&d->lock);
}

void tcd_jobs_shutdown_kill(tcd_daemon *d)
{
    size_t i;

    pthread_mutex_lock(&d->lock);
    for (i = 0; i < d->n_jobs; i++) {
        tcd_job *j = d->jobs[i];
        int st = 0;
        if (j->pid <= 0)
            continue;
        if (j->stop == TCD_STOP_NONE)
            j->stop = TCD_STOP_SHUTDOWN;
        kill(-j->pid, SIGKILL);
        while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
            ;
        reap_one(d, j, st);
    }
    pthread_mutex_unlock(&d->lock);
}

void tcd_jobs_free(tcd_daemon *d)
{
    size_t i;

    for (i = 0; i < d->n_jobs; i++)
        tcd_job__free(d->jobs[i]);
    free(d->jobs);
    d->jobs = NULL;
    d->n_jobs = d->cap_jobs = 0;
}

/* ---- loading at start --------------------------------------------------------------------- */

/* 1 if pid is a tcd-worker of this job (its command line names the job directory). */
static int is_our_worker(pid_t pid, const char *dir)
{
    char path[64], buf[16384];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    return n > 0 && memmem(buf, (size_t)n, dir, strlen(dir)) != NULL;
}

/*
 * A worker of the previous daemon may still run (tcd was killed; the worker
 * got SIGTERM from PR_SET_PDEATHSIG). Let it reach its batch boundary, then
 * make sure it is gone before a new worker uses the same output directory.
 */
static void stop_leftover(tcd_daemon *d, tcd_job *j)
{
    pid_t pid = j->prev_pid;
    int pfd;

    if (pid <= 0 || !is_our_worker(pid, j->dir))
        return;
    tcd_log(TCD_LOG_NOTICE,
            "job %s: worker %d of the previous daemon is still running; stopping it", j->id,
            (int)pid);
    if ((pfd = pidfd_open(pid, 0)) < 0)
        return;
    kill(-pid, SIGTERM);
    {
        struct pollfd p = {pfd, POLLIN, 0};
        int ms = (int)(d->cfg.limits.cancel_grace_s * 1000);
        if (poll(&p, 1, ms) == 0) {
            kill(-pid, SIGKILL);
            p.revents = 0;
            poll(&p, 1, 5000);
        }
    }
    close(pfd);
}

static void resume(tcd_daemon *d, tcd_job *j)
{
    char *spec = tcd_strdup_printf("%s/spec.yaml", j->dir);
    char reason[128];

    stop_leftover(d, j);
    j->prev_pid = 0;
    if (tcd_job__is_transfer(j) && j->attempts < MAX_ATTEMPTS) {
        /* a push is idempotent: LFS objects the Hub already has are not uploaded again */
        const char *what = j->kind == TCD_JOB_PUSH ? "upload" : "download";
        tcd_job__log(d, j, "info", "daemon restarted; resuming the %s", what);
        tcd_job__set_state(d, j, TCD_JOB_QUEUED, "daemon restarted; resuming");
        tcd_log(TCD_LOG_INFO, "job %s: re-queued to resume its %s", j->id, what);
    } else if (!tcd_job__is_transfer(j) && (!spec || access(spec, R_OK) < 0)) {
        tcd_job__finish(d, j, TCD_JOB_INTERRUPTED, "daemon restarted and the job cannot resume");
    } else if (j->attempts >= MAX_ATTEMPTS) {
        snprintf(reason, sizeof(reason), "daemon restarted and the job cannot resume (%d attempts)",
                 j->attempts);
        tcd_job__finish(d, j, TCD_JOB_INTERRUPTED, reason);
    } else {
        tcd_job__log(d, j, "info", "daemon restarted; resuming from the last checkpoint");
        tcd_job__set_state(d, j, TCD_JOB_QUEUED, "daemon restarted; resuming");
        tcd_log(TCD_LOG_INFO, "job %s: re-queued to resume from its last checkpoint", j->id);
    }
    free(spec);
}

static int by_created(const void *a, const void *b)
{
    const tcd_job *x = *(tcd_job *const *)a, *y = *(tcd_job *const *)b;

    return x->created < y->created ? -1 : x->created > y->created ? 1 : strcmp(x->id, y->id);
}

int tcd_jobs_load(tcd_daemon *d)
{
    char *dir = tcd_strdup_printf("%s/jobs", d->cfg.state_dir), err[512];
    struct dirent *e;
    DIR *dp;
    size_t i, n;

    if (!dir)
        return -1;
    if (!(dp = opendir(dir))) {
        tcd_log(TCD_LOG_ERR, "cannot open %s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    while ((e = readdir(dp))) {
        tcd_job *j;
        if (e->d_name[0] == '.')
            continue;
        if (!tcd_job_id_valid(e->d_name)) {
            tcd_log(TCD_LOG_WARNING, "%s/%s is not a job directory, ignoring", dir, e->d_name);
            continue;
        }
        if (!(j = tcd_job__load(d, e->d_name, err, sizeof(err)))) {
            tcd_log(TCD_LOG_WARNING, "job %s: %s, ignoring", e->d_name, err);
            continue;
        }
        if (tcd_job__add(d, j) < 0) {
            tcd_job__free(j);
            break;
        }
    }
    closedir(dp);
    if (d->n_jobs)
        qsort(d->jobs, d->n_jobs, sizeof(*d->jobs), by_created);
    n = d->n_jobs; /* push jobs created below are new and queued */
    for (i = 0; i < n; i++) {
        if (d->jobs[i]->state == TCD_JOB_RUNNING)
            resume(d, d->jobs[i]);
        else if (d->jobs[i]->push_pending)
            tcd_job__queue_push(d, d->jobs[i]); /* tcd stopped before it created the push job */
    }
    tcd_log(TCD_LOG_INFO, "loaded %zu jobs from %s", n, dir);
    pthread_mutex_unlock(&d->lock);
    free(dir);
    return 0;
}
