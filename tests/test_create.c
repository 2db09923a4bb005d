/*
 * VMR3Create and configuration, errors and runtime errors, vCPU-level calls
 * (hot plug, execution cap, topology ids, threads) through the public API.
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cpuid.h>
#include <fcntl.h>

#include "vm_fixture.h"

/* --- VMR3Create argument checks --- */

static void test_create_bad_arguments(void **s)
{
    (void)s;
    PUVM uvm = NULL;
    PVM vm = NULL;
    assert_int_equal(VMR3Create(0, NULL, NULL, NULL, NULL, NULL, NULL, &uvm), VERR_TOO_MANY_CPUS);
    assert_int_equal(VMR3Create(65, NULL, NULL, NULL, NULL, NULL, NULL, &uvm), VERR_TOO_MANY_CPUS);
    assert_int_equal(VMR3Create(1, NULL, NULL, NULL, NULL, NULL, NULL, NULL), VERR_INVALID_PARAMETER);
    VMM2USERMETHODS bad = { .u32Magic = VMM2USERMETHODS_MAGIC, .u32Version = 1, .u32EndMagic = VMM2USERMETHODS_MAGIC };
    assert_int_equal(VMR3Create(1, &bad, NULL, NULL, NULL, NULL, &vm, &uvm), VERR_INVALID_PARAMETER);
    assert_null(uvm);
    assert_null(vm);
}

/* --- the constructor runs on EMT(0) and can fail creation --- */

struct ctor_probe {
    bool ran_on_emt0;
    int  fail_with;
    bool set_numcpus_wrong;
};

static int probe_ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    struct ctor_probe *p = user;
    p->ran_on_emt0 = VMR3GetVMCPUThread(uvm) != NIL_RTTHREAD && VMR3GetVMCPUId(vm) == 0
                  && vmm == VMMR3GetVTable() && VMR3GetStateU(uvm) == VMSTATE_CREATING;
    if (p->fail_with)
        return p->fail_with;
    PCFGMNODE root = CFGMR3GetRoot(vm);
    if (p->set_numcpus_wrong)
        return CFGMR3InsertInteger(root, "NumCPUs", 3);
    int rc = CFGMR3InsertString(root, "Name", "probe");
    static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertBytes(root, "UUID", uuid, sizeof(uuid));
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(root, "RamSize", 4 << 20);
    return rc;
}

static void test_create_constructor(void **s)
{
    (void)s;
    struct fixture_log log;
    fixture_log_init(&log);
    struct ctor_probe probe = { 0 };
    PUVM uvm = NULL;
    PVM vm = NULL;
    assert_int_equal(VMR3Create(1, NULL, fixture_on_error, &log, probe_ctor, &probe, &vm, &uvm), VINF_SUCCESS);
    assert_true(probe.ran_on_emt0);
    assert_ptr_equal(VMR3GetVM(uvm), vm);
    assert_ptr_equal(VMR3GetUVM(vm), uvm);
    assert_string_equal(VMR3GetName(uvm), "probe");
    RTUUID uuid;
    assert_ptr_equal(VMR3GetUuid(uvm, &uuid), &uuid);
    assert_int_equal(uuid.au8[0], 1);
    assert_int_equal(uuid.au8[15], 16);
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_CREATED);
    /* The caller's reference plus the internal one. */
    assert_int_equal(VMR3RetainUVM(uvm), 3);
    assert_int_equal(VMR3ReleaseUVM(uvm), 2);
    assert_int_equal(VMR3Destroy(uvm), VINF_SUCCESS);
    assert_int_equal(VMR3ReleaseUVM(uvm), 0);

    /* A failing constructor fails creation with its status and reports it. */
    probe.fail_with = VERR_CFGM_NOT_STRING;
    uvm = NULL;
    fixture_log_init(&log);
    assert_int_equal(VMR3Create(1, NULL, fixture_on_error, &log, probe_ctor, &probe, &vm, &uvm), VERR_CFGM_NOT_STRING);
    assert_null(uvm);
    assert_int_equal(log.n_errors, 1);
    assert_int_equal(log.last_error_rc, VERR_CFGM_NOT_STRING);

    /* NumCPUs must match cCpus. */
    probe.fail_with = 0;
    probe.set_numcpus_wrong = true;
    fixture_log_init(&log);
    assert_int_equal(VMR3Create(2, NULL, fixture_on_error, &log, probe_ctor, &probe, NULL, &uvm), VERR_INVALID_PARAMETER);
    assert_non_null(strstr(log.last_error, "NumCPUs"));
}

