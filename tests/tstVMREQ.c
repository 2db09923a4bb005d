/*
 * tstVMREQ: the request-queue acceptance test, ported from VirtualBox's
 * testcase of the same name (spec section 10.2) in our own words.
 *
 *  1. create a 1-CPU VM with the default configuration tree;
 *  2. two threads hammer VMR3ReqAlloc/VMR3ReqFree concurrently and check
 *     that no packet is ever handed to two owners;
 *  3. a va_list travels by pointer through VMR3ReqCallWaitU to the EMT;
 *  4. VMSetRuntimeError reaches an at-runtime-error callback on an EMT;
 *  5. power off from CREATED, destroy, release.
 *
 * Output lines start with "tstVMREQ: "; the last one is SUCCESS or FAILURE.
 */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE   /* pthread_setname_np */
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vmm/vmapi.h>

#define TEST_NAME "tstVMREQ"
#define ALLOC_ROUNDS 100000
#define MAX_BATCH 16

/* Errors are counted by the main thread and by callbacks on EMTs. */
static int g_errors;
static pthread_mutex_t g_errors_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_error(void)
{
    pthread_mutex_lock(&g_errors_lock);
    g_errors++;
    pthread_mutex_unlock(&g_errors_lock);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- 2. concurrent alloc/free ---------------------------------------- */

/*
 * Allocates batches of 0..16 packets, stamps each with a value unique to
 * (round, slot) and checks it before freeing: a packet given to two owners
 * at once would show the other owner's stamp.
 */
static void *alloc_free_thread(void *arg)
{
    PUVM uvm = arg;
    PVMREQ batch[MAX_BATCH + 1];
    for (int i = 0; i < ALLOC_ROUNDS; i++) {
        int count = i % 17;
        for (int k = 0; k < count; k++) {
            int rc = VMR3ReqAlloc(uvm, &batch[k], VMREQTYPE_INTERNAL, VMCPUID_ANY);
            if (RT_FAILURE(rc)) {
                printf(TEST_NAME ": i=%d iReq=%d cReqs=%d rc=%d (alloc)\n", i, k, count, rc);
                return (void *)(intptr_t)rc;
            }
            batch[k]->iStatus = k + i;
        }
        for (int k = 0; k < count; k++) {
            if (batch[k]->iStatus != k + i) {
                printf(TEST_NAME ": i=%d iReq=%d cReqs=%d: iStatus=%d != %d\n",
                       i, k, count, (int)batch[k]->iStatus, k + i);
                return (void *)(intptr_t)VERR_GENERAL_FAILURE;
            }
            int rc = VMR3ReqFree(batch[k]);
            if (RT_FAILURE(rc)) {
                printf(TEST_NAME ": i=%d iReq=%d cReqs=%d rc=%d (free)\n", i, k, count, rc);
                return (void *)(intptr_t)rc;
            }
        }
    }
    return (void *)(intptr_t)VINF_SUCCESS;
}

static void test_alloc_free(PUVM uvm)
{
    uint64_t start = now_ns();
    pthread_t threads[2];
    bool started[2];
    for (int t = 0; t < 2; t++) {
        started[t] = pthread_create(&threads[t], NULL, alloc_free_thread, uvm) == 0;
        if (started[t])
            pthread_setname_np(threads[t], "REQ1");
        else {
            printf(TEST_NAME ": error: failed to start thread %d\n", t + 1);
            count_error();
        }
    }
    for (int t = 0; t < 2; t++) {
        void *status;
        if (!started[t])
            continue;
        if (pthread_join(threads[t], &status) != 0) {
            printf(TEST_NAME ": error: failed to join thread %d\n", t + 1);
            count_error();
        } else if (RT_FAILURE((int)(intptr_t)status)) {
            printf(TEST_NAME ": error: thread %d failed, rc=%d\n", t + 1, (int)(intptr_t)status);
            count_error();
        }
    }
    printf(TEST_NAME ": %llu ns elapsed\n", (unsigned long long)(now_ns() - start));
}

/* ---- 3. va_list by pointer -------------------------------------------- */

/* Runs on the EMT: every argument must arrive intact, including the va_list. */
static int va_list_callback(PUVM uvm, uintptr_t page, uintptr_t big, const char *format, va_list *pva)
{
    (void)uvm;
    char buf[64];
    if (page != 4096) {
        printf(TEST_NAME ": error: arg 2 is %#lx, expected 4096\n", (unsigned long)page);
        count_error();
    }
    if (big != 0x40000000) {
        printf(TEST_NAME ": error: arg 3 is %#lx, expected 0x40000000\n", (unsigned long)big);
        count_error();
    }
    if (strcmp(format, "hello %s") != 0) {
        printf(TEST_NAME ": error: format is '%s', expected 'hello %%s'\n", format);
        count_error();
    }
    va_list copy;
    va_copy(copy, *pva);
    vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    if (strcmp(buf, "hello world") != 0) {
        printf(TEST_NAME ": error: formatted '%s', expected 'hello world'\n", buf);
        count_error();
    }
    return VINF_SUCCESS;
}

/*
 * Second path: the va_list arrives as a parameter, where it has decayed to
 * a pointer on x86-64, so &va would be the wrong type: pass a local copy.
 */
static void pass_va_copy(PUVM uvm, const char *format, va_list va)
{
    va_list copy;
    va_copy(copy, va);
    VMR3ReqCallWaitU(uvm, VMCPUID_ANY, (PFNRT)va_list_callback, 5,
                     uvm, (uintptr_t)4096, (uintptr_t)0x40000000, format, &copy);
    va_end(copy);
}

static void test_va_list(PUVM uvm, const char *format, ...)
{
    va_list va;
    va_start(va, format);
    VMR3ReqCallWaitU(uvm, VMCPUID_ANY, (PFNRT)va_list_callback, 5,
                     uvm, (uintptr_t)4096, (uintptr_t)0x40000000, format, &va);
    va_end(va);

    va_start(va, format);
    pass_va_copy(uvm, format, va);
    va_end(va);
}

/* ---- 4. runtime error callback ------------------------------------------ */

static int g_runtime_error_calls;   /* under g_errors_lock */

static void runtime_error_callback(PUVM uvm, void *user, uint32_t flags, const char *id,
                                   const char *format, va_list va)
{
    (void)uvm;
    char buf[64];
    pthread_mutex_lock(&g_errors_lock);
    g_runtime_error_calls++;
    pthread_mutex_unlock(&g_errors_lock);
    if (strcmp((const char *)user, "user argument") != 0) {
        printf(TEST_NAME ": error: pvUser is '%s'\n", (const char *)user);
        count_error();
    }
    if (flags != 0) {
        printf(TEST_NAME ": error: fFlags is %#x, expected 0\n", flags);
        count_error();
    }
    if (strcmp(id, "enum") != 0) {
        printf(TEST_NAME ": error: error id is '%s', expected 'enum'\n", id);
        count_error();
    }
    if (strcmp(format, "some %s string") != 0) {
        printf(TEST_NAME ": error: format is '%s'\n", format);
        count_error();
    }
    vsnprintf(buf, sizeof(buf), format, va);
    if (strcmp(buf, "some error string") != 0) {
        printf(TEST_NAME ": error: formatted '%s', expected 'some error string'\n", buf);
        count_error();
    }
}

static void test_runtime_error(PUVM uvm)
{
    int rc = VMR3AtRuntimeErrorRegister(uvm, runtime_error_callback, (void *)"user argument");
    if (RT_FAILURE(rc)) {
        printf(TEST_NAME ": error: VMR3AtRuntimeErrorRegister failed, rc=%d\n", rc);
        count_error();
        return;
    }
    VMSetRuntimeError(VMR3GetVM(uvm), 0 /*fFlags*/, "enum", "some %s string", "error");

    /* Not in the original test: the callback must actually have run, once. */
    pthread_mutex_lock(&g_errors_lock);
    int calls = g_runtime_error_calls;
    pthread_mutex_unlock(&g_errors_lock);
    if (calls != 1) {
        printf(TEST_NAME ": error: runtime error callback called %d times, expected 1\n", calls);
        count_error();
    }
}

/* ---- main --------------------------------------------------------------- */

static int default_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm; (void)user;
    return CFGMR3ConstructDefaultTree(vm);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf(TEST_NAME ": TESTING...\n");

    PUVM uvm = NULL;
    int rc = VMR3Create(1, NULL, NULL, NULL, default_config, NULL, NULL, &uvm);
    if (rc == VERR_SVM_NO_SVM || rc == VERR_VMX_NO_VMX) {
        printf(TEST_NAME ": Skipped: %d\n", rc);
        return 4;
    }
    if (RT_SUCCESS(rc)) {
        test_alloc_free(uvm);

        printf(TEST_NAME ": va_list argument test...\n");
        test_va_list(uvm, "hello %s", "world");

        test_runtime_error(uvm);

        rc = VMR3PowerOff(uvm);
        if (RT_FAILURE(rc)) {
            printf(TEST_NAME ": error: failed to power off vm! rc=%d\n", rc);
            count_error();
        }
        rc = VMR3Destroy(uvm);
        if (RT_FAILURE(rc)) {
            printf(TEST_NAME ": error: failed to destroy vm! rc=%d\n", rc);
            count_error();
        }
        VMR3ReleaseUVM(uvm);
    } else {
        printf(TEST_NAME ": fatal error: failed to create vm! rc=%d\n", rc);
        count_error();
    }

    pthread_mutex_lock(&g_errors_lock);
    int errors = g_errors;
    pthread_mutex_unlock(&g_errors_lock);
    if (errors == 0) {
        printf(TEST_NAME ": SUCCESS\n");
        return 0;
    }
    printf(TEST_NAME ": FAILURE - %d errors\n", errors);
    return 1;
}
