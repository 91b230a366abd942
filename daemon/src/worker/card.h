/*
 * card.h - the model card of a trained model: README.md (YAML front matter
 * the Hub reads, then the recipe, an evaluation table, the training curves
 * and how to load the model) and training_curves.svg (per-epoch losses and
 * validation metrics), both written into the trainer's output directory so
 * a push sends them with the weights. docs/model-card.md describes both.
 *
 * tcd_card_read_metric reads one metric back from a card's model-index; a
 * push with `when: improved` compares the new run against the remote card.
 */
#ifndef TCD_CARD_H
#define TCD_CARD_H

/* The largest README.md tcd_card_read_metric reads, and the largest metrics.json. */
#define TCD_CARD_MAX_BYTES (1u << 20)
#define TCD_CARD_MAX_METRICS_BYTES (16u << 20)

/* What goes into a card. Strings are borrowed; only out_dir and repo_id are required. */
typedef struct tcd_card_info {
    const char *out_dir;      /* trainer output: metrics.json, config.json, model.safetensors */
    const char *repo_id;      /* "org/name" the model is pushed to (for the load snippet) */
    const char *model_plugin; /* "mlp", "embedbag", "lstm", "distilbert", "bert";
                                 NULL: metrics.json's model_plugin */
    const char *data_plugin;  /* "idx", "text"; NULL: metrics.json's data_plugin */
    const char *dataset_id;   /* Hub dataset id or NULL (e.g. "zalando-datasets/fashion_mnist") */
    const char *base_model;   /* Hub id of the pretrained base, or NULL when trained from scratch */
    const char *license;      /* default "apache-2.0" when NULL */
    const char *pipeline_tag; /* "image-classification" or "text-classification"; NULL:
                                 text-classification for the text data plugin, else image */
    const char *spec_yaml;    /* the training spec text (YAML) or NULL */
    const char *spec_file;    /* file name of the spec as pushed beside the card, e.g.
                                 "tcd-spec.yaml", or NULL */
    int transformers_compatible; /* 1: add a transformers loading snippet and
                                    library_name transformers */
} tcd_card_info;

/*
 * Read out_dir/metrics.json and write out_dir/training_curves.svg, then
 * out_dir/README.md, each atomically. metrics.json's "history" (per-epoch
 * objects) is optional; null or missing values leave gaps.
 * @return TC_OK; TC_EINVAL (bad info), TC_ENOTFOUND (no metrics.json),
 *         TC_EFORMAT (metrics.json is not a JSON object), TC_ERANGE (too
 *         large), TC_ENOMEM or TC_EIO, with a message in the error slot
 */
int tcd_card_write(const tcd_card_info *info);

/*
 * Read the value of metric `type` (e.g. "accuracy") for dataset split
 * `split` (e.g. "test") from the model-index in the YAML front matter of the
 * card at readme_path; the first matching result wins. *out is written only
 * when found.
 * @return 1 found, 0 not found (no front matter, no model-index, no such
 *         metric or split); TC_ENOTFOUND when the file does not exist,
 *         TC_ERANGE when it is larger than TCD_CARD_MAX_BYTES, TC_EFORMAT
 *         for a malformed card (unterminated front matter, invalid YAML, a
 *         front matter that is not a mapping, model-index parts of the
 *         wrong type, a matching value that is not a number), TC_EIO
 */
int tcd_card_read_metric(const char *readme_path, const char *type, const char *split, double *out);

#endif /* TCD_CARD_H */
