/*
 * fuzz_cron.c - libFuzzer target: tcd's cron expressions and time zones
 * (daemon/src/tcd/cron.c, tz.c). The first line of the input is a cron expression; the rest is
 * a POSIX TZ rule when it is one line, and is also tried as a TZif file. A parsed expression's
 * next slots are computed in UTC and in the zone from instants the input picks, and each slot
 * must be after its instant and match the expression in wall-clock time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_next(const tcd_cron *c, const tcd_tz *tz, int64_t after)
{
    int64_t t, local, y;
    int32_t off;
    int m, d, wd, secs;

    if (tcd_cron_next(c, tz, after, &t) < 0)
        return;
    if (t <= after)
        abort();
    off = tcd_tz_offset(tz, t);
    local = t + off;
    tcd_civil_from_days(local / 86400 - (local % 86400 < 0), &y, &m, &d);
    secs = (int)(local - (local / 86400 - (local % 86400 < 0)) * 86400);
    wd = (int)((((local / 86400 - (local % 86400 < 0)) % 7) + 11) % 7);
    if (secs % 60 != 0 || !tcd_cron_match(c, m, d, wd, secs / 3600, secs % 3600 / 60))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expr[TCD_CRON_MAX_LEN + 8], rule[300], err[256];
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    size_t n = nl ? (size_t)(nl - data) : size, rest = nl ? size - n - 1 : 0;
    tcd_tz *tz = NULL, *file = NULL;
    tcd_cron c;
    int64_t after = 1767225600; /* 2026-01-01 */
    size_t i;

    if (size == 0)
        return 0;
    if (n >= sizeof(expr))
        n = sizeof(expr) - 1;
    memcpy(expr, data, n);
    expr[n] = '\0';
    if (nl && rest < sizeof(rule) && !memchr(nl + 1, 0, rest)) {
        memcpy(rule, nl + 1, rest);
        rule[rest] = '\0';
        (void)tcd_tz_parse_rule(&tz, rule, err, sizeof(err));
    }
    if (nl && tcd_tz_parse(&file, nl + 1, rest, err, sizeof(err)) == 0)
        (void)tcd_tz_offset(file, after);
    for (i = 0; i < size && i < 8; i++)
        after += (int64_t)data[i] * 86400 * 31 * (int64_t)(i + 1);
    if (tcd_cron_parse(&c, expr, err, sizeof(err)) == 0) {
        check_next(&c, NULL, after);
        check_next(&c, tz, after);
        check_next(&c, file, after - 86400 * 365 * 30);
    }
    tcd_tz_free(tz);
    tcd_tz_free(file);
    return 0;
}
