/*
 * Request queue tests (src/core/vm_req.c): targets, flags, argument
 * validation, timeouts, 0..64 arguments, EMT-to-self calls, priority,
 * and a many-threads stress run.  The VMs have no guest: requests are
 * served in the CREATED state.
 *
 * Functions run on EMTs never use cmocka asserts (they longjmp): they record
 * what they saw and the test thread asserts on it afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/vmapi.h>
#include "core/vm_internal.h"

#define TEST_CPUS 4

/* ------------------------------------------------------------------------ */
/* VM set-up.                                                                */
/* ------------------------------------------------------------------------ */

static int test_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm;
    PCFGMNODE root = CFGMR3GetRoot(vm);
    int rc = CFGMR3InsertInteger(root, "NumCPUs", (uint64_t)(uintptr_t)user);
    if (RT_SUCCESS(rc))
        rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(2) * 1024 * 1024);
    return rc;
}

static PUVM create_vm(uint32_t cpus)
{
    PUVM uvm = NULL;
    int rc = VMR3Create(cpus, NULL, NULL, NULL, test_config, (void *)(uintptr_t)cpus, NULL, &uvm);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_non_null(uvm);
    return uvm;
}

static void destroy_vm(PUVM uvm)
{
    assert_true(RT_SUCCESS(VMR3PowerOff(uvm)));
    assert_int_equal(VMR3Destroy(uvm), VINF_SUCCESS);
    VMR3ReleaseUVM(uvm);
}

static int group_setup(void **state)
{
    *state = create_vm(TEST_CPUS);
    return 0;
}

static int group_teardown(void **state)
{
    destroy_vm(*state);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers run on EMTs.                                                      */
/* ------------------------------------------------------------------------ */

/*
 * A gate an EMT blocks on until the test opens it.  There is one, static,
 * and every test's teardown opens it and waits until no EMT is inside, so a
 * failing test cannot leave an EMT stuck (or waiting on a dead stack frame).
 */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    bool            entered, open;
    int             inside;
};
static struct gate g_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0 };

static int gate_fn(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    g->inside++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    g->inside--;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    return VINF_SUCCESS;
}

/* A closed gate for a new test (the previous teardown emptied it). */
static struct gate *gate_reset(void)
{
    pthread_mutex_lock(&g_gate.lock);
    g_gate.entered = g_gate.open = false;
    pthread_mutex_unlock(&g_gate.lock);
    return &g_gate;
}

static void gate_wait_entered(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (!g->entered)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static int open_gate_teardown(void **state)
{
    (void)state;
    gate_open(&g_gate);
    pthread_mutex_lock(&g_gate.lock);
    while (g_gate.inside > 0)
        pthread_cond_wait(&g_gate.cond, &g_gate.lock);
    pthread_mutex_unlock(&g_gate.lock);
    return 0;
}

/* Blocks vCPU `cpu` on the gate (NO_WAIT) and returns once it is inside. */
static void block_cpu(PUVM uvm, VMCPUID cpu, struct gate *g)
{
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, cpu, (PFNRT)gate_fn, 1, g), VINF_SUCCESS);
    gate_wait_entered(g);
}

/* An ordered log of tags written by EMTs. */
static struct {
    pthread_mutex_t lock;
    int n;
    int tags[256];
} g_log = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 } };

static void log_reset(void)
{
    pthread_mutex_lock(&g_log.lock);
    g_log.n = 0;
    pthread_mutex_unlock(&g_log.lock);
}

static void log_add(int tag)
{
    pthread_mutex_lock(&g_log.lock);
    if (g_log.n < (int)(sizeof(g_log.tags) / sizeof(g_log.tags[0])))
        g_log.tags[g_log.n++] = tag;
    pthread_mutex_unlock(&g_log.lock);
}

