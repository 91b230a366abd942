/*
 * tc/hub.h - the Hugging Face Hub client (libtchub).
 *
 * NEEDSWORK: a skeleton for now; downloads into the huggingface_hub cache
 * layout and git + LFS push arrive with issues 4 and 5.
 */
#ifndef TC_HUB_H
#define TC_HUB_H

#include <tc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The endpoint in effect: $HF_ENDPOINT, or "https://huggingface.co". Borrowed. */
TC_API const char *tc_hub_endpoint(void);

#ifdef __cplusplus
}
#endif

#endif /* TC_HUB_H */
