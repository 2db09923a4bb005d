/*
 * The decoded-block cache: code is decoded once into blocks of up to
 * BLOCK_MAX_INSNS instructions (ending at a control transfer, a page end or
 * the CS limit), keyed by guest-physical address and code size.  Each RAM
 * page holding decoded code is marked; the first write to a marked page
 * bumps the page's generation, which invalidates every block decoded from
 * it (self-modifying code) without searching for them.
 *
 * In front of it, a jump cache maps the linear address of a block to the
 * block, skipping the code-fetch translation; it is flushed with the TLB
 * (CR3 writes keep the entries that map through global pages).
 *
 * Blocks live in a per-vCPU arena, header and instructions together, filled
 * in order; a hash table chains them by (phys, code size).  When the arena
 * is full it is emptied at once (a stale block is never reused in place,
 * so a pointer to a block stays good until the next emptying).  The arena
 * is small on purpose: a guest's hot code fits, and what the executor
 * touches per block stays in few cache lines.
 *
 * Blocks are also chained: each remembers up to two successors by linear
 * address (block_link), so the executor goes from block to block without
 * either lookup.  A link is a cache of what block_fetch would return at
 * that address; it is valid while cpu->chain_gen is unchanged (bumped by
 * code writes, TLB flushes and INVLPG, CR3 writes, mode and CS changes,
 * emptying the arena).  Everything here is
 * per vCPU and touched only by the thread running it: no locks.
 */
#include <sys/mman.h>

#include "interp_internal.h"
#include "jit.h"

int op_too_long(struct interp_cpu *cpu, const struct insn *in);

static inline unsigned block_hash(uint64_t phys, enum code_mode mode)
{
    uint64_t h = (phys ^ (phys >> 13) ^ ((uint64_t)mode << 7)) * UINT64_C(0x9e3779b97f4a7c15);
    return (unsigned)(h >> 40) & (BLOCK_HASH_SIZE - 1);
}

/* Empties the arena: every block, link, jump-cache and return-stack entry goes. */
static void arena_flush(struct interp_cpu *cpu)
{
    cpu->arena_used = 0;
    cpu->arena_flushes++;
    memset(cpu->htab, 0, sizeof(cpu->htab));
    memset(cpu->jcache, 0, sizeof(cpu->jcache));
    memset(cpu->ret_stack, 0, sizeof(cpu->ret_stack));
    chain_invalidate(cpu);
    jit_reset(cpu);
}

void code_page_written(struct interp_cpu *cpu, uint64_t page)
{
    __atomic_fetch_add(&cpu->code_gen[page], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&cpu->track->write_seq, 1, __ATOMIC_RELEASE);   /* other vCPUs drop their links */
    __atomic_store_n(&cpu->code_mark[page], 0, __ATOMIC_RELAXED);
    cpu->smc = true;
    cpu->run_end = NULL;                     /* run_block stops after the writing instruction */
    chain_invalidate(cpu);
}

/* Marks a RAM page as holding code and drops fast write paths to it. */
static void mark_code_page(struct interp_cpu *cpu, uint64_t page, uint64_t phys_page)
{
    if (code_mark_get(cpu, page))
        return;
    __atomic_store_n(&cpu->code_mark[page], 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&cpu->track->refs, __ATOMIC_RELAXED) > 1)   /* other vCPUs drop their fast writes */
        cpu->mark_seq_seen = __atomic_add_fetch(&cpu->track->mark_seq, 1, __ATOMIC_SEQ_CST);
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            if (cpu->tlb_set[s][i].phys == phys_page)
                cpu->tlb_set[s][i].tag_write = TLB_INVALID;
}

