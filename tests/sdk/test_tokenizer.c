/*
 * Unit tests of tc/tokenizer.h: loading (and refusing malformed files with
 * the file, the problem and its place), encoding details, truncation and
 * padding errors, batches, decoding, saving. Parity with Hugging Face's
 * tokenizers is tests/tokenizer/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tc/error.h>
#include <tc/tokenizer.h>

#include "tc_test.h"

/* A tiny BERT: ids 0-4 special, then words and pieces. */
#define TINY_VOCAB                                                                                 \
    "\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4,\"hello\":5,\"world\":6,"        \
    "\"un\":7,\"##aff\":8,\"##able\":9,\",\":10,\"!\":11,\".\":12,\"##s\":13,\"a\":14,\"b\":15,"   \
    "\"##b\":16,\"cafe\":17,\"'\":18,\"t\":19,\"don\":20,\"##o\":21"

#define TINY_ADDED                                                                                 \
    "[{\"id\":0,\"content\":\"[PAD]\",\"special\":true,\"normalized\":false},"                     \
    "{\"id\":1,\"content\":\"[UNK]\",\"special\":true,\"normalized\":false},"                      \
    "{\"id\":2,\"content\":\"[CLS]\",\"special\":true,\"normalized\":false},"                      \
    "{\"id\":3,\"content\":\"[SEP]\",\"special\":true,\"normalized\":false},"                      \
    "{\"id\":4,\"content\":\"[MASK]\",\"special\":true,\"normalized\":false}]"

static const char tiny_json[] =
    "{\"version\":\"1.0\",\"added_tokens\":" TINY_ADDED ","
    "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
    "\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
    "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
    "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",3],\"cls\":[\"[CLS]\",2]},"
    "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
    "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##"
    "\","
    "\"max_input_chars_per_word\":10,\"vocab\":{" TINY_VOCAB "}}}";

static tc_tokenizer *tiny(void)
{
    tc_tokenizer *tok = NULL;

    TC_CHECK_OK(tc_tokenizer_from_json(&tok, tiny_json, strlen(tiny_json), NULL, 0, "tiny.json"));
    return tok;
}

/* Encode text and compare the ids with want[0..n). */
static void check_ids(const tc_tokenizer *tok, const char *text, size_t len, const int32_t *want,
                      size_t n)
{
    tc_encoding e = {0};
    size_t i;

    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, text, len, NULL, 0, NULL));
    TC_CHECK(e.len == n);
    for (i = 0; i < n && i < e.len; i++)
        TC_CHECK(e.ids[i] == want[i]);
    if (e.len != n || (n && memcmp(e.ids, want, n * sizeof(int32_t)))) {
        fprintf(stderr, "  text '%.*s':", (int)len, text);
        for (i = 0; i < e.len; i++)
            fprintf(stderr, " %d", (int)e.ids[i]);
        fprintf(stderr, "\n");
    }
    tc_encoding_dispose(&e);
}

#define IDS(...) ((const int32_t[]){__VA_ARGS__})
#define NIDS(...) (sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define CHECK_IDS(tok, text, ...)                                                                  \
    check_ids(tok, text, strlen(text), IDS(__VA_ARGS__), NIDS(__VA_ARGS__))

