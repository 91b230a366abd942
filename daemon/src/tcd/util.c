/*
 * util.c - logging, clocks, atomic files and process spawning for tcd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

/* ---- logging ------------------------------------------------------------------------------ */

void tcd_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"", "", "", "error: ", "warning: ", "", "", ""};
    char line[2048];
    int n;
    size_t len;
    va_list ap;

    if (getenv("JOURNAL_STREAM"))
        n = snprintf(line, sizeof(line), "<%d>", level);
    else
        n = snprintf(line, sizeof(line), "tcd: %s", names[level & 7]);
    if (n < 0)
        return;
    len = (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    len += (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write per line, so lines from threads do not interleave. */
    if (write(STDERR_FILENO, line, len) < 0)
        return;
}

double tcd_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tcd_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *tcd_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- files -------------------------------------------------------------------------------- */

int tcd_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tcd_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char *tmp = NULL, *dir = NULL, *slash;
    int fd = -1, r = 0;

    if (!(tmp = tcd_strdup_printf("%s.tmp.%d", path, (int)getpid())) || !(dir = strdup(path))) {
        r = -ENOMEM;
        goto out;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0) {
        r = -errno;
        goto out;
    }
    if ((r = write_all(fd, data, len)) < 0)
        goto out;
    if (fsync(fd) < 0) {
        r = -errno;
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out;
    }
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        tcd_fsync_dir(dir);
    }
out:
    if (fd >= 0)
        close(fd);
    if (r < 0 && tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    return r;
}

int tcd_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    struct stat st;
    char *buf = NULL;
    size_t have = 0;
    int fd, r = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if ((size_t)st.st_size > max) {
        r = -EFBIG;
        goto out;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        r = -ENOMEM;
        goto out;
    }
    while (have < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    buf[have] = '\0';
    *out = buf;
    buf = NULL;
    if (out_len)
        *out_len = have;
out:
    free(buf);
    close(fd);
    return r;
}

int tcd_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int tcd_rm_rf(const char *path)
{
    struct stat st;
    DIR *dir;
    struct dirent *e;
    int r = 0;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    if (!(dir = opendir(path)))
        return -errno;
    while ((e = readdir(dir))) {
        char *child;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!(child = tcd_strdup_printf("%s/%s", path, e->d_name))) {
            r = -ENOMEM;
            break;
        }
        if ((r = tcd_rm_rf(child)) < 0) {
            free(child);
            break;
        }
        free(child);
    }
    closedir(dir);
    if (r == 0 && rmdir(path) < 0)
        r = -errno;
    return r;
}

/* ---- processes ---------------------------------------------------------------------------- */

static int env_skip(const char *e, int keep_token)
{
    static const char *const drop[] = {
        "HF_TOKEN=",   "HUGGING_FACE_HUB_TOKEN=", "NOTIFY_SOCKET=", "LISTEN_PID=",
        "LISTEN_FDS=", "LISTEN_FDNAMES=",         "WATCHDOG_USEC=", "WATCHDOG_PID="};
    size_t i;

    for (i = keep_token ? 2 : 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (!strncmp(e, drop[i], strlen(drop[i])))
            return 1;
    return 0;
}

char **tcd_worker_env(const tcd_config *cfg)
{
    return tcd_worker_env_ex(cfg, 0);
}

char **tcd_worker_env_ex(const tcd_config *cfg, int keep_token)
{
    size_t n = 0, k = 0, i, len;
    char **v, *p;

    while (environ && environ[n])
        n++;
    if (!(v = calloc(n + 2, sizeof(char *))))
        return NULL;
    for (i = 0; i < n; i++) {
        if (env_skip(environ[i], keep_token))
            continue;
        if (cfg->n_plugin_dirs && !strncmp(environ[i], "TCD_PLUGIN_PATH=", 16))
            continue;
        if (!(v[k++] = strdup(environ[i])))
            goto oom;
    }
    if (cfg->n_plugin_dirs) {
        len = sizeof("TCD_PLUGIN_PATH=");
        for (i = 0; i < cfg->n_plugin_dirs; i++)
            len += strlen(cfg->plugin_dirs[i]) + 1;
        if (!(p = v[k++] = malloc(len)))
            goto oom;
        p += snprintf(p, len, "TCD_PLUGIN_PATH=");
        for (i = 0; i < cfg->n_plugin_dirs; i++) {
            size_t m = strlen(cfg->plugin_dirs[i]);
            if (i)
                *p++ = ':';
            memcpy(p, cfg->plugin_dirs[i], m);
            p += m;
        }
        *p = '\0';
    }
    v[k] = NULL;
    return v;
oom:
    tcd_strv_free(v);
    return NULL;
}

void tcd_strv_free(char **v)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* In the child: only async-signal-safe calls until execve. */
static void child_exec(const tcd_spawn_opts *o, int null_fd, pid_t parent)
{
    sigset_t none;
    struct sigaction sa;
    char *const *av;
    int sig;
    static const char msg[] = "tcd: cannot execute the worker\n";

    setpgid(0, 0);
    if (o->parent_death_kill) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(o->stdout_fd, STDOUT_FILENO) < 0 ||
        dup2(o->stderr_fd >= 0 ? o->stderr_fd : null_fd, STDERR_FILENO) < 0)
        _exit(127);
    if (o->cwd && chdir(o->cwd) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
    memcpy(&av, &o->argv, sizeof(av)); /* execve's argv type predates const */
    execve(o->argv[0], av, o->envp);
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
        _exit(127);
    _exit(127);
}

int tcd_spawn(const tcd_spawn_opts *o, pid_t *pid)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = getpid(), p;

    if (null_fd < 0)
        return -errno;
    p = fork();
    if (p < 0) {
        int e = errno;
        close(null_fd);
        return -e;
    }
    if (p == 0)
        child_exec(o, null_fd, parent);
    setpgid(p, p); /* both sides, so kill(-pid) works at once */
    close(null_fd);
    *pid = p;
    return 0;
}