/* "auto": KVM where /dev/kvm opens and the CPU has vmx/svm, else the interpreter. */
static uint8_t auto_engine_expected(void)
{
    unsigned a, b, c, d;
    bool virt = (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5))) ||
                (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)));
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd >= 0 && virt ? VM_EXEC_ENGINE_NATIVE_API : VM_EXEC_ENGINE_IEM;
}

static void test_create_default_tree(void **s)
{
    (void)s;
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(1, NULL, NULL, NULL, NULL, NULL, NULL, &uvm), VINF_SUCCESS);
    assert_string_equal(VMR3GetName(uvm), "Default VM");
    uint8_t engine = 0;
    assert_int_equal(EMR3QueryMainExecutionEngine(uvm, &engine), VINF_SUCCESS);
    assert_int_equal(engine, auto_engine_expected());
    char why[256];
    assert_int_equal(EMR3QueryExecutionEngineReason(uvm, why, sizeof(why)), VINF_SUCCESS);
    assert_non_null(strstr(why, "auto: "));
    assert_int_equal(EMR3QueryExecutionEngineReason(uvm, why, 4), VERR_BUFFER_OVERFLOW);
    assert_int_equal(strlen(why), 3);
    assert_int_equal(EMR3QueryExecutionEngineReason(uvm, NULL, 4), VERR_INVALID_POINTER);
    assert_int_equal(EMR3QueryExecutionEngineReason(NULL, why, sizeof(why)), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3PowerOff(uvm), VINF_EM_OFF);
    assert_int_equal(VMR3Destroy(uvm), VINF_SUCCESS);
    assert_int_equal(VMR3ReleaseUVM(uvm), 0);
}

/* --- VMM2USERMETHODS notifications --- */

static atomic_int emt_inits, emt_terms, reset_to_off;
static void note_init(PCVMM2USERMETHODS t, PUVM u, PUVMCPU c) { (void)t; (void)u; (void)c; atomic_fetch_add(&emt_inits, 1); }
static void note_term(PCVMM2USERMETHODS t, PUVM u, PUVMCPU c) { (void)t; (void)u; (void)c; atomic_fetch_add(&emt_terms, 1); }
static void note_reset_off(PCVMM2USERMETHODS t, PUVM u) { (void)t; (void)u; atomic_fetch_add(&reset_to_off, 1); }

static void test_user_methods(void **s)
{
    (void)s;
    static const VMM2USERMETHODS methods = {
        .u32Magic = VMM2USERMETHODS_MAGIC, .u32Version = VMM2USERMETHODS_VERSION,
        .pfnNotifyEmtInit = note_init, .pfnNotifyEmtTerm = note_term,
        .pfnNotifyResetTurnedIntoPowerOff = note_reset_off, .u32EndMagic = VMM2USERMETHODS_MAGIC,
    };
    struct fixture_config cfg = { .cpus = 3, .ram_mib = 4, .power_off_instead_of_reset = true };
    PUVM uvm = NULL;
    assert_int_equal(VMR3Create(3, &methods, NULL, NULL, fixture_ctor, &cfg, NULL, &uvm), VINF_SUCCESS);
    assert_int_equal(VMR3Reset(uvm), VINF_EM_OFF);       /* CREATED + PowerOffInsteadOfReset */
    assert_int_equal(atomic_load(&reset_to_off), 1);
    assert_int_equal(VMR3Destroy(uvm), VINF_SUCCESS);
    assert_int_equal(atomic_load(&emt_inits), 3);
    assert_int_equal(atomic_load(&emt_terms), 3);
    VMR3ReleaseUVM(uvm);
}

/* --- errors --- */

struct error_probe {
    int calls;
    bool on_emt;
    char text[128];
    PUVM uvm;
};

static void probe_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)rc; (void)pszFile; (void)iLine; (void)pszFunction;
    struct error_probe *p = user;
    p->calls++;
    p->on_emt = VMR3GetVMCPUThread(uvm) != NIL_RTTHREAD;
    vsnprintf(p->text, sizeof(p->text), fmt, va);
}

