/*
 * card.c - model cards: README.md and training_curves.svg (see card.h and
 * docs/model-card.md).
 *
 * Everything that comes from outside (repo ids, plugin names, the spec) is
 * escaped for where it lands: double-quoted scalars in the YAML front matter
 * (with every character YAML 1.1 would not take literally written as an
 * escape, so PyYAML, libyaml and the Hub all read the same value), backslash
 * escapes in markdown text and table cells, quoting in the shell, YAML and
 * Python snippets, entities in the SVG. Invalid UTF-8 becomes U+FFFD.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include <tc/common.h>
#include <tc/error.h>
#include <tc/trainer.h>

#include "card.h"

#define CARD_PATH_MAX 4096
#define CARD_TABLE_MAX_EPOCHS 100         /* per-epoch rows in README.md; beyond: metrics.json */
#define CARD_SPEC_MAX_INLINE (256u << 10) /* a larger spec is linked, not shown */
#define CARD_SVG_MAX_MARKERS 200          /* more points than this: lines only */
#define CARD_MAX_YAML_VISITS 100000       /* model-index nodes read_metric looks at (aliases) */

/* ---- growing text buffer ------------------------------------------------------------------ */

/* After an allocation failure the buffer only records oom; callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > SIZE_MAX / 4 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        char *np;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        if (!(np = realloc(b->p, ncap))) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

static void sb_printf(sbuf *b, const char *fmt, ...) TC_PRINTF(2, 3);

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[256], *big;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_putn(b, small, (size_t)n);
        return;
    }
    if (!(big = malloc((size_t)n + 1))) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

/* ---- files -------------------------------------------------------------------------------- */

/* Read all of path (at most max bytes) into *out, NUL-terminated; free() it. */
static int read_file(const char *path, size_t max, const char *what, char **out, size_t *out_len)
{
    struct stat st;
    char *buf = NULL, *grown;
    size_t len = 0, cap = 0, ncap;
    ssize_t n;
    int fd, err = TC_OK;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == ENOENT)
            return tc_error_set(TC_ENOTFOUND, "%s '%s' does not exist", what, path);
        return tc_error_set(TC_EIO, "cannot open %s '%s': %s", what, path, strerror(errno));
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        err = tc_error_set(TC_ERANGE, "%s '%s' is larger than %zu bytes", what, path, max);
        goto out;
    }
    for (;;) {
        if (cap - len < 2) {
            ncap = cap ? cap * 2 : 65536;
            if (ncap > max + 2)
                ncap = max + 2;
            if (!(grown = realloc(buf, ncap))) {
                err = tc_error_set(TC_ENOMEM, "out of memory reading '%s'", path);
                goto out;
            }
            buf = grown;
            cap = ncap;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = tc_error_set(TC_EIO, "cannot read %s '%s': %s", what, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            err = tc_error_set(TC_ERANGE, "%s '%s' is larger than %zu bytes", what, path, max);
            goto out;
        }
    }
    if (!buf && !(buf = malloc(1))) {
        err = tc_error_set(TC_ENOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return err;
}

static int join_path(char *out, const char *dir, const char *file)
{
    if ((size_t)snprintf(out, CARD_PATH_MAX, "%s/%s", dir, file) >= CARD_PATH_MAX)
        return tc_error_set(TC_EINVAL, "path too long: '%s/%s'", dir, file);
    return TC_OK;
}

static int file_exists(const char *dir, const char *file)
{
    char path[CARD_PATH_MAX];
    struct stat st;

    return join_path(path, dir, file) == TC_OK && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- characters and escaping -------------------------------------------------------------- */

/* The code point at s (n bytes left) and its length in *used; -1 (used 1) for invalid UTF-8. */
static long utf8_next(const unsigned char *s, size_t n, size_t *used)
{
    size_t k, i;
    long cp;

    *used = 1;
    if (s[0] < 0x80)
        return s[0];
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        k = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        k = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        k = 4, cp = s[0] & 0x07;
    else
        return -1;
    if (n < k)
        return -1;
    for (i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *used = k;
    return cp;
}

/*
 * Characters no output format takes literally: C0 and C1 controls, DEL, the
 * Unicode line and paragraph separators, the BOM and the non-characters
 * U+FFFE/U+FFFF (YAML 1.1 and XML 1.0 exclude or reinterpret all of them).
 */
static int cp_special(long cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

#define FOR_EACH_CP(s, p, n, used, cp)                                                             \
    for (p = (const unsigned char *)(s), n = strlen(s); n && ((cp = utf8_next(p, n, &used)), 1);   \
         p += used, n -= used)

/* s as a double-quoted YAML scalar. */
static void put_yaml_str(sbuf *b, const char *s)
{
    const unsigned char *p;
    size_t n, used;
    long cp;

    sb_putc(b, '"');
    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp == '"' || cp == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)cp);
        } else if (cp == '\n') {
            sb_puts(b, "\\n");
        } else if (cp == '\t') {
            sb_puts(b, "\\t");
        } else if (cp < 0) {
            sb_puts(b, "\\uFFFD");
        } else if (cp_special(cp)) {
            sb_printf(b, "\\u%04lX", (unsigned long)cp);
        } else {
            sb_putn(b, (const char *)p, used);
        }
    }
    sb_putc(b, '"');
}

/* s as markdown text (also inside a table cell): punctuation backslash-escaped. */
static void put_md(sbuf *b, const char *s)
{
    const unsigned char *p;
    size_t n, used;
    long cp;

    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp > 0 && cp < 0x80 && strchr("\\`*_{}[]()<>#+!|~&$", (int)cp)) {
            sb_putc(b, '\\');
            sb_putc(b, (char)cp);
        } else if (cp == '\n' || cp == '\t' || cp == '\r') {
            sb_putc(b, ' ');
        } else if (cp < 0 || cp_special(cp)) {
            sb_puts(b, "\xEF\xBF\xBD");
        } else {
            sb_putn(b, (const char *)p, used);
        }
    }
}

