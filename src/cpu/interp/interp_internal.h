/*
 * The interpreter's internal structures and the hot inline helpers every
 * instruction file uses (register access, lazy flags, memory fast paths).
 * Not for use outside src/cpu/interp/ and its tests.
 */
#ifndef PETREL_CPU_INTERP_INTERNAL_H
#define PETREL_CPU_INTERP_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "interp.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* What an instruction handler tells the executor. */
enum exec_result {
    X_NEXT = 0,     /* done: RIP = next_rip, continue the block */
    X_END,          /* done: RIP = next_rip, leave the block (mode/flow change) */
    X_FAULT,        /* exception recorded in cpu->exc; RIP stays at the instruction */
    X_DELIVERED,    /* the handler delivered an event itself (INT n); RIP is set */
    X_HALT,         /* HLT: RIP = next_rip, stop executing */
    X_TRIPLE,       /* triple fault */
    X_FREEZE,       /* FERR#: RIP stays at the instruction, stop as HLT does */
};

struct interp_cpu;
struct insn;
typedef int (*insn_fn)(struct interp_cpu *cpu, const struct insn *in);

#define REG_NONE 0xff

/* One decoded instruction.  Register fields are final (REX applied); the
 * reg8/rm8 fields number byte registers 0-15 (low bytes) and 16-19 (AH-BH). */
struct insn {
    insn_fn  fn;
    uint8_t  len;
    uint8_t  osz;        /* operand size, bytes: 1, 2, 4, 8 */
    uint8_t  asz;        /* address size, bytes: 2, 4, 8 */
    uint8_t  seg;        /* segment of the memory operand (SEG_*) */
    uint8_t  rep;        /* 0, 0xf2 or 0xf3 (last one wins, as on hardware) */
    uint8_t  lock;
    uint8_t  mod3;       /* ModRM r/m names a register */
    uint8_t  reg, reg8;  /* ModRM.reg or opcode register */
    uint8_t  rm, rm8;    /* ModRM.rm register when mod3 */
    uint8_t  base, index, scale, rip_rel;
    uint8_t  ext;        /* ModRM.reg, raw (group selector, sreg, CRn) */
    uint8_t  rex;        /* the REX byte, 0 if none */
    uint8_t  ends;       /* control flow or mode change: last of its block */
    uint16_t opc;        /* 0x000-0x0ff one-byte map, 0x100 0F, 0x200 0F 38, 0x300 0F 3A */
    int32_t  disp;
    uint64_t imm;
    uint16_t imm2;       /* ENTER level / far pointer selector */
    uint16_t sse;        /* SSE: descriptor index (sse.h) */
    uint16_t sse_stub;   /* SSE: host stub of the register form */
    uint16_t end;        /* offset of the next instruction from its block's start */
};
_Static_assert(sizeof(struct insn) == 48, "decoded blocks hold many insns: keep struct insn small");

/* Decoder results. */
enum decode_status { DEC_OK = 0, DEC_UD, DEC_TOO_LONG, DEC_MORE };

/* Code size the decoder works in (the block cache keys on it). */
enum code_mode { MODE_16 = 0, MODE_32 = 1, MODE_64 = 2 };

/* Decodes one instruction from bytes[0..avail).  DEC_MORE: the instruction
 * continues past avail (the caller fetches more, at most 15 in all). */
int decode_insn(enum code_mode mode, const uint8_t *bytes, unsigned avail, struct insn *in);

/* ---- lazy flags ---- */

enum lazy_op { LF_NONE = 0, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC,
               LF_SHL, LF_SHR, LF_SAR,     /* shifts: src = count (1..63), dst = operand */
               LF_MUL };                   /* IMUL/MUL: cin = CF = OF (overflow), res = low half */

struct lazy_flags {
    uint64_t res, dst, src;
    uint8_t  op, size, cin;   /* cin: carry in (ADC/SBB) or the preserved CF (INC/DEC) */
};

#define FLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* ---- memory ---- */

#define TLB_SIZE 256
struct tlb_entry {
    uint64_t tag_read, tag_write, tag_exec;  /* linear page, or TLB_INVALID */
    intptr_t addend;                         /* host = lin + addend (RAM pages) */
    uint64_t phys;                           /* guest-physical page */
    bool global;                             /* PTE.G with CR4.PGE: kept across CR3 writes */
};
#define TLB_INVALID UINT64_C(1)   /* never a page-aligned tag */
#define TLB_SV   0                /* tlb_set index: CPL 0-2 */
#define TLB_USER 1                /* CPL 3 */
#define TLB_AC_SLOTS 32
_Static_assert(TLB_SIZE <= 256, "tlb_ac_slot holds slot numbers in bytes");

