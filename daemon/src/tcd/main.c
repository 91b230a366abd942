/*
 * tcd - the fine-tuning daemon: control socket (api.c), job queue and worker
 * supervision (jobs.c, supervise.c), plugin probes (plugins.c).
 *
 *   tcd [--state-dir DIR] [--socket PATH] [--config FILE] [--check-config] [--version]
 *
 * Runs in the foreground; logs to stderr ("<N>" syslog prefixes under the
 * journal). systemd: Type=notify (READY=1, STATUS=, RELOADING=1 on SIGHUP,
 * STOPPING=1, WATCHDOG=1 every WATCHDOG_USEC/2) and socket activation
 * (LISTEN_FDS). SIGTERM/SIGINT stop gracefully: no new requests, workers get
 * SIGTERM and stop at a batch boundary, their jobs stay `running` on disk and
 * resume from the last checkpoint when tcd starts again. A second
 * SIGTERM/SIGINT kills the workers at once (they resume the same way).
 * SIGHUP re-reads the config file; limits are applied, other keys need a
 * restart.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage, 78 invalid configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "schedule.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_CONFIG 78

typedef struct tcd_args {
    const char *state_dir;
    const char *socket_path;
    const char *config;
    int check_config;
} tcd_args;

/* What the main loop keeps besides the daemon state (locals of main, not globals). */
typedef struct tcd_loop {
    int sig_fd;
    int lock_fd;
    int listen_fd;
    int activated;      /* listen_fd came from systemd */
    const char *config; /* the config file ("" if none) */
    double watchdog_s;  /* 0: no watchdog */
    double watchdog_next;
    int stopping;
    double stop_deadline;
    char status[128];
    int notify_warned;
} tcd_loop;

static void usage(FILE *f)
{
    fprintf(f, "usage: tcd [--state-dir DIR] [--socket PATH] [--config FILE] [--check-config] "
               "[--version]\n");
}

/* ---- systemd ------------------------------------------------------------------------------ */

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET ('@' = abstract). Failures are logged once.
 */
static void notify(tcd_loop *l, const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n;
    int fd;

    if (!path || !*path || (n = strlen(path)) >= sizeof(sa.sun_path))
        return;
    if (path[0] != '/' && path[0] != '@')
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0 &&
        !l->notify_warned++)
        tcd_log(TCD_LOG_WARNING, "cannot notify systemd at %s: %s, ignoring", path,
                strerror(errno));
    close(fd);
}

static void notify_status(tcd_daemon *d, tcd_loop *l, const char *prefix)
{
    char status[128], msg[256];

    tcd_jobs_status_line(d, status, sizeof(status));
    if (!prefix && !strcmp(status, l->status))
        return;
    snprintf(l->status, sizeof(l->status), "%s", status);
    snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix ? prefix : "", status);
    notify(l, msg);
}

static double watchdog_interval(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    double v;

    if (!usec)
        return 0;
    if (pid && strtol(pid, &end, 10) != (long)getpid())
        return 0;
    v = strtod(usec, &end);
    if (end == usec || *end || !(v > 0))
        return 0;
    return v / 2e6;
}

/* ---- arguments and configuration ---------------------------------------------------------- */

