/*
 * Unit tests of the word-level tokenizer (tc_wordlevel_builder): counting,
 * min_freq, max_size, the deterministic order (count, then bytes), the
 * pre-tokenization, special tokens, and the round trip through Hugging
 * Face's WordLevel tokenizer.json. Parity with Hugging Face's Rust
 * WordLevel on a corpus is tests/tokenizer/test_corpus.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>
#include <tc/tokenizer.h>

#include "tc_test.h"

static tc_tokenizer *build(const tc_wordlevel_options *o, const char *const *texts, size_t n)
{
    tc_wordlevel_builder *b = NULL;
    tc_tokenizer *tok = NULL;
    size_t i;

    TC_CHECK_OK(tc_wordlevel_builder_new(&b, o));
    for (i = 0; b && i < n; i++)
        TC_CHECK_OK(tc_wordlevel_builder_add(b, texts[i], strlen(texts[i])));
    if (b)
        TC_CHECK_OK(tc_wordlevel_builder_finish(&tok, b));
    tc_wordlevel_builder_free(b);
    return tok;
}

static const char *tok_at(const tc_tokenizer *tok, int32_t id)
{
    const char *t = tc_tokenizer_id_to_token(tok, id);

    return t ? t : "(null)";
}

static void test_sdk_tokenizer_wordlevel__order(void)
{
    const char *texts[] = {"b a a", "c C c", "B ab"};
    tc_tokenizer *tok = build(NULL, texts, 3);

    if (!tok)
        return;
    /* c 3, then a and b 2 each (bytes order), then ab 1 */
    TC_CHECK(tc_tokenizer_get_kind(tok) == TC_TOKENIZER_WORDLEVEL);
    TC_CHECK(tc_tokenizer_vocab_size(tok) == 6);
    TC_CHECK(!strcmp(tok_at(tok, 0), "<pad>"));
    TC_CHECK(!strcmp(tok_at(tok, 1), "<unk>"));
    TC_CHECK(!strcmp(tok_at(tok, 2), "c"));
    TC_CHECK(!strcmp(tok_at(tok, 3), "a"));
    TC_CHECK(!strcmp(tok_at(tok, 4), "b"));
    TC_CHECK(!strcmp(tok_at(tok, 5), "ab"));
    TC_CHECK(tc_tokenizer_pad_id(tok) == 0);
    TC_CHECK(tc_tokenizer_unk_id(tok) == 1);
    TC_CHECK(tc_tokenizer_num_special_tokens(tok, 0) == 0);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer_wordlevel__min_freq_max_size(void)
{
    const char *texts[] = {"x y y z z z w w w w", "v"};
    tc_wordlevel_options o = TC_WORDLEVEL_OPTIONS_INIT;
    tc_tokenizer *tok;

    o.min_freq = 2;
    tok = build(&o, texts, 2);
    TC_CHECK(tok && tc_tokenizer_vocab_size(tok) == 5); /* w z y */
    if (tok)
        TC_CHECK(tc_tokenizer_token_to_id(tok, "x", 1) == -1);
    tc_tokenizer_free(tok);
    o.min_freq = 1;
    o.max_size = 4;
    tok = build(&o, texts, 2);
    TC_CHECK(tok && tc_tokenizer_vocab_size(tok) == 4); /* <pad> <unk> w z */
    if (tok) {
        TC_CHECK(!strcmp(tok_at(tok, 2), "w") && !strcmp(tok_at(tok, 3), "z"));
        TC_CHECK(tc_tokenizer_token_to_id(tok, "y", 1) == -1);
    }
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer_wordlevel__deterministic(void)
{
    const char *t1[] = {"the cat", "a dog", "the end", "zebra yak the"};
    const char *t2[] = {"zebra yak the", "the end", "a dog", "the cat"};
    tc_tokenizer *a = build(NULL, t1, 4), *b = build(NULL, t2, 4);
    char *ja = NULL, *jb = NULL;

    if (a && b) {
        TC_CHECK_OK(tc_tokenizer_to_json(&ja, a));
        TC_CHECK_OK(tc_tokenizer_to_json(&jb, b));
        TC_CHECK(ja && jb && !strcmp(ja, jb));
        TC_CHECK_STR_CONTAINS(ja,
                              "\"vocab\":{\"<pad>\":0,\"<unk>\":1,\"the\":2,\"a\":3,\"cat\":4,");
    }
    tc_free(ja);
    tc_free(jb);
    tc_tokenizer_free(a);
    tc_tokenizer_free(b);
}

static void test_sdk_tokenizer_wordlevel__pretokenize(void)
{
    const char *texts[] = {"Don't STOP: café, Café!  日本 <pad> <unk>x"};
    tc_wordlevel_options o = TC_WORDLEVEL_OPTIONS_INIT;
    tc_tokenizer *tok = build(NULL, texts, 1);
    tc_encoding e = {0};

    if (tok) {
        /* lowercase, accents stripped, punctuation split, CJK spaced, specials skipped */
        TC_CHECK(tc_tokenizer_token_to_id(tok, "cafe", 4) == 2);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "don", 3) >= 0);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "'", 1) >= 0);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "日", 3) >= 0);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "pad", 3) == -1);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "<", 1) == -1);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "x", 1) >= 0);
        TC_CHECK_OK(tc_tokenizer_encode(&e, tok, "CAFE <unk> <pad> never", 22, NULL, 0, NULL));
        TC_CHECK(e.len == 4 && e.ids[0] == 2 && e.ids[1] == 1 && e.ids[2] == 0 && e.ids[3] == 1);
        tc_encoding_dispose(&e);
    }
    tc_tokenizer_free(tok);

    o.lowercase = 0;
    tok = build(&o, texts, 1);
    if (tok) {
        TC_CHECK(tc_tokenizer_token_to_id(tok, "STOP", 4) >= 0);
        TC_CHECK(tc_tokenizer_token_to_id(tok, "Café", 5) >= 0); /* strip_accents follows */
        TC_CHECK(tc_tokenizer_token_to_id(tok, "cafe", 4) == -1);
    }
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer_wordlevel__round_trip(void)
{
    const char *texts[] = {"one two two three three three", "four, five; six!"};
    tc_tokenizer *tok = build(NULL, texts, 2), *again = NULL;
    tc_encode_options o = TC_ENCODE_OPTIONS_INIT;
    tc_encoding e1 = {0}, e2 = {0};
    const char *probe = "Three two ONE seven, six!";
    char *json = NULL;

    if (!tok)
        return;
    TC_CHECK_OK(tc_tokenizer_to_json(&json, tok));
    TC_CHECK_STR_CONTAINS(json, "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"<pad>\":0,");
    TC_CHECK_STR_CONTAINS(json, "\"unk_token\":\"<unk>\"}");
    TC_CHECK_STR_CONTAINS(json, "\"strip_accents\":null,\"lowercase\":true");
    TC_CHECK_STR_CONTAINS(json, "{\"id\":0,\"content\":\"<pad>\",\"single_word\":false,"
                                "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,"
                                "\"special\":true}");
    TC_CHECK_STR_CONTAINS(json, "\"post_processor\":null");
    TC_CHECK_OK(tc_tokenizer_from_json(&again, json, json ? strlen(json) : 0, NULL, 0, NULL));
    o.padding = TC_PADDING_MAX_LENGTH;
    o.max_length = 10;
    if (again) {
        TC_CHECK_OK(tc_tokenizer_encode(&e1, tok, probe, strlen(probe), NULL, 0, &o));
        TC_CHECK_OK(tc_tokenizer_encode(&e2, again, probe, strlen(probe), NULL, 0, &o));
        TC_CHECK(e1.len == 10 && e2.len == 10 && !memcmp(e1.ids, e2.ids, 10 * sizeof(int32_t)));
        TC_CHECK(e1.ids[0] == 2 && e1.ids[3] == 1 && e1.ids[7] == 0 && e1.attention_mask[7] == 0);
        TC_CHECK(tc_tokenizer_vocab_size(again) == tc_tokenizer_vocab_size(tok));
    }
    tc_encoding_dispose(&e1);
    tc_encoding_dispose(&e2);
    {
        char *s = NULL;
        TC_CHECK_OK(tc_tokenizer_decode(&s, tok, (const int32_t[]){2, 3, 0, 1}, 4, 1));
        TC_CHECK(s && !strcmp(s, "three two"));
        tc_free(s);
    }
    tc_free(json);
    tc_tokenizer_free(again);
    tc_tokenizer_free(tok);
}

