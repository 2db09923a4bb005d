/*
 * Helpers for the tests that watch a counter guest's output in files
 * (state_counter.asm prints T1, T2, ... one per line): read a file, count
 * its lines, wait for more, check the ticks.  Header-only (cmocka).
 */
#ifndef PETREL_TESTS_TICK_FILES_H
#define PETREL_TESTS_TICK_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file's first 64 KiB as a string ("" when it does not exist). */
static inline char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    if (f) {
        buf[fread(buf, 1, (1 << 16) - 1, f)] = 0;
        fclose(f);
    }
    return buf;
}

static inline unsigned lines(const char *path)
{
    char *s = slurp(path);
    unsigned n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* Waits up to 120 s (a bound for a loaded machine, not a speed test) for the file to hold n lines. */
static inline void wait_lines(const char *path, unsigned n)
{
    for (int i = 0; i < 12000 && lines(path) < n; i++)
        usleep(10000);
    assert_true(lines(path) >= n);
}

/* Cuts text after its last '\n': the output of a VM the test stopped may end
 * in the middle of a line. */
static inline void drop_partial_line(char *text)
{
    char *last_nl = strrchr(text, '\n');
    if (last_nl)
        last_nl[1] = '\0';
}

/* Every line is T<k>, k = 1, 2, 3...: no tick lost or repeated. */
static inline void assert_ticks(const char *text, unsigned min)
{
    unsigned k = 1;
    for (const char *p = text; *p; k++) {
        char *end = NULL;
        if (*p != 'T' || strtoul(p + 1, &end, 10) != k || *end != '\n') {
            fprintf(stderr, "tick %u missing in: %s\n", k, text);
            fail();
        }
        p = end + 1;
    }
    assert_true(k - 1 >= min);
}

#endif /* PETREL_TESTS_TICK_FILES_H */
