/*
 * A minimal assertion harness for skr's test executables.  Each CHECK counts;
 * a failed one prints where and why and makes the program exit 1.  A test
 * calls check_done() last, which prints "N passed, N failed" and returns the
 * exit status (0 or 1).  check_skip() exits 77, meson's "skipped".
 */
#ifndef SKR_TESTS_CHECK_H
#define SKR_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skr/error.h"

/* Atomic: tests that start threads may CHECK from any of them. */
static _Atomic int check_passed, check_failed;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (cond) {                                                 \
			check_passed++;                                     \
		} else {                                                    \
			check_failed++;                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",        \
			    __FILE__, __LINE__, #cond);                     \
		}                                                           \
	} while (0)

/* Expect an skr error code (SKR_OK or SKR_ERR_*). */
#define CHECK_ERR(expr, want)                                               \
	do {                                                                \
		int check_r_ = (expr);                                      \
		if (check_r_ == (want)) {                                   \
			check_passed++;                                     \
		} else {                                                    \
			check_failed++;                                     \
			fprintf(stderr, "%s:%d: %s = %s (%s), want %s\n",   \
			    __FILE__, __LINE__, #expr, skr_err_id(check_r_),\
			    skr_strerror(check_r_), skr_err_id(want));      \
		}                                                           \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, SKR_OK)

#define CHECK_MEM(a, alen, b, blen)                                         \
	CHECK((alen) == (blen) && memcmp((a), (b), (alen)) == 0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *check_a_ = (a), *check_b_ = (b);                \
		if (check_a_ != NULL && check_b_ != NULL &&                 \
		    strcmp(check_a_, check_b_) == 0) {                      \
			check_passed++;                                     \
		} else {                                                    \
			check_failed++;                                     \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n",        \
			    __FILE__, __LINE__,                             \
			    check_a_ ? check_a_ : "(null)",                 \
			    check_b_ ? check_b_ : "(null)");                \
		}                                                           \
	} while (0)

static inline int
check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

static inline void
check_skip(const char *why)
{
	printf("skipped: %s\n", why);
	exit(77);
}

#endif