static void test_sdk_tokenizer__wordpiece_basics(void)
{
    tc_tokenizer *tok = tiny();

    if (!tok)
        return;
    CHECK_IDS(tok, "unaffable", 2, 7, 8, 9, 3);
    CHECK_IDS(tok, "Hello, WORLD!", 2, 5, 10, 6, 11, 3);
    CHECK_IDS(tok, "Café", 2, 17, 3); /* accents stripped, lowercased */
    CHECK_IDS(tok, "hellos worlds", 2, 5, 13, 6, 13, 3);
    CHECK_IDS(tok, "unknownword", 2, 1, 3); /* no piece fits: one [UNK] */
    CHECK_IDS(tok, "abbbbbbbbbb", 2, 1, 3); /* 11 chars > max_input_chars_per_word 10 */
    CHECK_IDS(tok, "abbbbbbbbb", 2, 14, 16, 16, 16, 16, 16, 16, 16, 16, 16, 3);
    CHECK_IDS(tok, "don't", 2, 20, 18, 19, 3);
    CHECK_IDS(tok, "", 2, 3);
    CHECK_IDS(tok, " \t\n ", 2, 3);
    CHECK_IDS(tok, "[SEP] [sep]", 2, 3, 1, 1, 1, 3); /* "[sep]" is text: "[", "sep", "]" */
    CHECK_IDS(tok, "hello[MASK]world", 2, 5, 4, 6, 3);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__bytes(void)
{
    tc_tokenizer *tok = tiny();

    if (!tok)
        return;
    /* NUL bytes are text (deleted by clean_text), invalid UTF-8 reads as U+FFFD (deleted too). */
    check_ids(tok, "hel\0lo", 6, IDS(2, 5, 3), 3);
    check_ids(tok, "hel\xfflo w\xc3orld", 13, IDS(2, 5, 6, 3), 4);
    check_ids(tok, "hello\xe2\x80", 7, IDS(2, 5, 3), 3); /* truncated sequence */
    check_ids(tok,
              "a\xed\xa0\x80"
              "b",
              5, IDS(2, 14, 16, 3), 4); /* an encoded surrogate is invalid */
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__accessors(void)
{
    tc_tokenizer *tok = tiny();

    if (!tok)
        return;
    TC_CHECK(tc_tokenizer_get_kind(tok) == TC_TOKENIZER_WORDPIECE);
    TC_CHECK(tc_tokenizer_vocab_size(tok) == 22);
    TC_CHECK(tc_tokenizer_token_to_id(tok, "##aff", 5) == 8);
    TC_CHECK(tc_tokenizer_token_to_id(tok, "nope", 4) == -1);
    TC_CHECK(!strcmp(tc_tokenizer_id_to_token(tok, 9), "##able"));
    TC_CHECK(tc_tokenizer_id_to_token(tok, 22) == NULL);
    TC_CHECK(tc_tokenizer_id_to_token(tok, -1) == NULL);
    TC_CHECK(tc_tokenizer_pad_id(tok) == 0);
    TC_CHECK(tc_tokenizer_unk_id(tok) == 1);
    TC_CHECK(tc_tokenizer_model_max_length(tok) == 0);
    TC_CHECK(tc_tokenizer_num_special_tokens(tok, 0) == 2);
    TC_CHECK(tc_tokenizer_num_special_tokens(tok, 1) == 3);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__pair_and_options(void)
{
    tc_tokenizer *tok = tiny();
    tc_encode_options o;
    tc_encoding e = {0};

    if (!tok)
        return;
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "hello", 5, "world a", 7, NULL));
    TC_CHECK(e.len == 6 && e.ids[0] == 2 && e.ids[2] == 3 && e.ids[5] == 3);
    TC_CHECK(e.type_ids[2] == 0 && e.type_ids[3] == 1 && e.type_ids[5] == 1);
    TC_CHECK(e.special_tokens_mask[0] == 1 && e.special_tokens_mask[1] == 0);
    tc_encoding_dispose(&e);

    /* Without special tokens BertProcessing leaves the raw type ids: 0 then 1. */
    tc_encode_options_init(&o, TC_ENCODE_OPTIONS_VERSION);
    o.add_special_tokens = 0;
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "hello", 5, "world a", 7, &o));
    TC_CHECK(e.len == 3 && e.ids[0] == 5 && e.type_ids[0] == 0 && e.type_ids[1] == 1);
    tc_encoding_dispose(&e);

    /* Truncation that cannot apply. */
    o.add_special_tokens = 1;
    o.truncation = TC_TRUNCATION_LONGEST_FIRST;
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "hello", 5, NULL, 0, &o), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "max_length");
    o.max_length = 1;
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "hello", 5, NULL, 0, &o), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "shorter than the 2 special tokens");
    o.max_length = 4;
    o.truncation = TC_TRUNCATION_ONLY_SECOND;
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "hello world a", 13, NULL, 0, &o), TC_EINVAL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "only_second needs a pair");
    o.truncation = TC_TRUNCATION_ONLY_FIRST;
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "hello world a", 13, NULL, 0, &o));
    TC_CHECK(e.len == 4 && e.ids[1] == 5 && e.ids[2] == 6 && e.ids[3] == 3);
    tc_encoding_dispose(&e);

    /* Padding to max_length, rounded up; padding never truncates. */
    tc_encode_options_init(&o, TC_ENCODE_OPTIONS_VERSION);
    o.padding = TC_PADDING_MAX_LENGTH;
    o.max_length = 5;
    o.pad_to_multiple_of = 4;
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "hello", 5, NULL, 0, &o));
    TC_CHECK(e.len == 8 && e.ids[3] == 0 && e.ids[7] == 0 && e.attention_mask[2] == 1 &&
             e.attention_mask[3] == 0 && e.special_tokens_mask[7] == 1);
    tc_encoding_dispose(&e);
    o.max_length = 2;
    o.pad_to_multiple_of = 0;
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "hello world", 11, NULL, 0, &o));
    TC_CHECK(e.len == 4);
    tc_encoding_dispose(&e);

    /* Bad options. */
    o.version = 99;
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "a", 1, NULL, 0, &o), TC_EINVAL);
    TC_CHECK_ERR(tc_encode_options_init(&o, 2), TC_EINVAL);
    tc_encode_options_init(&o, TC_ENCODE_OPTIONS_VERSION);
    o.max_length = -1;
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "a", 1, NULL, 0, &o), TC_EINVAL);
    TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "a", TC_TOKENIZER_MAX_INPUT_BYTES + 1, NULL, 0, NULL),
                 TC_ERANGE);
    TC_CHECK(e.len == 0 && e.ids == NULL);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__batch(void)
{
    tc_tokenizer *tok = tiny();
    const char *texts[3] = {"hello", "hello world a b", ""};
    tc_encoding e[3];
    tc_encode_options o;
    size_t i;

    if (!tok)
        return;
    tc_encode_options_init(&o, TC_ENCODE_OPTIONS_VERSION);
    o.padding = TC_PADDING_LONGEST;
    TC_CHECK_OK(tc_tokenizer_encode_batch(e, tok, texts, NULL, NULL, NULL, 3, &o));
    for (i = 0; i < 3; i++)
        TC_CHECK(e[i].len == 6);
    TC_CHECK(e[0].ids[2] == 3 && e[0].ids[3] == 0 && e[0].attention_mask[3] == 0);
    TC_CHECK(e[2].ids[0] == 2 && e[2].ids[1] == 3 && e[2].ids[2] == 0);
    TC_CHECK(e[1].attention_mask[5] == 1);
    for (i = 0; i < 3; i++)
        tc_encoding_dispose(&e[i]);

    /* An error names the text of the batch. */
    o.truncation = TC_TRUNCATION_ONLY_SECOND;
    o.max_length = 5;
    {
        const char *pairs[3] = {"a b", "b", "a"};
        TC_CHECK_ERR(tc_tokenizer_encode_batch(e, tok, texts, NULL, pairs, NULL, 3, &o), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "text 1 of the batch");
    }
    TC_CHECK_OK(tc_tokenizer_encode_batch(e, tok, texts, NULL, NULL, NULL, 0, NULL));
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__decode(void)
{
    tc_tokenizer *tok = tiny();
    char *s = NULL;

    if (!tok)
        return;
    TC_CHECK_OK(tc_tokenizer_decode(&s, tok, IDS(2, 7, 8, 9, 10, 5, 6, 11, 3), 9, 1));
    TC_CHECK(s && !strcmp(s, "unaffable, hello world!"));
    tc_free(s);
    TC_CHECK_OK(tc_tokenizer_decode(&s, tok, IDS(2, 5, 999, -3, 3), 5, 0));
    TC_CHECK(s && !strcmp(s, "[CLS] hello [SEP]"));
    tc_free(s);
    TC_CHECK_OK(tc_tokenizer_decode(&s, tok, IDS(13, 20, 18, 19), 4, 1));
    TC_CHECK(s && !strcmp(s, "##s don ' t"));
    tc_free(s);
    TC_CHECK_OK(tc_tokenizer_decode(&s, tok, NULL, 0, 1));
    TC_CHECK(s && !strcmp(s, ""));
    tc_free(s);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer__save_round_trip(void)
{
    tc_tokenizer *tok = tiny(), *again = NULL;
    char path[] = "/tmp/tc-tokenizer-XXXXXX";
    char file[64];
    char *json = NULL;
    int fd;

    if (!tok)
        return;
    TC_CHECK_OK(tc_tokenizer_to_json(&json, tok));
    TC_CHECK_STR_CONTAINS(json, "\"type\":\"BertProcessing\"");
    TC_CHECK_STR_CONTAINS(json, "\"max_input_chars_per_word\":10");
    TC_CHECK_STR_CONTAINS(json, "\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,");
    tc_free(json);
    TC_CHECK((fd = mkstemp(path)) >= 0);
    close(fd);
    unlink(path);
    TC_CHECK(mkdir(path, 0700) == 0);
    snprintf(file, sizeof(file), "%s/tokenizer.json", path);
    TC_CHECK_OK(tc_tokenizer_save(tok, file));
    TC_CHECK_OK(tc_tokenizer_load(&again, path));
    if (again) {
        CHECK_IDS(again, "Unaffable hello!", 2, 7, 8, 9, 5, 11, 3);
        CHECK_IDS(again, "abbbbbbbbbb", 2, 1, 3);
    }
    unlink(file);
    rmdir(path);
    tc_tokenizer_free(again);
    tc_tokenizer_free(tok);
}

/* Build tiny_json with one substring replaced, and expect load to fail. */
static void expect_bad_json(const char *from, const char *to, int code, const char *msg)
{
    char buf[4096];
    const char *at = strstr(tiny_json, from);
    tc_tokenizer *tok = NULL;

    TC_CHECK(at != NULL);
    if (!at)
        return;
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - tiny_json), tiny_json, to, at + strlen(from));
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, buf, strlen(buf), NULL, 0, "bad.json"), code);
    TC_CHECK(tok == NULL);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'bad.json'");
    TC_CHECK_STR_CONTAINS(tc_error_message(), msg);
}