/* Asserts the log holds exactly `n` tags equal to `expected`. */
static void log_expect(const int *expected, int n)
{
    pthread_mutex_lock(&g_log.lock);
    int got = g_log.n;
    int tags[256];
    memcpy(tags, g_log.tags, sizeof(tags));
    pthread_mutex_unlock(&g_log.lock);
    assert_int_equal(got, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(tags[i], expected[i]);
}

static int log_tag_fn(uintptr_t tag)
{
    log_add((int)tag);
    return VINF_SUCCESS;
}

/* Logs the EMT it runs on and returns a status naming it (not an EM code). */
static int log_cpu_fn(PUVM uvm)
{
    VMCPUID id = vm_current_cpu_id(uvm);
    log_add((int)id);
    return 200 + (int)id;
}

/* Like log_cpu_fn but fails on vCPU 1, to show ALL does not stop there. */
static int log_cpu_fail_on_1_fn(PUVM uvm)
{
    VMCPUID id = vm_current_cpu_id(uvm);
    log_add((int)id);
    return id == 1 ? VERR_NOT_SUPPORTED : VINF_SUCCESS;
}

/* Stores the EMT it runs on. */
static int where_fn(PUVM uvm, VMCPUID *where)
{
    *where = vm_current_cpu_id(uvm);
    return 100 + (int)*where;
}

static int return_value_fn(uintptr_t value)
{
    return (int)value;
}

static atomic_int g_void_calls;
static void void_fn(uintptr_t garbage)
{
    (void)garbage;
    atomic_fetch_add(&g_void_calls, 1);
}

static int noop_fn(void)
{
    return VINF_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Targets.                                                                  */
/* ------------------------------------------------------------------------ */

static void test_specific_cpu(void **state)
{
    PUVM uvm = *state;
    for (VMCPUID cpu = 0; cpu < TEST_CPUS; cpu++) {
        VMCPUID where = NIL_VMCPUID;
        int rc = VMR3ReqCallWaitU(uvm, cpu, (PFNRT)where_fn, 2, uvm, &where);
        assert_int_equal(rc, 100 + (int)cpu);     /* the function's own status */
        assert_int_equal(where, cpu);
    }
}

static void test_any(void **state)
{
    PUVM uvm = *state;
    VMCPUID where = NIL_VMCPUID;
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, VMCPUID_ANY, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS,
                          (PFNRT)where_fn, 2, uvm, &where);
    /* From a non-EMT: the wait status is returned, the function's in iStatus. */
    assert_int_equal(rc, VINF_SUCCESS);
    assert_non_null(req);
    assert_true(where < TEST_CPUS);
    assert_int_equal(req->iStatus, 100 + (int)where);
    assert_int_equal(req->enmState, VMREQSTATE_COMPLETED);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);

    where = NIL_VMCPUID;
    rc = VMR3ReqCallWaitU(uvm, VMCPUID_ANY_QUEUE, (PFNRT)where_fn, 2, uvm, &where);
    assert_int_equal(rc, 100 + (int)where);
    assert_true(where < TEST_CPUS);
}

static void test_all_ascending(void **state)
{
    PUVM uvm = *state;
    log_reset();
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, VMCPUID_ALL, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS,
                          (PFNRT)log_cpu_fn, 1, uvm);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_int_equal(req->iStatus, 200 + TEST_CPUS - 1);  /* status of the last CPU */
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
    log_expect((const int[]){ 0, 1, 2, 3 }, 4);
}

static void test_all_reverse(void **state)
{
    PUVM uvm = *state;
    log_reset();
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, VMCPUID_ALL_REVERSE, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS,
                          (PFNRT)log_cpu_fn, 1, uvm);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_int_equal(req->iStatus, 200);                  /* CPU 0 is last */
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
    log_expect((const int[]){ 3, 2, 1, 0 }, 4);
}

static void test_all_function_failure_does_not_stop(void **state)
{
    PUVM uvm = *state;
    log_reset();
    int rc = VMR3ReqCallWaitU(uvm, VMCPUID_ALL, (PFNRT)log_cpu_fail_on_1_fn, 1, uvm);
    assert_int_equal(rc, VINF_SUCCESS);                   /* CPU 3's status */
    log_expect((const int[]){ 0, 1, 2, 3 }, 4);
}

/* ------------------------------------------------------------------------ */
/* Flags.                                                                    */
/* ------------------------------------------------------------------------ */

static void test_flag_void(void **state)
{
    PUVM uvm = *state;
    atomic_store(&g_void_calls, 0);
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, 1, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VOID,
                          (PFNRT)void_fn, 1, (uintptr_t)-12345);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_int_equal(req->iStatus, VINF_SUCCESS);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);

    assert_int_equal(VMR3ReqCallVoidWaitU(uvm, 2, (PFNRT)void_fn, 1, (uintptr_t)7), VINF_SUCCESS);
    assert_int_equal(VMR3ReqPriorityCallVoidWaitU(uvm, 3, (PFNRT)void_fn, 1, (uintptr_t)7), VINF_SUCCESS);
    assert_int_equal(atomic_load(&g_void_calls), 3);
}

static unsigned cached_packets(PUVM uvm)
{
    pthread_mutex_lock(&uvm->req_free_lock);
    unsigned n = uvm->req_free_count;
    pthread_mutex_unlock(&uvm->req_free_lock);
    return n;
}

