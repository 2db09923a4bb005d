/*
 * EMT rendezvous: gather every EMT out of guest code and run a worker on
 * each, in a defined order.  State-changing lifecycle calls use it so that
 * no vCPU executes while the VM changes state.
 */
#include "vm_internal.h"

int vm_merge_status(int a, int b)
{
    if (RT_FAILURE(a))
        return a;                 /* the first failure is kept */
    if (RT_FAILURE(b))
        return b;
    if (a == VINF_SUCCESS)
        return b;
    if (b == VINF_SUCCESS)
        return a;
    return a < b ? a : b;         /* lower informational code = higher priority */
}

/* Position of this vCPU in the ordered modes. */
static uint32_t rendezvous_turn(const struct vm_rendezvous *rv, uint32_t cpus, VMCPUID id)
{
    return (rv->flags & VMMEMTRENDEZVOUS_ORDER_MASK) == VMMEMTRENDEZVOUS_ORDER_DESCENDING
         ? cpus - 1 - id : id;
}

static void rendezvous_run_worker(PVM vm, PVMCPU vcpu, struct vm_rendezvous *rv)
{
    if ((rv->flags & VMMEMTRENDEZVOUS_STOP_ON_ERROR) && rv->stopped)
        return;
    vm_rendezvous_worker worker = rv->worker;
    void *user = rv->user;
    pthread_mutex_unlock(&rv->lock);
    int rc = worker(vm, vcpu, user);
    pthread_mutex_lock(&rv->lock);
    rv->rc = vm_merge_status(rv->rc, rc);
    if (RT_FAILURE(rc))
        rv->stopped = true;
}

int vm_rendezvous_join(PVM vm, PVMCPU vcpu)
{
    struct vm_rendezvous *rv = &vm->rendezvous;
    uint32_t cpus = vm->cCpus;
    pthread_mutex_lock(&rv->lock);
    if (!rv->active || rv->joined_gen[vcpu->idCpu] == rv->generation) {
        /* Nothing to join, or already took part: wait for the end of it. */
        while (rv->active && rv->joined_gen[vcpu->idCpu] == rv->generation)
            pthread_cond_wait(&rv->cond, &rv->lock);
        pthread_mutex_unlock(&rv->lock);
        return VINF_SUCCESS;
    }
    rv->joined_gen[vcpu->idCpu] = rv->generation;
    if (++rv->arrived == cpus) {
        atomic_fetch_and(&vm->ff, ~VM_FF_EMT_RENDEZVOUS);
        pthread_cond_broadcast(&rv->cond);
    }
    while (rv->arrived < cpus)
        pthread_cond_wait(&rv->cond, &rv->lock);

    uint32_t order = rv->flags & VMMEMTRENDEZVOUS_ORDER_MASK;
    if (order == VMMEMTRENDEZVOUS_ORDER_ALL_AT_ONCE) {
        rendezvous_run_worker(vm, vcpu, rv);
    } else if (order == VMMEMTRENDEZVOUS_ORDER_ONCE) {
        if (!rv->once_done) {
            rv->once_done = true;
            rendezvous_run_worker(vm, vcpu, rv);
        }
    } else {
        uint32_t turn = rendezvous_turn(rv, cpus, vcpu->idCpu);
        while (rv->ran != turn)
            pthread_cond_wait(&rv->cond, &rv->lock);
        rendezvous_run_worker(vm, vcpu, rv);
    }
    rv->ran++;
    pthread_cond_broadcast(&rv->cond);
    while (rv->ran < cpus)
        pthread_cond_wait(&rv->cond, &rv->lock);

    int rc = rv->rc;
    if (++rv->left == cpus) {
        rv->active = false;
        pthread_cond_broadcast(&rv->cond);
    }
    pthread_mutex_unlock(&rv->lock);
    return rc;
}

/* Runs on an EMT: start a rendezvous (after any one in progress) and join it. */
static int rendezvous_on_emt(PVM vm, uint32_t flags, vm_rendezvous_worker worker, void *user)
{
    PUVMCPU self = vm_current_emt(vm->pUVM);
    PVMCPU vcpu = self->pVCpu;
    if (vm->cCpus == 1)
        return worker(vm, vcpu, user);

    struct vm_rendezvous *rv = &vm->rendezvous;
    pthread_mutex_lock(&rv->lock);
    while (rv->active) {
        pthread_mutex_unlock(&rv->lock);
        vm_rendezvous_join(vm, vcpu);
        pthread_mutex_lock(&rv->lock);
    }
    rv->active = true;
    rv->flags = flags;
    rv->worker = worker;
    rv->user = user;
    rv->arrived = rv->ran = rv->left = 0;
    rv->rc = VINF_SUCCESS;
    rv->stopped = rv->once_done = false;
    rv->generation++;
    pthread_mutex_unlock(&rv->lock);

    vm_set_ff(vm, VM_FF_EMT_RENDEZVOUS);
    emt_notify_all(vm->pUVM, true);
    return vm_rendezvous_join(vm, vcpu);
}

int vm_emt_rendezvous(PVM vm, uint32_t flags, vm_rendezvous_worker worker, void *user)
{
    if (vm_current_emt(vm->pUVM))
        return rendezvous_on_emt(vm, flags, worker, user);
    /* From a foreign thread: let any EMT start it and wait for the result. */
    if (flags & VMMEMTRENDEZVOUS_PRIORITY)
        return VMR3ReqPriorityCallWaitU(vm->pUVM, VMCPUID_ANY, (PFNRT)rendezvous_on_emt, 4,
                                        vm, flags, worker, user);
    return VMR3ReqCallWaitU(vm->pUVM, VMCPUID_ANY, (PFNRT)rendezvous_on_emt, 4, vm, flags, worker, user);
}
