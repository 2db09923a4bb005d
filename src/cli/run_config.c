/*
 * `petrel run`'s CFGM constructor: the command line turned into the
 * configuration tree.  Order matters: flags the user gave are inserted
 * first, then --config's JSON file (which keeps existing values, so flags
 * override it), then the defaults for whatever is still missing (so the
 * file overrides defaults).  NumCPUs always comes from --max-cpus (default
 * --cpus): it must match the vCPU count the VM is created with; vCPUs past
 * --cpus start unplugged (the acpi device's CpuPresentMask).
 */
#include <string.h>

#include "cli.h"
#include "config_json.h"

static int insert_string_if_missing(PCFGMNODE root, const char *name, const char *value)
{
    return CFGMR3Exists(root, name) ? VINF_SUCCESS : CFGMR3InsertString(root, name, value);
}

static int insert_integer_if_missing(PCFGMNODE root, const char *name, uint64_t value)
{
    return CFGMR3Exists(root, name) ? VINF_SUCCESS : CFGMR3InsertInteger(root, name, value);
}

/* The console back end of the serial port, as the CLI runs it. */
static const char *serial_console(const struct run_options *o)
{
    return o->cli_reads_stdin ? "stdout" : o->console;   /* on a TTY the CLI reads stdin itself */
}

static int insert_flags(PCFGMNODE root, const struct run_options *o)
{
    int rc = CFGMR3InsertInteger(root, "NumCPUs", o->max_cpus);
    if (RT_SUCCESS(rc) && o->max_cpus > o->cpus)       /* vCPUs cpus..max_cpus-1 start unplugged */
        rc = CFGMR3InsertInteger(root, "Devices/acpi/0/Config/CpuPresentMask", (UINT64_C(1) << o->cpus) - 1);
    if (RT_SUCCESS(rc) && o->has_name) rc = CFGMR3InsertString(root, "Name", o->name);
    if (RT_SUCCESS(rc) && o->has_memory) rc = CFGMR3InsertInteger(root, "RamSize", o->memory_mib << 20);
    if (RT_SUCCESS(rc) && o->has_engine) rc = CFGMR3InsertString(root, "ExecEngine", o->engine);
    if (RT_SUCCESS(rc) && o->power_off_on_reset) rc = CFGMR3InsertInteger(root, "PowerOffInsteadOfReset", 1);
    if (RT_SUCCESS(rc) && o->image) {
        rc = CFGMR3InsertString(root, "Boot/Image", o->image);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "Boot/Mode", o->mode);
        if (RT_SUCCESS(rc) && o->has_load_addr) rc = CFGMR3InsertInteger(root, "Boot/LoadAddress", o->load_addr);
    }
    if (RT_SUCCESS(rc) && o->kernel) rc = CFGMR3InsertString(root, "Boot/Kernel", o->kernel);
    if (RT_SUCCESS(rc) && o->initrd) rc = CFGMR3InsertString(root, "Boot/Initrd", o->initrd);
    if (RT_SUCCESS(rc) && o->has_append) rc = CFGMR3InsertString(root, "Boot/CmdLine", o->append);
    if (RT_SUCCESS(rc) && o->has_console) rc = CFGMR3InsertString(root, "Devices/serial/0/Config/Console",
                                                                   serial_console(o));
    if (RT_SUCCESS(rc)) rc = virtio_options_insert(root, o);
    return rc;
}

static int insert_defaults(PCFGMNODE root, const struct run_options *o)
{
    PCFGMNODE node = NULL;
    int rc = insert_string_if_missing(root, "Name", o->name);
    if (RT_SUCCESS(rc)) rc = insert_integer_if_missing(root, "RamSize", o->memory_mib << 20);
    if (RT_SUCCESS(rc)) rc = insert_string_if_missing(root, "ExecEngine", o->engine);
    if (RT_SUCCESS(rc) && !CFGMR3GetChild(root, "Devices/debugcon"))
        rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc) && node) rc = CFGMR3InsertString(node, "Output", "stdout");
    bool linux_guest = CFGMR3Exists(CFGMR3GetChild(root, "Boot"), "Kernel");
    if (RT_SUCCESS(rc) && linux_guest) rc = insert_string_if_missing(CFGMR3GetChild(root, "Boot"), "CmdLine", o->append);
    node = NULL;
    if (RT_SUCCESS(rc) && !CFGMR3GetChild(root, "Devices/serial") && linux_guest)
        rc = CFGMR3InsertNode(root, "Devices/serial/0/Config", &node);
    if (RT_SUCCESS(rc) && node) rc = CFGMR3InsertString(node, "Console", serial_console(o));
    return rc;
}

/* Errors go through VMSetError, so the at-error callback prints one line. */
static int apply_config_file(PVM vm, PCFGMNODE root, const struct run_options *o)
{
    char err[512] = "";
    int rc = config_json_apply(o->config, root, err, sizeof(err));
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "%s", err[0] ? err : "--config: cannot apply the configuration file");
    return rc;
}

int run_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm;
    const struct run_options *o = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm);
    int rc = insert_flags(root, o);
    if (RT_SUCCESS(rc) && o->config)
        rc = apply_config_file(vm, root, o);
    if (RT_SUCCESS(rc))
        rc = insert_defaults(root, o);
    return rc;
}
