/*
 * petrel: run virtual machines from the command line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmm/vmapi.h>
#include "cli.h"
#include "cmd_ctl.h"

#ifndef PETREL_VERSION
# define PETREL_VERSION "0.1.0"
#endif

static void usage(FILE *out)
{
    fputs("usage: petrel <command> [options]\n"
          "\n"
          "commands:\n"
          "  run       run a guest (see `petrel help run`)\n"
          "  ctl       control a running VM through its control socket (see `petrel help ctl`)\n"
          "  version   print the version\n"
          "  help      this text, or help on one command\n", out);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    fputs("petrel: ", stderr);
    vfprintf(stderr, fmt, va);
    fputc('\n', stderr);
    va_end(va);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0)
        return cmd_ctl(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("petrel %s\n", PETREL_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "run") == 0)
            cmd_run_help();
        else if (argc > 2 && strcmp(argv[2], "ctl") == 0)
            cmd_ctl_help();
        else
            usage(stdout);
        return CLI_EXIT_OK;
    }
    return cli_usage_error("unknown command '%s' (try `petrel help`)", cmd);
}
