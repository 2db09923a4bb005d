/*
 * Creating and destroying an interpreter instance, and resynchronising it
 * with its cpu_state after outside changes.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <x86intrin.h>

#include "interp_internal.h"
#include "jit.h"

/* Zeroed memory straight from the kernel: its pages are faulted in only
 * as they are used (the block hash, the jump cache and the per-page code
 * arrays are touched sparsely), where calloc may clear it all at once; a
 * page fault is the largest cost of creating a vCPU. */
static void *zeroed_pages(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void free_pages(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

static void track_release(struct code_track *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free_pages(t->mark, t->pages);
    free_pages(t->gen, t->pages * sizeof(uint32_t));
    free(t);
}

/* A device (not a vCPU) wrote RAM page `page`: code decoded from it is
 * stale for every vCPU sharing the track, as after a vCPU's store
 * (code_page_written; the bytes are already there). */
static void track_device_wrote(void *opaque, uint64_t page)
{
    struct code_track *t = opaque;
    if (page >= t->pages || !__atomic_load_n(&t->mark[page], __ATOMIC_RELAXED))
        return;
    __atomic_fetch_add(&t->gen[page], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->write_seq, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&t->mark[page], 0, __ATOMIC_RELAXED);
}

static void track_hook_release(void *opaque)
{
    track_release(opaque);
}

/* The RAM tells this vCPU's code track of device writes (the track lives
 * until the RAM lets go of it). */
static void track_hook_install(struct interp_cpu *cpu)
{
    __atomic_fetch_add(&cpu->track->refs, 1, __ATOMIC_SEQ_CST);
    if (!guest_ram_set_write_hook(cpu->ram, track_device_wrote, track_hook_release, cpu->track))
        __atomic_fetch_sub(&cpu->track->refs, 1, __ATOMIC_SEQ_CST);   /* a test's RAM: nothing to tell */
}

struct interp_cpu *interp_cpu_create(struct cpu_state *st, struct guest_ram *ram, const struct interp_io *io)
{
    struct interp_cpu *cpu = zeroed_pages(sizeof(*cpu));
    if (!cpu)
        return NULL;
    cpu->st = st;
    cpu->gpr = st->gpr;
    cpu->ram = ram;
    if (io)
        cpu->io = *io;
    cpu->ram_pages = (ram->low_size + ram->high_size + 4095) / 4096;
    cpu->track = calloc(1, sizeof(*cpu->track));
    if (cpu->track) {
        cpu->track->refs = 1;
        cpu->track->pages = cpu->ram_pages + 1;
        cpu->track->mark = cpu->code_mark = zeroed_pages(cpu->track->pages);
        cpu->track->gen = cpu->code_gen = zeroed_pages(cpu->track->pages * sizeof(uint32_t));
    }
    /* Pages of the arena are only touched (and resident) as blocks fill it. */
    void *arena = mmap(NULL, BLOCK_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cpu->arena = arena == MAP_FAILED ? NULL : arena;
    cpu->scratch = malloc(BLOCK_BYTES(BLOCK_MAX_INSNS));
    if (!cpu->track || !cpu->code_mark || !cpu->code_gen || !cpu->arena || !cpu->scratch) {
        interp_cpu_destroy(cpu);
        return NULL;
    }
    cpu->code_epoch = 1;
    cpu->scratch->mode = 0xff;
    jit_init(cpu);
    track_hook_install(cpu);
    interp_state_changed(cpu);
    return cpu;
}

void interp_cpu_destroy(struct interp_cpu *cpu)
{
    if (!cpu)
        return;
    track_release(cpu->track);
    if (cpu->arena)
        munmap(cpu->arena, BLOCK_ARENA_SIZE);
    free(cpu->scratch);
    jit_destroy(cpu);
    free_pages(cpu, sizeof(*cpu));
}

int interp_cpu_share_code(struct interp_cpu *cpu, struct interp_cpu *with)
{
    if (cpu == with || cpu->track == with->track)
        return 0;
    if (cpu->ram != with->ram)
        return -1;
    __atomic_fetch_add(&with->track->refs, 1, __ATOMIC_SEQ_CST);
    track_release(cpu->track);
    cpu->track = with->track;
    cpu->code_mark = with->code_mark;
    cpu->code_gen = with->code_gen;
    track_hook_install(cpu);                      /* (replacing this vCPU's own, now gone) */
    cpu->mark_seq_seen = __atomic_load_n(&cpu->track->mark_seq, __ATOMIC_SEQ_CST);
    tlb_flush(cpu);                    /* fast writes installed under the old marks */
    return 0;
}

void interp_state_changed(struct interp_cpu *cpu)
{
    cpu->lf.op = LF_NONE;
    cpu->sti_shadow = cpu->st->events.interrupt_shadow;
    cpu->tsc_offset = cpu->st->msr.tsc - __rdtsc();
    cpu->paging = PG_NONE;
    mode_refresh(cpu);
    tlb_flush(cpu);
}

/* Guest-physical address of RAM page index i. */
static uint64_t ram_page_gpa(const struct interp_cpu *cpu, uint64_t i)
{
    uint64_t off = i << 12;
    return off < cpu->ram->low_size ? off : GUEST_4G + (off - cpu->ram->low_size);
}

void interp_invalidate_code(struct interp_cpu *cpu, uint64_t gpa, uint64_t len)
{
    uint64_t end = gpa + len < gpa ? UINT64_MAX : gpa + len;
    if (len <= UINT64_C(64) * 4096) {
        for (uint64_t a = gpa & ~UINT64_C(0xfff); a < end; a += 4096) {
            uint8_t *h = phys_host(cpu, a);
            if (h && code_mark_get(cpu, (uint64_t)(h - cpu->ram->host) >> 12))
                code_page_written(cpu, (uint64_t)(h - cpu->ram->host) >> 12);
        }
    } else {
        for (uint64_t i = 0; i < cpu->ram_pages; i++) {
            uint64_t a = ram_page_gpa(cpu, i);
            if (code_mark_get(cpu, i) && a + 4096 > gpa && a < end)
                code_page_written(cpu, i);
        }
    }
    tlb_flush(cpu);
}

void interp_tlb_flush(struct interp_cpu *cpu)
{
    tlb_flush(cpu);
}

void interp_flush_code(struct interp_cpu *cpu)
{
    if (++cpu->code_epoch == 0)        /* 0 marks never-used slots */
        cpu->code_epoch = 1;
    tlb_flush(cpu);
}