static void test_sdk_tokenizer__malformed_json(void)
{
    tc_tokenizer *tok = NULL;
    const char *broken = "{\n  \"model\": {\n    \"vocab\": [1,\n}";
    char big[8];

    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, broken, strlen(broken), NULL, 0, "t.json"),
                 TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'t.json': line 4, column 1: invalid JSON");
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, "{} x", 4, NULL, 0, "t.json"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 1, column 4: unexpected text after");
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, "[]", 2, NULL, 0, "t.json"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "top level: must be an object");
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, "{}", 2, NULL, 0, "t.json"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model: missing");
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, big, TC_TOKENIZER_MAX_FILE_BYTES + 1, NULL, 0, "t"),
                 TC_ERANGE);

    expect_bad_json("\"type\":\"WordPiece\",\"unk_token\"", "\"type\":\"BPE\",\"unk_token\"",
                    TC_EUNSUPPORTED, "model: type 'BPE' is not supported");
    expect_bad_json("\"un\":7", "\"un\":-7", TC_EFORMAT, "model.vocab['un']: id must be");
    expect_bad_json("\"un\":7", "\"un\":7.5", TC_EFORMAT, "model.vocab['un']: id must be");
    expect_bad_json("\"un\":7", "\"un\":4194304", TC_EFORMAT, "model.vocab['un']: id must be");
    expect_bad_json("\"un\":7", "\"un\":\"7\"", TC_EFORMAT, "model.vocab['un']: id must be");
    expect_bad_json("\"un\":7", "\"un\":6", TC_EFORMAT, "id 6 is given to another token too");
    expect_bad_json("\"un\":7", "\"hello\":7", TC_EFORMAT, "the token appears twice");
    expect_bad_json("\"un\":7", "\"u\xffn\":7", TC_EFORMAT, "token is not valid UTF-8");
    expect_bad_json("\"vocab\":{", "\"vocab\":[],\"x\":{", TC_EFORMAT, "model.vocab: must be");
    expect_bad_json("\"unk_token\":\"[UNK]\"", "\"unk_token\":\"<unk>\"", TC_EFORMAT,
                    "the unknown token '<unk>' is not in the vocabulary");
    expect_bad_json("\"max_input_chars_per_word\":10", "\"max_input_chars_per_word\":0", TC_EFORMAT,
                    "'max_input_chars_per_word' must be an integer");
    expect_bad_json("\"type\":\"BertNormalizer\"", "\"type\":\"NFD\"", TC_EUNSUPPORTED,
                    "normalizer: type 'NFD' is not supported");
    expect_bad_json("\"strip_accents\":null", "\"strip_accents\":\"yes\"", TC_EFORMAT,
                    "'strip_accents' must be true, false or null");
    expect_bad_json("\"lowercase\":true", "\"lowercase\":1", TC_EFORMAT,
                    "'lowercase' must be true or false");
    expect_bad_json("{\"type\":\"BertPreTokenizer\"}", "{\"type\":\"Whitespace\"}", TC_EUNSUPPORTED,
                    "pre_tokenizer: type 'Whitespace'");
    expect_bad_json("\"pre_tokenizer\":{", "\"pre_tokenizer\":[{", TC_EFORMAT, "invalid JSON");
    expect_bad_json("\"sep\":[\"[SEP]\",3]", "\"sep\":[\"[SEP]\"]", TC_EFORMAT,
                    "post_processor: 'sep' must be [token, id]");
    expect_bad_json("\"BertProcessing\"", "\"RobertaProcessing\"", TC_EUNSUPPORTED,
                    "post_processor: type 'RobertaProcessing'");
    expect_bad_json("{\"id\":4,\"content\":\"[MASK]\"", "{\"id\":4,\"content\":\"\"", TC_EFORMAT,
                    "added_tokens[4]: 'content' must be a non-empty string");
    expect_bad_json("{\"id\":4,", "{", TC_EFORMAT, "added_tokens[4]: 'id' is missing");
    expect_bad_json("\"added_tokens\":[", "\"added_tokens\":{\"x\":[", TC_EFORMAT, "invalid JSON");
    expect_bad_json("\"prefix\":\"##\",", "\"prefix\":2,", TC_EFORMAT,
                    "decoder: 'prefix' must be a string");
    expect_bad_json("\"type\":\"WordPiece\",\"prefix\"", "\"type\":\"ByteLevel\",\"prefix\"",
                    TC_EUNSUPPORTED, "decoder: type 'ByteLevel'");
}

