/*
 * textmodel.h - what the text model plugins (embedbag, lstm) share: their
 * tokenizer (loaded, or a word-level vocabulary built from the training
 * texts the host offers), batch encoding with per-batch padding, embedding
 * initialisation with optional pretrained word vectors, and saving and
 * checking the tokenizer beside the weights. Compiled into each plugin.
 */
#ifndef TC_PLUGINS_TEXTMODEL_H
#define TC_PLUGINS_TEXTMODEL_H

#include <cjson/cJSON.h>

#include <tc/plugin.h>
#include <tc/tokenizer.h>

/* The tokenizer options every text model declares (append them to its own table). */
#define TM_TOKENIZER_OPTIONS                                                                       \
    {"tokenizer",                                                                                  \
     TC_OPTION_STRING,                                                                             \
     NULL,                                                                                         \
     "tokenizer.json, vocab.txt or a folder with one; default: a word-level vocabulary built "     \
     "from the training texts",                                                                    \
     1,                                                                                            \
     0},                                                                                           \
        {"min_freq", TC_OPTION_INT,                                                                \
         "2",        "built vocabulary: words seen fewer times in training are <unk>",             \
         1,          1e9},                                                                         \
        {"max_vocab",                                                                              \
         TC_OPTION_INT,                                                                            \
         "50000",                                                                                  \
         "built vocabulary: the most frequent words kept, <pad> and <unk> included (0: all)",      \
         0,                                                                                        \
         4194304},                                                                                 \
        {"lowercase", TC_OPTION_BOOL,                                                              \
         "true",      "built vocabulary: lowercase and strip accents",                             \
         1,           0},                                                                          \
    {                                                                                              \
        "vectors", TC_OPTION_STRING, NULL,                                                         \
            "pretrained word vectors (GloVe or word2vec text, .gz allowed) for the embeddings", 1, \
            0                                                                                      \
    }

/* A batch's token ids, allocated in the step's graph arena. */
typedef struct tm_ids {
    int32_t *ids;     /* (B, T) padded with pad_id, or the concatenation when not padded */
    int32_t *lengths; /* (B) tokens of each text (pairs: both parts) */
    int64_t *offsets; /* (B + 1) start of each row in ids when not padded */
    int64_t B, T, n;  /* rows, padded length, ids in all */
} tm_ids;

/*
 * The model's tokenizer: the "tokenizer" option's file, or a word-level
 * vocabulary built from data->train_texts with min_freq, max_vocab and
 * lowercase. who names the plugin in messages.
 */
int tm_tokenizer_make(tc_tokenizer **out, const tc_options *o, const tc_data_info *data,
                      const tc_host *host, const char *who);

/*
 * Encode a batch (pairs joined as the tokenizer's post-processor does, or
 * one after the other without one), each text cut to max_length tokens
 * (0: no cut). padded: (B, T) with T the longest of the batch; else the ids
 * one row after another with offsets.
 */
int tm_encode(tm_ids *out, tc_graph *g, const tc_tokenizer *tok, const tc_batch *b,
              int32_t max_length, int padded);

/*
 * Initialise an embedding table (V, D): N(0, std) per element, the pad row
 * zero, then the rows of words found in the "vectors" file when given.
 */
int tm_init_embeddings(tc_tensor *table, const tc_tokenizer *tok, const char *vectors, float std,
                       tc_rng *rng, const tc_host *host, const char *who);

/* The token limit: the model's max_length option when set, else data.max_length when the data asks
 * for one, else the option's default. */
int32_t tm_max_length(const tc_options *o, const tc_data_info *data);

/*
 * Save a text model into DIR: root (the model's own config.json keys; ok is
 * 0 when building it ran out of memory) gets pad_token_id, the labels,
 * torch_dtype and tc_version and is written as DIR/config.json, the
 * tokenizer as DIR/tokenizer.json. Takes root.
 */
int tm_save(const char *dir, cJSON *root, int ok, char *const *label_names, int32_t L,
            const tc_tokenizer *tok);

/*
 * Load DIR/model.safetensors into params, after checking that DIR's
 * tokenizer.json (when present) holds the same vocabulary as the model's:
 * otherwise the rows would mean other words.
 */
int tm_load_pretrained(tc_params *params, const tc_tokenizer *tok, const char *dir,
                       const char *who);

/* Log a line through the host, printf style. */
void tm_log(const tc_host *host, tc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TC_PLUGINS_TEXTMODEL_H */