static void test_sdk_tokenizer_wordlevel__bounds_and_options(void)
{
    tc_wordlevel_options o = TC_WORDLEVEL_OPTIONS_INIT;
    tc_wordlevel_builder *b = NULL;
    tc_tokenizer *tok = NULL;
    char *long_word = malloc(TC_TOKENIZER_MAX_TOKEN_BYTES + 2);

    o.max_size = 1;
    TC_CHECK_ERR(tc_wordlevel_builder_new(&b, &o), TC_EINVAL);
    o.max_size = 0;
    o.min_freq = -1;
    TC_CHECK_ERR(tc_wordlevel_builder_new(&b, &o), TC_EINVAL);
    o.min_freq = 1;
    o.version = 7;
    TC_CHECK_ERR(tc_wordlevel_builder_new(&b, &o), TC_EINVAL);
    TC_CHECK_ERR(tc_wordlevel_options_init(&o, 7), TC_EINVAL);
    TC_CHECK_OK(tc_wordlevel_options_init(&o, TC_WORDLEVEL_OPTIONS_VERSION));
    TC_CHECK(b == NULL);

    /* Words over TC_TOKENIZER_MAX_TOKEN_BYTES are not counted; the builder goes on after finish. */
    TC_CHECK_OK(tc_wordlevel_builder_new(&b, &o));
    if (!b || !long_word) {
        free(long_word);
        tc_wordlevel_builder_free(b);
        return;
    }
    memset(long_word, 'q', TC_TOKENIZER_MAX_TOKEN_BYTES + 1);
    long_word[TC_TOKENIZER_MAX_TOKEN_BYTES + 1] = '\0';
    TC_CHECK_OK(tc_wordlevel_builder_add(b, long_word, strlen(long_word)));
    TC_CHECK_OK(tc_wordlevel_builder_add(b, "ok", 2));
    TC_CHECK_OK(tc_wordlevel_builder_finish(&tok, b));
    TC_CHECK(tok && tc_tokenizer_vocab_size(tok) == 3);
    tc_tokenizer_free(tok);
    tok = NULL;
    TC_CHECK_OK(tc_wordlevel_builder_add(b, "more", 4));
    TC_CHECK_OK(tc_wordlevel_builder_finish(&tok, b));
    TC_CHECK(tok && tc_tokenizer_vocab_size(tok) == 4);
    TC_CHECK_ERR(tc_wordlevel_builder_add(b, "x", TC_TOKENIZER_MAX_INPUT_BYTES + 1), TC_ERANGE);
    tc_tokenizer_free(tok);
    tc_wordlevel_builder_free(b);
    free(long_word);

    /* An empty corpus still gives <pad> and <unk>. */
    tok = build(NULL, NULL, 0);
    TC_CHECK(tok && tc_tokenizer_vocab_size(tok) == 2);
    tc_tokenizer_free(tok);
}

static const tc_test_case tests[] = {
    TC_TEST(test_sdk_tokenizer_wordlevel__order),
    TC_TEST(test_sdk_tokenizer_wordlevel__min_freq_max_size),
    TC_TEST(test_sdk_tokenizer_wordlevel__deterministic),
    TC_TEST(test_sdk_tokenizer_wordlevel__pretokenize),
    TC_TEST(test_sdk_tokenizer_wordlevel__round_trip),
    TC_TEST(test_sdk_tokenizer_wordlevel__bounds_and_options),
};

TC_TEST_MAIN(tests)