enum paging_mode { PG_NONE, PG_32, PG_PAE, PG_LONG };

/* Effective segment as the access fast path needs it. */
struct seg_cache {
    uint64_t base;
    uint64_t lo, hi;      /* valid offsets [lo, hi] */
    uint8_t  rd, wr;      /* readable / writable through this segment */
};

/* ACC_RMW: a read of an operand that will be written back (permissions and
 * #PF error code are those of the write). */
enum access_kind { ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2, ACC_RMW = 3 };

/* ---- decoded block cache ---- */

#define BLOCK_MAX_INSNS 32
#ifndef BLOCK_ARENA_SIZE
#define BLOCK_ARENA_SIZE (2u << 20)  /* bytes of decoded blocks per vCPU (flushed when full) */
#endif
#define BLOCK_HASH_SIZE 8192       /* power of two */
#define JCACHE_SIZE 4096           /* power of two */
#define PAGE_NONE UINT32_MAX

/* A chained successor: the block that runs at linear address lin, valid
 * while cpu->chain_gen is gen (blocks never change in place, and emptying
 * the arena bumps chain_gen). */
struct block_link {
    struct block *to;
    uint64_t lin, gen;
};

/* Near CALL and RET blocks feed a return stack of call blocks, so a RET
 * finds its successor through the fall-through link of its caller. */
enum block_exit { EXIT_OTHER = 0, EXIT_CALL, EXIT_RET };
#define RET_STACK 16               /* power of two */

/* A decoded block: this header and its n instructions, stored together in
 * the vCPU's block arena (the executor touches one small piece of memory
 * per block, not a fixed-size slot). */
struct block {
    uint64_t phys;            /* guest-physical address of the first byte */
    uint64_t lin;             /* linear address it was decoded at (jump cache key) */
    struct block *next;       /* next block in its hash chain */
    uint32_t page, page2;     /* RAM page indexes the code lies in (page2 may be PAGE_NONE) */
    uint32_t gen, gen2;       /* code generations of those pages when decoded */
    uint32_t epoch;           /* cpu->code_epoch when decoded */
    uint64_t lin_gen;         /* cpu->jc_gen when put in the jump cache */
    uint8_t  mode;            /* enum code_mode; 0xff = not a valid block */
    bool     lin_global;      /* lin maps through a global page: survives CR3 writes */
    bool     lin_user;        /* put in the jump cache at CPL 3 (lin_global holds only there) */
    uint8_t  exit;            /* enum block_exit: how the last instruction leaves */
    uint16_t n, bytes;
    uint16_t hits;            /* full runs so far, until it is compiled (jit.h) */
    uint64_t (*code)(struct interp_cpu *cpu);  /* compiled form, or NULL */
    const void *chain;        /* its body, where a compiled predecessor jumps in (jit.h) */
    struct block_link link[2];  /* successors: [0] fall-through, [1] other */
    struct insn insn[];
};

#define BLOCK_BYTES(n) ((sizeof(struct block) + (size_t)(n) * sizeof(struct insn) + 15) & ~(size_t)15)

struct pending_exc {
    uint8_t  vector;
    bool     has_err;
    uint32_t err;
};

struct interp_cpu {
    struct cpu_state *st;
    uint64_t *gpr;            /* = st->gpr */
    struct guest_ram *ram;
    struct interp_io io;

    struct lazy_flags lf;
    uint64_t next_rip;        /* a control transfer's target (set_next_rip) */
    uint64_t block_rip;       /* RIP of the running block's first instruction */
    bool     rip_set;         /* the running block's last instruction set next_rip */
    uint64_t ip_mask;         /* 0xffff / 0xffffffff / ~0 by code size */
    enum code_mode mode;
    enum paging_mode paging;
    uint8_t  cpl;
    bool     long64;          /* 64-bit sub-mode of long mode */
    bool     protected_mode;  /* CR0.PE and not VM86 */
    uint64_t lin_mask;        /* linear address width outside 64-bit mode */
    struct seg_cache seg[6];

    /* Two TLBs, one per privilege, so that system calls and interrupts do
     * not cost the other side its translations: tlb points at the one of the
     * current CPL (tlb_select).  Supervisor entries that only RFLAGS.AC let
     * past SMAP are listed in tlb_ac_slot and go when AC does. */
    struct tlb_entry *tlb;
    struct tlb_entry tlb_set[2][TLB_SIZE];
    uint8_t  tlb_ac_slot[TLB_AC_SLOTS];
    uint8_t  tlb_ac_n;        /* TLB_AC_SLOTS + 1: more were filled than listed */

