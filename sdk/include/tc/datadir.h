/*
 * tc/datadir.h - the layout of a Hugging Face Hub dataset folder: its splits, their data
 * files and the class label names its dataset card declares.
 *
 * Give a folder (a local folder, a `git clone` of a dataset repository or of its
 * refs/convert/parquet branch, or a snapshot in the huggingface_hub cache, whose files are
 * symlinks into ../../blobs) and get the files of each split, ready for tc_table_open_files():
 *
 *     tc_datadir *d = NULL;
 *     tc_table *t = NULL;
 *     int s;
 *
 *     if (tc_datadir_open(&d, "/data/spam", NULL) < 0)
 *         goto fail;                                  (tc_error_message() says why)
 *     s = tc_datadir_split_find(d, "train");
 *     if (s < 0 || tc_table_open_files(&t, tc_datadir_files(d, (size_t)s),
 *                                      tc_datadir_file_count(d, (size_t)s), NULL) < 0)
 *         goto fail;
 *
 * The layout is found as the Hugging Face `datasets` library finds it (data_files.py), by
 * the first of these rules that applies (tc_datadir_rule() names it):
 *
 * 1. "card configs": the dataset card (README.md at the top of the folder, YAML front matter
 *    between two `---` lines) has `configs:`, a list of {config_name, data_files, data_dir,
 *    default}. data_files is a glob pattern (a string: the "train" split), a list of patterns
 *    (all "train"), a list of {split, path} where path is a pattern or a list of them, or a
 *    mapping {split: pattern or list}. Patterns are relative to the folder (to data_dir when
 *    given) and use `*`, `?` and `[...]` within one path component (fnmatch(3)) and `**` as a
 *    whole component for any number of directories (at the end of a pattern: one or more
 *    components, so `**` after `data/` is every file under data/). A config without data_files has
 *    the files of data_dir (or of the folder) laid out by rule 3. The config is the one
 *    asked for, else the one with `default: true`, else the only one, else the one named
 *    "default". Split names are kept as written.
 * 2. "parquet-converter": a checkout of the Hub's refs/convert/parquet branch, where every
 *    data file is `{config}/{split}/NNNN.parquet`, `{config}/partial-{split}/NNNN.parquet` (a
 *    split converted in part; ignored when the full `{config}/{split}/` is there too), or the
 *    older `{config}/{dataset}-{split}.parquet` and
 *    `{config}/{dataset}-{split}-NNNNN-of-NNNNN.parquet`. The config is the one asked for,
 *    else "default", else the only one. Split names are kept as written.
 * 3. "file names": `data/{split}-NNNNN-of-NNNNN.*` names any split ("data/train-00000-of-
 *    00001.parquet"); else split keywords in directory names, and if none, in file names:
 *    train, training -> "train"; validation, valid, dev, val -> "validation"; test, testing,
 *    eval, evaluation -> "test", where the keyword is a whole path component or is delimited
 *    within it by one of `-._ 0-9` ("data/dev/x.csv", "my_data-validation.jsonl",
 *    "testing.tsv"; not "fooTrainbar.csv"). Matching is case-sensitive. A file may land in
 *    two splits ("train_test.csv"), as in `datasets`.
 * 4. "all files as train": no file names a split, so every data file is "train".
 * Rules 3 and 4 have one config, "default". Splits of rules 2 and 3 come in the order train,
 * validation, test, then the others sorted.
 *
 * Data files are the files `<tc/table.h>` reads, by extension (any case): .parquet, .csv,
 * .tsv, .jsonl, .ndjson and .json. Other files are ignored, and so are files and directories
 * whose name starts with '.', files under a directory whose name starts with "__" (unless a
 * card pattern names such a directory), and README.md, config.json, dataset_info.json,
 * dataset_infos.json and dataset_dict.json anywhere (unless a card pattern
 * names the file). Symlinks are followed (stat, not lstat); a directory that links back to one
 * of its ancestors is not entered twice. The files of a split are sorted by path (byte
 * order), without duplicates, and all have one format (the JSON extensions count as one).
 * Paths are absolute and keep the folder's own names (a symlink's name, not its blob's), so
 * the extension still tells the format.
 *
 * Class label names come from the card's `dataset_info` (a mapping, or a list of mappings
 * each with a `config_name`: the chosen config's): `features:` is a list of {name, dtype}
 * where dtype (or the feature itself) may hold `class_label: {names: ...}`, names being a
 * list or a mapping from ids to names ({'0': ham, '1': spam}, in any order, ids 0..n-1 with
 * none missing). `dataset_info.splits` gives each split's num_examples.
 *
 * Limits: README.md at most TC_DATADIR_MAX_CARD_BYTES; at most TC_DATADIR_MAX_ENTRIES
 * directory entries scanned; directories at most TC_DATADIR_MAX_DEPTH deep (deeper ones are
 * an error); paths at most TC_DATADIR_MAX_PATH bytes; config and split names at most
 * TC_DATADIR_MAX_NAME bytes; at most TC_DATADIR_MAX_ITEMS configs, splits per config,
 * patterns per split and features, TC_DATADIR_MAX_CLASSES class names.
 *
 * Ownership: a tc_datadir is owned by the caller and released with tc_datadir_free();
 * every string and array it returns is borrowed and lives as long as the tc_datadir.
 * A tc_datadir is immutable once open: it may be read from several threads.
 */
