/*
 * `petrel ctl PATH COMMAND [ARGS]`: the client of a running VM's control
 * socket (docs/control-protocol.md).
 */
#ifndef PETREL_CLI_CMD_CTL_H
#define PETREL_CLI_CMD_CTL_H

/* argv[0] is "ctl".  Exit status: 0 ok, 1 error reply, 2 usage or connection error. */
int cmd_ctl(int argc, char **argv);
void cmd_ctl_help(void);

#endif
