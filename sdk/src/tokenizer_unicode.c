/*
 * tokenizer_unicode.c - UTF-8, the character classes of BERT's tokenizer,
 * BertNormalizer and BertPreTokenizer, on top of utf8proc's Unicode data.
 *
 * The classes follow Hugging Face's Rust tokenizers (normalizers/bert.rs,
 * pre_tokenizers/bert.rs), checked against that library:
 *   whitespace  the White_Space property (tab, LF, VT, FF, CR, U+0085 and
 *               the categories Zs, Zl, Zp)
 *   control     categories Cc, Cf, Co, Cs, except tab, LF and CR (unassigned
 *               code points, Cn, are kept)
 *   punctuation ASCII punctuation (33-47, 58-64, 91-96, 123-126) or P*
 *   Chinese     the CJK ideograph blocks BERT lists (as in bert.rs; the sixth
 *               block starts at U+2B920 there, U+2B820 in Python)
 */
#include <string.h>

#include <utf8proc.h>

#include "tokenizer_internal.h"

int tc__utf8_decode(tc__u32vec *out, const char *s, size_t n)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;
    int err;

    if ((err = tc__u32vec_reserve(out, n)) < 0)
        return err;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k;

        if (p[i] < 0x80) {
            out->v[out->n++] = p[i++];
            continue;
        }
        k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i < 4 ? n - i : 4), &cp);
        if (k <= 0) {
            out->v[out->n++] = 0xFFFD;
            i++;
        } else {
            out->v[out->n++] = (uint32_t)cp;
            i += (size_t)k;
        }
    }
    return TC_OK;
}

size_t tc__utf8_put(char *buf, uint32_t cp)
{
    return (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)buf);
}

int tc__utf8_encode(tc__bytes *out, const uint32_t *cps, size_t n)
{
    char tmp[256];
    size_t i, k = 0;
    int err;

    for (i = 0; i < n; i++) {
        k += tc__utf8_put(tmp + k, cps[i]);
        if (k > sizeof(tmp) - 4) {
            if ((err = tc__bytes_append(out, tmp, k)) < 0)
                return err;
            k = 0;
        }
    }
    return tc__bytes_append(out, tmp, k);
}

int64_t tc__utf8_count(const char *s, size_t n)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    int64_t count = 0;
    size_t i = 0;

    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k;

        if (p[i] < 0x80) {
            i++;
        } else {
            k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i < 4 ? n - i : 4), &cp);
            if (k <= 0)
                return -1;
            i += (size_t)k;
        }
        count++;
    }
    return count;
}

static utf8proc_category_t category(uint32_t cp)
{
    return utf8proc_category((utf8proc_int32_t)cp);
}

int tc__is_whitespace(uint32_t cp)
{
    utf8proc_category_t c;

    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85)
        return 1;
    if (cp < 0x80)
        return 0;
    c = category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

static int is_control(uint32_t cp)
{
    utf8proc_category_t c;

    if (cp == '\t' || cp == '\n' || cp == '\r')
        return 0;
    c = category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
           c == UTF8PROC_CATEGORY_CS;
}

