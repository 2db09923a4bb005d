/*
 * Paging: 32-bit (with PSE), PAE and 4-level page walks with permission
 * checks, A/D bit updates and #PF (CR2 + error code); and the software TLB
 * that caches linear -> host translations for the access fast paths.
 */
#include "interp_internal.h"

#define PTE_P   (1u << 0)
#define PTE_RW  (1u << 1)
#define PTE_US  (1u << 2)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PTE_PS  (1u << 7)
#define PTE_G   (1u << 8)
#define PTE_NX  (UINT64_C(1) << 63)
#define ADDR_MASK_64 UINT64_C(0x000ffffffffff000)

#define PF_P    1u
#define PF_W    2u
#define PF_U    4u
#define PF_RSVD 8u
#define PF_I    16u

static void tlb_entry_clear(struct tlb_entry *e)
{
    e->tag_read = e->tag_write = e->tag_exec = TLB_INVALID;
}

/* New jump-cache generations for both privileges: non-global entries go. */
static void jc_renew(struct interp_cpu *cpu)
{
    cpu->jc_gen = ++cpu->jc_seq;
    cpu->jc_gen_other = ++cpu->jc_seq;
}

void tlb_flush(struct interp_cpu *cpu)
{
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            tlb_entry_clear(&cpu->tlb_set[s][i]);
    cpu->tlb_ac_n = 0;
    memset(cpu->jcache, 0, sizeof(cpu->jcache));     /* it caches linear -> code translations too */
    cpu->tlb_large_shift = 0;
    jc_renew(cpu);
    chain_invalidate(cpu);
}

/* MOV CR3: global pages stay (kernel code keeps its translations and its
 * jump-cache entries across context switches). */
void tlb_flush_nonglobal(struct interp_cpu *cpu)
{
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            if (!cpu->tlb_set[s][i].global)
                tlb_entry_clear(&cpu->tlb_set[s][i]);
    jc_renew(cpu);
    chain_invalidate(cpu);                           /* links do not track global pages */
}

/* INVLPG: the TLB caches 4 KiB pieces, so while large pages are cached every
 * entry inside the largest page size around lin goes (a superset is allowed). */
void tlb_flush_page(struct interp_cpu *cpu, uint64_t lin)
{
    unsigned shift = cpu->tlb_large_shift > 12 ? cpu->tlb_large_shift : 12;
    lin &= cpu->lin_mask;
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            struct tlb_entry *e = &cpu->tlb_set[s][i];
            if (((e->tag_read ^ lin) >> shift) == 0 || ((e->tag_write ^ lin) >> shift) == 0 ||
                ((e->tag_exec ^ lin) >> shift) == 0)
                tlb_entry_clear(e);
        }
    memset(cpu->jcache, 0, sizeof(cpu->jcache));
    chain_invalidate(cpu);
}

/* The supervisor entries filled while RFLAGS.AC opened user pages to SMAP
 * (all of them if more were filled than listed). */
void tlb_ac_drop(struct interp_cpu *cpu)
{
    struct tlb_entry *set = cpu->tlb_set[TLB_SV];
    if (cpu->tlb_ac_n > TLB_AC_SLOTS) {
        for (unsigned i = 0; i < TLB_SIZE; i++)
            tlb_entry_clear(&set[i]);
    } else {
        for (unsigned k = 0; k < cpu->tlb_ac_n; k++)
            tlb_entry_clear(&set[cpu->tlb_ac_slot[k]]);
    }
    cpu->tlb_ac_n = 0;
}

/* The TLB, jump-cache generation and link generation of the current CPL.
 * What one privilege cached is never used by the other: user code cannot
 * reach supervisor pages through a kernel entry, and SMAP/SMEP keep
 * applying to the kernel.  Swapping instead of flushing keeps the kernel's
 * translations across a trip to user mode and back. */
