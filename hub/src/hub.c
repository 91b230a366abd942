#include <stdlib.h>

#include <tc/hub.h>

const char *tc_hub_endpoint(void)
{
    const char *e = getenv("HF_ENDPOINT");
    return e && *e ? e : "https://huggingface.co";
}
