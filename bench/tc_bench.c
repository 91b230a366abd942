/*
 * tc_bench.c - tc-bench: end-to-end benchmarks of the SDK through its public API.
 *
 *   tc-bench train-step --model distilbert-base|bert-base|PATH.so|NAME [--config C]
 *            --batch B --seq T --steps N [--warmup W] [--threads N] [--json]
 *            [--tokenizer PATH] [--vocab-size V] [--set NAME=VALUE]...
 *
 * train-step loads a model plugin (tc_plugin_find / tc_plugin_load), creates
 * the model for a made-up text dataset (TC_INPUT_TEXT, 2 labels), builds B
 * texts that each tokenize to exactly T tokens ([CLS], T-2 single-token
 * lowercase words, [SEP]) and times N training steps after W warm-up steps.
 * A step is what tc_train does per batch (sdk/src/trainer.c, train_epoch):
 * graph reset, forward, cross-entropy, backward, global-norm clipping to 1.0,
 * one AdamW step (lr 2e-5, weight decay 0.01, biases and norms undecayed),
 * zero grads; dropout on (training mode, the trainer's dropout stream) and
 * flush-to-zero set, as in tc_train. The PyTorch peer is
 * bench/distilbert_torch_step.py; bench/distilbert_vs_torch.sh runs both.
 *
 * --model distilbert-base loads plugin "distilbert" with config=distilbert-base,
 * bert-base plugin "bert" with config=bert-base; a NAME or PATH.so is loaded as
 * is, with --config when given. The plugin gets tokenizer=--tokenizer (default:
 * the uncased WordPiece fixture of the source tree, when it exists) and
 * max_length=T when it declares those options; --set passes any other option.
 * A fresh model sizes its embedding table to its tokenizer, and the fixture
 * holds only part of BERT's vocabulary: with --vocab-size V (default 30522
 * for the two presets, as bert-base-uncased) a tokenizer with fewer ids is
 * handed to the plugin as a temporary vocab.txt of its tokens padded to V
 * with [unusedN] entries, which no text matches, so the model has
 * distilbert-base-uncased's 30522 x 768 table and the texts tokenize as before.
 *
 * Exit status: 0, 1 when the run fails, 2 for a usage error or an unknown model.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, setenv */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#define MXCSR_FTZ_DAZ 0x8040u /* flush-to-zero (bit 15), denormals-are-zero (bit 6) */
#endif

#include <tc/error.h>
#include <tc/ops.h>
#include <tc/optim.h>
#include <tc/params.h>
#include <tc/plugin.h>
#include <tc/tokenizer.h>
#include <tc/trainer.h>

#include "bench_util.h"

#ifndef TC_BENCH_DEFAULT_TOKENIZER
#define TC_BENCH_DEFAULT_TOKENIZER ""
#endif

#define EXIT_USAGE 2
#define MAX_SET 32         /* --set options */
#define MAX_WORDS 256      /* distinct words the texts are made of */
#define MAX_WORD_LEN 10    /* letters per word */
#define SEED 42            /* init, dropout and text streams */
#define BENCH_LR 2e-5f     /* AdamW learning rate */
#define BENCH_WD 0.01f     /* AdamW decoupled weight decay */
#define BENCH_MAX_NORM 1.0 /* global gradient-norm clip */
#define MAX_BATCH 65536    /* bounds on the numbers a user gives */
#define MAX_SEQ 65536
#define MAX_STEPS 1000000
#define MAX_THREADS 1024
#define MAX_VOCAB (1 << 24)
#define PRESET_VOCAB 30522 /* bert-base-uncased */

/* Used when there is no tokenizer to pick words from: plain words of BERT's vocabulary. */
static const char *const fallback_words[] = {
    "the",   "movie", "was",   "very", "good",  "and",  "story", "film",    "great", "time",
    "made",  "just",  "like",  "well", "even",  "much", "first", "still",   "back",  "people",
    "world", "life",  "years", "work", "never", "long", "here",  "through", "again", "old",
};