void tlb_select(struct interp_cpu *cpu)
{
    struct tlb_entry *want = cpu->tlb_set[cpu->cpl == 3 ? TLB_USER : TLB_SV];
    if (cpu->tlb == want)
        return;
    if (cpu->tlb_ac_n)
        tlb_ac_drop(cpu);
    cpu->tlb = want;
    uint64_t jc = cpu->jc_gen;
    cpu->jc_gen = cpu->jc_gen_other;
    cpu->jc_gen_other = jc;
    uint64_t chain = cpu->chain_gen;
    cpu->chain_gen = cpu->chain_gen_other;
    cpu->chain_gen_other = chain;
}

/* Page-table entries are read and their A/D bits set atomically, as the CPU
 * does: other vCPUs walk and update the same tables concurrently.  Entries
 * are naturally aligned (4 or 8 bytes). */
static uint64_t pt_read(const struct interp_cpu *cpu, uint64_t gpa, unsigned size)
{
    uint8_t *h = phys_host(cpu, gpa);
    if (!h)
        return 0;                          /* page tables outside RAM read as not present */
    if (size == 8)
        return __atomic_load_n((uint64_t *)(void *)h, __ATOMIC_RELAXED);
    return __atomic_load_n((uint32_t *)(void *)h, __ATOMIC_RELAXED);
}

static void pt_set_bits(struct interp_cpu *cpu, uint64_t gpa, uint64_t entry, uint64_t bits, unsigned size)
{
    uint8_t *h = phys_host(cpu, gpa);
    if (!h || (entry & bits) == bits)
        return;
    if (size == 8)
        __atomic_fetch_or((uint64_t *)(void *)h, bits, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint32_t *)(void *)h, (uint32_t)bits, __ATOMIC_RELAXED);
    if (cpu->ram->dirty_bitmap) {      /* a live save must resend the page table */
        uint64_t page = (uint64_t)(h - cpu->ram->host) >> 12;
        __atomic_fetch_or(&cpu->ram->dirty_bitmap[page >> 3], (uint8_t)(1u << (page & 7)), __ATOMIC_RELAXED);
    }
}

static int page_fault(struct interp_cpu *cpu, uint64_t lin, uint32_t err)
{
    cpu->st->cr2 = lin;
    return raise_exc(cpu, EXC_PF, true, err);
}

struct walk_shape {
    unsigned levels, esize, idx_bits;
    unsigned shift[4];
    uint64_t root;
};

