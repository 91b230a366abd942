/*
 * tc/hub.h - the Hugging Face Hub client (libtchub): downloads and pushes.
 *
 * What it does: reads repo metadata (repo info, refs, the recursive tree
 * listing, the resolve HEAD of one file) and downloads one file or a whole
 * repo at a revision into the huggingface_hub cache, in exactly the layout
 * the Python client uses, so both reuse each other's downloads:
 *
 *   $HF_HUB_CACHE/CACHEDIR.TAG
 *   $HF_HUB_CACHE/.locks/models--ORG--NAME/<etag>.lock
 *   $HF_HUB_CACHE/models--ORG--NAME/blobs/<etag>          (datasets--ORG--NAME for datasets)
 *   $HF_HUB_CACHE/models--ORG--NAME/refs/<revision>       the 40-hex commit, no newline
 *   $HF_HUB_CACHE/models--ORG--NAME/snapshots/<commit>/<path> -> ../../blobs/<etag>
 *   $HF_HUB_CACHE/models--ORG--NAME/.no_exist/<commit>/<path>   (404 of a single-file lookup)
 *   $HF_HUB_CACHE/models--ORG--NAME/trees/<commit>.json   (the listing, for offline completeness)
 *
 * The etag names the blob: the sha256 of the content for LFS files, the git
 * blob sha1 otherwise. Snapshot entries are RELATIVE symlinks (one more "../"
 * per sub-folder of the path).
 *
 * Configuration comes from the environment exactly as huggingface_hub reads
 * it, each value overridable in tc_hub_options: HF_ENDPOINT (default
 * https://huggingface.co, trailing '/' dropped), HF_TOKEN (then the legacy
 * HUGGING_FACE_HUB_TOKEN, then the file $HF_TOKEN_PATH or $HF_HOME/token,
 * whitespace-trimmed), HF_HOME (default $XDG_CACHE_HOME/huggingface, else
 * ~/.cache/huggingface), HF_HUB_CACHE (then the legacy HUGGINGFACE_HUB_CACHE,
 * default $HF_HOME/hub) and HF_HUB_OFFLINE (1/ON/YES/TRUE, any case).
 *
 * Network behaviour: the token is sent as "Authorization: Bearer" only to the
 * endpoint's own scheme://host:port; redirects are followed by the library
 * itself (never by libcurl), so a 302 to a CDN host is requested without the
 * token. 408, 429, 500, 502, 503, 504 and connection errors are retried with
 * exponential backoff (1, 2, 4, 8, 8 s by default); a 429 waits for
 * Retry-After (seconds) or the RateLimit header's t=, plus one second. A
 * transfer broken mid-file resumes with "Range: bytes=N-"; the retry counter
 * resets whenever data arrives. A server that answers 200 to a ranged request
 * makes the file restart from zero.
 *
 * Resume and locking: a blob is written to blobs/<etag>.incomplete under an
 * exclusive flock(2) on .locks/<repo-folder>/<etag>.lock (the lock file
 * huggingface_hub 0.23-1.17 uses, so those versions and we exclude each other
 * too). A later run - another process, after a crash or a cancel - appends to
 * the .incomplete file with a Range request; for LFS files the existing
 * prefix is hashed first so the sha256 still covers the whole file. Another
 * downloader of the same blob (a thread of this process or another process)
 * waits for the lock, then finds the finished blob: one transfer per blob.
 * Only when the size (and for LFS files the sha256) match is the file fsynced
 * and renamed to blobs/<etag>. Where locks cannot be trusted - flock fails
 * with ENOLCK/EOPNOTSUPP/ENOSYS, or statfs(2) says NFS, CIFS/SMB, Lustre, GPFS,
 * CephFS or a FUSE mount - there is no cross-process resume: the blob goes to
 * a private blobs/<etag>.<random>.incomplete, is verified and renamed, and is
 * removed on failure; the notice callback says so once per download.
 *
 * Include/exclude patterns use huggingface_hub's fnmatch semantics: '*'
 * matches any run of characters INCLUDING '/', '?' one character, "[seq]" and
 * "[!seq]" a set; matching is case-sensitive; a pattern ending in '/' matches
 * everything below that folder ("sub/" == "sub/ *" without the space);
 * backslash is an ordinary character. A file is taken when it matches some
 * include pattern (or none are given) and no exclude pattern.
 *
 * Errors: functions return TC_OK or a negative tc_error_code and record a
 * one-line message (tc_error_message()) that names the repo, revision or file
 * and says what to do. tc_hub_error_kind_last() tells the Hub-level cause
 * apart (repo vs revision vs file not found, gated, bad token, no network,
 * disk full, ...).
 *
 * Threads: a tc_hub_client is used by one thread at a time; several clients
 * may run in parallel threads. Strings returned through char ** are owned by
 * the caller and released with tc_free; result structs with their _free.
 */
