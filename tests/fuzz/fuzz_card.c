/*
 * fuzz_card.c - libFuzzer target: the input is a dataset card (README.md) for the
 * <tc/datadir.h> card parser (sdk/src/datadir_card.c); every field of a parsed card is read
 * back. An input of two short lines is also tried as a glob pattern and a path.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tc/error.h>

#include "datadir_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch_card(const tc__card *c)
{
    size_t k, j, sum = 0;
    int32_t i;

    for (k = 0; k < c->n_configs; k++) {
        sum += strlen(c->configs[k].name) + (c->configs[k].data_dir ? 1 : 0);
        for (j = 0; j < c->configs[k].n_splits; j++)
            sum += strlen(c->configs[k].splits[j].name) + c->configs[k].splits[j].n_patterns;
    }
    for (k = 0; k < c->n_infos; k++) {
        for (j = 0; j < c->infos[k].n_features; j++) {
            const tc__card_feature *f = &c->infos[k].features[j];

            if (!f->name || f->error || !f->has_class_label)
                continue;
            for (i = 0; i < f->n_names; i++)
                sum += strlen(f->names[i]);
        }
        for (j = 0; j < c->infos[k].n_splits; j++)
            sum += strlen(c->infos[k].split_names[j]) + (c->infos[k].split_examples[j] > 0);
    }
    return sum;
}

static void fuzz_glob(const uint8_t *data, size_t size)
{
    char buf[512], *nl;

    if (size == 0 || size >= sizeof(buf) || memchr(data, 0, size))
        return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    if ((nl = strchr(buf, '\n'))) {
        *nl = '\0';
        (void)tc__glob_match(buf, nl + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc__card *card = NULL;
    volatile size_t sink;

    if (tc__card_parse(&card, (const char *)data, size, "fuzz/README.md") == 0) {
        sink = touch_card(card);
        (void)sink;
    }
    tc__card_free(card);
    fuzz_glob(data, size);
    return 0;
}
