/* Unit tests of libtchub's pure helpers: sha256, globs, cache names, symlink targets, headers. */
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/hub.h>

#include "hub_internal.h"
#include "tc_test.h"

static void sha_hex(const char *data, size_t n, char hex[65])
{
    hub_sha256 s;
    hub__sha256_init(&s);
    hub__sha256_update(&s, data, n);
    hub__sha256_final(&s, hex);
}

static void test_hub_util__sha256_vectors(void)
{
    char hex[65];
    sha_hex("", 0, hex);
    TC_CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    sha_hex("abc", 3, hex);
    TC_CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    TC_CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

static void test_hub_util__sha256_million_a_streamed(void)
{
    char chunk[997], hex[65];
    hub_sha256 s;
    size_t left = 1000000;
    memset(chunk, 'a', sizeof(chunk));
    hub__sha256_init(&s);
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        hub__sha256_update(&s, chunk, n);
        left -= n;
    }
    hub__sha256_final(&s, hex);
    TC_CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

static void test_hub_util__glob(void)
{
    TC_CHECK(tc_hub_glob_match("*.json", "config.json"));
    TC_CHECK(tc_hub_glob_match("*.json", "sub/dir/config.json")); /* '*' crosses '/' */
    TC_CHECK(!tc_hub_glob_match("*.json", "config.jsonl"));
    TC_CHECK(tc_hub_glob_match("sub/", "sub/a/b.bin"));
    TC_CHECK(!tc_hub_glob_match("sub/", "other/sub/a"));
    TC_CHECK(tc_hub_glob_match("model-0000?-of-*.safetensors", "model-00001-of-00002.safetensors"));
    TC_CHECK(tc_hub_glob_match("[ab]*", "b.txt"));
    TC_CHECK(!tc_hub_glob_match("[!ab]*", "b.txt"));
    TC_CHECK(tc_hub_glob_match("[a-c].txt", "c.txt"));
    TC_CHECK(tc_hub_glob_match("[.txt", "[.txt")); /* unclosed '[' is literal */
    TC_CHECK(tc_hub_glob_match("a\\b", "a\\b"));   /* backslash is literal */
    TC_CHECK(!tc_hub_glob_match("*.JSON", "a.json"));
    TC_CHECK(tc_hub_glob_match("*", ""));
    TC_CHECK(tc_hub_glob_match("**/x", "a/b/x"));
}

static void test_hub_util__select(void)
{
    const char *allow[] = {"*.json", "sub/"}, *ignore[] = {"*secret*"};
    tc_hub_download_options o = TC_HUB_DOWNLOAD_OPTIONS_INIT;
    TC_CHECK(hub__select("anything", NULL));
    o.allow_patterns = allow, o.n_allow = 2, o.ignore_patterns = ignore, o.n_ignore = 1;
    TC_CHECK(hub__select("config.json", &o));
    TC_CHECK(hub__select("sub/x.bin", &o));
    TC_CHECK(!hub__select("x.bin", &o));
    TC_CHECK(!hub__select("sub/secret.json", &o));
}

static void test_hub_util__cache_names(void)
{
    char *s = hub__repo_folder_name(TC_HUB_REPO_MODEL, "org/name");
    TC_CHECK(s && !strcmp(s, "models--org--name"));
    tc_free(s);
    s = hub__repo_folder_name(TC_HUB_REPO_DATASET, "org/data");
    TC_CHECK(s && !strcmp(s, "datasets--org--data"));
    tc_free(s);
    s = hub__repo_folder_name(TC_HUB_REPO_MODEL, "gpt2");
    TC_CHECK(s && !strcmp(s, "models--gpt2"));
    tc_free(s);
    TC_CHECK(hub__valid_repo_id("org/na.me_1"));
    TC_CHECK(!hub__valid_repo_id("org--x/name"));
    TC_CHECK(!hub__valid_repo_id("../x"));
    TC_CHECK(!hub__valid_repo_id("a/b/c"));
    TC_CHECK(!hub__valid_rel_path("a/../b"));
    TC_CHECK(!hub__valid_rel_path("/abs"));
    TC_CHECK(hub__valid_rel_path("a/b.c"));
    TC_CHECK(hub__is_commit("0123456789abcdef0123456789abcdef01234567"));
    TC_CHECK(!hub__is_commit("main"));
    TC_CHECK(!hub__is_commit("0123456789ABCDEF0123456789abcdef01234567"));
}

static void test_hub_util__symlink_target(void)
{
    char *s = hub__symlink_target("config.json", "abc");
    TC_CHECK(s && !strcmp(s, "../../blobs/abc"));
    tc_free(s);
    s = hub__symlink_target("a/b/c.bin", "abc");
    TC_CHECK(s && !strcmp(s, "../../../../blobs/abc"));
    tc_free(s);
}

static void test_hub_util__etag(void)
{
    char e[65];
    TC_CHECK(hub__normalize_etag(e, sizeof(e), "\"a16a55fda99d2f2e7b69cce5cf93ff4ad3049930\"") ==
                 0 &&
             !strcmp(e, "a16a55fda99d2f2e7b69cce5cf93ff4ad3049930"));
    TC_CHECK(hub__normalize_etag(e, sizeof(e), "W/\"abc123\"") == 0 && !strcmp(e, "abc123"));
    TC_CHECK(hub__normalize_etag(e, sizeof(e), " abc ") == 0 && !strcmp(e, "abc"));
    TC_CHECK(hub__normalize_etag(e, sizeof(e), "\"../x\"") != 0);
    TC_CHECK(hub__normalize_etag(e, sizeof(e), "\"\"") != 0);
    TC_CHECK(hub__normalize_etag(e, sizeof(e), NULL) != 0);
}

static void test_hub_util__headers(void)
{
    char *n = hub__link_next("<https://h/api/x?cursor=a>; rel=\"prev\", "
                             "<https://h/api/x?cursor=b>; rel=\"next\"");
    char o[256], *j;
    TC_CHECK(n && !strcmp(n, "https://h/api/x?cursor=b"));
    tc_free(n);
    TC_CHECK(hub__link_next("<https://h/x>; rel=\"prev\"") == NULL);
    TC_CHECK(hub__retry_wait_ms("2", NULL) == 3000);
    TC_CHECK(hub__retry_wait_ms(NULL, "\"api\";r=0;t=4") == 5000);
    TC_CHECK(hub__retry_wait_ms("1", "\"api\";r=5;t=4") == 2000);
    TC_CHECK(hub__retry_wait_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL) == -1);
    TC_CHECK(hub__url_origin(o, sizeof(o), "HTTP://Example.com:81/a?b") == 0 &&
             !strcmp(o, "http://example.com:81"));
    j = hub__url_join("http://h:1/a/b?c", "/x/y");
    TC_CHECK(j && !strcmp(j, "http://h:1/x/y"));
    tc_free(j);
    j = hub__url_join("http://h:1/a/b", "https://cdn/z");
    TC_CHECK(j && !strcmp(j, "https://cdn/z"));
    tc_free(j);
    j = hub__url_quote("refs/pr/1", 0);
    TC_CHECK(j && !strcmp(j, "refs%2Fpr%2F1"));
    tc_free(j);
    j = hub__url_quote("a b/c.json", 1);
    TC_CHECK(j && !strcmp(j, "a%20b/c.json"));
    tc_free(j);
}