static const char template_json[] =
    "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":null,"
    "\"post_processor\":{\"type\":\"TemplateProcessing\","
    "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
    "\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
    "{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":1}},{\"Sequence\":{\"id\":\"B\",\"type_id\":2}}]"
    ","
    "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[0,1],\"tokens\":[\"<s>\",\"</s>\"]}}},"
    "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"<s>\":0,\"</s>\":1,\"<unk>\":2,\"x\":3},"
    "\"unk_token\":\"<unk>\"}}";

static void test_sdk_tokenizer__template(void)
{
    tc_tokenizer *tok = NULL;
    tc_encoding e = {0};
    char buf[2048];

    /* A template whose special token has two ids; no normalizer, no pre-tokenizer. */
    TC_CHECK_OK(tc_tokenizer_from_json(&tok, template_json, strlen(template_json), NULL, 0, NULL));
    if (!tok)
        return;
    TC_CHECK(tc_tokenizer_get_kind(tok) == TC_TOKENIZER_WORDLEVEL);
    TC_CHECK(tc_tokenizer_num_special_tokens(tok, 0) == 2);
    TC_CHECK(tc_tokenizer_num_special_tokens(tok, 1) == 2);
    TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "x", 1, "x y", 3, NULL));
    TC_CHECK(e.len == 4 && e.ids[0] == 3 && e.ids[1] == 0 && e.ids[2] == 1 && e.ids[3] == 2);
    TC_CHECK(e.type_ids[0] == 0 && e.type_ids[1] == 1 && e.type_ids[3] == 2);
    tc_encoding_dispose(&e);
    TC_CHECK(tc_tokenizer_pad_id(tok) == -1);
    {
        tc_encode_options o = TC_ENCODE_OPTIONS_INIT;
        o.padding = TC_PADDING_MAX_LENGTH;
        o.max_length = 8;
        TC_CHECK_ERR(tc_tokenizer_encode(&e, tok, "x", 1, NULL, 0, &o), TC_EINVAL);
        TC_CHECK_STR_CONTAINS(tc_error_message(), "padding needs a pad token");
    }
    tc_tokenizer_free(tok);
    tok = NULL;

    snprintf(buf, sizeof(buf), "%s", template_json);
    memcpy(strstr(buf, "\"id\":\"B\""), "\"id\":\"A\"", 8);
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, buf, strlen(buf), NULL, 0, "t.json"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "post_processor.pair: must hold $A and $B once each");
    snprintf(buf, sizeof(buf), "%s", template_json);
    memcpy(strstr(buf, "\"id\":\"<s>\",\"type_id\":1"), "\"id\":\"<x>\"", 10);
    TC_CHECK_ERR(tc_tokenizer_from_json(&tok, buf, strlen(buf), NULL, 0, "t.json"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "post_processor.pair[1]: special token '<x>' is not in");
}