/* The longest run of `c` in s. */
static size_t longest_run(const char *s, char c)
{
    size_t best = 0, cur = 0;

    for (; *s; s++) {
        cur = *s == c ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    return best;
}

static void put_repeat(sbuf *b, char c, size_t n)
{
    while (n--)
        sb_putc(b, c);
}

/* s as a markdown code span, fenced with more backticks than any run inside it. */
static void put_md_code(sbuf *b, const char *s)
{
    size_t fence = longest_run(s, '`') + 1, len = strlen(s);
    int pad = len == 0 || s[0] == '`' || s[len - 1] == '`';
    const unsigned char *p;
    size_t n, used;
    long cp;

    put_repeat(b, '`', fence);
    if (pad)
        sb_putc(b, ' ');
    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp < 0 || cp_special(cp))
            sb_puts(b, cp == '\n' || cp == '\t' ? " " : "\xEF\xBF\xBD");
        else
            sb_putn(b, (const char *)p, used);
    }
    if (pad)
        sb_putc(b, ' ');
    put_repeat(b, '`', fence);
}

/* s as one shell word: bare when harmless, '...' otherwise, $'...' when it has controls. */
static void put_sh(sbuf *b, const char *s)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "_./-:@+=,%";
    const unsigned char *p;
    size_t n, used, i;
    int ansi = 0;
    long cp;

    if (*s && strspn(s, safe) == strlen(s)) {
        sb_puts(b, s);
        return;
    }
    FOR_EACH_CP(s, p, n, used, cp)
    {
        ansi |= cp < 0 || cp_special(cp);
    }
    sb_puts(b, ansi ? "$'" : "'");
    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp == '\'')
            sb_puts(b, ansi ? "\\'" : "'\\''");
        else if (cp == '\\' && ansi)
            sb_puts(b, "\\\\");
        else if (cp < 0 || cp_special(cp))
            for (i = 0; i < used; i++) /* as bytes: bash's unicode escape depends on the locale */
                sb_printf(b, "\\x%02X", (unsigned)p[i]);
        else
            sb_putn(b, (const char *)p, used);
    }
    sb_putc(b, '\'');
}

/* s as a Python string literal. */
static void put_py_str(sbuf *b, const char *s)
{
    const unsigned char *p;
    size_t n, used;
    long cp;

    sb_putc(b, '"');
    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp == '"' || cp == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)cp);
        } else if (cp < 0) {
            sb_puts(b, "\\ufffd");
        } else if (cp_special(cp)) {
            sb_printf(b, cp < 0x100 ? "\\x%02lx" : "\\u%04lx", (unsigned long)cp);
        } else {
            sb_putn(b, (const char *)p, used);
        }
    }
    sb_putc(b, '"');
}

/* s as XML character data or attribute text; at most max characters, then an ellipsis. */
static void put_xml(sbuf *b, const char *s, size_t max)
{
    const unsigned char *p;
    size_t n, used, count = 0;
    long cp;

    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (count++ == max) {
            sb_puts(b, "\xE2\x80\xA6");
            break;
        }
        switch (cp) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&apos;"); break;
        case '\n':
        case '\t': sb_putc(b, ' '); break;
        default:
            if (cp < 0 || cp_special(cp))
                sb_puts(b, "\xEF\xBF\xBD");
            else
                sb_putn(b, (const char *)p, used);
        }
    }
}

/* s percent-encoded for a URL path ('/' kept). */
static void put_url_path(sbuf *b, const char *s)
{
    static const char keep[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "-._~/";
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++) {
        if (strchr(keep, *p))
            sb_putc(b, (char)*p);
        else
            sb_printf(b, "%%%02X", (unsigned)*p);
    }
}

/* A spec (or other block text) made valid UTF-8, for a fenced block. */
static void put_block_text(sbuf *b, const char *s)
{
    const unsigned char *p;
    size_t n, used;
    long cp;

    FOR_EACH_CP(s, p, n, used, cp)
    {
        if (cp < 0 || (cp_special(cp) && cp != '\n' && cp != '\t'))
            sb_puts(b, "\xEF\xBF\xBD");
        else
            sb_putn(b, (const char *)p, used);
    }
}

/* ---- numbers ------------------------------------------------------------------------------ */

/*
 * The shortest of %.15g..%.17g that reads back as v, always with a '.' so that
 * YAML 1.1 (PyYAML) reads a float: "1e-05" would be a string, "1.0e-05" is not.
 */
static void fmt_num(char *out, size_t cap, double v)
{
    char *e;
    int prec;

    for (prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    if (strchr(out, '.') || strlen(out) + 3 > cap)
        return;
    if ((e = strchr(out, 'e'))) {
        memmove(e + 2, e, strlen(e) + 1);
        e[0] = '.';
        e[1] = '0';
    } else {
        memcpy(out + strlen(out), ".0", 3);
    }
}

/* A table cell: 4 decimals, or n/a. */
static void put_cell_num(sbuf *b, double v, int decimals)
{
    if (isfinite(v))
        sb_printf(b, " %.*f |", decimals, v);
    else
        sb_puts(b, " n/a |");
}

static void fmt_duration(char *out, size_t cap, double s)
{
    long t = s < 1e12 ? lround(s) : 0;

    if (s < 60 || s >= 1e12)
        snprintf(out, cap, "%.3g s", s);
    else if (s < 3600)
        snprintf(out, cap, "%ld min %ld s", t / 60, t % 60);
    else
        snprintf(out, cap, "%ld h %ld min", t / 3600, (t % 3600) / 60);
}

/* ---- metrics.json ------------------------------------------------------------------------- */

enum { M_ACCURACY, M_F1, M_LOSS, M_COUNT };

static const char *const metric_type[M_COUNT] = {"accuracy", "f1", "loss"};
static const char *const metric_name[M_COUNT] = {"Accuracy", "Macro F1", "Cross-entropy loss"};

typedef struct card_epoch {
    double epoch, train_loss, val_loss, val_accuracy, val_f1, lr, seconds; /* NaN: null */
} card_epoch;

enum { F_TRAIN_LOSS, F_VAL_LOSS, F_VAL_ACCURACY, F_VAL_F1 };

static double epoch_field(const card_epoch *e, int f)
{
    switch (f) {
    case F_TRAIN_LOSS: return e->train_loss;
    case F_VAL_LOSS: return e->val_loss;
    case F_VAL_ACCURACY: return e->val_accuracy;
    default: return e->val_f1;
    }
}

/* What the card needs from metrics.json; strings are borrowed from json. */
typedef struct card_run {
    cJSON *json;
    double test[M_COUNT], val[M_COUNT]; /* NaN: null or missing */
    double best_epoch, epochs_run, resumed_from, steps, seconds;
    int early_stopped; /* -1: not recorded */
    const char *run_id, *fingerprint, *model_plugin, *data_plugin;
    card_epoch *hist;
    size_t n_hist;
} card_run;

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static int run_load_history(card_run *run, const char *path)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(run->json, "history"), *e;
    size_t n;

    if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) <= 0)
        return TC_OK;
    n = (size_t)cJSON_GetArraySize(h);
    if (n > TC_TRAIN_MAX_EPOCHS)
        n = TC_TRAIN_MAX_EPOCHS;
    if (!(run->hist = calloc(n, sizeof(*run->hist))))
        return tc_error_set(TC_ENOMEM, "out of memory reading the history in '%s'", path);
    cJSON_ArrayForEach(e, h)
    {
        card_epoch *c;
        if (run->n_hist == n)
            break;
        if (!cJSON_IsObject(e))
            continue;
        c = &run->hist[run->n_hist];
        c->epoch = json_num(e, "epoch");
        if (!isfinite(c->epoch))
            c->epoch = (double)run->n_hist + 1;
        c->train_loss = json_num(e, "train_loss");
        c->val_loss = json_num(e, "val_loss");
        c->val_accuracy = json_num(e, "val_accuracy");
        c->val_f1 = json_num(e, "val_f1");
        c->lr = json_num(e, "lr");
        c->seconds = json_num(e, "seconds");
        run->n_hist++;
    }
    return TC_OK;
}