    /* Self-modifying code: per RAM page, a "holds decoded code" mark and a
     * generation bumped on each write to such a page.  Shared by the vCPUs
     * of a VM (code_track, interp_cpu_share_code): accessed atomically. */
    uint8_t  *code_mark;
    uint32_t *code_gen;
    struct code_track *track;
    uint32_t  mark_seq_seen;  /* track->mark_seq when this vCPU last dropped its fast writes */
    uint32_t  write_seq_seen; /* track->write_seq when this vCPU last trusted its block links */
    uint64_t  ram_pages;
    bool      smc;            /* a write hit code: leave the current block */
    const struct insn *run_end;  /* run_block's bound; NULL once a write hits code */
    uint32_t  code_epoch;     /* bumped to drop every decoded block at once */
    uint64_t  chain_gen;      /* renewed by anything that may change what runs at a linear
                                 address (code writes, TLB flushes, mode/CS changes):
                                 drops every block link at once */
    uint64_t  chain_gen_other;  /* the other privilege's chain_gen (swapped by tlb_select):
                                   a link made at CPL 3 is not followed at CPL 0 */
    uint64_t  chain_seq;      /* last value given to either: each is unique */
    struct block *ret_stack[RET_STACK];  /* call blocks, newest at ret_top - 1 (wraps) */
    unsigned  ret_top;
    enum code_mode chain_mode;          /* the code mode and CS the links were made under */
    uint64_t  chain_cs_base;
    uint32_t  chain_cs_limit;

    uint8_t  *arena;          /* BLOCK_ARENA_SIZE bytes of blocks, filled in order */
    size_t    arena_used;
    size_t    arena_touched;  /* bytes from the start whose pages may be resident */
    uint64_t  arena_flushes;  /* times the arena was emptied (block pointers died) */
    struct block *htab[BLOCK_HASH_SIZE];  /* (phys, mode) -> chain of blocks */
    struct block *jcache[JCACHE_SIZE];   /* linear RIP -> block, flushed with the TLB */
    struct block *scratch;    /* uncached decode (MMIO code), BLOCK_MAX_INSNS long */
    uint8_t  *jit_buf;        /* JIT_BUFFER_SIZE bytes of compiled blocks (jit.c), or NULL */
    size_t    jit_used;
    const uint8_t *jit_exit_stub;   /* shared by the buffer's blocks (jit.c) */
    const uint8_t *jit_chain_stub;
    size_t    jit_touched;    /* bytes from the start whose pages may be resident */
    uint16_t  jit_hot;        /* full runs before a block is compiled; 0: never */
    uint64_t  jit_compiled;   /* blocks compiled since creation */
    struct block *jit_block;  /* the compiled block running (or that ran last) */
    uint64_t  jit_left;       /* budget for chaining compiled blocks: instructions left */

    struct pending_exc exc;
    bool     sti_shadow;      /* no interrupt after STI / MOV SS until one more instruction */
    bool     implicit_sv;     /* sys_access: an implicit supervisor access (SMAP ignores AC) */
    bool     tlb_global;      /* the last translation was a global page (PTE.G, CR4.PGE) */
    uint8_t  tlb_large_shift; /* largest page size (log2) cached since the last full flush */
    uint64_t jc_gen;          /* renewed by CR3 writes: drops non-global jump-cache entries */
    uint64_t jc_gen_other;    /* the other privilege's jc_gen (swapped by tlb_select) */
    uint64_t jc_seq;          /* last value given to either: each is unique (64 bits: no wrap) */
    bool     ss_shadow;       /* MOV SS / POP SS: debug traps wait one more instruction */
    uint8_t  dbg_hits;        /* data breakpoints (B0-B3) hit by the current instruction */
    uint8_t  dbg_pending;     /* hits held back by a MOV SS shadow */
    atomic_bool poked;
    bool irq_window;          /* return as soon as RFLAGS.IF lets an interrupt in */
    uint64_t retired;
    uint64_t tsc_offset;
    bool     x87_live;        /* the x87 state is in the host FPU (x87_live.c) */
    uint16_t x87_host_cw;     /* the host's FPU control word while it is */
    bool     mxcsr_live;      /* the guest's MXCSR is the host's (sse_mxcsr.c) */
    uint32_t mxcsr_host;      /* the host's MXCSR while it is */
    char     error[256];
};

/* ---- registers ---- */

/* Operand sizes 1, 2, 4, 8 -> masks; a lookup when the size is only known
 * at run time (lazy flags), folded away when it is a constant. */
extern const uint64_t size_masks[16];