static void walk_shape(const struct interp_cpu *cpu, uint64_t lin, struct walk_shape *w)
{
    const struct cpu_state *st = cpu->st;
    if (cpu->paging == PG_LONG) {
        *w = (struct walk_shape){ 4, 8, 9, { 39, 30, 21, 12 }, st->cr3 & ADDR_MASK_64 };
    } else if (cpu->paging == PG_PAE) {
        uint64_t pdpte = pt_read(cpu, (st->cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8, 8);
        *w = (struct walk_shape){ 2, 8, 9, { 21, 12 }, pdpte };
    } else {
        *w = (struct walk_shape){ 2, 4, 10, { 22, 12 }, st->cr3 & 0xfffff000u };
    }
}

/* Reserved bits of a present entry at a level (#PF with RSVD).  The
 * interpreter reports MAXPHYADDR 40 (CPUID 0x80000008). */
static bool entry_reserved(const struct interp_cpu *cpu, uint64_t entry, unsigned level, bool large,
                           unsigned shift, bool nxe)
{
    if (cpu->paging == PG_32)
        return large && (entry & (UINT64_C(1) << 21));     /* PSE-36: bits 20:13 hold PA 39:32 */
    uint64_t rsvd = UINT64_C(0x000ff00000000000);          /* PA bits 51:40 */
    if (!nxe)
        rsvd |= PTE_NX;
    if (cpu->paging == PG_LONG && level == 0)
        rsvd |= PTE_PS;                                    /* PML4E.PS */
    if (large)
        rsvd |= ((UINT64_C(1) << shift) - 1) & ~UINT64_C(0x1fff);   /* below the frame, above PAT */
    return entry & rsvd;
}

/* PAE PDPTEs have their own reserved bits (1-2, 5-8, 40-63). */
static bool pdpte_reserved(uint64_t pdpte)
{
    return pdpte & UINT64_C(0xffffff00000001e6);
}

/* SMEP/SMAP: supervisor accesses (CPL < 3, and the implicit ones to system
 * tables at any CPL) to user pages.  Returns true when the access faults.
 * A translation allowed only by RFLAGS.AC is cached like any other:
 * memory.c lists its slot, and tlb_ac_check drops it when AC goes. */
static bool smep_smap_fault(struct interp_cpu *cpu, bool exec)
{
    const struct cpu_state *st = cpu->st;
    if (exec)
        return st->cr4 & CR4_SMEP;
    if (!(st->cr4 & CR4_SMAP))
        return false;
    return cpu->implicit_sv || !(st->rflags & RFLAGS_AC);
}

int mmu_translate(struct interp_cpu *cpu, uint64_t lin, enum access_kind kind, uint64_t *phys)
{
    const struct cpu_state *st = cpu->st;
    cpu->tlb_global = false;
    if (cpu->paging == PG_NONE) {
        *phys = lin & cpu->lin_mask;
        return X_NEXT;
    }
    bool write = kind == ACC_WRITE || kind == ACC_RMW, user = cpu->cpl == 3, exec = kind == ACC_EXEC;
    bool nxe = (st->efer & EFER_NXE) && cpu->paging != PG_32;
    bool ibit = exec && (nxe || (st->cr4 & CR4_SMEP));
    uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0) | (ibit ? PF_I : 0);
    struct walk_shape w;
    walk_shape(cpu, lin, &w);

    uint64_t table, entry = 0, eaddr = 0;
    unsigned rw = 1, us = 1, nx = 0, level, page_shift = 12;
    if (cpu->paging == PG_PAE) {
        if (!(w.root & PTE_P))
            return page_fault(cpu, lin, err);
        if (pdpte_reserved(w.root))
            return page_fault(cpu, lin, err | PF_P | PF_RSVD);
        table = w.root & ADDR_MASK_64;
    } else {
        table = w.root;
    }
    for (level = 0; level < w.levels; level++) {
        unsigned shift = w.shift[level];
        eaddr = table + ((lin >> shift) & ((1u << w.idx_bits) - 1)) * w.esize;
        entry = pt_read(cpu, eaddr, w.esize);
        if (!(entry & PTE_P))
            return page_fault(cpu, lin, err);
        bool leaf = level == w.levels - 1;
        bool large = (entry & PTE_PS) && !leaf && shift <= 30 &&
                     (w.esize == 8 || (st->cr4 & CR4_PSE));
        unsigned lvl = cpu->paging == PG_LONG ? level : level + 2;   /* 0 = PML4 */
        if (entry_reserved(cpu, entry, lvl, large, shift, nxe))
            return page_fault(cpu, lin, err | PF_P | PF_RSVD);
        rw &= (entry >> 1) & 1;
        us &= (entry >> 2) & 1;
        if (w.esize == 8)
            nx |= (unsigned)(entry >> 63);
        if (leaf || large) {
            page_shift = shift;
            break;
        }
        pt_set_bits(cpu, eaddr, entry, PTE_A, w.esize);
        table = w.esize == 8 ? entry & ADDR_MASK_64 : entry & 0xfffff000u;
    }
    bool sv_user = !user && us && smep_smap_fault(cpu, exec);
    if ((user && !us) || (write && !rw && (user || (st->cr0 & CR0_WP))) || (exec && nx && nxe) || sv_user)
        return page_fault(cpu, lin, err | PF_P);
    cpu->tlb_global = (st->cr4 & CR4_PGE) && (entry & PTE_G);
    if (page_shift > cpu->tlb_large_shift)
        cpu->tlb_large_shift = (uint8_t)page_shift;
    pt_set_bits(cpu, eaddr, entry, write ? PTE_A | PTE_D : PTE_A, w.esize);

    uint64_t frame;
    if (page_shift > 12 && w.esize == 4)        /* PSE 4 MiB page, PSE-36 high bits */
        frame = (entry & 0xffc00000u) | ((entry & 0x1fe000u) << 19);
    else
        frame = entry & ADDR_MASK_64 & ~((UINT64_C(1) << page_shift) - 1);
    *phys = frame | (lin & ((UINT64_C(1) << page_shift) - 1));
    return X_NEXT;
}
