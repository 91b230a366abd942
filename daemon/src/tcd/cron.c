/*
 * cron.c - cron expressions (cron.h): parsing and the next slot in a time zone.
 *
 * The next slot is searched in wall-clock time (civil fields, day by day, then hours and
 * minutes), and each matching wall-clock minute is mapped to the instants that show it in the
 * zone (tz.c): none in a spring-forward gap (skipped), two in an autumn overlap (the first is
 * the slot). Searching stops after 28 years, a whole cycle of the Gregorian weekdays and leap
 * years that any satisfiable expression repeats within.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cron.h"

#define SEARCH_DAYS (366 * 28 + 1)

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i; NULL: none */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL},           {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},     {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, wday_names}, /* 7 = Sunday */
};

static const struct {
    const char *name, *expr;
} shortcuts[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

/* A token in a message: at most 32 bytes of it ("%.*s"). */
#define TOK(s, n) (int)((n) > 32 ? 32 : (n)), (s)

static int field_err(char *err, size_t errcap, const field_def *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int field_err(char *err, size_t errcap, const field_def *f, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errcap, "cron '%s' field: %s", f->name, msg);
    return -1;
}

/* A number or (when the field has names) a name at s[0..n). -1 when it is neither. */
static int value_of(const field_def *f, const char *s, size_t n, int *out)
{
    size_t i;
    int v = 0;

    if (n == 0)
        return -1;
    if (s[0] >= '0' && s[0] <= '9') {
        for (i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9' || v > 1000)
                return -1;
            v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return 0;
    }
    for (i = 0; f->names && f->names[i]; i++) {
        if (n == 3 && strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->lo + (int)i;
            return 0;
        }
    }
    return -1;
}

/* One item of a list (s[0..n), no comma): set its bits in *bits. */
static int parse_item(const field_def *f, const char *s, size_t n, uint64_t *bits, char *err,
                      size_t errcap)
{
    const char *slash = memchr(s, '/', n), *dash;
    size_t body = slash ? (size_t)(slash - s) : n;
    int a, b, step = 1, v;

    if (slash) {
        size_t sn = n - body - 1;
        if (value_of(&fields[0], slash + 1, sn, &step) < 0 || step < 1)
            return field_err(err, errcap, f, "step '%.*s' is not a positive number",
                             TOK(slash + 1, sn));
        if (step > f->hi - f->lo + 1)
            return field_err(err, errcap, f, "step %.*s is larger than the range %d-%d",
                             TOK(slash + 1, sn), f->lo, f->hi);
    }
    dash = memchr(s, '-', body);
    if (body == 1 && s[0] == '*') {
        a = f->lo;
        b = f->hi;
    } else if (dash) {
        size_t an = (size_t)(dash - s), bn = body - an - 1;
        if (value_of(f, s, an, &a) < 0)
            return field_err(err, errcap, f, "'%.*s' is not a number or name", TOK(s, an));
        if (value_of(f, dash + 1, bn, &b) < 0)
            return field_err(err, errcap, f, "'%.*s' is not a number or name", TOK(dash + 1, bn));
        if (a < f->lo || a > f->hi)
            return field_err(err, errcap, f, "%.*s is out of range %d-%d", TOK(s, an), f->lo,
                             f->hi);
        if (b < f->lo || b > f->hi)
            return field_err(err, errcap, f, "%.*s is out of range %d-%d", TOK(dash + 1, bn), f->lo,
                             f->hi);
        if (a > b)
            return field_err(err, errcap, f, "range '%.*s' goes backwards", TOK(s, body));
    } else {
        if (value_of(f, s, body, &a) < 0)
            return field_err(err, errcap, f, "'%.*s' is not a number or name", TOK(s, body));
        if (a < f->lo || a > f->hi)
            return field_err(err, errcap, f, "%.*s is out of range %d-%d", TOK(s, body), f->lo,
                             f->hi);
        b = slash ? f->hi : a;
    }
    for (v = a; v <= b; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(const field_def *f, const char *s, size_t n, uint64_t *out, char *err,
                       size_t errcap)
{
    uint64_t bits = 0;
    size_t i = 0;

    if (n == 0)
        return field_err(err, errcap, f, "is empty");
    while (i <= n) {
        const char *comma = memchr(s + i, ',', n - i);
        size_t len = comma ? (size_t)(comma - (s + i)) : n - i;
        if (len == 0)
            return field_err(err, errcap, f, "empty list item in '%.*s'", TOK(s, n));
        if (parse_item(f, s + i, len, &bits, err, errcap) < 0)
            return -1;
        i += len + 1;
    }
    *out = bits;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int tcd_cron_parse(tcd_cron *out, const char *expr, char *err, size_t errcap)
{
    const char *p, *tok[6];
    size_t len[6], i, nf = 0, n;
    uint64_t bits[5];
    tcd_cron c;

    if (!expr || (n = strnlen(expr, TCD_CRON_MAX_LEN + 1)) > TCD_CRON_MAX_LEN) {
        snprintf(err, errcap, "cron expression is longer than %d bytes", TCD_CRON_MAX_LEN);
        return -1;
    }
    while (is_blank(*expr))
        expr++;
    if (*expr == '@') {
        size_t k = strcspn(expr, " \t");
        for (p = expr + k; is_blank(*p); p++)
            ;
        for (i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++)
            if (!*p && strlen(shortcuts[i].name) == k && !strncasecmp(expr, shortcuts[i].name, k))
                return tcd_cron_parse(out, shortcuts[i].expr, err, errcap);
        snprintf(err, errcap,
                 "cron expression '%.32s' is not a known shortcut (@hourly, @daily, @weekly, "
                 "@monthly, @yearly)",
                 expr);
        return -1;
    }
    for (p = expr; *p;) {
        if (is_blank(*p)) {
            p++;
            continue;
        }
        if (nf == 6)
            break;
        tok[nf] = p;
        while (*p && !is_blank(*p))
            p++;
        len[nf] = (size_t)(p - tok[nf]);
        nf++;
    }
    for (i = 0; i < nf; i++) {
        for (p = tok[i]; p < tok[i] + len[i]; p++) {
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
                snprintf(err, errcap, "cron '%s' field: unexpected character 0x%02x",
                         i < 5 ? fields[i].name : "expression", (unsigned)(unsigned char)*p);
                return -1;
            }
        }
    }
    if (nf != 5) {
        snprintf(err, errcap,
                 "cron expression must have 5 fields (minute hour day-of-month month "
                 "day-of-week), not %s%zu",
                 nf > 5 ? "more than " : "", nf > 5 ? (size_t)5 : nf);
        return -1;
    }
    for (i = 0; i < 5; i++)
        if (parse_field(&fields[i], tok[i], len[i], &bits[i], err, errcap) < 0)
            return -1;
    memset(&c, 0, sizeof(c));
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.mdays = (uint32_t)bits[2];
    c.months = (uint32_t)bits[3];
    c.wdays = (uint32_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
    c.dom_star = tok[2][0] == '*';
    c.dow_star = tok[4][0] == '*';
    *out = c;
    return 0;
}

static int day_match(const tcd_cron *c, int month, int mday, int wday)
{
    int dom = (c->mdays >> mday) & 1, dow = (c->wdays >> wday) & 1, day;

    day = (c->dom_star || c->dow_star) ? (dom && dow) : (dom || dow);
    return day && ((c->months >> month) & 1);
}

int tcd_cron_match(const tcd_cron *c, int month, int mday, int wday, int hour, int minute)
{
    return day_match(c, month, mday, wday) && ((c->hours >> hour) & 1) &&
           ((c->minutes >> minute) & 1);
}

/* ---- civil time ---------------------------------------------------------------------------- */

/* H. Hinnant's days_from_civil / civil_from_days. */
int64_t tcd_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tcd_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* The first matching wall-clock minute >= start (wall-clock seconds), or -1 within the bound. */
static int next_local(const tcd_cron *c, int64_t start, int64_t *out)
{
    int64_t days = floor_div(start, 86400), y;
    int secs = (int)(start - days * 86400), h = secs / 3600, m = (secs % 3600 + 59) / 60, mo, d;
    long iter;

    if (m == 60) { /* start is not a whole minute: round up */
        m = 0;
        h++;
    }
    for (iter = 0; iter < SEARCH_DAYS; iter++, days++, h = 0, m = 0) {
        int wd = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        tcd_civil_from_days(days, &y, &mo, &d);
        if (!day_match(c, mo, d, wd))
            continue;
        for (; h < 24; h++, m = 0) {
            if (!((c->hours >> h) & 1))
                continue;
            for (; m < 60; m++) {
                if ((c->minutes >> m) & 1) {
                    *out = days * 86400 + h * 3600 + m * 60;
                    return 0;
                }
            }
        }
    }
    return -1;
}

/* The first instant that shows wall-clock time local in tz, or -1 when none does (a gap). */
static int first_instant(const tcd_tz *tz, int64_t local, int64_t *out)
{
    static const int64_t probes[] = {-93600, -46800, 0, 46800, 93600};
    int64_t best = 0;
    size_t i;
    int found = 0;

    if (!tz) {
        *out = local;
        return 0;
    }
    for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        int32_t off = tcd_tz_offset(tz, local + probes[i]);
        int64_t u = local - off;
        if (tcd_tz_offset(tz, u) == off && (!found || u < best)) {
            best = u;
            found = 1;
        }
    }
    if (found)
        *out = best;
    return found ? 0 : -1;
}

int tcd_cron_next(const tcd_cron *c, const tcd_tz *tz, int64_t after, int64_t *out)
{
    int64_t local = after + (tz ? tcd_tz_offset(tz, after) : 0), cand, u;
    int64_t start = floor_div(local, 60) * 60 + 60, limit = local + (int64_t)SEARCH_DAYS * 86400;

    while (start < limit) {
        if (next_local(c, start, &cand) < 0)
            return -1;
        if (first_instant(tz, cand, &u) == 0 && u > after) {
            *out = u;
            return 0;
        }
        start = cand + 60; /* in a gap, or the repeated hour's second pass */
    }
    return -1;
}
