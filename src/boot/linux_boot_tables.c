/*
 * The GDT and identity page tables the kernel is entered with (addresses in
 * linux_boot.h).  The boot protocol asks for flat __BOOT_CS (0x10) and
 * __BOOT_DS (0x18) descriptors and, for the 64-bit entry, an identity map
 * covering the kernel, zero page and command line: the first 4 GiB are
 * mapped with 2 MiB pages, which every x86-64 CPU (and the interpreter)
 * supports, unlike 1 GiB pages.
 */
#include "linux_boot_internal.h"

#include <string.h>

#include <vmm/err.h>

#define PTE_P   UINT64_C(0x001)
#define PTE_RW  UINT64_C(0x002)
#define PTE_PS  UINT64_C(0x080)

static const uint64_t gdt64[4] = {
    0, 0,
    UINT64_C(0x00af9b000000ffff),      /* 0x10: 64-bit code, execute/read, accessed */
    UINT64_C(0x00cf93000000ffff),      /* 0x18: flat data, read/write, accessed */
};

static const uint64_t gdt32[4] = {
    0, 0,
    UINT64_C(0x00cf9b000000ffff),      /* 0x10: flat 32-bit code, execute/read, accessed */
    UINT64_C(0x00cf93000000ffff),      /* 0x18: flat data, read/write, accessed */
};

static int page_tables_write(struct guest_ram *ram)
{
    uint64_t *pml4 = guest_ram_ptr(ram, LINUX_PML4_ADDR, GUEST_PAGE_SIZE);
    uint64_t *pdpt = guest_ram_ptr(ram, LINUX_PDPT_ADDR, GUEST_PAGE_SIZE);
    uint64_t *pd = guest_ram_ptr(ram, LINUX_PD_ADDR, LINUX_PD_COUNT * GUEST_PAGE_SIZE);
    if (!pml4 || !pdpt || !pd)
        return VERR_OUT_OF_RANGE;
    memset(pml4, 0, GUEST_PAGE_SIZE);
    memset(pdpt, 0, GUEST_PAGE_SIZE);
    pml4[0] = LINUX_PDPT_ADDR | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < LINUX_PD_COUNT; i++)
        pdpt[i] = (LINUX_PD_ADDR + i * GUEST_PAGE_SIZE) | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < LINUX_PD_COUNT * 512; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
    return VINF_SUCCESS;
}

int linux_boot_tables_write(struct guest_ram *ram, bool long_mode)
{
    int rc = guest_ram_write(ram, LINUX_GDT_ADDR, long_mode ? gdt64 : gdt32, sizeof(gdt64));
    if (RT_SUCCESS(rc) && long_mode)
        rc = page_tables_write(ram);
    return rc;
}