static ALWAYS_INLINE uint64_t size_mask(unsigned size)
{
    if (__builtin_constant_p(size))
        return size == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (size * 8)) - 1;
    return size_masks[size & 15];
}

static inline uint64_t sign_bit(unsigned size)
{
    return UINT64_C(1) << (size * 8 - 1);
}

/* The address-size mask of an instruction (asz 2, 4 or 8; no branch). */
static ALWAYS_INLINE uint64_t insn_amask(const struct insn *in)
{
    return UINT64_MAX >> ((64 - 8 * in->asz) & 63);
}

static inline int64_t sign_extend(uint64_t v, unsigned size)
{
    unsigned sh = 64 - size * 8;
    return (int64_t)(v << sh) >> sh;
}

static ALWAYS_INLINE uint64_t get_reg8(struct interp_cpu *cpu, unsigned r8)
{
    return r8 < 16 ? (cpu->gpr[r8] & 0xff) : ((cpu->gpr[r8 - 16] >> 8) & 0xff);
}

static ALWAYS_INLINE void set_reg8(struct interp_cpu *cpu, unsigned r8, uint64_t v)
{
    if (r8 < 16)
        cpu->gpr[r8] = (cpu->gpr[r8] & ~UINT64_C(0xff)) | (v & 0xff);
    else
        cpu->gpr[r8 - 16] = (cpu->gpr[r8 - 16] & ~UINT64_C(0xff00)) | ((v & 0xff) << 8);
}

/* Writes a full register with x86 width semantics: 8/16-bit writes merge,
 * 32-bit writes zero-extend, 64-bit writes replace. */
static ALWAYS_INLINE void set_reg(struct interp_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    switch (size) {
    case 2: cpu->gpr[r] = (cpu->gpr[r] & ~UINT64_C(0xffff)) | (v & 0xffff); break;
    case 4: cpu->gpr[r] = (uint32_t)v; break;
    case 8: cpu->gpr[r] = v; break;
    default: cpu->gpr[r] = (cpu->gpr[r] & ~UINT64_C(0xff)) | (v & 0xff); break;
    }
}

static ALWAYS_INLINE uint64_t op_reg_get(struct interp_cpu *cpu, const struct insn *in, unsigned size)
{
    return size == 1 ? get_reg8(cpu, in->reg8) : cpu->gpr[in->reg] & size_mask(size);
}

static ALWAYS_INLINE void op_reg_set(struct interp_cpu *cpu, const struct insn *in, unsigned size, uint64_t v)
{
    if (size == 1)
        set_reg8(cpu, in->reg8, v);
    else
        set_reg(cpu, in->reg, size, v);
}

/* RIP after instruction `in` of the running block (what RIP-relative
 * addresses, CALL and INT n see).  Kept off the per-instruction path: the
 * loop only records where the block started. */
static ALWAYS_INLINE uint64_t insn_next_rip(const struct interp_cpu *cpu, const struct insn *in)
{
    return (cpu->block_rip + in->end) & cpu->ip_mask;
}

/* A control transfer: execution goes on at rip, not after the instruction.
 * Only the last instruction of a block (or of a run) may call it. */
static ALWAYS_INLINE void set_next_rip(struct interp_cpu *cpu, uint64_t rip)
{
    cpu->next_rip = rip;
    cpu->rip_set = true;
}

/* The effective address (offset in the segment) of the memory operand. */
static ALWAYS_INLINE uint64_t insn_ea(struct interp_cpu *cpu, const struct insn *in)
{
    uint64_t ea = (uint64_t)(int64_t)in->disp;
    if (in->base != REG_NONE)
        ea += cpu->gpr[in->base];
    if (in->index != REG_NONE)
        ea += cpu->gpr[in->index] << in->scale;
    if (in->rip_rel)
        ea += insn_next_rip(cpu, in);
    return ea & insn_amask(in);
}

/* ---- exceptions (exceptions.c) ---- */

enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
    EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
    EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
};

static inline int raise_exc(struct interp_cpu *cpu, uint8_t vector, bool has_err, uint32_t err)
{
    cpu->exc.vector = vector;
    cpu->exc.has_err = has_err;
    cpu->exc.err = err;
    return X_FAULT;
}
static inline int raise_ud(struct interp_cpu *cpu) { return raise_exc(cpu, EXC_UD, false, 0); }
static inline int raise_gp(struct interp_cpu *cpu, uint32_t err) { return raise_exc(cpu, EXC_GP, true, err); }
static inline int raise_de(struct interp_cpu *cpu) { return raise_exc(cpu, EXC_DE, false, 0); }

enum event_kind { EV_EXCEPTION, EV_SOFT_INT, EV_EXT_INT };