typedef struct bench_args {
    const char *model;     /* --model as given */
    const char *plugin;    /* plugin name or path */
    const char *config;    /* config option, or NULL */
    const char *tokenizer; /* tokenizer option and word source, or NULL */
    const char *set[2 * MAX_SET];
    size_t n_set;
    int64_t batch, seq, steps, warmup, threads; /* threads 0: leave as the environment says */
    int64_t vocab_size; /* pad the tokenizer to this many ids; 0: as it is */
    int json;
    char tmp_dir[64]; /* the padded vocab.txt's directory, or "" */
} bench_args;

/* What one step needs. */
typedef struct bench_run {
    tc_model *model;
    tc_graph *graph;
    tc_optim *optim;
    tc_rng dropout;
    tc_batch batch;
    int32_t *labels; /* (B) */
} bench_run;

/* The standard transformer training FLOP count (see count_flops). */
typedef struct bench_flops {
    int64_t per_token;  /* matmul weights applied to every token */
    int64_t per_sample; /* matmul weights applied once per sample (head, pooler) */
    int64_t layers, dim;
    double per_step;
} bench_flops;

static void usage(FILE *f)
{
    fputs("usage: tc-bench train-step --model distilbert-base|bert-base|PATH.so|NAME\n"
          "                [--config PRESET|config.json] --batch B --seq T --steps N\n"
          "                [--warmup W] [--threads N] [--json] [--tokenizer PATH]\n"
          "                [--vocab-size V] [--set NAME=VALUE]...\n"
          "Times N full training steps (forward, cross-entropy, backward, clip to 1.0,\n"
          "AdamW lr 2e-5 wd 0.01, zero grads) of a model plugin on B texts of exactly\n"
          "T tokens, after W warm-up steps (default 1).\n",
          f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("tc-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    usage(stderr);
    return EXIT_USAGE;
}

/* A whole decimal integer in [lo, hi], or -1 (all valid values here are >= 0). */
static int64_t parse_count(const char *s, int64_t lo, int64_t hi)
{
    char *end;
    long long v;

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    return (int64_t)v;
}

static int parse_number_option(const char *name, const char *v, int64_t lo, int64_t hi,
                               int64_t *out)
{
    if ((*out = parse_count(v, lo, hi)) < 0)
        return usage_error("%s wants an integer in [%" PRId64 ", %" PRId64 "], got '%s'", name, lo,
                           hi, v);
    return 0;
}

/* --model: the presets name a plugin and its config; anything else is a plugin name or path. */
static void resolve_model(bench_args *a)
{
    if (!strcmp(a->model, "distilbert-base")) {
        a->plugin = "distilbert";
        a->config = a->config ? a->config : "distilbert-base";
        a->vocab_size = a->vocab_size < 0 ? PRESET_VOCAB : a->vocab_size;
    } else if (!strcmp(a->model, "bert-base")) {
        a->plugin = "bert";
        a->config = a->config ? a->config : "bert-base";
        a->vocab_size = a->vocab_size < 0 ? PRESET_VOCAB : a->vocab_size;
    } else {
        a->plugin = a->model;
    }
    if (a->vocab_size < 0)
        a->vocab_size = 0;
}

/* The value after option argv[*i], or NULL when it is missing. */
static const char *take_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* 0, EXIT_USAGE after a message, or -1 for --help (usage printed). */
static int parse_args(bench_args *a, int argc, char **argv)
{
    int i;

    memset(a, 0, sizeof(*a));
    a->batch = a->seq = a->steps = a->vocab_size = -1;
    a->warmup = 1;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "train-step") != 0)
        return usage_error("unknown command '%s' (only train-step)", argv[1]);
    for (i = 2; i < argc; i++) {
        const char *o = argv[i], *v = NULL;
        int rc = 0;

        if (!strcmp(o, "--json")) {
            a->json = 1;
            continue;
        }
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return -1;
        }
        if (strncmp(o, "--", 2) != 0 || !(v = take_value(argc, argv, &i)))
            return usage_error("'%s' is not an option or lacks its value", o);
        if (!strcmp(o, "--model"))
            a->model = v;
        else if (!strcmp(o, "--config"))
            a->config = v;
        else if (!strcmp(o, "--tokenizer"))
            a->tokenizer = v;
        else if (!strcmp(o, "--batch"))
            rc = parse_number_option(o, v, 1, MAX_BATCH, &a->batch);
        else if (!strcmp(o, "--seq"))
            rc = parse_number_option(o, v, 3, MAX_SEQ, &a->seq);
        else if (!strcmp(o, "--steps"))
            rc = parse_number_option(o, v, 1, MAX_STEPS, &a->steps);
        else if (!strcmp(o, "--warmup"))
            rc = parse_number_option(o, v, 0, MAX_STEPS, &a->warmup);
        else if (!strcmp(o, "--threads"))
            rc = parse_number_option(o, v, 1, MAX_THREADS, &a->threads);
        else if (!strcmp(o, "--vocab-size"))
            rc = parse_number_option(o, v, 0, MAX_VOCAB, &a->vocab_size);
        else if (!strcmp(o, "--set")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || a->n_set >= MAX_SET)
                return usage_error("--set wants NAME=VALUE (at most 32), got '%s'", v);
            a->set[2 * a->n_set] = v; /* the name is cut at the = by model_options */
            a->set[2 * a->n_set + 1] = eq + 1;
            a->n_set++;
        } else
            return usage_error("unknown option '%s'", o);
        if (rc != 0)
            return rc;
    }
    if (!a->model)
        return usage_error("--model is required");
    if (a->batch < 0 || a->seq < 0 || a->steps < 0)
        return usage_error("--batch, --seq and --steps are required");
    resolve_model(a);
    return 0;
}