/* Wait for pid until deadline (mono); SIGKILL its group after. */
static void wait_bounded(pid_t pid, double deadline, int *wstatus)
{
    int pfd = pidfd_open(pid, 0);

    if (pfd >= 0) {
        for (;;) {
            struct pollfd p = {pfd, POLLIN, 0};
            double left = deadline - tcd_mono();
            int r;
            if (left <= 0)
                break;
            r = poll(&p, 1, (int)(left * 1000) + 1);
            if (r != 0 && !(r < 0 && errno == EINTR))
                break;
        }
        close(pfd);
    }
    if (waitpid(pid, wstatus, WNOHANG) == pid)
        return;
    kill(-pid, SIGKILL);
    while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
        ;
}

int tcd_run_capture(const tcd_config *cfg, const char *const *argv, const char *cwd,
                    double timeout_s, char **out, int *wstatus, char *err, size_t errcap)
{
    tcd_spawn_opts o;
    char **envp = NULL, *buf = NULL;
    size_t have = 0, cap = 64 * 1024;
    int pipefd[2] = {-1, -1}, r = TCD_E_INTERNAL, killed = 0;
    double deadline = tcd_mono() + timeout_s;
    pid_t pid = -1;

    if (!(envp = tcd_worker_env(cfg)) || !(buf = malloc(cap))) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(err, errcap, "pipe: %s", strerror(errno));
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.envp = envp;
    o.cwd = cwd;
    o.stdout_fd = pipefd[1];
    o.stderr_fd = -1;
    if ((r = tcd_spawn(&o, &pid)) < 0) {
        snprintf(err, errcap, "cannot start '%s': %s", argv[0], strerror(-r));
        r = TCD_E_INTERNAL;
        goto out;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    for (;;) {
        struct pollfd p = {pipefd[0], POLLIN, 0};
        double left = deadline - tcd_mono();
        ssize_t n;
        int pr;
        if (left <= 0) {
            killed = 1;
            break;
        }
        pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (have + 1 >= cap) {
            char *nb;
            if (cap >= TCD_PROBE_MAX_OUT) {
                killed = 1;
                break;
            }
            if (!(nb = realloc(buf, cap * 2)))
                break;
            buf = nb;
            cap *= 2;
        }
        n = read(pipefd[0], buf + have, cap - have - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    if (killed)
        kill(-pid, SIGKILL);
    wait_bounded(pid, killed ? tcd_mono() : deadline, wstatus);
    if (killed) {
        snprintf(err, errcap, "'%s %s' did not finish within %.0f s or printed too much", argv[0],
                 argv[1], timeout_s);
        r = TCD_E_INTERNAL;
        goto out;
    }
    buf[have] = '\0';
    *out = buf;
    buf = NULL;
    r = TCD_OK;
out:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(buf);
    tcd_strv_free(envp);
    return r;
}