static void test_sdk_tokenizer__vocab_txt(void)
{
    tc_tokenizer *tok = NULL;
    const char *vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\r\nhéllo\nworld\n##s\nhello\n";
    const char *cfg = "{\"do_lower_case\": false, \"model_max_length\": 1e30,"
                      " \"cls_token\": {\"content\": \"[CLS]\", \"lstrip\": false}}";
    char long_line[1100];

    /* Cased, accents kept; a duplicate line takes the token (hello = 9), CRLF is a line end. */
    TC_CHECK_OK(tc_tokenizer_from_vocab(&tok, vocab, strlen(vocab), cfg, strlen(cfg), NULL));
    if (tok) {
        CHECK_IDS(tok, "hello héllo worlds Hello", 2, 9, 6, 7, 8, 1, 3);
        TC_CHECK(tc_tokenizer_id_to_token(tok, 5) == NULL);
        TC_CHECK(tc_tokenizer_model_max_length(tok) == 0);
        TC_CHECK(tc_tokenizer_pad_id(tok) == 0);
    }
    tc_tokenizer_free(tok);
    tok = NULL;

    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, "", 0, NULL, 0, "v.txt"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'v.txt': line 1: the vocabulary is empty");
    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, "[UNK]\n[CLS]\n\xff\n", 14, NULL, 0, "v.txt"),
                 TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'v.txt': line 3: token is not valid UTF-8");
    memset(long_line, 'a', sizeof(long_line));
    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, long_line, sizeof(long_line), NULL, 0, "v.txt"),
                 TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "line 1: token of 1100 bytes is over the limit");
    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, "[UNK]\n[SEP]\n", 12, NULL, 0, "v.txt"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'v.txt': cls_token: '[CLS]' is not in the");
    TC_CHECK_ERR(
        tc_tokenizer_from_vocab(&tok, vocab, strlen(vocab), "{\"do_lower_case\": 1}", 20, "v.txt"),
        TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(),
                          "'tokenizer_config.json': top level: 'do_lower_case' must be true");
    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, vocab, strlen(vocab), "{\"model_max_length\": 5.5}",
                                         25, "v.txt"),
                 TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "model_max_length: must be an integer");
    TC_CHECK_ERR(tc_tokenizer_from_vocab(&tok, vocab, strlen(vocab), "{", 1, "v.txt"), TC_EFORMAT);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "'tokenizer_config.json': line 1, column ");
}

