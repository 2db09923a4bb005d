/*
 * Virtual interrupt flags: CR4.VME (virtual-8086 mode extensions) and
 * CR4.PVI (protected-mode virtual interrupts).  Where IOPL < 3 would make
 * CLI/STI fault, they change EFLAGS.VIF instead (in VM86 with VME; at CPL 3
 * in protected mode with PVI); STI with VIF pending (VIP) still faults, so
 * the monitor can deliver the interrupt it held back.  In VM86 with VME
 * and IOPL < 3, 16-bit PUSHF/POPF/IRET see VIF in place of IF (and IOPL as
 * 3); a POPF/IRET that would set IF with VIP set, or set TF, faults; INT n
 * whose bit in the TSS's interrupt redirection bitmap (the 32 bytes below
 * the I/O bitmap) is clear goes straight to the real-mode IVT handler.
 */
#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

static unsigned iopl(const struct interp_cpu *cpu) { return (cpu->st->rflags >> 12) & 3; }

/* VM86 with VME and IOPL < 3. */
bool vme_active(const struct interp_cpu *cpu)
{
    const struct cpu_state *st = cpu->st;
    return (st->rflags & RFLAGS_VM) && (st->cr4 & CR4_VME) && iopl(cpu) < 3;
}

/* CLI/STI that would fault on IOPL: VM86 with VME, or CPL 3 with PVI. */
static bool virtual_if(const struct interp_cpu *cpu)
{
    const struct cpu_state *st = cpu->st;
    if (st->rflags & RFLAGS_VM)
        return vme_active(cpu);
    return (st->cr4 & CR4_PVI) && cpu->cpl == 3 && iopl(cpu) < 3;
}

/* CLI (set false) or STI (true) where IOPL forbids them: VIF, or #GP. */
int vme_cli_sti(struct interp_cpu *cpu, bool set)
{
    struct cpu_state *st = cpu->st;
    if (!virtual_if(cpu) || (set && (st->rflags & RFLAGS_VIP)))
        return raise_gp(cpu, 0);
    st->rflags = set ? st->rflags | RFLAGS_VIF : st->rflags & ~(uint64_t)RFLAGS_VIF;
    return X_NEXT;
}

/* The FLAGS word PUSHF and INT n store in VM86 with VME: VIF as IF, IOPL 3. */
uint16_t vme_flags_image(struct interp_cpu *cpu)
{
    uint64_t f = flags_get(cpu) & 0xffff & ~(uint64_t)RFLAGS_IF;
    if (cpu->st->rflags & RFLAGS_VIF)
        f |= RFLAGS_IF;
    return (uint16_t)(f | RFLAGS_IOPL);
}

/* A FLAGS word popped by POPF/IRET in VM86 with VME: IF goes to VIF, IOPL
 * stays; #GP if it sets TF, or IF while VIP is set. */
int vme_flags_write(struct interp_cpu *cpu, uint64_t fl)
{
    struct cpu_state *st = cpu->st;
    if ((fl & RFLAGS_TF) || ((fl & RFLAGS_IF) && (st->rflags & RFLAGS_VIP)))
        return raise_gp(cpu, 0);
    flags_write(cpu, fl, (FLAGS_ARITH | RFLAGS_DF | RFLAGS_NT) & 0xffff);
    st->rflags = (fl & RFLAGS_IF) ? st->rflags | RFLAGS_VIF : st->rflags & ~(uint64_t)RFLAGS_VIF;
    return X_NEXT;
}

/* INT n in VM86 with VME: 1 if the redirection bitmap sends it to the
 * protected-mode IDT (the caller goes on as without VME), X_NEXT after a
 * redirection to the IVT handler, or a fault. */
int vme_int(struct interp_cpu *cpu, uint8_t vec, uint64_t ret_ip)
{
    struct cpu_state *st = cpu->st;
    const struct seg_reg *tr = &st->seg[SEG_TR];
    uint16_t io_base = 0;
    uint8_t bits = 0;
    int r;
    if (tr->limit < 0x67 || (r = sys_access(cpu, tr->base + 0x66, 2, &io_base, false)))
        return tr->limit < 0x67 ? raise_gp(cpu, 0) : r;
    uint32_t at = (uint32_t)io_base - 32 + vec / 8u;
    if (io_base < 32 || at > tr->limit)
        return raise_gp(cpu, 0);
    if ((r = sys_access(cpu, tr->base + at, 1, &bits, false)))
        return r;
    if ((bits >> (vec & 7)) & 1)
        return 1;
    uint32_t ent = 0;
    if ((r = sys_access(cpu, (uint64_t)vec * 4, 4, &ent, false)))
        return r;
    uint16_t image = iopl(cpu) == 3 ? (uint16_t)(flags_get(cpu) & 0xffff) : vme_flags_image(cpu);
    if ((r = stack_push(cpu, 2, image)) || (r = stack_push(cpu, 2, st->seg[SEG_CS].selector)) ||
        (r = stack_push(cpu, 2, ret_ip & 0xffff)))
        return r;
    flags_materialize(cpu);
    st->rflags &= ~(uint64_t)(RFLAGS_TF | RFLAGS_RF | (iopl(cpu) == 3 ? RFLAGS_IF : RFLAGS_VIF));
    return load_cs_far(cpu, (uint16_t)(ent >> 16), ent & 0xffff);
}
