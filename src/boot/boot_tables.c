/*
 * The GDT and the identity-mapped page tables the flat loader gives
 * protected- and long-mode guests (layout in flat_loader.h).
 */
#include "flat_loader.h"

#include <string.h>

#include <vmm/err.h>

#define PTE_P   UINT64_C(0x001)
#define PTE_RW  UINT64_C(0x002)
#define PTE_PS  UINT64_C(0x080)
#define PD_COUNT UINT64_C(4)           /* 4 x 512 x 2 MiB = 4 GiB */

static const uint64_t boot_gdt[4] = {
    0,
    UINT64_C(0x00cf9b000000ffff),      /* 0x08: code32 flat, accessed */
    UINT64_C(0x00cf93000000ffff),      /* 0x10: data flat, accessed */
    UINT64_C(0x00af9b000000ffff),      /* 0x18: code64, accessed */
};

static int page_tables_write(struct guest_ram *ram)
{
    uint64_t *pml4 = guest_ram_ptr(ram, BOOT_PML4_ADDR, GUEST_PAGE_SIZE);
    uint64_t *pdpt = guest_ram_ptr(ram, BOOT_PDPT_ADDR, GUEST_PAGE_SIZE);
    uint64_t *pd = guest_ram_ptr(ram, BOOT_PD_ADDR, PD_COUNT * GUEST_PAGE_SIZE);
    if (!pml4 || !pdpt || !pd)
        return VERR_OUT_OF_RANGE;
    memset(pml4, 0, (size_t)GUEST_PAGE_SIZE);
    memset(pdpt, 0, GUEST_PAGE_SIZE);
    pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < PD_COUNT; i++)
        pdpt[i] = (BOOT_PD_ADDR + i * GUEST_PAGE_SIZE) | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < PD_COUNT * 512; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
    return VINF_SUCCESS;
}

int boot_tables_write(struct guest_ram *ram, bool long_mode)
{
    int rc = guest_ram_write(ram, BOOT_GDT_ADDR, boot_gdt, sizeof(boot_gdt));
    if (RT_SUCCESS(rc) && long_mode)
        rc = page_tables_write(ram);
    return rc;
}
