/*
 * tz.c - IANA time zones for cron.c: TZif files (RFC 8536, versions 1 to 4) and the POSIX TZ
 * rule of their footer, read without the TZ environment variable.
 *
 * A zone is its transitions (instant -> local time type), its types (UT offset, DST flag) and
 * an optional rule. Before the first transition the first type applies (RFC 8536 3.2); after
 * the last one the rule does when there is one (slim TZif files keep only a few transitions and
 * rely on it), else the last transition's type. Leap-second ("right/") zones are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron.h"

#define MAX_TRANSITIONS 20000
#define MAX_TYPES 256

/* One end of daylight saving time in a POSIX rule. */
typedef struct tz_when {
    char kind; /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int day, week, month;
    int32_t time; /* seconds after local midnight, -167h..167h */
} tz_when;

typedef struct tz_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    tz_when start, end;
} tz_rule;

struct tcd_tz {
    size_t n_trans, n_types;
    int64_t *trans; /* n_trans, ascending */
    uint8_t *idx;   /* n_trans: type of each transition */
    int32_t *utoff; /* n_types */
    int has_rule;
    tz_rule rule;
};

void tcd_tz_free(tcd_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->utoff);
    free(tz);
}

/* ---- POSIX TZ rules ------------------------------------------------------------------------ */

