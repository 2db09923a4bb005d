/*
 * A flat interpreter test guest without a VM: guest RAM, a cpu_state in
 * real mode at 0x7c00, the debug console (port 0xE9) collected into out[]
 * and the exit port (0xF4).  run_guest() loads guests/<image> and runs it
 * until it exits (or a budget of instructions is spent).  Include it after
 * <cmocka.h>.
 */
#ifndef PETREL_TESTS_INTERP_FLAT_GUEST_H
#define PETREL_TESTS_INTERP_FLAT_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define RAM_SIZE (4u << 20)
#define RES      0x6000u       /* where the guests store their results */

struct guest {
    struct guest_ram ram;
    struct cpu_state st;
    struct interp_cpu *cpu;
    char out[256];
    size_t out_len;
    bool exited;
    uint32_t exit_code;
};

static inline uint32_t port_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)size;
    (void)port;
    return 0xffffffffu;
}

static inline void port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct guest *g = opaque;
    (void)size;
    if (port == 0xe9 && g->out_len + 1 < sizeof(g->out))
        g->out[g->out_len++] = (char)value;
    if (port == 0xf4) {
        g->exited = true;
        g->exit_code = value;
        interp_poke(g->cpu);
    }
}

static inline void real_mode_state(struct cpu_state *st)
{
    memset(st, 0, offsetof(struct cpu_state, xsave));
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0, 0, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
    st->seg[SEG_CS].attr = 0xb | SEG_ATTR_S | SEG_ATTR_P;
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0, 0, 0xffff, 0xb | SEG_ATTR_P };
    st->idtr.limit = 0x3ff;
    st->gdtr.limit = 0xffff;
    st->rflags = RFLAGS_FIXED;
    st->cr0 = CR0_ET;
    st->rip = 0x7c00;
    st->gpr[GPR_RSP] = 0x7c00;
}

/* Runs image with at most chunk instructions per interp_execute call. */
static inline struct guest *run_guest_chunked(const char *image, uint64_t chunk)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->ram.host = calloc(1, RAM_SIZE);
    g->ram.size = g->ram.low_size = RAM_SIZE;
    g->ram.hole_size = GUEST_4G - RAM_SIZE;
    real_mode_state(&g->st);
    uint32_t mxcsr = 0x1f80;                         /* the power-on value */
    memcpy(g->st.xsave + 24, &mxcsr, 4);
    struct interp_io io = { .opaque = g, .port_read = port_read, .port_write = port_write };
    g->cpu = interp_cpu_create(&g->st, &g->ram, &io);
    assert_non_null(g->cpu);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, image);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(g->ram.host + 0x7c00, 1, 0x8000, f);
    fclose(f);
    assert_true(n > 0);
    interp_invalidate_code(g->cpu, 0x7c00, n);
    uint64_t budget = 1000000;
    while (budget && !g->exited) {
        uint64_t before = interp_instructions_retired(g->cpu);
        int rc = interp_execute(g->cpu, budget < chunk ? budget : chunk);
        budget -= interp_instructions_retired(g->cpu) - before;
        if (rc != VINF_SUCCESS) {
            fprintf(stderr, "rc=%d rip=%#llx (%s)\n", rc, (unsigned long long)g->st.rip, interp_last_error(g->cpu));
            break;
        }
    }
    g->out[g->out_len] = 0;
    return g;
}

static inline struct guest *run_guest(const char *image)
{
    return run_guest_chunked(image, UINT64_MAX);
}

static inline void guest_free(struct guest *g)
{
    interp_cpu_destroy(g->cpu);
    free(g->ram.host);
    free(g);
}

#endif