static void test_flag_no_wait(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    log_reset();
    /* Fill the cache so the packets below come from and return to it. */
    PVMREQ warm[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(VMR3ReqAlloc(uvm, &warm[i], VMREQTYPE_INTERNAL, VMCPUID_ANY), VINF_SUCCESS);
    for (int i = 0; i < 8; i++)
        assert_int_equal(VMR3ReqFree(warm[i]), VINF_SUCCESS);
    unsigned cached = cached_packets(uvm);
    assert_true(cached >= 8);

    block_cpu(uvm, 2, gate);                             /* takes one packet */
    PVMREQ req = (PVMREQ)(uintptr_t)0x1;                  /* must be cleared */
    int rc = VMR3ReqCallU(uvm, 2, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_NO_WAIT,
                          (PFNRT)log_tag_fn, 1, (uintptr_t)1);
    assert_int_equal(rc, VINF_SUCCESS);                   /* returns at once although blocked */
    assert_null(req);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 2, (PFNRT)log_tag_fn, 1, (uintptr_t)2), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallVoidNoWait(VMR3GetVM(uvm), 2, (PFNRT)log_tag_fn, 1, (uintptr_t)3), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallNoWait(VMR3GetVM(uvm), 2, (PFNRT)log_tag_fn, 1, (uintptr_t)4), VINF_SUCCESS);
    assert_int_equal(cached_packets(uvm), cached - 5);
    gate_open(gate);

    /* FIFO: once this returns, the NO_WAIT ones ran and were freed by the EMT. */
    assert_int_equal(VMR3ReqCallWaitU(uvm, 2, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    log_expect((const int[]){ 1, 2, 3, 4 }, 4);
    assert_int_equal(cached_packets(uvm), cached);
}

static void test_flag_poke(void **state)
{
    PUVM uvm = *state;
    VMCPUID where = NIL_VMCPUID;
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, 3, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE,
                          (PFNRT)where_fn, 2, uvm, &where);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_int_equal(req->iStatus, 103);
    assert_int_equal(where, 3);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);

    rc = VMR3ReqCallU(uvm, VMCPUID_ANY, &req, RT_INDEFINITE_WAIT,
                      VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE | VMREQFLAGS_PRIORITY,
                      (PFNRT)where_fn, 2, uvm, &where);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_true(where < TEST_CPUS);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
}

static void test_priority_first(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    log_reset();
    block_cpu(uvm, 0, gate);
    const uint32_t nowait = VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_NO_WAIT;
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait, (PFNRT)log_tag_fn, 1, (uintptr_t)1), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait, (PFNRT)log_tag_fn, 1, (uintptr_t)2), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait | VMREQFLAGS_PRIORITY,
                                  (PFNRT)log_tag_fn, 1, (uintptr_t)10), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait, (PFNRT)log_tag_fn, 1, (uintptr_t)3), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait | VMREQFLAGS_PRIORITY,
                                  (PFNRT)log_tag_fn, 1, (uintptr_t)11), VINF_SUCCESS);
    gate_open(gate);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 0, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    log_expect((const int[]){ 10, 11, 1, 2, 3 }, 5);

    /* The priority wrappers return the function's status. */
    assert_int_equal(VMR3ReqPriorityCallWaitU(uvm, 1, (PFNRT)return_value_fn, 1, (uintptr_t)321), 321);
    assert_int_equal(VMR3ReqPriorityCallWait(VMR3GetVM(uvm), VMCPUID_ANY, (PFNRT)return_value_fn, 1,
                                             (uintptr_t)VERR_NOT_FOUND), VERR_NOT_FOUND);
    assert_int_equal(VMR3ReqCallWait(VMR3GetVM(uvm), 2, (PFNRT)return_value_fn, 1, (uintptr_t)5), 5);
    assert_int_equal(VMR3ReqCallVoidWait(VMR3GetVM(uvm), 2, (PFNRT)void_fn, 1, (uintptr_t)5), VINF_SUCCESS);
}

/* ------------------------------------------------------------------------ */
/* Bad arguments.                                                            */
/* ------------------------------------------------------------------------ */

static void test_bad_arguments(void **state)
{
    PUVM uvm = *state;
    PVMREQ req;
    static _Alignas(4096) uint8_t fake_uvm[8192];   /* aligned, but not a UVM */
    const uint32_t st = VMREQFLAGS_VBOX_STATUS;

    /* pfn is checked first, then the handle, flags, ppReq, count, target. */
    assert_int_equal(VMR3ReqCallU(uvm, 0, &req, 0, st, NULL, 0), VERR_INVALID_POINTER);
    assert_int_equal(VMR3ReqCallU(NULL, 0, &req, 0, 0x100, NULL, 0), VERR_INVALID_POINTER);
    assert_int_equal(VMR3ReqCallU(NULL, 0, &req, 0, st, (PFNRT)noop_fn, 0), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3ReqCallU((PUVM)fake_uvm, 0, &req, 0, st, (PFNRT)noop_fn, 0), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, 0x10, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3ReqCallU(uvm, 0, &req, 0, ~0u, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, st, (PFNRT)noop_fn, 0), VERR_INVALID_POINTER);

    req = (PVMREQ)(uintptr_t)0x1;
    assert_int_equal(VMR3ReqCallU(uvm, 0, &req, 0, st, (PFNRT)noop_fn, VMREQ_MAX_ARGS + 1), VERR_TOO_MUCH_DATA);
    assert_null(req);                                     /* cleared before the count check */
    assert_int_equal(VMR3ReqCallWaitU(uvm, 0, (PFNRT)noop_fn, 1000), VERR_TOO_MUCH_DATA);

    req = (PVMREQ)(uintptr_t)0x1;
    assert_int_equal(VMR3ReqCallU(uvm, NIL_VMCPUID, &req, 0, st, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    assert_null(req);
    assert_int_equal(VMR3ReqCallU(uvm, TEST_CPUS, &req, 0, st, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 0xfffffff0u, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, TEST_CPUS, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    /* ALL cannot be fire-and-forget: the packet must survive every visit. */
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, VMCPUID_ALL, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);

    /* PVM wrappers with no VM. */
    assert_int_equal(VMR3ReqCallWait(NULL, 0, (PFNRT)noop_fn, 0), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3ReqCallNoWait(NULL, 0, (PFNRT)noop_fn, 0), VERR_INVALID_VM_HANDLE);

    /* VMR3ReqAlloc: type, then ppReq, then target. */
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INVALID, 0), VERR_VM_REQUEST_INVALID_TYPE);
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_MAX, 0), VERR_VM_REQUEST_INVALID_TYPE);
    assert_int_equal(VMR3ReqAlloc(uvm, NULL, VMREQTYPE_INTERNAL, 0), VERR_INVALID_POINTER);
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INTERNAL, NIL_VMCPUID), VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INTERNAL, TEST_CPUS), VERR_INVALID_PARAMETER);

    assert_int_equal(VMR3ReqFree(NULL), VINF_SUCCESS);
    assert_int_equal(VMR3ReqQueue(NULL, 0), VERR_INVALID_POINTER);
    assert_int_equal(VMR3ReqWait(NULL, 0), VERR_INVALID_POINTER);
}

