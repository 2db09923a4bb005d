/*
 * Port I/O: IN/OUT with an immediate or DX port, plus the helpers the string
 * forms use.  Protected-mode permission: CPL <= IOPL; the TSS I/O bitmap is
 * not consulted yet (a CPL > IOPL access raises #GP(0)).
 */
#include "interp_internal.h"

int io_check(struct interp_cpu *cpu)
{
    bool vm86 = cpu->st->rflags & RFLAGS_VM;
    if ((cpu->protected_mode || vm86) && cpu->cpl > ((cpu->st->rflags >> 12) & 3))
        return raise_gp(cpu, 0);
    return X_NEXT;
}

uint32_t io_in(struct interp_cpu *cpu, uint16_t port, unsigned size)
{
    if (!cpu->io.port_read)
        return (uint32_t)size_mask(size);
    return cpu->io.port_read(cpu->io.opaque, port, size) & (uint32_t)size_mask(size);
}

void io_out(struct interp_cpu *cpu, uint16_t port, unsigned size, uint32_t v)
{
    if (cpu->io.port_write)
        cpu->io.port_write(cpu->io.opaque, port, size, v & (uint32_t)size_mask(size));
}

static unsigned io_size(const struct insn *in)
{
    return in->osz == 8 ? 4 : in->osz;
}

/* IN AL/eAX, Ib|DX (E4 E5 EC ED). */
int op_in(struct interp_cpu *cpu, const struct insn *in)
{
    int r = io_check(cpu);
    if (r)
        return r;
    uint16_t port = in->opc >= 0xec ? (uint16_t)cpu->gpr[GPR_RDX] : (uint16_t)in->imm;
    unsigned size = io_size(in);
    set_reg(cpu, GPR_RAX, size, io_in(cpu, port, size));
    return X_END;            /* a device may have raised an interrupt or asked to stop */
}

/* OUT Ib|DX, AL/eAX (E6 E7 EE EF). */
int op_out(struct interp_cpu *cpu, const struct insn *in)
{
    int r = io_check(cpu);
    if (r)
        return r;
    uint16_t port = in->opc >= 0xec ? (uint16_t)cpu->gpr[GPR_RDX] : (uint16_t)in->imm;
    io_out(cpu, port, io_size(in), (uint32_t)cpu->gpr[GPR_RAX]);
    return X_END;
}
