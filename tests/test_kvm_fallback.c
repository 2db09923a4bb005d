/*
 * KVM's interpreter fallback: guests whose instructions KVM's in-kernel
 * emulator cannot emulate (cmpxchg16b, xrstor64, int3 at CPL 0, real-mode
 * popcnt) run to their exit code under ExecEngine "kvm", and the per-opcode
 * counters see them; an instruction the interpreter lacks too ends in a
 * guru meditation with a register dump.  Unpaged modes under the
 * interpreter (/KVM/InterpretUnpagedModes) give the same results; the
 * speed of both ways is printed.
 *
 * The counters are only checked where KVM emulates ring 0 (no vmx/svm, e.g.
 * kvm_pvm): on hardware KVM the CPU runs these instructions itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>
#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#include "cpu/kvm/kvm_fallback.h"

#ifdef KVM_VCPU_HAS_FALLBACK

struct fb_vm {
    const char *image, *mode;
    int         interpret_unpaged;      /* -1: default */
    bool        no_irqchip;             /* /KVM/IrqChip 0 */
    uint32_t    cpus;                   /* 0: 1 */
    char        console[64];
    pthread_mutex_t lock;
    char        error[4096];
    PUVM        uvm;
    PVM         vm;
};

static void on_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)rc; (void)pszFile; (void)iLine; (void)pszFunction;
    struct fb_vm *t = user;
    pthread_mutex_lock(&t->lock);
    vsnprintf(t->error, sizeof(t->error), fmt, va);
    pthread_mutex_unlock(&t->lock);
}

static int ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm;
    struct fb_vm *t = user;
    PCFGMNODE root = CFGMR3GetRoot(vm), node = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, t->image);
    int rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(32) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "kvm");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", t->cpus ? t->cpus : 1);
    if (RT_SUCCESS(rc) && t->interpret_unpaged >= 0) {
        rc = CFGMR3InsertNode(root, "KVM", &node);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(node, "InterpretUnpagedModes", (uint64_t)t->interpret_unpaged);
        if (RT_SUCCESS(rc) && t->no_irqchip) rc = CFGMR3InsertInteger(node, "IrqChip", 0);
    }
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Image", path);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Mode", t->mode);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Output", t->console);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool wait_state(struct fb_vm *t, VMSTATE want, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (VMR3GetStateU(t->uvm) != want && now_ms() < end)
        usleep(1000);
    return VMR3GetStateU(t->uvm) == want;
}

static void start(struct fb_vm *t, const char *image, const char *mode, int interpret_unpaged)
{
    bool no_irqchip = t->no_irqchip;
    uint32_t cpus = t->cpus;
    memset(t, 0, sizeof(*t));
    t->no_irqchip = no_irqchip;
    t->cpus = cpus;
    t->image = image;
    t->mode = mode;
    t->interpret_unpaged = interpret_unpaged;
    pthread_mutex_init(&t->lock, NULL);
    strcpy(t->console, "/tmp/petrel-fb-XXXXXX");
    int fd = mkstemp(t->console);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(VMR3Create(cpus ? cpus : 1, NULL, on_error, t, ctor, t, &t->vm, &t->uvm), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t->uvm), VINF_SUCCESS);
}

