/*
 * The interpreter's local APICs, IOAPIC and SMP: the APIC timer in
 * one-shot, periodic and TSC-deadline modes against the virtual clock,
 * PIT interrupts through the PIC and IOAPIC pin 2, device GSIs and MSIs,
 * INIT/SIPI bring-up of 4 vCPUs, IPIs of every kind between 4 vCPUs
 * (plus hostile ICR/APIC/IOAPIC writes), LOCK XADD on 2 vCPUs, code
 * written by one vCPU while another runs it, and an APIC timer carried
 * through a saved state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>
#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#include "core/vm_internal.h"
#include "devices/device.h"
#include "time/vclock.h"

struct apic_vm {
    const char *image;
    uint32_t    cpus;
    bool        start_aps;
    char        console[64];
    PUVM        uvm;
    PVM         vm;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm;
    const struct apic_vm *c = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), boot = NULL, con = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, c->image);
    int rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(32) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", c->cpus);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "interp");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &boot);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Image", path);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Mode", "long");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(boot, "StartAPs", c->start_aps);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &con);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(con, "Output", c->console);
    return rc;
}

static void vm_create(struct apic_vm *t, const char *image, uint32_t cpus, bool start_aps)
{
    memset(t, 0, sizeof(*t));
    t->image = image;
    t->cpus = cpus;
    t->start_aps = start_aps;
    strcpy(t->console, "/tmp/petrel-apic-XXXXXX");
    int fd = mkstemp(t->console);
    if (fd >= 0)
        close(fd);
    assert_int_equal(VMR3Create(cpus, NULL, NULL, NULL, ctor, t, &t->vm, &t->uvm), VINF_SUCCESS);
}

static void vm_start(struct apic_vm *t, const char *image, uint32_t cpus, bool start_aps)
{
    vm_create(t, image, cpus, start_aps);
    assert_int_equal(VMR3PowerOn(t->uvm), VINF_SUCCESS);
}

static bool wait_off(struct apic_vm *t, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (VMR3GetStateU(t->uvm) != VMSTATE_OFF && now_ns() < deadline)
        sleep_ms(2);
    return VMR3GetStateU(t->uvm) == VMSTATE_OFF;
}

static void vm_finish(struct apic_vm *t)
{
    if (VMR3GetStateU(t->uvm) != VMSTATE_OFF)
        VMR3PowerOff(t->uvm);
    VMR3Destroy(t->uvm);
    VMR3ReleaseUVM(t->uvm);
}

static char *read_console(struct apic_vm *t)
{
    static char buf[4096];
    memset(buf, 0, sizeof(buf));
    FILE *f = fopen(t->console, "r");
    if (f) {
        buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
        fclose(f);
    }
    unlink(t->console);
    return buf;
}

static volatile uint32_t *guest_u32(struct apic_vm *t, uint64_t gpa)
{
    return (volatile uint32_t *)guest_ram_ptr(&t->vm->ram, gpa, 4);
}

static bool wait_u32(volatile uint32_t *p, uint32_t at_least, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < at_least && now_ns() < deadline)
        sleep_ms(1);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE) >= at_least;
}

static uint32_t guest_exit_code(struct apic_vm *t)
{
    uint32_t code = 0;
    assert_int_equal(VMR3GetGuestExitCode(t->uvm, &code), VINF_SUCCESS);
    return code;
}

/* Host TSC ticks per ns (the guest's TSC runs at the host's rate), taken
 * between clock reads that bracket each TSC read tightly. */
static double tsc_per_ns(void)
{
    uint64_t t[2], c[2];
    for (int i = 0; i < 2; i++) {
        uint64_t a, b;
        do {
            a = now_ns();
            c[i] = __rdtsc();
            b = now_ns();
        } while (b - a > 20000);
        t[i] = a + (b - a) / 2;
        if (i == 0)
            sleep_ms(100);
    }
    return (double)(c[1] - c[0]) / (double)(t[1] - t[0]);
}

#define TICK_NS    1000000.0          /* apic_timer's period: count 62500, divide 16, 1 ns bus clock */
#define TICK_COUNT 62500u
#define RING_SLOTS 64u

