/*
 * fuzz_csv.c - libFuzzer target: the input is a CSV/TSV file; its last byte also picks the
 * delimiter, the flags and a small record limit, so one corpus covers every dialect.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[4] = {0, '\t', ';', '|'};
    tc_table_options o = TC_TABLE_OPTIONS_INIT;
    uint8_t k = size ? data[size - 1] ^ 0x0a : 0; /* a seed ending in LF: the defaults */

    o.format = (k & 0x40) ? TC_TABLE_FORMAT_TSV : TC_TABLE_FORMAT_CSV;
    o.delimiter = delims[k & 3];
    o.flags = ((k & 4) ? TC_TABLE_NO_HEADER : 0) | ((k & 8) ? TC_TABLE_ALLOW_INVALID_UTF8 : 0);
    o.max_record_bytes = (k & 0x10) ? 64 : 0;
    fuzz_table(data, size, "fuzz.csv", &o);
    return 0;
}