int tc__is_punct(uint32_t cp)
{
    utf8proc_category_t c;

    if (cp < 0x80)
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
               (cp >= 123 && cp <= 126);
    c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

static int is_chinese(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* clean_text and handle_chinese_chars, in[0..n) appended to out. */
static int clean_and_space(tc__u32vec *out, const tc__normalizer *nz, const uint32_t *in, size_t n)
{
    size_t i;
    int err;

    for (i = 0; i < n; i++) {
        uint32_t cp = in[i];
        if (nz->clean_text && cp < 0x80) {
            if (cp == '\t' || cp == '\n' || cp == '\r')
                cp = ' ';
            else if (cp < 0x20 || cp == 0x7F)
                continue;
        } else if (nz->clean_text) {
            if (cp == 0xFFFD || is_control(cp))
                continue;
            if (tc__is_whitespace(cp))
                cp = ' ';
        }
        if (nz->handle_chinese_chars && cp >= 0x3400 && is_chinese(cp)) {
            if ((err = tc__u32vec_reserve(out, 3)) < 0)
                return err;
            out->v[out->n++] = ' ';
            out->v[out->n++] = cp;
            out->v[out->n++] = ' ';
        } else {
            if (out->n == out->cap && (err = tc__u32vec_reserve(out, 1)) < 0)
                return err;
            out->v[out->n++] = cp;
        }
    }
    return TC_OK;
}

/*
 * Replace s[from..) by its canonical decomposition (NFD: recursive
 * decomposition, Hangul included, then canonical ordering of combining
 * marks) with the nonspacing marks (Mn) removed.
 */
static int strip_accents(tc__u32vec *s, size_t from)
{
    tc__u32vec d = {0};
    size_t i, j, run;
    int err = TC_OK;

    for (i = from; i < s->n; i++) {
        utf8proc_int32_t buf[32];
        utf8proc_ssize_t k;
        int bound = 0;

        if (s->v[i] < 0xC0) { /* no decomposition below U+00C0 */
            if ((err = tc__u32vec_push(&d, s->v[i])) < 0)
                goto out;
            continue;
        }
        k = utf8proc_decompose_char((utf8proc_int32_t)s->v[i], buf, 32, UTF8PROC_DECOMPOSE, &bound);
        if (k < 0 || k > 32) {
            k = 1;
            buf[0] = (utf8proc_int32_t)s->v[i];
        }
        if ((err = tc__u32vec_reserve(&d, (size_t)k)) < 0)
            goto out;
        for (j = 0; j < (size_t)k; j++)
            d.v[d.n++] = (uint32_t)buf[j];
    }
    /* Canonical ordering: a stable sort of each run of non-starters by combining class. */
    for (i = 0; i < d.n; i = run) {
        run = i + 1;
        if (!utf8proc_get_property((utf8proc_int32_t)d.v[i])->combining_class)
            continue;
        while (run < d.n && utf8proc_get_property((utf8proc_int32_t)d.v[run])->combining_class)
            run++;
        for (j = i + 1; j < run; j++) {
            uint32_t x = d.v[j];
            int cx = utf8proc_get_property((utf8proc_int32_t)x)->combining_class;
            size_t k = j;
            while (k > i &&
                   utf8proc_get_property((utf8proc_int32_t)d.v[k - 1])->combining_class > cx) {
                d.v[k] = d.v[k - 1];
                k--;
            }
            d.v[k] = x;
        }
    }
    s->n = from;
    for (i = 0; i < d.n; i++) {
        if (d.v[i] >= 0x300 && category(d.v[i]) == UTF8PROC_CATEGORY_MN)
            continue;
        if ((err = tc__u32vec_push(s, d.v[i])) < 0)
            goto out;
    }
out:
    tc__u32vec_dispose(&d);
    return err;
}

/*
 * Lowercase s[from..) per character as Rust's char::to_lowercase: the
 * simple mapping of UnicodeData, except U+0130, whose full mapping (the one
 * unconditional multi-character lowercase mapping in SpecialCasing) is
 * "i" + U+0307. Conditional mappings (final sigma) do not apply.
 */
static int lowercase(tc__u32vec *s, size_t from)
{
    size_t i, extra = 0;
    int err;

    for (i = from; i < s->n; i++) {
        if (s->v[i] == 0x130)
            extra++;
        else if (s->v[i] < 0x80)
            s->v[i] = (s->v[i] >= 'A' && s->v[i] <= 'Z') ? s->v[i] + 32 : s->v[i];
        else
            s->v[i] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)s->v[i]);
    }
    if (!extra)
        return TC_OK;
    if ((err = tc__u32vec_reserve(s, extra)) < 0)
        return err;
    i = s->n;
    s->n += extra;
    while (i-- > from) {
        if (s->v[i] == 0x130) {
            s->v[i + extra] = 0x307;
            extra--;
            s->v[i + extra] = 'i';
        } else {
            s->v[i + extra] = s->v[i];
        }
    }
    return TC_OK;
}

int tc__bert_normalize(tc__u32vec *out, const tc__normalizer *nz, const uint32_t *in, size_t n)
{
    size_t from = out->n;
    int strip = nz->strip_accents < 0 ? nz->lowercase : nz->strip_accents;
    int err;

    if ((err = clean_and_space(out, nz, in, n)) < 0)
        return err;
    if (strip && (err = strip_accents(out, from)) < 0)
        return err;
    if (nz->lowercase && (err = lowercase(out, from)) < 0)
        return err;
    return TC_OK;
}

int tc__bert_pretokenize(tc__u32vec *words, const uint32_t *s, size_t n)
{
    size_t i = 0, start;
    int err;

    while (i < n) {
        if (tc__is_whitespace(s[i])) {
            i++;
            continue;
        }
        start = i;
        if (tc__is_punct(s[i])) {
            i++;
        } else {
            while (i < n && !tc__is_whitespace(s[i]) && !tc__is_punct(s[i]))
                i++;
        }
        if (words->n + 2 > words->cap && (err = tc__u32vec_reserve(words, 2)) < 0)
            return err;
        words->v[words->n++] = (uint32_t)start;
        words->v[words->n++] = (uint32_t)i;
    }
    return TC_OK;
}
