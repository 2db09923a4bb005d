/*
 * The request queue: run a function on an emulation thread (EMT).
 *
 * A request is a packet (VMREQ) holding a function and up to 64
 * pointer-sized arguments.  It is queued for one vCPU's EMT or for any EMT
 * (the global queues), optionally waited for, and executed by the EMT in
 * its loop (vm_req_process_pending).  Every target has a priority queue and
 * a normal queue; the priority one is always served first, and each queue is
 * FIFO.  Behaviour follows VirtualBox's VMReq (spec section 3).
 *
 * Completion protocol (why the order matters): the EMT stores iStatus,
 * signals the packet's event semaphore and only *then* stores the final
 * state with release semantics.  A waiter returns only after it has seen the
 * final state, so once it returns (and perhaps frees or recycles the packet)
 * the EMT no longer touches the packet.  A signal that nobody consumed is
 * drained before the packet is queued again.
 */
#include <sched.h>
#include <stdlib.h>

#include "vm_internal.h"
#include "arg_list.h"

/* Packets kept for reuse per UVM; beyond this they are really freed. */
#define REQ_CACHE_MAX 128

#define REQ_VALID_FLAGS (VMREQFLAGS_RETURN_MASK | VMREQFLAGS_NO_WAIT | VMREQFLAGS_POKE | VMREQFLAGS_PRIORITY)

/* ------------------------------------------------------------------------ */
/* Atomic views of the packet fields shared between caller and EMT.          */
/* ------------------------------------------------------------------------ */

static inline VMREQSTATE req_state(PVMREQ req)
{
    return __atomic_load_n(&req->enmState, __ATOMIC_ACQUIRE);
}

static inline void req_set_state(PVMREQ req, VMREQSTATE state)
{
    __atomic_store_n(&req->enmState, state, __ATOMIC_RELEASE);
}

static inline void req_set_status(PVMREQ req, int rc)
{
    __atomic_store_n(&req->iStatus, rc, __ATOMIC_RELAXED);
}

static inline bool is_all_target(VMCPUID id)
{
    return id == VMCPUID_ALL || id == VMCPUID_ALL_REVERSE;
}

/* ------------------------------------------------------------------------ */
/* Calling the request function with 0..64 pointer-sized arguments.          */
/* ------------------------------------------------------------------------ */

/*
 * ARGS_n(m) expands to m(0), m(1), ..., m(n-1).  With m = ARG_TYPE it gives
 * the parameter list of an n-argument function, with m = ARG_VALUE the
 * argument list taken from the packet.  Every shape is a real C prototype,
 * so the call is correct under any ABI, not just "extra args are ignored".
 */
