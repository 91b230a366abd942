/*
 * card_tool.c - a driver for daemon/src/worker/card.c, run by test_card.py.
 *
 *   card_tool write OUT_DIR REPO_ID [KEY=VALUE]...
 *       KEY: model, data, dataset, base, license, pipeline, spec (a file whose
 *       text is the spec), spec_file, transformers (0 or 1). Exit 0 on TC_OK,
 *       else prints "error CODE MESSAGE" and exits 1.
 *   card_tool read README TYPE SPLIT
 *       prints "found VALUE" (%.17g) or "none" and exits 0, or prints
 *       "error CODE MESSAGE" and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/error.h>

#include "card.h"

static int fail(int code)
{
    printf("error %d %s\n", code, tc_error_message());
    return 1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1))) {
        if (fread(text, 1, (size_t)n, f) != (size_t)n) {
            free(text);
            text = NULL;
        } else {
            text[n] = '\0';
        }
    }
    fclose(f);
    return text;
}

static int set_option(tcd_card_info *info, char **spec, const char *arg)
{
    const char *eq = strchr(arg, '='), *v;
    size_t k;

    if (!eq)
        return -1;
    v = eq + 1;
    k = (size_t)(eq - arg);
#define KEY(name) (k == strlen(name) && !strncmp(arg, name, k))
    if (KEY("model"))
        info->model_plugin = v;
    else if (KEY("data"))
        info->data_plugin = v;
    else if (KEY("dataset"))
        info->dataset_id = v;
    else if (KEY("base"))
        info->base_model = v;
    else if (KEY("license"))
        info->license = v;
    else if (KEY("pipeline"))
        info->pipeline_tag = v;
    else if (KEY("spec_file"))
        info->spec_file = v;
    else if (KEY("transformers"))
        info->transformers_compatible = !strcmp(v, "1");
    else if (KEY("spec")) {
        free(*spec);
        if (!(*spec = slurp(v)))
            return -1;
        info->spec_yaml = *spec;
    } else
        return -1;
#undef KEY
    return 0;
}

static int cmd_write(int argc, char **argv)
{
    tcd_card_info info;
    char *spec = NULL;
    int i, err;

    memset(&info, 0, sizeof(info));
    info.out_dir = argv[2];
    info.repo_id = argv[3];
    for (i = 4; i < argc; i++) {
        if (set_option(&info, &spec, argv[i]) < 0) {
            fprintf(stderr, "card_tool: bad option '%s'\n", argv[i]);
            free(spec);
            return 2;
        }
    }
    err = tcd_card_write(&info);
    free(spec);
    return err < 0 ? fail(err) : 0;
}

int main(int argc, char **argv)
{
    double v = 0;
    int rc;

    if (argc >= 4 && !strcmp(argv[1], "write"))
        return cmd_write(argc, argv);
    if (argc == 5 && !strcmp(argv[1], "read")) {
        rc = tcd_card_read_metric(argv[2], argv[3], argv[4], &v);
        if (rc < 0)
            return fail(rc);
        if (rc == 1)
            printf("found %.17g\n", v);
        else
            printf("none\n");
        return 0;
    }
    fprintf(stderr, "usage: card_tool write OUT_DIR REPO_ID [KEY=VALUE]...\n"
                    "       card_tool read README TYPE SPLIT\n");
    return 2;
}
