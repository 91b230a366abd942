/*
 * tc/plugin.h - the plugin ABI: what a data or model plugin implements, and
 * what the host (tcd-worker) offers it.
 *
 * A plugin is a shared object that exports exactly one function,
 * tc_plugin_entry(host_abi_major, host_abi_minor), returning a pointer to a
 * static const tc_plugin_desc (or NULL to refuse that host). The host checks
 * struct_size and the ABI version before touching anything else: a different
 * major, or a minor newer than the host's, is refused with a message naming
 * both versions.
 *
 * Stability: every struct here begins with its own size and only grows at the
 * end; the host reads min(its size, the plugin's size) and treats missing
 * trailing fields as NULL/0. Optional vtable entries say what NULL means.
 *
 * Options are declared in the descriptor with a type, default, help and
 * bounds; the host parses and validates the job spec's values before the
 * plugin sees them, so a plugin reads typed values and never parses strings.
 *
 * Ownership: memory a plugin allocates is freed by the plugin; SDK objects
 * are freed with their _free function. Plugins must not exit() or abort() on
 * bad input: they return a negative tc_error_code after tc_error_set().
 */
#ifndef TC_PLUGIN_H
#define TC_PLUGIN_H

#include <tc/common.h>
#include <tc/error.h>
#include <tc/params.h>
#include <tc/rng.h>
#include <tc/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_PLUGIN_ABI_MAJOR 1
#define TC_PLUGIN_ABI_MINOR 1
#define TC_PLUGIN_ENTRY_SYMBOL "tc_plugin_entry"
#define TC_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef enum tc_plugin_kind {
    TC_PLUGIN_DATA = 1,
    TC_PLUGIN_MODEL = 2,
    TC_PLUGIN_KIND_MAX
} tc_plugin_kind;

/* ---- options -------------------------------------------------------------------------- */

typedef enum tc_option_type {
    TC_OPTION_INT = 1,    /* 64-bit integer */
    TC_OPTION_FLOAT = 2,  /* double */
    TC_OPTION_BOOL = 3,   /* true/false, yes/no, on/off, 1/0 */
    TC_OPTION_STRING = 4, /* UTF-8 text */
    TC_OPTION_TYPE_MAX
} tc_option_type;

/** One declared option. Bounds apply to INT and FLOAT when min <= max. */
typedef struct tc_option_spec {
    const char *name; /* [a-z0-9_]+ */
    tc_option_type type;
    const char
        *default_value; /* text form, parsed like a user value; NULL = no default (optional) */
    const char *help;   /* one line */
    double min, max;    /* inclusive bounds; min > max means unbounded */
} tc_option_spec;

/** Validated option values for one plugin instance. */
typedef struct tc_options tc_options;

/*
 * Typed getters. The name must be declared by the plugin with that type (a
 * mismatch is a plugin bug and returns 0/NULL). Strings are borrowed.
 */
TC_API int64_t tc_options_int(const tc_options *o, const char *name);
TC_API double tc_options_float(const tc_options *o, const char *name);
TC_API int tc_options_bool(const tc_options *o, const char *name);
TC_API const char *tc_options_string(const tc_options *o, const char *name);
/** 1 when the job spec set the option, 0 when the default (or nothing) applies. */
TC_API int tc_options_is_set(const tc_options *o, const char *name);

/* ---- the host table ------------------------------------------------------------------- */

typedef enum tc_log_level {
    TC_LOG_DEBUG = 0,
    TC_LOG_INFO = 1,
    TC_LOG_WARN = 2,
    TC_LOG_ERROR = 3
} tc_log_level;

/** Services of the running job, passed to open/create. Entries may be NULL. */
typedef struct tc_host {
    uint32_t struct_size;
    uint32_t abi_major, abi_minor;
    void *ctx; /* first argument of every callback */
    void (*log)(void *ctx, tc_log_level level, const char *message);
    void (*progress)(void *ctx, const char *phase, int64_t completed, int64_t total,
                     const char *unit);
    void (*metric)(void *ctx, const char *name, double value, int64_t step, int32_t epoch);
    /* Nonzero once the job has been asked to stop; poll in long loops. */
    int (*is_cancelled)(void *ctx);
    /* Directory where the job's output goes (borrowed), or NULL. */
    const char *(*artifact_dir)(void *ctx);
} tc_host;

