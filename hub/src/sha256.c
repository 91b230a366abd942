/*
 * sha256.c - SHA-256 for LFS verification, through OpenSSL's libcrypto
 * (see hub_internal.h for why this API).
 */
#include "hub_internal.h"

void hub__sha256_init(hub_sha256 *s)
{
    SHA256_Init(&s->ctx);
}

void hub__sha256_update(hub_sha256 *s, const void *data, size_t n)
{
    SHA256_Update(&s->ctx, data, n);
}

void hub__sha256_final(hub_sha256 *s, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    int i;

    SHA256_Final(md, &s->ctx);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}
