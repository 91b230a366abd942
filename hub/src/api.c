/*
 * api.c - the REST reads: repo info, refs, the paginated tree listing and
 * the resolve HEAD of one file; the trees/<commit>.json cache format.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub_internal.h"

static int offline_error(const char *what, const char *repo_id)
{
    return hub__set_error(TC_HUB_ERR_OFFLINE, TC_EUNSUPPORTED,
                          "cannot %s of repo '%s' in offline mode (HF_HUB_OFFLINE)", what, repo_id);
}

static int check_args(const tc_hub_client *c, tc_hub_repo_type type, const char *repo_id)
{
    hub__clear_kind();
    if (!c || type < 0 || type >= TC_HUB_REPO_TYPE_MAX)
        return tc_error_set(TC_EINVAL, "invalid client or repo type");
    if (!hub__valid_repo_id(repo_id))
        return tc_error_set(TC_EINVAL, "invalid repo id '%s'", repo_id ? repo_id : "(null)");
    return TC_OK;
}

/* GET a JSON document; on a non-2xx answer sets the mapped error. */
static int get_json(cJSON **out, hub_response *r, tc_hub_client *c, const char *url,
                    const char *repo_id, const char *rev)
{
    int rc = hub__request(r, c, "GET", url, 1, HUB_MAX_JSON_BYTES);
    if (rc)
        return rc;
    if (r->status < 200 || r->status >= 300)
        return hub__error_from_response(c, r, repo_id, rev, NULL);
    *out = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    if (!*out)
        return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT, "malformed JSON from '%s'", url);
    return TC_OK;
}

static char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? tc_strdup(v->valuestring) : NULL;
}

void tc_hub_repo_info_free(tc_hub_repo_info *info)
{
    size_t i;
    if (!info)
        return;
    tc_free(info->id);
    tc_free(info->sha);
    for (i = 0; i < info->n_siblings; i++)
        tc_free(info->siblings[i]);
    tc_free(info->siblings);
    tc_free(info);
}

static int parse_repo_info(tc_hub_repo_info **out, const cJSON *j, const char *repo_id)
{
    tc_hub_repo_info *info = tc_calloc(1, sizeof(*info));
    const cJSON *sib = cJSON_GetObjectItemCaseSensitive(j, "siblings"), *g, *it;
    int rc = TC_ENOMEM;
    if (!info)
        return TC_ENOMEM;
    info->id = jstr(j, "id");
    info->sha = jstr(j, "sha");
    if (!info->id || !info->sha || !hub__is_commit(info->sha)) {
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                            "repo info of '%s' has no 'id' or 40-hex 'sha'", repo_id);
        goto out;
    }
    info->is_private = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "private"));
    info->disabled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disabled"));
    g = cJSON_GetObjectItemCaseSensitive(j, "gated");
    info->gated = cJSON_IsString(g) ? (strcmp(g->valuestring, "manual") == 0 ? 2 : 1) : 0;
    if (cJSON_IsArray(sib)) {
        info->siblings = tc_calloc((size_t)cJSON_GetArraySize(sib) + 1, sizeof(char *));
        if (!info->siblings)
            goto out;
        cJSON_ArrayForEach(it, sib)
        {
            char *name = jstr(it, "rfilename");
            if (name)
                info->siblings[info->n_siblings++] = name;
        }
    }
    *out = info;
    info = NULL;
    rc = TC_OK;
out:
    tc_hub_repo_info_free(info);
    return rc;
}

int tc_hub_repo_info_get(tc_hub_repo_info **out, tc_hub_client *c, tc_hub_repo_type type,
                         const char *repo_id, const char *revision)
{
    hub_response r = {0};
    cJSON *j = NULL;
    char *url = NULL, *qrev = NULL;
    int rc;
    TC_ASSERT_ARG(out);
    if ((rc = check_args(c, type, repo_id)))
        return rc;
    if (c->offline)
        return offline_error("fetch the info", repo_id);
    if (revision) {
        qrev = hub__url_quote(revision, 0);
        url = qrev ? hub__strfmt("%s/api/%s/%s/revision/%s", c->endpoint, hub__type_plural(type),
                                 repo_id, qrev)
                   : NULL;
    } else {
        url = hub__strfmt("%s/api/%s/%s", c->endpoint, hub__type_plural(type), repo_id);
    }
    if (!url) {
        rc = TC_ENOMEM;
        goto out;
    }
    if ((rc = get_json(&j, &r, c, url, repo_id, revision)))
        goto out;
    rc = parse_repo_info(out, j, repo_id);
out:
    cJSON_Delete(j);
    hub__response_dispose(&r);
    tc_free(url);
    tc_free(qrev);
    return rc;
}

