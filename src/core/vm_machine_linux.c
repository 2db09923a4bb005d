/*
 * The machine's Linux boot: /Boot/Kernel (+ Initrd, CmdLine, Entry) turned
 * into ACPI tables, a loaded kernel and the vCPUs' entry states.  Runs on
 * EMT(0) at creation and again after every hard reset (RAM is cleared, so
 * everything is rewritten).
 *
 * Configuration read here (see docs/config.md):
 *   Boot/Kernel   path of a bzImage or ELF vmlinux
 *   Boot/Initrd   path of an initrd (default: none)
 *   Boot/CmdLine  kernel command line (default "console=ttyS0")
 *   Boot/Entry    "64" (default), "32", "bzimage64" or "pvh"
 */
#include "vm_machine_linux.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../boot/acpi.h"
#include "../boot/linux_boot.h"
#include "../boot/multiboot.h"
#include "../devices/acpi_pm.h"

#define LINUX_CMDLINE_DEFAULT "console=ttyS0"

/* The PC devices a Linux guest expects; created unless /Devices names them. */
static const char *const linux_default_devices[] = { "serial", "i8042", "rtc", "acpi", "pci" };

struct linux_config {
    char *kernel, *initrd, *cmdline;
    enum linux_entry entry;
    bool multiboot;                    /* /Boot/Entry "multiboot" (or a multiboot kernel) */
};

bool vm_machine_linux_configured(PVM vm)
{
    PCFGMNODE boot = CFGMR3GetChild(CFGMR3GetRoot(vm), "Boot");
    return boot && CFGMR3Exists(boot, "Kernel");
}

int vm_machine_linux_check_config(PVM vm)
{
    PCFGMNODE boot = CFGMR3GetChild(CFGMR3GetRoot(vm), "Boot");
    if (!vm_machine_linux_configured(vm))
        return VINF_SUCCESS;
    if (CFGMR3Exists(boot, "Image"))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "Configuration error: /Boot/Image (a flat image) and /Boot/Kernel (a Linux kernel) "
                          "are both set; keep only one of them");
    char entry[16];
    int rc = CFGMR3QueryStringDef(boot, "Entry", entry, sizeof(entry), "64");
    if (RT_FAILURE(rc) || (linux_entry_from_name(entry) < 0 && strcmp(entry, "multiboot") != 0))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "Configuration error: /Boot/Entry must be \"64\", \"32\", \"bzimage64\", \"pvh\" "
                          "or \"multiboot\" for a /Boot/Kernel");
    return VINF_SUCCESS;
}

int vm_machine_linux_add_devices(PVM vm)
{
    PCFGMNODE root = CFGMR3GetRoot(vm);
    for (size_t i = 0; i < sizeof(linux_default_devices) / sizeof(linux_default_devices[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "Devices/%s", linux_default_devices[i]);
        if (CFGMR3GetFirstChild(CFGMR3GetChild(root, path)))
            continue;                  /* configured by the user: keep theirs */
        snprintf(path, sizeof(path), "Devices/%s/0/Config", linux_default_devices[i]);
        PCFGMNODE node = NULL;
        int rc = CFGMR3InsertNode(root, path, &node);
        if (RT_FAILURE(rc))
            return VMSetError(vm, rc, RT_SRC_POS, "cannot add the default device /%s", path);
    }
    return VINF_SUCCESS;
}

static void linux_config_free(struct linux_config *c)
{
    MMR3HeapFree(c->kernel);
    MMR3HeapFree(c->initrd);
    MMR3HeapFree(c->cmdline);
}

static int linux_config_read(PVM vm, struct linux_config *c)
{
    PCFGMNODE boot = CFGMR3GetChild(CFGMR3GetRoot(vm), "Boot");
    char entry[16];
    int rc = CFGMR3QueryStringAlloc(boot, "Kernel", &c->kernel);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryStringAllocDef(boot, "Initrd", &c->initrd, "");
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryStringAllocDef(boot, "CmdLine", &c->cmdline, LINUX_CMDLINE_DEFAULT);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryStringDef(boot, "Entry", entry, sizeof(entry), "64");
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS,
                          "Configuration error: /Boot/Kernel, Initrd, CmdLine and Entry must be strings");
    c->multiboot = strcmp(entry, "multiboot") == 0;
    c->entry = c->multiboot ? LINUX_ENTRY_64 : (enum linux_entry)linux_entry_from_name(entry);
    return VINF_SUCCESS;
}