/* Delivers an event through the IVT/IDT with return address ret_rip.
 * Returns X_DELIVERED, or X_TRIPLE when even #DF could not be delivered. */
int deliver_event(struct interp_cpu *cpu, uint8_t vector, enum event_kind kind,
                  bool has_err, uint32_t err, uint64_t ret_rip);
/* Delivers cpu->exc (a fault at the current RIP). */
int deliver_pending_exception(struct interp_cpu *cpu);

/* ---- flags (flags.c) ---- */

uint64_t flags_arith(const struct interp_cpu *cpu);   /* OSZAPC from the lazy state */
bool     flags_cf_slow(const struct interp_cpu *cpu);

/* CF, with the frequent cases inline (INC/DEC read it to preserve it). */
static ALWAYS_INLINE bool flags_cf(const struct interp_cpu *cpu)
{
    const struct lazy_flags *lf = &cpu->lf;
    switch (lf->op) {
    case LF_NONE:  return cpu->st->rflags & RFLAGS_CF;
    case LF_LOGIC: return false;
    case LF_INC: case LF_DEC: return lf->cin;
    case LF_SUB: {
        uint64_t m = lf->size == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (lf->size * 8)) - 1;
        return (lf->dst & m) < (lf->src & m);
    }
    case LF_ADD: {
        uint64_t m = lf->size == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (lf->size * 8)) - 1;
        return (lf->res & m) < (lf->dst & m);
    }
    default:       return flags_cf_slow(cpu);
    }
}

/* Full RFLAGS with the arithmetic bits computed. */
static inline uint64_t flags_get(struct interp_cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->st->rflags;
    return (cpu->st->rflags & ~(uint64_t)FLAGS_ARITH) | flags_arith(cpu);
}

/* Folds the lazy state into st->rflags (before eager flag updates). */
static inline void flags_materialize(struct interp_cpu *cpu)
{
    if (cpu->lf.op != LF_NONE) {
        cpu->st->rflags = flags_get(cpu);
        cpu->lf.op = LF_NONE;
    }
}

static inline void lazy_set(struct interp_cpu *cpu, enum lazy_op op, unsigned size,
                            uint64_t dst, uint64_t src, uint64_t res)
{
    cpu->lf.op = (uint8_t)op;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.dst = dst;
    cpu->lf.src = src;
    cpu->lf.res = res;
}

/* Sets the arithmetic flags eagerly (bits outside `which` unchanged). */
static inline void flags_set_arith(struct interp_cpu *cpu, uint64_t which, uint64_t value)
{
    flags_materialize(cpu);
    cpu->st->rflags = (cpu->st->rflags & ~which) | (value & which);
}

static inline uint64_t parity_flag(uint64_t res)
{
    return __builtin_parity((unsigned)(res & 0xff)) ? 0 : RFLAGS_PF;
}

/* Condition code 0-15 (the low nibble of Jcc/SETcc/CMOVcc). */
bool cond_eval(const struct interp_cpu *cpu, unsigned cc);

/* ---- memory (memory.c, mmu.c) ---- */

int  mem_access_slow(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf,
                     enum access_kind kind);
int  seg_fault(struct interp_cpu *cpu, unsigned seg);
/* Linear -> guest-physical with permission checks; raises #PF. */
int  mmu_translate(struct interp_cpu *cpu, uint64_t lin, enum access_kind kind, uint64_t *phys);
void tlb_flush(struct interp_cpu *cpu);
void tlb_flush_page(struct interp_cpu *cpu, uint64_t lin);
void tlb_flush_nonglobal(struct interp_cpu *cpu);
void tlb_select(struct interp_cpu *cpu);
void tlb_ac_drop(struct interp_cpu *cpu);

/* RFLAGS.AC may have just been cleared: drop what only it allowed. */
static inline void tlb_ac_check(struct interp_cpu *cpu)
{
    if (cpu->tlb_ac_n && !(cpu->st->rflags & RFLAGS_AC))
        tlb_ac_drop(cpu);
}
/* Host pointer of guest-physical RAM, NULL for MMIO/unbacked. */
static inline uint8_t *phys_host(const struct interp_cpu *cpu, uint64_t gpa)
{
    const struct guest_ram *ram = cpu->ram;
    if (gpa < ram->low_size)
        return ram->host + gpa;
    if (gpa >= GUEST_4G && gpa - GUEST_4G < ram->high_size)
        return ram->host + ram->low_size + (gpa - GUEST_4G);
    return NULL;
}