/* Linear address of an instruction byte -> guest-physical (#PF/#GP recorded). */
static int fetch_translate(struct interp_cpu *cpu, uint64_t lin, uint64_t *phys)
{
    struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if (e->tag_exec == (lin & ~UINT64_C(0xfff))) {
        *phys = e->phys | (lin & 0xfff);
        return X_NEXT;
    }
    if (cpu->long64 && (uint64_t)((int64_t)(lin << 16) >> 16) != lin)
        return raise_gp(cpu, 0);
    int r = mmu_translate(cpu, lin, ACC_EXEC, phys);
    if (r)
        return r;
    uint8_t *h = phys_host(cpu, *phys);
    if (h) {
        uint64_t tag = lin & ~UINT64_C(0xfff);
        if (e->tag_read != tag)
            e->tag_read = TLB_INVALID;
        if (e->tag_write != tag)
            e->tag_write = TLB_INVALID;
        e->tag_exec = tag;
        e->addend = (intptr_t)(h - (*phys & 0xfff)) - (intptr_t)(lin & ~UINT64_C(0xfff));
        e->phys = *phys & ~UINT64_C(0xfff);
        e->global = cpu->tlb_global;
    }
    return X_NEXT;
}

/* Copies up to n code bytes at guest-physical phys (MMIO byte by byte). */
static void fetch_bytes(struct interp_cpu *cpu, uint64_t phys, uint8_t *buf, unsigned n)
{
    uint8_t *h = phys_host(cpu, phys);
    if (h) {
        memcpy(buf, h, n);
        return;
    }
    for (unsigned i = 0; i < n; i++)
        buf[i] = cpu->io.mmio_read ? (uint8_t)cpu->io.mmio_read(cpu->io.opaque, phys + i, 1) : 0xff;
}

static uint32_t page_of(const struct interp_cpu *cpu, uint64_t phys)
{
    uint8_t *h = phys_host(cpu, phys);
    return h ? (uint32_t)((uint64_t)(h - cpu->ram->host) >> 12) : PAGE_NONE;
}

/* Decodes an instruction that runs into the next page. */
static int decode_crossing(struct interp_cpu *cpu, uint64_t lin, uint64_t phys, unsigned avail,
                           struct insn *in, struct block *b)
{
    uint8_t buf[16];
    uint64_t phys2;
    fetch_bytes(cpu, phys, buf, avail);
    int r = fetch_translate(cpu, (lin + avail) & cpu->lin_mask, &phys2);
    if (r)
        return r;
    fetch_bytes(cpu, phys2, buf + avail, 15 - avail);
    b->page2 = page_of(cpu, phys2);
    if (b->page2 != PAGE_NONE) {
        mark_code_page(cpu, b->page2, phys2 & ~UINT64_C(0xfff));
        b->gen2 = code_gen_get(cpu, b->page2);
    }
    r = decode_insn(cpu->mode, buf, 15, in);
    if (r == DEC_TOO_LONG || r == DEC_MORE)
        in->fn = op_too_long;
    in->ends = 1;
    return X_NEXT;
}

