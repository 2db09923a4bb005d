/*
 * Port I/O: IN/OUT with an immediate or DX port, plus the helpers the string
 * forms use.  Protected-mode permission: CPL <= IOPL, or else (and always
 * in virtual-8086 mode) every port's bit clear in the TSS I/O permission
 * bitmap.
 */
#include "interp_internal.h"

int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write);

/* The TSS I/O bitmap: a 32/64-bit TSS (type 9 or 11), the map base at
 * offset 0x66, and the two bytes holding the ports' bits within the TSS
 * limit; any bit set is #GP(0). */
static int io_bitmap_check(struct interp_cpu *cpu, uint16_t port, unsigned size)
{
    const struct seg_reg *tr = &cpu->st->seg[SEG_TR];
    unsigned type = tr->attr & SEG_ATTR_TYPE_MASK;
    uint8_t b[2];
    if ((tr->attr & SEG_ATTR_UNUSABLE) || (type != 9 && type != 11) || tr->limit < 0x67)
        return raise_gp(cpu, 0);
    uint64_t map;
    if (sys_access(cpu, tr->base + 0x66, 2, b, false))
        return X_FAULT;
    map = (uint64_t)(b[0] | (b[1] << 8)) + port / 8;
    if (map + 1 > tr->limit)
        return raise_gp(cpu, 0);
    if (sys_access(cpu, tr->base + map, 2, b, false))
        return X_FAULT;
    unsigned bits = (unsigned)(b[0] | (b[1] << 8)) >> (port & 7);
    return (bits & ((1u << size) - 1)) ? raise_gp(cpu, 0) : X_NEXT;
}

int io_check(struct interp_cpu *cpu, uint16_t port, unsigned size)
{
    bool vm86 = cpu->st->rflags & RFLAGS_VM;
    if (vm86 || (cpu->protected_mode && cpu->cpl > ((cpu->st->rflags >> 12) & 3)))
        return io_bitmap_check(cpu, port, size);
    return X_NEXT;
}

uint32_t io_in(struct interp_cpu *cpu, uint16_t port, unsigned size)
{
    debug_note_io(cpu, port, size);
    if (!cpu->io.port_read)
        return (uint32_t)size_mask(size);
    return cpu->io.port_read(cpu->io.opaque, port, size) & (uint32_t)size_mask(size);
}

void io_out(struct interp_cpu *cpu, uint16_t port, unsigned size, uint32_t v)
{
    debug_note_io(cpu, port, size);
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
    uint16_t port = in->opc >= 0xec ? (uint16_t)cpu->gpr[GPR_RDX] : (uint16_t)in->imm;
    unsigned size = io_size(in);
    int r = io_check(cpu, port, size);
    if (r)
        return r;
    set_reg(cpu, GPR_RAX, size, io_in(cpu, port, size));
    return X_END;            /* a device may have raised an interrupt or asked to stop */
}

/* OUT Ib|DX, AL/eAX (E6 E7 EE EF). */
int op_out(struct interp_cpu *cpu, const struct insn *in)
{
    uint16_t port = in->opc >= 0xec ? (uint16_t)cpu->gpr[GPR_RDX] : (uint16_t)in->imm;
    int r = io_check(cpu, port, io_size(in));
    if (r)
        return r;
    io_out(cpu, port, io_size(in), (uint32_t)cpu->gpr[GPR_RAX]);
    return X_END;
}