/* ---- the made-up dataset ------------------------------------------------------------------- */

static int corpus_read(void *ctx, int64_t first, int64_t n, const char **texts)
{
    char *const *all = ctx;

    for (int64_t i = 0; i < n; i++)
        texts[i] = all[first + i];
    return TC_OK;
}

/* 1 when tok is 3..MAX_WORD_LEN lowercase ASCII letters that encode to one token alone. */
static int is_single_token_word(const tc_tokenizer *tok, const char *w)
{
    size_t n = strlen(w), i;
    tc_encoding enc = {0};
    int ok;

    if (n < 3 || n > MAX_WORD_LEN)
        return 0;
    for (i = 0; i < n; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return 0;
    if (tc_tokenizer_encode(&enc, tok, w, n, NULL, 0, NULL) < 0)
        return 0;
    ok = enc.len == 3; /* [CLS] w [SEP] */
    tc_encoding_dispose(&enc);
    return ok;
}

/* Up to MAX_WORDS single-token words from tok's vocabulary (borrowed strings). */
static size_t pick_words(const tc_tokenizer *tok, const char **words)
{
    int32_t id, v = tc_tokenizer_vocab_size(tok);
    size_t n = 0;

    for (id = 0; id < v && n < MAX_WORDS; id++) {
        const char *t = tc_tokenizer_id_to_token(tok, id);
        if (t && is_single_token_word(tok, t))
            words[n++] = t;
    }
    return n;
}

/*
 * B texts of T-2 words each, drawn from words with a seeded RNG (texts[i]
 * tc_malloc'd). With a tokenizer, checks that each one encodes to exactly T
 * tokens.
 */
static int make_texts(char **texts, int64_t B, int64_t T, const char *const *words, size_t n_words,
                      const tc_tokenizer *tok)
{
    tc_rng rng;
    int64_t i, k;

    tc_rng_init(&rng, SEED, 0x7465787473ull); /* "texts": a stream of its own */
    for (i = 0; i < B; i++) {
        char *p = tc_malloc((size_t)(T - 2) * (MAX_WORD_LEN + 1) + 1);
        size_t len = 0;
        if (!p)
            return tc_error_set(TC_ENOMEM, "out of memory for %" PRId64 " texts", B);
        texts[i] = p;
        for (k = 0; k < T - 2; k++) {
            const char *w = words[tc_rng_below(&rng, n_words)];
            size_t wl = strlen(w);
            if (k)
                p[len++] = ' ';
            memcpy(p + len, w, wl);
            len += wl;
        }
        p[len] = '\0';
        if (tok) {
            tc_encoding enc = {0};
            int err = tc_tokenizer_encode(&enc, tok, p, len, NULL, 0, NULL);
            size_t got = enc.len;
            tc_encoding_dispose(&enc);
            if (err < 0)
                return err;
            if (got != (size_t)T)
                return tc_error_set(
                    TC_EINVAL, "text %" PRId64 " encodes to %zu tokens, not %" PRId64, i, got, T);
        }
    }
    return TC_OK;
}

/* ---- the model ----------------------------------------------------------------------------- */

static int declares(const tc_plugin_desc *d, const char *name)
{
    for (uint32_t i = 0; i < d->n_options; i++)
        if (!strcmp(d->options[i].name, name))
            return 1;
    return 0;
}

static int user_sets(const bench_args *a, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < a->n_set; i++)
        if (!strncmp(a->set[2 * i], name, n) && a->set[2 * i][n] == '=')
            return 1;
    return 0;
}