#ifndef TC_HUB_H
#define TC_HUB_H

#include <stddef.h>
#include <stdint.h>

#include <tc/common.h>
#include <tc/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The endpoint in effect: $HF_ENDPOINT, or "https://huggingface.co". Borrowed. */
TC_API const char *tc_hub_endpoint(void);

/** Repository types; the cache folder prefix is "<type>s--". */
typedef enum tc_hub_repo_type {
    TC_HUB_REPO_MODEL = 0,
    TC_HUB_REPO_DATASET = 1,
    TC_HUB_REPO_SPACE = 2,
    TC_HUB_REPO_TYPE_MAX
} tc_hub_repo_type;

/** The Hub-level cause of the last hub error on this thread. Never renumbered. */
typedef enum tc_hub_error_kind {
    TC_HUB_ERR_NONE = 0,               /* no hub error (or a plain argument/memory error) */
    TC_HUB_ERR_REPO_NOT_FOUND = 1,     /* RepoNotFound, or a 401 without a token: TC_ENOTFOUND */
    TC_HUB_ERR_REVISION_NOT_FOUND = 2, /* RevisionNotFound: TC_ENOTFOUND */
    TC_HUB_ERR_ENTRY_NOT_FOUND = 3, /* EntryNotFound (file missing at that commit): TC_ENOTFOUND */
    TC_HUB_ERR_GATED = 4,           /* GatedRepo, 401 or 403: TC_ERROR */
    TC_HUB_ERR_BAD_TOKEN = 5,       /* 401 with a token sent: TC_ERROR */
    TC_HUB_ERR_FORBIDDEN = 6,       /* other 403 (disabled repo, token scope): TC_ERROR */
    TC_HUB_ERR_NETWORK = 7,         /* cannot connect / resolve / timed out: TC_EIO */
    TC_HUB_ERR_DISK_FULL = 8,       /* ENOSPC or EDQUOT writing the cache: TC_EIO */
    TC_HUB_ERR_OFFLINE = 9,         /* offline (or no network) and not in the cache: TC_ENOTFOUND */
    TC_HUB_ERR_HTTP = 10,           /* another HTTP status, after retries: TC_ERROR */
    TC_HUB_ERR_INTEGRITY = 11,      /* size or sha256 mismatch, bad response: TC_EFORMAT */
    TC_HUB_ERR_CANCELLED = 12,      /* the cancel callback asked to stop: TC_ECANCELLED */
    TC_HUB_ERR_IO = 13,             /* another file-system error in the cache: TC_EIO */
    TC_HUB_ERR_CONFLICT = 14,       /* push: the branch moved and the push is not a fast-forward */
    TC_HUB_ERR_REJECTED = 15, /* push: the server refused the update (hook, protected branch) */
    TC_HUB_ERR_KIND_MAX
} tc_hub_error_kind;

/** The kind of the last error a tc_hub_ function recorded on this thread. */
TC_API tc_hub_error_kind tc_hub_error_kind_last(void);

/** A static name for a kind: "RepoNotFound", "RevisionNotFound", ... */
TC_API const char *tc_hub_error_kind_name(tc_hub_error_kind kind);

