/*
 * tokenizer_vocab.c - growable vectors, the vocabulary's string map and the
 * added-token trie used by the tokenizers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer_internal.h"

/* ---- vectors ------------------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 16, bytes;
    void *np;

    if (need <= *cap)
        return TC_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return tc_error_set(TC_ERANGE, "tokenizer buffer too large");
        ncap *= 2;
    }
    if (tc__mul_size(ncap, elem, &bytes) < 0)
        return TC_ERANGE;
    if (!(np = tc_realloc(*p, bytes)))
        return TC_ENOMEM;
    *p = np;
    *cap = ncap;
    return TC_OK;
}

int tc__u32vec_reserve(tc__u32vec *a, size_t extra)
{
    if (extra > SIZE_MAX - a->n)
        return tc_error_set(TC_ERANGE, "tokenizer buffer too large");
    return grow((void **)&a->v, &a->cap, a->n + extra, sizeof(uint32_t));
}

int tc__u32vec_push(tc__u32vec *a, uint32_t x)
{
    int err;

    if (a->n == a->cap && (err = tc__u32vec_reserve(a, 1)) < 0)
        return err;
    a->v[a->n++] = x;
    return TC_OK;
}

void tc__u32vec_dispose(tc__u32vec *a)
{
    tc_free(a->v);
    memset(a, 0, sizeof(*a));
}

int tc__i32vec_append(tc__i32vec *a, const int32_t *x, size_t n)
{
    int err;

    if (n > SIZE_MAX - a->n)
        return tc_error_set(TC_ERANGE, "tokenizer buffer too large");
    if ((err = grow((void **)&a->v, &a->cap, a->n + n, sizeof(int32_t))) < 0)
        return err;
    if (n)
        memcpy(a->v + a->n, x, n * sizeof(int32_t));
    a->n += n;
    return TC_OK;
}

int tc__i32vec_push(tc__i32vec *a, int32_t x)
{
    return tc__i32vec_append(a, &x, 1);
}

void tc__i32vec_dispose(tc__i32vec *a)
{
    tc_free(a->v);
    memset(a, 0, sizeof(*a));
}

int tc__bytes_reserve(tc__bytes *b, size_t extra)
{
    if (extra > SIZE_MAX - b->n - 1)
        return tc_error_set(TC_ERANGE, "tokenizer buffer too large");
    return grow((void **)&b->v, &b->cap, b->n + extra + 1, 1);
}

int tc__bytes_append(tc__bytes *b, const char *s, size_t n)
{
    int err;

    if (n > SIZE_MAX - b->n - 1)
        return tc_error_set(TC_ERANGE, "tokenizer buffer too large");
    if ((err = grow((void **)&b->v, &b->cap, b->n + n + 1, 1)) < 0)
        return err;
    if (n)
        memcpy(b->v + b->n, s, n);
    b->n += n;
    b->v[b->n] = '\0';
    return TC_OK;
}

int tc__bytes_appendf(tc__bytes *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n, err;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return tc_error_set(TC_ERROR, "format error");
    if ((size_t)n < sizeof(small))
        return tc__bytes_append(b, small, (size_t)n);
    if ((err = grow((void **)&b->v, &b->cap, b->n + (size_t)n + 1, 1)) < 0)
        return err;
    va_start(ap, fmt);
    vsnprintf(b->v + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
    return TC_OK;
}

void tc__bytes_dispose(tc__bytes *b)
{
    tc_free(b->v);
    memset(b, 0, sizeof(*b));
}

/* ---- string map --------------------------------------------------------------------------- */

static uint32_t hash2(const char *a, size_t alen, const char *b, size_t blen)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < alen; i++)
        h = (h ^ (unsigned char)a[i]) * 16777619u;
    for (i = 0; i < blen; i++)
        h = (h ^ (unsigned char)b[i]) * 16777619u;
    return h;
}

static tc__strmap_slot *find_slot(const tc__strmap *m, uint32_t h, const char *a, size_t alen,
                                  const char *b, size_t blen)
{
    size_t mask, i;

    if (!m->cap)
        return NULL;
    mask = m->cap - 1;
    for (i = h & mask;; i = (i + 1) & mask) {
        tc__strmap_slot *s = &m->slots[i];
        if (s->off == SIZE_MAX)
            return s;
        if (s->hash == h && s->len == alen + blen &&
            (!alen || !memcmp(m->arena + s->off, a, alen)) &&
            (!blen || !memcmp(m->arena + s->off + alen, b, blen)))
            return s;
    }
}