/* A packet driven by hand: alloc -> fill -> queue -> read -> free. */
static void test_manual_packet(void **state)
{
    PUVM uvm = *state;
    PVMREQ req = NULL;
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INTERNAL, 1), VINF_SUCCESS);
    assert_int_equal(req->enmState, VMREQSTATE_ALLOCATED);
    assert_int_equal(req->iStatus, VERR_VM_REQUEST_STATUS_STILL_PENDING);
    assert_int_equal(req->fFlags, VMREQFLAGS_VBOX_STATUS);
    assert_int_equal(req->enmType, VMREQTYPE_INTERNAL);
    assert_int_equal(req->idDstCpu, 1);
    assert_ptr_equal(req->pUVM, uvm);
    assert_null(req->pNext);

    /* Waiting on a packet that was never queued is a state error. */
    assert_int_equal(VMR3ReqWait(req, 0), VERR_VM_REQUEST_STATE);

    VMCPUID where = NIL_VMCPUID;
    req->u.Internal.pfn = (PFNRT)where_fn;
    req->u.Internal.cArgs = 2;
    req->u.Internal.aArgs[0] = (uintptr_t)uvm;
    req->u.Internal.aArgs[1] = (uintptr_t)&where;
    assert_int_equal(VMR3ReqQueue(req, RT_INDEFINITE_WAIT), VINF_SUCCESS);
    assert_int_equal(req->enmState, VMREQSTATE_COMPLETED);
    assert_int_equal(req->iStatus, 101);
    assert_int_equal(where, 1);
    /* Completed: waiting again is fine, queuing again is not. */
    assert_int_equal(VMR3ReqWait(req, 0), VINF_SUCCESS);
    assert_int_equal(VMR3ReqQueue(req, 0), VERR_VM_REQUEST_STATE);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);

    /* A bad type or flags set by hand are refused at queue time. */
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INTERNAL, 0), VINF_SUCCESS);
    req->u.Internal.pfn = (PFNRT)noop_fn;
    req->fFlags = 0x40;
    assert_int_equal(VMR3ReqQueue(req, 0), VERR_VM_REQUEST_INVALID_PACKAGE);
    req->fFlags = VMREQFLAGS_VBOX_STATUS;
    req->enmType = VMREQTYPE_INVALID;
    assert_int_equal(VMR3ReqQueue(req, 0), VERR_VM_REQUEST_INVALID_TYPE);
    req->enmType = VMREQTYPE_INTERNAL;
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
}

/* ------------------------------------------------------------------------ */
/* Timeouts.                                                                 */
/* ------------------------------------------------------------------------ */

static void test_timeout_leaves_request_pending(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    block_cpu(uvm, 1, gate);

    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, 1, &req, 0, VMREQFLAGS_VBOX_STATUS, (PFNRT)return_value_fn, 1, (uintptr_t)42);
    assert_int_equal(rc, VERR_TIMEOUT);
    assert_non_null(req);                                  /* still pending, ours to wait for */
    assert_int_equal(req->enmState, VMREQSTATE_QUEUED);
    assert_int_equal(VMR3ReqFree(req), VERR_VM_REQUEST_STATE);
    assert_int_equal(VMR3ReqWait(req, 0), VERR_TIMEOUT);
    assert_int_equal(VMR3ReqWait(req, 20), VERR_TIMEOUT);

    gate_open(gate);
    assert_int_equal(VMR3ReqWait(req, RT_INDEFINITE_WAIT), VINF_SUCCESS);
    assert_int_equal(req->enmState, VMREQSTATE_COMPLETED);
    assert_int_equal(req->iStatus, 42);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
}