/* Total wall time: epoch_seconds (this run), else the history's seconds; NaN when neither. */
static double run_seconds(const card_run *run)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(run->json, "epoch_seconds"), *e;
    double total = 0, s;
    size_t i;
    int any = 0;

    if (cJSON_IsArray(a)) {
        cJSON_ArrayForEach(e, a)
        {
            if (cJSON_IsNumber(e) && isfinite(e->valuedouble) && e->valuedouble >= 0) {
                total += e->valuedouble;
                any = 1;
            }
        }
    }
    if (any)
        return total;
    for (i = 0; i < run->n_hist; i++) {
        s = run->hist[i].seconds;
        if (isfinite(s) && s >= 0) {
            total += s;
            any = 1;
        }
    }
    return any ? total : NAN;
}

static int run_load(card_run *run, const char *out_dir)
{
    const cJSON *es;
    char path[CARD_PATH_MAX], *text = NULL;
    size_t len;
    int err, i;

    if ((err = join_path(path, out_dir, "metrics.json")) < 0)
        return err;
    if ((err = read_file(path, TCD_CARD_MAX_METRICS_BYTES, "metrics file", &text, &len)) < 0)
        return err;
    run->json = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(run->json))
        return tc_error_set(TC_EFORMAT, "'%s' is not a JSON object", path);
    for (i = 0; i < M_COUNT; i++) {
        char key[32];
        snprintf(key, sizeof(key), "test_%s", metric_type[i]);
        run->test[i] = json_num(run->json, key);
        snprintf(key, sizeof(key), "val_%s", metric_type[i]);
        run->val[i] = json_num(run->json, key);
    }
    run->best_epoch = json_num(run->json, "best_epoch");
    run->epochs_run = json_num(run->json, "epochs_run");
    run->resumed_from = json_num(run->json, "resumed_from_epoch");
    run->steps = json_num(run->json, "steps");
    es = cJSON_GetObjectItemCaseSensitive(run->json, "early_stopped");
    run->early_stopped = cJSON_IsBool(es) ? cJSON_IsTrue(es) : -1;
    run->run_id = json_str(run->json, "run_id");
    run->fingerprint = json_str(run->json, "data_fingerprint");
    run->model_plugin = json_str(run->json, "model_plugin");
    run->data_plugin = json_str(run->json, "data_plugin");
    if ((err = run_load_history(run, path)) < 0)
        return err;
    run->seconds = run_seconds(run);
    return TC_OK;
}

static void run_dispose(card_run *run)
{
    cJSON_Delete(run->json);
    free(run->hist);
    memset(run, 0, sizeof(*run));
}

/* ---- the card's inputs, resolved ---------------------------------------------------------- */

typedef struct card {
    const tcd_card_info *info;
    card_run run;
    const char *name;         /* the repo's name: repo_id after its last '/' */
    const char *model_plugin; /* may be NULL */
    const char *data_plugin;  /* may be NULL */
    const char *pipeline_tag;
    const char *license;
} card;

static void card_resolve(card *c, const tcd_card_info *info)
{
    const char *slash = strrchr(info->repo_id, '/');

    c->info = info;
    c->name = slash && slash[1] ? slash + 1 : info->repo_id;
    c->model_plugin = info->model_plugin ? info->model_plugin : c->run.model_plugin;
    c->data_plugin = info->data_plugin ? info->data_plugin : c->run.data_plugin;
    c->license = info->license ? info->license : "apache-2.0";
    c->pipeline_tag = info->pipeline_tag;
    if (!c->pipeline_tag)
        c->pipeline_tag = c->data_plugin && !strcmp(c->data_plugin, "text")
                              ? "text-classification"
                              : "image-classification";
}

static int split_has_values(const double *m)
{
    return isfinite(m[M_ACCURACY]) || isfinite(m[M_F1]) || isfinite(m[M_LOSS]);
}

/* ---- README.md: front matter -------------------------------------------------------------- */

static const char *task_name(const char *tag)
{
    if (!strcmp(tag, "image-classification"))
        return "Image Classification";
    if (!strcmp(tag, "text-classification"))
        return "Text Classification";
    return tag;
}

/* The dataset's display name: a Hub id's last part, or "<plugin> data". */
static void dataset_name(const card *c, char *out, size_t cap)
{
    const char *id = c->info->dataset_id, *slash;

    if (id) {
        slash = strrchr(id, '/');
        snprintf(out, cap, "%s", slash && slash[1] ? slash + 1 : id);
    } else {
        snprintf(out, cap, "%s data", c->data_plugin ? c->data_plugin : "local");
    }
}