static void test_set_error(void **s)
{
    (void)s;
    struct fixture_config cfg = { .cpus = 1, .ram_mib = 4 };
    PUVM uvm = NULL;
    assert_int_equal(fixture_create(&cfg, NULL, &uvm), VINF_SUCCESS);
    struct error_probe a = { 0 }, b = { 0 };
    assert_int_equal(VMR3AtErrorRegister(NULL, probe_error, &a), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3AtErrorRegister(uvm, NULL, &a), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3AtErrorRegister(uvm, probe_error, &a), VINF_SUCCESS);
    assert_int_equal(VMR3AtErrorRegister(uvm, probe_error, &b), VINF_SUCCESS);
    unsigned before = VMR3GetErrorCount(uvm);
    assert_int_equal(VMR3SetError(uvm, VERR_ACCESS_DENIED, RT_SRC_POS, "disk %s is %d%% full", "vda", 99), VERR_ACCESS_DENIED);
    assert_int_equal(VMSetError(VMR3GetVM(uvm), VERR_DISK_FULL, RT_SRC_POS, "plain"), VERR_DISK_FULL);
    assert_int_equal(VMR3GetErrorCount(uvm), before + 2);
    assert_int_equal(a.calls, 2);
    assert_int_equal(b.calls, 2);
    assert_true(a.on_emt);                 /* delivered on an EMT */
    assert_string_equal(b.text, "plain");
    assert_int_equal(VMR3AtErrorDeregister(uvm, probe_error, &a), VINF_SUCCESS);
    assert_int_equal(VMR3AtErrorDeregister(uvm, probe_error, &a), VERR_FILE_NOT_FOUND);
    VMR3SetError(uvm, VERR_GENERAL_FAILURE, RT_SRC_POS, "third");
    assert_int_equal(a.calls, 2);
    assert_int_equal(b.calls, 3);
    fixture_destroy(uvm);
}

/* --- runtime errors --- */

struct rt_probe {
    pthread_mutex_t lock;
    int calls;
    uint32_t flags;
    char id[64], text[128];
};

static void probe_runtime(PUVM uvm, void *user, uint32_t flags, const char *id, const char *fmt, va_list va)
{
    (void)uvm;
    struct rt_probe *p = user;
    pthread_mutex_lock(&p->lock);
    p->calls++;
    p->flags = flags;
    snprintf(p->id, sizeof(p->id), "%s", id);
    vsnprintf(p->text, sizeof(p->text), fmt, va);
    pthread_mutex_unlock(&p->lock);
}

static void test_runtime_errors(void **s)
{
    (void)s;
    struct fixture_config cfg = { .cpus = 2, .ram_mib = 16, .image = "hlt_forever.bin", .mode = "long" };
    PUVM uvm = NULL;
    assert_int_equal(fixture_create(&cfg, NULL, &uvm), VINF_SUCCESS);
    PVM vm = VMR3GetVM(uvm);
    struct rt_probe p = { .lock = PTHREAD_MUTEX_INITIALIZER };
    assert_int_equal(VMR3AtRuntimeErrorRegister(uvm, probe_runtime, &p), VINF_SUCCESS);

    /* Informational, in CREATED: nothing changes. */
    assert_int_equal(VMSetRuntimeError(vm, 0, "InfoOnly", "value %d", 7), VINF_SUCCESS);
    assert_int_equal(p.calls, 1);
    assert_string_equal(p.text, "value 7");
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_CREATED);
    /* Bad flags. */
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_FATAL | VMSETRTERR_FLAGS_SUSPEND, "X", "x"), VERR_INVALID_PARAMETER);
    assert_int_equal(VMSetRuntimeError(vm, 0x80, "X", "x"), VERR_INVALID_FLAGS);

    /* SUSPEND on a running VM suspends it with reason RUNTIME_ERROR. */
    assert_int_equal(VMR3PowerOn(uvm), VINF_SUCCESS);
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_SUSPEND, "DiskFull", "disk full"), VINF_EM_SUSPEND);
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_SUSPENDED);
    assert_int_equal(VMR3GetSuspendReason(uvm), VMSUSPENDREASON_RUNTIME_ERROR);
    /* Repeated while suspended: harmless. */
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_SUSPEND, "DiskFull", "again"), VINF_SUCCESS);

    /* NO_WAIT from a foreign thread: preformatted, delivered later with the bit kept. */
    int before = p.calls;
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_NO_WAIT, "Later", "n=%d", 42), VINF_SUCCESS);
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&p.lock);
        bool done = p.calls > before;
        pthread_mutex_unlock(&p.lock);
        if (done)
            break;
        usleep(1000);
    }
    pthread_mutex_lock(&p.lock);
    assert_int_equal(p.calls, before + 1);
    assert_string_equal(p.id, "Later");
    assert_string_equal(p.text, "n=42");
    assert_true(p.flags & VMSETRTERR_FLAGS_NO_WAIT);
    pthread_mutex_unlock(&p.lock);

    /* FATAL: RUNNING -> FATAL_ERROR; only power-off is possible then. */
    assert_int_equal(VMR3Resume(uvm, VMRESUMEREASON_USER), VINF_EM_RESUME);
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_FATAL, "Fatal", "dead"), VINF_EM_SUSPEND);
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_FATAL_ERROR);
    /* FATAL in a state that does not allow it: the invalid-state error, callbacks still run. */
    before = p.calls;
    assert_int_equal(VMSetRuntimeError(vm, VMSETRTERR_FLAGS_FATAL, "Fatal", "again"), VERR_VM_INVALID_VM_STATE);
    assert_int_equal(p.calls, before + 1);
    assert_true(VMR3GetRuntimeErrorCount(uvm) >= 5);
    assert_int_equal(VMR3AtRuntimeErrorDeregister(uvm, probe_runtime, &p), VINF_SUCCESS);
    assert_int_equal(VMR3AtRuntimeErrorDeregister(uvm, probe_runtime, &p), VERR_FILE_NOT_FOUND);
    fixture_destroy(uvm);
}