/** Offline mode selection in tc_hub_options. */
typedef enum tc_hub_offline {
    TC_HUB_OFFLINE_ENV = 0, /* from $HF_HUB_OFFLINE (the default) */
    TC_HUB_OFFLINE_NO = 1,
    TC_HUB_OFFLINE_YES = 2
} tc_hub_offline;

/**
 * Client options. NULL string fields mean "from the environment"; zero
 * numbers mean the default. Strings are copied by tc_hub_client_new.
 */
typedef struct tc_hub_options {
    unsigned int version;       /* TC_HUB_OPTIONS_VERSION */
    const char *endpoint;       /* default $HF_ENDPOINT or https://huggingface.co */
    const char *token;          /* default $HF_TOKEN, token file; "" = send no token */
    const char *hf_home;        /* default $HF_HOME (token file and default cache below it) */
    const char *cache_dir;      /* default $HF_HUB_CACHE or <hf_home>/hub */
    tc_hub_offline offline;     /* default TC_HUB_OFFLINE_ENV */
    unsigned int max_parallel;  /* concurrent file transfers, default 8, at most 64 */
    unsigned int max_retries;   /* retries per request, default 5 */
    unsigned int retry_base_ms; /* first backoff, default 1000; doubles */
    unsigned int retry_max_ms;  /* backoff cap, default 8000 (429 waits may be longer) */
    unsigned int timeout_s;     /* connect and stall timeout, default 10 */
    const char *user_agent;     /* default "tchub/<version>; libcurl/<version>" */
} tc_hub_options;

#define TC_HUB_OPTIONS_VERSION 1
#define TC_HUB_OPTIONS_INIT                                                                        \
    {                                                                                              \
        .version = TC_HUB_OPTIONS_VERSION                                                          \
    }

/** Initialise opts to the defaults. @return TC_OK, or TC_EINVAL for an unknown version. */
TC_API int tc_hub_options_init(tc_hub_options *opts, unsigned int version);

/** A Hub client: configuration plus a libcurl share. Opaque. */
typedef struct tc_hub_client tc_hub_client;

/**
 * Create a client.
 * @param out   receives the client; owned by the caller, release with tc_hub_client_free
 * @param opts  options or NULL for the defaults
 * @return TC_OK, TC_EINVAL (unknown options version, no cache directory),
 *         TC_ENOMEM
 */
TC_API int tc_hub_client_new(tc_hub_client **out, const tc_hub_options *opts);

/** Release a client. Accepts NULL. */
TC_API void tc_hub_client_free(tc_hub_client *client);

/** The endpoint the client talks to, without a trailing '/'. Borrowed from client. */
TC_API const char *tc_hub_client_endpoint(const tc_hub_client *client);

/** The cache directory ($HF_HUB_CACHE). Borrowed from client. */
TC_API const char *tc_hub_client_cache_dir(const tc_hub_client *client);

/** 1 when the client never touches the network, else 0. */
TC_API int tc_hub_client_offline(const tc_hub_client *client);

/** 1 when the client has a token to send, else 0. */
TC_API int tc_hub_client_has_token(const tc_hub_client *client);

/**
 * The cache folder of a repo: "<cache>/models--ORG--NAME" (or datasets--,
 * spaces--).
 * @param out  receives the path; free with tc_free
 * @return TC_OK, TC_EINVAL (empty id, or an id containing "--" or ".."), TC_ENOMEM
 */
TC_API int tc_hub_repo_folder(char **out, const tc_hub_client *client, tc_hub_repo_type type,
                              const char *repo_id);

/* ---- metadata ---------------------------------------------------------- */

/** One entry of a repo: a file of the tree listing. */
typedef struct tc_hub_file {
    char *path;       /* relative path in the repo, '/'-separated */
    uint64_t size;    /* real size (for LFS files the content, not the pointer) */
    char *oid;        /* git blob sha1 (for LFS files the sha1 of the pointer) */
    char *lfs_sha256; /* sha256 of the content for LFS files, else NULL */
} tc_hub_file;

