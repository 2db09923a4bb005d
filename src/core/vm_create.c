/*
 * VM creation and destruction: VMR3Create, VMR3Destroy and the UVM's life.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"
#include "em_run.h"
#include "../config/cfgm_internal.h"

#define PAGE_ALIGN 4096u

static void *page_alloc(size_t size)
{
    size = (size + PAGE_ALIGN - 1) & ~(size_t)(PAGE_ALIGN - 1);
    void *p = aligned_alloc(PAGE_ALIGN, size);
    if (p)
        memset(p, 0, size);
    return p;
}

static void init_recursive_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
}

static PUVM uvm_alloc(uint32_t cpus, PCVMM2USERMETHODS vmm2user)
{
    PUVM uvm = page_alloc(sizeof(struct UVM) + cpus * sizeof(struct UVMCPU));
    if (!uvm)
        return NULL;
    uvm->u32Magic = UVM_MAGIC;
    atomic_init(&uvm->refs, 1);
    uvm->cCpus = cpus;
    uvm->vmm2user = vmm2user;
    init_recursive_mutex(&uvm->state_cb_lock);
    init_recursive_mutex(&uvm->error_lock);
    for (uint32_t i = 0; i < cpus; i++) {
        uvm->aCpus[i].pUVM = uvm;
        uvm->aCpus[i].idCpu = i;
        pthread_mutex_init(&uvm->aCpus[i].poke_lock, NULL);
    }
    if (RT_FAILURE(vm_req_init_queues(uvm)) || RT_FAILURE(uvm_registry_add(uvm))) {
        vm_req_term_queues(uvm);
        free(uvm);
        return NULL;
    }
    return uvm;
}

/* Stops and joins every EMT (they exit their loops when told to). */
static void uvm_stop_emts(PUVM uvm)
{
    atomic_store(&uvm->emts_terminate, true);
    emt_notify_all(uvm, true);
    for (uint32_t i = 0; i < uvm->cCpus; i++) {
        if (uvm->aCpus[i].thread_started) {
            pthread_join(uvm->aCpus[i].thread, NULL);
            uvm->aCpus[i].thread_started = false;
        }
    }
}

void uvm_free(PUVM uvm)
{
    uvm_stop_emts(uvm);
    uvm_registry_remove(uvm);
    vm_req_kill_all(uvm);
    vm_req_free_cache(uvm);
    vm_req_term_queues(uvm);
    for (uint32_t i = 0; i < uvm->cCpus; i++)
        pthread_mutex_destroy(&uvm->aCpus[i].poke_lock);
    vm_callback_free_all(&uvm->at_state);
    vm_callback_free_all(&uvm->at_error);
    vm_callback_free_all(&uvm->at_runtime_error);
    pthread_mutex_destroy(&uvm->state_cb_lock);
    pthread_mutex_destroy(&uvm->error_lock);
    free(uvm->name);
    uvm->u32Magic = UVM_MAGIC_DEAD;
    free(uvm);
}

static PVM vm_alloc(PUVM uvm)
{
    uint32_t cpus = uvm->cCpus;
    PVM vm = page_alloc(sizeof(struct VM));
    if (!vm)
        return NULL;
    vm->pUVM = uvm;
    vm->cCpus = cpus;
    atomic_init(&vm->enmVMState, VMSTATE_CREATING);
    atomic_init(&vm->exec_cap, 100);
    pthread_mutex_init(&vm->rendezvous.lock, NULL);
    pthread_cond_init(&vm->rendezvous.cond, NULL);
    for (uint32_t i = 0; i < cpus; i++) {
        PVMCPU vcpu = page_alloc(sizeof(struct VMCPU));
        if (!vcpu)
            return vm;   /* caller sees the NULL slot and fails */
        vcpu->pVM = vm;
        vcpu->pUVCpu = &uvm->aCpus[i];
        vcpu->idCpu = i;
        vm->apCpus[i] = vcpu;
    }
    return vm;
}

static void vm_free(PVM vm)
{
    for (uint32_t i = 0; i < vm->cCpus; i++)
        free(vm->apCpus[i]);
    pthread_mutex_destroy(&vm->rendezvous.lock);
    pthread_cond_destroy(&vm->rendezvous.cond);
    free(vm);
}