static void fm_result(sbuf *b, const card *c, const char *split, const double *m)
{
    char num[48], dsname[512];
    int i;

    dataset_name(c, dsname, sizeof(dsname));
    sb_puts(b, "  - task:\n      type: ");
    put_yaml_str(b, c->pipeline_tag);
    sb_puts(b, "\n      name: ");
    put_yaml_str(b, task_name(c->pipeline_tag));
    sb_puts(b, "\n    dataset:\n      name: ");
    put_yaml_str(b, dsname);
    sb_puts(b, "\n      type: ");
    put_yaml_str(b, c->info->dataset_id ? c->info->dataset_id
                                        : (c->data_plugin ? c->data_plugin : "local"));
    sb_puts(b, "\n      split: ");
    put_yaml_str(b, split);
    sb_puts(b, "\n    metrics:\n");
    for (i = 0; i < M_COUNT; i++) {
        if (!isfinite(m[i]))
            continue;
        fmt_num(num, sizeof(num), m[i]);
        sb_puts(b, "    - type: ");
        put_yaml_str(b, metric_type[i]);
        sb_printf(b, "\n      value: %s\n      name: ", num);
        put_yaml_str(b, metric_name[i]);
        sb_putc(b, '\n');
    }
}

static void fm_tags(sbuf *b, const card *c)
{
    const char *tags[3];
    size_t n = 0, i, j;

    tags[n++] = "tcd";
    if (c->model_plugin && *c->model_plugin)
        tags[n++] = c->model_plugin;
    tags[n++] = c->pipeline_tag;
    sb_puts(b, "tags:\n");
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && strcmp(tags[i], tags[j]); j++)
            ;
        if (j < i)
            continue;
        sb_puts(b, "- ");
        put_yaml_str(b, tags[i]);
        sb_putc(b, '\n');
    }
}

static void card_front_matter(sbuf *b, const card *c)
{
    const tcd_card_info *info = c->info;

    sb_puts(b, "---\nlicense: ");
    put_yaml_str(b, c->license);
    if (info->base_model) {
        sb_puts(b, "\nbase_model: ");
        put_yaml_str(b, info->base_model);
    }
    if (info->dataset_id) {
        sb_puts(b, "\ndatasets:\n- ");
        put_yaml_str(b, info->dataset_id);
    }
    sb_putc(b, '\n');
    fm_tags(b, c);
    sb_puts(b, "library_name: ");
    put_yaml_str(b, info->transformers_compatible ? "transformers" : "tcd");
    sb_puts(b, "\npipeline_tag: ");
    put_yaml_str(b, c->pipeline_tag);
    sb_putc(b, '\n');
    if (split_has_values(c->run.test) || split_has_values(c->run.val)) {
        sb_puts(b, "model-index:\n- name: ");
        put_yaml_str(b, c->name);
        sb_puts(b, "\n  results:\n");
        if (split_has_values(c->run.test))
            fm_result(b, c, "test", c->run.test);
        if (split_has_values(c->run.val))
            fm_result(b, c, "validation", c->run.val);
    }
    sb_puts(b, "---\n\n");
}

/* ---- README.md: body ---------------------------------------------------------------------- */

typedef struct model_kind {
    const char *plugin, *article, *phrase;
} model_kind;

static const model_kind model_kinds[] = {
    {"mlp", "A", "multi-layer perceptron"},
    {"embedbag", "A", "bag-of-embeddings (EmbeddingBag)"},
    {"lstm", "An", "LSTM"},
    {"distilbert", "A", "DistilBERT"},
    {"bert", "A", "BERT"},
};

static void body_intro(sbuf *b, const card *c)
{
    const model_kind *k = NULL;
    const char *kind = !strcmp(c->pipeline_tag, "image-classification")  ? "image "
                       : !strcmp(c->pipeline_tag, "text-classification") ? "text "
                                                                         : "";
    size_t i;

    for (i = 0; c->model_plugin && i < sizeof(model_kinds) / sizeof(model_kinds[0]); i++)
        if (!strcmp(c->model_plugin, model_kinds[i].plugin))
            k = &model_kinds[i];
    sb_puts(b, "# ");
    put_md(b, c->name);
    sb_puts(b, "\n\n");
    if (k)
        sb_printf(b, "%s %s %sclassifier", k->article, k->phrase, kind);
    else
        sb_printf(b, "A %sclassifier", kind);
    if (c->model_plugin) {
        sb_puts(b, " (model plugin ");
        put_md_code(b, c->model_plugin);
        sb_puts(b, ")");
    }
    if (c->info->base_model) {
        sb_puts(b, ", fine-tuned from [");
        put_md(b, c->info->base_model);
        sb_puts(b, "](https://huggingface.co/");
        put_url_path(b, c->info->base_model);
        sb_puts(b, ")");
    } else {
        sb_puts(b, ", trained from scratch");
    }
    sb_puts(b, " with tcd, a fine-tuning daemon for the Hugging Face Hub");
    if (c->info->dataset_id) {
        sb_puts(b, ", on [");
        put_md(b, c->info->dataset_id);
        sb_puts(b, "](https://huggingface.co/datasets/");
        put_url_path(b, c->info->dataset_id);
        sb_puts(b, ")");
    }
    if (c->data_plugin) {
        sb_puts(b, " (data plugin ");
        put_md_code(b, c->data_plugin);
        sb_puts(b, ")");
    }
    sb_puts(b, ".\n\n");
    if (isfinite(c->run.test[M_ACCURACY]))
        sb_printf(b, "Test accuracy: **%.4f**.\n\n", c->run.test[M_ACCURACY]);
}

static void body_facts(sbuf *b, const card *c)
{
    const card_run *r = &c->run;
    char dur[64];

    if (isfinite(r->epochs_run)) {
        sb_printf(b, "- Epochs run: %.15g", r->epochs_run);
        if (isfinite(r->best_epoch))
            sb_printf(b, " (best epoch: %.15g)", r->best_epoch);
        if (r->early_stopped == 1)
            sb_puts(b, ", stopped early");
        if (isfinite(r->resumed_from) && r->resumed_from > 0)
            sb_printf(b, ", resumed after epoch %.15g", r->resumed_from);
        sb_putc(b, '\n');
    }
    if (isfinite(r->steps))
        sb_printf(b, "- Optimizer steps: %.15g\n", r->steps);
    if (isfinite(r->seconds)) {
        fmt_duration(dur, sizeof(dur), r->seconds);
        sb_printf(b, "- Training time: %s%s\n", dur,
                  isfinite(r->resumed_from) && r->resumed_from > 0 ? " (since the resume)" : "");
    }
    if (r->run_id) {
        sb_puts(b, "- Run id: ");
        put_md_code(b, r->run_id);
        sb_putc(b, '\n');
    }
    if (r->fingerprint) {
        sb_puts(b, "- Data fingerprint: ");
        put_md_code(b, r->fingerprint);
        sb_putc(b, '\n');
    }
}