static void refs_dispose(tc_hub_ref *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        tc_free(v[i].name);
        tc_free(v[i].ref);
        tc_free(v[i].target_commit);
    }
    tc_free(v);
}

void tc_hub_refs_free(tc_hub_refs *refs)
{
    if (!refs)
        return;
    refs_dispose(refs->branches, refs->n_branches);
    refs_dispose(refs->tags, refs->n_tags);
    refs_dispose(refs->converts, refs->n_converts);
    tc_free(refs);
}

static int parse_ref_list(tc_hub_ref **out, size_t *n, const cJSON *arr)
{
    const cJSON *it;
    *n = 0;
    *out = tc_calloc((size_t)(cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0) + 1,
                     sizeof(tc_hub_ref));
    if (!*out)
        return TC_ENOMEM;
    if (!cJSON_IsArray(arr))
        return TC_OK;
    cJSON_ArrayForEach(it, arr)
    {
        tc_hub_ref *r = &(*out)[*n];
        r->name = jstr(it, "name");
        r->ref = jstr(it, "ref");
        r->target_commit = jstr(it, "targetCommit");
        (*n)++;
        if (!r->name || !r->ref || !r->target_commit)
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "malformed ref in the refs listing");
    }
    return TC_OK;
}

int tc_hub_refs_list(tc_hub_refs **out, tc_hub_client *c, tc_hub_repo_type type,
                     const char *repo_id)
{
    hub_response r = {0};
    cJSON *j = NULL;
    tc_hub_refs *refs = NULL;
    char *url = NULL;
    int rc;
    TC_ASSERT_ARG(out);
    if ((rc = check_args(c, type, repo_id)))
        return rc;
    if (c->offline)
        return offline_error("list the refs", repo_id);
    url = hub__strfmt("%s/api/%s/%s/refs", c->endpoint, hub__type_plural(type), repo_id);
    refs = tc_calloc(1, sizeof(*refs));
    if (!url || !refs) {
        rc = TC_ENOMEM;
        goto out;
    }
    if ((rc = get_json(&j, &r, c, url, repo_id, NULL)))
        goto out;
    if ((rc = parse_ref_list(&refs->branches, &refs->n_branches,
                             cJSON_GetObjectItemCaseSensitive(j, "branches"))) ||
        (rc = parse_ref_list(&refs->tags, &refs->n_tags,
                             cJSON_GetObjectItemCaseSensitive(j, "tags"))) ||
        (rc = parse_ref_list(&refs->converts, &refs->n_converts,
                             cJSON_GetObjectItemCaseSensitive(j, "converts"))))
        goto out;
    *out = refs;
    refs = NULL;
out:
    tc_hub_refs_free(refs);
    cJSON_Delete(j);
    hub__response_dispose(&r);
    tc_free(url);
    return rc;
}

void tc_hub_tree_free(tc_hub_tree *t)
{
    size_t i;
    if (!t)
        return;
    for (i = 0; i < t->count; i++) {
        tc_free(t->files[i].path);
        tc_free(t->files[i].oid);
        tc_free(t->files[i].lfs_sha256);
    }
    tc_free(t->files);
    tc_free(t);
}

static int tree_push(tc_hub_tree *t, size_t *cap, const char *path, uint64_t size, const char *oid,
                     const char *sha256)
{
    tc_hub_file *f;
    if (t->count >= HUB_MAX_TREE_ENTRIES)
        return tc_error_set(TC_ERANGE, "tree listing has more than %u entries",
                            HUB_MAX_TREE_ENTRIES);
    if (t->count == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        tc_hub_file *nf = tc_realloc(t->files, nc * sizeof(*nf));
        if (!nf)
            return TC_ENOMEM;
        t->files = nf;
        *cap = nc;
    }
    f = &t->files[t->count];
    memset(f, 0, sizeof(*f));
    f->size = size;
    f->path = tc_strdup(path);
    f->oid = tc_strdup(oid);
    f->lfs_sha256 = sha256 ? tc_strdup(sha256) : NULL;
    t->count++;
    if (!f->path || !f->oid || (sha256 && !f->lfs_sha256))
        return TC_ENOMEM;
    return TC_OK;
}