/*
 * The plugin's options: config, tokenizer and max_length=T where it declares
 * them and --set does not give them, then every --set. kv receives pairs of
 * borrowed strings; keys of --set are copied into names (NAME= cut off).
 */
static int model_options(tc_options **out, const bench_args *a, const tc_plugin_desc *d,
                         char (*names)[64], char *seq_text, size_t seq_cap)
{
    const char *kv[2 * (MAX_SET + 3)];
    size_t n = 0, i;

    if (a->config && !user_sets(a, "config")) {
        if (!declares(d, "config"))
            return tc_error_set(TC_EINVAL, "plugin '%s' has no 'config' option", d->name);
        kv[n++] = "config";
        kv[n++] = a->config;
    }
    if (a->tokenizer && declares(d, "tokenizer") && !user_sets(a, "tokenizer")) {
        kv[n++] = "tokenizer";
        kv[n++] = a->tokenizer;
    }
    if (declares(d, "max_length") && !user_sets(a, "max_length")) {
        snprintf(seq_text, seq_cap, "%" PRId64, a->seq);
        kv[n++] = "max_length";
        kv[n++] = seq_text;
    }
    for (i = 0; i < a->n_set; i++) {
        size_t klen = (size_t)(a->set[2 * i + 1] - 1 - a->set[2 * i]);
        if (klen >= 64)
            return tc_error_set(TC_EINVAL, "option name in '%s' is too long", a->set[2 * i]);
        memcpy(names[i], a->set[2 * i], klen);
        names[i][klen] = '\0';
        kv[n++] = names[i];
        kv[n++] = a->set[2 * i + 1];
    }
    return tc_options_parse(out, d, kv, n / 2);
}

static void host_log(void *ctx, tc_log_level level, const char *message)
{
    (void)ctx;
    if (level >= TC_LOG_INFO)
        fprintf(stderr, "tc-bench: plugin: %s\n", message);
}

/*
 * The FLOP count of one training step, the standard transformer estimate
 * (Kaplan et al. 2020; llm.c's MFU; TRAINING-ANCHORS.md section 4):
 *
 *   6 * per_token * B * T       every 2-D weight of the encoder layers ("*.layer.<i>.*"),
 *                               2 FLOPs per weight per token forward, 4 backward
 *                               (input and weight gradients)
 * + 6 * per_sample * B          every other 2-D weight except embeddings: the head
 *                               (pre_classifier and classifier; BERT's pooler and
 *                               classifier), applied to the [CLS] row only
 * + 12 * L * B * T^2 * D        attention: Q K^T and P V, 2 * T^2 * D FLOPs each per
 *                               sample and layer forward, 3x that with backward
 *
 * Not counted: embedding lookups, biases, LayerNorm, softmax, GELU, dropout,
 * the loss and the optimizer. The attention term assumes every sequence is T
 * tokens long (no padding), as here. L = 1 + the largest "<i>" in
 * ".layer.<i>." and D = the width of "*word_embeddings.weight"; without them
 * (not a transformer) the attention term is 0.
 */
static void count_flops(bench_flops *f, const tc_params *p, int64_t B, int64_t T)
{
    size_t i, n = tc_params_count(p);

    memset(f, 0, sizeof(*f));
    for (i = 0; i < n; i++) {
        const tc_tensor *t = tc_params_at(p, i);
        const char *name = t->name ? t->name : "", *lay = strstr(name, ".layer.");
        if (t->ndim != 2)
            continue;
        if (strstr(name, "word_embeddings.weight"))
            f->dim = t->shape[1];
        if (strstr(name, "embeddings"))
            continue;
        if (lay) {
            long long idx = strtoll(lay + 7, NULL, 10);
            f->per_token += t->numel;
            if (idx + 1 > f->layers)
                f->layers = idx + 1;
        } else {
            f->per_sample += t->numel;
        }
    }
    f->per_step = 6.0 * (double)f->per_token * (double)B * (double)T +
                  6.0 * (double)f->per_sample * (double)B +
                  12.0 * (double)f->layers * (double)B * (double)T * (double)T * (double)f->dim;
}