/** A file listing. */
typedef struct tc_hub_tree {
    tc_hub_file *files;
    size_t count;
} tc_hub_tree;

/** Release a listing. Accepts NULL. */
TC_API void tc_hub_tree_free(tc_hub_tree *tree);

/** Repo info (GET /api/{type}s/{id}[/revision/{rev}]). */
typedef struct tc_hub_repo_info {
    char *id;        /* canonical id */
    char *sha;       /* the commit the revision resolved to (40 hex) */
    int is_private;  /* "private" */
    int gated;       /* 0 not gated, 1 "auto", 2 "manual" */
    int disabled;    /* "disabled" */
    char **siblings; /* rfilename of every file */
    size_t n_siblings;
} tc_hub_repo_info;

/**
 * Fetch repo info at a revision.
 * @param out       receives the info; release with tc_hub_repo_info_free
 * @param revision  branch, tag or commit; NULL = the default branch
 * @return TC_OK; TC_ENOTFOUND (kind REPO_NOT_FOUND, REVISION_NOT_FOUND);
 *         TC_ERROR (GATED, BAD_TOKEN, FORBIDDEN, HTTP); TC_EIO (NETWORK);
 *         TC_EFORMAT (bad JSON); TC_EUNSUPPORTED in offline mode (kind OFFLINE)
 */
TC_API int tc_hub_repo_info_get(tc_hub_repo_info **out, tc_hub_client *client,
                                tc_hub_repo_type type, const char *repo_id, const char *revision);

/** Release repo info. Accepts NULL. */
TC_API void tc_hub_repo_info_free(tc_hub_repo_info *info);

/** One ref (GET /api/{type}s/{id}/refs). */
typedef struct tc_hub_ref {
    char *name;          /* "main", "v1.0", "refs/convert/parquet" */
    char *ref;           /* fully qualified: "refs/heads/main" */
    char *target_commit; /* 40 hex */
} tc_hub_ref;

typedef struct tc_hub_refs {
    tc_hub_ref *branches;
    size_t n_branches;
    tc_hub_ref *tags;
    size_t n_tags;
    tc_hub_ref *converts;
    size_t n_converts;
} tc_hub_refs;

/**
 * List branches, tags and converts of a repo.
 * @param out  receives the refs; release with tc_hub_refs_free
 * @return as tc_hub_repo_info_get
 */
TC_API int tc_hub_refs_list(tc_hub_refs **out, tc_hub_client *client, tc_hub_repo_type type,
                            const char *repo_id);

/** Release refs. Accepts NULL. */
TC_API void tc_hub_refs_free(tc_hub_refs *refs);

/**
 * List the files of a repo at a revision, recursively, following the Link
 * rel="next" pagination (GET /api/{type}s/{id}/tree/{rev}[/{path}]?recursive=true).
 * Directory entries are left out.
 * @param out     receives the listing; release with tc_hub_tree_free
 * @param prefix  a folder to list, or NULL for the whole repo
 * @return as tc_hub_repo_info_get; TC_ERANGE above 1,000,000 entries
 */
TC_API int tc_hub_tree_list(tc_hub_tree **out, tc_hub_client *client, tc_hub_repo_type type,
                            const char *repo_id, const char *revision, const char *prefix);

/** What the resolve HEAD of one file says. */
typedef struct tc_hub_file_metadata {
    char commit[41]; /* X-Repo-Commit */
    char etag[65];   /* X-Linked-Etag, else ETag; without W/ and quotes */
    uint64_t size;   /* X-Linked-Size, else Content-Length */
    int is_lfs;      /* 1 when the etag came from X-Linked-Etag */
    char *location;  /* where to GET the content (CDN URL for LFS files); owned */
} tc_hub_file_metadata;