/* Reads the root keys the VM itself uses (spec: none is mandatory). */
static int vm_read_base_config(PVM vm)
{
    PUVM uvm = vm->pUVM;
    PCFGMNODE root = vm->cfg_root;
    uint32_t cpus = 1;
    int rc = CFGMR3QueryU32Def(root, "NumCPUs", &cpus, 1);
    if (RT_FAILURE(rc) || cpus != vm->cCpus)
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "Configuration error: \"NumCPUs\"=%u does not match the %u vCPUs the VM was created with",
                          cpus, vm->cCpus);
    uint32_t cap = 100;
    rc = CFGMR3QueryU32Def(root, "CpuExecutionCap", &cap, 100);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: failed to query \"CpuExecutionCap\"");
    atomic_store(&vm->exec_cap, cap);
    rc = CFGMR3QueryStringAllocDef(root, "Name", &uvm->name, "<unknown>");
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: failed to query \"Name\"");
    size_t cb = 0;
    if (RT_SUCCESS(CFGMR3QuerySize(root, "UUID", &cb))) {
        if (cb > sizeof(uvm->uuid))
            return VMSetError(vm, VERR_TOO_MUCH_DATA, RT_SRC_POS, "Configuration error: \"UUID\" is longer than 16 bytes");
        rc = CFGMR3QueryBytes(root, "UUID", &uvm->uuid, cb);
        if (RT_FAILURE(rc))
            return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: \"UUID\" must be a byte string");
    }
    bool power_off = false;
    rc = CFGMR3QueryBoolDef(root, "PowerOffInsteadOfReset", &power_off, false);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: failed to query \"PowerOffInsteadOfReset\"");
    atomic_store(&uvm->power_off_instead_of_reset, power_off);
    bool tf_reset = false;
    rc = CFGMR3QueryBoolDef(CFGMR3GetChild(root, "EM"), "TripleFaultReset", &tf_reset, false);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: failed to query \"/EM/TripleFaultReset\"");
    vm->triple_fault_reset = tf_reset && vm->cCpus == 1;   /* never on SMP, as the API says */
    return VINF_SUCCESS;
}

static int vcpu_init_on_emt(PVMCPU vcpu)
{
    return vm_machine_vcpu_init(vcpu);
}

static void vcpu_term_on_emt(PVMCPU vcpu)
{
    vm_machine_vcpu_term(vcpu);
}

static void emt_quiesce(void)
{
}

/* Undoes a partially built VM on EMT(0); leaves uvm->pVM NULL. */
static void vm_teardown_on_emt(PVM vm, uint32_t vcpus_ready, bool machine_ready)
{
    PUVM uvm = vm->pUVM;
    for (uint32_t i = vcpus_ready; i-- > 1;)
        VMR3ReqCallVoidWaitU(uvm, i, (PFNRT)vcpu_term_on_emt, 1, vm->apCpus[i]);
    if (vcpus_ready)
        vcpu_term_on_emt(vm->apCpus[0]);
    if (machine_ready)
        vm_machine_term(vm);
    cfgm_term(vm);
    emt_detach_vm(uvm);
    /* An idle EMT may have read pVM just before the detach: once it has run
     * a request it is back at the top of its loop, where it sees NULL. */
    for (uint32_t i = 1; i < uvm->cCpus; i++)
        VMR3ReqCallVoidWaitU(uvm, i, (PFNRT)emt_quiesce, 0);
    vm_free(vm);
}

/* EMT(0): build the VM, run the configuration constructor, set up the machine. */
static int vm_create_on_emt(PUVM uvm, PFNCFGMCONSTRUCTOR ctor, void *ctor_user)
{
    PVM vm = vm_alloc(uvm);
    if (!vm)
        return VERR_NO_MEMORY;
    for (uint32_t i = 0; i < uvm->cCpus; i++) {
        if (!vm->apCpus[i]) {
            vm_free(vm);
            return VERR_NO_MEMORY;
        }
        uvm->aCpus[i].pVCpu = vm->apCpus[i];
        uvm->aCpus[i].pVM = vm;
    }
    atomic_store(&uvm->pVM, vm);

    int rc = cfgm_init(vm);
    if (RT_SUCCESS(rc))
        rc = ctor ? ctor(uvm, vm, VMMR3GetVTable(), ctor_user) : CFGMR3ConstructDefaultTree(vm);
    if (RT_SUCCESS(rc))
        rc = vm_read_base_config(vm);
    if (RT_FAILURE(rc)) {
        vm_teardown_on_emt(vm, 0, false);
        return rc;
    }
    rc = vm_machine_init(vm);
    if (RT_FAILURE(rc)) {
        vm_teardown_on_emt(vm, 0, false);
        return rc;
    }
    uint32_t ready = 0;
    for (; ready < uvm->cCpus && RT_SUCCESS(rc); ready++)
        rc = ready == 0 ? vcpu_init_on_emt(vm->apCpus[0])
                        : VMR3ReqCallWaitU(uvm, ready, (PFNRT)vcpu_init_on_emt, 1, vm->apCpus[ready]);
    if (RT_SUCCESS(rc))
        rc = vm_machine_load(vm);
    if (RT_FAILURE(rc)) {
        vm_teardown_on_emt(vm, ready, true);
        return rc;
    }
    if (atomic_load(&vm->exec_cap) < 100)
        vm_exec_cap_start(vm);
    vm_state_set(vm, VMSTATE_CREATED, VMSTATE_CREATING);
    return VINF_SUCCESS;
}

