/* fuzz_parquet.c - libFuzzer target: the input is a Parquet file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_table_options o = TC_TABLE_OPTIONS_INIT;

    o.format = TC_TABLE_FORMAT_PARQUET;
    fuzz_table(data, size, "fuzz.parquet", &o);
    return 0;
}