/**
 * HEAD the resolve URL of a file, following relative redirects only.
 * @param out  receives the metadata; release with tc_hub_file_metadata_free
 * @return TC_OK; TC_ENOTFOUND (REPO_NOT_FOUND, REVISION_NOT_FOUND,
 *         ENTRY_NOT_FOUND); TC_EFORMAT when X-Repo-Commit or the etag is
 *         missing; otherwise as tc_hub_repo_info_get
 */
TC_API int tc_hub_file_metadata_get(tc_hub_file_metadata **out, tc_hub_client *client,
                                    tc_hub_repo_type type, const char *repo_id,
                                    const char *revision, const char *path);

/** Release metadata. Accepts NULL. */
TC_API void tc_hub_file_metadata_free(tc_hub_file_metadata *meta);

/* ---- downloads --------------------------------------------------------- */

/** Progress of a download, passed to tc_hub_progress_cb. */
typedef struct tc_hub_progress {
    const char *path;     /* the file this update is about; NULL for overall updates */
    uint64_t file_done;   /* bytes of that file in the cache (resumed bytes included) */
    uint64_t file_total;  /* its size */
    uint64_t done;        /* bytes of all files to download so far */
    uint64_t total;       /* bytes of all files to download */
    size_t files_done;    /* files finished (downloaded or already cached) */
    size_t files_total;   /* files in the selection */
    uint64_t transferred; /* bytes actually received from the network so far */
} tc_hub_progress;

/** Progress callback, on the caller's thread: per file every 100 ms or 1 MiB, and at ends. */
typedef void (*tc_hub_progress_cb)(const tc_hub_progress *progress, void *payload);

/** Cancel callback, polled at least every 100 ms; return non-zero to stop. */
typedef int (*tc_hub_cancel_cb)(void *payload);

/** Notice callback: a one-line, non-fatal remark (e.g. "locks unreliable, no resume"). */
typedef void (*tc_hub_notice_cb)(const char *message, void *payload);

/** Download options. NULL means defaults. */
typedef struct tc_hub_download_options {
    unsigned int version;              /* TC_HUB_DOWNLOAD_OPTIONS_VERSION */
    const char *const *allow_patterns; /* include globs (see the module doc), or NULL */
    size_t n_allow;
    const char *const *ignore_patterns; /* exclude globs, or NULL */
    size_t n_ignore;
    unsigned int max_parallel; /* 0 = the client's */
    int force_download;        /* 1: drop cached blobs and partial files of the selection */
    tc_hub_progress_cb progress;
    tc_hub_cancel_cb cancel;
    tc_hub_notice_cb notice;
    void *payload; /* passed to the three callbacks */
} tc_hub_download_options;

#define TC_HUB_DOWNLOAD_OPTIONS_VERSION 1
#define TC_HUB_DOWNLOAD_OPTIONS_INIT                                                               \
    {                                                                                              \
        .version = TC_HUB_DOWNLOAD_OPTIONS_VERSION                                                 \
    }

/** Initialise opts to the defaults. @return TC_OK, or TC_EINVAL for an unknown version. */
TC_API int tc_hub_download_options_init(tc_hub_download_options *opts, unsigned int version);

/**
 * Download a repo at a revision into the cache (huggingface_hub's
 * snapshot_download). Resolves the revision to a commit (repo info), writes
 * refs/<revision>, lists the tree at the commit, and fetches the selected
 * files that are missing, max_parallel at a time, each into blobs/<etag> with
 * a relative symlink in snapshots/<commit>/. No network is used when the
 * revision is a 40-hex commit whose snapshot is complete (trees/<commit>.json
 * lists the files), nor in offline mode, where a branch or tag is looked up
 * in refs/. When the Hub cannot be reached the cache is used the same way.
 * @param out       receives "<repo-folder>/snapshots/<commit>"; free with tc_free
 * @param revision  branch, tag or commit; NULL = "main"
 * @param opts      download options or NULL
 * @return TC_OK; TC_ENOTFOUND (REPO_NOT_FOUND, REVISION_NOT_FOUND, OFFLINE);
 *         TC_ERROR (GATED, BAD_TOKEN, FORBIDDEN, HTTP); TC_EIO (NETWORK,
 *         DISK_FULL, IO); TC_EFORMAT (INTEGRITY); TC_ECANCELLED (partial
 *         files are kept for a later resume); TC_EINVAL
 */