/* Offset -> linear with the segment checks (#GP/#SS(0) on failure). */
static ALWAYS_INLINE int seg_linear(struct interp_cpu *cpu, unsigned seg, uint64_t ea, unsigned size,
                             enum access_kind kind, uint64_t *lin)
{
    const struct seg_cache *s = &cpu->seg[seg];
    if (unlikely(ea < s->lo || ea + size - 1 > s->hi || !(kind == ACC_WRITE ? s->wr : s->rd))) {
        *lin = 0;
        seg_fault(cpu, seg);
        return X_FAULT;
    }
    *lin = (s->base + ea) & cpu->lin_mask;
    return X_NEXT;
}

static ALWAYS_INLINE uint64_t load_le(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static ALWAYS_INLINE void store_le(uint8_t *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1: *p = (uint8_t)v; break;
    case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

static ALWAYS_INLINE int lin_read(struct interp_cpu *cpu, uint64_t lin, unsigned size, uint64_t *val,
                           enum access_kind kind)
{
    struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    uint64_t tag = kind == ACC_RMW ? e->tag_write : e->tag_read;
    if (likely(tag == (lin & ~UINT64_C(0xfff)) && (lin & 0xfff) + size <= 4096)) {
        *val = load_le((const uint8_t *)(lin + e->addend), size);
        return X_NEXT;
    }
    uint64_t v = 0;
    int r = mem_access_slow(cpu, lin, size, &v, kind);
    *val = v;
    return r;
}

static ALWAYS_INLINE int lin_write(struct interp_cpu *cpu, uint64_t lin, unsigned size, uint64_t val)
{
    struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag_write == (lin & ~UINT64_C(0xfff)) && (lin & 0xfff) + size <= 4096)) {
        store_le((uint8_t *)(lin + e->addend), size, val);
        return X_NEXT;
    }
    return mem_access_slow(cpu, lin, size, &val, ACC_WRITE);
}

/* Reads size bytes at seg:ea.  write_intent: the operand is read-modify-write
 * (permission and fault error code are those of the write). */
static ALWAYS_INLINE int mem_read(struct interp_cpu *cpu, unsigned seg, uint64_t ea, unsigned size,
                           uint64_t *val)
{
    uint64_t lin;
    if (unlikely(seg_linear(cpu, seg, ea, size, ACC_READ, &lin)))
        return X_FAULT;
    return lin_read(cpu, lin, size, val, ACC_READ);
}

static ALWAYS_INLINE int mem_read_rmw(struct interp_cpu *cpu, unsigned seg, uint64_t ea, unsigned size,
                               uint64_t *val)
{
    uint64_t lin;
    if (unlikely(seg_linear(cpu, seg, ea, size, ACC_WRITE, &lin)))
        return X_FAULT;
    return lin_read(cpu, lin, size, val, ACC_RMW);
}

static ALWAYS_INLINE int mem_write(struct interp_cpu *cpu, unsigned seg, uint64_t ea, unsigned size,
                            uint64_t val)
{
    uint64_t lin;
    if (unlikely(seg_linear(cpu, seg, ea, size, ACC_WRITE, &lin)))
        return X_FAULT;
    return lin_write(cpu, lin, size, val);
}

/* The r/m operand: register or memory (rmw: it will be written back). */
static ALWAYS_INLINE int op_rm_get(struct interp_cpu *cpu, const struct insn *in, unsigned size,
                            uint64_t *val, bool rmw)
{
    if (in->mod3) {
        *val = size == 1 ? get_reg8(cpu, in->rm8) : cpu->gpr[in->rm] & size_mask(size);
        return X_NEXT;
    }
    uint64_t ea = insn_ea(cpu, in);
    return rmw ? mem_read_rmw(cpu, in->seg, ea, size, val) : mem_read(cpu, in->seg, ea, size, val);
}

static ALWAYS_INLINE int op_rm_set(struct interp_cpu *cpu, const struct insn *in, unsigned size, uint64_t v)
{
    if (in->mod3) {
        if (size == 1)
            set_reg8(cpu, in->rm8, v);
        else
            set_reg(cpu, in->rm, size, v);
        return X_NEXT;
    }
    return mem_write(cpu, in->seg, insn_ea(cpu, in), size, v);
}

/* ---- locked read-modify-write (atomic_ops.c) ---- */

/* What a locked RMW writes, as a pure function of the old value (it may be
 * recomputed when a compare-and-swap loses a race). */
enum rmw_kind { RMW_ADD, RMW_OR, RMW_ADC, RMW_SBB, RMW_AND, RMW_SUB, RMW_XOR,
                RMW_XCHG = 8, RMW_NOT, RMW_NEG, RMW_CMPXCHG };
