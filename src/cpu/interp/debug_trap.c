/*
 * Debug exceptions: TF single-step, the DR0-DR3/DR7 instruction and data
 * breakpoints, and INT1 (ICEBP, F1).
 *
 * While TF or any DR7 enable is set the execution loop runs one instruction
 * per step and asks here before it (instruction breakpoints: faults, which
 * RF suppresses) and after it (single-step and data breakpoints: one #DB
 * trap with DR6.BS and B0-B3).  Pages holding a data breakpoint are never
 * put in the TLB, so every access to them reaches mem_access_slow and
 * debug_note_access.  I/O breakpoints (R/W = 10 with CR4.DE) are noted
 * by debug_note_io for every port access and trap the same way.
 */
#include "handlers.h"

#define DR6_BS      UINT64_C(0x4000)
#define DR6_B_MASK  UINT64_C(0xf)

static unsigned bp_rw(uint64_t dr7, unsigned n) { return (dr7 >> (16 + 4 * n)) & 3; }
static bool bp_enabled(uint64_t dr7, unsigned n) { return (dr7 >> (2 * n)) & 3; }

/* Bytes covered by breakpoint n: LEN 00 = 1, 01 = 2, 10 = 8, 11 = 4. */
static uint64_t bp_len(uint64_t dr7, unsigned n)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 };
    return len[(dr7 >> (18 + 4 * n)) & 3];
}

static bool is_data_bp(uint64_t dr7, unsigned n)
{
    unsigned rw = bp_rw(dr7, n);
    return bp_enabled(dr7, n) && (rw == 1 || rw == 3);
}

bool debug_page_watched(const struct interp_cpu *cpu, uint64_t lin)
{
    uint64_t dr7 = cpu->st->dr7;
    if (!(dr7 & 0xff))
        return false;
    for (unsigned n = 0; n < 4; n++)
        if (is_data_bp(dr7, n) && ((cpu->st->dr[n] ^ lin) & ~UINT64_C(0xfff)) == 0)
            return true;
    return false;
}

void debug_note_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, bool write)
{
    uint64_t dr7 = cpu->st->dr7;
    if (!(dr7 & 0xff))
        return;
    for (unsigned n = 0; n < 4; n++) {
        if (!is_data_bp(dr7, n) || (bp_rw(dr7, n) == 1 && !write))
            continue;
        uint64_t len = bp_len(dr7, n), start = cpu->st->dr[n] & ~(len - 1);
        if (lin < start + len && start < lin + size)
            cpu->dbg_hits |= (uint8_t)(1u << n);
    }
}

/* A port access of size bytes: I/O breakpoints (R/W = 10, only with
 * CR4.DE; DRn's low 16 bits are the port, aligned down to LEN). */
void debug_note_io(struct interp_cpu *cpu, uint16_t port, unsigned size)
{
    uint64_t dr7 = cpu->st->dr7;
    if (!(dr7 & 0xff) || !(cpu->st->cr4 & CR4_DE))
        return;
    for (unsigned n = 0; n < 4; n++) {
        if (!bp_enabled(dr7, n) || bp_rw(dr7, n) != 2)
            continue;
        uint64_t len = bp_len(dr7, n), start = cpu->st->dr[n] & 0xffff & ~(len - 1);
        if (port < start + len && start < (uint64_t)port + size)
            cpu->dbg_hits |= (uint8_t)(1u << n);
    }
}

int debug_insn_breakpoint(struct interp_cpu *cpu)
{
    struct cpu_state *st = cpu->st;
    uint64_t dr7 = st->dr7, hits = 0;
    if ((st->rflags & RFLAGS_RF) || !(dr7 & 0xff))
        return X_NEXT;
    uint64_t lin = (cpu->seg[SEG_CS].base + st->rip) & cpu->lin_mask;
    for (unsigned n = 0; n < 4; n++)
        if (bp_enabled(dr7, n) && bp_rw(dr7, n) == 0 && st->dr[n] == lin)
            hits |= UINT64_C(1) << n;
    if (!hits)
        return X_NEXT;
    st->dr6 = (st->dr6 & ~DR6_B_MASK) | hits;
    return raise_exc(cpu, EXC_DB, false, 0);
}

void debug_step_begin(struct interp_cpu *cpu)
{
    cpu->dbg_hits = 0;
    cpu->ss_shadow = false;
}

/* After one instruction run with debugging active: r is its exec_result,
 * tf the TF it started with.  Faults and delivered events (INT n, whose
 * handler starts with TF clear) report nothing; after MOV SS / POP SS the
 * trap waits for the next instruction. */
int debug_step_end(struct interp_cpu *cpu, int r, bool tf, unsigned done)
{
    struct cpu_state *st = cpu->st;
    if (!done || (r != X_NEXT && r != X_END && r != X_HALT))
        return r;
    cpu->dbg_pending |= cpu->dbg_hits;
    if (cpu->ss_shadow)
        return r;
    uint64_t bits = cpu->dbg_pending | (tf ? DR6_BS : 0);
    cpu->dbg_pending = 0;
    if (!bits)
        return r;
    if (bits & DR6_B_MASK)
        st->dr6 &= ~DR6_B_MASK;
    st->dr6 |= bits;
    st->run_state = CPU_RUNNABLE;          /* a trap after HLT is delivered, the halt ends */
    return deliver_event(cpu, EXC_DB, EV_EXCEPTION, false, 0, st->rip);
}

/* INT1 / ICEBP (F1): #DB as a trap, without the gate DPL check of INT n. */
int op_int1(struct interp_cpu *cpu, const struct insn *in)
{
    cpu->st->rip = (insn_next_rip(cpu, in) - in->len) & cpu->ip_mask;
    return deliver_event(cpu, EXC_DB, EV_EXCEPTION, false, 0, insn_next_rip(cpu, in));
}