static void test_sdk_tokenizer__load_paths(void)
{
    tc_tokenizer *tok = NULL;

    TC_CHECK_ERR(tc_tokenizer_load(&tok, "/nonexistent/tokenizer.json"), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "/nonexistent/tokenizer.json");
    TC_CHECK_ERR(tc_tokenizer_load(&tok, TC_TEST_SOURCE_DIR "/sdk/include"), TC_ENOTFOUND);
    TC_CHECK_STR_CONTAINS(tc_error_message(), "holds neither tokenizer.json nor vocab.txt");
    /* A folder with vocab.txt and tokenizer_config.json (model_max_length 64). */
    TC_CHECK_OK(tc_tokenizer_load(&tok, TC_TEST_DATA_DIR "/tokenizer/vocab_txt"));
    if (tok)
        TC_CHECK(tc_tokenizer_model_max_length(tok) == 64);
    tc_tokenizer_free(tok);
    tok = NULL;
    TC_CHECK_OK(tc_tokenizer_load(&tok, TC_TEST_DATA_DIR "/tokenizer/vocab_txt/vocab.txt"));
    if (tok)
        TC_CHECK(tc_tokenizer_model_max_length(tok) == 64);
    tc_tokenizer_free(tok);
    tok = NULL;
    TC_CHECK_OK(tc_tokenizer_load(&tok, TC_TEST_DATA_DIR "/tokenizer/uncased/tokenizer.json"));
    tc_tokenizer_free(tok);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_tokenizer__wordpiece_basics),
    TC_TEST(test_sdk_tokenizer__bytes),
    TC_TEST(test_sdk_tokenizer__accessors),
    TC_TEST(test_sdk_tokenizer__pair_and_options),
    TC_TEST(test_sdk_tokenizer__batch),
    TC_TEST(test_sdk_tokenizer__decode),
    TC_TEST(test_sdk_tokenizer__save_round_trip),
    TC_TEST(test_sdk_tokenizer__malformed_json),
    TC_TEST(test_sdk_tokenizer__template),
    TC_TEST(test_sdk_tokenizer__vocab_txt),
    TC_TEST(test_sdk_tokenizer__load_paths),
};

TC_TEST_MAIN(tests)
