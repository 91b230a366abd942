/*
 * render.c - text for humans: durations in and out, times, numbers, JSON
 * field access and padded tables.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcctl.h"

double tcctl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double tcctl_parse_duration(const char *s)
{
    char *end = NULL;
    double v, mult = 1;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    if (*end) {
        switch (*end) {
        case 's': mult = 1; break;
        case 'm': mult = 60; break;
        case 'h': mult = 3600; break;
        case 'd': mult = 86400; break;
        default: return -1;
        }
        if (end[1])
            return -1;
    }
    v *= mult;
    return v > 1e9 ? -1 : v;
}

void tcctl_fmt_duration(char *buf, size_t cap, double secs)
{
    long long s;

    if (!(secs >= 0)) {
        snprintf(buf, cap, "-");
        return;
    }
    if (secs < 10) {
        snprintf(buf, cap, "%.1fs", secs);
        return;
    }
    s = (long long)(secs + 0.5);
    if (s < 60)
        snprintf(buf, cap, "%llds", s);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm %llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh %lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%lldd %lldh", s / 86400, s % 86400 / 3600);
}

void tcctl_fmt_ago(char *buf, size_t cap, double t, double now)
{
    double d = now - t;
    long long n;

    if (!isfinite(t)) {
        snprintf(buf, cap, "-");
        return;
    }
    if (d < 0 && d > -5)
        d = 0;
    if (d < 0) {
        snprintf(buf, cap, "in the future");
        return;
    }
    n = (long long)d;
    if (n < 5)
        snprintf(buf, cap, "just now");
    else if (n < 60)
        snprintf(buf, cap, "%llds ago", n);
    else if (n < 3600)
        snprintf(buf, cap, "%lldm ago", n / 60);
    else if (n < 86400)
        snprintf(buf, cap, "%lldh ago", n / 3600);
    else
        snprintf(buf, cap, "%lldd ago", n / 86400);
}

/* Local time of t; 0 on success. */
static int local_tm(double t, struct tm *out)
{
    time_t tt;

    if (!isfinite(t))
        return -1;
    tt = (time_t)t;
    return localtime_r(&tt, out) ? 0 : -1;
}

void tcctl_fmt_time(char *buf, size_t cap, double t)
{
    struct tm tm;

    if (local_tm(t, &tm) < 0 || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, cap, "-");
}

void tcctl_fmt_clock(char *buf, size_t cap, double t)
{
    struct tm tm;

    if (local_tm(t, &tm) < 0 || !strftime(buf, cap, "%H:%M:%S", &tm))
        snprintf(buf, cap, "-");
}

void tcctl_fmt_bytes(char *buf, size_t cap, double b)
{
    if (!isfinite(b))
        snprintf(buf, cap, "?");
    else if (b >= 1e9)
        snprintf(buf, cap, "%.2f GB", b / 1e9);
    else if (b >= 1e6)
        snprintf(buf, cap, "%.1f MB", b / 1e6);
    else if (b >= 1e3)
        snprintf(buf, cap, "%.1f kB", b / 1e3);
    else
        snprintf(buf, cap, "%.0f B", b);
}

void tcctl_fmt_number(char *buf, size_t cap, double v)
{
    if (!isfinite(v))
        snprintf(buf, cap, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, cap, "%.0f", v);
    else if (fabs(v) >= 1e-3 && fabs(v) < 1e6)
        snprintf(buf, cap, "%.4f", v);
    else
        snprintf(buf, cap, "%.4g", v);
}

void tcctl_fmt_value(char *buf, size_t cap, const cJSON *v)
{
    const cJSON *e;
    size_t n = 0;
    int i = 0;

    if (cJSON_IsNumber(v)) {
        tcctl_fmt_number(buf, cap, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsString(v)) {
        snprintf(buf, cap, "%s", v->valuestring);
    } else if (cJSON_IsArray(v)) {
        buf[0] = '\0';
        cJSON_ArrayForEach(e, v)
        {
            char item[48];
            int w;

            if (i == 8) {
                snprintf(buf + n, cap - n, ", ... (%d)", cJSON_GetArraySize(v));
                break;
            }
            tcctl_fmt_value(item, sizeof(item), e);
            w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", item);
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
            i++;
        }
    } else {
        snprintf(buf, cap, "-");
    }
}

void tcctl_fmt_metrics(FILE *f, const cJSON *metrics)
{
    const cJSON *m;
    int any_test = 0;

    cJSON_ArrayForEach(m, metrics)
    {
        any_test |= m->string && !strncmp(m->string, "test_", 5) && cJSON_IsNumber(m);
    }
    cJSON_ArrayForEach(m, metrics)
    {
        char num[48];

        if (!m->string || !cJSON_IsNumber(m) || (any_test && strncmp(m->string, "test_", 5)))
            continue;
        tcctl_fmt_number(num, sizeof(num), m->valuedouble);
        fprintf(f, " %s=%s", m->string, num);
    }
}

const char *tcctl_json_str(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double tcctl_json_num(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int tcctl_state_exit(const char *state)
{
    if (!state)
        return -1;
    if (!strcmp(state, "succeeded"))
        return TCCTL_EXIT_OK;
    if (!strcmp(state, "failed") || !strcmp(state, "interrupted"))
        return TCCTL_EXIT_FAILED;
    if (!strcmp(state, "cancelled"))
        return TCCTL_EXIT_CANCELLED;
    if (!strcmp(state, "timed_out") || !strcmp(state, "missed"))
        return TCCTL_EXIT_TIMEOUT;
    return -1;
}

/* ---- tables ------------------------------------------------------------------------------- */

void tcctl_table_init(tcctl_table *t, size_t ncols)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
}

int tcctl_table_add(tcctl_table *t, const char *const *row)
{
    size_t i;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));

        if (!p)
            return -1;
        t->cells = p;
        t->cap = cap;
    }
    for (i = 0; i < t->ncols; i++) {
        const char *s = row[i] && *row[i] ? row[i] : "-";
        char *copy = strdup(s);
        size_t j;

        if (!copy) {
            for (j = 0; j < i; j++)
                free(t->cells[t->nrows * t->ncols + j]);
            return -1;
        }
        /* one line per cell */
        for (j = 0; copy[j]; j++)
            if (copy[j] == '\n' || copy[j] == '\r' || copy[j] == '\t')
                copy[j] = ' ';
        t->cells[t->nrows * t->ncols + i] = copy;
    }
    t->nrows++;
    return 0;
}

void tcctl_table_print(const tcctl_table *t, FILE *f)
{
    size_t widths[16] = {0}, r, i;

    if (t->ncols > 16)
        return;
    for (r = 0; r < t->nrows; r++)
        for (i = 0; i < t->ncols; i++) {
            size_t w = strlen(t->cells[r * t->ncols + i]);
            if (w > widths[i])
                widths[i] = w;
        }
    for (r = 0; r < t->nrows; r++) {
        for (i = 0; i < t->ncols; i++) {
            const char *cell = t->cells[r * t->ncols + i];
            if (i + 1 == t->ncols)
                fprintf(f, "%s\n", cell);
            else
                fprintf(f, "%-*s  ", (int)widths[i], cell);
        }
    }
}

void tcctl_table_dispose(tcctl_table *t)
{
    size_t i;

    for (i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