/*
 * The intervals between the periodic ticks' expiries on the guest's own
 * clock (apic_timer's RING: the TSC of each tick less the time the current
 * count says has passed since its period ended).  However late
 * a loaded host delivers them, the expiries sit on the period's grid: the
 * intervals are whole periods (several where the host coalesced ticks, 0
 * where it delivered one more than a period late, as the next one), and
 * some one period.  A timer firing at another rate gives other intervals.
 * Of the intervals whose reads the host did not interrupt, counts those of
 * one period (*one) and those off the grid by 3% or more (*off), with the
 * largest distance from the grid in *worst (in periods).
 */
static unsigned tick_intervals(struct apic_vm *t, uint32_t ticks, unsigned *one, unsigned *off, double *worst)
{
    double per_ns = tsc_per_ns(), prev = 0;
    unsigned clean = 0;
    *one = *off = 0;
    *worst = 0;
    for (uint32_t n = ticks > RING_SLOTS ? ticks - RING_SLOTS : 0; n < ticks; n++) {
        const uint8_t *e = guest_ram_ptr(&t->vm->ram, 0x9100 + 16 * (n % RING_SLOTS), 16);
        uint64_t tsc;
        uint32_t count, took;
        memcpy(&tsc, e, 8);
        memcpy(&count, e + 8, 4);
        memcpy(&took, e + 12, 4);
        bool ok = took / per_ns < TICK_NS / 100 && count > 0 && count <= TICK_COUNT;
        double expiry = (double)tsc / per_ns - 16.0 * (TICK_COUNT - count);
        if (ok && prev > 0) {
            double periods = (expiry - prev) / TICK_NS, whole = (double)(int64_t)(periods + 0.5);
            double dist = periods > whole ? periods - whole : whole - periods;
            clean++;
            *one += whole == 1 && dist < 0.03;
            *off += dist >= 0.03;
            *worst = dist > *worst ? dist : *worst;
        }
        prev = ok ? expiry : 0;
    }
    return clean;
}

/* apic_timer.bin: one one-shot interrupt with the count running down to 0;
 * periodic ticks one period (1 ms: divide 16, count 62500) apart on the
 * guest's clock and never more than the virtual clock allows; five
 * TSC-deadline interrupts, none before its deadline. */
static void test_apic_timer_modes(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "apic_timer.bin", 1, true);
    volatile uint32_t *r = guest_u32(&t, 0x9000);
    bool running = wait_u32(&r[4], 2, 10000);         /* periodic running */
    if (!running) {
        uint32_t code = 0;
        VMR3GetGuestExitCode(t.uvm, &code);
        printf("phase %u, one-shot %u, count %u, state %d, exit %u\n", r[4], r[0], r[1],
               (int)VMR3GetStateU(t.uvm), code);
    }
    assert_true(running);
    assert_true(wait_u32(&r[3], 25, 10000));
    uint64_t t0 = vclock_now(t.vm->clock);
    uint32_t k0 = r[3];
    sleep_ms(60);
    uint64_t t1 = vclock_now(t.vm->clock);
    uint32_t k1 = r[3];
    __atomic_store_n(&r[16], 1, __ATOMIC_RELEASE);     /* STOP: on to TSC-deadline */
    uint64_t periods = (t1 - t0) / 1000000u;
    printf("periodic: %u ticks in %llu us of virtual time\n", k1 - k0, (unsigned long long)((t1 - t0) / 1000u));
    assert_true(k1 - k0 <= periods + 2);              /* never faster than the clock */
    assert_true(wait_off(&t, 20000));
    unsigned one, off;
    double worst;
    unsigned clean = tick_intervals(&t, r[3], &one, &off, &worst);
    printf("periodic: %u clean intervals, %u of one period, %u off the grid (worst %.3f periods)\n", clean, one,
           off, worst);
    assert_true(one > 0);                             /* the period on the guest's clock... */
    assert_int_equal(off, 0);                         /* ...and nothing between its multiples */
    assert_int_equal(guest_exit_code(&t), 1);
    assert_int_equal(r[0], 1);                        /* one-shot fired once */
    assert_true(r[1] > 0 && r[1] <= 200000000);       /* counting down */
    assert_int_equal(r[2], 0);
    assert_int_equal(r[5], 5);                        /* TSC-deadline interrupts */
    assert_int_equal(r[6], 0);                        /* none early */
    assert_int_equal(r[7], 0);                        /* the MSR cleared once it fired */
    assert_true(r[8] & (1u << 24));                   /* CPUID.1 ECX: TSC-deadline */
    assert_true(r[9] & (1u << 9));                    /* CPUID.1 EDX: APIC */
    assert_true(*(volatile uint64_t *)guest_ram_ptr(&t.vm->ram, 0x9028, 8) > 0);
    vm_finish(&t);
    read_console(&t);
}