static int parse_args(int argc, char **argv, tcd_args *a)
{
    int i;

    memset(a, 0, sizeof(*a));
    for (i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **dst = !strcmp(s, "--state-dir") ? &a->state_dir
                           : !strcmp(s, "--socket")  ? &a->socket_path
                           : !strcmp(s, "--config")  ? &a->config
                                                     : NULL;
        if (dst && i + 1 < argc) {
            *dst = argv[++i];
        } else if (!strcmp(s, "--check-config")) {
            a->check_config = 1;
        } else if (!strcmp(s, "--version")) {
            printf("tcd %s (control API %s)\n", TCD_VERSION, TCD_API_VERSION);
            return 1;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "tcd: unexpected argument '%s'\n", s);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static char *default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

    if (geteuid() == 0)
        return strdup("/var/lib/tcd");
    if (xdg && xdg[0] == '/')
        return tcd_strdup_printf("%s/tcd", xdg);
    if (home && home[0] == '/')
        return tcd_strdup_printf("%s/.local/state/tcd", home);
    return NULL;
}

static char *default_socket(void)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");

    if (geteuid() == 0)
        return strdup("/run/tcd/tcd.sock");
    if (xdg && xdg[0] == '/')
        return tcd_strdup_printf("%s/tcd/tcd.sock", xdg);
    return tcd_strdup_printf("/tmp/tcd-%u/tcd.sock", (unsigned)getuid());
}