/* BSP at the kernel entry; the APs wait for the kernel's INIT/SIPI. */
static int linux_set_cpus(PVM vm, struct cpu_state *st)
{
    int rc = vm->engine->set_state(vm->apCpus[0], st);
    for (uint32_t i = 1; i < vm->cCpus && RT_SUCCESS(rc); i++) {
        cpu_state_reset(st, false);
        st->run_state = CPU_WAIT_FOR_SIPI;
        rc = vm->engine->set_state(vm->apCpus[i], st);
    }
    return rc;
}

static bool kernel_is_multiboot(const char *path)
{
    uint8_t head[MULTIBOOT_SEARCH];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f)
        fclose(f);
    return multiboot_detect(head, n);
}

/* A multiboot kernel: the BSP enters it, the APs wait for INIT/SIPI. */
static int multiboot_load_for_vm(PVM vm, const struct linux_config *c, struct cpu_state *st)
{
    char err[512] = "";
    uint64_t entry = 0;
    int rc = multiboot_load(&vm->ram, c->kernel, c->initrd, c->cmdline, st, &entry, err, sizeof(err));
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "multiboot kernel '%s': %s", c->kernel, err);
    vm_log(vm->pUVM, "multiboot: kernel '%s' entry %#llx, module '%s'", c->kernel, (unsigned long long)entry,
           c->initrd);
    return linux_set_cpus(vm, st);
}

static int linux_load_config(PVM vm, const struct linux_config *c, struct cpu_state *st)
{
    struct linux_boot_params p = {
        .kernel_path = c->kernel, .initrd_path = c->initrd, .cmdline = c->cmdline, .entry = c->entry,
    };
    int rc = VINF_SUCCESS;
    if (acpi_pm_of_vm(vm))
        rc = acpi_build_for_vm(vm, &p.acpi_rsdp);     /* raises its own VM error */
    if (RT_FAILURE(rc))
        return rc;
    char err[512] = "";
    struct linux_boot_info info;
    if (c->multiboot)
        return multiboot_load_for_vm(vm, c, st);
    rc = linux_load(&vm->ram, &p, st, &info, err, sizeof(err));
    if (rc == VERR_INVALID_EXE_SIGNATURE && kernel_is_multiboot(c->kernel))
        return multiboot_load_for_vm(vm, c, st);               /* not Linux, but a multiboot kernel */
    if (RT_FAILURE(rc) && (strstr(err, c->kernel) || (c->initrd[0] && strstr(err, c->initrd))))
        return VMSetError(vm, rc, RT_SRC_POS, "%s", err);        /* names its file already */
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "kernel '%s': %s", c->kernel, err[0] ? err : "cannot load it");
    vm_log(vm->pUVM, "linux: kernel %#llx-%#llx entry %#llx (%s), initrd %#llx+%#llx, RSDP %#llx",
           (unsigned long long)info.kernel_start, (unsigned long long)info.kernel_end,
           (unsigned long long)info.entry, info.compression ? info.compression : "not decompressed",
           (unsigned long long)info.initrd_addr, (unsigned long long)info.initrd_size,
           (unsigned long long)p.acpi_rsdp);
    return linux_set_cpus(vm, st);
}

int vm_machine_linux_load(PVM vm)
{
    struct linux_config c = { 0 };
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    int rc = st ? linux_config_read(vm, &c) : VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory");
    if (RT_SUCCESS(rc))
        rc = linux_load_config(vm, &c, st);
    linux_config_free(&c);
    free(st);
    return rc;
}
