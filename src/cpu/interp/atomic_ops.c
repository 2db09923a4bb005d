/*
 * The read-modify-write instructions that LOCK is made for (XADD, CMPXCHG,
 * CMPXCHG8B/16B) and the machinery every LOCK-prefixed instruction (and XCHG
 * with memory) uses to be atomic against other vCPUs, whether those run in
 * this interpreter or natively in KVM.
 *
 * An operand in guest RAM is updated with a compare-and-swap loop on the
 * host pointer: on the aligned 64-bit word that contains it (x86 hosts can
 * do that for any operand within one such word), or with the host's own
 * CMPXCHG16B.  Operands split across words or pages, and MMIO, take a
 * process-wide lock around the ordinary read and write instead: that is
 * atomic only against other interpreter vCPUs, but split locks are rare and
 * slow on hardware too (and MMIO has no atomicity to offer).
 */
#include <pthread.h>

#include "interp_internal.h"

static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;

/* The value op writes over old (masking is the caller's). */
static uint64_t rmw_apply(const struct rmw_op *op, uint64_t old)
{
    switch (op->kind) {
    case RMW_ADD:     return old + op->src;
    case RMW_OR:      return old | op->src;
    case RMW_ADC:     return old + op->src + op->cin;
    case RMW_SBB:     return old - op->src - op->cin;
    case RMW_AND:     return old & op->src;
    case RMW_SUB:     return old - op->src;
    case RMW_XOR:     return old ^ op->src;
    case RMW_XCHG:    return op->src;
    case RMW_NOT:     return ~old;
    case RMW_NEG:     return 0 - old;
    default:          return old == op->cmp ? op->src : old;   /* CMPXCHG writes back on a miss */
    }
}

/* CAS loop on the aligned 64-bit word holding host[0..size). */
static uint64_t rmw_cas_word(uint8_t *host, const struct rmw_op *op)
{
    uintptr_t a = (uintptr_t)host;
    uint64_t *w = (uint64_t *)(a & ~(uintptr_t)7);
    unsigned sh = (unsigned)(a & 7) * 8;
    uint64_t m = size_mask(op->size) << sh;
    uint64_t cur = __atomic_load_n(w, __ATOMIC_RELAXED);
    for (;;) {
        uint64_t old = (cur & m) >> sh;
        uint64_t next = (cur & ~m) | ((rmw_apply(op, old) << sh) & m);
        if (__atomic_compare_exchange_n(w, &cur, next, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return old;
    }
}

/* Read, compute, write under the global lock (split and MMIO operands). */
static int rmw_split(struct interp_cpu *cpu, unsigned seg, uint64_t ea, const struct rmw_op *op, uint64_t *old)
{
    pthread_mutex_lock(&split_lock);
    int r = mem_read_rmw(cpu, seg, ea, op->size, old);
    if (!r)
        r = mem_write(cpu, seg, ea, op->size, rmw_apply(op, *old));
    pthread_mutex_unlock(&split_lock);
    return r;
}

int rmw_locked(struct interp_cpu *cpu, unsigned seg, uint64_t ea, const struct rmw_op *op, uint64_t *old)
{
    uint64_t lin;
    int r;
    if (unlikely(seg_linear(cpu, seg, ea, op->size, ACC_WRITE, &lin)))
        return X_FAULT;
    uint8_t *host = mem_rmw_host(cpu, lin, op->size, &r);
    if (r)
        return r;
    if (host && ((uintptr_t)host & 7) + op->size <= 8) {
        *old = rmw_cas_word(host, op);
        return X_NEXT;
    }
    return rmw_split(cpu, seg, ea, op, old);
}

/* XADD Eb,Gb / Ev,Gv (0F C0 C1). */
int op_xadd(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t d;
    if (unlikely(in->lock)) {
        uint64_t s = op_reg_get(cpu, in, size);
        struct rmw_op op = { .kind = RMW_ADD, .size = (uint8_t)size, .src = s };
        int r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &op, &d);
        if (r)
            return r;
        op_reg_set(cpu, in, size, d);
        lazy_set(cpu, LF_ADD, size, d, s, d + s);
        return X_NEXT;
    }
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    uint64_t s = op_reg_get(cpu, in, size), sum = d + s;
    op_reg_set(cpu, in, size, d);
    if ((r = op_rm_set(cpu, in, size, sum))) {
        op_reg_set(cpu, in, size, s);
        return r;
    }
    lazy_set(cpu, LF_ADD, size, d, s, sum);
    return X_NEXT;
}

/* CMPXCHG Eb,Gb / Ev,Gv (0F B0 B1). */
int op_cmpxchg(struct interp_cpu *cpu, const struct insn *in)
{
    unsigned size = in->osz;
    uint64_t d, m = size_mask(size);
    uint64_t a = cpu->gpr[GPR_RAX] & m;
    if (unlikely(in->lock)) {
        struct rmw_op op = { .kind = RMW_CMPXCHG, .size = (uint8_t)size,
                             .src = op_reg_get(cpu, in, size), .cmp = a };
        int r = rmw_locked(cpu, in->seg, insn_ea(cpu, in), &op, &d);
        if (r)
            return r;
        if (a != d)
            set_reg(cpu, GPR_RAX, size, d);
        lazy_set(cpu, LF_SUB, size, a, d, a - d);
        return X_NEXT;
    }
    int r = op_rm_get(cpu, in, size, &d, true);
    if (r)
        return r;
    if (a == d) {
        if ((r = op_rm_set(cpu, in, size, op_reg_get(cpu, in, size))))
            return r;
    } else {
        if (!in->mod3 && (r = op_rm_set(cpu, in, size, d)))   /* hardware writes back */
            return r;
        set_reg(cpu, GPR_RAX, size, d);
    }
    lazy_set(cpu, LF_SUB, size, a, d, a - d);
    return X_NEXT;
}

/* The host's CMPXCHG16B on RAM at p, with the guest's RDX:RAX, RCX:RBX
 * (on a miss RDX:RAX receive the value seen, as on hardware).  Returns false
 * when the host cannot (not x86-64, or p not 16-byte aligned). */
static bool host_cmpxchg16b(uint8_t *p, uint64_t *gpr, bool *eq)
{
#if defined(__x86_64__)
    if ((uintptr_t)p & 15)
        return false;
    struct { uint64_t q[2]; } *m = (void *)p;
    bool ok;
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(ok), "+m"(*m), "+a"(gpr[GPR_RAX]), "+d"(gpr[GPR_RDX])
                     : "b"(gpr[GPR_RBX]), "c"(gpr[GPR_RCX])
                     : "memory");
    *eq = ok;
    return true;
#else
    (void)p, (void)gpr, (void)eq;
    return false;
#endif
}

