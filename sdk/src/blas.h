/*
 * blas.h - the BLAS that libtc calls, loaded at first use.
 *
 * libtc does not link OpenBLAS: it dlopens it on the first sgemm, after
 * choosing OpenBLAS's kernel set from the CPU's features when
 * $OPENBLAS_CORETYPE is unset. OpenBLAS 0.3.21 misdetects some virtual CPUs
 * (e.g. "Intel Xeon Processor" with AVX-512) as Prescott and runs SSE3
 * kernels 8x slower; choosing before load avoids that. The environment
 * variable must be set before OpenBLAS initialises, which is why it is
 * loaded here instead of linked. For the same reason OPENBLAS_THREAD_TIMEOUT
 * defaults to 4 here (idle threads sleep at once instead of spinning).
 *
 * Without a loadable OpenBLAS, tc__sgemm falls back to a plain C loop (slow,
 * correct) and tc_blas_backend() says so.
 */
#ifndef TC_BLAS_H
#define TC_BLAS_H

#include "internal.h"

/* CBLAS constants (the standard values). */
enum { TC__BLAS_NO_TRANS = 111, TC__BLAS_TRANS = 112 };

/*
 * Row-major C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, as
 * cblas_sgemm(CblasRowMajor, ...).
 */
TC_INTERNAL void tc__sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc);

/* openblas_get_parallel(): 0 single-threaded, 1 pthreads, 2 OpenMP; 0 without OpenBLAS. */
TC_INTERNAL int tc__blas_parallel(void);

/* openblas_get_num_threads(), or 1 without OpenBLAS. */
TC_INTERNAL int tc__blas_threads(void);

/*
 * Run the following sgemm calls on the calling thread only, until
 * tc__blas_serial_end(the value returned): for long chains of small products
 * (an LSTM's steps), where waking OpenBLAS's threads for each costs more than
 * the product and leaves them spinning in sched_yield. The thread count is
 * process-wide: callers are the trainer's single thread.
 */
TC_INTERNAL int tc__blas_serial_begin(void);
TC_INTERNAL void tc__blas_serial_end(int saved);

/* The loaded library's cblas_sgemm, or NULL when none could be loaded (for benchmarks). */
TC_INTERNAL void *tc__blas_sgemm_symbol(void);

#endif /* TC_BLAS_H */