static void test_hub_util__tree_json_roundtrip(void)
{
    tc_hub_file f[2] = {{"a.json", 5, "1111", NULL}, {"d/b.bin", 3000000, "2222", "abcd"}};
    tc_hub_tree t = {f, 2}, *back = NULL;
    char *json = NULL;
    TC_CHECK_OK(hub__tree_to_json(&json, &t));
    TC_CHECK_OK(hub__tree_from_json(&back, json, strlen(json)));
    TC_CHECK(back && back->count == 2 && back->files[1].size == 3000000 &&
             back->files[1].lfs_sha256 && !strcmp(back->files[1].lfs_sha256, "abcd") &&
             !back->files[0].lfs_sha256);
    tc_hub_tree_free(back);
    tc_free(json);
}

static void test_hub_util__options(void)
{
    tc_hub_options o;
    tc_hub_client *c = NULL;
    char *folder = NULL;
    TC_CHECK_OK(tc_hub_options_init(&o, TC_HUB_OPTIONS_VERSION));
    TC_CHECK_ERR(tc_hub_options_init(&o, 99), TC_EINVAL);
    o.endpoint = "http://127.0.0.1:9/";
    o.cache_dir = "/tmp/x-cache";
    o.token = "";
    o.offline = TC_HUB_OFFLINE_YES;
    TC_CHECK_OK(tc_hub_client_new(&c, &o));
    TC_CHECK(c && !strcmp(tc_hub_client_endpoint(c), "http://127.0.0.1:9"));
    TC_CHECK(tc_hub_client_offline(c) == 1 && tc_hub_client_has_token(c) == 0);
    TC_CHECK_OK(tc_hub_repo_folder(&folder, c, TC_HUB_REPO_DATASET, "o/n"));
    TC_CHECK(folder && !strcmp(folder, "/tmp/x-cache/datasets--o--n"));
    tc_free(folder);
    tc_hub_client_free(c);
    setenv("HF_HOME", "/tmp/hfhome-x", 1);
    setenv("HF_TOKEN", "hf_abc", 1);
    unsetenv("HF_HUB_CACHE");
    unsetenv("HF_HUB_OFFLINE");
    TC_CHECK_OK(tc_hub_client_new(&c, NULL));
    TC_CHECK(c && !strcmp(tc_hub_client_cache_dir(c), "/tmp/hfhome-x/hub"));
    TC_CHECK(tc_hub_client_has_token(c) && !tc_hub_client_offline(c));
    tc_hub_client_free(c);
}

