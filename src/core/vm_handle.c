/*
 * Handle validation and UVM reference counting.
 *
 * A handle from the API is never dereferenced before it is found in the
 * registry of live UVMs, so NULL, garbage and released handles all give
 * VERR_INVALID_VM_HANDLE instead of a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

#define REGISTRY_MAX 1024

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static PUVM registry[REGISTRY_MAX];
/* One past the highest slot ever used: lookups (on every API call and
 * request) scan only that far, usually one or two slots. */
static unsigned registry_end;

int uvm_registry_add(PUVM uvm)
{
    int rc = VERR_OUT_OF_RESOURCES;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < REGISTRY_MAX; i++) {
        if (!registry[i]) {
            registry[i] = uvm;
            if (i >= registry_end)
                registry_end = i + 1;
            rc = VINF_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

void uvm_registry_remove(PUVM uvm)
{
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < registry_end; i++)
        if (registry[i] == uvm)
            registry[i] = NULL;
    while (registry_end && !registry[registry_end - 1])
        registry_end--;
    pthread_mutex_unlock(&registry_lock);
}

static bool registry_has_uvm(PUVM uvm)
{
    bool found = false;
    if (!uvm || ((uintptr_t)uvm & 4095))
        return false;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < registry_end && !found; i++)
        found = registry[i] == uvm;
    pthread_mutex_unlock(&registry_lock);
    return found;
}

static PUVM registry_find_vm(PVM vm)
{
    PUVM owner = NULL;
    if (!vm || ((uintptr_t)vm & 4095))
        return NULL;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < registry_end && !owner; i++)
        if (registry[i] && atomic_load(&registry[i]->pVM) == vm)
            owner = registry[i];
    pthread_mutex_unlock(&registry_lock);
    return owner;
}

bool uvm_is_valid(PUVM uvm)
{
    return registry_has_uvm(uvm) && uvm->u32Magic == UVM_MAGIC;
}

bool vm_is_valid_ext(PVM vm)
{
    if (!registry_find_vm(vm))
        return false;
    VMSTATE st = atomic_load(&vm->enmVMState);
    return st < VMSTATE_DESTROYING || (st == VMSTATE_DESTROYING && vm_is_emt(vm));
}

PVM uvm_vm(PUVM uvm)
{
    if (!uvm_is_valid(uvm))
        return NULL;
    PVM vm = atomic_load(&uvm->pVM);
    return vm && vm_is_valid_ext(vm) ? vm : NULL;
}

VMMR3DECL(PVM) VMR3GetVM(PUVM pUVM)
{
    if (!uvm_is_valid(pUVM))
        return NULL;
    return atomic_load(&pUVM->pVM);
}

VMMR3DECL(PUVM) VMR3GetUVM(PVM pVM)
{
    return vm_is_valid_ext(pVM) ? pVM->pUVM : NULL;
}

VMMR3DECL(uint32_t) VMR3RetainUVM(PUVM pUVM)
{
    if (!uvm_is_valid(pUVM))
        return UINT32_MAX;
    return atomic_fetch_add(&pUVM->refs, 1) + 1;
}

VMMR3DECL(uint32_t) VMR3ReleaseUVM(PUVM pUVM)
{
    if (!pUVM)
        return 0;
    if (!uvm_is_valid(pUVM))
        return UINT32_MAX;
    uint32_t refs = atomic_fetch_sub(&pUVM->refs, 1) - 1;
    if (refs == 0)
        uvm_free(pUVM);
    return refs;
}

bool vm_is_registered(PVM vm)
{
    return registry_find_vm(vm) != NULL;
}