/* ALL stops touring the CPUs at the first wait failure. */
static void test_all_stops_on_timeout(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    log_reset();
    block_cpu(uvm, 2, gate);

    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, VMCPUID_ALL, &req, 50, VMREQFLAGS_VBOX_STATUS, (PFNRT)log_cpu_fn, 1, uvm);
    assert_int_equal(rc, VERR_TIMEOUT);
    assert_non_null(req);
    assert_int_equal(req->idDstCpu, 2);
    log_expect((const int[]){ 0, 1 }, 2);

    gate_open(gate);
    assert_int_equal(VMR3ReqWait(req, RT_INDEFINITE_WAIT), VINF_SUCCESS);
    assert_int_equal(req->iStatus, 202);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
    /* CPU 3 was skipped: make sure nothing arrives late. */
    assert_int_equal(VMR3ReqCallWaitU(uvm, 3, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    log_expect((const int[]){ 0, 1, 2 }, 3);
}

/* ------------------------------------------------------------------------ */
/* 0..64 arguments.                                                          */
/* ------------------------------------------------------------------------ */

#include "core/arg_list.h"

/* Argument i's value: distinct per i, with bits set in both halves so a
 * truncated or shifted argument cannot pass. */
#define ARG_VALUE(i)  ((uintptr_t)(UINT64_C(0xA5000000C3000000) + ((uint64_t)(i) << 40) + (uint64_t)(i) * 0x10001u))
#define PARAM_DECL(i) uintptr_t p##i
#define PARAM_NAME(i) p##i

/* What the callee saw: how many arguments were wrong. */
static atomic_int g_arg_mismatches;

static int check_args(unsigned n, const uintptr_t *got)
{
    for (unsigned i = 0; i < n; i++)
        if (got[i] != ARG_VALUE(i))
            atomic_fetch_add(&g_arg_mismatches, 1);
    return 300 + (int)n;   /* proves which callee ran */
}

static int callee_0(void)
{
    return check_args(0, NULL);
}

#define DEFINE_CALLEE(n) \
    static int callee_##n(ARGS_##n(PARAM_DECL)) \
    { \
        const uintptr_t got[] = { ARGS_##n(PARAM_NAME) }; \
        return check_args(n, got); \
    }
FOR_1_TO_64(DEFINE_CALLEE)

#define CALL_WITH_N_ARGS(n) \
    case n: return VMR3ReqCallWaitU(uvm, cpu, (PFNRT)callee_##n, n, ARGS_##n(ARG_VALUE));

/* Sends exactly n arguments through the variadic API. */
static int call_with_args(PUVM uvm, VMCPUID cpu, unsigned n)
{
    switch (n) {
    case 0: return VMR3ReqCallWaitU(uvm, cpu, (PFNRT)callee_0, 0);
    FOR_1_TO_64(CALL_WITH_N_ARGS)
    default: return VERR_INTERNAL_ERROR;
    }
}

static void test_zero_to_64_arguments(void **state)
{
    PUVM uvm = *state;
    atomic_store(&g_arg_mismatches, 0);
    for (unsigned n = 0; n <= VMREQ_MAX_ARGS; n++) {
        assert_int_equal(call_with_args(uvm, n % TEST_CPUS, n), 300 + (int)n);
        assert_int_equal(atomic_load(&g_arg_mismatches), 0);
    }
    /* Also through the global queue. */
    assert_int_equal(call_with_args(uvm, VMCPUID_ANY, 64), 364);
    assert_int_equal(atomic_load(&g_arg_mismatches), 0);
}

/* A hand-made packet claiming more than 64 arguments completes with an IPE. */
static void test_too_many_args_in_packet(void **state)
{
    PUVM uvm = *state;
    PVMREQ req = NULL;
    assert_int_equal(VMR3ReqAlloc(uvm, &req, VMREQTYPE_INTERNAL, 0), VINF_SUCCESS);
    req->u.Internal.pfn = (PFNRT)noop_fn;
    req->u.Internal.cArgs = VMREQ_MAX_ARGS + 1;
    assert_int_equal(VMR3ReqQueue(req, RT_INDEFINITE_WAIT), VINF_SUCCESS);
    assert_int_equal(req->iStatus, VERR_VM_REQUEST_TOO_MANY_ARGS_IPE);
    assert_int_equal(VMR3ReqFree(req), VINF_SUCCESS);
}

/* ------------------------------------------------------------------------ */
/* Calls made on an EMT.                                                     */
/* ------------------------------------------------------------------------ */

struct self_call_report {
    pthread_t emt;
    /* own CPU id target */
    int own_rc;  bool own_req_kept;  int own_status;  bool own_ran_here;
    /* ANY target */
    int any_rc;  VMCPUID any_where;
    /* failing function: packet freed, *ppReq NULL */
    int fail_rc; bool fail_req_null;
    /* NO_WAIT to self */
    int nowait_rc; int nowait_ran;
    /* ANY_QUEUE always queues: another EMT serves it */
    int anyq_rc; VMCPUID anyq_where;
};

static pthread_t g_ran_on;
static int record_thread_fn(uintptr_t status)
{
    g_ran_on = pthread_self();
    return (int)status;
}

static int count_fn(int *counter)
{
    (*counter)++;
    return 77;
}

static int self_calls_fn(PUVM uvm, struct self_call_report *r)
{
    VMCPUID me = vm_current_cpu_id(uvm);
    PVMREQ req = NULL;
    r->emt = pthread_self();

    g_ran_on = (pthread_t)0;
    r->own_rc = VMR3ReqCallU(uvm, me, &req, 0 /* ignored: runs here */, VMREQFLAGS_VBOX_STATUS,
                             (PFNRT)record_thread_fn, 1, (uintptr_t)55);
    r->own_ran_here = pthread_equal(g_ran_on, pthread_self());
    r->own_req_kept = req != NULL && req->enmState == VMREQSTATE_COMPLETED;
    r->own_status = req ? req->iStatus : 0;
    VMR3ReqFree(req);

    r->any_rc = VMR3ReqCallWaitU(uvm, VMCPUID_ANY, (PFNRT)where_fn, 2, uvm, &r->any_where);

    req = (PVMREQ)(uintptr_t)0x1;
    r->fail_rc = VMR3ReqCallU(uvm, VMCPUID_ANY, &req, RT_INDEFINITE_WAIT, VMREQFLAGS_VBOX_STATUS,
                              (PFNRT)return_value_fn, 1, (uintptr_t)VERR_NOT_SUPPORTED);
    r->fail_req_null = req == NULL;

    r->nowait_ran = 0;
    r->nowait_rc = VMR3ReqCallNoWaitU(uvm, me, (PFNRT)count_fn, 1, &r->nowait_ran);

    /* Waiting here is safe: with the VM created, other EMTs serve ANY_QUEUE. */
    r->anyq_rc = VMR3ReqCallWaitU(uvm, VMCPUID_ANY_QUEUE, (PFNRT)where_fn, 2, uvm, &r->anyq_where);
    return VINF_SUCCESS;
}

static void test_emt_to_self_is_synchronous(void **state)
{
    PUVM uvm = *state;
    struct self_call_report r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(VMR3ReqCallWaitU(uvm, 2, (PFNRT)self_calls_fn, 2, uvm, &r), VINF_SUCCESS);

    assert_int_equal(r.own_rc, 55);            /* the function's own status, not the wait's */
    assert_true(r.own_ran_here);
    assert_true(r.own_req_kept);
    assert_int_equal(r.own_status, 55);
    assert_int_equal(r.any_rc, 102);           /* ANY from EMT 2 runs on EMT 2 */
    assert_int_equal(r.any_where, 2);
    assert_int_equal(r.fail_rc, VERR_NOT_SUPPORTED);
    assert_true(r.fail_req_null);
    assert_int_equal(r.nowait_rc, 77);         /* ran before the call returned */
    assert_int_equal(r.nowait_ran, 1);
    assert_true(r.anyq_where < TEST_CPUS);
    assert_int_not_equal(r.anyq_where, 2);     /* queued, so not run by the caller */
    assert_int_equal(r.anyq_rc, 100 + (int)r.anyq_where);
}

/* VMR3ReqProcessU lets an EMT busy in a request serve its queue. */
struct process_report {
    struct gate *gate;
    int before, after, rc;
};

static int nested_process_fn(PUVM uvm, struct process_report *r)
{
    gate_fn(r->gate);                          /* the test queues work meanwhile */
    pthread_mutex_lock(&g_log.lock);
    r->before = g_log.n;
    pthread_mutex_unlock(&g_log.lock);
    r->rc = VMR3ReqProcessU(uvm, vm_current_cpu_id(uvm), false);
    pthread_mutex_lock(&g_log.lock);
    r->after = g_log.n;
    pthread_mutex_unlock(&g_log.lock);
    return VINF_SUCCESS;
}

static void test_process_u(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    static struct process_report r;   /* static: an EMT writes it */
    r = (struct process_report){ gate, -1, -1, -1 };
    log_reset();
    assert_int_equal(VMR3ReqProcessU(uvm, 0, false), VERR_VM_THREAD_NOT_EMT);

    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 3, (PFNRT)nested_process_fn, 2, uvm, &r), VINF_SUCCESS);
    gate_wait_entered(gate);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 3, (PFNRT)log_tag_fn, 1, (uintptr_t)1), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 3, (PFNRT)log_tag_fn, 1, (uintptr_t)2), VINF_SUCCESS);
    gate_open(gate);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 3, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    assert_int_equal(r.rc, VINF_SUCCESS);
    assert_int_equal(r.before, 0);
    assert_int_equal(r.after, 2);
    log_expect((const int[]){ 1, 2 }, 2);
}

