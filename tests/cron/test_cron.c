/*
 * test_cron.c - tcd's cron expressions and time zones (daemon/src/tcd/cron.c, tz.c): fields,
 * lists, ranges, steps, names, the Vixie day rule, shortcuts, every malformed shape with its
 * message, next slots in UTC and across DST in both directions, POSIX TZ rules checked against
 * the system's TZif files.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tc/error.h>

#include "cron.h"
#include "tc_test.h"

/* Unix seconds of a UTC civil time. */
static int64_t utc(int64_t y, int mo, int d, int h, int mi)
{
    return tcd_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static uint64_t bits_of(const int *v, size_t n)
{
    uint64_t b = 0;
    size_t i;

    for (i = 0; i < n; i++)
        b |= (uint64_t)1 << v[i];
    return b;
}

static void test_cron_cron__fields(void)
{
    static const int q[] = {0, 15, 30, 45}, s[] = {1, 6, 11, 16, 21, 26};
    tcd_cron c;
    char err[256] = "";

    TC_CHECK(tcd_cron_parse(&c, "*/15 * * * *", err, sizeof(err)) == 0);
    TC_CHECK(c.minutes == bits_of(q, 4));
    TC_CHECK(c.hours == 0xffffff && c.mdays == 0xfffffffe && c.months == 0x1ffe);
    TC_CHECK(c.wdays == 0x7f && c.dom_star && c.dow_star);
    TC_CHECK(tcd_cron_parse(&c, "1-30/5 2,4,6-8 1,15 * *", err, sizeof(err)) == 0);
    TC_CHECK(c.minutes == bits_of(s, 6));
    TC_CHECK(c.hours == ((1u << 2) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 8)));
    TC_CHECK(c.mdays == ((1u << 1) | (1u << 15)) && !c.dom_star);
    TC_CHECK(tcd_cron_parse(&c, "0 9 * JAN-Mar mon-FRI", err, sizeof(err)) == 0);
    TC_CHECK(c.months == 0xe && c.wdays == 0x3e && !c.dow_star);
    TC_CHECK(tcd_cron_parse(&c, "0 0 * * 7", err, sizeof(err)) == 0);
    TC_CHECK(c.wdays == 1);
    TC_CHECK(tcd_cron_parse(&c, "0 0 * * 5-7", err, sizeof(err)) == 0);
    TC_CHECK(c.wdays == (1u | (1u << 5) | (1u << 6)));
    TC_CHECK(tcd_cron_parse(&c, "0 0 * * sun,sat", err, sizeof(err)) == 0);
    TC_CHECK(c.wdays == (1u | (1u << 6)));
    TC_CHECK(tcd_cron_parse(&c, "50/5 * * * *", err, sizeof(err)) == 0);
    TC_CHECK(c.minutes == (((uint64_t)1 << 50) | ((uint64_t)1 << 55)));
    TC_CHECK(tcd_cron_parse(&c, "  \t0\t0  1 1 *  ", err, sizeof(err)) == 0);
    TC_CHECK(c.minutes == 1 && c.hours == 1 && c.mdays == 2 && c.months == 2);
}