static bool methods_valid(PCVMM2USERMETHODS m)
{
    return m->u32Magic == VMM2USERMETHODS_MAGIC && m->u32Version == VMM2USERMETHODS_VERSION
        && m->u32EndMagic == VMM2USERMETHODS_MAGIC;
}

static void create_error(PUVM uvm, int rc, RT_SRC_POS_DECL, const char *fmt, ...) RT_IPRT_FORMAT_ATTR(6, 7);
static void create_error(PUVM uvm, int rc, RT_SRC_POS_DECL, const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    vm_set_error_worker(uvm, rc, RT_SRC_POS_ARGS, fmt, va);
    va_end(va);
}

/* Reports a creation failure on the caller's thread when nothing did yet. */
static void report_create_failure(PUVM uvm, int rc)
{
    if (atomic_load(&uvm->error_count) == 0)
        create_error(uvm, rc, RT_SRC_POS, "VM creation failed: %s (%s)", RTErrGetFull(rc), RTErrGetShort(rc));
}

VMMR3DECL(int) VMR3Create(uint32_t cCpus, PCVMM2USERMETHODS pVm2UserCbs, PFNVMATERROR pfnVMAtError, void *pvUserVM,
                          PFNCFGMCONSTRUCTOR pfnCFGMConstructor, void *pvUserCFGM, PVM *ppVM, PUVM *ppUVM)
{
    if (pVm2UserCbs && !methods_valid(pVm2UserCbs))
        return VERR_INVALID_PARAMETER;
    if (!ppVM && !ppUVM)
        return VERR_INVALID_PARAMETER;
    if (cCpus < 1 || cCpus > VMM_MAX_CPU_COUNT)
        return VERR_TOO_MANY_CPUS;

    PUVM uvm = uvm_alloc(cCpus, pVm2UserCbs);
    if (!uvm)
        return VERR_NO_MEMORY;
    int rc = VINF_SUCCESS;
    for (uint32_t i = 0; i < cCpus && RT_SUCCESS(rc); i++)
        rc = emt_start(&uvm->aCpus[i]);
    if (RT_SUCCESS(rc) && pfnVMAtError)
        rc = VMR3AtErrorRegister(uvm, pfnVMAtError, pvUserVM);
    if (RT_SUCCESS(rc))
        rc = VMR3ReqCallWaitU(uvm, VMCPUID_ANY, (PFNRT)vm_create_on_emt, 3, uvm, pfnCFGMConstructor, pvUserCFGM);
    if (RT_FAILURE(rc)) {
        report_create_failure(uvm, rc);
        VMR3ReleaseUVM(uvm);
        return rc;
    }
    if (ppVM)
        *ppVM = atomic_load(&uvm->pVM);
    if (ppUVM) {
        atomic_fetch_add(&uvm->refs, 1);   /* one internal, one for the caller */
        *ppUVM = uvm;
    }
    return VINF_SUCCESS;
}

/* Each EMT (n-1 .. 0) tears down its vCPU; EMT(0) then the machine. */
static int vm_destroy_on_emt(PUVM uvm)
{
    PUVMCPU self = vm_current_emt(uvm);
    PVM vm = self->pVM;
    vcpu_term_on_emt(self->pVCpu);
    if (self->idCpu == 0) {
        vm_exec_cap_stop(vm);
        vm_machine_term(vm);
        cfgm_term(vm);
        vm_state_set(vm, VMSTATE_TERMINATED, VMSTATE_DESTROYING);
    }
    return VINF_EM_TERMINATE;
}

VMMR3DECL(int) VMR3Destroy(PUVM pUVM)
{
    if (!pUVM)
        return VERR_INVALID_VM_HANDLE;
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if (vm_current_emt(pUVM))
        return VERR_VM_THREAD_IS_EMT;
    /* Petrel also accepts CREATED, as the API's documentation intends:
     * the never-started VM is powered off first. */
    if (atomic_load(&vm->enmVMState) == VMSTATE_CREATED)
        VMR3PowerOff(pUVM);
    int rc = vm_state_try_set(vm, "VMR3Destroy", 1, VMSTATE_OFF, VMSTATE_DESTROYING);
    if (RT_FAILURE(rc))
        return rc;
    VMR3ReqCallWaitU(pUVM, VMCPUID_ALL_REVERSE, (PFNRT)vm_destroy_on_emt, 1, pUVM);
    uvm_stop_emts(pUVM);
    emt_detach_vm(pUVM);
    vm_free(vm);
    vm_req_kill_all(pUVM);
    VMR3ReleaseUVM(pUVM);    /* the internal reference */
    return VINF_SUCCESS;
}