/* An EM scheduling status ends a processing pass early; the rest stays queued. */
static void test_em_status_stops_processing(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    static struct process_report r;   /* static: an EMT writes it */
    r = (struct process_report){ gate, -1, -1, -1 };
    log_reset();
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 1, (PFNRT)nested_process_fn, 2, uvm, &r), VINF_SUCCESS);
    gate_wait_entered(gate);
    /* VINF_EM_RESCHEDULE (1118) is in the EM range; the EMT loop ignores it. */
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 1, (PFNRT)return_value_fn, 1, (uintptr_t)VINF_EM_RESCHEDULE),
                     VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 1, (PFNRT)log_tag_fn, 1, (uintptr_t)9), VINF_SUCCESS);
    gate_open(gate);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 1, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    assert_int_equal(r.rc, VINF_EM_RESCHEDULE);   /* the pass stopped there... */
    assert_int_equal(r.after, 0);                 /* ...before the log request */
    log_expect((const int[]){ 9 }, 1);            /* which the main loop ran later */
}

/* What VMR3Destroy does to requests nobody will serve any more. */
struct wait_job {
    pthread_t thread;
    PVMREQ req;
    int rc;
};

static void *wait_thread(void *arg)
{
    struct wait_job *job = arg;
    job->rc = VMR3ReqWait(job->req, RT_INDEFINITE_WAIT);
    return NULL;
}

