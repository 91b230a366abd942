/*
 * tc_test.h - the minimal unit-test harness used by tests/.
 *
 * A test file defines `static void test_<module>_<file>__<case>(void)`
 * functions, lists them in a TC_TEST_LIST, and ends with TC_TEST_MAIN(). Each
 * check logs file:line and the failed expression and marks the case failed;
 * the case goes on so one run shows every failure. The run ends with the
 * line "N passed, N failed" and exits non-zero when anything failed.
 * Pass case names as arguments to run only those.
 */
#ifndef TC_TEST_H
#define TC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tc_test_case {
    const char *name;
    void (*fn)(void);
} tc_test_case;

static int tc_test_failed_checks;

#define TC_CHECK(expr)                                                                             \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);               \
            tc_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

#define TC_CHECK_OK(call)                                                                          \
    do {                                                                                           \
        int tc_rc_ = (call);                                                                       \
        if (tc_rc_ != 0) {                                                                         \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #call, tc_rc_,      \
                    tc_error_message());                                                           \
            tc_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

#define TC_CHECK_ERR(call, code)                                                                   \
    do {                                                                                           \
        int tc_rc_ = (call);                                                                       \
        if (tc_rc_ != (code)) {                                                                    \
            fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__,       \
                    #call, tc_rc_, (int)(code), #code);                                            \
            tc_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

#define TC_CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                           \
        double tc_a_ = (double)(a), tc_b_ = (double)(b);                                           \
        if (!(fabs(tc_a_ - tc_b_) <= (tol))) {                                                     \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, differ by more than %g\n", __FILE__,     \
                    __LINE__, #a, tc_a_, #b, tc_b_, (double)(tol));                                \
            tc_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

#define TC_CHECK_STR_CONTAINS(hay, needle)                                                         \
    do {                                                                                           \
        const char *tc_h_ = (hay);                                                                 \
        if (!tc_h_ || !strstr(tc_h_, (needle))) {                                                  \
            fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__,             \
                    tc_h_ ? tc_h_ : "(null)", (needle));                                           \
            tc_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

/* clang-format off */
#define TC_TEST(fn) {#fn, fn}
/* clang-format on */

#define TC_TEST_MAIN(list)                                                                         \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        int passed = 0, failed = 0;                                                                \
        size_t i;                                                                                  \
        for (i = 0; i < sizeof(list) / sizeof((list)[0]); i++) {                                   \
            int before = tc_test_failed_checks, want = argc < 2, k;                                \
            for (k = 1; k < argc; k++)                                                             \
                if (strstr((list)[i].name, argv[k]))                                               \
                    want = 1;                                                                      \
            if (!want)                                                                             \
                continue;                                                                          \
            (list)[i].fn();                                                                        \
            if (tc_test_failed_checks == before) {                                                 \
                passed++;                                                                          \
                printf("ok   %s\n", (list)[i].name);                                               \
            } else {                                                                               \
                failed++;                                                                          \
                printf("FAIL %s\n", (list)[i].name);                                               \
            }                                                                                      \
        }                                                                                          \
        printf("%d passed, %d failed\n", passed, failed);                                          \
        return failed ? 1 : 0;                                                                     \
    }

#endif /* TC_TEST_H */
