/*
 * blas.c - load OpenBLAS at first use with a kernel set chosen for this CPU
 * (see blas.h).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"

typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C,
                         int ldc);
typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);

enum { ROW_MAJOR = 101 };

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static sgemm_fn blas_sgemm;
static int_fn blas_get_parallel, blas_get_threads;
static void (*blas_set_threads)(int);
static char blas_desc[256] = "reference C loops (OpenBLAS not loaded)";

/* The OpenBLAS DYNAMIC_ARCH core name for this CPU, or NULL to let OpenBLAS decide. */
static const char *pick_coretype(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

static void blas_load(void)
{
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
    const char *env = getenv("TC_OPENBLAS_LIBRARY"), *core;
    void *h = NULL;
    size_t i;
    str_fn corename;
    int_fn threads;

    if (!getenv("OPENBLAS_CORETYPE") && (core = pick_coretype()))
        setenv("OPENBLAS_CORETYPE", core, 0);
    /*
     * Idle OpenBLAS threads spin in sched_yield for 2^28 cycles (its default
     * timeout 28) before they sleep, taking a core from whatever runs next on
     * this thread: the LSTM's own chunk threads, the tokenizer. 2^4 puts them
     * to sleep at once; an LSTM epoch took 15-25% less time and an MLP epoch no
     * more (2 cores).
     */
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
    if (env && *env)
        h = dlopen(env, RTLD_NOW | RTLD_GLOBAL);
    for (i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!h)
        return;
    *(void **)&blas_sgemm = dlsym(h, "cblas_sgemm");
    if (!blas_sgemm)
        return;
    *(void **)&corename = dlsym(h, "openblas_get_corename");
    *(void **)&threads = dlsym(h, "openblas_get_num_threads");
    *(void **)&blas_get_parallel = dlsym(h, "openblas_get_parallel");
    *(void **)&blas_set_threads = dlsym(h, "openblas_set_num_threads");
    blas_get_threads = threads;
    snprintf(blas_desc, sizeof(blas_desc), "OpenBLAS %s, %d threads%s",
             corename ? corename() : "(unknown core)", threads ? threads() : 0,
             blas_get_parallel && blas_get_parallel() == 2 ? " (OpenMP)" : "");
}

static void sgemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    int i, j, k;

    for (i = 0; i < M; i++) {
        for (j = 0; j < N; j++) {
            float acc = 0.0f;
            for (k = 0; k < K; k++) {
                float a = ta == TC__BLAS_TRANS ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb == TC__BLAS_TRANS ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += a * b;
            }
            C[(size_t)i * ldc + j] =
                alpha * acc + (beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j]);
        }
    }
}

void tc__sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    pthread_once(&blas_once, blas_load);
    if (blas_sgemm)
        blas_sgemm(ROW_MAJOR, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        sgemm_ref(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void *tc__blas_sgemm_symbol(void)
{
    pthread_once(&blas_once, blas_load);
    return *(void **)&blas_sgemm;
}

const char *tc_blas_backend(void)
{
    pthread_once(&blas_once, blas_load);
    return blas_desc;
}

int tc__blas_parallel(void)
{
    pthread_once(&blas_once, blas_load);
    return blas_get_parallel ? blas_get_parallel() : 0;
}

int tc__blas_threads(void)
{
    pthread_once(&blas_once, blas_load);
    return blas_get_threads ? blas_get_threads() : 1;
}

int tc__blas_serial_begin(void)
{
    int n = tc__blas_threads();

    if (n <= 1 || !blas_set_threads)
        return 0;
    blas_set_threads(1);
    return n;
}

void tc__blas_serial_end(int saved)
{
    if (saved > 1 && blas_set_threads)
        blas_set_threads(saved);
}