static void body_spec(sbuf *b, const card *c)
{
    const char *spec = c->info->spec_yaml, *file = c->info->spec_file;
    size_t fence, len;

    sb_puts(b, "### Training spec\n\n");
    if (!spec) {
        sb_puts(b, "The job spec was not recorded with this model.\n\n");
        return;
    }
    sb_puts(b, "The tcd job spec this model was trained with");
    if (file) {
        sb_puts(b, " (pushed beside this card as [");
        put_md(b, file);
        sb_puts(b, "](");
        put_url_path(b, file);
        sb_puts(b, "))");
    }
    len = strlen(spec);
    if (len > CARD_SPEC_MAX_INLINE) {
        sb_printf(b, " is %zu bytes long, too long to show here.\n\n", len);
        return;
    }
    sb_puts(b, ":\n\n");
    fence = longest_run(spec, '`') + 1;
    put_repeat(b, '`', fence < 3 ? 3 : fence);
    sb_puts(b, "yaml\n");
    put_block_text(b, spec);
    if (len && spec[len - 1] != '\n')
        sb_putc(b, '\n');
    put_repeat(b, '`', fence < 3 ? 3 : fence);
    sb_puts(b, "\n\n");
}

static void body_training(sbuf *b, const card *c)
{
    sb_puts(b, "## Training\n\n");
    body_facts(b, c);
    sb_putc(b, '\n');
    body_spec(b, c);
}

static void eval_row(sbuf *b, const char *split, const double *m)
{
    if (!split_has_values(m))
        return;
    sb_printf(b, "| %s |", split);
    put_cell_num(b, m[M_ACCURACY], 4);
    put_cell_num(b, m[M_F1], 4);
    put_cell_num(b, m[M_LOSS], 4);
    sb_putc(b, '\n');
}

static void body_eval(sbuf *b, const card *c)
{
    sb_puts(b, "## Evaluation\n\n");
    if (!split_has_values(c->run.test) && !split_has_values(c->run.val)) {
        sb_puts(b, "No evaluation metrics were recorded for this run.\n\n");
        return;
    }
    sb_puts(b, "| split | accuracy | macro F1 | cross-entropy loss |\n|---|---:|---:|---:|\n");
    eval_row(b, "test", c->run.test);
    eval_row(b, "validation", c->run.val);
    sb_puts(b, "\nValidation metrics are those of the best epoch; test metrics are those of the "
               "best model (the weights in this repository).\n\n");
}

static void body_curves(sbuf *b, const card *c)
{
    size_t i;

    sb_puts(b, "## Training curves\n\n![Training curves](training_curves.svg)\n\n");
    if (!c->run.n_hist) {
        sb_puts(b, "There is no per-epoch history for this run (metrics.json has none), so the "
                   "plot is empty.\n\n");
        return;
    }
    if (c->run.n_hist > CARD_TABLE_MAX_EPOCHS) {
        sb_printf(b, "Per-epoch values for all %zu epochs are in metrics.json (\"history\").\n\n",
                  c->run.n_hist);
        return;
    }
    sb_puts(b, "| epoch | train loss | validation loss | validation accuracy | validation macro F1 "
               "| learning rate | seconds |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < c->run.n_hist; i++) {
        const card_epoch *e = &c->run.hist[i];
        sb_printf(b, "| %.15g |", e->epoch);
        put_cell_num(b, e->train_loss, 4);
        put_cell_num(b, e->val_loss, 4);
        put_cell_num(b, e->val_accuracy, 4);
        put_cell_num(b, e->val_f1, 4);
        if (isfinite(e->lr))
            sb_printf(b, " %.3g |", e->lr);
        else
            sb_puts(b, " n/a |");
        put_cell_num(b, e->seconds, 1);
        sb_putc(b, '\n');
    }
    sb_putc(b, '\n');
}

static int has_tokenizer(const card *c)
{
    return file_exists(c->info->out_dir, "tokenizer.json") ||
           file_exists(c->info->out_dir, "tokenizer_config.json") ||
           file_exists(c->info->out_dir, "vocab.txt");
}

static void body_usage(sbuf *b, const card *c)
{
    const char *repo = c->info->repo_id;

    sb_puts(b,
            "## How to use\n\n### With tcd\n\nDownload the model into the Hugging Face cache "
            "(`tcctl pull` prints the snapshot folder):\n\n```sh\nsnapshot=$(tcctl -q pull model ");
    put_sh(b, repo);
    sb_puts(b, ")\n```\n\nand start a new training run from these weights with `model.from` set "
               "to that folder in a job spec:\n\n```yaml\nmodel: {plugin: ");
    put_yaml_str(b, c->model_plugin ? c->model_plugin : "PLUGIN");
    sb_puts(b, ", from: \"/path/of/the/snapshot\"}\n```\n\n");
    if (!c->info->transformers_compatible) {
        sb_puts(b, "config.json is tcd's own description of the model (see tcd's "
                   "docs/model-card.md); transformers cannot load this model.\n\n");
        return;
    }
    sb_puts(b, "### With transformers\n\n```python\nfrom transformers import "
               "AutoModelForSequenceClassification");
    sb_puts(b, has_tokenizer(c) ? ", AutoTokenizer\n\n" : "\n\n");
    sb_puts(b, "model = AutoModelForSequenceClassification.from_pretrained(");
    put_py_str(b, repo);
    sb_puts(b, ")\n");
    if (has_tokenizer(c)) {
        sb_puts(b, "tokenizer = AutoTokenizer.from_pretrained(");
        put_py_str(b, repo);
        sb_puts(b, ")\n");
    }
    sb_puts(b, "```\n\n");
}

static void files_row(sbuf *b, const card *c, const char *file, const char *what, int always)
{
    if (!always && !file_exists(c->info->out_dir, file))
        return;
    sb_puts(b, "| ");
    put_md(b, file);
    sb_printf(b, " | %s |\n", what);
}

static void body_files(sbuf *b, const card *c)
{
    sb_puts(b, "## Files\n\n| file | contents |\n|---|---|\n");
    files_row(b, c, "model.safetensors", "the weights", 0);
    files_row(b, c, "config.json", "the model's configuration and labels", 0);
    files_row(b, c, "tokenizer.json", "the tokenizer", 0);
    files_row(b, c, "tokenizer_config.json", "the tokenizer's settings", 0);
    files_row(b, c, "vocab.txt", "the tokenizer's vocabulary", 0);
    files_row(b, c, "metrics.json", "the run's metrics and per-epoch history", 1);
    if (c->info->spec_file)
        files_row(b, c, c->info->spec_file, "the tcd job spec", 1);
    files_row(b, c, "training_curves.svg", "the plot above", 1);
    sb_putc(b, '\n');
}

