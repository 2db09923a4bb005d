/*
 * The VM state machine: names, transitions and at-state callbacks.
 *
 * Every transition happens under the UVM's state lock and calls the at-state
 * callbacks, in registration order, on the thread making the transition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

static const char *const state_names[] = {
    [VMSTATE_CREATING] = "CREATING",           [VMSTATE_CREATED] = "CREATED",
    [VMSTATE_LOADING] = "LOADING",             [VMSTATE_POWERING_ON] = "POWERING_ON",
    [VMSTATE_RESUMING] = "RESUMING",           [VMSTATE_RUNNING] = "RUNNING",
    [VMSTATE_RUNNING_LS] = "RUNNING_LS",       [VMSTATE_RUNNING_FT] = NULL,
    [VMSTATE_RESETTING] = "RESETTING",         [VMSTATE_RESETTING_LS] = "RESETTING_LS",
    [VMSTATE_SOFT_RESETTING] = "SOFT_RESETTING", [VMSTATE_SOFT_RESETTING_LS] = "SOFT_RESETTING_LS",
    [VMSTATE_SUSPENDING] = "SUSPENDING",       [VMSTATE_SUSPENDING_LS] = "SUSPENDING_LS",
    [VMSTATE_SUSPENDING_EXT_LS] = "SUSPENDING_EXT_LS", [VMSTATE_SUSPENDED] = "SUSPENDED",
    [VMSTATE_SUSPENDED_LS] = "SUSPENDED_LS",   [VMSTATE_SUSPENDED_EXT_LS] = "SUSPENDED_EXT_LS",
    [VMSTATE_SAVING] = "SAVING",               [VMSTATE_DEBUGGING] = "DEBUGGING",
    [VMSTATE_DEBUGGING_LS] = "DEBUGGING_LS",   [VMSTATE_POWERING_OFF] = "POWERING_OFF",
    [VMSTATE_POWERING_OFF_LS] = "POWERING_OFF_LS", [VMSTATE_OFF] = "OFF",
    [VMSTATE_OFF_LS] = "OFF_LS",               [VMSTATE_FATAL_ERROR] = "FATAL_ERROR",
    [VMSTATE_FATAL_ERROR_LS] = "FATAL_ERROR_LS", [VMSTATE_GURU_MEDITATION] = "GURU_MEDITATION",
    [VMSTATE_GURU_MEDITATION_LS] = "GURU_MEDITATION_LS", [VMSTATE_LOAD_FAILURE] = "LOAD_FAILURE",
    [VMSTATE_DESTROYING] = "DESTROYING",       [VMSTATE_TERMINATED] = "TERMINATED",
};

VMMR3DECL(const char *) VMR3GetStateName(VMSTATE enmState)
{
    if ((unsigned)enmState <= VMSTATE_TERMINATED && state_names[enmState])
        return state_names[enmState];
    return "Unknown!\n";   /* the API's literal answer for unknown states */
}

VMMDECL(const char *) VMGetStateName(VMSTATE enmState)
{
    /* The all-context variant knows only these twelve states. */
    switch (enmState) {
    case VMSTATE_CREATING: case VMSTATE_CREATED: case VMSTATE_RUNNING:
    case VMSTATE_LOADING: case VMSTATE_LOAD_FAILURE: case VMSTATE_SAVING:
    case VMSTATE_SUSPENDED: case VMSTATE_RESETTING: case VMSTATE_GURU_MEDITATION:
    case VMSTATE_OFF: case VMSTATE_DESTROYING: case VMSTATE_TERMINATED:
        return state_names[enmState];
    default:
        return "Unknown";
    }
}

VMMR3DECL(VMSTATE) VMR3GetState(PVM pVM)
{
    if (!vm_is_registered(pVM))
        return VMSTATE_TERMINATED;
    VMSTATE st = atomic_load(&pVM->enmVMState);
    return (unsigned)st <= VMSTATE_TERMINATED ? st : VMSTATE_TERMINATED;
}

VMMR3DECL(VMSTATE) VMR3GetStateU(PUVM pUVM)
{
    if (!uvm_is_valid(pUVM))
        return VMSTATE_TERMINATED;
    PVM vm = atomic_load(&pUVM->pVM);
    if (!vm)
        return VMSTATE_TERMINATED;
    return atomic_load(&vm->enmVMState);
}