/* Append the file entries of one tree page. */
static int parse_tree_page(tc_hub_tree *t, size_t *cap, const cJSON *arr)
{
    const cJSON *it;
    int rc;
    if (!cJSON_IsArray(arr))
        return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT, "tree listing is not an array");
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(it, "path");
        const cJSON *oid = cJSON_GetObjectItemCaseSensitive(it, "oid");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
        const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(it, "lfs"), *lo = NULL;
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "file") != 0)
            continue;
        if (lfs)
            lo = cJSON_GetObjectItemCaseSensitive(lfs, "oid");
        if (!cJSON_IsString(path) || !cJSON_IsString(oid) || !cJSON_IsNumber(size) ||
            size->valuedouble < 0 || !hub__valid_rel_path(path->valuestring) ||
            (lfs && !cJSON_IsString(lo)))
            return hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                                  "malformed entry in the tree listing");
        rc = tree_push(t, cap, path->valuestring, (uint64_t)size->valuedouble, oid->valuestring,
                       lo ? lo->valuestring : NULL);
        if (rc)
            return rc;
    }
    return TC_OK;
}

int tc_hub_tree_list(tc_hub_tree **out, tc_hub_client *c, tc_hub_repo_type type,
                     const char *repo_id, const char *revision, const char *prefix)
{
    hub_response r = {0};
    cJSON *j = NULL;
    tc_hub_tree *t = NULL;
    char *url = NULL, *qrev = NULL, *qpath = NULL;
    size_t cap = 0;
    int rc, pages = 0;
    TC_ASSERT_ARG(out);
    if ((rc = check_args(c, type, repo_id)))
        return rc;
    if (c->offline)
        return offline_error("list the files", repo_id);
    qrev = hub__url_quote(revision ? revision : "main", 0);
    qpath = prefix ? hub__url_quote(prefix, 1) : NULL;
    t = tc_calloc(1, sizeof(*t));
    if (!qrev || !t || (prefix && !qpath)) {
        rc = TC_ENOMEM;
        goto out;
    }
    url = hub__strfmt("%s/api/%s/%s/tree/%s%s%s?recursive=true&expand=false", c->endpoint,
                      hub__type_plural(type), repo_id, qrev, qpath ? "/" : "", qpath ? qpath : "");
    while (url) {
        char *next;
        if (++pages > 100000) {
            rc = tc_error_set(TC_ERANGE, "tree listing of '%s' has too many pages", repo_id);
            goto out;
        }
        cJSON_Delete(j);
        j = NULL;
        hub__response_dispose(&r);
        if ((rc = get_json(&j, &r, c, url, repo_id, revision)))
            goto out;
        if ((rc = parse_tree_page(t, &cap, j)))
            goto out;
        next = r.h_link ? hub__link_next(r.h_link) : NULL;
        tc_free(url);
        url = next ? hub__url_join(r.final_url, next) : NULL;
        tc_free(next);
    }
    *out = t;
    t = NULL;
out:
    tc_hub_tree_free(t);
    cJSON_Delete(j);
    hub__response_dispose(&r);
    tc_free(url);
    tc_free(qrev);
    tc_free(qpath);
    return rc;
}

int hub__resolve_url(char **out, const tc_hub_client *c, tc_hub_repo_type type, const char *repo_id,
                     const char *rev, const char *path)
{
    char *qrev = hub__url_quote(rev, 0), *qpath = hub__url_quote(path, 1);
    *out = qrev && qpath ? hub__strfmt("%s/%s%s/resolve/%s/%s", c->endpoint,
                                       hub__type_url_prefix(type), repo_id, qrev, qpath)
                         : NULL;
    tc_free(qrev);
    tc_free(qpath);
    return *out ? TC_OK : TC_ENOMEM;
}

void tc_hub_file_metadata_free(tc_hub_file_metadata *m)
{
    if (!m)
        return;
    tc_free(m->location);
    tc_free(m);
}

int tc_hub_file_metadata_get(tc_hub_file_metadata **out, tc_hub_client *c, tc_hub_repo_type type,
                             const char *repo_id, const char *revision, const char *path)
{
    return hub__file_metadata(out, c, type, repo_id, revision, path, NULL);
}

/* As tc_hub_file_metadata_get; on EntryNotFound the answer's X-Repo-Commit goes to missing_commit.
 */
