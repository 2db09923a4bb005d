/*
 * `petrel run`'s command line: parsing and the checks that give one clear
 * line and exit status 2 before any VM exists.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_IMAGE = 256, OPT_MODE, OPT_LOAD_ADDR, OPT_CPUS, OPT_MEMORY, OPT_ENGINE, OPT_KERNEL, OPT_INITRD,
    OPT_APPEND, OPT_CONSOLE, OPT_CONTROL, OPT_CONFIG, OPT_NAME, OPT_POWER_OFF_ON_RESET, OPT_HELP,
    OPT_MAX_CPUS, OPT_RESTORE, OPT_TELEPORT_LISTEN, OPT_TELEPORT_PASSWORD_FILE, OPT_DISK, OPT_RNG,
    OPT_VIRTIO_CONSOLE, OPT_NET,
};

static const struct option run_longopts[] = {
    { "image", required_argument, NULL, OPT_IMAGE },     { "mode", required_argument, NULL, OPT_MODE },
    { "load-addr", required_argument, NULL, OPT_LOAD_ADDR }, { "cpus", required_argument, NULL, OPT_CPUS },
    { "memory", required_argument, NULL, OPT_MEMORY },   { "engine", required_argument, NULL, OPT_ENGINE },
    { "kernel", required_argument, NULL, OPT_KERNEL },   { "initrd", required_argument, NULL, OPT_INITRD },
    { "append", required_argument, NULL, OPT_APPEND },   { "console", required_argument, NULL, OPT_CONSOLE },
    { "control", required_argument, NULL, OPT_CONTROL }, { "config", required_argument, NULL, OPT_CONFIG },
    { "name", required_argument, NULL, OPT_NAME },       { "restore", required_argument, NULL, OPT_RESTORE },
    { "teleport-listen", required_argument, NULL, OPT_TELEPORT_LISTEN },
    { "teleport-password-file", required_argument, NULL, OPT_TELEPORT_PASSWORD_FILE },
    { "max-cpus", required_argument, NULL, OPT_MAX_CPUS },
    { "disk", required_argument, NULL, OPT_DISK },       { "rng", no_argument, NULL, OPT_RNG },
    { "virtio-console", required_argument, NULL, OPT_VIRTIO_CONSOLE },
    { "net", required_argument, NULL, OPT_NET },
    { "power-off-on-reset", no_argument, NULL, OPT_POWER_OFF_ON_RESET },
    { "help", no_argument, NULL, OPT_HELP },             { NULL, 0, NULL, 0 },
};

/* Options with a number argument; 0 when c is not one of them. */
static int parse_number_option(int c, const char *arg, struct run_options *o)
{
    switch (c) {
    case OPT_LOAD_ADDR:
        if (!cli_parse_u64(arg, 0, UINT32_MAX, &o->load_addr))
            return cli_usage_error("--load-addr: '%s' is not an address below 4 GiB", arg);
        o->has_load_addr = true;
        return 0;
    case OPT_CPUS:
        if (!cli_parse_u64(arg, 1, 64, &o->cpus))
            return cli_usage_error("--cpus: '%s' is not a number from 1 to 64", arg);
        return 0;
    case OPT_MAX_CPUS:
        if (!cli_parse_u64(arg, 1, 64, &o->max_cpus))
            return cli_usage_error("--max-cpus: '%s' is not a number from 1 to 64", arg);
        return 0;
    case OPT_MEMORY:
        if (!cli_parse_u64(arg, 1, UINT64_C(1024) * 1024, &o->memory_mib))
            return cli_usage_error("--memory: '%s' is not a size in MiB from 1 to 1048576", arg);
        o->has_memory = true;
        return 0;
    }
    return 0;
}

/* One option; 0, -1 (help) or CLI_EXIT_USAGE. */
static int parse_one(int c, const char *arg, char **argv, struct run_options *o)
{
    switch (c) {
    case OPT_IMAGE: o->image = arg; return 0;
    case OPT_MODE: o->mode = arg; return 0;
    case OPT_ENGINE: o->engine = arg; o->has_engine = true; return 0;
    case OPT_KERNEL: o->kernel = arg; return 0;
    case OPT_INITRD: o->initrd = arg; return 0;
    case OPT_APPEND: o->append = arg; o->has_append = true; return 0;
    case OPT_CONSOLE: o->console = arg; o->has_console = true; return 0;
    case OPT_CONTROL: o->control = arg; return 0;
    case OPT_CONFIG: o->config = arg; return 0;
    case OPT_NAME: o->name = arg; o->has_name = true; return 0;
    case OPT_RESTORE: o->restore = arg; return 0;
    case OPT_TELEPORT_LISTEN: o->teleport_listen = arg; return 0;
    case OPT_TELEPORT_PASSWORD_FILE: o->teleport_password_file = arg; return 0;
    case OPT_POWER_OFF_ON_RESET: o->power_off_on_reset = true; return 0;
    case OPT_RNG: o->rng = true; return 0;
    case OPT_VIRTIO_CONSOLE: o->virtio_console = arg; return 0;
    case OPT_NET:
        if (o->n_nets == CLI_MAX_NETS)
            return cli_usage_error("--net: at most %u network devices", CLI_MAX_NETS);
        return net_option_parse(arg, o, o->n_nets++);
    case OPT_DISK:
        if (o->n_disks == CLI_MAX_DISKS)
            return cli_usage_error("--disk: at most %u disks", CLI_MAX_DISKS);
        return disk_option_parse(arg, &o->disks[o->n_disks++]);
    case OPT_LOAD_ADDR: case OPT_CPUS: case OPT_MAX_CPUS: case OPT_MEMORY: return parse_number_option(c, arg, o);
    case OPT_HELP: cmd_run_help(); return -1;
    }
    return cli_usage_error("run: unknown or incomplete option '%s' (try `petrel help run`)", argv[optind - 1]);
}

