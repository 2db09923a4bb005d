/*
 * Test guests under the KVM engine through the public API: hello in each
 * boot mode, SMP ids, an idle HLT, poke latency on a busy guest, triple
 * fault handling and the execution cap.  Skipped (with the reason) only
 * when /dev/kvm is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>
#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#include "core/vm_internal.h"   /* engine state round trip */

struct guest_cfg {
    const char *image;                 /* name under PETREL_GUEST_DIR */
    const char *mode;
    const char *engine;
    uint32_t    cpus;
    bool        triple_fault_reset, power_off_instead_of_reset;
    uint32_t    cap;                   /* 0: default */
    char        console[64];           /* debugcon output file */
};

struct state_log {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    VMSTATE         last;
    char            error[1024];
    int             error_rc;
};

struct test_vm {
    struct guest_cfg cfg;
    struct state_log log;
    PUVM uvm;
    PVM  vm;
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

/* The CPU time of the calling thread (runs on the EMT through a request). */
static int emt_cpu_clock(clockid_t *clock)
{
    return pthread_getcpuclockid(pthread_self(), clock) == 0 ? VINF_SUCCESS : VERR_GENERAL_FAILURE;
}

/* CPU time used so far by vCPU 0's EMT: what the execution cap limits. */
static uint64_t emt0_cpu_ns(PUVM uvm)
{
    static clockid_t clock;
    static PUVM cached;
    if (cached != uvm) {
        assert_int_equal(VMR3ReqCallWaitU(uvm, 0, (PFNRT)emt_cpu_clock, 1, &clock), VINF_SUCCESS);
        cached = uvm;
    }
    struct timespec ts;
    assert_int_equal(clock_gettime(clock, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void on_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE st, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm; (void)old;
    struct state_log *log = user;
    pthread_mutex_lock(&log->lock);
    log->last = st;
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->lock);
}

static void on_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)pszFile; (void)iLine; (void)pszFunction;
    struct state_log *log = user;
    pthread_mutex_lock(&log->lock);
    log->error_rc = rc;
    vsnprintf(log->error, sizeof(log->error), fmt, va);
    pthread_mutex_unlock(&log->lock);
}

/* True once the VM reached state within timeout_ms. */
static bool wait_state(struct test_vm *t, VMSTATE st, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_mutex_lock(&t->log.lock);
    while (t->log.last != st && now_ns() < deadline) {
        pthread_mutex_unlock(&t->log.lock);
        sleep_ms(2);
        pthread_mutex_lock(&t->log.lock);
    }
    bool ok = t->log.last == st;
    pthread_mutex_unlock(&t->log.lock);
    return ok;
}

static int ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm;
    const struct guest_cfg *c = user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), boot = NULL, con = NULL, em = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, c->image);
    int rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(32) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "NumCPUs", c->cpus);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", c->engine ? c->engine : "kvm");
    if (RT_SUCCESS(rc) && c->power_off_instead_of_reset) rc = CFGMR3InsertInteger(root, "PowerOffInsteadOfReset", 1);
    if (RT_SUCCESS(rc) && c->cap) rc = CFGMR3InsertInteger(root, "CpuExecutionCap", c->cap);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "EM", &em);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(em, "TripleFaultReset", c->triple_fault_reset);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &boot);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Image", path);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Mode", c->mode);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &con);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(con, "Output", c->console);
    return rc;
}

static void vm_create(struct test_vm *t, const char *image, const char *mode, uint32_t cpus)
{
    memset(t, 0, sizeof(*t));
    t->cfg.image = image;
    t->cfg.mode = mode;
    t->cfg.cpus = cpus;
    strcpy(t->cfg.console, "/tmp/petrel-kvm-XXXXXX");
    int fd = mkstemp(t->cfg.console);
    if (fd >= 0)
        close(fd);
    pthread_mutex_init(&t->log.lock, NULL);
    pthread_cond_init(&t->log.cond, NULL);
    t->log.last = VMSTATE_CREATING;
}

static int vm_build(struct test_vm *t)
{
    int rc = VMR3Create(t->cfg.cpus, NULL, on_error, &t->log, ctor, &t->cfg, &t->vm, &t->uvm);
    if (RT_SUCCESS(rc))
        rc = VMR3AtStateRegister(t->uvm, on_state, &t->log);
    return rc;
}

static void vm_start(struct test_vm *t, const char *image, const char *mode, uint32_t cpus)
{
    vm_create(t, image, mode, cpus);
    assert_int_equal(vm_build(t), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t->uvm), VINF_SUCCESS);
}