TC_API int tc_hub_snapshot_download(char **out, tc_hub_client *client, tc_hub_repo_type type,
                                    const char *repo_id, const char *revision,
                                    const tc_hub_download_options *opts);

/**
 * Download one file into the cache (huggingface_hub's hf_hub_download):
 * resolve HEAD, refs/<revision>, the blob, the snapshot symlink. A 404
 * EntryNotFound writes the marker .no_exist/<commit>/<path>, and a later call
 * for that commit answers ENTRY_NOT_FOUND without the network (so optional
 * files are cheap to probe). A 40-hex revision with the file in the snapshot
 * needs no network.
 * @param out  receives the snapshot path of the file; free with tc_free
 * @return as tc_hub_snapshot_download, plus TC_ENOTFOUND (ENTRY_NOT_FOUND)
 */
TC_API int tc_hub_file_download(char **out, tc_hub_client *client, tc_hub_repo_type type,
                                const char *repo_id, const char *revision, const char *path,
                                const tc_hub_download_options *opts);

/* ---- pushes ----------------------------------------------------------- */

/*
 * A push makes one git commit on a branch of a Hub repo from the files of a
 * local folder and sends it the way stock git + git-lfs do (HUB-PROTOCOL.md
 * section 4):
 *
 *  1. POST /api/repos/create (private when asked); "already exists" is fine.
 *  2. The branch is fetched with libgit2 into a scratch bare repository
 *     under <cache>/.tcd-push/ (removed afterwards). A missing branch starts
 *     from the default branch's head, or from nothing in an empty repo.
 *  3. The tree of the new commit is the branch's tree with every selected
 *     file of the folder added or replaced (files of the branch that are not
 *     in the folder stay, as with huggingface_hub's upload_folder; remote
 *     files matching a delete pattern and absent from the folder go).
 *  4. Which files are LFS: those matched by a "filter=lfs" rule of the
 *     .gitattributes in effect (the folder's own, else the branch's, else
 *     the Hub's default list for new repos), plus any file over 10 MiB and
 *     any binary file (a NUL byte in its first 8000) of 1 MiB or more, which
 *     the Hub would refuse as a plain git blob: such files get a rule of
 *     their own appended to .gitattributes. Empty files are never LFS. An LFS
 *     file is committed as its pointer (version, oid sha256:..., size).
 *  5. LFS content goes first, through the batch API
 *     ({endpoint}/{prefix}{id}.git/info/lfs/objects/batch, Bearer token):
 *     objects the server already has come back without actions and are not
 *     sent again; the others are PUT (basic transfer) or sent in parts (the
 *     Hub's "multipart" transfer: a PUT per part, then the completion POST
 *     with the parts' ETags), then verified when the server asks for it.
 *  6. If the new tree equals the branch's tree nothing changed: no commit,
 *     no push, result.changed = 0.
 *  7. The commit is pushed over smart HTTP (the token as the Basic password).
 *     The push is refused with TC_HUB_ERR_CONFLICT when the branch moved since
 *     step 2 (someone pushed meanwhile), unless force is set, which replaces
 *     the remote branch with our commit. Running the push again after a
 *     conflict commits on top of the new head.
 *
 * An interrupted push can simply be run again: step 5 skips what the server
 * already stored.
 */

/** Stages of a push, reported through tc_hub_push_options.on_stage. */
typedef enum tc_hub_push_stage {
    TC_HUB_PUSH_CREATE = 0, /* creating the repo */
    TC_HUB_PUSH_FETCH = 1,  /* fetching the branch */
    TC_HUB_PUSH_HASH = 2,   /* hashing the folder's files */
    TC_HUB_PUSH_LFS = 3,    /* uploading LFS content */
    TC_HUB_PUSH_COMMIT = 4, /* writing the commit */
    TC_HUB_PUSH_GIT = 5     /* git push */
} tc_hub_push_stage;