static void test_kill_all_wakes_waiters(void **state)
{
    PUVM uvm = *state;
    struct gate *gate = gate_reset();
    log_reset();
    block_cpu(uvm, 1, gate);

    struct wait_job job = { .rc = -1 };
    assert_int_equal(VMR3ReqCallU(uvm, 1, &job.req, 0, VMREQFLAGS_VBOX_STATUS, (PFNRT)log_tag_fn, 1, (uintptr_t)5),
                     VERR_TIMEOUT);
    assert_int_equal(VMR3ReqCallNoWaitU(uvm, 1, (PFNRT)log_tag_fn, 1, (uintptr_t)6), VINF_SUCCESS);
    assert_int_equal(pthread_create(&job.thread, NULL, wait_thread, &job), 0);
    /* Kill only once the helper sleeps on the packet's event. */
    while (atomic_load(&job.req->EventSem->waiters) == 0)
        sched_yield();

    vm_req_kill_all(uvm);                     /* as VMR3Destroy does */
    assert_int_equal(pthread_join(job.thread, NULL), 0);
    assert_int_equal(job.rc, VINF_SUCCESS);   /* the wait ends... */
    assert_int_equal(job.req->iStatus, VERR_VM_REQUEST_KILLED);   /* ...with this status */
    assert_int_equal(job.req->enmState, VMREQSTATE_INVALID);
    assert_int_equal(VMR3ReqWait(job.req, 0), VERR_VM_REQUEST_STATE);
    assert_int_equal(VMR3ReqFree(job.req), VERR_VM_REQUEST_STATE);

    gate_open(gate);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 1, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    log_expect(NULL, 0);                      /* neither killed request ran */

    /* As in VirtualBox the API cannot free a killed packet; don't leak it here. */
    job.req->enmState = VMREQSTATE_COMPLETED;
    assert_int_equal(VMR3ReqFree(job.req), VINF_SUCCESS);
}

/* ------------------------------------------------------------------------ */
/* Stress: many threads, many requests, nothing lost.                        */
/* ------------------------------------------------------------------------ */

#define STRESS_THREADS  8
#define STRESS_REQUESTS 10000

static atomic_uint g_stress_count[TEST_CPUS];
static atomic_uint g_stress_wrong_cpu;

static int stress_fn(PUVM uvm, uintptr_t expected_cpu)
{
    VMCPUID me = vm_current_cpu_id(uvm);
    if (me >= TEST_CPUS || (expected_cpu != VMCPUID_ANY && me != expected_cpu))
        atomic_fetch_add(&g_stress_wrong_cpu, 1);
    else
        atomic_fetch_add(&g_stress_count[me], 1);
    return VINF_SUCCESS;
}

struct stress_thread {
    pthread_t thread;
    PUVM uvm;
    unsigned index;
    int failures;
};

/* Mixes waited and fire-and-forget requests to every CPU and to ANY; then
 * one waited request per CPU flushes its own NO_WAIT ones (FIFO). */
static void *stress_thread_main(void *arg)
{
    struct stress_thread *t = arg;
    for (unsigned j = 0; j < STRESS_REQUESTS; j++) {
        VMCPUID cpu = (t->index + j) % TEST_CPUS;
        int rc;
        if (j % 5 == 4)
            rc = VMR3ReqCallWaitU(t->uvm, VMCPUID_ANY, (PFNRT)stress_fn, 2, t->uvm, (uintptr_t)VMCPUID_ANY);
        else if (j % 2)
            rc = VMR3ReqCallNoWaitU(t->uvm, cpu, (PFNRT)stress_fn, 2, t->uvm, (uintptr_t)cpu);
        else
            rc = VMR3ReqCallWaitU(t->uvm, cpu, (PFNRT)stress_fn, 2, t->uvm, (uintptr_t)cpu);
        if (rc != VINF_SUCCESS)
            t->failures++;
    }
    for (VMCPUID cpu = 0; cpu < TEST_CPUS; cpu++)
        if (VMR3ReqCallWaitU(t->uvm, cpu, (PFNRT)noop_fn, 0) != VINF_SUCCESS)
            t->failures++;
    return NULL;
}