/* ---- the step ------------------------------------------------------------------------------ */

/* One training step as tc_train's train_epoch; *loss receives its loss. */
static int train_step(bench_run *r, double *loss)
{
    tc_params *params = tc_model_params(r->model);
    tc_tensor *logits = NULL, *l;
    int err;

    tc_graph_reset(r->graph);
    if ((err = tc_model_forward(r->model, r->graph, &r->batch, &logits)) < 0)
        return err;
    if (!(l = tc_cross_entropy(r->graph, logits, r->labels)))
        return tc_graph_status(r->graph);
    if ((err = tc_backward(r->graph, l)) < 0)
        return err;
    if (!isfinite(l->data[0]))
        return tc_error_set(TC_ERANGE, "loss became %g", (double)l->data[0]);
    /* as tc_train: clip, AdamW and zeroing the gradients in one pass */
    if ((err = tc_optim_step_fused(r->optim, BENCH_LR, -1.0f,
                                   tc_params_clip_scale(params, BENCH_MAX_NORM, NULL))) < 0)
        return err;
    *loss = (double)l->data[0];
    return TC_OK;
}

/* Flush-to-zero and denormals-are-zero on this thread and the OpenMP pool, as tc_train. */
static void set_ftz(void)
{
#ifdef HAVE_MXCSR
    unsigned int csr = _mm_getcsr() | MXCSR_FTZ_DAZ;

    _mm_setcsr(csr);
#ifdef _OPENMP
#pragma omp parallel
    _mm_setcsr(csr);
#endif
#endif
}