static void finish(struct fb_vm *t, char *out, size_t size)
{
    VMSTATE st = VMR3GetStateU(t->uvm);
    if (st != VMSTATE_OFF)
        VMR3PowerOff(t->uvm);
    VMR3Destroy(t->uvm);
    VMR3ReleaseUVM(t->uvm);
    memset(out, 0, size);
    FILE *f = fopen(t->console, "r");
    if (f) {
        size_t n = fread(out, 1, size - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(t->console);
}

static bool kvm_emulates_ring0(void)
{
    return kvm_mode_host_emulates_unpaged();
}

static int kvm_present(void **state)
{
    (void)state;
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("SKIP: /dev/kvm is not usable; the KVM fallback tests need it\n");
        return -1;
    }
    return 0;
}

/* Runs image to power-off; checks the console, exit code and the count of
 * fallbacks for opcode key (NULL: none expected or not checked). */
static void run_guest(void **state, const char *image, const char *mode, int interpret_unpaged,
                      const char *expect, uint32_t code, const char *key)
{
    if (kvm_present(state) < 0)
        skip();
    struct fb_vm t = { 0 };
    start(&t, image, mode, interpret_unpaged);
    bool off = wait_state(&t, VMSTATE_OFF, 20000);
    if (!off)
        fprintf(stderr, "state %d, error: %s\n", VMR3GetStateU(t.uvm), t.error);
    assert_true(off);
    uint32_t got = 0;
    assert_int_equal(VMR3GetGuestExitCode(t.uvm, &got), VINF_SUCCESS);
    char stats[512];
    kvm_fallback_stats(t.vm, stats, sizeof(stats));
    printf("%s: fallbacks %s\n", image, stats);
    uint64_t n = key ? kvm_fallback_count(t.vm, key) : 0;
    char out[1024];
    finish(&t, out, sizeof(out));
    assert_string_equal(out, expect);
    assert_int_equal(got, code);
    if (key && kvm_emulates_ring0())
        assert_true(n >= 1);
}

static void test_cmpxchg16b(void **state)
{
    run_guest(state, "fallback_cmpxchg16b.bin", "long", -1, "cx16 ok ok\n", 0x21, "f0 0f c7/1");
}

/* The public API (VMR3QueryEngineStats, what `petrel ctl ... status` shows)
 * gives the same text as the engine's counters, while the VM still exists. */
static void test_cmpxchg16b_engine_stats(void **state)
{
    if (kvm_present(state) < 0)
        skip();
    struct fb_vm t = { 0 };
    start(&t, "fallback_cmpxchg16b.bin", "long", -1);
    assert_true(wait_state(&t, VMSTATE_OFF, 20000));
    char api[512], direct[512];
    assert_int_equal(VMR3QueryEngineStats(t.uvm, api, sizeof(api)), VINF_SUCCESS);
    kvm_fallback_stats(t.vm, direct, sizeof(direct));
    printf("VMR3QueryEngineStats: %s\n", api);
    assert_string_equal(api, direct);
    assert_non_null(strstr(api, "; interpreted unpaged: "));
    if (kvm_emulates_ring0())
        assert_non_null(strstr(api, "f0 0f c7/1: 2"));
    /* Too small: truncated, NUL-terminated, VERR_BUFFER_OVERFLOW. */
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(VMR3QueryEngineStats(t.uvm, small, sizeof(small)), VERR_BUFFER_OVERFLOW);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, api, sizeof(small) - 1);
    assert_int_equal(VMR3QueryEngineStats(t.uvm, small, 0), VERR_BUFFER_OVERFLOW);
    assert_int_equal(VMR3QueryEngineStats(t.uvm, NULL, sizeof(small)), VERR_INVALID_POINTER);
    assert_int_equal(VMR3QueryEngineStats(NULL, small, sizeof(small)), VERR_INVALID_VM_HANDLE);
    char out[1024];
    finish(&t, out, sizeof(out));
    assert_string_equal(out, "cx16 ok ok\n");
}

static void test_xrstor(void **state)
{
    run_guest(state, "fallback_xrstor.bin", "long", -1, "xrstor ok\n", 0x23, "0f ae/5");
}

static void test_int3(void **state)
{
    run_guest(state, "fallback_int3.bin", "long", -1, "int3 1 2 ok\n", 0x25, "cc");
}

/* Real mode under KVM (the emulator fails on popcnt) and in the interpreter. */
static void test_popcnt_real_kvm(void **state)
{
    run_guest(state, "fallback_popcnt_real.bin", "real", 0, "popcnt ok\n", 0x27, "f3 0f b8");
}

static void test_popcnt_real_interpreted(void **state)
{
    run_guest(state, "fallback_popcnt_real.bin", "real", 1, "popcnt ok\n", 0x27, NULL);
}

/* Real -> unpaged protected -> paged: the interpreter runs the unpaged part
 * and KVM the paged one (its popcnt is a fallback); without the mode
 * choice both popcnts are fallbacks. */
