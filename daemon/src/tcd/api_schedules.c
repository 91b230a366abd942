/*
 * api_schedules.c - the /v1/schedules routes of docs/api.md (schedule.h does the work):
 *
 *   GET    /v1/schedules              200 {"schedules":[...]}
 *   POST   /v1/schedules              201 the schedule (body: its definition)
 *   GET    /v1/schedules/{name}       200 the schedule
 *   DELETE /v1/schedules/{name}       200 {"deleted":"name"} (config-file ones: 409)
 *   POST   /v1/schedules/{name}/run   201 the job it created (run now)
 *
 * Error codes: 400 invalid_schedule (the message names the field), 404 schedule_not_found,
 * 403 permission_denied, 409 conflict, and those of job creation for run.
 */
#include <string.h>

#include "api.h"
#include "schedule.h"

static int status_error(int rc, const char *msg, tcd_api__error *e)
{
    if (rc == TCD_E_BAD_REQUEST)
        tcd_api__error_set(e, 400, "invalid_schedule", "%s", msg);
    else if (rc == TCD_E_JOB_NOT_FOUND)
        tcd_api__error_set(e, 404, "schedule_not_found", "%s", msg);
    else
        tcd_api__error_set(e, (unsigned)tcd_status_http((tcd_status)rc),
                           tcd_status_code((tcd_status)rc), "%s", msg[0] ? msg : "error");
    return -1;
}

static int not_allowed(const char *method, const char *allow, const char **allow_out,
                       tcd_api__error *e)
{
    *allow_out = allow;
    tcd_api__error_set(e, 405, "method_not_allowed", "method %.16s is not allowed here (%s)",
                       method, allow);
    return -1;
}

static int add(tcd_daemon *d, const char *body, size_t len, const tcd_limits *lim, uid_t uid,
               cJSON **out, tcd_api__error *e)
{
    char err[768] = "";
    cJSON *def;
    int rc;

    if (len == 0) {
        tcd_api__error_set(e, 400, "bad_request", "a schedule definition is required");
        return -1;
    }
    if (tcd_api__json_scan(body, len, lim->max_json_depth, TCD_API_MAX_FIELDS, e) != 0)
        return -1;
    if (!(def = cJSON_ParseWithLength(body, len))) {
        tcd_api__error_set(e, 400, "invalid_json", "the body is not valid JSON");
        return -1;
    }
    if (!cJSON_IsObject(def)) {
        cJSON_Delete(def);
        tcd_api__error_set(e, 400, "bad_request", "the body must be a JSON object");
        return -1;
    }
    rc = tcd_schedule_add(d, uid, def, out, err, sizeof(err));
    cJSON_Delete(def);
    return rc == TCD_OK ? 201 : status_error(rc, err, e);
}

int tcd_api__schedules(tcd_daemon *d, const char *method, char *const *seg, size_t nseg,
                       const char *body, size_t body_len, const tcd_limits *lim, uid_t uid,
                       cJSON **out, const char **allow, tcd_api__error *e)
{
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    char err[768] = "";
    int rc;

    *allow = NULL;
    if (body_len > 0 && !post) {
        tcd_api__error_set(e, 400, "bad_request", "a request body is only accepted with POST");
        return -1;
    }
    if (nseg == 0) {
        if (get)
            return (rc = tcd_schedules_list(d, out, err, sizeof(err))) == TCD_OK
                       ? 200
                       : status_error(rc, err, e);
        if (post)
            return add(d, body, body_len, lim, uid, out, e);
        return not_allowed(method, "GET, POST", allow, e);
    }
    if (!tcd_schedule_name_valid(seg[0])) {
        tcd_api__error_set(e, 400, "bad_request", "invalid schedule name");
        return -1;
    }
    if (nseg == 1 && get)
        return (rc = tcd_schedule_get(d, seg[0], out, err, sizeof(err))) == TCD_OK
                   ? 200
                   : status_error(rc, err, e);
    if (nseg == 1 && !strcmp(method, "DELETE")) {
        if ((rc = tcd_schedule_remove(d, seg[0], uid, err, sizeof(err))) != TCD_OK)
            return status_error(rc, err, e);
        if (!(*out = cJSON_CreateObject()) || !cJSON_AddStringToObject(*out, "deleted", seg[0])) {
            cJSON_Delete(*out);
            *out = NULL;
            tcd_api__error_set(e, 500, "internal", "out of memory");
            return -1;
        }
        return 200;
    }
    if (nseg == 1)
        return not_allowed(method, "GET, DELETE", allow, e);
    if (nseg == 2 && !strcmp(seg[1], "run")) {
        if (!post)
            return not_allowed(method, "POST", allow, e);
        if (body_len > 0) {
            tcd_api__error_set(e, 400, "bad_request", "run takes no body");
            return -1;
        }
        if ((rc = tcd_schedule_run_now(d, seg[0], uid, out, err, sizeof(err))) == TCD_OK)
            return 201;
        if (rc == TCD_E_BAD_REQUEST || rc == TCD_E_INVALID_SPEC) {
            tcd_api__error_set(
                e, 400, rc == TCD_E_INVALID_SPEC ? "invalid_spec" : "invalid_schedule", "%s", err);
            return -1;
        }
        return status_error(rc, err, e);
    }
    tcd_api__error_set(e, 404, "not_found", "no such route");
    return -1;
}

char *tcd_api__schedules_metrics(tcd_daemon *d)
{
    return tcd_schedules_metrics_text(d);
}
