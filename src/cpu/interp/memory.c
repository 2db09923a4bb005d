/*
 * The slow paths of guest memory access: TLB misses, page-crossing
 * accesses, MMIO, writes to pages holding decoded code (self-modifying
 * code), and supervisor-mode "system" accesses to descriptor tables.
 */
#include "interp_internal.h"

int seg_fault(struct interp_cpu *cpu, unsigned seg)
{
    return raise_exc(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, true, 0);
}

static bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* Index of a RAM page in code_mark/code_gen. */
static uint64_t ram_page_index(const struct interp_cpu *cpu, const uint8_t *host)
{
    return (uint64_t)(host - cpu->ram->host) >> 12;
}

static void note_ram_write(struct interp_cpu *cpu, uint64_t page)
{
    if (code_mark_get(cpu, page))
        code_page_written(cpu, page);
    if (cpu->ram->dirty_bitmap)
        __atomic_fetch_or(&cpu->ram->dirty_bitmap[page >> 3], (uint8_t)(1u << (page & 7)), __ATOMIC_RELAXED);
}

static void tlb_install(struct interp_cpu *cpu, uint64_t lin, uint8_t *host_page, uint64_t phys_page,
                        enum access_kind kind)
{
    if (debug_page_watched(cpu, lin))
        return;
    unsigned slot = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
    struct tlb_entry *e = &cpu->tlb[slot];
    if (cpu->cpl < 3 && (cpu->st->cr4 & CR4_SMAP) && (cpu->st->rflags & RFLAGS_AC)) {
        if (cpu->tlb_ac_n < TLB_AC_SLOTS)      /* SMAP may have let it in only for AC: see tlb_ac_drop */
            cpu->tlb_ac_slot[cpu->tlb_ac_n] = (uint8_t)slot;
        if (cpu->tlb_ac_n <= TLB_AC_SLOTS)
            cpu->tlb_ac_n++;
    }
    uint64_t tag = lin & ~UINT64_C(0xfff);
    if (e->tag_read != tag && e->tag_write != tag && e->tag_exec != tag)
        e->tag_read = e->tag_write = e->tag_exec = TLB_INVALID;
    e->addend = (intptr_t)host_page - (intptr_t)tag;
    e->phys = phys_page;
    e->global = cpu->tlb_global;
    if (kind == ACC_EXEC) {
        e->tag_exec = tag;
        return;
    }
    e->tag_read = tag;                   /* a permitted write implies a permitted read */
    uint64_t page = ram_page_index(cpu, host_page);
    if ((kind == ACC_WRITE || kind == ACC_RMW) && !code_mark_get(cpu, page)) {
        e->tag_write = tag;                /* later fast-path writes are covered by this mark */
        if (cpu->ram->dirty_bitmap)
            __atomic_fetch_or(&cpu->ram->dirty_bitmap[page >> 3], (uint8_t)(1u << (page & 7)), __ATOMIC_RELAXED);
    }
}

/* One access that does not cross a page. */
static int access_page(struct interp_cpu *cpu, uint64_t lin, uint64_t phys, unsigned size, uint8_t *buf,
                       enum access_kind kind)
{
    uint8_t *host = phys_host(cpu, phys);
    bool write = kind == ACC_WRITE;
    if (host) {
        uint8_t *host_page = host - (phys & 0xfff);
        if (write) {
            /* The bytes first, then the code generation: a vCPU decoding
             * this page meanwhile sees the new bytes or an old generation. */
            memcpy(host, buf, size);
            note_ram_write(cpu, ram_page_index(cpu, host_page));
        } else {
            memcpy(buf, host, size);
        }
        tlb_install(cpu, lin, host_page, phys & ~UINT64_C(0xfff), kind);
        return X_NEXT;
    }
    uint64_t v = 0;
    if (write) {
        memcpy(&v, buf, size);
        if (cpu->io.mmio_write)
            cpu->io.mmio_write(cpu->io.opaque, phys, size, v);
    } else {
        v = cpu->io.mmio_read ? cpu->io.mmio_read(cpu->io.opaque, phys, size) : ~UINT64_C(0);
        memcpy(buf, &v, size);
    }
    return X_NEXT;
}

