/* cli.h - the subcommands of the `umpire` tool; one file each, one entry point each. */
#ifndef UMPIRE_CLI_H
#define UMPIRE_CLI_H

int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