/* git's attribute patterns, as `git check-attr` reads them. */
static void test_hub_util__gitattributes(void)
{
    static const char attrs[] = "*.bin filter=lfs diff=lfs merge=lfs -text\n"
                                "# comment *.txt filter=lfs\n"
                                "saved_model/**/* filter=lfs\n"
                                "*tfevents* filter=lfs\n"
                                "/top.dat filter=lfs\n"
                                "keep.bin -filter\n"
                                "docs/ filter=lfs\n"
                                "/a[[:space:]]b.txt filter=lfs\n"
                                "sub/*.pt filter=lfs\n";
    TC_CHECK(hub__wildmatch("*.bin", "w.bin") && hub__wildmatch("*.bin", "deep/dir/w.bin"));
    TC_CHECK(!hub__wildmatch("*.bin", "w.bin.txt"));
    TC_CHECK(hub__wildmatch("saved_model/**/*", "saved_model/x") &&
             hub__wildmatch("saved_model/**/*", "saved_model/a/b/c"));
    TC_CHECK(!hub__wildmatch("saved_model/**/*", "other/saved_model/x"));
    TC_CHECK(hub__wildmatch("**/x.y", "x.y") && hub__wildmatch("**/x.y", "a/b/x.y"));
    TC_CHECK(hub__wildmatch("a/**", "a/b/c") && !hub__wildmatch("a/**", "b/a/c"));
    TC_CHECK(hub__wildmatch("sub/*.pt", "sub/w.pt") && !hub__wildmatch("sub/*.pt", "sub/d/w.pt"));
    TC_CHECK(hub__wildmatch("[a-c]?.txt", "bx.txt") && !hub__wildmatch("[!a-c]?.txt", "bx.txt"));
    TC_CHECK(hub__wildmatch("/\\*lit", "*lit") && !hub__wildmatch("/\\*lit", "xlit"));
    TC_CHECK(hub__wildmatch("[unterminated", "[unterminated"));
    TC_CHECK(hub__attr_is_lfs(attrs, "model.bin") && hub__attr_is_lfs(attrs, "a/b/model.bin"));
    TC_CHECK(!hub__attr_is_lfs(attrs, "keep.bin")); /* a later -filter wins */
    TC_CHECK(hub__attr_is_lfs(attrs, "sub/keep.bin") == 0);
    TC_CHECK(!hub__attr_is_lfs(attrs, "notes.txt"));
    TC_CHECK(hub__attr_is_lfs(attrs, "runs/events.out.tfevents.1"));
    TC_CHECK(hub__attr_is_lfs(attrs, "top.dat") && !hub__attr_is_lfs(attrs, "x/top.dat"));
    TC_CHECK(!hub__attr_is_lfs(attrs, "docs/readme.md")); /* folder patterns: not recursive */
    TC_CHECK(hub__attr_is_lfs(attrs, "a b.txt") && !hub__attr_is_lfs(attrs, "ab.txt"));
    TC_CHECK(hub__attr_is_lfs(attrs, "saved_model/variables/v.data"));
    TC_CHECK(!hub__attr_is_lfs("", "x.bin") && !hub__attr_is_lfs("*.bin\n", "x.bin"));
}

static const tc_test_case tests[] = {
    TC_TEST(test_hub_util__gitattributes),
    TC_TEST(test_hub_util__sha256_vectors),
    TC_TEST(test_hub_util__sha256_million_a_streamed),
    TC_TEST(test_hub_util__glob),
    TC_TEST(test_hub_util__select),
    TC_TEST(test_hub_util__cache_names),
    TC_TEST(test_hub_util__symlink_target),
    TC_TEST(test_hub_util__etag),
    TC_TEST(test_hub_util__headers),
    TC_TEST(test_hub_util__tree_json_roundtrip),
    TC_TEST(test_hub_util__options),
};

TC_TEST_MAIN(tests)
