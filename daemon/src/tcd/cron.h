/*
 * cron.h - 5-field cron expressions and IANA time zones for tcd's schedules (schedule.c).
 * Pure functions: no daemon state, no environment, no locks; safe on any thread.
 *
 * Expressions: "minute hour day-of-month month day-of-week", fields separated by blanks.
 * Each field is a comma list of items: `*`, `N`, `A-B`, each optionally `/STEP`
 * (`*` with a step covers the whole range; `N/STEP` means N up to the field's maximum).
 * Months take `jan`..`dec`, weekdays `sun`..`sat`, case-insensitive, also in ranges
 * (`mon-fri`); weekday 0 and 7 are both Sunday. The Vixie cron rule: when both day-of-month
 * and day-of-week are restricted (neither field starts with `*`), a day matches when either
 * matches; otherwise both must. Shortcuts: @hourly, @daily (@midnight), @weekly, @monthly,
 * @yearly (@annually). Errors name the field and the bad token:
 * "cron 'minute' field: 61 is out of range 0-59".
 *
 * Time zones: read from the system tz database (TZif files under $TZDIR or
 * /usr/share/zoneinfo, versions 1 to 4, with the POSIX TZ rule of the footer for instants
 * after the last transition), never through the TZ environment variable (tcd is threaded;
 * setenv would race). "UTC" works without a tz database.
 *
 * Daylight saving time (tcd_cron_next): slots are wall-clock times in the zone. A wall-clock
 * time that does not exist (the spring-forward gap, e.g. 02:30 in Europe/Berlin on the last
 * Sunday of March) is skipped, not moved: "30 2 * * *" does not fire that day. A wall-clock
 * time that happens twice (the autumn fall-back hour) fires once, at its first occurrence;
 * every minute of the repeated hour fires in the first pass only.
 */
#ifndef TCD_CRON_H
#define TCD_CRON_H

#include <stddef.h>
#include <stdint.h>

/* Longest expression accepted (bytes). */
#define TCD_CRON_MAX_LEN 256
/* Longest time zone name accepted. */
#define TCD_TZ_MAX_NAME 128
/* Largest TZif file read. */
#define TCD_TZ_MAX_FILE (256 * 1024)

/* A parsed expression: one bit per allowed value. */
typedef struct tcd_cron {
    uint64_t minutes; /* bits 0..59 */
    uint32_t hours;   /* bits 0..23 */
    uint32_t mdays;   /* bits 1..31 */
    uint32_t months;  /* bits 1..12 */
    uint32_t wdays;   /* bits 0..6, Sunday = 0 (7 is folded into 0) */
    int dom_star;     /* the day-of-month field starts with '*' */
    int dow_star;     /* the day-of-week field starts with '*' */
} tcd_cron;

/*
 * Parse expr into *out (written only on success).
 * @return 0, or -1 with a one-line message in err naming the field and the token.
 */
int tcd_cron_parse(tcd_cron *out, const char *expr, char *err, size_t errcap);

/* 1 when the wall-clock time (civil fields; wday 0 = Sunday) matches c. */
int tcd_cron_match(const tcd_cron *c, int month, int mday, int wday, int hour, int minute);

typedef struct tcd_tz tcd_tz;

/*
 * Load the zone name ("Europe/Berlin", "UTC", ...). *out is owned by the caller
 * (tcd_tz_free). Names are [A-Za-z0-9_+-] segments separated by '/', no "." or ".."
 * segment, at most TCD_TZ_MAX_NAME bytes.
 * @return 0, or -1 with "unknown time zone 'X'" or what is wrong with it in err.
 */
int tcd_tz_load(tcd_tz **out, const char *name, char *err, size_t errcap);

/* Parse TZif data (tests and the fuzz target; tcd_tz_load reads a file with it). */
int tcd_tz_parse(tcd_tz **out, const unsigned char *data, size_t n, char *err, size_t errcap);

/* Parse a POSIX TZ rule string ("CET-1CEST,M3.5.0,M10.5.0/3") as a zone without transitions. */
int tcd_tz_parse_rule(tcd_tz **out, const char *rule, char *err, size_t errcap);

/* Accepts NULL. */
void tcd_tz_free(tcd_tz *tz);

/* Seconds east of UTC at the instant t (Unix seconds). */
int32_t tcd_tz_offset(const tcd_tz *tz, int64_t t);

/*
 * The first slot of c strictly after the instant `after` (Unix seconds), in zone tz (NULL:
 * UTC), with the DST rules above. *out: Unix seconds, a whole minute of wall-clock time.
 * @return 0, or -1 when c never matches within 28 years (e.g. "0 0 31 4 *").
 */
int tcd_cron_next(const tcd_cron *c, const tcd_tz *tz, int64_t after, int64_t *out);

/* Civil date of a day count since 1970-01-01 and back (proleptic Gregorian). */
int64_t tcd_days_from_civil(int64_t y, int m, int d);
void tcd_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif /* TCD_CRON_H */