/* Stores the new state and runs the at-state callbacks; state lock held. */
void vm_state_set_locked(PVM vm, VMSTATE new_state, VMSTATE old_state)
{
    PUVM uvm = vm->pUVM;
    vm->enmPrevVMState = old_state;
    atomic_store(&vm->enmVMState, new_state);
    if (new_state == VMSTATE_GURU_MEDITATION || new_state == VMSTATE_GURU_MEDITATION_LS) {
        vm_set_ff(vm, VM_FF_CHECK_VM_STATE);
        emt_notify_all(uvm, true);
    } else {
        atomic_fetch_and(&vm->ff, ~VM_FF_CHECK_VM_STATE);
    }
    vm_log(uvm, "Changing the VM state from '%s' to '%s'", VMR3GetStateName(old_state),
           VMR3GetStateName(new_state));
    for (struct vm_callback *cb = uvm->at_state; cb; cb = cb->next) {
        ((PFNVMATSTATE)cb->fn)(uvm, VMMR3GetVTable(), new_state, old_state, cb->user);
        /* A callback that destroyed the VM ends the notification round. */
        if (atomic_load(&vm->enmVMState) == VMSTATE_DESTROYING && new_state != VMSTATE_DESTROYING)
            break;
    }
}

void vm_state_set(PVM vm, VMSTATE new_state, VMSTATE expected_old)
{
    pthread_mutex_lock(&vm->pUVM->state_cb_lock);
    VMSTATE old = atomic_load(&vm->enmVMState);
    (void)expected_old;
    vm_state_set_locked(vm, new_state, old);
    pthread_mutex_unlock(&vm->pUVM->state_cb_lock);
}

/* Raises the invalid-state VM error with the API's wording. */
static void raise_invalid_state(PVM vm, const char *who, VMSTATE cur, unsigned pairs, const VMSTATE *tab)
{
    if (pairs == 1) {
        VMSetError(vm, VERR_VM_INVALID_VM_STATE, RT_SRC_POS,
                   "%s failed because the VM state is %s instead of %s",
                   who, VMR3GetStateName(cur), VMR3GetStateName(tab[0]));
        return;
    }
    char list[1024];
    size_t off = 0;
    for (size_t i = 0; i < pairs && off < sizeof(list); i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off, "%s %s -> %s", i ? "," : "",
                                VMR3GetStateName(tab[2 * i]), VMR3GetStateName(tab[2 * i + 1]));
    VMSetError(vm, VERR_VM_INVALID_VM_STATE, RT_SRC_POS,
               "%s failed because the current VM state, %s, was not found in the state transition table (%s)",
               who, VMR3GetStateName(cur), list);
}

int vm_state_try_set(PVM vm, const char *who, unsigned pairs, ...)
{
    VMSTATE tab[64];
    va_list va;
    va_start(va, pairs);
    for (unsigned i = 0; i < pairs * 2 && i < 64; i++)
        tab[i] = (VMSTATE)va_arg(va, int);
    va_end(va);

    pthread_mutex_lock(&vm->pUVM->state_cb_lock);
    VMSTATE cur = atomic_load(&vm->enmVMState);
    for (size_t i = 0; i < pairs; i++) {
        if (tab[2 * i] == cur) {
            vm_state_set_locked(vm, tab[2 * i + 1], cur);
            pthread_mutex_unlock(&vm->pUVM->state_cb_lock);
            return (int)i;
        }
    }
    pthread_mutex_unlock(&vm->pUVM->state_cb_lock);
    raise_invalid_state(vm, who, cur, pairs, tab);
    return VERR_VM_INVALID_VM_STATE;
}

/* --- callback lists (shared by at-state, at-error and runtime-error) --- */

int vm_callback_add(pthread_mutex_t *lock, struct vm_callback **list, void (*fn)(void), void *user)
{
    struct vm_callback *cb = calloc(1, sizeof(*cb));
    if (!cb)
        return VERR_NO_MEMORY;
    cb->fn = fn;
    cb->user = user;
    pthread_mutex_lock(lock);
    struct vm_callback **pp = list;
    while (*pp)
        pp = &(*pp)->next;
    *pp = cb;       /* append: callbacks run in registration order */
    pthread_mutex_unlock(lock);
    return VINF_SUCCESS;
}

int vm_callback_remove(pthread_mutex_t *lock, struct vm_callback **list, void (*fn)(void), void *user)
{
    int rc = VERR_FILE_NOT_FOUND;
    pthread_mutex_lock(lock);
    for (struct vm_callback **pp = list; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->user == user) {
            struct vm_callback *dead = *pp;
            *pp = dead->next;
            free(dead);
            rc = VINF_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(lock);
    return rc;
}

void vm_callback_free_all(struct vm_callback **list)
{
    while (*list) {
        struct vm_callback *dead = *list;
        *list = dead->next;
        free(dead);
    }
}

VMMR3DECL(int) VMR3AtStateRegister(PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser)
{
    if (!pfnAtState)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_add(&pUVM->state_cb_lock, &pUVM->at_state, (void (*)(void))pfnAtState, pvUser);
}

VMMR3DECL(int) VMR3AtStateDeregister(PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser)
{
    if (!pfnAtState)
        return VERR_INVALID_PARAMETER;
    if (!uvm_is_valid(pUVM))
        return VERR_INVALID_VM_HANDLE;
    return vm_callback_remove(&pUVM->state_cb_lock, &pUVM->at_state, (void (*)(void))pfnAtState, pvUser);
}
