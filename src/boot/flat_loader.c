/*
 * The flat-image loader (configuration and guest ABI in flat_loader.h).
 */
#include "flat_loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vmm/err.h>

#define BOOT_PATH_MAX 4096

struct flat_config {
    char           image[BOOT_PATH_MAX];
    enum boot_mode mode;
    uint64_t       load, entry;
    uint64_t       size;                /* bytes in the image file */
    bool           start_aps;           /* /Boot/StartAPs: APs at the entry too */
};

static const char *const mode_names[] = { "real", "protected", "long" };

bool flat_loader_configured(PVM vm)
{
    return CFGMR3Exists(CFGMR3GetChild(CFGMR3GetRoot(vm), "Boot"), "Image");
}

static int config_read(PVM vm, struct flat_config *c)
{
    PCFGMNODE boot = CFGMR3GetChild(CFGMR3GetRoot(vm), "Boot");
    char mode[16];
    int rc = CFGMR3QueryString(boot, "Image", c->image, sizeof(c->image));
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "/Boot/Image must be a file path (shorter than %d bytes)",
                          BOOT_PATH_MAX);
    rc = CFGMR3QueryStringDef(boot, "Mode", mode, sizeof(mode), "real");
    c->mode = BOOT_REAL;
    while (RT_SUCCESS(rc) && strcmp(mode, mode_names[c->mode]) != 0)
        if (++c->mode > BOOT_LONG)
            rc = VERR_INVALID_PARAMETER;
    if (RT_FAILURE(rc))
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "/Boot/Mode must be \"real\", \"protected\" or \"long\"");
    rc = CFGMR3QueryU64Def(boot, "LoadAddress", &c->load,
                           c->mode == BOOT_REAL ? BOOT_REAL_LOAD : BOOT_HIGH_LOAD);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryU64Def(boot, "Entry", &c->entry, c->load);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "/Boot/LoadAddress and /Boot/Entry must be integers");
    rc = CFGMR3QueryBoolDef(boot, "StartAPs", &c->start_aps, true);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "/Boot/StartAPs must be 0 or 1");
    return VINF_SUCCESS;
}

/* Reads the whole file into guest RAM at c->load, refusing anything outside RAM. */
static int image_load(PVM vm, struct flat_config *c)
{
    FILE *f = fopen(c->image, "rb");
    if (!f)
        return VMSetError(vm, errno == ENOENT ? VERR_FILE_NOT_FOUND : VERR_ACCESS_DENIED, RT_SRC_POS,
                          "cannot open the boot image '%s': %s", c->image, strerror(errno));
    struct stat sb;
    int rc = VINF_SUCCESS;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        rc = VMSetError(vm, VERR_FILE_NOT_FOUND, RT_SRC_POS, "the boot image '%s' is not a regular file", c->image);
    void *dst = NULL;
    if (RT_SUCCESS(rc)) {
        c->size = (uint64_t)sb.st_size;
        dst = guest_ram_ptr(&vm->ram, c->load, c->size);
        if (!dst)
            rc = VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                            "the boot image '%s' (%llu bytes) does not fit in guest RAM at %#llx "
                            "(RAM below the hole ends at %#llx; raise RamSize or change /Boot/LoadAddress)",
                            c->image, (unsigned long long)c->size, (unsigned long long)c->load,
                            (unsigned long long)vm->ram.low_size);
    }
    if (RT_SUCCESS(rc) && c->size && fread(dst, 1, c->size, f) != c->size)
        rc = VMSetError(vm, VERR_FILE_NOT_FOUND, RT_SRC_POS, "reading the boot image '%s' failed", c->image);
    fclose(f);
    return rc;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Checks entry, reserved area and stacks against the image; returns the stack top. */
static int layout_check(PVM vm, const struct flat_config *c, uint64_t *stack_top)
{
    uint64_t n = vm->cCpus;
    if (c->mode == BOOT_REAL) {
        *stack_top = BOOT_REAL_STACK_TOP;
        if (c->entry > 0xfffff)
            return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                              "/Boot/Entry %#llx is beyond the 1 MiB a real-mode guest can reach",
                              (unsigned long long)c->entry);
        if (!guest_ram_contains(&vm->ram, BOOT_REAL_STACK_TOP - n * BOOT_REAL_STACK_SIZE, n * BOOT_REAL_STACK_SIZE))
            return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS, "guest RAM is too small for the real-mode stacks");
        return VINF_SUCCESS;
    }
    if (c->entry >= GUEST_4G)
        return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                          "/Boot/Entry %#llx is above the 4 GiB the loader maps",
                          (unsigned long long)c->entry);
    if (overlaps(c->load, c->size, 0, BOOT_RESERVED_END))
        return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                          "the boot image at %#llx overlaps the loader's GDT and page tables (0x1000-0x7fff)",
                          (unsigned long long)c->load);
    *stack_top = vm->ram.low_size & ~UINT64_C(15);
    uint64_t stacks = n * BOOT_STACK_SIZE;
    if (*stack_top < BOOT_RESERVED_END + stacks || overlaps(*stack_top - stacks, stacks, c->load, c->size))
        return VMSetError(vm, VERR_OUT_OF_RANGE, RT_SRC_POS,
                          "no room for %llu vCPU stacks of 64 KiB below %#llx without overlapping the image; "
                          "raise RamSize", (unsigned long long)n, (unsigned long long)*stack_top);
    return VINF_SUCCESS;
}

static int cpus_set_entry(PVM vm, const struct flat_config *c, uint64_t stack_top)
{
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    if (!st)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory");
    int rc = VINF_SUCCESS;
    for (uint32_t i = 0; i < vm->cCpus && RT_SUCCESS(rc); i++) {
        if (i == 0 || c->start_aps)
            flat_entry_state(st, c->mode, c->entry, stack_top, i, vm->cCpus);
        else
            cpu_state_reset(st, false);        /* waits for the BSP's INIT/SIPI */
        rc = vm->engine->set_state(vm->apCpus[i], st);
    }
    free(st);
    return rc;
}

int flat_loader_load(PVM vm)
{
    struct flat_config *c = calloc(1, sizeof(*c));
    if (!c)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory");
    uint64_t stack_top = 0;
    int rc = config_read(vm, c);
    if (RT_SUCCESS(rc))
        rc = image_load(vm, c);
    if (RT_SUCCESS(rc))
        rc = layout_check(vm, c, &stack_top);
    if (RT_SUCCESS(rc) && c->mode != BOOT_REAL) {
        rc = boot_tables_write(&vm->ram, c->mode == BOOT_LONG);
        if (RT_FAILURE(rc))
            rc = VMSetError(vm, rc, RT_SRC_POS, "guest RAM is too small for the boot GDT and page tables");
    }
    if (RT_SUCCESS(rc))
        rc = cpus_set_entry(vm, c, stack_top);
    free(c);
    return rc;
}
