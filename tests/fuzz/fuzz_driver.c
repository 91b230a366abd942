/*
 * fuzz_driver.c - a main() for the fuzz targets where libFuzzer is not available (the gcc
 * builds, including the ASan/UBSan one): replay every seed, then a fixed number of
 * deterministic mutations of them (bit flips, interesting bytes and integers, truncation,
 * deleted, repeated and spliced ranges), so the targets' code paths run under the project's
 * sanitizers on every test run. Not a coverage-guided fuzzer; tests/fuzz/run_libfuzzer.sh
 * runs the real one when clang is there.
 *
 *   fuzz_X_replay [-runs=N] [-seed=S] SEED_DIR_OR_FILE...
 *
 * Prints "N inputs, 0 crashes" at the end (a crash never gets that far: the sanitizer or the
 * signal ends the process). The runs are deterministic: to keep the input that crashed, run
 * the same command again with TC_FUZZ_SAVE_LAST=1, which writes each input to
 * ./fuzz-driver-last-input before running it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 4096
#define FUZZ_MAX_INPUT ((size_t)1 << 20)

typedef struct seed {
    uint8_t *data;
    size_t len;
} seed;

static seed seeds[MAX_SEEDS];
static size_t n_seeds;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64 */

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static void add_file(const char *path)
{
    FILE *f;
    long n;
    uint8_t *buf;

    if (n_seeds >= MAX_SEEDS || !(f = fopen(path, "rb")))
        return;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && (size_t)n <= FUZZ_MAX_INPUT &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
            seeds[n_seeds].data = buf;
            seeds[n_seeds++].len = (size_t)n;
        } else {
            free(buf);
        }
    }
    fclose(f);
}

static void add_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (stat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    if (!(d = opendir(path)))
        return;
    while ((e = readdir(d))) {
        char full[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
        add_file(full);
    }
    closedir(d);
}

static int save_last;

static void run(const uint8_t *data, size_t len)
{
    FILE *f = save_last ? fopen("fuzz-driver-last-input", "wb") : NULL;

    if (f) {
        if (len)
            fwrite(data, 1, len, f);
        fclose(f);
    }
    LLVMFuzzerTestOneInput(data, len);
}

/* One mutation of src into dst (capacity FUZZ_MAX_INPUT); returns the new length. */
static size_t mutate(uint8_t *dst, const seed *src)
{
    static const uint32_t ints[] = {0,        1,          0x7f,        0x80,        0xff,
                                    0xffff,   0x7fffffff, 0x80000000u, 0xffffffffu, 1u << 20,
                                    1u << 28, 15,         16};
    size_t len = src->len, a, b;
    int rounds = 1 + (int)below(4);

    memcpy(dst, src->data, len);
    while (rounds-- > 0) {
        switch (below(8)) {
        case 0: /* flip a bit */
            if (len)
                dst[below(len)] ^= (uint8_t)(1u << below(8));
            break;
        case 1: /* an interesting byte */
            if (len)
                dst[below(len)] = (uint8_t)ints[below(5)];
            break;
        case 2: /* an interesting 32-bit integer, little-endian */
            if (len >= 4) {
                uint32_t v = ints[below(sizeof(ints) / sizeof(ints[0]))];
                a = below(len - 3);
                for (int k = 0; k < 4; k++)
                    dst[a + (size_t)k] = (uint8_t)(v >> (8 * k));
            }
            break;
        case 3: /* truncate */ len = below(len + 1); break;
        case 4: /* delete a range */
            if (len) {
                a = below(len);
                b = a + below(len - a + 1);
                memmove(dst + a, dst + b, len - b);
                len -= b - a;
            }
            break;
        case 5: /* repeat a range */
            if (len) {
                a = below(len);
                b = 1 + below(len - a < 64 ? len - a : 64);
                if (len + b <= FUZZ_MAX_INPUT) {
                    memmove(dst + a + b, dst + a, len - a);
                    len += b;
                }
            }
            break;
        case 6: { /* splice: the head of this one, the tail of another seed */
            const seed *o = &seeds[below(n_seeds)];
            a = below(len + 1);
            b = below(o->len + 1);
            if (a + (o->len - b) <= FUZZ_MAX_INPUT) {
                memcpy(dst + a, o->data + b, o->len - b);
                len = a + (o->len - b);
            }
            break;
        }
        default: /* a random byte */
            if (len)
                dst[below(len)] = (uint8_t)rnd();
            break;
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    long runs = 5000, done = 0;
    uint8_t *buf;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-runs=", 6) == 0)
            runs = strtol(argv[i] + 6, NULL, 10);
        else if (strncmp(argv[i], "-seed=", 6) == 0)
            rng_state = strtoull(argv[i] + 6, NULL, 10) | 1;
        else if (argv[i][0] != '-')
            add_path(argv[i]);
    }
    if (n_seeds == 0) {
        fprintf(stderr, "fuzz driver: no seeds\n");
        return 2;
    }
    save_last = getenv("TC_FUZZ_SAVE_LAST") != NULL;
    buf = malloc(FUZZ_MAX_INPUT);
    if (!buf)
        return 2;
    for (size_t i = 0; i < n_seeds; i++, done++)
        run(seeds[i].data, seeds[i].len);
    run(NULL, 0);
    for (long i = 0; i < runs; i++, done++)
        run(buf, mutate(buf, &seeds[below(n_seeds)]));
    if (save_last)
        remove("fuzz-driver-last-input");
    printf("%s: %zu seeds, %ld inputs, 0 crashes\n", argv[0], n_seeds, done + 1);
    for (size_t i = 0; i < n_seeds; i++)
        free(seeds[i].data);
    free(buf);
    return 0;
}
