/*
 * predict.c - tcctl predict: classify texts with a trained model.
 *
 *   tcctl predict JOB_ID|DIR [TEXT]... [--batch N]
 *
 * The model is a folder (a tcd output or a Hugging Face checkpoint of a
 * model tcd reads) or the id of a succeeded train job, whose output folder
 * tcd reports. The texts are the arguments, else the lines of stdin (a line
 * that is a JSON object is passed on as it is, e.g. {"text": ..,
 * "text_pair": ..}). tcd-worker predict, found beside tcctl (or
 * $TCD_WORKER), runs on this machine: predicting needs no job. Output: one
 * line per text, "LABEL SCORE TEXT"; --json: the worker's JSON lines
 * ({"label", "id", "scores", "logits"}); -q: labels only.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcctl.h"

#define PREDICT_MAX_LINE ((size_t)16 << 20)

/* tcd-worker: $TCD_WORKER, else beside this executable, else "tcd-worker" on PATH. */
static void worker_path(char *out, size_t cap)
{
    const char *env = getenv("TCD_WORKER");
    char self[PATH_MAX - 16];
    ssize_t n;
    char *slash;

    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        if ((slash = strrchr(self, '/'))) {
            *slash = '\0';
            snprintf(out, cap, "%s/tcd-worker", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, cap, "tcd-worker");
}

/* The model folder: DIR itself, or the output of train job ID. */
static int model_dir(tcctl_ctx *c, const char *arg, char *out, size_t cap)
{
    struct stat st;
    char path[128];
    tcctl_response r;
    const char *output, *state;
    int rc;

    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(out, cap, "%s", arg);
        return TCCTL_EXIT_OK;
    }
    if (strlen(arg) > 64 || strchr(arg, '/')) {
        fprintf(stderr, "tcctl predict: '%s' is neither a model folder nor a job id\n", arg);
        return TCCTL_EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "/v1/jobs/%s", arg);
    if ((rc = tcctl_call(c, "GET", path, NULL, &r)))
        return rc;
    output = tcctl_json_str(r.json, "output");
    state = tcctl_json_str(r.json, "state");
    if (!output || !state || strcmp(state, "succeeded")) {
        fprintf(stderr,
                "tcctl predict: job %s has no model (state %s); use a succeeded train "
                "job or a model folder\n",
                arg, state ? state : "?");
        tcctl_response_dispose(&r);
        return TCCTL_EXIT_FAILED;
    }
    snprintf(out, cap, "%s", output);
    tcctl_response_dispose(&r);
    return TCCTL_EXIT_OK;
}