static int decode_block(struct interp_cpu *cpu, struct block *b, uint64_t phys)
{
    const struct seg_reg *cs = &cpu->st->seg[SEG_CS];
    uint64_t rip = cpu->st->rip;
    unsigned off = 0, n = 0;
    b->phys = phys;
    b->mode = (uint8_t)cpu->mode;
    b->epoch = cpu->code_epoch;
    b->page = page_of(cpu, phys);
    b->page2 = PAGE_NONE;
    const uint8_t *host = NULL;
    if (b->page != PAGE_NONE) {
        mark_code_page(cpu, b->page, phys & ~UINT64_C(0xfff));
        b->gen = code_gen_get(cpu, b->page);     /* before reading the bytes: a racing write bumps it */
        host = phys_host(cpu, phys);
    }
    while (n < BLOCK_MAX_INSNS) {
        uint64_t cur = (rip + off) & cpu->ip_mask;
        unsigned avail = (unsigned)(4096 - ((phys + off) & 0xfff));
        struct insn *in = &b->insn[n];
        if (off && avail == 4096)
            break;                                           /* the next page starts a new block */
        if (!cpu->long64 && cur > cs->limit) {
            if (n == 0)
                return raise_gp(cpu, 0);
            break;
        }
        uint8_t buf[16];
        unsigned take = avail < 15 ? avail : 15;
        const uint8_t *bytes = buf;
        if (host)
            bytes = host + off;                      /* RAM: decode in place, no copy */
        else
            fetch_bytes(cpu, phys + off, buf, take);
        int r = decode_insn(cpu->mode, bytes, take, in);
        if (r == DEC_MORE) {
            if (n)
                break;
            if ((r = decode_crossing(cpu, (cpu->seg[SEG_CS].base + cur) & cpu->lin_mask, phys + off, avail, in, b)))
                return r;
        } else if (r == DEC_TOO_LONG) {
            in->fn = op_too_long;
            in->ends = 1;
            in->len = 15;
        }
        if (!cpu->long64 && cur + in->len - 1 > cs->limit) {
            in->fn = op_too_long;                              /* runs past the CS limit: #GP(0) */
            in->ends = 1;
        }
        off += in->len;
        in->end = (uint16_t)off;
        n++;
        if (in->ends)
            break;
    }
    block_prune_flags(b->insn, n);
    b->n = (uint16_t)n;
    b->exit = EXIT_OTHER;
    if (n) {
        const struct insn *last = &b->insn[n - 1];
        if (last->opc == 0xe8 || (last->opc == 0xff && last->ext == 2))
            b->exit = EXIT_CALL;
        else if (last->opc == 0xc3 || last->opc == 0xc2)
            b->exit = EXIT_RET;
    }
    b->bytes = (uint16_t)off;
    return X_NEXT;
}

static inline unsigned jcache_hash(uint64_t lin)
{
    return (unsigned)(lin ^ (lin >> 10)) & (JCACHE_SIZE - 1);
}

static inline bool block_valid(const struct interp_cpu *cpu, const struct block *b, uint64_t rip)
{
    return b->mode == cpu->mode && b->epoch == cpu->code_epoch && b->gen == code_gen_get(cpu, b->page) &&
           (b->page2 == PAGE_NONE || b->gen2 == code_gen_get(cpu, b->page2)) && code_mark_get(cpu, b->page) &&
           (cpu->long64 || rip + b->bytes - 1 <= cpu->st->seg[SEG_CS].limit);
}

/* A block that runs into a second page depends on that page's translation
 * too: only single-page blocks count as global. */
static void jcache_put(struct interp_cpu *cpu, struct block **jc, struct block *b, uint64_t lin)
{
    const struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    b->lin = lin;
    b->lin_global = e->global && e->tag_exec == (lin & ~UINT64_C(0xfff)) && (lin & 0xfff) + b->bytes <= 4096;
    b->lin_user = cpu->cpl == 3;
    b->lin_gen = cpu->jc_gen;
    *jc = b;
}

/* Another vCPU made pages code: drop every fast write.  A page this vCPU
 * could write fast may have been written after the other vCPU read its
 * bytes, so each such page that is now code counts as written (the other
 * vCPU decodes it again); otherwise that store would never reach it. */
void code_marks_resync(struct interp_cpu *cpu)
{
    cpu->mark_seq_seen = __atomic_load_n(&cpu->track->mark_seq, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < 2 * TLB_SIZE; i++) {
        struct tlb_entry *e = &cpu->tlb_set[i / TLB_SIZE][i % TLB_SIZE];
        if (e->tag_write == TLB_INVALID)
            continue;
        uint32_t page = page_of(cpu, e->phys);
        if (page != PAGE_NONE && code_mark_get(cpu, page))
            code_page_written(cpu, page);
        e->tag_write = TLB_INVALID;
    }
}

/* The cached block for (phys, mode) that is still valid, unlinking stale
 * ones met on the way (their space comes back when the arena empties). */
static struct block *htab_find(struct interp_cpu *cpu, uint64_t phys, uint64_t rip)
{
    struct block **pp = &cpu->htab[block_hash(phys, cpu->mode)];
    for (struct block *b = *pp; b; b = *pp) {
        if (b->phys == phys && b->mode == cpu->mode) {
            if (block_valid(cpu, b, rip))
                return b;
            *pp = b->next;
            continue;
        }
        pp = &b->next;
    }
    return NULL;
}