/* pit_irq.bin: the PIT through the PIC, then through IOAPIC pin 2 (the
 * MADT's IRQ0 override); after a VM reset all again; then GSI 20 raised by
 * this thread twice and an MSI with the same vector once. */
static void test_ioapic_pit_gsi_msi(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "pit_irq.bin", 1, true);
    volatile uint32_t *ready = guest_u32(&t, 0x9000), *count = guest_u32(&t, 0x9004);
    assert_true(wait_u32(ready, 1, 10000));
    assert_true(RT_SUCCESS(VMR3Reset(t.uvm)));
    assert_true(wait_u32(ready, 1, 10000));
    for (uint32_t i = 1; i <= 2; i++) {
        irq_set(t.vm, 20, 1);
        irq_set(t.vm, 20, 0);
        assert_true(wait_u32(count, i, 5000));
    }
    assert_int_equal(irq_msi(t.vm, 0x12345000, 0x42), VERR_INVALID_PARAMETER);
    assert_int_equal(irq_msi(t.vm, 0xfee00000, 0x42), VINF_SUCCESS);   /* APIC 0, fixed, edge */
    assert_true(wait_off(&t, 5000));
    assert_int_equal(guest_exit_code(&t), 1);
    vm_finish(&t);
    assert_string_equal(read_console(&t), "pic ok\nioapic ok\npic ok\nioapic ok\ngsi ok\n");
}

/* smp_sipi.bin with 4 vCPUs: the APs wait for SIPI, the BSP starts them
 * with INIT-SIPI-SIPI; each reports its APIC id and topology. */
static void test_sipi_bringup(void **state)
{
    (void)state;
    enum { NCPUS = 4 };
    struct apic_vm t;
    vm_start(&t, "smp_sipi.bin", NCPUS, false);
    assert_true(wait_off(&t, 20000));
    assert_int_equal(guest_exit_code(&t), 1);
    bool seen[NCPUS] = { false };
    for (uint32_t row = 0; row < NCPUS; row++) {
        volatile uint32_t *r = guest_u32(&t, 0x9100 + row * 16);
        assert_int_equal(r[3], 0x600d);
        uint32_t apic = r[0];
        assert_true(apic < NCPUS);
        assert_false(seen[apic]);
        seen[apic] = true;
        assert_int_equal(r[1], apic);                 /* x2APIC id (leaf 0xB) */
        assert_int_equal(r[2], NCPUS);                /* cores in the package */
    }
    vm_finish(&t);
    const char *out = read_console(&t);
    int aps = 0;
    for (const char *p = out; *p; p++)
        aps += *p == 'A';
    assert_int_equal(aps, NCPUS - 1);
}

/* apic_ipi.bin with 4 vCPUs: fixed, self, all-but-self, all, logical, NMI
 * and lowest-priority IPIs each reach exactly their targets; an ICR to a
 * missing APIC, a SIPI to a running CPU and garbage in every APIC and
 * IOAPIC register change nothing else. */