/* --- vCPU-level calls --- */

static void test_cpu_calls(void **s)
{
    (void)s;
    struct fixture_config cfg = { .cpus = 4, .ram_mib = 4 };
    PUVM uvm = NULL;
    assert_int_equal(fixture_create(&cfg, NULL, &uvm), VINF_SUCCESS);
    uint32_t core = 99, pkg = 99;
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(VMR3GetCpuCoreAndPackageIdFromCpuId(uvm, i, &core, &pkg), VINF_SUCCESS);
        assert_int_equal(core, i);
        assert_int_equal(pkg, 0);
    }
    assert_int_equal(VMR3GetCpuCoreAndPackageIdFromCpuId(uvm, 4, &core, &pkg), VERR_INVALID_CPU_ID);
    assert_int_equal(VMR3GetCpuCoreAndPackageIdFromCpuId(uvm, 0, NULL, &pkg), VERR_INVALID_POINTER);
    assert_int_equal(VMR3SetCpuExecutionCap(uvm, 0), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3SetCpuExecutionCap(uvm, 101), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3SetCpuExecutionCap(uvm, 50), VINF_SUCCESS);
    assert_int_equal(VMR3SetCpuExecutionCap(uvm, 100), VINF_SUCCESS);
    assert_int_equal(VMR3HotPlugCpu(uvm, 4), VERR_INVALID_CPU_ID);
    assert_int_equal(VMR3HotPlugCpu(uvm, 3), VINF_SUCCESS);
    assert_int_equal(VMR3HotUnplugCpu(uvm, 4), VERR_INVALID_CPU_ID);
    assert_int_equal(VMR3HotUnplugCpu(uvm, 0), VERR_NOT_SUPPORTED);
    assert_int_equal(VMR3HotUnplugCpu(uvm, 3), VINF_SUCCESS);
    /* Not an EMT: no EMT thread handle. */
    assert_true(VMR3GetVMCPUThread(uvm) == NIL_RTTHREAD);
    assert_true(VMR3GetVMCPUNativeThreadU(uvm) == NIL_RTNATIVETHREAD);
    assert_int_equal(VMR3GetActiveEmts(uvm), 4);
    fixture_destroy(uvm);
}

/* Each EMT knows it is one, with its own id, thread and name. */
static int report_identity(PUVM uvm, VMCPUID *id, RTNATIVETHREAD *native, char *name)
{
    *id = VMR3GetVMCPUId(VMR3GetVM(uvm));
    *native = VMR3GetVMCPUNativeThreadU(uvm);
    pthread_getname_np(pthread_self(), name, 16);
    return VINF_SUCCESS;
}

static void test_emt_identity(void **s)
{
    (void)s;
    struct fixture_config cfg = { .cpus = 3, .ram_mib = 4 };
    PUVM uvm = NULL;
    assert_int_equal(fixture_create(&cfg, NULL, &uvm), VINF_SUCCESS);
    for (VMCPUID i = 0; i < 3; i++) {
        VMCPUID id = NIL_VMCPUID;
        RTNATIVETHREAD native = NIL_RTNATIVETHREAD;
        char name[16] = "", want[16];
        assert_int_equal(VMR3ReqCallWaitU(uvm, i, (PFNRT)report_identity, 4, uvm, &id, &native, name), VINF_SUCCESS);
        assert_int_equal(id, i);
        assert_true(native != NIL_RTNATIVETHREAD);
        snprintf(want, sizeof(want), "EMT-%u", i);
        assert_string_equal(name, want);
    }
    fixture_destroy(uvm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_bad_arguments),
        cmocka_unit_test(test_create_constructor),
        cmocka_unit_test(test_create_default_tree),
        cmocka_unit_test(test_user_methods),
        cmocka_unit_test(test_set_error),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_cpu_calls),
        cmocka_unit_test(test_emt_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