static void test_stress_many_threads(void **state)
{
    PUVM uvm = *state;
    struct stress_thread threads[STRESS_THREADS];
    for (unsigned c = 0; c < TEST_CPUS; c++)
        atomic_store(&g_stress_count[c], 0);
    atomic_store(&g_stress_wrong_cpu, 0);

    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        threads[i] = (struct stress_thread){ .uvm = uvm, .index = i };
        assert_int_equal(pthread_create(&threads[i].thread, NULL, stress_thread_main, &threads[i]), 0);
    }
    for (unsigned i = 0; i < STRESS_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i].thread, NULL), 0);
        assert_int_equal(threads[i].failures, 0);
    }

    unsigned total = 0;
    for (unsigned c = 0; c < TEST_CPUS; c++)
        total += atomic_load(&g_stress_count[c]);
    assert_int_equal(atomic_load(&g_stress_wrong_cpu), 0);
    assert_int_equal(total, STRESS_THREADS * STRESS_REQUESTS);
}

/* ------------------------------------------------------------------------ */
/* A 1-vCPU VM of its own.                                                   */
/* ------------------------------------------------------------------------ */

static void test_single_cpu_vm(void **state)
{
    (void)state;
    PUVM uvm = create_vm(1);
    VMCPUID where = NIL_VMCPUID;
    assert_int_equal(VMR3ReqCallWaitU(uvm, VMCPUID_ANY, (PFNRT)where_fn, 2, uvm, &where), 100);
    assert_int_equal(where, 0);
    assert_int_equal(VMR3ReqCallU(uvm, 1, &(PVMREQ){ NULL }, 0, 0, (PFNRT)noop_fn, 0), VERR_INVALID_PARAMETER);
    log_reset();
    assert_int_equal(VMR3ReqCallWaitU(uvm, VMCPUID_ALL_REVERSE, (PFNRT)log_cpu_fn, 1, uvm), 200);
    log_expect((const int[]){ 0 }, 1);

    /* Serving order of the only EMT: global queues before its own, and
     * for each the priority queue first. */
    struct gate *gate = gate_reset();
    log_reset();
    block_cpu(uvm, 0, gate);
    const uint32_t nowait = VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_NO_WAIT;
    const uint32_t prio = nowait | VMREQFLAGS_PRIORITY;
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, nowait, (PFNRT)log_tag_fn, 1, (uintptr_t)4), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, 0, NULL, 0, prio, (PFNRT)log_tag_fn, 1, (uintptr_t)3), VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, VMCPUID_ANY_QUEUE, NULL, 0, nowait, (PFNRT)log_tag_fn, 1, (uintptr_t)2),
                     VINF_SUCCESS);
    assert_int_equal(VMR3ReqCallU(uvm, VMCPUID_ANY, NULL, 0, prio, (PFNRT)log_tag_fn, 1, (uintptr_t)1),
                     VINF_SUCCESS);
    gate_open(gate);
    assert_int_equal(VMR3ReqCallWaitU(uvm, 0, (PFNRT)noop_fn, 0), VINF_SUCCESS);
    log_expect((const int[]){ 1, 2, 3, 4 }, 4);
    destroy_vm(uvm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_specific_cpu, open_gate_teardown),
        cmocka_unit_test_teardown(test_any, open_gate_teardown),
        cmocka_unit_test_teardown(test_all_ascending, open_gate_teardown),
        cmocka_unit_test_teardown(test_all_reverse, open_gate_teardown),
        cmocka_unit_test_teardown(test_all_function_failure_does_not_stop, open_gate_teardown),
        cmocka_unit_test_teardown(test_flag_void, open_gate_teardown),
        cmocka_unit_test_teardown(test_flag_no_wait, open_gate_teardown),
        cmocka_unit_test_teardown(test_flag_poke, open_gate_teardown),
        cmocka_unit_test_teardown(test_priority_first, open_gate_teardown),
        cmocka_unit_test_teardown(test_bad_arguments, open_gate_teardown),
        cmocka_unit_test_teardown(test_manual_packet, open_gate_teardown),
        cmocka_unit_test_teardown(test_timeout_leaves_request_pending, open_gate_teardown),
        cmocka_unit_test_teardown(test_all_stops_on_timeout, open_gate_teardown),
        cmocka_unit_test_teardown(test_zero_to_64_arguments, open_gate_teardown),
        cmocka_unit_test_teardown(test_too_many_args_in_packet, open_gate_teardown),
        cmocka_unit_test_teardown(test_emt_to_self_is_synchronous, open_gate_teardown),
        cmocka_unit_test_teardown(test_process_u, open_gate_teardown),
        cmocka_unit_test_teardown(test_em_status_stops_processing, open_gate_teardown),
        cmocka_unit_test_teardown(test_kill_all_wakes_waiters, open_gate_teardown),
        cmocka_unit_test_teardown(test_stress_many_threads, open_gate_teardown),
        cmocka_unit_test_teardown(test_single_cpu_vm, open_gate_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