static void test_ipis(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "apic_ipi.bin", 4, true);
    volatile uint32_t *r = guest_u32(&t, 0x9000);
    bool off = wait_off(&t, 20000);
    if (!off)
        printf("stuck at step %u\n", r[2]);
    assert_true(off);
    assert_int_equal(guest_exit_code(&t), 1);
    assert_int_equal(r[2], 11);
    static const uint32_t ipis[4] = { 0, 3, 2, 2 }, selfs[4] = { 2, 1, 1, 1 };
    static const uint32_t logical[4] = { 0, 1, 1, 0 }, nmis[4] = { 0, 1, 0, 0 };
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(r[4 + i], ipis[i]);
        assert_int_equal(r[8 + i], selfs[i]);
        assert_int_equal(r[12 + i], logical[i]);
        assert_int_equal(r[16 + i], nmis[i]);
    }
    assert_int_equal(r[20], 1);                       /* lowest priority: one target */
    assert_true(r[3] & 0x20);                         /* ESR: send illegal vector */
    vm_finish(&t);
    read_console(&t);
}

/* smp_lock_xadd.bin: 2 vCPUs x 10^6 LOCK XADD on one counter. */
static void test_lock_xadd_two_cpus(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "smp_lock_xadd.bin", 2, true);
    assert_true(wait_off(&t, 60000));
    assert_int_equal(guest_exit_code(&t), 1);
    assert_int_equal(*guest_u32(&t, 0x9000), 2000000);
    assert_int_equal(*guest_u32(&t, 0x9004), 2);
    vm_finish(&t);
    read_console(&t);
}

/* smc_cross_linked.bin: vCPU 0 patches the code from a block it reaches
 * through a link made while the page was still data. */
static void test_cross_modifying_code_linked(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "smc_cross_linked.bin", 2, true);
    assert_true(wait_off(&t, 60000));
    assert_int_equal(guest_exit_code(&t), 1);
    assert_true(*guest_u32(&t, 0x9000) >= 2);
    vm_finish(&t);
    read_console(&t);
}

/* smc_cross.bin: vCPU 0 rewrites code vCPU 1 runs; vCPU 1 runs the new code. */
static void test_cross_modifying_code(void **state)
{
    (void)state;
    struct apic_vm t;
    vm_start(&t, "smc_cross.bin", 2, true);
    assert_true(wait_off(&t, 60000));
    assert_int_equal(guest_exit_code(&t), 1);
    assert_int_equal(*guest_u32(&t, 0x9000), 2);
    vm_finish(&t);
    read_console(&t);
}

/* apic_timer.bin saved while its periodic APIC timer runs and restored into
 * a new VM: the ticks go on there (the "lapic" unit carried SVR, LVT and
 * count) and the guest finishes its TSC-deadline phase. */
static void test_saved_state_keeps_apic(void **state)
{
    (void)state;
    struct apic_vm a, b;
    vm_start(&a, "apic_timer.bin", 1, true);
    volatile uint32_t *r = guest_u32(&a, 0x9000);
    assert_true(wait_u32(&r[4], 2, 10000));
    assert_true(wait_u32(&r[3], 25, 10000));
    char path[] = "/tmp/petrel-apic-state-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bool suspended = false;
    assert_int_equal(VMR3Save(a.uvm, path, NULL, NULL, false, NULL, NULL, &suspended), VINF_SUCCESS);
    uint32_t saved_ticks = r[3];
    vm_finish(&a);
    read_console(&a);

    vm_create(&b, "apic_timer.bin", 1, true);
    assert_int_equal(VMR3LoadFromFile(b.uvm, path, NULL, NULL), VINF_SUCCESS);
    unlink(path);
    r = guest_u32(&b, 0x9000);
    assert_int_equal(r[3], saved_ticks);
    assert_int_equal(VMR3Resume(b.uvm, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    assert_true(wait_u32(&r[3], saved_ticks + 20, 10000));
    __atomic_store_n(&r[16], 1, __ATOMIC_RELEASE);
    assert_true(wait_off(&b, 20000));
    assert_int_equal(guest_exit_code(&b), 1);
    assert_int_equal(r[5], 5);
    assert_int_equal(r[6], 0);
    vm_finish(&b);
    read_console(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apic_timer_modes),
        cmocka_unit_test(test_ioapic_pit_gsi_msi),
        cmocka_unit_test(test_sipi_bringup),
        cmocka_unit_test(test_ipis),
        cmocka_unit_test(test_lock_xadd_two_cpus),
        cmocka_unit_test(test_cross_modifying_code),
        cmocka_unit_test(test_cross_modifying_code_linked),
        cmocka_unit_test(test_saved_state_keeps_apic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
