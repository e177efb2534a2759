/* Compile-time limits of the Swim board core. Every buffer is sized from these; nothing is allocated at run time.
 * Override any of them with -D on the compiler's command line (the Makefile's host and Cortex-M4 builds do). */
#ifndef SWIM_CONFIG_H
#define SWIM_CONFIG_H

/* Largest request payload accepted (IDENTIFY max_payload): at least 1024 and at least 2 + 16 x SWIM_MAX_BATCH. */
#ifndef SWIM_MAX_PAYLOAD
#define SWIM_MAX_PAYLOAD 4098
#endif

/* Most cells per command and sub-requests per BATCH (IDENTIFY max_batch). */
#ifndef SWIM_MAX_BATCH
#define SWIM_MAX_BATCH 256
#endif

/* Longest answer payload (IDENTIFY max_response). Every cache entry holds one, so with the cache depth and the number
 * of sessions it sets most of the board's RAM: SWIM_MAX_SESSIONS x SWIM_CACHE_DEPTH x (SWIM_MAX_RESPONSE + 12). */
#ifndef SWIM_MAX_RESPONSE
#define SWIM_MAX_RESPONSE 4098
#endif

/* K, the response window per session (IDENTIFY cache_depth): at least 32 and a power of two, so that the K numbers
 * of a window fall in K distinct slots (number mod K). */
#ifndef SWIM_CACHE_DEPTH
#define SWIM_CACHE_DEPTH 64
#endif

/* Sessions held at once (IDENTIFY max_sessions): at least 2, a writer and a monitor. */
#ifndef SWIM_MAX_SESSIONS
#define SWIM_MAX_SESSIONS 4
#endif

/* Links served at once, each with its own receive buffer (a UART board has one; the host build serves TCP clients). */
#ifndef SWIM_MAX_LINKS
#define SWIM_MAX_LINKS 1
#endif

#if SWIM_MAX_PAYLOAD < 1024 || SWIM_MAX_PAYLOAD < 2 + 16 * SWIM_MAX_BATCH || SWIM_MAX_PAYLOAD > 65519
#error "SWIM_MAX_PAYLOAD must be at least 1024 and 2 + 16 x SWIM_MAX_BATCH, and at most 65,519 (protocol section 7)"
#endif
#if SWIM_MAX_BATCH < 1 || SWIM_MAX_BATCH > 4094
#error "SWIM_MAX_BATCH must be 1 to 4,094 (protocol section 7)"
#endif
#if SWIM_MAX_RESPONSE < 122 || SWIM_MAX_RESPONSE > 65519
#error "SWIM_MAX_RESPONSE must hold IDENTIFY's 122 bytes and be at most 65,519"
#endif
#if SWIM_CACHE_DEPTH < 32 || (SWIM_CACHE_DEPTH & (SWIM_CACHE_DEPTH - 1)) != 0 || SWIM_CACHE_DEPTH > 32768
#error "SWIM_CACHE_DEPTH must be a power of two from 32 (protocol section 3.2)"
#endif
#if SWIM_MAX_SESSIONS < 2 || SWIM_MAX_SESSIONS > 255
#error "SWIM_MAX_SESSIONS must be 2 to 255 (protocol section 3.1)"
#endif

#endif
