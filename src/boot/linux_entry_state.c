/*
 * The BSP's registers at the kernel entry, as the boot protocol states them:
 * CS = __BOOT_CS, DS = ES = SS = __BOOT_DS (flat 4 GiB), interrupts off,
 * RSI/ESI = zero page, and for the 32-bit entry EBP = EDI = EBX = 0 with
 * paging off; for the 64-bit entry long mode with the identity map.
 */
#include "linux_boot_internal.h"

#define ATTR_CODE (SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_G | 0xb)   /* execute/read, accessed */
#define ATTR_DATA (SEG_ATTR_P | SEG_ATTR_S | SEG_ATTR_G | SEG_ATTR_DB | 0x3)

static void seg_flat(struct seg_reg *s, uint16_t sel, uint32_t attr)
{
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->attr = attr;
}

void linux_entry_state(struct cpu_state *st, bool long_mode, uint64_t entry)
{
    cpu_state_reset(st, true);
    st->run_state = CPU_RUNNABLE;
    for (int i = 0; i < GPR_COUNT; i++)
        st->gpr[i] = 0;
    seg_flat(&st->seg[SEG_CS], LINUX_SEL_CS, ATTR_CODE | (long_mode ? SEG_ATTR_L : SEG_ATTR_DB));
    for (int i = 0; i < SEG_COUNT; i++)
        if (i != SEG_CS && i != SEG_LDTR && i != SEG_TR)
            seg_flat(&st->seg[i], LINUX_SEL_DS, ATTR_DATA);
    st->gdtr.base = LINUX_GDT_ADDR;
    st->gdtr.limit = 4 * 8 - 1;
    st->idtr.base = 0;
    st->idtr.limit = 0;
    st->rflags = RFLAGS_FIXED;            /* IF = 0 */
    st->cr0 = CR0_PE | CR0_ET | CR0_NE;   /* caches on: CD/NW from reset cleared */
    if (long_mode) {
        st->cr0 |= CR0_PG;
        st->cr3 = LINUX_PML4_ADDR;
        st->cr4 = CR4_PAE;
        st->efer = EFER_LME | EFER_LMA;
    }
    st->rip = entry;
    st->gpr[GPR_RSI] = LINUX_ZERO_PAGE_ADDR;
    st->gpr[GPR_RSP] = LINUX_STACK_TOP;
}