#ifndef TC_DATADIR_H
#define TC_DATADIR_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_DATADIR_MAX_CARD_BYTES (1024 * 1024) /* README.md size */
#define TC_DATADIR_MAX_ENTRIES 100000           /* directory entries scanned */
#define TC_DATADIR_MAX_DEPTH 32                 /* directories below the folder */
#define TC_DATADIR_MAX_PATH 4096                /* bytes in a path, with the folder's */
#define TC_DATADIR_MAX_NAME 256                 /* bytes in a config, split or column name */
#define TC_DATADIR_MAX_ITEMS 4096               /* configs, splits, patterns, features */
#define TC_DATADIR_MAX_CLASSES 100000           /* class label names of one column */

typedef struct tc_datadir tc_datadir;

/**
 * Find the splits and data files of a dataset folder, and read its card.
 * The caller owns *out (tc_datadir_free); it is written only on success.
 * @param dir the folder; relative to the working directory unless absolute
 * @param config the config to use, or NULL for the default one (see above)
 * @return TC_OK;
 *         TC_ENOTFOUND when dir does not exist, when it holds no data files (the message
 *         lists the extensions looked for), when a card pattern matches no data file (the
 *         message names the pattern and its README.md line), or when config is not one of
 *         the dataset's configs or none was given and there is no default (the message
 *         lists the configs);
 *         TC_EFORMAT for a malformed card (front matter not closed, YAML syntax error,
 *         configs or data_files of the wrong shape; the message has the README.md line), an
 *         invalid split name, or a split mixing formats (the message names two files);
 *         TC_ERANGE when a limit above is passed; TC_EUNSUPPORTED for a card pattern that is
 *         an absolute path or a URL; TC_EIO; TC_ENOMEM; TC_EINVAL when out or dir is NULL
 */
TC_API int tc_datadir_open(tc_datadir **out, const char *dir, const char *config);

/** Release everything. Accepts NULL. */
TC_API void tc_datadir_free(tc_datadir *d);

/** The folder as an absolute path with symlinks resolved, no trailing '/'. Borrowed. */
TC_API const char *tc_datadir_path(const tc_datadir *d);

/** The chosen config's name ("default" for rules 3 and 4). Borrowed. */
TC_API const char *tc_datadir_config(const tc_datadir *d);

/**
 * The rule that found the layout: "card configs", "parquet-converter", "file names" or
 * "all files as train". Static.
 */
TC_API const char *tc_datadir_rule(const tc_datadir *d);

/** Number of splits, at least 1. */
TC_API size_t tc_datadir_split_count(const tc_datadir *d);

/** The i-th split's name ("train", ...), or NULL when i is out of range. Borrowed. */
TC_API const char *tc_datadir_split_name(const tc_datadir *d, size_t i);

/** The index of the split called name, or -1 when there is none. */
TC_API int tc_datadir_split_find(const tc_datadir *d, const char *name);

/** Number of data files in split i (at least 1), or 0 when i is out of range. */
TC_API size_t tc_datadir_file_count(const tc_datadir *d, size_t split);

/**
 * The data files of split i: tc_datadir_file_count() absolute paths sorted in byte order,
 * or NULL when i is out of range. Borrowed (the array and the strings).
 */
TC_API const char *const *tc_datadir_files(const tc_datadir *d, size_t split);

/**
 * The number of examples the card declares for split i (dataset_info.splits[].num_examples
 * of the chosen config), or -1 when it declares none or i is out of range.
 */
TC_API int64_t tc_datadir_split_examples(const tc_datadir *d, size_t split);

/**
 * The class label names of a column, from the card's dataset_info features: names[k] is the
 * name of label id k. *out and *out_n are written only on success; *out is borrowed.
 * @return TC_OK; TC_ENOTFOUND when the card says nothing of a class_label for column (no
 *         card, no such feature, or a feature that is not a class_label, or one without
 *         names); TC_EFORMAT when its names are malformed: ids missing (sparse), repeated or
 *         not integers, names that are not strings (the message has the README.md line);
 *         TC_EINVAL when an argument is NULL
 */
TC_API int tc_datadir_class_names(const char *const **out, int32_t *out_n, const tc_datadir *d,
                                  const char *column);

#ifdef __cplusplus
}
#endif

#endif /* TC_DATADIR_H */
