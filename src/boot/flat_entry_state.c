/*
 * The register state a vCPU starts with under the flat loader (the guest
 * ABI documented in flat_loader.h).
 */
#include "flat_loader.h"

#define ATTR_CODE (SEG_ATTR_P | SEG_ATTR_S | 0xb)   /* execute/read, accessed */
#define ATTR_DATA (SEG_ATTR_P | SEG_ATTR_S | 0x3)   /* read/write, accessed */

static void seg_flat(struct seg_reg *s, uint16_t sel, uint32_t attr)
{
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->attr = attr | SEG_ATTR_G;
}

static void entry_real(struct cpu_state *st, uint64_t entry, uint32_t id)
{
    uint16_t cs = (uint16_t)((entry >> 4) & 0xf000);
    st->seg[SEG_CS].selector = cs;
    st->seg[SEG_CS].base = (uint64_t)cs << 4;
    for (int i = 0; i < SEG_COUNT; i++) {
        if (i == SEG_CS || i == SEG_LDTR || i == SEG_TR)
            continue;
        st->seg[i].selector = 0;
        st->seg[i].base = 0;
    }
    st->rip = entry & 0xffff;
    st->gpr[GPR_RSP] = BOOT_REAL_STACK_TOP - id * BOOT_REAL_STACK_SIZE;
}

static void entry_flat(struct cpu_state *st, bool long_mode, uint64_t entry, uint64_t stack)
{
    seg_flat(&st->seg[SEG_CS], long_mode ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32,
             ATTR_CODE | (long_mode ? SEG_ATTR_L : SEG_ATTR_DB));
    if (long_mode)
        st->seg[SEG_CS].attr &= ~SEG_ATTR_DB;
    for (int i = 0; i < SEG_COUNT; i++)
        if (i != SEG_CS && i != SEG_LDTR && i != SEG_TR)
            seg_flat(&st->seg[i], BOOT_SEL_DATA, ATTR_DATA | SEG_ATTR_DB);
    st->gdtr.base = BOOT_GDT_ADDR;
    st->gdtr.limit = 4 * 8 - 1;
    st->idtr.base = 0;
    st->idtr.limit = 0;
    st->cr0 = CR0_PE | CR0_ET | CR0_NE;
    if (long_mode) {
        st->cr0 |= CR0_PG | CR0_WP | CR0_MP;
        st->cr3 = BOOT_PML4_ADDR;
        st->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
        st->efer = EFER_LME | EFER_LMA;
    }
    st->rip = entry;
    st->gpr[GPR_RSP] = stack;
}

void flat_entry_state(struct cpu_state *st, enum boot_mode mode, uint64_t entry,
                      uint64_t stack_top, uint32_t id, uint32_t ncpus)
{
    cpu_state_reset(st, id == 0);
    st->run_state = CPU_RUNNABLE;       /* every vCPU starts at the entry */
    st->gpr[GPR_RDX] = 0;
    st->gpr[GPR_RDI] = id;
    st->gpr[GPR_RSI] = ncpus;
    if (mode == BOOT_REAL)
        entry_real(st, entry, id);
    else
        entry_flat(st, mode == BOOT_LONG, entry, stack_top - (uint64_t)id * BOOT_STACK_SIZE);
}