/** Push options. NULL strings and zero numbers mean the defaults. */
typedef struct tc_hub_push_options {
    unsigned int version;              /* TC_HUB_PUSH_OPTIONS_VERSION */
    const char *branch;                /* default "main" */
    const char *message;               /* commit message, default "Upload folder with tcd" */
    const char *author_name;           /* default "tcd" */
    const char *author_email;          /* default "tcd@users.noreply.huggingface.co" */
    int is_private;                    /* when the repo is created */
    int force;                         /* replace the branch even if it moved */
    const char *const *allow_patterns; /* files of the folder to push (globs as downloads) */
    size_t n_allow;
    const char *const *ignore_patterns; /* files of the folder to leave out */
    size_t n_ignore;
    const char *const *delete_patterns; /* remote files to delete when not in the folder */
    size_t n_delete;
    int top_symlinks_only;       /* 1: follow symlinks at the folder's top level only; deeper
                                    ones are skipped (with a notice). 0: follow all (pulled
                                    snapshots are folders of symlinks) */
    tc_hub_progress_cb progress; /* per LFS file uploaded: bytes sent */
    tc_hub_cancel_cb cancel;
    tc_hub_notice_cb notice;
    void (*on_stage)(tc_hub_push_stage stage, void *payload);
    void *payload;
} tc_hub_push_options;

#define TC_HUB_PUSH_OPTIONS_VERSION 1
#define TC_HUB_PUSH_OPTIONS_INIT                                                                   \
    {                                                                                              \
        .version = TC_HUB_PUSH_OPTIONS_VERSION                                                     \
    }

/** Initialise opts to the defaults. @return TC_OK, or TC_EINVAL for an unknown version. */
TC_API int tc_hub_push_options_init(tc_hub_push_options *opts, unsigned int version);

/** What a push did. */
typedef struct tc_hub_push_result {
    char commit[41];         /* the branch head afterwards (the old head when unchanged) */
    int changed;             /* 1: a commit was made and pushed; 0: nothing changed */
    int created_repo;        /* 1: the repo was created by this push */
    size_t files;            /* files of the folder in the selection */
    size_t lfs_files;        /* of those, stored with LFS */
    size_t lfs_uploaded;     /* LFS objects sent */
    size_t lfs_skipped;      /* LFS objects the server already had */
    uint64_t bytes_uploaded; /* LFS bytes sent */
    char *url;               /* "<endpoint>/<prefix><id>/commit/<commit>"; free with tc_free */
} tc_hub_push_result;

/** Release what a result holds. Accepts NULL. */
TC_API void tc_hub_push_result_dispose(tc_hub_push_result *result);

/**
 * Push the files of a folder to a branch of a repo (see above). Needs a
 * token with write access.
 * @param out     filled on success; dispose with tc_hub_push_result_dispose
 * @param folder  a local directory; ".git" folders and non-regular files are skipped
 * @return TC_OK; TC_EINVAL (bad id, branch or folder, no token);
 *         TC_ENOTFOUND (REPO_NOT_FOUND); TC_ERROR (BAD_TOKEN, FORBIDDEN,
 *         CONFLICT, REJECTED, HTTP); TC_EIO (NETWORK, IO); TC_EFORMAT
 *         (INTEGRITY: a bad answer, or the server lost an uploaded object);
 *         TC_ECANCELLED; TC_EUNSUPPORTED in offline mode (kind OFFLINE)
 */
TC_API int tc_hub_push_folder(tc_hub_push_result *out, tc_hub_client *client, tc_hub_repo_type type,
                              const char *repo_id, const char *folder,
                              const tc_hub_push_options *opts);

/**
 * Match a repo path against one glob with huggingface_hub's semantics ('*'
 * crosses '/', see the module doc).
 * @return 1 on a match, else 0
 */
TC_API int tc_hub_glob_match(const char *pattern, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* TC_HUB_H */