/* ---- data plugins --------------------------------------------------------------------- */

typedef enum tc_input_kind { TC_INPUT_TENSOR = 0, TC_INPUT_TEXT = 1 } tc_input_kind;

typedef enum tc_split {
    TC_SPLIT_TRAIN = 0,
    TC_SPLIT_VALIDATION = 1,
    TC_SPLIT_TEST = 2,
    TC_SPLIT_MAX
} tc_split;

#define TC_DATA_MAX_LABELS 65536

/**
 * The texts of the training examples, offered to a model's create (ABI 1.1)
 * so that it can build a vocabulary from exactly the examples it will be
 * trained on (tc_dataset_train_corpus makes one: the train split less the
 * validation fraction the trainer holds out).
 */
typedef struct tc_text_corpus {
    uint32_t struct_size;
    int64_t n;        /* examples */
    int32_t fields;   /* texts per example: 1, or 2 for pairs */
    int64_t max_read; /* the most examples one read may ask for */
    void *ctx;        /* first argument of read */
    /*
     * Read examples [first, first + n): texts receives n * fields pointers,
     * the first texts of the n examples, then (pairs) their second texts.
     * Borrowed until the next read. 1 <= n <= max_read.
     */
    int (*read)(void *ctx, int64_t first, int64_t n, const char **texts);
} tc_text_corpus;

/** What a dataset holds. Borrowed pointers live until close. */
typedef struct tc_data_info {
    tc_input_kind input;
    int32_t feature_ndim;               /* tensor input: dimensions of one example */
    int64_t feature_shape[TC_MAX_DIMS]; /* e.g. {28, 28} */
    int32_t num_labels;                 /* classes, 1..TC_DATA_MAX_LABELS */
    /* num_labels names, or NULL for "0", "1", ...; valid until close, so models copy them */
    const char *const *label_names;
    int64_t split_size[TC_SPLIT_MAX]; /* examples per split; 0 when the split is absent */
    /* ABI 1.1; zero from older plugins. */
    int32_t text_fields; /* text input: texts per example, 1 (0 means 1) or 2 for pairs */
    /*
     * Text input: the token limit the data asks for (e.g. data.max_length:
     * 128), 0 for none. A model cuts texts to it unless told otherwise.
     */
    int32_t max_length;
    /*
     * Set by the host, not the data plugin: the training texts when the host
     * offers them to a model's create (text input), else NULL.
     */
    const tc_text_corpus *train_texts;
} tc_data_info;

typedef struct tc_data_vtable {
    uint32_t struct_size;
    /* Open the dataset. *out is the plugin's state, passed back to every entry. */
    int (*open)(void **out, const tc_options *opts, const tc_host *host);
    /* Describe it (see tc_data_info). */
    int (*describe)(void *self, tc_data_info *out);
    /*
     * Read n examples of a split by index. Tensor input: features receives
     * (n, F) floats, F = product(feature_shape). Text input: texts receives n
     * pointers, borrowed until the next read (2n for pairs: the n first
     * texts, then the n second texts). labels receives n ids.
     */
    int (*read)(void *self, tc_split split, const int64_t *indices, int64_t n, float *features,
                const char **texts, int32_t *labels);
    /* A short stable string identifying the data's content (commit sha, hash). May be NULL. */
    int (*fingerprint)(void *self, char *out, size_t cap);
    void (*close)(void *self);
} tc_data_vtable;

/* ---- model plugins -------------------------------------------------------------------- */

/** One batch as the trainer hands it to forward. */
typedef struct tc_batch {
    int64_t size;             /* B */
    const float *features;    /* (B, F) for tensor input, else NULL */
    const char *const *texts; /* B strings for text input, else NULL */
    const int32_t *labels;    /* (B) */
    /* ABI 1.1: B second texts of pairs (text_fields 2), else NULL. */
    const char *const *pairs;
    /*
     * ABI 1.1: token input instead of texts (texts NULL), e.g. from
     * `tcd-worker forward`: (B, seq_len) ids already tokenized and padded,
     * the attention mask (1 token, 0 padding; NULL: all 1) and the token
     * type ids (NULL: all 0). A model that only reads texts refuses it.
     */
    const int32_t *input_ids;
    const int32_t *attention_mask;
    const int32_t *token_type_ids;
    int64_t seq_len;
} tc_batch;