/* Powers off from EMT(0) through a poked request, so a busy guest stops at once. */
static void vm_finish(struct test_vm *t)
{
    if (t->uvm) {
        VMSTATE st = VMR3GetStateU(t->uvm);
        PVMREQ req = NULL;
        if (st != VMSTATE_OFF && st != VMSTATE_CREATED
            && RT_SUCCESS(VMR3ReqCallU(t->uvm, 0, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE,
                                       (PFNRT)VMR3PowerOff, 1, t->uvm)))
            VMR3ReqFree(req);
        VMR3AtStateDeregister(t->uvm, on_state, &t->log);
        VMR3Destroy(t->uvm);
        VMR3ReleaseUVM(t->uvm);
        t->uvm = NULL;
    }
}

static char *read_console(struct test_vm *t)
{
    static char buf[4096];
    memset(buf, 0, sizeof(buf));
    FILE *f = fopen(t->cfg.console, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    unlink(t->cfg.console);
    return buf;
}

static int kvm_check(void **state)
{
    (void)state;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        printf("SKIP: /dev/kvm is absent; the KVM guest tests need it\n");
        return -1;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

#define KVM_SKIP_IF_ABSENT() do { if (kvm_check(state) < 0) { skip(); } } while (0)

static void run_hello(void **state, const char *image, const char *mode, const char *expect, uint32_t code)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, image, mode, 1);
    assert_true(wait_state(&t, VMSTATE_OFF, 20000));
    uint32_t got = 0;
    assert_int_equal(VMR3GetGuestExitCode(t.uvm, &got), VINF_SUCCESS);
    assert_int_equal(got, code);
    vm_finish(&t);
    assert_string_equal(read_console(&t), expect);
}

static void test_hello_real(void **state)
{
    run_hello(state, "hello_real.bin", "real", "Hello from real mode\n", 0x21);
}

static void test_hello_protected(void **state)
{
    run_hello(state, "hello_prot.bin", "protected", "Hello from protected mode\n", 0x41);
}

static void test_hello_long(void **state)
{
    run_hello(state, "hello_long.bin", "long", "Hello from long mode\n", 0x61);
}

static void test_smp_ids(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, "smp_ids.bin", "long", 4);
    assert_true(wait_state(&t, VMSTATE_OFF, 30000));
    uint32_t code = 0;
    assert_int_equal(VMR3GetGuestExitCode(t.uvm, &code), VINF_SUCCESS);
    assert_int_equal(code, 1);
    vm_finish(&t);
    const char *out = read_console(&t);
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    for (int id = 0; id < 4; id++) {
        char want[16];
        snprintf(want, sizeof(want), "cpu %d\n", id);
        const char *hit = strstr(out, want);
        assert_non_null(hit);
        assert_null(strstr(hit + 1, want));           /* exactly once */
    }
}

static void test_hlt_is_idle(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, "hlt_forever.bin", "real", 1);
    sleep_ms(300);                     /* let it reach HLT */
    uint64_t cpu0 = process_cpu_ns(), t0 = now_ns();
    sleep_ms(1000);
    uint64_t cpu = process_cpu_ns() - cpu0, wall = now_ns() - t0;
    printf("HLT guest: %.2f%% of one CPU\n", 100.0 * (double)cpu / (double)wall);
    assert_true(cpu * 50 < wall);      /* < 2 % */
    assert_true(RT_SUCCESS(VMR3Suspend(t.uvm, VMSUSPENDREASON_USER)));
    assert_int_equal(VMR3GetStateU(t.uvm), VMSTATE_SUSPENDED);
    vm_finish(&t);
    read_console(&t);
}

static int busy_probe(void)
{
    return 42;
}

enum vm_op { OP_SUSPEND, OP_RESUME, OP_RESET, OP_POWER_OFF };

struct timed_op {
    PUVM        uvm;
    enum vm_op  op;
    int         rc;
    atomic_bool done;
};

static void *timed_op_thread(void *arg)
{
    struct timed_op *o = arg;
    switch (o->op) {
    case OP_SUSPEND:   o->rc = VMR3Suspend(o->uvm, VMSUSPENDREASON_USER); break;
    case OP_RESUME:    o->rc = VMR3Resume(o->uvm, VMRESUMEREASON_USER); break;
    case OP_RESET:     o->rc = VMR3Reset(o->uvm); break;
    case OP_POWER_OFF: o->rc = VMR3PowerOff(o->uvm); break;
    }
    atomic_store(&o->done, true);
    return NULL;
}

/*
 * Runs op on another thread and checks it completes within 50 ms.  If it
 * hangs (nobody poked the busy vCPU), a poked no-op request to vCPU 0
 * unsticks it so the test fails instead of hanging.
 */