#define ARG_TYPE(i)  uintptr_t
#define ARG_VALUE(i) a[i]
#define CALL_INT_CASE(n) \
    case n: return ((int (*)(ARGS_##n(ARG_TYPE)))pfn)(ARGS_##n(ARG_VALUE));
#define CALL_VOID_CASE(n) \
    case n: ((void (*)(ARGS_##n(ARG_TYPE)))pfn)(ARGS_##n(ARG_VALUE)); return VINF_SUCCESS;

/* Calls an int-returning request function. */
static int call_int_function(PFNRT pfn, unsigned cArgs, const uintptr_t *a)
{
    switch (cArgs) {
    case 0: return ((int (*)(void))pfn)();
    FOR_1_TO_64(CALL_INT_CASE)
    default: return VERR_VM_REQUEST_TOO_MANY_ARGS_IPE;
    }
}

/* Calls a void request function; VINF_SUCCESS unless the shape is impossible. */
static int call_void_function(PFNRT pfn, unsigned cArgs, const uintptr_t *a)
{
    switch (cArgs) {
    case 0: ((void (*)(void))pfn)(); return VINF_SUCCESS;
    FOR_1_TO_64(CALL_VOID_CASE)
    default: return VERR_VM_REQUEST_TOO_MANY_ARGS_IPE;
    }
}

/* ------------------------------------------------------------------------ */
/* Packet allocation and the per-UVM free cache.                             */
/* ------------------------------------------------------------------------ */

static void req_destroy(PVMREQ req)
{
    sem_event_destroy(req->EventSem);
    free(req);
}

/* Marks a packet free and caches it (or frees it when the cache is full). */
static void req_release(PVMREQ req)
{
    PUVM uvm = req->pUVM;
    req_set_status(req, VERR_VM_REQUEST_STATUS_FREED);
    req->enmType = VMREQTYPE_INVALID;
    req_set_state(req, VMREQSTATE_FREE);

    pthread_mutex_lock(&uvm->req_free_lock);
    if (uvm->req_free_count < REQ_CACHE_MAX) {
        req->pNext = uvm->req_free;
        uvm->req_free = req;
        uvm->req_free_count++;
        req = NULL;
    }
    pthread_mutex_unlock(&uvm->req_free_lock);
    if (req)
        req_destroy(req);
}

/* A packet from the cache (its semaphore drained), or a new one. */
static PVMREQ req_obtain(PUVM uvm)
{
    pthread_mutex_lock(&uvm->req_free_lock);
    PVMREQ req = uvm->req_free;
    if (req) {
        uvm->req_free = req->pNext;
        uvm->req_free_count--;
    }
    pthread_mutex_unlock(&uvm->req_free_lock);

    if (req) {
        /* A completed packet may carry a signal nobody consumed. */
        sem_event_reset(req->EventSem);
        return req;
    }
    req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    if (RT_FAILURE(sem_event_create(&req->EventSem))) {
        free(req);
        return NULL;
    }
    return req;
}

void vm_req_free_cache(PUVM uvm)
{
    pthread_mutex_lock(&uvm->req_free_lock);
    PVMREQ list = uvm->req_free;
    uvm->req_free = NULL;
    uvm->req_free_count = 0;
    pthread_mutex_unlock(&uvm->req_free_lock);

    while (list) {
        PVMREQ next = list->pNext;
        req_destroy(list);
        list = next;
    }
}

/* ------------------------------------------------------------------------ */
/* Queues.                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Where a queue announces its work: the VM's flags for the global queues,
 * the vCPU's for a per-CPU queue.  NULL before the VM exists (EMTs then look
 * at the queues themselves).  Both flag sets use the same two bit values.
 */
static atomic_uint *queue_ff_word(PUVM uvm, VMCPUID id)
{
    PVM vm = atomic_load_explicit(&uvm->pVM, memory_order_acquire);
    if (!vm)
        return NULL;
    if (id == VMCPUID_ANY)
        return &vm->ff;
    PVMCPU vcpu = vm->apCpus[id];
    return vcpu ? &vcpu->ff : NULL;
}

static uint32_t queue_ff_bit(VMCPUID id, bool priority)
{
    if (id == VMCPUID_ANY)
        return priority ? VM_FF_PRIORITY_REQUEST : VM_FF_REQUEST;
    return priority ? VMCPU_FF_PRIORITY_REQUEST : VMCPU_FF_REQUEST;
}

static struct vm_req_queue *queue_of(PUVM uvm, VMCPUID id, bool priority)
{
    if (id == VMCPUID_ANY)
        return priority ? &uvm->req_global_priority : &uvm->req_global_normal;
    return priority ? &uvm->aCpus[id].req_priority : &uvm->aCpus[id].req_normal;
}

/* Cheap unlocked look: the head is only written under the lock, atomically. */
static inline bool queue_has_work(struct vm_req_queue *q)
{
    return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) != NULL;
}

/* Appends a packet and raises the flag, both under the lock so that a
 * concurrent take never clears the flag of a non-empty queue. */
static void queue_push(PUVM uvm, VMCPUID id, bool priority, PVMREQ req)
{
    struct vm_req_queue *q = queue_of(uvm, id, priority);
    req->pNext = NULL;
    req_set_state(req, VMREQSTATE_QUEUED);

    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->pNext = req;
    else
        __atomic_store_n(&q->head, req, __ATOMIC_RELEASE);
    q->tail = req;
    atomic_uint *ff = queue_ff_word(uvm, id);
    if (ff)
        atomic_fetch_or(ff, queue_ff_bit(id, priority));
    pthread_mutex_unlock(&q->lock);
}

/* Takes the oldest packet; clears the queue's flag when it becomes empty. */
static PVMREQ queue_take(PUVM uvm, VMCPUID id, bool priority)
{
    struct vm_req_queue *q = queue_of(uvm, id, priority);
    if (!queue_has_work(q))
        return NULL;

    pthread_mutex_lock(&q->lock);
    PVMREQ req = q->head;
    if (req) {
        __atomic_store_n(&q->head, req->pNext, __ATOMIC_RELEASE);
        if (!req->pNext) {
            q->tail = NULL;
            atomic_uint *ff = queue_ff_word(uvm, id);
            if (ff)
                atomic_fetch_and(ff, ~queue_ff_bit(id, priority));
        }
        req->pNext = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return req;
}

static int queue_init(struct vm_req_queue *q)
{
    q->head = q->tail = NULL;
    return pthread_mutex_init(&q->lock, NULL) == 0 ? VINF_SUCCESS : VERR_NO_MEMORY;
}

int vm_req_init_queues(PUVM uvm)
{
    int rc = queue_init(&uvm->req_global_normal);
    if (RT_SUCCESS(rc))
        rc = queue_init(&uvm->req_global_priority);
    for (uint32_t i = 0; i < uvm->cCpus && RT_SUCCESS(rc); i++) {
        rc = queue_init(&uvm->aCpus[i].req_normal);
        if (RT_SUCCESS(rc))
            rc = queue_init(&uvm->aCpus[i].req_priority);
    }
    if (RT_SUCCESS(rc) && pthread_mutex_init(&uvm->req_free_lock, NULL) != 0)
        rc = VERR_NO_MEMORY;
    uvm->req_free = NULL;
    uvm->req_free_count = 0;
    return rc;
}

/* Frees the packet cache and the locks.  Call after vm_req_kill_all. */
void vm_req_term_queues(PUVM uvm)
{
    vm_req_free_cache(uvm);
    pthread_mutex_destroy(&uvm->req_global_normal.lock);
    pthread_mutex_destroy(&uvm->req_global_priority.lock);
    for (uint32_t i = 0; i < uvm->cCpus; i++) {
        pthread_mutex_destroy(&uvm->aCpus[i].req_normal.lock);
        pthread_mutex_destroy(&uvm->aCpus[i].req_priority.lock);
    }
    pthread_mutex_destroy(&uvm->req_free_lock);
}

/* ------------------------------------------------------------------------ */
/* Executing a packet.                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Runs one packet on the current thread and completes it.  Returns the
 * function's status (VINF_SUCCESS for void functions).  `wake_waiter` is
 * false when the caller runs its own request synchronously (nobody waits).
 */
static int req_process_one(PVMREQ req, bool wake_waiter)
{
    req_set_state(req, VMREQSTATE_PROCESSING);

    int rc;
    if (req->enmType != VMREQTYPE_INTERNAL)
        rc = VERR_VM_REQUEST_INVALID_TYPE;
    else if ((req->fFlags & VMREQFLAGS_RETURN_MASK) == VMREQFLAGS_VOID)
        rc = call_void_function(req->u.Internal.pfn, req->u.Internal.cArgs, req->u.Internal.aArgs);
    else
        rc = call_int_function(req->u.Internal.pfn, req->u.Internal.cArgs, req->u.Internal.aArgs);
    req_set_status(req, rc);

    if (req->fFlags & VMREQFLAGS_NO_WAIT) {
        req_set_state(req, VMREQSTATE_COMPLETED);
        req_release(req);
    } else {
        /* Signal first, publish the state last: see the file comment. */
        if (wake_waiter) {
            req->fEventSemClear = false;
            sem_event_signal(req->EventSem);
        }
        req_set_state(req, VMREQSTATE_COMPLETED);
    }
    return rc;
}

static inline bool is_em_status(int rc)
{
    return rc >= VINF_EM_FIRST && rc <= VINF_EM_LAST;
}

/* The oldest packet of a target: its priority queue before its normal one. */
static PVMREQ take_for_target(PUVM uvm, VMCPUID id, bool priority_only)
{
    PVMREQ req = queue_take(uvm, id, true);
    if (!req && !priority_only)
        req = queue_take(uvm, id, false);
    return req;
}

/*
 * The next packet for this EMT: the global queues (if served) before the
 * EMT's own, as VirtualBox's EMT loop does.  One packet at a time, so a
 * priority request queued meanwhile overtakes the remaining normal ones.
 */
static PVMREQ next_request(PUVM uvm, bool serve_global, PUVMCPU own, bool priority_only)
{
    PVMREQ req = NULL;
    if (serve_global)
        req = take_for_target(uvm, VMCPUID_ANY, priority_only);
    if (!req && own)
        req = take_for_target(uvm, own->idCpu, priority_only);
    return req;
}

/* Drains the selected queues; stops at the first EM scheduling status. */
static int process_queues(PUVM uvm, bool serve_global, PUVMCPU own, bool priority_only)
{
    PVMREQ req;
    while ((req = next_request(uvm, serve_global, own, priority_only)) != NULL) {
        int rc = req_process_one(req, true);
        if (is_em_status(rc))
            return rc;
    }
    return VINF_SUCCESS;
}

/* Before the VM exists only EMT(0) serves the global queues (creation). */
static bool emt_serves_global(PUVMCPU uvcpu)
{
    return uvcpu->idCpu == 0 || atomic_load_explicit(&uvcpu->pUVM->pVM, memory_order_acquire) != NULL;
}

int vm_req_process_pending(PUVMCPU uvcpu, bool priority_only)
{
    return process_queues(uvcpu->pUVM, emt_serves_global(uvcpu), uvcpu, priority_only);
}

/* The global part honours the same EMT(0)-only rule as processing, so an
 * idle loop never spins on work it is not allowed to take. */
bool vm_req_pending(PUVMCPU uvcpu, bool include_global)
{
    PUVM uvm = uvcpu->pUVM;
    if (queue_has_work(&uvcpu->req_priority) || queue_has_work(&uvcpu->req_normal))
        return true;
    return include_global && emt_serves_global(uvcpu)
        && (queue_has_work(&uvm->req_global_priority) || queue_has_work(&uvm->req_global_normal));
}

VMMR3_INT_DECL(int) VMR3ReqProcessU(PUVM pUVM, VMCPUID idDstCpu, bool fPriorityOnly)
{
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    PUVMCPU self = vm_current_emt(pUVM);
    if (!self)
        return VERR_VM_THREAD_NOT_EMT;
    if (idDstCpu == VMCPUID_ANY)
        return process_queues(pUVM, true, NULL, fPriorityOnly);
    if (idDstCpu != self->idCpu)
        return VERR_VM_THREAD_NOT_EMT;   /* a CPU queue is served by its own EMT only */
    return process_queues(pUVM, false, self, fPriorityOnly);
}

/* Completes one queue's packets with VERR_VM_REQUEST_KILLED. */
static void kill_queue(PUVM uvm, VMCPUID id, bool priority)
{
    PVMREQ req;
    while ((req = queue_take(uvm, id, priority)) != NULL) {
        req_set_status(req, VERR_VM_REQUEST_KILLED);
        if (req->fFlags & VMREQFLAGS_NO_WAIT) {
            req_release(req);      /* nobody will ever look at it */
            continue;
        }
        req->fEventSemClear = false;
        sem_event_signal(req->EventSem);
        req_set_state(req, VMREQSTATE_INVALID);
    }
}

void vm_req_kill_all(PUVM uvm)
{
    for (int priority = 1; priority >= 0; priority--) {
        kill_queue(uvm, VMCPUID_ANY, priority);
        for (VMCPUID i = 0; i < uvm->cCpus; i++)
            kill_queue(uvm, i, priority);
    }
}

/* ------------------------------------------------------------------------ */
/* Waiting.                                                                  */
/* ------------------------------------------------------------------------ */

static inline bool req_is_done(VMREQSTATE state)
{
    return state == VMREQSTATE_COMPLETED || state == VMREQSTATE_INVALID /* killed */;
}

/*
 * Waits for a queued packet.  A consumed signal means the EMT is completing
 * the packet right now, so we only have to let it publish the final state.
 */
static int req_wait(PVMREQ req, RTMSINTERVAL cMillies)
{
    if (req_is_done(req_state(req)))
        return VINF_SUCCESS;
    int rc = sem_event_wait(req->EventSem, cMillies);
    if (RT_FAILURE(rc))
        return req_is_done(req_state(req)) ? VINF_SUCCESS : rc;
    req->fEventSemClear = true;
    while (!req_is_done(req_state(req)))
        sched_yield();
    return VINF_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Dispatch.                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Queues (or runs) a packet aimed at one CPU, ANY or ANY_QUEUE, then waits
 * unless NO_WAIT.  Flags are read first: after queuing a NO_WAIT packet it
 * belongs to the EMT and may already be gone.
 */
static int req_queue_one(PVMREQ req, RTMSINTERVAL cMillies)
{
    PUVM    uvm      = req->pUVM;
    VMCPUID target   = req->idDstCpu;
    bool    no_wait  = req->fFlags & VMREQFLAGS_NO_WAIT;
    bool    poke     = req->fFlags & VMREQFLAGS_POKE;
    bool    priority = req->fFlags & VMREQFLAGS_PRIORITY;
    PUVMCPU self     = vm_current_emt(uvm);

    if (target == VMCPUID_ANY_QUEUE || (target == VMCPUID_ANY && !self)) {
        queue_push(uvm, VMCPUID_ANY, priority, req);
        emt_notify_all(uvm, poke);
    } else if (target != VMCPUID_ANY && (!self || self->idCpu != target)) {
        queue_push(uvm, target, priority, req);
        emt_notify(&uvm->aCpus[target], poke);
    } else {
        /* ANY or our own CPU from an EMT: run it here, re-entrantly. */
        return req_process_one(req, false);
    }
    return no_wait ? VINF_SUCCESS : req_wait(req, cMillies);
}

/*
 * ALL / ALL_REVERSE: the same packet visits every CPU in turn, each visit
 * waited for before the next; the first failure stops the tour.
 */
static int req_queue_all(PVMREQ req, RTMSINTERVAL cMillies)
{
    uint32_t cCpus   = req->pUVM->cCpus;
    bool     reverse = req->idDstCpu == VMCPUID_ALL_REVERSE;
    int      rc      = VINF_SUCCESS;

    for (uint32_t k = 0; k < cCpus; k++) {
        /* The previous visit is complete, so nobody signals the event now. */
        sem_event_reset(req->EventSem);
        req->idDstCpu = reverse ? cCpus - 1 - k : k;
        req_set_state(req, VMREQSTATE_ALLOCATED);
        rc = req_queue_one(req, cMillies);
        if (RT_FAILURE(rc))
            break;
    }
    return rc;
}

/* Cheap sanity check of a handle stored in a packet (not a magic check). */
static inline bool uvm_ptr_plausible(PUVM uvm)
{
    return uvm && !((uintptr_t)uvm & 4095);
}

VMMR3DECL(int) VMR3ReqQueue(PVMREQ pReq, RTMSINTERVAL cMillies)
{
    if (!pReq)
        return VERR_INVALID_POINTER;
    if (req_state(pReq) != VMREQSTATE_ALLOCATED)
        return VERR_VM_REQUEST_STATE;
    if (!uvm_ptr_plausible(pReq->pUVM) || pReq->pNext || pReq->EventSem == NIL_RTSEMEVENT
        || (pReq->fFlags & ~REQ_VALID_FLAGS))
        return VERR_VM_REQUEST_INVALID_PACKAGE;
    if (pReq->enmType != VMREQTYPE_INTERNAL)
        return VERR_VM_REQUEST_INVALID_TYPE;

    VMCPUID target = pReq->idDstCpu;
    if (is_all_target(target)) {
        /* The packet must survive each visit, so it cannot free itself. */
        if (pReq->fFlags & VMREQFLAGS_NO_WAIT)
            return VERR_INVALID_PARAMETER;
        return req_queue_all(pReq, cMillies);
    }
    if (target != VMCPUID_ANY && target != VMCPUID_ANY_QUEUE && target >= pReq->pUVM->cCpus)
        return VERR_INVALID_PARAMETER;
    return req_queue_one(pReq, cMillies);
}

VMMR3DECL(int) VMR3ReqWait(PVMREQ pReq, RTMSINTERVAL cMillies)
{
    if (!pReq)
        return VERR_INVALID_POINTER;
    VMREQSTATE state = req_state(pReq);
    if (state != VMREQSTATE_QUEUED && state != VMREQSTATE_PROCESSING && state != VMREQSTATE_COMPLETED)
        return VERR_VM_REQUEST_STATE;
    if (!uvm_ptr_plausible(pReq->pUVM) || pReq->EventSem == NIL_RTSEMEVENT)
        return VERR_VM_REQUEST_INVALID_PACKAGE;
    if (pReq->enmType != VMREQTYPE_INTERNAL)
        return VERR_VM_REQUEST_INVALID_TYPE;
    return req_wait(pReq, cMillies);
}

/* ------------------------------------------------------------------------ */
/* Allocation API.                                                           */
/* ------------------------------------------------------------------------ */

VMMR3DECL(int) VMR3ReqAlloc(PUVM pUVM, PVMREQ *ppReq, VMREQTYPE enmType, VMCPUID idDstCpu)
{
    if (enmType <= VMREQTYPE_INVALID || enmType >= VMREQTYPE_MAX)
        return VERR_VM_REQUEST_INVALID_TYPE;
    if (!ppReq)
        return VERR_INVALID_POINTER;
    if (!pUVM)
        return VERR_INVALID_VM_HANDLE;   /* not magic-checked, as in VirtualBox */
    if (   idDstCpu != VMCPUID_ANY && idDstCpu != VMCPUID_ANY_QUEUE
        && !is_all_target(idDstCpu) && idDstCpu >= pUVM->cCpus)
        return VERR_INVALID_PARAMETER;

    PVMREQ req = req_obtain(pUVM);
    if (!req)
        return VERR_NO_MEMORY;
    req->pNext          = NULL;
    req->pUVM           = pUVM;
    req->iStatus        = VERR_VM_REQUEST_STATUS_STILL_PENDING;
    req->fEventSemClear = true;
    req->fFlags         = VMREQFLAGS_VBOX_STATUS;
    req->enmType        = enmType;
    req->idDstCpu       = idDstCpu;
    req->u.Internal.pfn   = NULL;
    req->u.Internal.cArgs = 0;
    req_set_state(req, VMREQSTATE_ALLOCATED);
    *ppReq = req;
    return VINF_SUCCESS;
}

VMMR3DECL(int) VMR3ReqFree(PVMREQ pReq)
{
    if (!pReq)
        return VINF_SUCCESS;
    VMREQSTATE state = req_state(pReq);
    if (state != VMREQSTATE_ALLOCATED && state != VMREQSTATE_COMPLETED)
        return VERR_VM_REQUEST_STATE;
    req_release(pReq);
    return VINF_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Call API.                                                                 */
/* ------------------------------------------------------------------------ */

VMMR3DECL(int) VMR3ReqCallVU(PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies,
                             uint32_t fFlags, PFNRT pfnFunction, unsigned cArgs, va_list Args)
{
    /* Validation order is part of the API (spec 3.3). */
    if (!pfnFunction)
        return VERR_INVALID_POINTER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    if (fFlags & ~REQ_VALID_FLAGS)
        return VERR_INVALID_PARAMETER;
    bool no_wait = fFlags & VMREQFLAGS_NO_WAIT;
    if (!no_wait && !ppReq)
        return VERR_INVALID_POINTER;
    if (ppReq)
        *ppReq = NULL;
    if (cArgs > VMREQ_MAX_ARGS)
        return VERR_TOO_MUCH_DATA;
    if (no_wait && is_all_target(idDstCpu))
        return VERR_INVALID_PARAMETER;

    PVMREQ req;
    int rc = VMR3ReqAlloc(pUVM, &req, VMREQTYPE_INTERNAL, idDstCpu);
    if (RT_FAILURE(rc))
        return rc;
    req->fFlags = fFlags;
    req->u.Internal.pfn = pfnFunction;
    req->u.Internal.cArgs = cArgs;
    for (unsigned i = 0; i < cArgs; i++)
        req->u.Internal.aArgs[i] = va_arg(Args, uintptr_t);

    rc = VMR3ReqQueue(req, cMillies);
    if (no_wait)
        return rc;            /* the EMT (or our own synchronous run) freed it */
    if (RT_FAILURE(rc) && rc != VERR_TIMEOUT) {
        VMR3ReqFree(req);
        req = NULL;
    }
    *ppReq = req;             /* on VERR_TIMEOUT still pending: caller waits */
    return rc;
}

VMMR3DECL(int) VMR3ReqCallU(PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies,
                            uint32_t fFlags, PFNRT pfnFunction, unsigned cArgs, ...)
{
    va_list va;
    va_start(va, cArgs);
    int rc = VMR3ReqCallVU(pUVM, idDstCpu, ppReq, cMillies, fFlags, pfnFunction, cArgs, va);
    va_end(va);
    return rc;
}

/* Queue, wait forever, free; returns the function's status (or the queue
 * error), or for void functions the queue status. */
static int call_and_wait(PUVM uvm, VMCPUID id, uint32_t flags, PFNRT pfn, unsigned cArgs, va_list va)
{
    PVMREQ req = NULL;
    int rc = VMR3ReqCallVU(uvm, id, &req, RT_INDEFINITE_WAIT, flags, pfn, cArgs, va);
    if (RT_SUCCESS(rc) && (flags & VMREQFLAGS_RETURN_MASK) == VMREQFLAGS_VBOX_STATUS)
        rc = __atomic_load_n(&req->iStatus, __ATOMIC_RELAXED);
    VMR3ReqFree(req);
    return rc;
}

static int call_no_wait(PUVM uvm, VMCPUID id, uint32_t flags, PFNRT pfn, unsigned cArgs, va_list va)
{
    return VMR3ReqCallVU(uvm, id, NULL, 0, flags | VMREQFLAGS_NO_WAIT, pfn, cArgs, va);
}

static inline PUVM uvm_of(PVM vm)
{
    return vm ? vm->pUVM : NULL;
}

/* The variadic wrappers differ only in handle, flags and waiting. */
#define DEFINE_REQ_WRAPPER(decl, name, handle_t, handle_to_uvm, helper, flags)         \
    decl(int) name(handle_t h, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...) \
    {                                                                                  \
        va_list va;                                                                    \
        va_start(va, cArgs);                                                           \
        int rc = helper(handle_to_uvm(h), idDstCpu, flags, pfnFunction, cArgs, va);    \
        va_end(va);                                                                    \
        return rc;                                                                     \
    }

#define UVM_AS_IS(h) (h)

DEFINE_REQ_WRAPPER(VMMR3_INT_DECL, VMR3ReqCallWait,        PVM,  uvm_of,    call_and_wait, VMREQFLAGS_VBOX_STATUS)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqCallWaitU,       PUVM, UVM_AS_IS, call_and_wait, VMREQFLAGS_VBOX_STATUS)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqCallNoWait,      PVM,  uvm_of,    call_no_wait,  VMREQFLAGS_VBOX_STATUS)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqCallNoWaitU,     PUVM, UVM_AS_IS, call_no_wait,  VMREQFLAGS_VBOX_STATUS)
DEFINE_REQ_WRAPPER(VMMR3_INT_DECL, VMR3ReqCallVoidWait,    PVM,  uvm_of,    call_and_wait, VMREQFLAGS_VOID)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqCallVoidWaitU,   PUVM, UVM_AS_IS, call_and_wait, VMREQFLAGS_VOID)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqCallVoidNoWait,  PVM,  uvm_of,    call_no_wait,  VMREQFLAGS_VOID)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqPriorityCallWait, PVM, uvm_of,    call_and_wait, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_PRIORITY)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqPriorityCallWaitU, PUVM, UVM_AS_IS, call_and_wait, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_PRIORITY)
DEFINE_REQ_WRAPPER(VMMR3DECL,      VMR3ReqPriorityCallVoidWaitU, PUVM, UVM_AS_IS, call_and_wait, VMREQFLAGS_VOID | VMREQFLAGS_PRIORITY)
