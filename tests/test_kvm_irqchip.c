/*
 * The KVM engine with the in-kernel irqchip: PIT interrupts through the
 * PIC and the IOAPIC, a GSI raised by a device thread, SMP start by
 * INIT/SIPI from the BSP, the CPUID topology seen by each vCPU, guest time
 * (kvmclock, TSC) across a suspend, and an idle halted guest.  Skipped only when
 * /dev/kvm is absent.
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

#include "core/vm_internal.h"   /* guest RAM */

struct irq_vm {
    const char *image;
    const char *mode;
    uint32_t    cpus;
    bool        start_aps;
    bool        no_irqchip;            /* /KVM/IrqChip = 0 */
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

static uint64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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
    const struct irq_vm *c = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), boot = NULL, con = NULL, kvm = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, c->image);
    int rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(32) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", c->cpus);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "kvm");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "KVM", &kvm);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(kvm, "IrqChip", !c->no_irqchip);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &boot);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Image", path);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Mode", c->mode ? c->mode : "long");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(boot, "StartAPs", c->start_aps);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &con);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(con, "Output", c->console);
    return rc;
}

static void vm_start(struct irq_vm *t, const char *image, uint32_t cpus, bool start_aps)
{
    const char *mode = t->mode;
    bool no_irqchip = t->no_irqchip;
    memset(t, 0, sizeof(*t));
    t->mode = mode;
    t->no_irqchip = no_irqchip;
    t->image = image;
    t->cpus = cpus;
    t->start_aps = start_aps;
    strcpy(t->console, "/tmp/petrel-irq-XXXXXX");
    int fd = mkstemp(t->console);
    if (fd >= 0)
        close(fd);
    assert_int_equal(VMR3Create(cpus, NULL, NULL, NULL, ctor, t, &t->vm, &t->uvm), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t->uvm), VINF_SUCCESS);
}

static bool wait_off(struct irq_vm *t, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (VMR3GetStateU(t->uvm) != VMSTATE_OFF && now_ns() < deadline)
        sleep_ms(2);
    return VMR3GetStateU(t->uvm) == VMSTATE_OFF;
}

static void vm_finish(struct irq_vm *t)
{
    if (VMR3GetStateU(t->uvm) != VMSTATE_OFF)
        VMR3PowerOff(t->uvm);
    VMR3Destroy(t->uvm);
    VMR3ReleaseUVM(t->uvm);
}

static char *read_console(struct irq_vm *t)
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

static volatile uint32_t *guest_u32(struct irq_vm *t, uint64_t gpa)
{
    return (volatile uint32_t *)guest_ram_ptr(&t->vm->ram, gpa, 4);
}

static volatile uint64_t *guest_u64(struct irq_vm *t, uint64_t gpa)
{
    return (volatile uint64_t *)guest_ram_ptr(&t->vm->ram, gpa, 8);
}

static bool wait_u32(volatile uint32_t *p, uint32_t at_least, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < at_least && now_ns() < deadline)
        sleep_ms(1);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE) >= at_least;
}

static uint32_t guest_exit_code(struct irq_vm *t)
{
    uint32_t code = 0;
    assert_int_equal(VMR3GetGuestExitCode(t->uvm, &code), VINF_SUCCESS);
    return code;
}