static void within_50ms(struct test_vm *t, enum vm_op op, const char *what)
{
    struct timed_op o = { .uvm = t->uvm, .op = op };
    pthread_t th;
    uint64_t t0 = now_ns();
    assert_int_equal(pthread_create(&th, NULL, timed_op_thread, &o), 0);
    while (!atomic_load(&o.done) && now_ns() - t0 < UINT64_C(1000000000))
        sleep_ms(1);
    uint64_t ms = (now_ns() - t0) / 1000000u;
    bool hung = !atomic_load(&o.done);
    if (hung) {
        PVMREQ req = NULL;
        if (RT_SUCCESS(VMR3ReqCallU(t->uvm, 0, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE,
                                    (PFNRT)busy_probe, 0)))
            VMR3ReqFree(req);
    }
    pthread_join(th, NULL);
    printf("%s: rc=%d in %llu ms%s\n", what, o.rc, (unsigned long long)ms,
           hung ? " (HUNG: the busy vCPU was never poked)" : "");
    assert_false(hung);
    assert_true(RT_SUCCESS(o.rc));
    assert_true(ms < 50);
}

static void test_busy_loop_control(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, "busy_loop.bin", "long", 1);
    sleep_ms(100);
    within_50ms(&t, OP_SUSPEND, "suspend");
    assert_int_equal(VMR3GetStateU(t.uvm), VMSTATE_SUSPENDED);
    within_50ms(&t, OP_RESUME, "resume");
    assert_int_equal(VMR3GetStateU(t.uvm), VMSTATE_RUNNING);
    sleep_ms(50);
    uint32_t resets = VMGetResetCount(t.vm);
    within_50ms(&t, OP_RESET, "reset");
    assert_int_equal(VMGetResetCount(t.vm), resets + 1);
    sleep_ms(50);
    within_50ms(&t, OP_POWER_OFF, "power off");
    assert_int_equal(VMR3GetStateU(t.uvm), VMSTATE_OFF);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

/*
 * A request with VMREQFLAGS_POKE reaches a vCPU spinning in guest code
 * promptly.  Host scheduling (a 4 ms tick on a busy 2-CPU host) can delay
 * a single kick, so 2 slow rounds in 20 are tolerated.
 */
static void test_poke_busy_vcpu(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, "busy_loop.bin", "long", 1);
    sleep_ms(100);
    unsigned slow = 0;
    uint64_t worst = 0;
    for (int i = 0; i < 20; i++) {
        PVMREQ req = NULL;
        uint64_t t0 = now_ns();
        int rc = VMR3ReqCallU(t.uvm, 0, &req, 5000, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE,
                              (PFNRT)busy_probe, 0);
        uint64_t us = (now_ns() - t0) / 1000u;
        assert_int_equal(rc, VINF_SUCCESS);
        assert_int_equal(req->iStatus, 42);
        VMR3ReqFree(req);
        slow += us >= 50000;
        worst = us > worst ? us : worst;
        sleep_ms(5);
    }
    printf("poked request round trips: worst %llu us, %u of 20 over 50 ms\n", (unsigned long long)worst, slow);
    assert_true(slow <= 2);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

static void test_triple_fault_resets(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_create(&t, "triple_fault.bin", "long", 1);
    t.cfg.triple_fault_reset = true;
    assert_int_equal(vm_build(&t), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t.uvm), VINF_SUCCESS);
    uint64_t deadline = now_ns() + UINT64_C(10000000000);
    /* Two resets: the guest printed again after the first before faulting again. */
    while (VMGetResetCount(t.vm) < 2 && now_ns() < deadline)
        sleep_ms(5);
    assert_true(VMGetResetCount(t.vm) >= 2);
    VMSTATE st = VMR3GetStateU(t.uvm);
    assert_true(st == VMSTATE_RUNNING || st == VMSTATE_RESETTING);
    vm_finish(&t);
    assert_non_null(strstr(read_console(&t), "T\nT\n"));
}

static void test_triple_fault_powers_off(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_create(&t, "triple_fault.bin", "long", 1);
    t.cfg.triple_fault_reset = true;
    t.cfg.power_off_instead_of_reset = true;
    assert_int_equal(vm_build(&t), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t.uvm), VINF_SUCCESS);
    assert_true(wait_state(&t, VMSTATE_OFF, 10000));
    assert_int_equal(VMGetResetCount(t.vm), 0);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