static int parse_num(const char **s, int max, int *out)
{
    int v = 0, n = 0;

    while (**s >= '0' && **s <= '9' && n < 4) {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    if (n == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]], hh at most max_h. */
static int parse_hms(const char **s, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, sec = 0;

    if (**s == '+' || **s == '-')
        sign = *(*s)++ == '-' ? -1 : 1;
    if (parse_num(s, max_h, &h) < 0)
        return -1;
    if (**s == ':') {
        (*s)++;
        if (parse_num(s, 59, &m) < 0)
            return -1;
        if (**s == ':') {
            (*s)++;
            if (parse_num(s, 59, &sec) < 0)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return 0;
}

/* A zone abbreviation: <...> or at least three letters. */
static int parse_abbr(const char **s)
{
    const char *p = *s;

    if (*p == '<') {
        while (*++p && *p != '>')
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
                return -1;
        if (*p != '>' || p - *s < 4)
            return -1;
        *s = p + 1;
        return 0;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return -1;
    *s = p;
    return 0;
}

static int parse_when(const char **s, tz_when *w)
{
    w->time = 7200;
    if (**s == 'J') {
        (*s)++;
        w->kind = 'J';
        if (parse_num(s, 365, &w->day) < 0 || w->day < 1)
            return -1;
    } else if (**s == 'M') {
        (*s)++;
        w->kind = 'M';
        if (parse_num(s, 12, &w->month) < 0 || w->month < 1 || *(*s)++ != '.' ||
            parse_num(s, 5, &w->week) < 0 || w->week < 1 || *(*s)++ != '.' ||
            parse_num(s, 6, &w->day) < 0)
            return -1;
    } else {
        w->kind = 'N';
        if (parse_num(s, 365, &w->day) < 0)
            return -1;
    }
    if (**s == '/') {
        (*s)++;
        if (parse_hms(s, 167, &w->time) < 0)
            return -1;
    }
    return 0;
}

static int rule_parse(tz_rule *r, const char *s)
{
    int32_t off;

    memset(r, 0, sizeof(*r));
    if (parse_abbr(&s) < 0 || parse_hms(&s, 24, &off) < 0)
        return -1;
    r->std_off = -off; /* POSIX offsets are west of UTC */
    if (!*s)
        return 0;
    if (parse_abbr(&s) < 0)
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (parse_hms(&s, 24, &off) < 0)
            return -1;
        r->dst_off = -off;
    }
    if (!*s) { /* the POSIX default: US rules */
        r->start = (tz_when){'M', 0, 2, 3, 7200};
        r->end = (tz_when){'M', 0, 1, 11, 7200};
        return 0;
    }
    if (*s++ != ',' || parse_when(&s, &r->start) < 0 || *s++ != ',' ||
        parse_when(&s, &r->end) < 0 || *s)
        return -1;
    return 0;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Wall-clock seconds (since the epoch, as if UTC) at which w happens in year y. */
static int64_t when_local(const tz_when *w, int64_t y)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t jan1 = tcd_days_from_civil(y, 1, 1), day;

    if (w->kind == 'J') {
        day = jan1 + w->day - 1 + (is_leap(y) && w->day >= 60);
    } else if (w->kind == 'N') {
        day = jan1 + w->day;
    } else {
        int64_t first = tcd_days_from_civil(y, w->month, 1);
        int wd = (int)(((first % 7) + 11) % 7), len = mdays[w->month - 1];
        int md = 1 + (w->day - wd + 7) % 7 + (w->week - 1) * 7;
        if (w->month == 2 && is_leap(y))
            len++;
        while (md > len)
            md -= 7;
        day = first + md - 1;
    }
    return day * 86400 + w->time;
}

static int32_t rule_offset(const tz_rule *r, int64_t t)
{
    int64_t days = (t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0), y, start, end;
    int m, d;

    if (!r->has_dst)
        return r->std_off;
    tcd_civil_from_days(days, &y, &m, &d);
    start = when_local(&r->start, y) - r->std_off;
    end = when_local(&r->end, y) - r->dst_off;
    if (start < end)
        return t >= start && t < end ? r->dst_off : r->std_off;
    return t >= end && t < start ? r->std_off : r->dst_off;
}

int tcd_tz_parse_rule(tcd_tz **out, const char *rule, char *err, size_t errcap)
{
    tcd_tz *tz = calloc(1, sizeof(*tz));

    if (!tz) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (rule_parse(&tz->rule, rule) < 0) {
        snprintf(err, errcap, "invalid TZ rule '%.64s'", rule);
        tcd_tz_free(tz);
        return -1;
    }
    tz->has_rule = 1;
    *out = tz;
    return 0;
}

/* ---- TZif ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_hdr {
    uint32_t isut, isstd, leap, time, type, chr;
} tzif_hdr;

/* Header at data[*pos]; *pos moves past it. */
static int read_hdr(const unsigned char *data, size_t n, size_t *pos, tzif_hdr *h, int *version)
{
    const unsigned char *p = data + *pos;

    if (n - *pos < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    *version = p[4] == 0 ? 1 : p[4] - '0';
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chr = be32(p + 40);
    *pos += 44;
    if (h->time > MAX_TRANSITIONS || h->type == 0 || h->type > MAX_TYPES || h->chr > 65536 ||
        h->leap > 65536 || (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
        return -1;
    return 0;
}

static size_t block_size(const tzif_hdr *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chr + h->leap * (tsize + 4) + h->isstd +
           h->isut;
}

static int read_block(tcd_tz *tz, const unsigned char *p, const tzif_hdr *h, size_t tsize)
{
    size_t i;

    tz->n_trans = h->time;
    tz->n_types = h->type;
    tz->trans = calloc(h->time + 1, sizeof(int64_t));
    tz->idx = calloc(h->time + 1, 1);
    tz->utoff = calloc(h->type, sizeof(int32_t));
    if (!tz->trans || !tz->idx || !tz->utoff)
        return -2;
    for (i = 0; i < h->time; i++) {
        tz->trans[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return -1;
    }
    p += h->time * tsize;
    for (i = 0; i < h->time; i++)
        if ((tz->idx[i] = p[i]) >= h->type)
            return -1;
    p += h->time;
    for (i = 0; i < h->type; i++) {
        int32_t off = (int32_t)be32(p + i * 6);
        if (off < -89999 || off > 93599 || p[i * 6 + 4] > 1)
            return -1;
        tz->utoff[i] = off;
    }
    return 0;
}

int tcd_tz_parse(tcd_tz **out, const unsigned char *data, size_t n, char *err, size_t errcap)
{
    tcd_tz *tz = calloc(1, sizeof(*tz));
    size_t pos = 0, tsize = 4;
    tzif_hdr h;
    int version, r;

    if (!tz) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (read_hdr(data, n, &pos, &h, &version) < 0)
        goto bad;
    if (version >= 2) {
        size_t skip = block_size(&h, 4);
        if (n - pos < skip)
            goto bad;
        pos += skip;
        if (read_hdr(data, n, &pos, &h, &version) < 0)
            goto bad;
        tsize = 8;
    }
    if (h.leap) {
        snprintf(err, errcap, "time zones with leap seconds are not supported");
        goto out;
    }
    if (n - pos < block_size(&h, tsize))
        goto bad;
    if ((r = read_block(tz, data + pos, &h, tsize)) == -2) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (r < 0)
        goto bad;
    pos += block_size(&h, tsize);
    if (tsize == 8 && pos < n && data[pos] == '\n') {
        const unsigned char *nl = memchr(data + pos + 1, '\n', n - pos - 1);
        char footer[256];
        size_t len = nl ? (size_t)(nl - (data + pos + 1)) : 0;
        if (!nl || len >= sizeof(footer) || memchr(data + pos + 1, 0, len))
            goto bad;
        memcpy(footer, data + pos + 1, len);
        footer[len] = '\0';
        if (len > 0) {
            if (rule_parse(&tz->rule, footer) < 0)
                goto bad;
            tz->has_rule = 1;
        }
    }
    *out = tz;
    return 0;
bad:
    snprintf(err, errcap, "not a valid TZif file");
out:
    tcd_tz_free(tz);
    return -1;
}

int32_t tcd_tz_offset(const tcd_tz *tz, int64_t t)
{
    size_t lo = 0, hi;

    if (!tz)
        return 0;
    if (tz->n_trans == 0 || t >= tz->trans[tz->n_trans - 1]) {
        if (tz->has_rule)
            return rule_offset(&tz->rule, t);
        if (tz->n_trans == 0)
            return tz->n_types ? tz->utoff[0] : 0;
        return tz->utoff[tz->idx[tz->n_trans - 1]];
    }
    if (t < tz->trans[0])
        return tz->utoff[0];
    hi = tz->n_trans - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->utoff[tz->idx[lo]];
}

/* ---- loading ------------------------------------------------------------------------------- */

static int name_valid(const char *name)
{
    const char *seg = name, *p;
    size_t n = strnlen(name, TCD_TZ_MAX_NAME + 1);

    if (n == 0 || n > TCD_TZ_MAX_NAME)
        return 0;
    for (p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg || (p - seg == 1 && seg[0] == '.') ||
                (p - seg == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (!*p)
                return 1;
            seg = p + 1;
        } else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '-' ||
                     *p == '.')) {
            return 0;
        }
    }
}

static int read_zone_file(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    unsigned char *buf = NULL;
    struct stat st;
    size_t got = 0;

    if (fd < 0 && errno == ELOOP) /* zoneinfo has symbolic links (e.g. /etc/localtime's) */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TCD_TZ_MAX_FILE ||
        !(buf = malloc((size_t)st.st_size + 1)))
        goto bad;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto bad;
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
bad:
    free(buf);
    close(fd);
    return -1;
}

int tcd_tz_load(tcd_tz **out, const char *name, char *err, size_t errcap)
{
    const char *dir = getenv("TZDIR");
    unsigned char *data = NULL;
    char path[512];
    size_t len = 0;
    int r;

    if (!name || !name_valid(name)) {
        snprintf(err, errcap, "time zone '%.64s' is not a valid name (such as Europe/Berlin)",
                 name ? name : "");
        return -1;
    }
    if (!dir || dir[0] != '/' || strlen(dir) > 256)
        dir = "/usr/share/zoneinfo";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (read_zone_file(path, &data, &len) < 0) {
        if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))
            return tcd_tz_parse_rule(out, "UTC0", err, errcap);
        snprintf(err, errcap, "unknown time zone '%s' (not in %s)", name, dir);
        return -1;
    }
    r = tcd_tz_parse(out, data, len, err, errcap);
    if (r < 0) {
        char why[128];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errcap, "time zone '%s': %s", name, why);
    }
    free(data);
    return r;
}