/* MMIO sizes must be 1/2/4/8: split odd pieces bytewise. */
static int access_piece(struct interp_cpu *cpu, uint64_t lin, uint64_t phys, unsigned size, uint8_t *buf,
                        enum access_kind kind)
{
    if (size == 1 || size == 2 || size == 4 || size == 8 || phys_host(cpu, phys))
        return access_page(cpu, lin, phys, size, buf, kind);
    for (unsigned i = 0; i < size; i++)
        access_page(cpu, lin + i, phys + i, 1, buf + i, kind);
    return X_NEXT;
}

int mem_access_slow(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, enum access_kind kind)
{
    if (cpu->long64 && !canonical(lin))
        return raise_gp(cpu, 0);
    enum access_kind xlat = kind;
    enum access_kind data = kind == ACC_RMW ? ACC_READ : kind;
    unsigned first = (unsigned)(4096 - (lin & 0xfff));
    uint64_t p1, p2;
    int r;
    if ((r = mmu_translate(cpu, lin, xlat, &p1)))
        return r;
    if (first >= size) {
        debug_note_access(cpu, lin, size, kind != ACC_READ);
        return access_piece(cpu, lin, p1, size, buf, kind == ACC_RMW ? ACC_RMW : data);
    }
    /* Crossing a page: both translations must succeed before any byte moves. */
    uint64_t lin2 = (lin + first) & (cpu->long64 ? ~UINT64_C(0) : cpu->lin_mask);
    if (cpu->long64 && !canonical(lin2))
        return raise_gp(cpu, 0);
    bool global1 = cpu->tlb_global;
    if ((r = mmu_translate(cpu, lin2, xlat, &p2)))
        return r;
    bool global2 = cpu->tlb_global;
    enum access_kind k = kind == ACC_RMW ? ACC_RMW : data;
    debug_note_access(cpu, lin, size, kind != ACC_READ);
    cpu->tlb_global = global1;                 /* each page's entry keeps its own PTE.G */
    access_piece(cpu, lin, p1, first, buf, k);
    cpu->tlb_global = global2;
    access_piece(cpu, lin2, p2, size - first, (uint8_t *)buf + first, k);
    return X_NEXT;
}

uint8_t *mem_rmw_host(struct interp_cpu *cpu, uint64_t lin, unsigned size, int *r)
{
    *r = X_NEXT;
    if ((lin & 0xfff) + size > 4096)
        return NULL;                           /* split across pages: the caller locks */
    struct tlb_entry *e = &cpu->tlb[(lin >> 12) & (TLB_SIZE - 1)];
    if (e->tag_write == (lin & ~UINT64_C(0xfff)))
        return (uint8_t *)(lin + e->addend);   /* RAM, dirty already noted, no code */
    uint64_t phys;
    if (cpu->long64 && !canonical(lin)) {
        *r = raise_gp(cpu, 0);
        return NULL;
    }
    if ((*r = mmu_translate(cpu, lin, ACC_RMW, &phys)))
        return NULL;
    debug_note_access(cpu, lin, size, true);
    uint8_t *host = phys_host(cpu, phys);
    if (host) {
        uint8_t *host_page = host - (phys & 0xfff);
        if (code_mark_get(cpu, ram_page_index(cpu, host_page)))
            return NULL;      /* code: the caller's path writes through access_page (bytes, then generation) */
        note_ram_write(cpu, ram_page_index(cpu, host_page));
        tlb_install(cpu, lin, host_page, phys & ~UINT64_C(0xfff), ACC_RMW);
    }
    return host;
}

/* Supervisor accesses to system tables (GDT, IDT, TSS): translated at CPL 0
 * and never cached, so they cannot open supervisor pages to user code. */
int sys_access(struct interp_cpu *cpu, uint64_t lin, unsigned size, void *buf, bool write)
{
    uint8_t saved_cpl = cpu->cpl;
    uint8_t *b = buf;
    cpu->cpl = 0;
    cpu->implicit_sv = true;
    for (unsigned i = 0; i < size; i++) {
        uint64_t phys;
        int r = mmu_translate(cpu, (lin + i) & cpu->lin_mask, write ? ACC_WRITE : ACC_READ, &phys);
        if (r) {
            cpu->cpl = saved_cpl;
            cpu->implicit_sv = false;
            return r;
        }
        uint8_t *h = phys_host(cpu, phys);
        if (h && write) {
            note_ram_write(cpu, ram_page_index(cpu, h - (phys & 0xfff)));
            *h = b[i];
        } else if (h) {
            b[i] = *h;
        } else if (!write) {
            b[i] = 0xff;
        }
    }
    cpu->cpl = saved_cpl;
    cpu->implicit_sv = false;
    return X_NEXT;
}
