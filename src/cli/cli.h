/*
 * The `petrel` command: a client of the public VM API and nothing more.
 */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of the command. */
#define CLI_EXIT_OK          0
#define CLI_EXIT_GUEST_FAIL  1   /* guru meditation, fatal error */
#define CLI_EXIT_USAGE       2   /* bad arguments or input files */

int cmd_run(int argc, char **argv);
void cmd_run_help(void);

/* Prints "petrel: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing: whole string, base prefixes (0x) allowed, range checked. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