/* One input line as a JSON object line: a JSON object as it is, else {"text": line}. */
static int write_input(FILE *f, const char *line, size_t len, int raw_ok)
{
    cJSON *o;
    char *s;

    while (len && (line[len - 1] == '\r'))
        len--;
    if (raw_ok && len && line[0] == '{') {
        fwrite(line, 1, len, f);
        fputc('\n', f);
        return 0;
    }
    if (!(o = cJSON_CreateObject()))
        return -1;
    {
        char *copy = malloc(len + 1);
        if (!copy) {
            cJSON_Delete(o);
            return -1;
        }
        memcpy(copy, line, len);
        copy[len] = '\0';
        cJSON_AddStringToObject(o, "text", copy);
        free(copy);
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return -1;
    fprintf(f, "%s\n", s);
    cJSON_free(s);
    return 0;
}

/* "LABEL SCORE TEXT" from a worker line and the text it answers. */
static void print_human(const char *line, const char *text)
{
    cJSON *o = cJSON_Parse(line), *scores;
    const char *label = tcctl_json_str(o, "label");
    double best = 0.0;
    const cJSON *v;

    scores = cJSON_GetObjectItemCaseSensitive(o, "scores");
    cJSON_ArrayForEach(v, scores) if (cJSON_IsNumber(v) && v->valuedouble > best) best =
        v->valuedouble;
    printf("%-12s %.4f  %.60s%s\n", label ? label : "?", best, text ? text : "",
           text && strlen(text) > 60 ? "..." : "");
    cJSON_Delete(o);
}

int tcctl_cmd_predict(tcctl_ctx *c, int argc, char **argv)
{
    char dir[PATH_MAX], worker[PATH_MAX], inpath[] = "/tmp/tcctl-predict-XXXXXX";
    const char *model = NULL, *batch = "32";
    char **texts = NULL, *line = NULL;
    size_t n_texts = 0, cap = 0, i;
    int fd, rc = TCCTL_EXIT_OK, pipefd[2], status;
    FILE *in = NULL, *out = NULL;
    ssize_t got;
    pid_t pid;

    if (!(texts = calloc((size_t)argc + 1, sizeof(char *))))
        return TCCTL_EXIT_FAILED;
    for (i = 1; i < (size_t)argc; i++) { /* argv[0] is "predict" */
        if (!strcmp(argv[i], "--batch") && i + 1 < (size_t)argc)
            batch = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            free(texts);
            fprintf(stderr, "usage: tcctl predict JOB_ID|DIR [TEXT]... [--batch N]\n");
            return TCCTL_EXIT_OK;
        } else if (!model)
            model = argv[i];
        else
            texts[n_texts++] = argv[i];
    }
    if (!model) {
        free(texts);
        fprintf(stderr, "usage: tcctl predict JOB_ID|DIR [TEXT]... [--batch N]\n");
        return TCCTL_EXIT_USAGE;
    }
    if ((rc = model_dir(c, model, dir, sizeof(dir))) != TCCTL_EXIT_OK) {
        free(texts);
        return rc;
    }
    /* the inputs as JSON lines in a private temporary file: the worker's stdin */
    if ((fd = mkstemp(inpath)) < 0 || !(in = fdopen(fd, "w+"))) {
        fprintf(stderr, "tcctl predict: cannot create a temporary file: %s\n", strerror(errno));
        free(texts);
        return TCCTL_EXIT_FAILED;
    }
    unlink(inpath);
    if (n_texts) {
        for (i = 0; i < n_texts; i++)
            write_input(in, texts[i], strlen(texts[i]), 0);
    } else {
        while ((got = getline(&line, &cap, stdin)) > 0) {
            if ((size_t)got > PREDICT_MAX_LINE) {
                fprintf(stderr, "tcctl predict: a line of stdin is over 16 MiB\n");
                rc = TCCTL_EXIT_FAILED;
                break;
            }
            if (line[got - 1] == '\n')
                got--;
            if (write_input(in, line, (size_t)got, 1) < 0) {
                rc = TCCTL_EXIT_FAILED;
                break;
            }
        }
    }
    if (rc != TCCTL_EXIT_OK || fflush(in) != 0 || fseek(in, 0, SEEK_SET) != 0 || pipe(pipefd) < 0) {
        if (rc == TCCTL_EXIT_OK)
            fprintf(stderr, "tcctl predict: %s\n", strerror(errno));
        fclose(in);
        free(line);
        free(texts);
        return TCCTL_EXIT_FAILED;
    }
    worker_path(worker, sizeof(worker));
    fflush(stdout);
    if ((pid = fork()) == 0) {
        dup2(fileno(in), STDIN_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp(worker, worker, "predict", "--model", dir, "--batch", batch, (char *)NULL);
        fprintf(stderr, "tcctl predict: cannot run %s: %s (set TCD_WORKER)\n", worker,
                strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0 || !(out = fdopen(pipefd[0], "r"))) {
        fprintf(stderr, "tcctl predict: cannot start tcd-worker: %s\n", strerror(errno));
        fclose(in);
        free(line);
        free(texts);
        return TCCTL_EXIT_FAILED;
    }
    /* the texts again, in order, for the human output: the child moved the shared offset, so
     * read them through a second descriptor of the same file */
    {
        char *inl = NULL, proc[64];
        size_t incap = 0;
        FILE *again;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fileno(in));
        again = fopen(proc, "r");
        while ((got = getline(&line, &cap, out)) > 0) {
            cJSON *src = NULL;
            if (line[got - 1] == '\n')
                line[got - 1] = '\0';
            if (again && getline(&inl, &incap, again) > 0)
                src = cJSON_Parse(inl);
            if (c->json)
                printf("%s\n", line);
            else if (c->quiet) {
                cJSON *o = cJSON_Parse(line);
                printf("%s\n", tcctl_json_str(o, "label") ? tcctl_json_str(o, "label") : "?");
                cJSON_Delete(o);
            } else
                print_human(line, tcctl_json_str(src, "text"));
            cJSON_Delete(src);
        }
        free(inl);
        if (again)
            fclose(again);
    }
    fclose(out);
    fclose(in);
    free(line);
    free(texts);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? TCCTL_EXIT_USAGE : TCCTL_EXIT_FAILED;
    return TCCTL_EXIT_OK;
}