static void card_readme(sbuf *b, const card *c)
{
    card_front_matter(b, c);
    body_intro(b, c);
    body_training(b, c);
    body_eval(b, c);
    body_curves(b, c);
    body_usage(b, c);
    body_files(b, c);
}

/* ---- training_curves.svg ------------------------------------------------------------------ */

#define SVG_W 800
#define SVG_H 640
#define SVG_TITLE_MAX 64 /* characters of the repo name in the heading */

typedef struct axis {
    double lo, hi, step;
    int decimals;
} axis;

typedef struct series {
    const char *id, *label, *color, *dash;
    int field;
} series;

typedef struct panel {
    double x, y, w, h;
    const char *title;
    const series *s;
    size_t ns;
    int unit; /* values are fractions: keep the axis inside [0, 1] */
} panel;

static const series loss_series[] = {
    {"train_loss", "train loss", "#1f77b4", NULL, F_TRAIN_LOSS},
    {"val_loss", "validation loss", "#ff7f0e", "6 4", F_VAL_LOSS},
};
static const series metric_series[] = {
    {"val_accuracy", "validation accuracy", "#2ca02c", NULL, F_VAL_ACCURACY},
    {"val_f1", "validation macro F1", "#9467bd", "6 4", F_VAL_F1},
};

/* Heckbert's nice numbers: 1, 2 or 5 times a power of ten near x. */
static double nice_num(double x, int round)
{
    double e = floor(log10(x)), f = x / pow(10, e), nf;

    if (round)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10, e);
}

static void axis_fit(axis *a, double lo, double hi, int integer, int unit)
{
    double pad, data_lo = lo, data_hi = hi;

    lo = fmax(lo, -1e300); /* absurd values: keep hi - lo finite */
    hi = fmin(hi, 1e300);
    if (!(hi > lo)) {
        pad = integer ? 1 : fmax(fabs(lo) * 0.05, 0.01);
        lo -= pad;
        hi += pad;
    }
    a->step = nice_num(nice_num(hi - lo, 0) / 4, 1);
    if (integer && a->step < 1)
        a->step = 1;
    if (!(a->step > 0 && isfinite(a->step) && isfinite(lo / a->step) && isfinite(hi / a->step)))
        a->step = hi - lo; /* a range too small or too large for 1-2-5 steps */
    a->lo = floor(lo / a->step) * a->step;
    a->hi = ceil(hi / a->step) * a->step;
    /* Fractions stay inside [0, 1] unless the data itself is outside. */
    if (unit && data_lo >= 0 && a->lo < 0)
        a->lo = 0;
    if (unit && data_hi <= 1 && a->hi > 1)
        a->hi = 1;
    a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    if (a->decimals > 8)
        a->decimals = 8;
}

static double axis_map(const axis *a, double v, double from, double len)
{
    return from + (v - a->lo) / (a->hi - a->lo) * len;
}

static void svg_ticks(sbuf *b, const panel *p, const axis *xa, const axis *ya)
{
    double v, px;
    int k;

    for (k = 0; k <= 100 && (v = ya->lo + k * ya->step) <= ya->hi + ya->step * 1e-6; k++) {
        px = p->y + p->h - axis_map(ya, v, 0, p->h);
        if (fabs(v) < ya->step * 1e-6)
            v = 0;
        sb_printf(b,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n",
                  p->x, px, p->x + p->w, px, p->x - 6, px + 4, ya->decimals, v);
    }
    for (k = 0; k <= 100 && (v = xa->lo + k * xa->step) <= xa->hi + xa->step * 1e-6; k++) {
        px = axis_map(xa, v, p->x, p->w);
        sb_printf(b,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.15g</text>\n",
                  px, p->y + p->h, px, p->y + p->h + 5, px, p->y + p->h + 18, v);
    }
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n",
              p->x + p->w / 2, p->y + p->h + 34);
}

static void svg_series(sbuf *b, const card_run *r, const panel *p, const series *s, const axis *xa,
                       const axis *ya)
{
    size_t i, j, k;
    double v;

    sb_printf(b, "<g id=\"%s\" class=\"series\" stroke=\"%s\" fill=\"%s\">\n", s->id, s->color,
              s->color);
    for (i = 0; i < r->n_hist; i = j) {
        for (j = i; j < r->n_hist && isfinite(epoch_field(&r->hist[j], s->field)); j++)
            ;
        if (j == i) {
            j = i + 1; /* a gap */
            continue;
        }
        if (j - i >= 2) {
            sb_printf(b, "<polyline fill=\"none\" stroke-width=\"2\"%s%s%s points=\"",
                      s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
                      s->dash ? "\"" : "");
            for (k = i; k < j; k++) {
                v = epoch_field(&r->hist[k], s->field);
                sb_printf(b, "%s%.1f,%.1f", k > i ? " " : "",
                          axis_map(xa, r->hist[k].epoch, p->x, p->w),
                          p->y + p->h - axis_map(ya, v, 0, p->h));
            }
            sb_puts(b, "\"/>\n");
        }
        for (k = i; k < j && (r->n_hist <= CARD_SVG_MAX_MARKERS || j - i == 1); k++) {
            v = epoch_field(&r->hist[k], s->field);
            sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" stroke=\"none\"/>\n",
                      axis_map(xa, r->hist[k].epoch, p->x, p->w),
                      p->y + p->h - axis_map(ya, v, 0, p->h));
        }
    }
    sb_puts(b, "</g>\n");
}

static void svg_legend(sbuf *b, const panel *p)
{
    double x = p->x + p->w + 20, y;
    size_t i;

    sb_puts(b, "<g class=\"legend\">\n");
    for (i = 0; i < p->ns; i++) {
        y = p->y + 12 + 22 * (double)i;
        sb_printf(b,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                  "stroke-width=\"2\"%s%s%s/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                  x, y, x + 24, y, p->s[i].color, p->s[i].dash ? " stroke-dasharray=\"" : "",
                  p->s[i].dash ? p->s[i].dash : "", p->s[i].dash ? "\"" : "", x + 30, y + 4,
                  p->s[i].label);
    }
    sb_puts(b, "</g>\n");
}