/* 16 bytes under the global lock (MMIO, or a host without CMPXCHG16B). */
static int cmpxchg16b_split(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, bool *eq)
{
    uint64_t lo, hi;
    int r;
    pthread_mutex_lock(&split_lock);
    if (!(r = mem_read_rmw(cpu, in->seg, ea, 8, &lo)) && !(r = mem_read_rmw(cpu, in->seg, ea + 8, 8, &hi))) {
        *eq = lo == cpu->gpr[GPR_RAX] && hi == cpu->gpr[GPR_RDX];
        if (*eq) {
            if (!(r = mem_write(cpu, in->seg, ea, 8, cpu->gpr[GPR_RBX])))
                r = mem_write(cpu, in->seg, ea + 8, 8, cpu->gpr[GPR_RCX]);
        } else {
            cpu->gpr[GPR_RAX] = lo;
            cpu->gpr[GPR_RDX] = hi;
        }
    }
    pthread_mutex_unlock(&split_lock);
    return r;
}

/* LOCK CMPXCHG8B/16B: 8 bytes are one 64-bit CMPXCHG; 16 bytes (aligned,
 * so in one page) use the host's CMPXCHG16B on RAM. */
static int cmpxchg8b_locked(struct interp_cpu *cpu, const struct insn *in, uint64_t ea, unsigned half)
{
    int r;
    bool eq;
    if (half == 4) {
        uint64_t m = size_mask(4), old;
        uint64_t cmp = (cpu->gpr[GPR_RDX] & m) << 32 | (cpu->gpr[GPR_RAX] & m);
        struct rmw_op op = { .kind = RMW_CMPXCHG, .size = 8, .cmp = cmp,
                             .src = (cpu->gpr[GPR_RCX] & m) << 32 | (cpu->gpr[GPR_RBX] & m) };
        if ((r = rmw_locked(cpu, in->seg, ea, &op, &old)))
            return r;
        eq = old == cmp;
        if (!eq) {
            set_reg(cpu, GPR_RAX, 4, old);
            set_reg(cpu, GPR_RDX, 4, old >> 32);
        }
    } else {
        uint64_t lin;
        if (unlikely(seg_linear(cpu, in->seg, ea, 16, ACC_WRITE, &lin)))
            return X_FAULT;
        uint8_t *host = mem_rmw_host(cpu, lin, 16, &r);
        if (r)
            return r;
        if (!(host && host_cmpxchg16b(host, cpu->gpr, &eq)) && (r = cmpxchg16b_split(cpu, in, ea, &eq)))
            return r;
    }
    flags_set_arith(cpu, RFLAGS_ZF, eq ? RFLAGS_ZF : 0);
    return X_NEXT;
}

/* CMPXCHG8B / CMPXCHG16B m (0F C7 /1). */
int op_cmpxchg8b(struct interp_cpu *cpu, const struct insn *in)
{
    if (in->mod3)
        return raise_ud(cpu);
    uint64_t ea = insn_ea(cpu, in), lo, hi;
    unsigned half = in->osz == 8 ? 8 : 4;
    if (half == 8 && (ea & 15))
        return raise_gp(cpu, 0);
    if (unlikely(in->lock))
        return cmpxchg8b_locked(cpu, in, ea, half);
    int r;
    if ((r = mem_read_rmw(cpu, in->seg, ea, half, &lo)) ||
        (r = mem_read_rmw(cpu, in->seg, ea + half, half, &hi)))
        return r;
    uint64_t m = size_mask(half);
    bool eq = lo == (cpu->gpr[GPR_RAX] & m) && hi == (cpu->gpr[GPR_RDX] & m);
    if (eq) {
        if ((r = mem_write(cpu, in->seg, ea, half, cpu->gpr[GPR_RBX])) ||
            (r = mem_write(cpu, in->seg, ea + half, half, cpu->gpr[GPR_RCX])))
            return r;
    } else {
        set_reg(cpu, GPR_RAX, half, lo);
        set_reg(cpu, GPR_RDX, half, hi);
    }
    flags_set_arith(cpu, RFLAGS_ZF, eq ? RFLAGS_ZF : 0);
    return X_NEXT;
}