/* Decodes the block at phys into the arena's free space and files it. */
static struct block *decode_into_arena(struct interp_cpu *cpu, uint64_t phys)
{
    if (cpu->arena_used + BLOCK_BYTES(BLOCK_MAX_INSNS) > BLOCK_ARENA_SIZE)
        arena_flush(cpu);
    struct block *b = (struct block *)(cpu->arena + cpu->arena_used);
    memset(b->link, 0, sizeof(b->link));
    b->hits = 0;
    b->code = NULL;
    b->chain = NULL;
    if (decode_block(cpu, b, phys))
        return NULL;                              /* nothing committed */
    cpu->arena_used += BLOCK_BYTES(b->n);
    if (cpu->arena_used > cpu->arena_touched)
        cpu->arena_touched = cpu->arena_used;
    struct block **head = &cpu->htab[block_hash(phys, cpu->mode)];
    b->next = *head;
    *head = b;
    return b;
}

/* Emptying a full arena keeps its pages resident (refilling them costs no
 * page faults while the guest is busy): an idle vCPU gives back those above
 * the blocks in use, or all of them after dropping every block; compiled
 * code goes at every such release (jit_forget). */
void interp_release_idle_memory(struct interp_cpu *cpu, bool drop_code)
{
    if (drop_code && cpu->arena_used > 0)
        arena_flush(cpu);
    else
        jit_forget(cpu);                          /* recompiling what stays hot is cheap */
    size_t keep = (cpu->arena_used + 4095) & ~(size_t)4095;
    if (cpu->arena_touched > keep && madvise(cpu->arena + keep, cpu->arena_touched - keep, MADV_DONTNEED) == 0)
        cpu->arena_touched = keep;
    jit_release_idle(cpu);
}

struct block *block_fetch(struct interp_cpu *cpu)
{
    if (unlikely(__atomic_load_n(&cpu->track->mark_seq, __ATOMIC_RELAXED) != cpu->mark_seq_seen))
        code_marks_resync(cpu);
    uint64_t rip = cpu->st->rip, phys;
    uint64_t lin = (cpu->seg[SEG_CS].base + rip) & cpu->lin_mask;
    struct block **jc = &cpu->jcache[jcache_hash(lin)];
    if (likely(*jc && (*jc)->lin == lin &&
               (((*jc)->lin_global && (*jc)->lin_user == (cpu->cpl == 3)) || (*jc)->lin_gen == cpu->jc_gen) &&
               block_valid(cpu, *jc, rip)))
        return *jc;
    if (!cpu->long64 && rip > cpu->st->seg[SEG_CS].limit) {
        raise_gp(cpu, 0);
        return NULL;
    }
    if (fetch_translate(cpu, lin, &phys))
        return NULL;
    if (page_of(cpu, phys) == PAGE_NONE) {        /* code outside RAM: decoded each time */
        struct block *b = cpu->scratch;
        memset(b->link, 0, sizeof(b->link));
        b->hits = 0;
        b->code = NULL;                           /* never compiled: hits stays 0 (jit.h) */
        b->chain = NULL;
        if (decode_block(cpu, b, phys)) {
            b->mode = 0xff;
            return NULL;
        }
        b->lin = lin;
        return b;
    }
    struct block *b = htab_find(cpu, phys, rip);
    if (!b && !(b = decode_into_arena(cpu, phys)))
        return NULL;
    jc = &cpu->jcache[jcache_hash(lin)];          /* (an arena flush cleared it) */
    jcache_put(cpu, jc, b, lin);
    return b;
}

void block_link(struct interp_cpu *cpu, struct block *prev, struct block *b, uint64_t lin)
{
    if (!prev || prev == cpu->scratch || b == cpu->scratch)
        return;
    struct block_link *l = &prev->link[lin == prev->lin + prev->bytes ? 0 : 1];
    l->to = b;
    l->lin = lin;
    l->gen = cpu->chain_gen;
}
