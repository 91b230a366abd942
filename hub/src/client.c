/*
 * client.c - tc_hub_client: configuration from options and the environment,
 * the same variables and precedence as huggingface_hub.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hub_internal.h"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

const char *tc_hub_endpoint(void)
{
    const char *e = env("HF_ENDPOINT");
    return e ? e : "https://huggingface.co";
}

int tc_hub_options_init(tc_hub_options *opts, unsigned int version)
{
    TC_ASSERT_ARG(opts);
    if (version != TC_HUB_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_hub_options version %u", version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return TC_OK;
}

int tc_hub_download_options_init(tc_hub_download_options *opts, unsigned int version)
{
    TC_ASSERT_ARG(opts);
    if (version != TC_HUB_DOWNLOAD_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_hub_download_options version %u", version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return TC_OK;
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
static char *default_hf_home(void)
{
    const char *v = env("HF_HOME");
    if (v)
        return tc_strdup(v);
    if ((v = env("XDG_CACHE_HOME")))
        return hub__strfmt("%s/huggingface", v);
    if ((v = env("HOME")))
        return hub__strfmt("%s/.cache/huggingface", v);
    return NULL;
}

/* First line of a token file, whitespace-trimmed; NULL when absent or empty. */
static char *read_token_file(const char *path)
{
    char buf[4096];
    ssize_t n;
    size_t a = 0, b;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    while (isspace((unsigned char)buf[a]))
        a++;
    b = a;
    while (buf[b] && !isspace((unsigned char)buf[b]))
        b++;
    if (b == a)
        return NULL;
    buf[b] = '\0';
    return tc_strdup(buf + a);
}

static int env_true(const char *name)
{
    const char *v = env(name);
    return v && (!strcasecmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "true"));
}

static char *resolve_token(const tc_hub_options *o, const char *hf_home)
{
    const char *v;
    char *path, *tok;
    if (o->token)
        return tc_strdup(o->token);
    if ((v = env("HF_TOKEN")) || (v = env("HUGGING_FACE_HUB_TOKEN")))
        return tc_strdup(v);
    path = env("HF_TOKEN_PATH") && !o->hf_home ? tc_strdup(env("HF_TOKEN_PATH"))
           : hf_home                           ? hub__strfmt("%s/token", hf_home)
                                               : NULL;
    tok = path ? read_token_file(path) : NULL;
    tc_free(path);
    return tok ? tok : tc_strdup("");
}

int tc_hub_client_new(tc_hub_client **out, const tc_hub_options *opts)
{
    tc_hub_options defaults = TC_HUB_OPTIONS_INIT;
    const tc_hub_options *o = opts ? opts : &defaults;
    tc_hub_client *c = NULL;
    char *hf_home = NULL;
    const char *ep, *cd;
    size_t n;
    int rc = TC_ENOMEM;

    TC_ASSERT_ARG(out);
    if (o->version != TC_HUB_OPTIONS_VERSION)
        return tc_error_set(TC_EINVAL, "unknown tc_hub_options version %u", o->version);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tc_error_set(TC_ERROR, "cannot initialise libcurl");
    c = tc_calloc(1, sizeof(*c));
    if (!c)
        goto out;
    hf_home = o->hf_home ? tc_strdup(o->hf_home) : default_hf_home();
    ep = o->endpoint ? o->endpoint : tc_hub_endpoint();
    c->endpoint = tc_strdup(ep);
    if (!c->endpoint)
        goto out;
    n = strlen(c->endpoint);
    while (n > 0 && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = '\0';
    cd = o->cache_dir ? o->cache_dir : env("HF_HUB_CACHE");
    if (!cd)
        cd = env("HUGGINGFACE_HUB_CACHE");
    if (cd && o->hf_home && !o->cache_dir)
        cd = NULL; /* an explicit hf_home wins over the environment's cache */
    c->cache_dir = cd ? tc_strdup(cd) : hf_home ? hub__strfmt("%s/hub", hf_home) : NULL;
    if (!c->cache_dir) {
        rc = tc_error_set(TC_EINVAL, "no cache directory: set HF_HUB_CACHE, HF_HOME or HOME");
        goto out;
    }
    c->token = resolve_token(o, hf_home);
    c->user_agent = o->user_agent ? tc_strdup(o->user_agent)
                                  : hub__strfmt("tchub/%s; libcurl/%s", TC_VERSION_STRING,
                                                curl_version_info(CURLVERSION_NOW)->version);
    if (!c->token || !c->user_agent)
        goto out;
    c->offline = o->offline == TC_HUB_OFFLINE_ENV
                     ? env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE")
                     : o->offline == TC_HUB_OFFLINE_YES;
    c->max_parallel = o->max_parallel ? o->max_parallel : 8;
    if (c->max_parallel > HUB_MAX_PARALLEL)
        c->max_parallel = HUB_MAX_PARALLEL;
    c->max_retries = o->max_retries ? o->max_retries : 5;
    c->retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 1000;
    c->retry_max_ms = o->retry_max_ms ? o->retry_max_ms : 8000;
    c->timeout_s = o->timeout_s ? o->timeout_s : 10;
    *out = c;
    c = NULL;
    rc = TC_OK;
out:
    tc_free(hf_home);
    tc_hub_client_free(c);
    return rc;
}

void tc_hub_client_free(tc_hub_client *c)
{
    if (!c)
        return;
    tc_free(c->endpoint);
    tc_free(c->token);
    tc_free(c->cache_dir);
    tc_free(c->user_agent);
    tc_free(c);
}

const char *tc_hub_client_endpoint(const tc_hub_client *c)
{
    return c ? c->endpoint : NULL;
}

const char *tc_hub_client_cache_dir(const tc_hub_client *c)
{
    return c ? c->cache_dir : NULL;
}

int tc_hub_client_offline(const tc_hub_client *c)
{
    return c ? c->offline : 0;
}

int tc_hub_client_has_token(const tc_hub_client *c)
{
    return c && c->token && *c->token;
}

int tc_hub_repo_folder(char **out, const tc_hub_client *c, tc_hub_repo_type type,
                       const char *repo_id)
{
    char *name;
    TC_ASSERT_ARG(out && c);
    if (!hub__valid_repo_id(repo_id))
        return tc_error_set(TC_EINVAL, "invalid repo id '%s'", repo_id ? repo_id : "(null)");
    name = hub__repo_folder_name(type, repo_id);
    if (!name)
        return TC_ENOMEM;
    *out = hub__strfmt("%s/%s", c->cache_dir, name);
    tc_free(name);
    return *out ? TC_OK : TC_ENOMEM;
}
