/*
 * fuzz_jsonl.c - libFuzzer target: the input is a JSON Lines file; its last byte also picks
 * the flags and a small line limit.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;
    uint8_t k = size ? data[size - 1] ^ 0x0a : 0; /* a seed ending in LF: the defaults */

    o.format = TC_TABLE_FORMAT_JSONL;
    o.flags = (k & 8) ? TC_TABLE_ALLOW_INVALID_UTF8 : 0;
    o.max_record_bytes = (k & 0x10) ? 64 : 0;
    fuzz_table(data, size, "fuzz.jsonl", &o);
    return 0;
}
