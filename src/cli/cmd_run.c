/*
 * `petrel run`: build a configuration from the command line, create the VM,
 * power it on and wait until it stops.  The guest's debug console goes to
 * stdout; the exit status is the guest's debug-exit code, 0 for a plain
 * power-off, 1 when the VM failed, 2 for bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmm/vmapi.h>
#include <vmm/vmm.h>
#include "cli.h"

struct run_options {
    const char *image;
    const char *mode;
    const char *engine;
    uint64_t load_addr;
    bool has_load_addr;
    uint64_t cpus;
    uint64_t memory_mib;
};

/* What the waiting main thread learns from the at-state callback. */
struct run_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    VMSTATE last;
    bool stopped;
};

void cmd_run_help(void)
{
    fputs("usage: petrel run --image FILE [options]\n"
          "\n"
          "Runs a flat guest image; its debug console (port 0xE9) is printed on stdout\n"
          "and the exit status is the code it writes to the debug-exit port (0xF4).\n"
          "\n"
          "  --image FILE        flat binary to load\n"
          "  --mode MODE         real | protected | long (default: real)\n"
          "  --load-addr ADDR    guest-physical load address (default: 0x7c00 in real\n"
          "                      mode, 0x100000 otherwise); execution starts there\n"
          "  --cpus N            number of vCPUs, 1..64 (default: 1)\n"
          "  --memory MIB        guest RAM in MiB (default: 64)\n"
          "  --engine ENGINE     auto | kvm | interp (default: auto)\n", stdout);
}

static int parse_run_options(int argc, char **argv, struct run_options *o)
{
    static const struct option longopts[] = {
        { "image", required_argument, NULL, 'i' },  { "mode", required_argument, NULL, 'm' },
        { "load-addr", required_argument, NULL, 'l' }, { "cpus", required_argument, NULL, 'c' },
        { "memory", required_argument, NULL, 'M' }, { "engine", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    *o = (struct run_options){ .mode = "real", .engine = "auto", .cpus = 1, .memory_mib = 64 };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': o->image = optarg; break;
        case 'm': o->mode = optarg; break;
        case 'e': o->engine = optarg; break;
        case 'l':
            if (!cli_parse_u64(optarg, 0, UINT32_MAX, &o->load_addr))
                return cli_usage_error("--load-addr: '%s' is not an address below 4 GiB", optarg);
            o->has_load_addr = true;
            break;
        case 'c':
            if (!cli_parse_u64(optarg, 1, 64, &o->cpus))
                return cli_usage_error("--cpus: '%s' is not a number from 1 to 64", optarg);
            break;
        case 'M':
            if (!cli_parse_u64(optarg, 1, 1024 * 1024, &o->memory_mib))
                return cli_usage_error("--memory: '%s' is not a size in MiB from 1 to 1048576", optarg);
            break;
        case 'h': cmd_run_help(); return -1;
        default:
            return cli_usage_error("run: unknown or incomplete option '%s' (try `petrel help run`)",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("run: unexpected argument '%s'", argv[optind]);
    if (!o->image)
        return cli_usage_error("run: --image FILE is required (try `petrel help run`)");
    if (strcmp(o->mode, "real") && strcmp(o->mode, "protected") && strcmp(o->mode, "long"))
        return cli_usage_error("--mode: '%s' is not one of real, protected, long", o->mode);
    if (strcmp(o->engine, "auto") && strcmp(o->engine, "kvm") && strcmp(o->engine, "interp"))
        return cli_usage_error("--engine: '%s' is not one of auto, kvm, interp", o->engine);
    FILE *f = fopen(o->image, "rb");
    if (!f)
        return cli_usage_error("cannot read image '%s': %s", o->image, strerror(errno));
    fclose(f);
    return 0;
}

/* The CFGM constructor: the command line turned into the configuration tree. */
static int run_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm;
    const struct run_options *o = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), boot = NULL, dev = NULL;
    int rc = CFGMR3InsertString(root, "Name", "petrel");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", o->cpus);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "RamSize", o->memory_mib << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", o->engine);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &boot);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Image", o->image);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Mode", o->mode);
    if (RT_SUCCESS(rc) && o->has_load_addr) rc = CFGMR3InsertInteger(boot, "LoadAddress", o->load_addr);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &dev);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(dev, "Output", "stdout");
    return rc;
}

static void on_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)user; (void)pszFile; (void)iLine; (void)pszFunction;
    fflush(stdout);
    fputs("petrel: ", stderr);
    vfprintf(stderr, fmt, va);
    fprintf(stderr, " (%s)\n", RTErrGetShort(rc));
}

static void on_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE state, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm; (void)old;
    struct run_wait *w = user;
    pthread_mutex_lock(&w->lock);
    w->last = state;
    if (state == VMSTATE_OFF || state == VMSTATE_GURU_MEDITATION || state == VMSTATE_FATAL_ERROR ||
        state == VMSTATE_LOAD_FAILURE)
        w->stopped = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Waits for the VM to stop, or for SIGINT/SIGTERM (blocked, polled here). */
static int wait_for_stop(struct run_wait *w, const sigset_t *sigs)
{
    for (;;) {
        pthread_mutex_lock(&w->lock);
        bool stopped = w->stopped;
        pthread_mutex_unlock(&w->lock);
        if (stopped)
            return 0;
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        int sig = sigtimedwait(sigs, NULL, &ts);
        if (sig > 0)
            return sig;
    }
}

int cmd_run(int argc, char **argv)
{
    struct run_options o;
    int rc = parse_run_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    struct run_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    PUVM uvm = NULL;
    rc = VMR3Create((uint32_t)o.cpus, NULL, on_error, NULL, run_config, &o, NULL, &uvm);
    if (RT_FAILURE(rc))
        return CLI_EXIT_USAGE;
    VMR3AtStateRegister(uvm, on_state, &w);
    rc = VMR3PowerOn(uvm);
    int sig = RT_SUCCESS(rc) ? wait_for_stop(&w, &sigs) : 0;

    int status = CLI_EXIT_OK;
    VMSTATE st = VMR3GetStateU(uvm);
    uint32_t code = 0;
    if (RT_FAILURE(rc) || st == VMSTATE_GURU_MEDITATION || st == VMSTATE_FATAL_ERROR)
        status = CLI_EXIT_GUEST_FAIL;
    else if (sig)
        status = 128 + sig;
    else if (RT_SUCCESS(VMR3GetGuestExitCode(uvm, &code)))
        status = (int)(code & 0xff);
    if (VMR3GetStateU(uvm) != VMSTATE_OFF)
        VMR3PowerOff(uvm);
    VMR3AtStateDeregister(uvm, on_state, &w);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    fflush(stdout);
    return status;
}