static int kvm_check(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        printf("SKIP: /dev/kvm is absent; the KVM irqchip tests need it\n");
        return -1;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

#define KVM_SKIP_IF_ABSENT() do { (void)state; if (kvm_check() < 0) { skip(); } } while (0)

/* pit_irq.bin: PIT ticks through the PIC and the IOAPIC wake HLT; a VM
 * reset puts PIC, IOAPIC, LAPIC and PIT back so it all works again; then
 * GSI 20 raised by this (non-EMT) thread reaches the guest three times. */
static void test_pit_and_device_irq(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct irq_vm t = { .mode = NULL };
    uint64_t t0 = now_ns();
    vm_start(&t, "pit_irq.bin", 1, true);
    volatile uint32_t *ready = guest_u32(&t, 0x9000), *count = guest_u32(&t, 0x9004);
    assert_true(wait_u32(ready, 1, 10000));
    printf("PIT phases done after %llu ms\n", (unsigned long long)((now_ns() - t0) / 1000000u));
    assert_true(RT_SUCCESS(VMR3Reset(t.uvm)));
    assert_int_equal(*ready, 0);        /* RAM cleared and the image loaded again */
    assert_true(wait_u32(ready, 1, 10000));
    for (uint32_t i = 1; i <= 3; i++) {
        irq_set(t.vm, 20, 1);           /* edge: raise, then lower */
        irq_set(t.vm, 20, 0);
        assert_true(wait_u32(count, i, 5000));
    }
    assert_true(wait_off(&t, 5000));
    assert_int_equal(guest_exit_code(&t), 1);
    vm_finish(&t);
    assert_string_equal(read_console(&t), "pic ok\nioapic ok\npic ok\nioapic ok\ngsi ok\n");
}

/* smp_sipi.bin with 4 vCPUs: the APs wait for SIPI and the BSP starts
 * them; every vCPU's CPUID topology matches VMR3GetCpuCoreAndPackageIdFromCpuId. */
static void test_smp_sipi_topology(void **state)
{
    KVM_SKIP_IF_ABSENT();
    enum { NCPUS = 4 };
    struct irq_vm t = { .mode = NULL };
    vm_start(&t, "smp_sipi.bin", NCPUS, false);
    assert_true(wait_off(&t, 20000));
    assert_int_equal(guest_exit_code(&t), 1);
    bool seen[NCPUS] = { false };
    for (uint32_t row = 0; row < NCPUS; row++) {
        volatile uint32_t *r = guest_u32(&t, 0x9100 + row * 16);
        assert_int_equal(r[3], 0x600d);
        uint32_t apic = r[0], core = 99, pkg = 99;
        assert_true(apic < NCPUS);
        assert_false(seen[apic]);
        seen[apic] = true;
        assert_int_equal(r[1], apic);                 /* x2APIC id (leaf 0xB) */
        assert_int_equal(r[2], NCPUS);                /* cores in the package */
        assert_int_equal(VMR3GetCpuCoreAndPackageIdFromCpuId(t.uvm, apic, &core, &pkg), VINF_SUCCESS);
        assert_int_equal(core, apic);
        assert_int_equal(pkg, 0);
    }
    vm_finish(&t);
    const char *out = read_console(&t);
    int aps = 0;                       /* the APs' prints may interleave */
    for (const char *p = out; *p; p++)
        aps += *p == 'A';
    assert_int_equal(aps, NCPUS - 1);
}

/* Guest ticks (TSC cycles or kvmclock ns) per second, measured over 200 ms. */
static uint64_t guest_rate(volatile uint64_t *last)
{
    uint64_t a = *last, ta = now_ns();
    sleep_ms(200);
    return (*last - a) * 1000000000u / (now_ns() - ta);
}

/* Whether guest time jumped across the suspend: no step of 250 ms or more,
 * and about 200 ms (not 1.2 s) passed between suspend and 200 ms after resume. */
static void check_no_jump(const char *what, uint64_t rate, uint64_t before, uint64_t after, uint64_t max_step)
{
    printf("%s: %llu ticks/us, largest step %llu us, %llu ms around a 1 s suspend\n", what,
           (unsigned long long)(rate / 1000000u), (unsigned long long)(max_step * 1000000u / rate),
           (unsigned long long)((after - before) * 1000u / rate));
    assert_true(max_step < rate / 4);
    assert_true(after - before < rate * 3 / 4);
}

/* clock_loop.bin: suspended for 1 s (the core calls the engine's vm_pause /
 * vm_resume), kvmclock (and the TSC, where the host hypervisor offsets it)
 * continue where they stopped. */
static void test_suspend_keeps_guest_time(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct irq_vm t = { .mode = NULL };
    vm_start(&t, "clock_loop.bin", 1, true);
    volatile uint64_t *tsc = guest_u64(&t, 0x9000), *tsc_step = guest_u64(&t, 0x9008);
    volatile uint64_t *ns = guest_u64(&t, 0x9010), *ns_step = guest_u64(&t, 0x9018);
    sleep_ms(100);
    uint64_t tsc_rate = guest_rate(tsc), ns_rate = guest_rate(ns);
    assert_true(tsc_rate > 0 && ns_rate > 0);
    assert_true(RT_SUCCESS(VMR3Suspend(t.uvm, VMSUSPENDREASON_USER)));
    uint64_t tsc0 = *tsc, ns0 = *ns;
    sleep_ms(1000);
    assert_true(RT_SUCCESS(VMR3Resume(t.uvm, VMRESUMEREASON_USER)));
    sleep_ms(200);
    uint64_t tsc1 = *tsc, ns1 = *ns;
    VMR3PowerOff(t.uvm);
    check_no_jump("kvmclock", ns_rate, ns0, ns1, *ns_step);
    if (access("/sys/module/kvm_pvm", F_OK) == 0)
        printf("TSC not checked: kvm_pvm gives the guest the host's TSC (%llu ms passed)\n",
               (unsigned long long)((tsc1 - tsc0) * 1000u / tsc_rate));
    else
        check_no_jump("TSC", tsc_rate, tsc0, tsc1, *tsc_step);
    vm_finish(&t);
    read_console(&t);
}

/* hlt_forever.bin with the irqchip: HLT blocks inside KVM_RUN; the vCPU
 * still costs no CPU and suspend / power-off get it out at once. */
static void test_halted_guest_idle(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct irq_vm t;
    memset(&t, 0, sizeof(t));
    t.mode = "real";
    vm_start(&t, "hlt_forever.bin", 2, true);
    sleep_ms(100);
    uint64_t c0 = process_cpu_ns(), t0 = now_ns();
    sleep_ms(500);
    double pct = 100.0 * (double)(process_cpu_ns() - c0) / (double)(now_ns() - t0);
    printf("halted guest: %.2f%% of one CPU\n", pct);
    assert_true(pct < 5.0);
    uint64_t s = now_ns();
    assert_true(RT_SUCCESS(VMR3Suspend(t.uvm, VMSUSPENDREASON_USER)));
    uint64_t suspend_ms = (now_ns() - s) / 1000000u;
    assert_true(RT_SUCCESS(VMR3Resume(t.uvm, VMRESUMEREASON_USER)));
    sleep_ms(20);
    s = now_ns();
    assert_true(RT_SUCCESS(VMR3PowerOff(t.uvm)));
    uint64_t off_ms = (now_ns() - s) / 1000000u;
    printf("suspend %llu ms, power off %llu ms\n", (unsigned long long)suspend_ms, (unsigned long long)off_ms);
    assert_true(suspend_ms < 50 && off_ms < 50);
    vm_finish(&t);
    read_console(&t);
}

/* /KVM/IrqChip = 0: the flat SMP guest still runs (all vCPUs at the entry),
 * and x2APIC / TSC-deadline are hidden from CPUID. */
static void test_without_irqchip(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct irq_vm t = { .no_irqchip = true };
    vm_start(&t, "smp_ids.bin", 2, true);
    assert_true(wait_off(&t, 20000));
    assert_int_equal(guest_exit_code(&t), 1);
    vm_finish(&t);
    const char *out = read_console(&t);
    assert_non_null(strstr(out, "cpu 0\n"));
    assert_non_null(strstr(out, "cpu 1\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pit_and_device_irq),
        cmocka_unit_test(test_smp_sipi_topology),
        cmocka_unit_test(test_suspend_keeps_guest_time),
        cmocka_unit_test(test_halted_guest_idle),
        cmocka_unit_test(test_without_irqchip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