static char *default_worker(void)
{
    char exe[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return strdup("/usr/bin/tcd-worker");
    exe[n] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return strdup("/usr/bin/tcd-worker");
    *slash = '\0';
    return tcd_strdup_printf("%s/tcd-worker", exe);
}

static char *absolute(const char *p)
{
    char cwd[PATH_MAX];

    if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return strdup(p);
    return tcd_strdup_printf("%s/%s", cwd, p);
}

/* Config file, then the command line, then defaults. 0 or an exit code. */
static int configure(tcd_config *c, const tcd_args *a, const char *config)
{
    char err[1024];

    tcd_config_defaults(c);
    if (*config && tcd_config_load(c, config, err, sizeof(err)) < 0) {
        tcd_log(TCD_LOG_ERR, "%s", err);
        return EXIT_CONFIG;
    }
    if (a->state_dir) {
        free(c->state_dir);
        c->state_dir = absolute(a->state_dir);
    }
    if (a->socket_path) {
        free(c->socket_path);
        c->socket_path = absolute(a->socket_path);
    }
    if (!c->state_dir)
        c->state_dir = default_state_dir();
    if (!c->socket_path)
        c->socket_path = default_socket();
    if (!c->worker_path)
        c->worker_path = default_worker();
    if (!c->state_dir || !c->socket_path || !c->worker_path) {
        tcd_log(TCD_LOG_ERR, "no state directory (set HOME, XDG_STATE_HOME or --state-dir)");
        return EXIT_CONFIG;
    }
    if (strlen(c->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        tcd_log(TCD_LOG_ERR, "socket path '%s' is too long (at most 107 bytes)", c->socket_path);
        return EXIT_CONFIG;
    }
    if (access(c->worker_path, X_OK) < 0) {
        tcd_log(TCD_LOG_ERR, "worker '%s' is not executable: %s", c->worker_path, strerror(errno));
        return EXIT_CONFIG;
    }
    return 0;
}

/* SIGHUP: apply the reloadable limits; name the keys that need a restart. */
static void reload(tcd_daemon *d, tcd_loop *l)
{
    tcd_config nc;
    char err[1024], msg[128];
    size_t i;
    int dirs_differ;

    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%.0f", tcd_mono() * 1e6);
    notify(l, msg);
    tcd_config_defaults(&nc);
    if (!*l->config) {
        tcd_log(TCD_LOG_INFO, "SIGHUP: no config file, nothing to reload");
    } else if (tcd_config_load(&nc, l->config, err, sizeof(err)) < 0) {
        tcd_log(TCD_LOG_ERR, "reload: %s; keeping the current configuration", err);
    } else {
        if (nc.limits.max_connections != d->cfg.limits.max_connections)
            tcd_log(TCD_LOG_WARNING, "reload: max_connections changed; restart required");
        pthread_mutex_lock(&d->lock);
        nc.limits.max_connections = d->cfg.limits.max_connections;
        d->cfg.limits = nc.limits;
        pthread_mutex_unlock(&d->lock);
        dirs_differ = nc.n_plugin_dirs != d->cfg.n_plugin_dirs;
        for (i = 0; !dirs_differ && i < nc.n_plugin_dirs; i++)
            dirs_differ = strcmp(nc.plugin_dirs[i], d->cfg.plugin_dirs[i]) != 0;
        if (dirs_differ)
            tcd_log(TCD_LOG_WARNING, "reload: plugin_dirs changed; restart required");
        if (nc.worker_path && strcmp(nc.worker_path, d->cfg.worker_path))
            tcd_log(TCD_LOG_WARNING, "reload: worker changed; restart required");
        if (nc.socket_mode != d->cfg.socket_mode)
            tcd_log(TCD_LOG_WARNING, "reload: socket_mode changed; restart required");
        if (nc.state_dir && strcmp(nc.state_dir, d->cfg.state_dir))
            tcd_log(TCD_LOG_WARNING, "reload: state_dir changed; restart required");
        if (nc.socket_path && strcmp(nc.socket_path, d->cfg.socket_path))
            tcd_log(TCD_LOG_WARNING, "reload: socket changed; restart required");
        if (!cJSON_Compare(nc.schedules, d->cfg.schedules, 1) && (nc.schedules || d->cfg.schedules))
            tcd_log(TCD_LOG_WARNING, "reload: schedules changed; restart required");
        tcd_log(TCD_LOG_INFO, "reloaded %s", l->config);
    }
    tcd_config_dispose(&nc);
    notify_status(d, l, "READY=1\n");
}

/* ---- state directory and socket ----------------------------------------------------------- */

static int prepare_state(tcd_daemon *d, tcd_loop *l)
{
    const char *sd = d->cfg.state_dir;
    char *jobs = tcd_strdup_printf("%s/jobs", sd), *tmp = tcd_strdup_printf("%s/tmp", sd);
    char *lock = tcd_strdup_printf("%s/tcd.lock", sd);
    int r = -1, e;

    if (!jobs || !tmp || !lock)
        goto out;
    if ((e = tcd_mkdir_p(sd, 0750)) < 0 || (e = tcd_mkdir_p(jobs, 0750)) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot create the state directory %s: %s", sd, strerror(-e));
        goto out;
    }
    if ((l->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot open %s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        tcd_log(TCD_LOG_ERR, "another tcd is using the state directory %s", sd);
        goto out;
    }
    /* Leftovers of spec checks and deletes interrupted by a crash. */
    if ((e = tcd_rm_rf(tmp)) < 0)
        tcd_log(TCD_LOG_WARNING, "cannot clean %s: %s, ignoring", tmp, strerror(-e));
    if ((e = tcd_mkdir_p(tmp, 0750)) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot create %s: %s", tmp, strerror(-e));
        goto out;
    }
    r = 0;
out:
    free(jobs);
    free(tmp);
    free(lock);
    return r;
}

/* A socket file left by a dead daemon is removed; a live one is an error. */
static int clear_stale_socket(const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd, r;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        tcd_log(TCD_LOG_ERR, "%s exists and is not a socket", path);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (r == 0) {
        tcd_log(TCD_LOG_ERR, "another daemon is listening on %s", path);
        return -1;
    }
    if (errno != ECONNREFUSED) {
        tcd_log(TCD_LOG_ERR, "cannot check the socket %s: %s", path, strerror(errno));
        return -1;
    }
    tcd_log(TCD_LOG_INFO, "removing the stale socket %s", path);
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int socket_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], *slash;
    struct stat st;
    int e;

    snprintf(dir, sizeof(dir), "%s", path);
    if (!(slash = strrchr(dir, '/')) || slash == dir)
        return 0;
    *slash = '\0';
    if ((e = tcd_mkdir_p(dir, geteuid() == 0 ? 0755 : 0700)) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot create %s: %s", dir, strerror(-e));
        return -1;
    }
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        tcd_log(TCD_LOG_ERR, "%s is not a directory owned by uid %u", dir, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

static int open_listener(tcd_daemon *d, tcd_loop *l)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS"), *path;
    struct sockaddr_un sa;
    struct stat st;
    int fd;

    if (pid && fds && strtol(pid, NULL, 10) == (long)getpid() && strtol(fds, NULL, 10) >= 1) {
        if (fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode)) {
            tcd_log(TCD_LOG_ERR, "LISTEN_FDS is set but fd 3 is not a socket");
            return -1;
        }
        fcntl(3, F_SETFD, FD_CLOEXEC);
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        l->listen_fd = 3;
        l->activated = 1;
        tcd_log(TCD_LOG_INFO, "listening on the socket passed by systemd");
        return 0;
    }
    path = d->cfg.socket_path;
    if (socket_parent(path) < 0 || clear_stale_socket(path) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(path, (mode_t)d->cfg.socket_mode) < 0 || listen(fd, 128) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    l->listen_fd = fd;
    tcd_log(TCD_LOG_INFO, "listening on %s", path);
    return 0;
}

/* ---- the event loop ----------------------------------------------------------------------- */

static void begin_stop(tcd_daemon *d, tcd_loop *l, int sig)
{
    if (l->stopping) {
        tcd_log(TCD_LOG_NOTICE, "%s again: killing the workers now", sigabbrev_np(sig));
        tcd_jobs_shutdown_kill(d);
        return;
    }
    tcd_log(TCD_LOG_NOTICE, "SIG%s: stopping; running jobs resume on the next start",
            sigabbrev_np(sig));
    notify(l, "STOPPING=1");
    l->stopping = 1;
    l->stop_deadline = tcd_mono() + d->cfg.limits.cancel_grace_s + 10;
    pthread_mutex_lock(&d->lock);
    d->shutting_down = 1;
    pthread_cond_broadcast(&d->events);
    pthread_mutex_unlock(&d->lock);
    tcd_jobs_shutdown_begin(d);
    tcd_api_stop(d);
}

static void on_signals(tcd_daemon *d, tcd_loop *l)
{
    struct signalfd_siginfo si;

    while (read(l->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD: tcd_loop_reap(d); break;
        case SIGHUP: reload(d, l); break;
        case SIGTERM:
        case SIGINT: begin_stop(d, l, (int)si.ssi_signo); break;
        default: break;
        }
    }
}

static int poll_timeout(const tcd_loop *l, double next)
{
    double now = tcd_mono(), t = next;

    if (l->watchdog_s > 0 && (!t || l->watchdog_next < t))
        t = l->watchdog_next;
    if (l->stopping && (!t || l->stop_deadline < t))
        t = l->stop_deadline;
    if (!t)
        return -1;
    if (t <= now)
        return 0;
    return (int)ceil((t - now) * 1000.0);
}

static void run_loop(tcd_daemon *d, tcd_loop *l)
{
    struct pollfd fds[2 + TCD_MAX_RUNNING];
    uint64_t v;

    for (;;) {
        double next = tcd_loop_tick(d);
        size_t n;

        notify_status(d, l, NULL);
        if (l->stopping && tcd_loop_running(d) == 0)
            break;
        if (l->stopping && tcd_mono() >= l->stop_deadline) {
            tcd_log(TCD_LOG_WARNING, "workers did not stop in time; killing them");
            tcd_jobs_shutdown_kill(d);
            break;
        }
        fds[0] = (struct pollfd){l->sig_fd, POLLIN, 0};
        fds[1] = (struct pollfd){d->wake_fd, POLLIN, 0};
        n = 2 + tcd_loop_pollfds(d, fds + 2, TCD_MAX_RUNNING);
        if (poll(fds, (nfds_t)n, poll_timeout(l, next)) < 0 && errno != EINTR) {
            tcd_log(TCD_LOG_ERR, "poll: %s", strerror(errno));
            break;
        }
        tcd_loop_on_pipes(d, fds + 2, n - 2);
        if (fds[1].revents && read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            tcd_log(TCD_LOG_WARNING, "eventfd: %s, ignoring", strerror(errno));
        if (fds[0].revents)
            on_signals(d, l);
        if (l->watchdog_s > 0 && tcd_mono() >= l->watchdog_next) {
            notify(l, "WATCHDOG=1");
            l->watchdog_next = tcd_mono() + l->watchdog_s;
        }
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static int setup_signals(tcd_loop *l)
{
    sigset_t set;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    /* Before any thread exists, so libmicrohttpd's threads inherit the mask. */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    l->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return l->sig_fd < 0 ? -1 : 0;
}

static int init_daemon(tcd_daemon *d)
{
    pthread_condattr_t ca;

    if (pthread_mutex_init(&d->lock, NULL) != 0 || pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&d->events, &ca) != 0)
        return -1;
    pthread_condattr_destroy(&ca);
    d->started_at = tcd_now();
    d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return d->wake_fd < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    tcd_daemon d;
    tcd_loop l;
    tcd_args a;
    char err[512];
    int rc = EXIT_FAILED, r;

    memset(&d, 0, sizeof(d));
    memset(&l, 0, sizeof(l));
    d.wake_fd = l.sig_fd = l.lock_fd = l.listen_fd = -1;
    if ((r = parse_args(argc, argv, &a)) != 0)
        return r > 0 ? 0 : EXIT_USAGE;
    umask(027);
    l.config = a.config ? a.config : tcd_config_default_path();
    if ((r = configure(&d.cfg, &a, l.config)) != 0) {
        rc = r;
        goto out;
    }
    if (a.check_config) {
        printf("%s: ok (state %s, socket %s, worker %s)\n", *l.config ? l.config : "defaults",
               d.cfg.state_dir, d.cfg.socket_path, d.cfg.worker_path);
        rc = 0;
        goto out;
    }
    if (setup_signals(&l) < 0 || init_daemon(&d) < 0) {
        tcd_log(TCD_LOG_ERR, "cannot set up signals and the event loop: %s", strerror(errno));
        goto out;
    }
    if (prepare_state(&d, &l) < 0 || open_listener(&d, &l) < 0)
        goto out;
    if (tcd_jobs_load(&d) < 0 || tcd_schedules_load(&d) < 0)
        goto out;
    if (tcd_api_start(&d, l.listen_fd, err, sizeof(err)) != TCD_OK) {
        tcd_log(TCD_LOG_ERR, "cannot start the HTTP server: %s", err);
        goto out;
    }
    l.watchdog_s = watchdog_interval();
    l.watchdog_next = tcd_mono() + l.watchdog_s;
    tcd_log(TCD_LOG_INFO, "tcd %s ready (state %s, worker %s)", TCD_VERSION, d.cfg.state_dir,
            d.cfg.worker_path);
    notify_status(&d, &l, "READY=1\n");
    run_loop(&d, &l);
    if (!l.stopping) {
        pthread_mutex_lock(&d.lock);
        d.shutting_down = 1;
        pthread_cond_broadcast(&d.events);
        pthread_mutex_unlock(&d.lock);
        tcd_api_stop(&d);
        tcd_jobs_shutdown_begin(&d);
        tcd_jobs_shutdown_kill(&d);
    } else {
        rc = 0;
    }
    tcd_log(TCD_LOG_INFO, "stopped");
out:
    if (l.listen_fd >= 0) {
        close(l.listen_fd);
        if (!l.activated && d.cfg.socket_path)
            unlink(d.cfg.socket_path);
    }
    tcd_schedules_free(&d);
    tcd_jobs_free(&d);
    tcd_plugins_dispose(&d);
    if (d.wake_fd >= 0)
        close(d.wake_fd);
    if (l.sig_fd >= 0)
        close(l.sig_fd);
    if (l.lock_fd >= 0)
        close(l.lock_fd);
    tcd_config_dispose(&d.cfg);
    return rc;
}