static void test_cron_cron__shortcuts(void)
{
    static const struct {
        const char *a, *b;
    } eq[] = {{"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
              {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
              {"@ANNUALLY", "0 0 1 1 *"}};
    tcd_cron a, b;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(eq) / sizeof(eq[0]); i++) {
        TC_CHECK(tcd_cron_parse(&a, eq[i].a, err, sizeof(err)) == 0);
        TC_CHECK(tcd_cron_parse(&b, eq[i].b, err, sizeof(err)) == 0);
        TC_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    }
}

static void test_cron_cron__malformed(void)
{
    static const struct {
        const char *expr, *msg;
    } bad[] = {
        {"61 * * * *", "cron 'minute' field: 61 is out of range 0-59"},
        {"* 24 * * *", "cron 'hour' field: 24 is out of range 0-23"},
        {"* * 0 * *", "cron 'day-of-month' field: 0 is out of range 1-31"},
        {"* * 32 * *", "cron 'day-of-month' field: 32 is out of range 1-31"},
        {"* * * 13 *", "cron 'month' field: 13 is out of range 1-12"},
        {"* * * * 8", "cron 'day-of-week' field: 8 is out of range 0-7"},
        {"*/0 * * * *", "cron 'minute' field: step '0' is not a positive number"},
        {"*/61 * * * *", "cron 'minute' field: step 61 is larger than the range 0-59"},
        {"5-2 * * * *", "cron 'minute' field: range '5-2' goes backwards"},
        {"fri-mon * * * *", "cron 'minute' field: 'fri' is not a number or name"},
        {"* * * * fri-mon", "cron 'day-of-week' field: range 'fri-mon' goes backwards"},
        {"a * * * *", "cron 'minute' field: 'a' is not a number or name"},
        {"1,,2 * * * *", "cron 'minute' field: empty list item in '1,,2'"},
        {"1, * * * *", "cron 'minute' field: empty list item in '1,'"},
        {"-1 * * * *", "cron 'minute' field: '' is not a number or name"},
        {"1- * * * *", "cron 'minute' field: '' is not a number or name"},
        {"1/ * * * *", "cron 'minute' field: step '' is not a positive number"},
        {"* * * foo *", "cron 'month' field: 'foo' is not a number or name"},
        {"* * * * monday", "cron 'day-of-week' field: 'monday' is not a number or name"},
        {"* * * jan *x", "cron 'day-of-week' field: '*x' is not a number or name"},
        {"* * * *", "cron expression must have 5 fields (minute hour day-of-month month "
                    "day-of-week), not 4"},
        {"* * * * * *", "not more than 5"},
        {"", "not 0"},
        {"99999999999999999999 * * * *",
         "cron 'minute' field: '99999999999999999999' is not a number or name"},
        {"1234567890123456789012345678901234567890 * * * *", "'12345678901234567890123456789012' "},
        {"@reboot", "cron expression '@reboot' is not a known shortcut"},
        {"@daily 5", "is not a known shortcut"},
        {"* * * * \x01", "cron 'day-of-week' field: unexpected character 0x01"},
        {"* * * * 1\xc3\xa9", "unexpected character 0xc3"},
    };
    char err[256], big[TCD_CRON_MAX_LEN + 2];
    tcd_cron c, before;
    size_t i;

    memset(&before, 0x5a, sizeof(before));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = before;
        err[0] = '\0';
        TC_CHECK(tcd_cron_parse(&c, bad[i].expr, err, sizeof(err)) == -1);
        TC_CHECK_STR_CONTAINS(err, bad[i].msg);
        TC_CHECK(memcmp(&c, &before, sizeof(c)) == 0); /* out untouched */
    }
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "* * * * *", 9);
    TC_CHECK(tcd_cron_parse(&c, big, err, sizeof(err)) == -1);
    TC_CHECK_STR_CONTAINS(err, "longer than 256 bytes");
    TC_CHECK(tcd_cron_parse(&c, NULL, err, sizeof(err)) == -1);
    /* a tiny error buffer is cut, never overrun */
    TC_CHECK(tcd_cron_parse(&c, "61 * * * *", err, 8) == -1 && strlen(err) == 7);
}

