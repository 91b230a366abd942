/*
 * schedule.h - schedules inside tcd (issue 8): cron expressions that create train jobs.
 *
 * A schedule comes from the config file (`schedules:`, read-only through the API) or from the
 * API (POST /v1/schedules, persisted in STATE/schedules.json). Each has a name, a cron
 * expression (cron.h) in a time zone, the path of a train spec read when the slot fires,
 * `persistent`, `randomized_delay`, history limits (`keep_succeeded`, `keep_failed`),
 * `suspend`, and the job-creation options `concurrency` (allow|forbid|replace, default forbid)
 * and `if_changed` (default false), passed to tcd_jobs_create_scheduled with the schedule key
 * "schedule:NAME" and the idempotency key "schedule:NAME@SLOT" (create_job in schedule.c).
 *
 * Firing (main thread, tcd_schedules_tick from tcd_loop_tick): a slot is fired at most once.
 * Its time is saved as the schedule's last_slot in STATE/schedules.json (temp + fsync +
 * rename) before the job is created, so a crash in between loses the slot rather than firing
 * it twice. The job is created by tcd_jobs_create_scheduled (the API's path, with the job
 * fields "schedule" and "slot"). When slots were missed while tcd was down, a `persistent`
 * schedule fires the latest of them once at start (systemd's Persistent=true); others skip
 * them. After a scheduled job ends, the schedule's history is trimmed to the newest
 * keep_succeeded succeeded and keep_failed other finished jobs, their directories removed,
 * except the newest job whose output a push job pushed and any job a push job still reads.
 *
 * Test clock: with TCD_TEST_NOW_OFFSET=SECONDS in tcd's environment (tests only; logged as a
 * warning at start), schedules see the wall clock moved by SECONDS, so a test can make slots
 * pass without waiting for them.
 *
 * Locking: the schedule list is guarded by d->lock, like the jobs.
 *
 * NEEDSWORK: a fired slot's job is created on the main thread, so the spec check
 * (`tcd-worker check`, milliseconds, at most TCD_PROBE_TIMEOUT_S) holds up the event loop
 * meanwhile; worker pipes buffer it. A creation thread would avoid that.
 */
#ifndef TCD_SCHEDULE_H
#define TCD_SCHEDULE_H

#include <sys/types.h>

#include "cron.h"
#include "internal.h"

#define TCD_MAX_SCHEDULES 256
#define TCD_SCHEDULE_MAX_NAME 64
#define TCD_SCHEDULE_MAX_PATH 4096
#define TCD_SCHEDULE_MAX_KEEP 1000
#define TCD_SCHEDULE_MAX_DELAY_S (7 * 86400.0)
#define TCD_SCHEDULE_MAX_FILE (4 * 1024 * 1024) /* STATE/schedules.json */

struct tcd_job;

/*
 * Check a schedule definition: a JSON object with the fields of docs/api.md (strings are
 * accepted for every value, as the config file gives them). Errors name the field:
 * "schedule 'cron': cron 'minute' field: 61 is out of range 0-59". by: the uid the spec file
 * must belong to (unless by is 0 or tcd's own uid), or -1 to skip the spec check.
 * @return 0, or -1 with err set.
 */
int tcd_schedule_validate(const cJSON *def, long by, char *err, size_t errcap);

/* Load the config file's schedules and STATE/schedules.json. 0, or -1 (fatal, logged). */
int tcd_schedules_load(tcd_daemon *d);

/* Fire due schedules, trim histories; the next deadline (mono), 0 = none. Main thread only. */
double tcd_schedules_tick(tcd_daemon *d);

/* With d->lock held: a job of a schedule reached its final state (jobs.c). */
void tcd_schedules__job_finished(tcd_daemon *d, const struct tcd_job *j);

void tcd_schedules_free(tcd_daemon *d);

/* ---- the API side (any thread; each takes d->lock) ---------------------------------------- */

/* {"schedules":[...]} sorted by name. */
int tcd_schedules_list(tcd_daemon *d, cJSON **out, char *err, size_t errcap);
int tcd_schedule_get(tcd_daemon *d, const char *name, cJSON **out, char *err, size_t errcap);
/* Add def (validated here; TCD_E_BAD_REQUEST names the field) for owner; 409 on a name taken. */
int tcd_schedule_add(tcd_daemon *d, uid_t owner, const cJSON *def, cJSON **out, char *err,
                     size_t errcap);
/* Remove an added schedule: owner or root; config ones are 409. */
int tcd_schedule_remove(tcd_daemon *d, const char *name, uid_t caller, char *err, size_t errcap);
/* Create the schedule's job now (slot null): owner or root. *out: the job object. */
int tcd_schedule_run_now(tcd_daemon *d, const char *name, uid_t caller, cJSON **out, char *err,
                         size_t errcap);
/* Prometheus lines for /v1/metrics (malloc'd; NULL on OOM). */
char *tcd_schedules_metrics_text(tcd_daemon *d);

/* [A-Za-z0-9_.-]{1,64}, not starting with '.' or '-'. */
int tcd_schedule_name_valid(const char *s);

#endif /* TCD_SCHEDULE_H */
