/*
 * wordlevel_build - test helper: count the "text" of each JSON line on stdin
 * with a tc_wordlevel_builder and save the tokenizer.json.
 *
 *   wordlevel_build OUT.json [MIN_FREQ [MAX_SIZE [LOWERCASE]]] < lines.jsonl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tc/error.h>
#include <tc/tokenizer.h>

int main(int argc, char **argv)
{
    tc_wordlevel_options opts = TC_WORDLEVEL_OPTIONS_INIT;
    tc_wordlevel_builder *b = NULL;
    tc_tokenizer *tok = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: wordlevel_build OUT.json [MIN_FREQ [MAX_SIZE [LOWERCASE]]]\n");
        return 2;
    }
    if (argc > 2)
        opts.min_freq = strtol(argv[2], NULL, 10);
    if (argc > 3)
        opts.max_size = (int32_t)strtol(argv[3], NULL, 10);
    if (argc > 4)
        opts.lowercase = (int)strtol(argv[4], NULL, 10);
    if (tc_wordlevel_builder_new(&b, &opts) < 0)
        goto out;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        cJSON *o = cJSON_ParseWithLength(line, (size_t)n);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
        int err = cJSON_IsString(t)
                      ? tc_wordlevel_builder_add(b, t->valuestring, strlen(t->valuestring))
                      : tc_error_set(TC_EINVAL, "a line without \"text\"");
        cJSON_Delete(o);
        if (err < 0)
            goto out;
    }
    if (tc_wordlevel_builder_finish(&tok, b) < 0 || tc_tokenizer_save(tok, argv[1]) < 0)
        goto out;
    printf("wordlevel_build: %d ids\n", (int)tc_tokenizer_vocab_size(tok));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "wordlevel_build: %s\n", tc_error_message());
    free(line);
    tc_tokenizer_free(tok);
    tc_wordlevel_builder_free(b);
    return rc;
}