static void svg_best(sbuf *b, const card_run *r, const panel *p, const axis *xa)
{
    double px;

    if (!isfinite(r->best_epoch) || r->best_epoch < xa->lo || r->best_epoch > xa->hi)
        return;
    px = axis_map(xa, r->best_epoch, p->x, p->w);
    sb_printf(b,
              "<g class=\"best-epoch\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "stroke=\"#999\" stroke-dasharray=\"2 3\"/><text x=\"%.1f\" y=\"%.1f\" "
              "text-anchor=\"middle\" fill=\"#666\">best</text></g>\n",
              px, p->y, px, p->y + p->h, px, p->y - 4);
}

static void svg_panel(sbuf *b, const card_run *r, const panel *p, const axis *xa)
{
    double lo = INFINITY, hi = -INFINITY, v;
    axis ya;
    size_t i, k;

    for (k = 0; k < p->ns; k++)
        for (i = 0; i < r->n_hist; i++)
            if (isfinite(v = epoch_field(&r->hist[i], p->s[k].field)))
                lo = fmin(lo, v), hi = fmax(hi, v);
    sb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">%s</text>\n"
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
              "stroke=\"#888\"/>\n",
              p->x, p->y - 10, p->title, p->x, p->y, p->w, p->h);
    svg_legend(b, p);
    if (!(lo <= hi)) {
        sb_printf(b,
                  "<text class=\"no-data\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                  "fill=\"#666\">%s</text>\n",
                  p->x + p->w / 2, p->y + p->h / 2,
                  r->n_hist ? "no values recorded" : "no per-epoch history");
        return;
    }
    axis_fit(&ya, lo, hi, 0, p->unit);
    svg_ticks(b, p, xa, &ya);
    svg_best(b, r, p, xa);
    for (k = 0; k < p->ns; k++)
        svg_series(b, r, p, &p->s[k], xa, &ya);
}

static void card_svg(sbuf *b, const card *c)
{
    const card_run *r = &c->run;
    const panel panels[2] = {
        {70, 70, 540, 210, "Loss", loss_series, 2, 0},
        {70, 370, 540, 210, "Validation metrics", metric_series, 2, 1},
    };
    double lo = INFINITY, hi = -INFINITY;
    axis xa;
    size_t i;

    for (i = 0; i < r->n_hist; i++)
        lo = fmin(lo, r->hist[i].epoch), hi = fmax(hi, r->hist[i].epoch);
    axis_fit(&xa, r->n_hist ? lo : 1, r->n_hist ? hi : 1, 1, 0);
    sb_printf(b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" "
              "role=\"img\">\n<title>Training curves: ",
              SVG_W, SVG_H, SVG_W, SVG_H);
    put_xml(b, c->info->repo_id, SIZE_MAX);
    sb_printf(b,
              "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
              "<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-size=\"16\">"
              "Training curves: ",
              SVG_W, SVG_H, SVG_W / 2);
    put_xml(b, c->name, SVG_TITLE_MAX);
    sb_puts(b, "</text>\n");
    for (i = 0; i < 2; i++)
        svg_panel(b, r, &panels[i], &xa);
    sb_puts(b, "</svg>\n");
}

/* ---- writing ------------------------------------------------------------------------------ */

static int write_out(const char *dir, const char *file, const sbuf *b)
{
    char path[CARD_PATH_MAX];
    int err;

    if ((err = join_path(path, dir, file)) < 0)
        return err;
    return tc_write_file_atomic(path, b->p, b->len);
}

int tcd_card_write(const tcd_card_info *info)
{
    sbuf svg = {NULL, 0, 0, 0}, md = {NULL, 0, 0, 0};
    card c;
    int err;

    TC_ASSERT_ARG(info && info->out_dir && info->repo_id);
    if (!*info->repo_id)
        return tc_error_set(TC_EINVAL, "the model card needs a repo id");
    memset(&c, 0, sizeof(c));
    if ((err = run_load(&c.run, info->out_dir)) < 0)
        goto out;
    card_resolve(&c, info);
    card_svg(&svg, &c);
    card_readme(&md, &c);
    if (svg.oom || md.oom) {
        err = tc_error_set(TC_ENOMEM, "out of memory building the model card");
        goto out;
    }
    /* The plot first, so that a README.md on disk never shows a missing image. */
    if ((err = write_out(info->out_dir, "training_curves.svg", &svg)) < 0)
        goto out;
    err = write_out(info->out_dir, "README.md", &md);
out:
    free(svg.p);
    free(md.p);
    run_dispose(&c.run);
    return err;
}

/* ---- reading a metric back ---------------------------------------------------------------- */

/* Whether [line, end) is `mark` followed only by blanks (and the line break). */
static int is_fence(const char *line, const char *end, const char *mark)
{
    size_t n = strlen(mark);

    if ((size_t)(end - line) < n || memcmp(line, mark, n))
        return 0;
    for (line += n; line < end; line++)
        if (*line != ' ' && *line != '\t' && *line != '\r' && *line != '\n')
            return 0;
    return 1;
}

/* The YAML between the opening '---' line and the closing '---' or '...' line. */
static int front_matter(const char *text, size_t len, const char *path, const char **out,
                        size_t *out_len)
{
    const char *p = text, *end = text + len, *body, *line, *nl, *next;

    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    nl = memchr(p, '\n', (size_t)(end - p));
    next = nl ? nl + 1 : end;
    if (!is_fence(p, next, "---"))
        return 0;
    body = next;
    for (line = body; line < end; line = next) {
        nl = memchr(line, '\n', (size_t)(end - line));
        next = nl ? nl + 1 : end;
        if (is_fence(line, next, "---") || is_fence(line, next, "...")) {
            *out = body;
            *out_len = (size_t)(line - body);
            return 1;
        }
    }
    return tc_error_set(TC_EFORMAT, "the front matter of '%s' has no closing '---' line", path);
}

typedef struct mi_walk {
    yaml_document_t *doc;
    const char *path, *type, *split;
    size_t visits;
} mi_walk;

static int mi_error(const mi_walk *w, const char *what)
{
    return tc_error_set(TC_EFORMAT, "model-index in '%s': %s", w->path, what);
}