struct rmw_op {
    uint8_t  kind;     /* enum rmw_kind (0-6 are the ALU ops in opcode order) */
    uint8_t  size;     /* 1, 2, 4, 8 */
    uint8_t  cin;      /* carry in (ADC/SBB) */
    uint64_t src;      /* operand (the new value for XCHG/CMPXCHG) */
    uint64_t cmp;      /* CMPXCHG's expected value */
};
/* Performs op atomically on seg:ea (host atomics on RAM, a global lock for
 * split or MMIO operands); *old receives the value the write replaced. */
int rmw_locked(struct interp_cpu *cpu, unsigned seg, uint64_t ea, const struct rmw_op *op, uint64_t *old);
/* Host pointer for a locked write of size bytes at lin when it lies in one
 * RAM page (write noted for dirty/SMC tracking); NULL otherwise.  On a fault
 * returns NULL with *r = X_FAULT. */
uint8_t *mem_rmw_host(struct interp_cpu *cpu, uint64_t lin, unsigned size, int *r);

/* ---- stack (stack.c) ---- */

unsigned stack_addr_size(const struct interp_cpu *cpu);   /* 2, 4 or 8 */
int stack_push(struct interp_cpu *cpu, unsigned size, uint64_t v);
/* Reads the value at the top of the stack without moving RSP. */
int stack_peek(struct interp_cpu *cpu, unsigned size, unsigned offset, uint64_t *v);
void stack_adjust(struct interp_cpu *cpu, int64_t delta);
int stack_pop(struct interp_cpu *cpu, unsigned size, uint64_t *v);

/* ---- mode and segments (mode.c, segment.c) ---- */

/* Recomputes mode, CPL, paging mode and the segment caches from *st. */
void mode_refresh(struct interp_cpu *cpu);
void seg_cache_refresh(struct interp_cpu *cpu, unsigned seg);
/* MOV/POP to a segment register with the mode's checks. */
int seg_load(struct interp_cpu *cpu, unsigned seg, uint16_t selector);
/* Reads an 8-byte descriptor of the GDT/LDT. */
int desc_read(struct interp_cpu *cpu, uint16_t selector, uint64_t *desc, uint8_t exc_vector);
/* Loads CS for a far transfer (same privilege only); updates the mode. */
int load_cs_far(struct interp_cpu *cpu, uint16_t selector, uint64_t rip);

/* ---- flag writes from POPF/IRET (system.c) ---- */
void flags_write(struct interp_cpu *cpu, uint64_t value, uint64_t writable);

/* ---- PETREL_GUEST_PROFILE (guest_profile.c) ---- */
void guest_profile_enter(struct interp_cpu *cpu);
void guest_profile_leave(void);

/* ---- code cache (block_cache.c) ---- */

/* Block at the current RIP (decoding it if needed), or NULL with cpu->exc set. */
struct block *block_fetch(struct interp_cpu *cpu);
/* Records that b runs at linear address lin after prev (prev may be NULL). */
void block_link(struct interp_cpu *cpu, struct block *prev, struct block *b, uint64_t lin);

/* Drops every block link (see chain_gen), the other privilege's too. */
static inline void chain_invalidate(struct interp_cpu *cpu)
{
    cpu->chain_gen = ++cpu->chain_seq;
    cpu->chain_gen_other = ++cpu->chain_seq;
}

/* The successor of prev that runs at linear address lin, if linked and
 * still valid: what block_fetch would return there, without its lookups. */
static ALWAYS_INLINE struct block *block_chained(const struct interp_cpu *cpu, const struct block *prev,
                                                 uint64_t lin)
{
    for (unsigned k = 0; k < 2; k++) {
        const struct block_link *l = &prev->link[k];
        if (l->lin == lin && l->gen == cpu->chain_gen)
            return l->to;
    }
    return NULL;
}

/* ---- task switches (task_switch.c) ---- */
enum task_reason { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
int task_switch(struct interp_cpu *cpu, uint16_t sel, uint64_t desc, enum task_reason why, uint64_t ret_eip,
                bool has_err, uint32_t err);
int far_to_task(struct interp_cpu *cpu, uint16_t sel, uint64_t desc, bool call, uint64_t ret_eip);

/* ---- debug exceptions (debug_trap.c) ---- */
static inline bool debug_active(const struct interp_cpu *cpu)
{
    return (cpu->st->rflags & RFLAGS_TF) || (cpu->st->dr7 & 0xff);
}
bool debug_page_watched(const struct interp_cpu *cpu, uint64_t lin);
void debug_note_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, bool write);
void debug_note_io(struct interp_cpu *cpu, uint16_t port, unsigned size);

