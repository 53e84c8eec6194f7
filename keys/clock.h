/*
 * Monotonic time for deadlines and durations (timeouts, retry windows):
 * never a date, and unaffected when the wall clock is set.
 */
#ifndef SKR_KEYS_CLOCK_H
#define SKR_KEYS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds of CLOCK_MONOTONIC since an arbitrary start. */
static inline uint64_t
skr_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds, on the same start. */
static inline uint64_t
skr_clock_ms(void)
{
	return skr_clock_us() / 1000;
}

#endif