/* A file the VM will read: one clear line now rather than an error later. */
static int check_readable(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_usage_error("cannot read %s '%s': %s", what, path, strerror(errno));
    char byte;
    bool ok = fread(&byte, 1, 1, f) == 1 || !ferror(f);    /* a directory opens but does not read */
    int err = errno;
    fclose(f);
    if (!ok)
        return cli_usage_error("cannot read %s '%s': %s", what, path, strerror(err));
    return 0;
}

/* The image must exist and open as the disk will (read-write unless ro). */
static int check_disk(const struct disk_option *d)
{
    int rc = check_readable("disk image", d->path);
    if (!rc && !d->read_only && access(d->path, W_OK) != 0)
        rc = cli_usage_error("--disk: '%s' is not writable: %s (add ,ro for a read-only disk)", d->path,
                             strerror(errno));
    return rc;
}

static bool one_of(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

static bool console_spec_valid(const char *s)
{
    return !strcmp(s, "stdio") || !strcmp(s, "none") || (!strncmp(s, "file:", 5) && s[5])
        || (!strncmp(s, "unix:", 5) && s[5]);
}

static int check_options(struct run_options *o)
{
    if (o->image && o->kernel)
        return cli_usage_error("run: --image (a flat guest) and --kernel (Linux) exclude each other");
    if (!o->image && !o->kernel && !o->config)
        return cli_usage_error("run: --kernel FILE or --image FILE is required (try `petrel help run`)");
    if (o->image && !one_of(o->mode, "real", "protected", "long"))
        return cli_usage_error("--mode: '%s' is not one of real, protected, long", o->mode);
    if (o->max_cpus && o->max_cpus < o->cpus)
        return cli_usage_error("--max-cpus: %llu is less than --cpus %llu", (unsigned long long)o->max_cpus,
                               (unsigned long long)o->cpus);
    if (o->max_cpus && o->image)
        return cli_usage_error("--max-cpus: CPU hot plug needs ACPI, i.e. a Linux guest (--kernel)");
    if (!o->max_cpus)
        o->max_cpus = o->cpus;
    if (!one_of(o->engine, "auto", "kvm", "interp"))
        return cli_usage_error("--engine: '%s' is not one of auto, kvm, interp", o->engine);
    if (!console_spec_valid(o->console))
        return cli_usage_error("--console: '%s' is not one of stdio, none, file:PATH, unix:PATH", o->console);
    if (o->virtio_console && !console_spec_valid(o->virtio_console))
        return cli_usage_error("--virtio-console: '%s' is not one of stdio, none, file:PATH, unix:PATH",
                               o->virtio_console);
    int rc = 0;
    if (o->image)
        rc = check_readable("image", o->image);
    if (!rc && o->kernel)
        rc = check_readable("kernel", o->kernel);
    if (!rc && o->initrd)
        rc = check_readable("initrd", o->initrd);
    if (!rc && o->config)
        rc = check_readable("config file", o->config);
    if (!rc && o->restore)
        rc = check_readable("saved state", o->restore);
    for (unsigned i = 0; !rc && i < o->n_disks; i++)
        rc = check_disk(&o->disks[i]);
    if (!rc && o->restore && o->teleport_listen)
        rc = cli_usage_error("run: --restore and --teleport-listen exclude each other");
    if (!rc && !o->teleport_listen != !o->teleport_password_file)
        rc = cli_usage_error("run: --teleport-listen ADDR:PORT needs --teleport-password-file FILE (and the reverse)");
    if (!rc && o->teleport_password_file)
        rc = check_readable("teleport password file", o->teleport_password_file);
    if (!o->has_memory)
        o->memory_mib = o->image ? CLI_FLAT_MEMORY_MIB : CLI_LINUX_MEMORY_MIB;
    /* A flat guest has no serial console: the terminal stays as it is. */
    o->cli_reads_stdin = !o->image && !strcmp(o->console, "stdio") && isatty(STDIN_FILENO);
    return rc;
}

int run_options_parse(int argc, char **argv, struct run_options *o)
{
    *o = (struct run_options){ .mode = "real", .engine = "auto", .cpus = 1, .console = "stdio",
                               .name = "petrel", .append = CLI_LINUX_APPEND };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", run_longopts, NULL)) != -1) {
        int rc = parse_one(c, optarg, argv, o);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cli_usage_error("run: unexpected argument '%s'", argv[optind]);
    return check_options(o);
}