static void run_mode_switch(void **state, int interpret, bool no_irqchip, int want_fallbacks)
{
    if (kvm_present(state) < 0)
        skip();
    struct fb_vm t = { 0 };
    t.no_irqchip = no_irqchip;
    start(&t, "fallback_mode_switch.bin", "real", interpret);
    bool off = wait_state(&t, VMSTATE_OFF, 20000);
    if (!off)
        fprintf(stderr, "state %d, error: %s\n", VMR3GetStateU(t.uvm), t.error);
    assert_true(off);
    uint32_t got = 0;
    assert_int_equal(VMR3GetGuestExitCode(t.uvm, &got), VINF_SUCCESS);
    uint64_t n = kvm_fallback_count(t.vm, "f3 0f b8"), interpreted = kvm_fallback_interpreted(t.vm);
    char stats[512], out[256];
    kvm_fallback_stats(t.vm, stats, sizeof(stats));
    printf("mode switch (interpret %d, irqchip %d): %s\n", interpret, !no_irqchip, stats);
    finish(&t, out, sizeof(out));
    assert_string_equal(out, "real pm ok paged ok\n");
    assert_int_equal(got, 0x2d);
    if (interpret)
        assert_true(interpreted > 20);
    if (kvm_emulates_ring0() && want_fallbacks >= 0)
        assert_int_equal(n, want_fallbacks);
}

static void test_mode_switch_interpreted(void **state)
{
    run_mode_switch(state, 1, false, 1);
}

static void test_mode_switch_interpreted_no_irqchip(void **state)
{
    run_mode_switch(state, 1, true, 1);
}

static void test_mode_switch_kvm(void **state)
{
    run_mode_switch(state, 0, false, 2);
}

/* A spinning real-mode guest in the interpreter stops at once on power-off
 * (with and without KVM's irqchip). */
static void run_spin_power_off(void **state, bool no_irqchip)
{
    if (kvm_present(state) < 0)
        skip();
    struct fb_vm t = { 0 };
    t.no_irqchip = no_irqchip;
    start(&t, "fallback_real_spin.bin", "real", 1);
    usleep(200 * 1000);
    uint64_t t0 = now_ms();
    assert_true(RT_SUCCESS(VMR3PowerOff(t.uvm)));
    uint64_t took = now_ms() - t0;
    uint64_t interpreted = kvm_fallback_interpreted(t.vm);
    char out[256];
    finish(&t, out, sizeof(out));
    printf("spin (irqchip %d): %llu instructions interpreted, power-off took %llu ms\n", !no_irqchip,
           (unsigned long long)interpreted, (unsigned long long)took);
    assert_string_equal(out, "spin\n");
    assert_true(interpreted > 1000);
    assert_true(took < 2000);
}

static void test_spin_power_off(void **state)
{
    run_spin_power_off(state, false);
}

static void test_spin_power_off_no_irqchip(void **state)
{
    run_spin_power_off(state, true);
}

static void test_unsupported_is_guru(void **state)
{
    if (kvm_present(state) < 0)
        skip();
    if (!kvm_emulates_ring0()) {
        printf("SKIP: hardware KVM runs fsqrt itself; no fallback to fail\n");
        skip();
    }
    struct fb_vm t = { 0 };
    start(&t, "fallback_unsupported.bin", "long", -1);
    bool guru = wait_state(&t, VMSTATE_GURU_MEDITATION, 20000);
    pthread_mutex_lock(&t.lock);
    char err[4096];
    snprintf(err, sizeof(err), "%s", t.error);
    pthread_mutex_unlock(&t.lock);
    char stats[512];
    kvm_fallback_stats(t.vm, stats, sizeof(stats));
    uint64_t n = kvm_fallback_count(t.vm, "d9");
    char out[256];
    finish(&t, out, sizeof(out));
    printf("unsupported: %s\n%s\n", stats, err);
    assert_true(guru);
    assert_non_null(strstr(err, "interpreter fallback failed"));
    assert_non_null(strstr(err, "d9 fa"));
    assert_non_null(strstr(err, "r15=000000005a5a5a5a"));      /* the register dump */
    assert_non_null(strstr(err, "rip=00000000001000b9"));      /* at the instruction */
    assert_string_equal(out, "before\n");
    assert_int_equal(n, 1);
}

