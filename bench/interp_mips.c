/*
 * Interpreter speed: guests/interp_bench.asm's integer loop (add, xor,
 * shift, load, store, branch; exactly 10 instructions per iteration) run by
 * the interpreter in real mode, 32-bit protected mode and 64-bit long mode,
 * and its x87 loop in long mode (fadd, fld, fmul, fsqrt, fst m64, fld m64,
 * fcomip, fabs, dec, jnz: 8 of 10 instructions are x87) and its SSE loop
 * (movdqa load/store, paddd, pxor, addps, mulps, pshufd, pcmpeqb, dec, jnz:
 * 8 of 10 are SSE).  Prints million
 * instructions per second (best of 5 runs) per loop.
 *
 *   interp_mips [iterations [int|x87|sse]]   default 5,000,000 (50 M instructions), all loops
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define RAM_SIZE  (4u << 20)
#define LOAD_GPA  0x10000u
#define ARRAY_GPA 0x20000u
#define RUNS      5

enum bench_mode { BENCH_REAL, BENCH_PROT32, BENCH_LONG, BENCH_X87, BENCH_SSE };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void flat_segs(struct cpu_state *st, uint32_t code_attr)
{
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0x10, 0, 0xffffffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G };
    st->seg[SEG_CS] = (struct seg_reg){ 0x08, 0, 0xffffffff, code_attr };
}

static void set_mode(struct cpu_state *st, uint8_t *ram, enum bench_mode mode, uint32_t iterations)
{
    memset(st, 0, sizeof(*st));
    uint32_t mxcsr = 0x1f80;
    memcpy(st->xsave + 24, &mxcsr, 4);
    st->rflags = RFLAGS_FIXED;
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0x18, 0, 0x67, 0xb | SEG_ATTR_P };
    st->gpr[GPR_RCX] = iterations;
    st->gpr[GPR_RSP] = 0x8000;
    if (mode == BENCH_REAL) {
        for (unsigned s = 0; s < 6; s++)
            st->seg[s] = (struct seg_reg){ 0, 0, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
        st->seg[SEG_CS] = (struct seg_reg){ LOAD_GPA >> 4, LOAD_GPA, 0xffff, 0xb | SEG_ATTR_S | SEG_ATTR_P };
        st->seg[SEG_DS] = (struct seg_reg){ ARRAY_GPA >> 4, ARRAY_GPA, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
        st->cr0 = CR0_ET;
        st->rip = 0;
        return;
    }
    st->gpr[GPR_RSI] = ARRAY_GPA;
    if (mode == BENCH_PROT32) {
        flat_segs(st, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_DB | SEG_ATTR_G);
        st->cr0 = CR0_PE | CR0_ET;
        st->rip = LOAD_GPA + 0x100;
        return;
    }
    flat_segs(st, 0xb | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_L | SEG_ATTR_G);
    uint64_t e;
    e = 0x2000 | 3; memcpy(ram + 0x1000, &e, 8);          /* PML4 -> PDPT */
    e = 0x3000 | 3; memcpy(ram + 0x2000, &e, 8);          /* PDPT -> PD */
    e = 0x83;       memcpy(ram + 0x3000, &e, 8);          /* 0-2 MiB */
    st->cr0 = CR0_PE | CR0_PG | CR0_ET;
    st->cr3 = 0x1000;
    st->cr4 = CR4_PAE;
    st->efer = EFER_LME | EFER_LMA;
    st->cr4 |= CR4_OSFXSR;
    st->rip = LOAD_GPA + (mode == BENCH_X87 ? 0x300 : mode == BENCH_SSE ? 0x400 : 0x200);
}

static int load_guest(uint8_t *ram)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/interp_bench.bin", PETREL_GUEST_DIR);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "interp_mips: cannot open %s (build the 'guests' target)\n", path);
        return -1;
    }
    size_t n = fread(ram + LOAD_GPA, 1, 0x1000, f);
    fclose(f);
    return n ? 0 : -1;
}

static double run_mode(enum bench_mode mode, uint32_t iterations)
{
    struct guest_ram ram = { 0 };
    ram.host = calloc(1, RAM_SIZE);
    ram.size = ram.low_size = RAM_SIZE;
    ram.hole_size = GUEST_4G - RAM_SIZE;
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    if (!ram.host || !st || load_guest(ram.host) != 0)
        exit(1);
    double best = 0;
    for (int run = 0; run < RUNS; run++) {
        set_mode(st, ram.host, mode, iterations);
        struct interp_cpu *cpu = interp_cpu_create(st, &ram, NULL);
        double t0 = now_s();
        int rc = interp_execute(cpu, 0);
        double t = now_s() - t0;
        uint64_t n = interp_instructions_retired(cpu);
        if (rc != VINF_EM_HALT || n != 10ull * iterations + (mode == BENCH_X87 ? 4 : 1)) {
            fprintf(stderr, "interp_mips: mode %d stopped with %d after %llu instructions (%s)\n", mode, rc,
                    (unsigned long long)n, interp_last_error(cpu));
            exit(1);
        }
        interp_cpu_destroy(cpu);
        double mips = n / t / 1e6;
        if (mips > best)
            best = mips;
    }
    free(st);
    free(ram.host);
    return best;
}

int main(int argc, char **argv)
{
    uint32_t iterations = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 5000000u;
    static const char *const names[] = { "real mode", "32-bit protected mode", "64-bit long mode" };
    const char *only = argc > 2 ? argv[2] : "";    /* one loop alone, e.g. under a profiler */
    uint32_t x87_iterations = iterations / 10 ? iterations / 10 : 1;
    if (!strcmp(only, "x87") || !strcmp(only, "sse")) {
        enum bench_mode m = only[0] == 'x' ? BENCH_X87 : BENCH_SSE;
        printf("%s loop: %8.1f MIPS\n", only, run_mode(m, x87_iterations));
        return 0;
    }
    printf("interpreter integer loop, %u iterations (%llu instructions), best of %d:\n", iterations,
           10ull * iterations + 1, RUNS);
    for (int m = BENCH_REAL; m <= BENCH_LONG; m++)
        printf("  %-22s %8.1f MIPS\n", names[m], run_mode((enum bench_mode)m, iterations));
    if (!strcmp(only, "int"))
        return 0;
    printf("interpreter x87 loop (64-bit long mode), %u iterations:\n  %-22s %8.1f MIPS\n", x87_iterations,
           "x87 loop", run_mode(BENCH_X87, x87_iterations));
    printf("interpreter SSE loop (64-bit long mode), %u iterations:\n  %-22s %8.1f MIPS\n", x87_iterations,
           "SSE loop", run_mode(BENCH_SSE, x87_iterations));
    return 0;
}