typedef struct tc_model_vtable {
    uint32_t struct_size;
    /*
     * Create the model for a dataset: declare every parameter in params
     * (HF names; TC_TENSOR_NO_DECAY on biases and norms) and initialise them
     * from init_rng.
     */
    int (*create)(void **out, const tc_options *opts, const tc_data_info *data, tc_params *params,
                  tc_rng *init_rng, const tc_host *host);
    /* Load pretrained weights from an HF-layout directory. NULL: not supported. */
    int (*load_pretrained)(void *self, const char *dir);
    /* Forward a batch to logits (B, num_labels) allocated in g. */
    int (*forward)(void *self, tc_graph *g, const tc_batch *batch, tc_tensor **out_logits);
    /* Save in HF layout into an existing dir: config.json (+ tokenizer files). */
    int (*save)(void *self, const char *dir);
    void (*destroy)(void *self);
} tc_model_vtable;

/* ---- the descriptor ------------------------------------------------------------------- */

typedef struct tc_plugin_desc {
    uint32_t struct_size; /* sizeof(tc_plugin_desc) the plugin was built with */
    uint32_t abi_major;   /* TC_PLUGIN_ABI_MAJOR */
    uint32_t abi_minor;   /* TC_PLUGIN_ABI_MINOR */
    const char *name;     /* [a-z0-9_-]+, unique among plugins */
    const char *version;
    const char *license; /* SPDX identifier */
    const char *description;
    tc_plugin_kind kind;
    const tc_option_spec *options;
    uint32_t n_options;
    const void *vtable; /* const tc_data_vtable * or const tc_model_vtable *, by kind */
} tc_plugin_desc;

typedef const tc_plugin_desc *(*tc_plugin_entry_fn)(uint32_t host_abi_major,
                                                    uint32_t host_abi_minor);

/* ---- host side: loading and validating plugins ----------------------------------------- */

typedef struct tc_plugin tc_plugin;

/**
 * Load a plugin file with dlopen(RTLD_NOW | RTLD_LOCAL), find tc_plugin_entry
 * and validate the descriptor and its vtable. The plugin is never unloaded
 * (the worker process exits instead), but the tc_plugin object is freed.
 * @return TC_OK; TC_ENOTFOUND (file, or no entry symbol), TC_EABI (version
 *         mismatch: the message names both versions), TC_EFORMAT (bad descriptor)
 */
TC_API int tc_plugin_load(tc_plugin **out, const char *path);

/** Release the tc_plugin object (the code stays loaded). Accepts NULL. */
TC_API void tc_plugin_free(tc_plugin *p);

/** The descriptor (borrowed) and the path it was loaded from (borrowed). */
TC_API const tc_plugin_desc *tc_plugin_descriptor(const tc_plugin *p);
TC_API const char *tc_plugin_path(const tc_plugin *p);

/**
 * Find a plugin by name: a name containing '/' is a path; otherwise look for
 * NAME.so in each directory of $TCD_PLUGIN_PATH (colon-separated), then in
 * the plugin directory of this libtc (../lib/tcd/plugins relative to
 * libtc.so, so installs are relocatable), then in extra_dir if not NULL.
 * @param out receives a tc_malloc'd path (free with tc_free)
 */
TC_API int tc_plugin_find(char **out, const char *name, const char *extra_dir);

/** The default plugin directory next to this libtc (tc_malloc'd), or NULL. */
TC_API char *tc_plugin_default_dir(void);

/**
 * Parse and validate option values for a plugin: kv is n pairs of
 * (name, value) strings. Unknown names and ill-typed or out-of-bounds values
 * are TC_EINVAL with a message naming the option and the expected type.
 * Options not given take their defaults.
 */
TC_API int tc_options_parse(tc_options **out, const tc_plugin_desc *desc, const char *const *kv,
                            size_t n_kv);

/** Release option values. Accepts NULL. */
TC_API void tc_options_free(tc_options *o);

/** The name of an option type ("int", "float", "bool", "string"). */
TC_API const char *tc_option_type_name(tc_option_type t);

#ifdef __cplusplus
}
#endif

#endif /* TC_PLUGIN_H */