/* vCPU 0 runs LOCK CMPXCHG16B through the fallback while vCPU 1 runs LOCK
 * INC on the same qword in KVM: the interpreter's host atomics must lose no
 * update. */
static void test_smp_cmpxchg16b(void **state)
{
    if (kvm_present(state) < 0)
        skip();
    struct fb_vm t = { .cpus = 2 };
    start(&t, "fallback_gap_smp_cx16.bin", "long", -1);
    assert_true(wait_state(&t, VMSTATE_OFF, 20000));
    char out[256];
    finish(&t, out, sizeof(out));
    printf("smp cmpxchg16b: %s", out);
    assert_string_equal(out, "smp cx16 ok\n");
}

/* Instructions Linux runs at CPL 0 that KVM's emulator and the interpreter
 * both lack (see the guests' headers); these fail until the interpreter
 * implements them, so they only run with PETREL_TEST_INTERP_GAPS=1. */
static void test_interp_gaps(void **state)
{
    if (!getenv("PETREL_TEST_INTERP_GAPS")) {
        printf("SKIP: interpreter gaps (xsavec) run with PETREL_TEST_INTERP_GAPS=1\n");
        skip();
    }
    run_guest(state, "fallback_gap_xsavec.bin", "long", -1, "xsavec ok\n", 0x31, "0f c7/4");
}

/* CLAC/STAC at CPL 0 (Linux runs them around every user access when the
 * CPU has SMAP): KVM's emulator lacks them, the interpreter finishes them. */
static void test_clac_stac(void **state)
{
    run_guest(state, "fallback_gap_clac.bin", "long", -1, "clac ok\n", 0x2f, "0f 01 cb");
}

/* Times the real-mode loop (500,000 instructions): KVM's emulator, the
 * interpreter beside KVM's irqchip and without it. */
static void test_realmode_speed(void **state)
{
    if (kvm_present(state) < 0)
        skip();
    double ms[3];
    for (int interp = 0; interp <= 2; interp++) {
        struct fb_vm t = { 0 };
        t.no_irqchip = interp == 2;
        uint64_t t0 = now_ms();
        start(&t, "fallback_realmode_loop.bin", "real", interp != 0);
        assert_true(wait_state(&t, VMSTATE_OFF, 60000));
        ms[interp] = (double)(now_ms() - t0);
        uint64_t interpreted = kvm_fallback_interpreted(t.vm);
        char out[256];
        finish(&t, out, sizeof(out));
        assert_string_equal(out, "loop done\n");
        if (interp)
            assert_true(interpreted >= 500000);
    }
    printf("real-mode loop, 500k instructions, VM start/stop included: KVM's emulator %.0f ms (%.2f MIPS), "
           "interpreter beside KVM's irqchip %.0f ms (%.2f MIPS), interpreter without it %.0f ms (%.2f MIPS)\n",
           ms[0], 0.5e3 / ms[0], ms[1], 0.5e3 / ms[1], ms[2], 0.5e3 / ms[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmpxchg16b),
        cmocka_unit_test(test_cmpxchg16b_engine_stats),
        cmocka_unit_test(test_xrstor),
        cmocka_unit_test(test_int3),
        cmocka_unit_test(test_popcnt_real_kvm),
        cmocka_unit_test(test_popcnt_real_interpreted),
        cmocka_unit_test(test_mode_switch_interpreted),
        cmocka_unit_test(test_mode_switch_interpreted_no_irqchip),
        cmocka_unit_test(test_mode_switch_kvm),
        cmocka_unit_test(test_spin_power_off),
        cmocka_unit_test(test_spin_power_off_no_irqchip),
        cmocka_unit_test(test_unsupported_is_guru),
        cmocka_unit_test(test_realmode_speed),
        cmocka_unit_test(test_clac_stac),
        cmocka_unit_test(test_smp_cmpxchg16b),
        cmocka_unit_test(test_interp_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !KVM_VCPU_HAS_FALLBACK */

int main(void)
{
    printf("SKIP: the KVM fallback hook (.fallback-hook.patch) is not applied yet\n");
    return 0;
}

#endif