/* ---- virtual interrupt flags, CR4.VME/PVI (vme.c) ---- */

bool vme_active(const struct interp_cpu *cpu);
int vme_cli_sti(struct interp_cpu *cpu, bool set);
uint16_t vme_flags_image(struct interp_cpu *cpu);
int vme_flags_write(struct interp_cpu *cpu, uint64_t fl);
int vme_int(struct interp_cpu *cpu, uint8_t vec, uint64_t ret_ip);
int  debug_insn_breakpoint(struct interp_cpu *cpu);
void debug_step_begin(struct interp_cpu *cpu);
int  debug_step_end(struct interp_cpu *cpu, int r, bool tf, unsigned done);
void code_page_written(struct interp_cpu *cpu, uint64_t ram_page);

/* The shared code marks (one vCPU may write code another executes). */
struct code_track {
    uint8_t  *mark;
    uint32_t *gen;
    uint64_t  pages;          /* entries of mark and gen */
    uint32_t  refs;           /* interp_cpus using it (atomic) */
    uint32_t  mark_seq;       /* bumped when a page becomes code (atomic) */
    uint32_t  write_seq;      /* bumped by every write to code (atomic) */
};

static inline uint8_t code_mark_get(const struct interp_cpu *cpu, uint64_t page)
{
    return __atomic_load_n(&cpu->code_mark[page], __ATOMIC_RELAXED);
}

static inline uint32_t code_gen_get(const struct interp_cpu *cpu, uint64_t page)
{
    return __atomic_load_n(&cpu->code_gen[page], __ATOMIC_RELAXED);
}

/* Another vCPU marked a page as code since we last looked: our TLB may
 * still let fast-path writes into it (block_cache.c). */
void code_marks_resync(struct interp_cpu *cpu);

/* ---- opcode tables (decode_tables.c) ---- */

#define F_MODRM   0x0001u
#define F_BYTE    0x0002u   /* operand size 1 */
#define F_IMM8    0x0004u
#define F_IMMZ    0x0008u   /* imm16/imm32 (sign-extended for 64-bit operands) */
#define F_IMMV    0x0010u   /* imm16/32/64 (MOV r, imm) */
#define F_IMM16   0x0020u
#define F_DEF64   0x0040u   /* 64-bit default operand size in 64-bit mode */
#define F_INV64   0x0080u   /* #UD in 64-bit mode */
#define F_GROUP   0x0100u   /* handler chosen by ModRM.reg */
#define F_LOCK    0x0200u   /* LOCK allowed (with a memory destination) */
#define F_REGOP   0x0400u   /* register in opcode bits 0-2 */
#define F_MOFFS   0x0800u   /* address-sized offset (A0-A3) */
#define F_FAR     0x1000u   /* ptr16:16/32 */
#define F_ENTER   0x2000u   /* imm16 + imm8 */
#define F_FORCE64 0x4000u   /* always 64-bit operands in 64-bit mode (near branches) */
#define F_MEMONLY 0x8000u   /* ModRM must name memory */
#define F_SX      0x10000u  /* sign-extend the imm8 */
#define F_END     0x20000u  /* ends a decoded block (control flow, mode change) */
#define F_MODREG  0x40000u  /* ModRM.mod ignored: r/m always a register (MOV CR/DR) */

struct opinfo {
    insn_fn  fn;        /* or NULL: #UD */
    uint32_t flags;
    uint8_t  group;     /* index into group_table when F_GROUP */
};

extern const struct opinfo opmap_one[256];
extern const struct opinfo opmap_0f[256];
extern const insn_fn group_table[][8];
extern const uint8_t group_lock[];   /* per group: ModRM.reg values that accept LOCK */
extern const uint8_t group_end[];    /* per group: ModRM.reg values that end a block */
extern const uint8_t group_memonly[];  /* per group: ModRM.reg values that need a memory operand */

/* Swaps in a specialised handler for common operand shapes (fastpath.c). */
void insn_specialize(struct insn *in);
bool insn_specialize_cond(struct insn *in);     /* fastpath_cond.c */
bool insn_specialize_stack(struct insn *in);    /* fastpath_stack.c */
insn_fn mem_move_handler(const struct insn *in, bool store);  /* fastpath_mem.c */
void    block_prune_flags(struct insn *insns, unsigned n);         /* fastpath.c */
insn_fn insn_flags_exact(insn_fn fn);

/* Handler used for every undefined or unimplemented encoding. */
int op_ud(struct interp_cpu *cpu, const struct insn *in);

#endif /* PETREL_CPU_INTERP_INTERNAL_H */