static void test_triple_fault_guru(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_start(&t, "triple_fault.bin", "long", 1);
    assert_true(wait_state(&t, VMSTATE_GURU_MEDITATION, 10000));
    pthread_mutex_lock(&t.log.lock);
    printf("guru: %s\n", t.log.error);
    assert_non_null(strstr(t.log.error, "triple fault"));
    pthread_mutex_unlock(&t.log.lock);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

static void test_execution_cap(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_create(&t, "busy_loop.bin", "long", 1);
    t.cfg.cap = 30;
    assert_int_equal(vm_build(&t), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(t.uvm), VINF_SUCCESS);
    sleep_ms(300);
    /* The cap limits the vCPU's own thread, so that is what is measured. */
    uint64_t cpu0 = emt0_cpu_ns(t.uvm), t0 = now_ns();
    sleep_ms(2000);
    double pct = 100.0 * (double)(emt0_cpu_ns(t.uvm) - cpu0) / (double)(now_ns() - t0);
    printf("busy guest capped at 30%%: EMT used %.1f%% of one CPU\n", pct);
    assert_true(pct >= 20.0 && pct <= 40.0);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

static void test_config_errors(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_create(&t, "hello_real.bin", "real", 1);
    t.cfg.engine = "interp";
    int rc = vm_build(&t);
    if (rc != VERR_NOT_SUPPORTED)      /* the interpreter may exist by now */
        assert_true(RT_SUCCESS(rc));
    else
        assert_non_null(strstr(t.log.error, "interp"));
    vm_finish(&t);
    read_console(&t);   /* removes the console file */

    vm_create(&t, "no_such_guest.bin", "real", 1);
    assert_int_equal(vm_build(&t), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(t.log.error, "no_such_guest.bin"));
    t.uvm = NULL;
    vm_finish(&t);
    read_console(&t);   /* removes the console file */

    vm_create(&t, "hello_real.bin", "sideways", 1);
    assert_int_equal(vm_build(&t), VERR_INVALID_PARAMETER);
    assert_non_null(strstr(t.log.error, "/Boot/Mode"));
    t.uvm = NULL;
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

/* On the vCPU's EMT: get, set back, get again; both snapshots must agree. */
static int state_round_trip(PVM vm, struct cpu_state *a, struct cpu_state *b)
{
    PVMCPU vcpu = vm->apCpus[0];
    int rc = vm->engine->get_state(vcpu, a);
    if (RT_SUCCESS(rc))
        rc = vm->engine->set_state(vcpu, a);
    if (RT_SUCCESS(rc))
        rc = vm->engine->get_state(vcpu, b);
    return rc;
}

static void test_state_round_trip(void **state)
{
    KVM_SKIP_IF_ABSENT();
    struct test_vm t;
    vm_create(&t, "hello_long.bin", "long", 1);
    assert_int_equal(vm_build(&t), VINF_SUCCESS);
    struct cpu_state *a = aligned_alloc(64, sizeof(*a)), *b = aligned_alloc(64, sizeof(*b));
    assert_int_equal(VMR3ReqCallWaitU(t.uvm, 0, (PFNRT)state_round_trip, 3, t.vm, a, b), VINF_SUCCESS);
    /* What the flat loader promised (src/boot/flat_loader.h). */
    assert_true(a->rip == 0x100000 && a->gpr[GPR_RSI] == 1 && a->gpr[GPR_RDI] == 0);
    assert_int_equal(a->seg[SEG_CS].selector, 0x18);
    assert_true(a->seg[SEG_CS].attr & SEG_ATTR_L);
    assert_true(a->cr3 == 0x2000 && (a->cr0 & CR0_PG) && (a->efer & EFER_LMA));
    assert_true(a->msr.pat == UINT64_C(0x0007040600070406));
    assert_int_equal(a->run_state, CPU_RUNNABLE);
    /* The round trip loses nothing but the running TSC. */
    a->msr.tsc = b->msr.tsc;
    assert_memory_equal(a->gpr, b->gpr, sizeof(a->gpr));
    assert_memory_equal(a->seg, b->seg, sizeof(a->seg));
    assert_memory_equal(&a->msr, &b->msr, sizeof(a->msr));
    assert_memory_equal(a->xsave, b->xsave, 512);
    assert_true(a->cr0 == b->cr0 && a->cr4 == b->cr4 && a->efer == b->efer && a->xcr0 == b->xcr0);
    assert_true(a->gdtr.base == b->gdtr.base && a->gdtr.limit == b->gdtr.limit && a->dr7 == b->dr7);
    free(a);
    free(b);
    vm_finish(&t);
    read_console(&t);   /* removes the console file */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (getenv("PETREL_TEST_FILTER"))          /* run a subset while debugging */
        cmocka_set_test_filter(getenv("PETREL_TEST_FILTER"));
    if (getenv("PETREL_TEST_SKIP"))
        cmocka_set_skip_filter(getenv("PETREL_TEST_SKIP"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_real),
        cmocka_unit_test(test_hello_protected),
        cmocka_unit_test(test_hello_long),
        cmocka_unit_test(test_smp_ids),
        cmocka_unit_test(test_hlt_is_idle),
        cmocka_unit_test(test_poke_busy_vcpu),
        cmocka_unit_test(test_busy_loop_control),
        cmocka_unit_test(test_triple_fault_resets),
        cmocka_unit_test(test_triple_fault_powers_off),
        cmocka_unit_test(test_triple_fault_guru),
        cmocka_unit_test(test_execution_cap),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_state_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
