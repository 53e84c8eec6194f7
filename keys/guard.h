/*
 * Guard macros that keep the normal path of a function reading straight
 * down.  Both assume an int `r` and an `out:` label in the function.
 */
#ifndef SKR_KEYS_GUARD_H
#define SKR_KEYS_GUARD_H

/* Evaluate expr (an skr error code); on failure keep it in r, go to out. */
#define SKR_GUARD(expr)                                                    \
	do {                                                               \
		if ((r = (expr)) != SKR_OK)                                \
			goto out;                                          \
	} while (0)

/* Unless cond holds, set r to err and go to out. */
#define SKR_ENSURE(cond, err)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			r = (err);                                         \
			goto out;                                          \
		}                                                          \
	} while (0)

#endif
