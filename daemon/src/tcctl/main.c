/*
 * main.c - tcctl's entry point: global flags, the command table, usage and
 * help text.
 *
 *   tcctl [--json] [-q] [--socket PATH] COMMAND [ARGS...]
 *
 * Global flags go before the command; --json and -q are also accepted
 * among a command's own arguments. Exit statuses: tcctl.h (TCCTL_EXIT_*).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcctl.h"

static int cmd_completion(tcctl_ctx *c, int argc, char **argv);
static int cmd_help(tcctl_ctx *c, int argc, char **argv);
static int cmd_version(tcctl_ctx *c, int argc, char **argv);

typedef struct command {
    const char *name;
    int (*fn)(tcctl_ctx *c, int argc, char **argv);
    const char *usage; /* after "tcctl " */
    const char *help;  /* one paragraph, lines indented by two spaces */
} command;

static const command commands[] = {
    {"ping", tcctl_cmd_ping, "ping",
     "  Check that tcd answers; prints its version and API version.\n"},
    {"train", tcctl_cmd_train,
     "train SPEC.yaml [--set SECTION.KEY=VALUE]... [--name NAME] [--timeout D] [--wait|--detach]\n"
     "       [--if-changed] [--schedule-key K] [--concurrency allow|forbid|replace]\n"
     "       [--skip-exit-code N] [--deadline D] [--idempotency-key K|--no-idempotency-key]",
     "  Submit a training job from a YAML spec (at most 256 KiB). --set overrides one value\n"
     "  (repeatable), --name labels the job, --timeout D (90, 30s, 15m, 2h, 1d) makes the\n"
     "  daemon stop the job after D (state timed_out). By default tcctl follows the job and\n"
     "  exits with its outcome (--wait); --detach prints the job id and exits 0. When the\n"
     "  spec has a push section (push: {repo, branch, private, when}), the succeeded job\n"
     "  queues a push job and tcctl follows that too, as `tcctl push` does: it prints the\n"
     "  commit URL, \"nothing changed; no commit\" or the reason it did not push (when:\n"
     "  improved, and the champion on the Hub, pulled and evaluated on the same split, is as\n"
     "  good: \"not pushed: challenger accuracy A <= champion C + min_improvement M on test\n"
     "  (n=N; ...)\"; the job is then a candidate for `tcctl promote`), and exits 0, 1 when\n"
     "  the push failed, 3 when it was cancelled (--json: the result line gets the push's\n"
     "  result as \"push\", with its \"champion\" and \"challenger\" evaluations).\n"
     "  Scheduled runs (cron, systemd timers): the schedule key K (default: the spec's\n"
     "  absolute path, plus \"#NAME\" with --name) groups the runs of one schedule.\n"
     "  --if-changed makes no job when the dataset's revision (Hub commit, or the data\n"
     "  plugin's fingerprint) and the base model's equal those of the last succeeded run of\n"
     "  K. --concurrency forbid makes no job while one of K is queued or running (exit 0, or\n"
     "  --skip-exit-code N), replace cancels it. --deadline D: a job that cannot start within\n"
     "  D ends missed (exit 4). With any of these, the idempotency key K@<UTC minute> (or\n"
     "  --idempotency-key) makes a double-fired cron line one job, and -q prints nothing on\n"
     "  success; a failure prints one line on stderr (and to syslog, ident tcctl).\n"},
    {"pull", tcctl_cmd_pull,
     "pull [model|dataset] ORG/NAME [--revision R] [--include G]... [--exclude G]... [--name NAME] "
     "[--timeout D] [--detach]",
     "  Download a Hub repo at a revision (default main) into the Hugging Face cache as a tcd\n"
     "  job (tcd's HF_ENDPOINT, HF_TOKEN and HF_HUB_CACHE apply). --include/--exclude select\n"
     "  files with globs ('*' crosses '/'; repeatable). tcctl follows the job, showing each\n"
     "  file's progress and bytes/s, and prints the snapshot path at the end (-q: only the\n"
     "  path; --json: the result event); --detach prints the job id and exits 0. A cancelled\n"
     "  or interrupted pull keeps its partial files and resumes on the next pull.\n"},
    {"push", tcctl_cmd_push,
     "push JOB_ID|DIR --repo ORG/NAME [--dataset] [--private] [--branch B] [--message M] "
     "[--force] [--when always|improved] [--name NAME] [--timeout D] [--detach]",
     "  Push a succeeded train job's output (by job id) or a directory to a Hub repo with git\n"
     "  and Git LFS, as a tcd job (tcd's HF_ENDPOINT and HF_TOKEN apply). The repo is created\n"
     "  when missing (--private: as a private repo; --dataset: a dataset repo, else a model).\n"
     "  --branch B pushes to B (default main), --message M sets the commit message, --force\n"
     "  overwrites a branch that has moved on (else a non-fast-forward push fails). --when\n"
     "  improved pushes a train job's output only when it beats the champion, the model on\n"
     "  the branch, both evaluated on the run's evaluation split (else tcctl prints why not\n"
     "  and exits 0); --when always, the default, pushes whatever the spec's push.when says.\n"
     "  A relative DIR is made absolute (write ./jXXXX for a directory named like a job id);\n"
     "  tcd pushes only a directory the caller owns. tcctl follows the job, showing each\n"
     "  file's upload progress and bytes/s, and prints the commit URL, or \"nothing changed;\n"
     "  no commit\" when the Hub already has the same files (-q: only the URL; --json: the\n"
     "  result event); --detach prints the job id and exits 0. LFS objects the Hub already\n"
     "  has are not uploaded again, so an interrupted push resumes where it stopped.\n"},
    {"promote", tcctl_cmd_promote, "promote JOB_ID [--force] [--message M] [--detach]",
     "  Push a candidate by hand: a succeeded train job whose push job (push.when improved)\n"
     "  kept it back because it did not beat the champion. It goes to the repo and branch of\n"
     "  that push job with when always, as a new commit on the branch (--force: replace a\n"
     "  branch that moved on; never implied). The push records the champion it replaces\n"
     "  (tcd-previous.json) for `tcctl rollback`. tcctl follows the push job as `tcctl push`\n"
     "  does (-q: only the URL; --json: the result event; --detach: the job id). A job that\n"
     "  does not exist or is not a candidate is an error naming why (exit 1).\n"},
    {"rollback", tcctl_cmd_rollback,
     "rollback ORG/NAME [--branch B] [--force] [--message M] [--detach]",
     "  Restore the previous champion of a model repo's branch (default main): a push job\n"
     "  reads tcd-previous.json at the branch head (written by the push that replaced the\n"
     "  champion), pulls the repo at that commit and makes a new commit whose tree equals it\n"
     "  (history is never rewritten; rolling back again goes one champion further back).\n"
     "  Output and exit codes as `tcctl push`; a branch without a recorded previous champion\n"
     "  fails the job with a message saying so (exit 1).\n"},
    {"prune", tcctl_cmd_prune, "prune --partials [--dry-run]",
     "  Remove partial downloads (blobs/*.incomplete) and unused lock files from the local\n"
     "  Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub); a\n"
     "  partial whose download is running is kept. Prints what it removed and bytes freed.\n"},
    {"jobs", tcctl_cmd_jobs, "jobs [--state STATE] [--limit N]",
     "  List jobs, newest first, with their kind (train, pull, push); NAME is the job's name,\n"
     "  or for a pull or push job without one, its repo. STATE: queued, running, succeeded,\n"
     "  failed, cancelled, timed_out, interrupted, missed. N: 1..1000 (default 100). -q\n"
     "  prints only the ids.\n"},
    {"status", tcctl_cmd_status, "status ID",
     "  Show one job: state, reason, times, progress, metrics, output directory; the repo\n"
     "  of a pull or push job, and a push job's source, commit and URL; the push job that a\n"
     "  train job's push section queued, with its state.\n"
     "  --json prints the job object as the API returns it.\n"},
    {"logs", tcctl_cmd_logs, "logs ID [-f|--follow] [--since N]",
     "  Print a job's events (log lines, metrics, state changes, the result). -f follows\n"
     "  the job until it finishes; --since N starts after event number N. --json prints\n"
     "  the events as NDJSON, as received.\n"},
    {"cancel", tcctl_cmd_cancel, "cancel ID",
     "  Cancel a queued or running job (the worker checkpoints and stops).\n"},
    {"wait", tcctl_cmd_wait, "wait ID [--timeout D]",
     "  Follow a job until it finishes and exit with its outcome: 0 succeeded, 1 failed,\n"
     "  3 cancelled, 4 timed out (also when --timeout D elapses first).\n"},
    {"rm", tcctl_cmd_rm, "rm ID...", "  Delete finished jobs and their files.\n"},
    {"predict", tcctl_cmd_predict, "predict JOB_ID|DIR [TEXT]... [--batch N]",
     "  Classify texts with a trained model: a succeeded train job's output (by id) or a model\n"
     "  folder (a tcd output, or a distilbert/bert checkpoint). The texts are the arguments,\n"
     "  else the lines of stdin (a JSON object line such as {\"text\": ..., \"text_pair\":\n"
     "  ...} is passed as it is). Prints \"LABEL SCORE TEXT\" per text (-q: labels only;\n"
     "  --json: {\"label\", \"id\", \"scores\", \"logits\"} lines). Runs tcd-worker predict on\n"
     "  this machine (beside tcctl, or $TCD_WORKER); the job id is looked up in tcd.\n"},
    {"schedule", tcctl_cmd_schedule,
     "schedule [list] | add NAME --cron EXPR --spec FILE [--time-zone TZ] [--persistent] "
     "[--randomized-delay D] [--keep-succeeded N] [--keep-failed N] [--suspend] "
     "[--concurrency allow|forbid|replace] [--if-changed] | rm NAME... | run-now NAME",
     "  tcd's schedules: cron expressions (5 fields: minute hour day-of-month month\n"
     "  day-of-week, with lists, ranges, steps, names, or @hourly/@daily/@weekly/@monthly/\n"
     "  @yearly) in a time zone (default UTC) that create a train job from a spec file when\n"
     "  their slot comes. list shows each schedule's next run, last run and its outcome;\n"
     "  add creates one (kept across restarts); rm removes one (schedules of tcd's config\n"
     "  file are changed there); run-now creates the schedule's job at once and prints its\n"
     "  id. --persistent: a slot missed while tcd was down runs once when it starts.\n"
     "  --randomized-delay D delays each slot by a random time up to D. History: the newest\n"
     "  N succeeded (default 3) and failed (default 1) jobs are kept, older ones removed\n"
     "  with their files. --concurrency (default forbid) and --if-changed are stored and\n"
     "  shown; tcd applies them once its job creation supports them. A schedule tcd\n"
     "  refuses exits 2 with a message naming the field.\n"},
    {"plugins", tcctl_cmd_plugins, "plugins [show NAME]",
     "  List the plugins tcd can load, or show one plugin's options.\n"},
    {"completion", cmd_completion, "completion bash",
     "  Print the bash completion script:  source <(tcctl completion bash)\n"},
    {"help", cmd_help, "help [COMMAND]", "  Show help for tcctl or one command.\n"},
    {"version", cmd_version, "version", "  Print tcctl's version.\n"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void print_main_help(FILE *f)
{
    size_t i;

    fputs("usage: tcctl [--json] [-q] [--socket PATH] COMMAND [ARGS...]\n\n"
          "Client of tcd, the fine-tuning daemon.\n\ncommands:\n",
          f);
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fputs(
        "\nglobal flags:\n"
        "  --json         machine-readable output (the API's JSON; NDJSON for streams)\n"
        "  -q, --quiet    print job ids only\n"
        "  --socket PATH  tcd's socket (default: $TCD_SOCKET, else $XDG_RUNTIME_DIR/tcd/tcd.sock\n"
        "                 or /tmp/tcd-$UID/tcd.sock, else /run/tcd/tcd.sock)\n"
        "  -h, --help     this help; `tcctl COMMAND --help` for one command\n"
        "  --version      print the version\n"
        "\nexit status: 0 ok, 1 job failed (or another error, e.g. an unknown job), 2 usage,\n"
        "3 cancelled, 4 timed out, 69 daemon unreachable, 75 retry later (busy or shutting\n"
        "down), 77 permission denied, 78 invalid spec, 128+N stopped by signal N\n",
        f);
}

int tcctl_help(const char *cmd)
{
    const command *c = cmd ? find_command(cmd) : NULL;

    if (!c) {
        print_main_help(stdout);
        return TCCTL_EXIT_OK;
    }
    printf("usage: tcctl %s\n\n%s", c->usage, c->help);
    return TCCTL_EXIT_OK;
}

int tcctl_usage_error(const char *cmd, const char *fmt, ...)
{
    const command *c = cmd ? find_command(cmd) : NULL;
    va_list ap;

    fputs("tcctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c)
        fprintf(stderr, "usage: tcctl %s\n", c->usage);
    else
        fputs("usage: tcctl [--json] [-q] [--socket PATH] COMMAND [ARGS...] (see tcctl --help)\n",
              stderr);
    return TCCTL_EXIT_USAGE;
}

int tcctl_is_help(const char *arg)
{
    return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int tcctl_opt_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                    const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n))
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc) {
        tcctl_usage_error(cmd, "%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int tcctl_opt_global(tcctl_ctx *c, const char *arg)
{
    if (!strcmp(arg, "--json")) {
        c->json = 1;
        return 1;
    }
    if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
        c->quiet = 1;
        return 1;
    }
    return 0;
}

static int cmd_completion(tcctl_ctx *c, int argc, char **argv)
{
    (void)c;
    if (argc == 2 && tcctl_is_help(argv[1]))
        return tcctl_help("completion");
    if (argc != 2 || strcmp(argv[1], "bash"))
        return tcctl_usage_error("completion", "only bash completion is available");
    fputs(tcctl_completion_bash, stdout);
    return TCCTL_EXIT_OK;
}

static int cmd_help(tcctl_ctx *c, int argc, char **argv)
{
    (void)c;
    if (argc > 2)
        return tcctl_usage_error("help", "too many arguments");
    if (argc == 2 && !find_command(argv[1]))
        return tcctl_usage_error("help", "unknown command '%s'", argv[1]);
    return tcctl_help(argc == 2 ? argv[1] : NULL);
}

static int cmd_version(tcctl_ctx *c, int argc, char **argv)
{
    (void)c;
    (void)argv;
    if (argc > 1)
        return tcctl_usage_error("version", "too many arguments");
    printf("tcctl %s\n", TCCTL_VERSION);
    return TCCTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    tcctl_ctx ctx;
    const char *socket_flag = NULL;
    const command *cmd;
    int i, rc;

    memset(&ctx, 0, sizeof(ctx));
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        int r;

        if (tcctl_opt_global(&ctx, a))
            continue;
        if (tcctl_is_help(a))
            return tcctl_help(NULL);
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            printf("tcctl %s\n", TCCTL_VERSION);
            return TCCTL_EXIT_OK;
        }
        r = tcctl_opt_value(NULL, argc, argv, &i, "--socket", &socket_flag);
        if (r < 0)
            return TCCTL_EXIT_USAGE;
        if (r > 0) {
            if (!*socket_flag)
                return tcctl_usage_error(NULL, "--socket needs a path");
            continue;
        }
        return tcctl_usage_error(NULL, "unknown flag '%s'", a);
    }
    if (i >= argc)
        return tcctl_usage_error(NULL, "no command given");
    cmd = find_command(argv[i]);
    if (!cmd)
        return tcctl_usage_error(NULL, "unknown command '%s'", argv[i]);
    ctx.socket_path = tcctl_socket_resolve(socket_flag);
    if (tcctl_http_init() < 0) {
        fputs("tcctl: cannot initialise libcurl\n", stderr);
        return TCCTL_EXIT_FAILED;
    }
    rc = cmd->fn(&ctx, argc - i, argv + i);
    tcctl_http_cleanup();
    if (fflush(stdout) != 0 && rc == TCCTL_EXIT_OK)
        rc = TCCTL_EXIT_FAILED;
    return rc;
}
