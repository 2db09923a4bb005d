/*
 * The `petrel` command: a client of the public VM API and nothing more.
 */
#ifndef PETREL_CLI_H
#define PETREL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <vmm/vmapi.h>
#include <vmm/vmm.h>

/* Exit statuses of the command. */
#define CLI_EXIT_OK          0
#define CLI_EXIT_GUEST_FAIL  1   /* guru meditation, fatal error */
#define CLI_EXIT_USAGE       2   /* bad arguments or input files */

/* Defaults of `petrel run` for a Linux kernel (documented in `petrel help run`). */
#define CLI_LINUX_MEMORY_MIB 256
#define CLI_FLAT_MEMORY_MIB  64
#define CLI_LINUX_APPEND     "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 reboot=k"

/* One --disk PATH[,ro][,serial=S]: a virtio-blk device. */
#define CLI_MAX_DISKS 8
#define CLI_MAX_NETS  4
struct disk_option {
    char path[4096];
    char serial[21];
    bool read_only;
};

/* `petrel run`'s command line. */
struct run_options {
    const char *image, *mode;            /* flat guest */
    const char *kernel, *initrd, *append; /* Linux guest */
    const char *engine, *console, *control, *config, *name;
    const char *restore;                 /* a saved state to resume instead of booting */
    const char *teleport_listen, *teleport_password_file;  /* wait for a teleported VM */
    uint64_t load_addr, cpus, max_cpus, memory_mib;   /* max_cpus >= cpus: the rest hot-pluggable */
    bool has_load_addr, has_memory, has_engine, has_name, has_append, has_console;
    bool power_off_on_reset;
    bool cli_reads_stdin;                /* console stdio on a TTY: the CLI feeds the guest */
    struct disk_option disks[CLI_MAX_DISKS];
    unsigned n_disks;
    bool rng;                            /* --rng: a virtio-rng device */
    const char *virtio_console;          /* --virtio-console SPEC: its back end, or NULL */
    char net_backend[CLI_MAX_NETS][64];  /* --net tap:NAME|none[,mac=M] */
    char net_mac[CLI_MAX_NETS][18];
    bool net_no_offload[CLI_MAX_NETS];   /* ,offload=off: Offloads 0 */
    unsigned n_nets;
};

int cmd_run(int argc, char **argv);
void cmd_run_help(void);
/* Parses `petrel run`'s arguments: 0, -1 after --help, or CLI_EXIT_USAGE. */
int run_options_parse(int argc, char **argv, struct run_options *o);
/* The CFGM constructor of `petrel run` (user = struct run_options). */
int run_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user);

/* Parses a --disk argument into d: 0 or CLI_EXIT_USAGE (message printed). */
int disk_option_parse(const char *arg, struct disk_option *d);
/* Parses --net tap:NAME|none[,mac=M] into slot i of o: 0 or CLI_EXIT_USAGE. */
int net_option_parse(const char *arg, struct run_options *o, unsigned i);
/* Puts the --disk, --net, --rng and --virtio-console devices (and the PCI bus they need) into the tree. */
int virtio_options_insert(PCFGMNODE root, const struct run_options *o);

/* Prints "petrel: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing: whole string, base prefixes (0x) allowed, range checked. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