static int threads_in_use(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* --threads: OpenMP's pool now; OpenBLAS reads its variable when libtc loads it (first use). */
static void set_threads(int64_t n)
{
    char v[24];

    if (n <= 0)
        return;
    snprintf(v, sizeof(v), "%" PRId64, n);
    setenv("OPENBLAS_NUM_THREADS", v, 1);
    setenv("OMP_NUM_THREADS", v, 1);
#ifdef _OPENMP
    omp_set_num_threads((int)n);
#endif
}

static double peak_rss_mb(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* s as a JSON string body (quotes and backslashes escaped, control characters dropped). */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

static void report(const bench_args *a, const bench_flops *f, double secs, double loss,
                   const char *plugin_path, int64_t numel)
{
    double sps = (double)a->batch / secs, gflops = f->per_step / secs * 1e-9;
    double rss = peak_rss_mb();
    int threads = threads_in_use();

    if (a->json) {
        printf("{\"samples_per_s\":%.4f,\"gflops\":%.3f,\"peak_rss_mb\":%.1f,\"ms_per_step\":%.2f,"
               "\"model\":",
               sps, gflops, rss, secs * 1e3);
        print_json_string(a->model);
        printf(",\"batch\":%" PRId64 ",\"seq\":%" PRId64 ",\"threads\":%d}\n", a->batch, a->seq,
               threads);
        return;
    }
    printf("model      %s (%s)\n", a->model, plugin_path);
    printf("blas       %s; %d OpenMP threads\n", tc_blas_backend(), threads);
    printf("params     %" PRId64 "; matmul weights %" PRId64 " per token, %" PRId64
           " per sample; %" PRId64 " layers, width %" PRId64 "\n",
           numel, f->per_token, f->per_sample, f->layers, f->dim);
    printf("shape      B=%" PRId64 " T=%" PRId64 ", %" PRId64 " steps after %" PRId64
           " warm-up, %.1f GFLOP per step\n",
           a->batch, a->seq, a->steps, a->warmup, f->per_step * 1e-9);
    printf("samples/s  %.3f\nms/step    %.1f\nGFLOP/s    %.2f\n", sps, secs * 1e3, gflops);
    printf("peak RSS   %.0f MB\nloss       %.4f\n", rss, loss);
}

/* ---- main ---------------------------------------------------------------------------------- */

/* Load the plugin; TC_ENOTFOUND and a non-model plugin are usage errors (exit 2). */
static int load_plugin(tc_plugin **out, const char *name)
{
    char *path = NULL;
    char local[4096];
    int err;

    /* "x.so" in the current directory: tc_plugin_find takes names with a '/' as paths. */
    if (!strchr(name, '/') && strlen(name) > 3 && !strcmp(name + strlen(name) - 3, ".so")) {
        snprintf(local, sizeof(local), "./%s", name);
        name = local;
    }
    if ((err = tc_plugin_find(&path, name, NULL)) < 0 || (err = tc_plugin_load(out, path)) < 0) {
        tc_free(path);
        return err;
    }
    tc_free(path);
    if (tc_plugin_descriptor(*out)->kind != TC_PLUGIN_MODEL) {
        err = tc_error_set(TC_EINVAL, "plugin '%s' is not a model plugin",
                           tc_plugin_descriptor(*out)->name);
        tc_plugin_free(*out);
        *out = NULL;
    }
    return err;
}

/* The tokenizer to pick words from: --tokenizer, else the fixture when it exists; NULL: none. */
static int load_word_tokenizer(tc_tokenizer **out, bench_args *a)
{
    *out = NULL;
    if (!a->tokenizer && TC_BENCH_DEFAULT_TOKENIZER[0] &&
        access(TC_BENCH_DEFAULT_TOKENIZER, R_OK) == 0)
        a->tokenizer = TC_BENCH_DEFAULT_TOKENIZER;
    if (!a->tokenizer)
        return TC_OK;
    return tc_tokenizer_load(out, a->tokenizer);
}

/*
 * Write tok's tokens in id order, then "[unusedN]" up to a->vocab_size ids,
 * as a vocab.txt in a new temporary directory, and make that directory the
 * plugin's tokenizer (remove_padded_vocab removes it).
 */
static int write_padded_vocab(bench_args *a, const tc_tokenizer *tok)
{
    char path[96];
    int32_t id, v = tc_tokenizer_vocab_size(tok);
    FILE *f;
    int ok;

    snprintf(a->tmp_dir, sizeof(a->tmp_dir), "%s", "/tmp/tc-bench.XXXXXX");
    if (!mkdtemp(a->tmp_dir)) {
        a->tmp_dir[0] = '\0';
        return tc_error_set(TC_EIO, "cannot make a temporary directory: %s", strerror(errno));
    }
    snprintf(path, sizeof(path), "%s/vocab.txt", a->tmp_dir);
    if (!(f = fopen(path, "w")))
        return tc_error_set(TC_EIO, "cannot write '%s': %s", path, strerror(errno));
    for (id = 0; id < (int32_t)a->vocab_size; id++) {
        const char *t = id < v ? tc_tokenizer_id_to_token(tok, id) : NULL;
        if (t && !strchr(t, '\n'))
            fprintf(f, "%s\n", t);
        else
            fprintf(f, "[unused%d]\n", (int)(1000000 + id)); /* no clash with BERT's [unusedN] */
    }
    ok = !ferror(f);
    if (fclose(f) != 0 || !ok)
        return tc_error_set(TC_EIO, "cannot write '%s'", path);
    a->tokenizer = a->tmp_dir;
    return TC_OK;
}

static void remove_padded_vocab(bench_args *a)
{
    char path[96];

    if (!a->tmp_dir[0])
        return;
    snprintf(path, sizeof(path), "%s/vocab.txt", a->tmp_dir);
    unlink(path);
    rmdir(a->tmp_dir);
    a->tmp_dir[0] = '\0';
}

static int setup_data(bench_args *a, char **texts, int32_t *labels, tc_data_info *info,
                      tc_text_corpus *corpus)
{
    const char *words[MAX_WORDS];
    size_t n_words;
    tc_tokenizer *tok = NULL;
    int err;

    if ((err = load_word_tokenizer(&tok, a)) < 0)
        return err;
    if (tok) {
        n_words = pick_words(tok, words);
        if (n_words < 8) {
            tc_tokenizer_free(tok);
            return tc_error_set(TC_EINVAL, "tokenizer '%s' has only %zu single-token words",
                                a->tokenizer, n_words);
        }
    } else {
        n_words = sizeof(fallback_words) / sizeof(fallback_words[0]);
        memcpy(words, fallback_words, sizeof(fallback_words));
    }
    err = make_texts(texts, a->batch, a->seq, words, n_words, tok);
    if (err == TC_OK && tok && a->vocab_size > tc_tokenizer_vocab_size(tok))
        err = write_padded_vocab(a, tok);
    tc_tokenizer_free(tok);
    if (err < 0)
        return err;
    for (int64_t i = 0; i < a->batch; i++)
        labels[i] = (int32_t)(i % 2);
    memset(corpus, 0, sizeof(*corpus));
    corpus->struct_size = sizeof(*corpus);
    corpus->n = corpus->max_read = a->batch;
    corpus->fields = 1;
    corpus->ctx = texts;
    corpus->read = corpus_read;
    memset(info, 0, sizeof(*info));
    info->input = TC_INPUT_TEXT;
    info->num_labels = 2;
    info->split_size[TC_SPLIT_TRAIN] = a->batch;
    info->text_fields = 1;
    info->max_length = (int32_t)a->seq;
    info->train_texts = corpus;
    return TC_OK;
}

static int run(bench_args *a)
{
    tc_plugin *plugin = NULL;
    tc_options *opts = NULL;
    char **texts = NULL, names[MAX_SET][64], seq_text[24];
    tc_data_info info;
    tc_text_corpus corpus;
    tc_optim_options oo;
    tc_host host;
    bench_run r;
    bench_flops f;
    double t0 = 0.0, loss = NAN;
    int64_t i;
    int err, rc = 1;

    memset(&r, 0, sizeof(r));
    memset(&host, 0, sizeof(host));
    host.struct_size = sizeof(host);
    host.abi_major = TC_PLUGIN_ABI_MAJOR;
    host.abi_minor = TC_PLUGIN_ABI_MINOR;
    host.log = host_log;
    if ((err = load_plugin(&plugin, a->plugin)) < 0) {
        rc = err == TC_ENOTFOUND || err == TC_EINVAL ? EXIT_USAGE : 1;
        goto out;
    }
    if (!(texts = tc_calloc((size_t)a->batch, sizeof(char *))) ||
        !(r.labels = tc_calloc((size_t)a->batch, sizeof(int32_t)))) {
        err = tc_error_set(TC_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = setup_data(a, texts, r.labels, &info, &corpus)) < 0)
        goto out;
    if ((err = model_options(&opts, a, tc_plugin_descriptor(plugin), names, seq_text,
                             sizeof(seq_text))) < 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    err = tc_model_create(&r.model, plugin, opts, &info, SEED, &host);
    remove_padded_vocab(a); /* the model has loaded it */
    if (err < 0)
        goto out;
    tc_optim_options_init(&oo, TC_OPTIM_OPTIONS_VERSION);
    oo.kind = TC_OPTIM_ADAMW;
    oo.weight_decay = BENCH_WD;
    if ((err = tc_optim_new(&r.optim, tc_model_params(r.model), &oo)) < 0 ||
        (err = tc_graph_new(&r.graph, 0)) < 0)
        goto out;
    tc_rng_init(&r.dropout, SEED, TC_RNG_STREAM_DROPOUT);
    tc_graph_set_rng(r.graph, &r.dropout);
    r.batch.size = a->batch;
    r.batch.texts = (const char *const *)texts;
    r.batch.labels = r.labels;
    count_flops(&f, tc_model_params(r.model), a->batch, a->seq);
    set_ftz();
    for (i = 0; i < a->warmup + a->steps; i++) {
        if (i == a->warmup)
            t0 = bench_now_s();
        if ((err = train_step(&r, &loss)) < 0)
            goto out;
    }
    report(a, &f, (bench_now_s() - t0) / (double)a->steps, loss, tc_plugin_path(plugin),
           tc_params_numel(tc_model_params(r.model)));
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "tc-bench: %s\n", tc_error_message());
    tc_graph_free(r.graph);
    tc_optim_free(r.optim);
    tc_model_free(r.model);
    tc_options_free(opts);
    tc_plugin_free(plugin);
    for (i = 0; texts && i < a->batch; i++)
        tc_free(texts[i]);
    tc_free(texts);
    tc_free(r.labels);
    remove_padded_vocab(a);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a;
    int rc;

    if ((rc = parse_args(&a, argc, argv)) != 0)
        return rc < 0 ? 0 : rc;
    set_threads(a.threads);
    return run(&a);
}