static int rehash(tc__strmap *m, size_t ncap)
{
    tc__strmap_slot *old = m->slots, *ns;
    size_t oldcap = m->cap, i, j;

    if (!(ns = tc_calloc(ncap, sizeof(*ns))))
        return TC_ENOMEM;
    for (i = 0; i < ncap; i++)
        ns[i].off = SIZE_MAX;
    for (i = 0; i < oldcap; i++) {
        if (old[i].off == SIZE_MAX)
            continue;
        for (j = old[i].hash & (ncap - 1); ns[j].off != SIZE_MAX; j = (j + 1) & (ncap - 1))
            ;
        ns[j] = old[i];
    }
    m->slots = ns;
    m->cap = ncap;
    tc_free(old);
    return TC_OK;
}

int tc__strmap_put(tc__strmap *m, const char *key, size_t len, int64_t value,
                   tc__strmap_slot **out_slot, int *existed)
{
    tc__strmap_slot *s;
    uint32_t h = hash2(key, len, NULL, 0);
    int err;

    if (len > UINT32_MAX)
        return tc_error_set(TC_ERANGE, "key too long");
    if ((m->count + 1) * 2 > m->cap && (err = rehash(m, m->cap ? m->cap * 2 : 64)) < 0)
        return err;
    s = find_slot(m, h, key, len, NULL, 0);
    if (s->off != SIZE_MAX) {
        if (existed)
            *existed = 1;
        if (out_slot)
            *out_slot = s;
        return TC_OK;
    }
    if (len + 1 > SIZE_MAX - m->arena_len)
        return tc_error_set(TC_ERANGE, "vocabulary too large");
    if ((err = grow((void **)&m->arena, &m->arena_cap, m->arena_len + len + 1, 1)) < 0)
        return err;
    if (len)
        memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = '\0';
    s->off = m->arena_len;
    s->len = (uint32_t)len;
    s->hash = h;
    s->value = value;
    m->arena_len += len + 1;
    m->count++;
    if (existed)
        *existed = 0;
    if (out_slot)
        *out_slot = s;
    return TC_OK;
}

tc__strmap_slot *tc__strmap_get2(const tc__strmap *m, const char *a, size_t alen, const char *b,
                                 size_t blen)
{
    tc__strmap_slot *s;

    if (!m->cap)
        return NULL;
    s = find_slot(m, hash2(a, alen, b, blen), a, alen, b, blen);
    return s->off == SIZE_MAX ? NULL : s;
}

tc__strmap_slot *tc__strmap_get(const tc__strmap *m, const char *key, size_t len)
{
    return tc__strmap_get2(m, key, len, NULL, 0);
}

const char *tc__strmap_key(const tc__strmap *m, const tc__strmap_slot *s)
{
    return m->arena + s->off;
}

void tc__strmap_dispose(tc__strmap *m)
{
    tc_free(m->slots);
    tc_free(m->arena);
    memset(m, 0, sizeof(*m));
}

/* ---- trie --------------------------------------------------------------------------------- */

static int trie_new_node(tc__trie *t, uint32_t cp, int32_t *out)
{
    int err;

    if (t->n >= (size_t)INT32_MAX)
        return tc_error_set(TC_ERANGE, "too many added tokens");
    if ((err = grow((void **)&t->nodes, &t->cap, t->n + 1, sizeof(tc__trie_node))) < 0)
        return err;
    t->nodes[t->n].cp = cp;
    t->nodes[t->n].child = -1;
    t->nodes[t->n].next = -1;
    t->nodes[t->n].value = -1;
    *out = (int32_t)t->n++;
    return TC_OK;
}

int tc__trie_insert(tc__trie *t, const uint32_t *cps, size_t n, int32_t value)
{
    int32_t node = 0, c, fresh;
    size_t i;
    int err;

    if (!t->n && (err = trie_new_node(t, 0, &fresh)) < 0)
        return err;
    for (i = 0; i < n; i++) {
        for (c = t->nodes[node].child; c >= 0 && t->nodes[c].cp != cps[i]; c = t->nodes[c].next)
            ;
        if (c < 0) {
            if ((err = trie_new_node(t, cps[i], &fresh)) < 0)
                return err;
            t->nodes[fresh].next = t->nodes[node].child;
            t->nodes[node].child = fresh;
            c = fresh;
        }
        node = c;
    }
    /* A later token with the same content replaces the earlier one, as in a map. */
    t->nodes[node].value = value;
    return TC_OK;
}

int32_t tc__trie_longest(const tc__trie *t, const uint32_t *s, size_t n, size_t *len)
{
    int32_t node = 0, c, best = -1;
    size_t i;

    if (!t->n)
        return -1;
    for (i = 0; i < n; i++) {
        for (c = t->nodes[node].child; c >= 0 && t->nodes[c].cp != s[i]; c = t->nodes[c].next)
            ;
        if (c < 0)
            break;
        node = c;
        if (t->nodes[node].value >= 0) {
            best = t->nodes[node].value;
            *len = i + 1;
        }
    }
    return best;
}

void tc__trie_dispose(tc__trie *t)
{
    tc_free(t->nodes);
    memset(t, 0, sizeof(*t));
}