static void test_cron_cron__next_utc(void)
{
    tcd_cron c;
    char err[256];
    int64_t t;

    TC_CHECK(tcd_cron_parse(&c, "* * * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 1, 0, 0) + 30, &t) == 0);
    TC_CHECK(t == utc(2026, 1, 1, 0, 1));
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 1, 0, 1), &t) == 0); /* strictly after */
    TC_CHECK(t == utc(2026, 1, 1, 0, 2));
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 12, 31, 23, 59), &t) == 0);
    TC_CHECK(t == utc(2027, 1, 1, 0, 0));
    TC_CHECK(tcd_cron_parse(&c, "*/15 9-17 * * mon-fri", err, sizeof(err)) == 0);
    /* 2026-01-02 is a Friday: 17:45, then Monday 09:00 */
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 2, 17, 31), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 2, 17, 45));
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 2, 17, 45), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 5, 9, 0));
    /* leap day: 2100 is not a leap year */
    TC_CHECK(tcd_cron_parse(&c, "0 0 29 2 *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2097, 1, 1, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2104, 2, 29, 0, 0));
    /* never */
    TC_CHECK(tcd_cron_parse(&c, "0 0 31 4 *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 1, 0, 0), &t) == -1);
    /* Vixie: both restricted = either; one starting with '*' = both */
    TC_CHECK(tcd_cron_parse(&c, "0 0 13 * fri", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 1, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 2, 0, 0)); /* the first Friday */
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 12, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 13, 0, 0)); /* the 13th, a Tuesday */
    TC_CHECK(tcd_cron_parse(&c, "0 0 */2 * fri", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 1, 1, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 9, 0, 0)); /* odd day and Friday */
    TC_CHECK(tcd_cron_parse(&c, "@monthly", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(2026, 2, 15, 7, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 3, 1, 0, 0));
    /* before 1970 */
    TC_CHECK(tcd_cron_parse(&c, "@yearly", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, NULL, utc(1969, 6, 1, 0, 0), &t) == 0);
    TC_CHECK(t == 0);
}

static tcd_tz *zone(const char *name)
{
    char err[256] = "";
    tcd_tz *tz = NULL;

    if (tcd_tz_load(&tz, name, err, sizeof(err)) < 0)
        fprintf(stderr, "cannot load %s: %s\n", name, err);
    TC_CHECK(tz != NULL);
    return tz;
}

/* Europe/Berlin 2026: CET->CEST on 2026-03-29 01:00Z, CEST->CET on 2026-10-25 01:00Z. */
static void test_cron_cron__dst_berlin(void)
{
    tcd_tz *tz = zone("Europe/Berlin");
    tcd_cron c;
    char err[256];
    int64_t t;

    if (!tz)
        return;
    TC_CHECK(tcd_tz_offset(tz, utc(2026, 1, 15, 12, 0)) == 3600);
    TC_CHECK(tcd_tz_offset(tz, utc(2026, 7, 15, 12, 0)) == 7200);
    TC_CHECK(tcd_tz_offset(tz, utc(2026, 3, 29, 1, 0) - 1) == 3600);
    TC_CHECK(tcd_tz_offset(tz, utc(2026, 3, 29, 1, 0)) == 7200);
    /* spring gap: 02:30 does not exist on 2026-03-29 and is skipped */
    TC_CHECK(tcd_cron_parse(&c, "30 2 * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 3, 28, 12, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 3, 30, 0, 30));
    /* every minute: 01:59 CET is followed by 03:00 CEST */
    TC_CHECK(tcd_cron_parse(&c, "* * * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 3, 29, 0, 59), &t) == 0);
    TC_CHECK(t == utc(2026, 3, 29, 1, 0));
    /* autumn overlap: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET); fires once */
    TC_CHECK(tcd_cron_parse(&c, "30 2 * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 10, 24, 12, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 10, 25, 0, 30));
    TC_CHECK(tcd_cron_next(&c, tz, t, &t) == 0);
    TC_CHECK(t == utc(2026, 10, 26, 1, 30));
    /* every minute: the repeated hour runs in its first pass only */
    TC_CHECK(tcd_cron_parse(&c, "* * * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 10, 25, 0, 58), &t) == 0);
    TC_CHECK(t == utc(2026, 10, 25, 0, 59));
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 10, 25, 0, 59), &t) == 0);
    TC_CHECK(t == utc(2026, 10, 25, 2, 0)); /* 03:00 CET */
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 10, 25, 1, 20), &t) == 0);
    TC_CHECK(t == utc(2026, 10, 25, 2, 0));
    /* daily at 09:00 local is 08:00Z in winter, 07:00Z in summer */
    TC_CHECK(tcd_cron_parse(&c, "0 9 * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 1, 10, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 1, 10, 8, 0));
    TC_CHECK(tcd_cron_next(&c, tz, utc(2026, 7, 10, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 7, 10, 7, 0));
    tcd_tz_free(tz);
}

static void test_cron_cron__zones(void)
{
    tcd_tz *ny = zone("America/New_York"), *syd = zone("Australia/Sydney");
    tcd_tz *kol = zone("Asia/Kolkata"), *u = zone("UTC");
    tcd_cron c;
    char err[256];
    int64_t t;

    if (!ny || !syd || !kol || !u)
        goto out;
    TC_CHECK(tcd_tz_offset(ny, utc(2026, 1, 15, 12, 0)) == -5 * 3600);
    TC_CHECK(tcd_tz_offset(ny, utc(2026, 7, 15, 12, 0)) == -4 * 3600);
    TC_CHECK(tcd_tz_offset(syd, utc(2026, 1, 15, 12, 0)) == 11 * 3600);
    TC_CHECK(tcd_tz_offset(syd, utc(2026, 7, 15, 12, 0)) == 10 * 3600);
    TC_CHECK(tcd_tz_offset(kol, utc(2026, 7, 15, 12, 0)) == 5 * 3600 + 1800);
    TC_CHECK(tcd_tz_offset(u, utc(2026, 7, 15, 12, 0)) == 0);
    /* far beyond the last transition of any file: the footer rule */
    TC_CHECK(tcd_tz_offset(ny, utc(2300, 7, 1, 0, 0)) == -4 * 3600);
    TC_CHECK(tcd_tz_offset(syd, utc(2300, 1, 1, 0, 0)) == 11 * 3600);
    TC_CHECK(tcd_cron_parse(&c, "0 0 * * *", err, sizeof(err)) == 0);
    TC_CHECK(tcd_cron_next(&c, kol, utc(2026, 5, 1, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 5, 1, 18, 30));
    TC_CHECK(tcd_cron_next(&c, ny, utc(2026, 5, 1, 0, 0), &t) == 0);
    TC_CHECK(t == utc(2026, 5, 1, 4, 0));
out:
    tcd_tz_free(ny);
    tcd_tz_free(syd);
    tcd_tz_free(kol);
    tcd_tz_free(u);
}

/* A POSIX rule alone gives the same offsets as the system's file, hour by hour over years. */
static void rule_matches_file(const char *rule, const char *name)
{
    char err[256] = "";
    tcd_tz *r = NULL, *f = zone(name);
    int64_t t;
    int mismatches = 0;

    TC_CHECK(tcd_tz_parse_rule(&r, rule, err, sizeof(err)) == 0);
    if (!r || !f)
        goto out;
    for (t = utc(2010, 1, 1, 0, 0); t < utc(2036, 1, 1, 0, 0); t += 1800)
        mismatches += tcd_tz_offset(r, t) != tcd_tz_offset(f, t);
    if (mismatches)
        fprintf(stderr, "%s vs %s: %d mismatches\n", rule, name, mismatches);
    TC_CHECK(mismatches == 0);
out:
    tcd_tz_free(r);
    tcd_tz_free(f);
}

static void test_cron_cron__posix_rules(void)
{
    char err[256];
    tcd_tz *tz = NULL;

    rule_matches_file("CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Berlin");
    rule_matches_file("EST5EDT,M3.2.0,M11.1.0", "America/New_York");
    rule_matches_file("AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney");
    TC_CHECK(tcd_tz_parse_rule(&tz, "<+0330>-3:30", err, sizeof(err)) == 0);
    TC_CHECK(tz && tcd_tz_offset(tz, 0) == 12600);
    tcd_tz_free(tz);
    tz = NULL;
    TC_CHECK(tcd_tz_parse_rule(&tz, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", err, sizeof(err)) == 0);
    TC_CHECK(tz && tcd_tz_offset(tz, utc(2030, 1, 1, 0, 0)) == -3 * 3600);
    TC_CHECK(tz && tcd_tz_offset(tz, utc(2030, 6, 1, 0, 0)) == -2 * 3600);
    tcd_tz_free(tz);
    tz = NULL;
    TC_CHECK(tcd_tz_parse_rule(&tz, "XX1", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_parse_rule(&tz, "CET-1CEST,M13.5.0,M10.5.0", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_parse_rule(&tz, "CET-1CEST,M3.5.0", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_parse_rule(&tz, "CET-99", err, sizeof(err)) == -1);
    TC_CHECK(tz == NULL);
}

static void test_cron_cron__bad_zones(void)
{
    static const unsigned char junk[] = "TZif2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    char err[256];
    tcd_tz *tz = NULL;

    TC_CHECK(tcd_tz_load(&tz, "Nowhere/City", err, sizeof(err)) == -1);
    TC_CHECK_STR_CONTAINS(err, "unknown time zone 'Nowhere/City'");
    TC_CHECK(tcd_tz_load(&tz, "../../etc/passwd", err, sizeof(err)) == -1);
    TC_CHECK_STR_CONTAINS(err, "is not a valid name");
    TC_CHECK(tcd_tz_load(&tz, "/etc/localtime", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_load(&tz, "", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_load(&tz, "Europe//Berlin", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_load(&tz, "Europe", err, sizeof(err)) == -1); /* a directory */
    TC_CHECK(tcd_tz_load(&tz, "zone.tab", err, sizeof(err)) == -1);
    TC_CHECK(tcd_tz_parse(&tz, junk, sizeof(junk), err, sizeof(err)) == -1);
    TC_CHECK_STR_CONTAINS(err, "not a valid TZif file");
    TC_CHECK(tcd_tz_parse(&tz, (const unsigned char *)"TZ", 2, err, sizeof(err)) == -1);
    TC_CHECK(tz == NULL);
}

static const tc_test_case tests[] = {
    TC_TEST(test_cron_cron__fields),      TC_TEST(test_cron_cron__shortcuts),
    TC_TEST(test_cron_cron__malformed),   TC_TEST(test_cron_cron__next_utc),
    TC_TEST(test_cron_cron__dst_berlin),  TC_TEST(test_cron_cron__zones),
    TC_TEST(test_cron_cron__posix_rules), TC_TEST(test_cron_cron__bad_zones),
};

TC_TEST_MAIN(tests)