static int mi_visit(mi_walk *w, size_t n)
{
    w->visits += n;
    if (w->visits > CARD_MAX_YAML_VISITS)
        return tc_error_set(TC_ERANGE, "model-index in '%s' has more than %d entries", w->path,
                            CARD_MAX_YAML_VISITS);
    return TC_OK;
}

static int scalar_is(const yaml_node_t *n, const char *s)
{
    size_t len = strlen(s);

    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           !memcmp(n->data.scalar.value, s, len);
}

/* The value under key in a mapping node, or NULL; *err set when the walk is too long. */
static yaml_node_t *map_get(mi_walk *w, yaml_node_t *map, const char *key, int *err)
{
    yaml_node_pair_t *p;

    if ((*err = mi_visit(
             w, (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start))) < 0)
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        if (k && scalar_is(k, key))
            return yaml_document_get_node(w->doc, p->value);
    }
    return NULL;
}

static int scalar_double(const yaml_node_t *n, double *out)
{
    const char *s = (const char *)n->data.scalar.value;
    char *end;
    double v;

    if (n->type != YAML_SCALAR_NODE || !n->data.scalar.length)
        return 0;
    v = strtod(s, &end);
    if (end == s || end != s + n->data.scalar.length || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int mi_metrics(mi_walk *w, yaml_node_t *list, double *out)
{
    yaml_node_item_t *it;
    yaml_node_t *m, *t, *v;
    int err = 0;

    for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
        if ((err = mi_visit(w, 1)) < 0)
            return err;
        if (!(m = yaml_document_get_node(w->doc, *it)) || m->type != YAML_MAPPING_NODE)
            return mi_error(w, "a metric is not a mapping");
        t = map_get(w, m, "type", &err);
        if (err < 0)
            return err;
        if (t && t->type != YAML_SCALAR_NODE)
            return mi_error(w, "a metric's type is not a string");
        if (!t || !scalar_is(t, w->type))
            continue;
        v = map_get(w, m, "value", &err);
        if (err < 0)
            return err;
        if (!v || !scalar_double(v, out))
            return tc_error_set(TC_EFORMAT,
                                "model-index in '%s': metric '%s' of split '%s' has no numeric "
                                "value",
                                w->path, w->type, w->split);
        return 1;
    }
    return 0;
}

static int mi_result(mi_walk *w, yaml_node_t *res, double *out)
{
    yaml_node_t *ds, *split = NULL, *metrics;
    int err = 0;

    if (!res || res->type != YAML_MAPPING_NODE)
        return mi_error(w, "a result is not a mapping");
    ds = map_get(w, res, "dataset", &err);
    if (!err && ds && ds->type != YAML_MAPPING_NODE)
        return mi_error(w, "a result's dataset is not a mapping");
    if (!err && ds)
        split = map_get(w, ds, "split", &err);
    if (!err && split && split->type != YAML_SCALAR_NODE)
        return mi_error(w, "a dataset's split is not a string");
    metrics = err ? NULL : map_get(w, res, "metrics", &err);
    if (err < 0)
        return err;
    if (metrics && metrics->type != YAML_SEQUENCE_NODE)
        return mi_error(w, "a result's metrics are not a list");
    if (!split || !scalar_is(split, w->split) || !metrics)
        return 0;
    return mi_metrics(w, metrics, out);
}

static int mi_find(mi_walk *w, double *out)
{
    yaml_node_t *root = yaml_document_get_root_node(w->doc), *mi, *entry, *results;
    yaml_node_item_t *it, *jt;
    int err = 0;

    if (!root)
        return 0; /* empty front matter */
    if (root->type != YAML_MAPPING_NODE)
        return tc_error_set(TC_EFORMAT, "the front matter of '%s' is not a mapping", w->path);
    if (!(mi = map_get(w, root, "model-index", &err)))
        return err;
    if (mi->type != YAML_SEQUENCE_NODE)
        return mi_error(w, "it is not a list");
    for (it = mi->data.sequence.items.start; it < mi->data.sequence.items.top; it++) {
        if ((err = mi_visit(w, 1)) < 0)
            return err;
        if (!(entry = yaml_document_get_node(w->doc, *it)) || entry->type != YAML_MAPPING_NODE)
            return mi_error(w, "an entry is not a mapping");
        if (!(results = map_get(w, entry, "results", &err))) {
            if (err < 0)
                return err;
            continue;
        }
        if (results->type != YAML_SEQUENCE_NODE)
            return mi_error(w, "an entry's results are not a list");
        for (jt = results->data.sequence.items.start; jt < results->data.sequence.items.top; jt++) {
            if ((err = mi_visit(w, 1)) < 0)
                return err;
            if ((err = mi_result(w, yaml_document_get_node(w->doc, *jt), out)) != 0)
                return err;
        }
    }
    return 0;
}

static int parse_front_matter(yaml_document_t *doc, const char *yaml, size_t len, const char *path)
{
    yaml_parser_t parser;
    int err = TC_OK;

    if (!yaml_parser_initialize(&parser))
        return tc_error_set(TC_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, doc)) {
        if (parser.error == YAML_MEMORY_ERROR)
            err = tc_error_set(TC_ENOMEM, "out of memory parsing '%s'", path);
        else
            err = tc_error_set(TC_EFORMAT, "%s:%zu: the front matter is not valid YAML: %s", path,
                               parser.problem_mark.line + 2,
                               parser.problem ? parser.problem : "invalid YAML");
    }
    yaml_parser_delete(&parser);
    return err;
}

int tcd_card_read_metric(const char *readme_path, const char *type, const char *split, double *out)
{
    yaml_document_t doc;
    mi_walk w;
    const char *yaml = NULL;
    char *text = NULL;
    size_t len, yaml_len = 0;
    double v = NAN;
    int err;

    TC_ASSERT_ARG(readme_path && type && split && out);
    if ((err = read_file(readme_path, TCD_CARD_MAX_BYTES, "model card", &text, &len)) < 0)
        return err;
    if ((err = front_matter(text, len, readme_path, &yaml, &yaml_len)) <= 0)
        goto out;
    if ((err = parse_front_matter(&doc, yaml, yaml_len, readme_path)) < 0)
        goto out;
    memset(&w, 0, sizeof(w));
    w.doc = &doc;
    w.path = readme_path;
    w.type = type;
    w.split = split;
    err = mi_find(&w, &v);
    yaml_document_delete(&doc);
    if (err == 1)
        *out = v;
out:
    free(text);
    return err;
}