int hub__file_metadata(tc_hub_file_metadata **out, tc_hub_client *c, tc_hub_repo_type type,
                       const char *repo_id, const char *revision, const char *path,
                       char *missing_commit)
{
    hub_response r = {0};
    tc_hub_file_metadata *m = NULL;
    const char *rev = revision ? revision : "main", *size;
    char *url = NULL;
    int rc;
    TC_ASSERT_ARG(out);
    if ((rc = check_args(c, type, repo_id)))
        return rc;
    if (!hub__valid_rel_path(path))
        return tc_error_set(TC_EINVAL, "invalid file path '%s'", path ? path : "(null)");
    if (c->offline)
        return offline_error("fetch file metadata", repo_id);
    if ((rc = hub__resolve_url(&url, c, type, repo_id, rev, path)))
        goto out;
    if ((rc = hub__request(&r, c, "HEAD", url, 0, HUB_MAX_ERROR_BODY)))
        goto out;
    if (r.status >= 400) {
        rc = hub__error_from_response(c, &r, repo_id, rev, path);
        if (missing_commit && tc_hub_error_kind_last() == TC_HUB_ERR_ENTRY_NOT_FOUND &&
            r.h_commit && hub__is_commit(r.h_commit))
            memcpy(missing_commit, r.h_commit, 41);
        goto out;
    }
    m = tc_calloc(1, sizeof(*m));
    if (!m) {
        rc = TC_ENOMEM;
        goto out;
    }
    size = r.h_linked_size ? r.h_linked_size : (r.status < 300) ? r.h_content_length : NULL;
    if (!r.h_commit || !hub__is_commit(r.h_commit) ||
        hub__normalize_etag(m->etag, sizeof(m->etag),
                            r.h_linked_etag ? r.h_linked_etag : r.h_etag) != 0 ||
        !size) {
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT,
                            "'%s' answered without X-Repo-Commit, ETag or size; is HF_ENDPOINT a "
                            "Hub (not a proxy)?",
                            url);
        goto out;
    }
    memcpy(m->commit, r.h_commit, 41);
    m->size = strtoull(size, NULL, 10);
    m->is_lfs = r.h_linked_etag != NULL;
    m->location = r.h_location ? hub__url_join(r.final_url, r.h_location) : tc_strdup(r.final_url);
    if (!m->location) {
        rc = TC_ENOMEM;
        goto out;
    }
    *out = m;
    m = NULL;
out:
    tc_hub_file_metadata_free(m);
    hub__response_dispose(&r);
    tc_free(url);
    return rc;
}

/* trees/<commit>.json: {"files": {path: {size, blob_id, lfs_sha256?, lfs_size?}}} */
int hub__tree_to_json(char **out, const tc_hub_tree *t)
{
    cJSON *root = cJSON_CreateObject(), *files = cJSON_AddObjectToObject(root, "files");
    char *s = NULL;
    size_t i;
    int rc = TC_ENOMEM;
    if (!root || !files)
        goto out;
    for (i = 0; i < t->count; i++) {
        cJSON *f = cJSON_AddObjectToObject(files, t->files[i].path);
        if (!f || !cJSON_AddNumberToObject(f, "size", (double)t->files[i].size) ||
            !cJSON_AddStringToObject(f, "blob_id", t->files[i].oid))
            goto out;
        if (t->files[i].lfs_sha256 &&
            (!cJSON_AddStringToObject(f, "lfs_sha256", t->files[i].lfs_sha256) ||
             !cJSON_AddNumberToObject(f, "lfs_size", (double)t->files[i].size)))
            goto out;
    }
    s = cJSON_PrintUnformatted(root);
    if (!s)
        goto out;
    *out = tc_strdup(s);
    rc = *out ? TC_OK : TC_ENOMEM;
out:
    free(s);
    cJSON_Delete(root);
    return rc;
}

int hub__tree_from_json(tc_hub_tree **out, const char *json, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(json, len), *files, *it;
    tc_hub_tree *t = tc_calloc(1, sizeof(*t));
    size_t cap = 0;
    int rc = TC_ENOMEM;
    if (!t)
        goto out;
    files = cJSON_GetObjectItemCaseSensitive(root, "files");
    if (!cJSON_IsObject(files)) {
        rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT, "malformed cached tree listing");
        goto out;
    }
    cJSON_ArrayForEach(it, files)
    {
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
        const cJSON *oid = cJSON_GetObjectItemCaseSensitive(it, "blob_id");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(it, "lfs_sha256");
        if (!it->string || !hub__valid_rel_path(it->string) || !cJSON_IsNumber(size) ||
            !cJSON_IsString(oid)) {
            rc = hub__set_error(TC_HUB_ERR_INTEGRITY, TC_EFORMAT, "malformed cached tree listing");
            goto out;
        }
        if ((rc = tree_push(t, &cap, it->string, (uint64_t)size->valuedouble, oid->valuestring,
                            cJSON_IsString(sha) ? sha->valuestring : NULL)))
            goto out;
    }
    *out = t;
    t = NULL;
    rc = TC_OK;
out:
    tc_hub_tree_free(t);
    cJSON_Delete(root);
    return rc;
}
