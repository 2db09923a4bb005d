/*
 * The save worker.  From SUSPENDED: SAVING, the whole stream, SUSPENDED.
 * From RUNNING (live): RUNNING_LS while RAM is copied with the guest
 * running, then a rendezvous suspends it (SUSPENDING_LS -> SUSPENDED_LS),
 * SAVING for the final pass, SUSPENDED.  A teleport is always live.
 */
#include <stdio.h>

#include "ssm_file.h"
#include "ssm_live.h"

#define SAVE_RENDEZVOUS (VMMEMTRENDEZVOUS_ORDER_DESCENDING | VMMEMTRENDEZVOUS_STOP_ON_ERROR)

struct live_suspend {
    bool suspending;                   /* the first EMT moved RUNNING_LS -> SUSPENDING_LS */
};

/* Final suspend of a live save; a VM the user suspended or reset meanwhile
 * is already suspended (_EXT_LS / _LS) and stays so. */
static int live_suspend_worker(PVM vm, PVMCPU vcpu, void *user)
{
    struct live_suspend *ls = user;
    if (vcpu->idCpu == vm->cCpus - 1) {
        VMSTATE st = atomic_load(&vm->enmVMState);
        if (st == VMSTATE_OFF_LS)
            return VERR_SSM_LIVE_POWERED_OFF;
        if (st == VMSTATE_FATAL_ERROR_LS)
            return VERR_SSM_LIVE_FATAL_ERROR;
        if (st == VMSTATE_GURU_MEDITATION_LS)
            return VERR_SSM_LIVE_GURU_MEDITATION;
        if (st == VMSTATE_RUNNING_LS) {
            vm_state_set(vm, VMSTATE_SUSPENDING_LS, VMSTATE_RUNNING_LS);
            vm->suspend_reason = VMSUSPENDREASON_USER;
            ls->suspending = true;
        }
    }
    if (vcpu->idCpu == 0 && ls->suspending) {
        vm_machine_notify(vm, VM_MACHINE_SUSPEND);
        vm_state_set(vm, VMSTATE_SUSPENDED_LS, VMSTATE_SUSPENDING_LS);
    }
    return VINF_EM_SUSPEND;
}

static int stream_open(PVM vm, const struct ssm_target *t, struct ssm_file *file, PCSSMSTRMOPS *ops, void **user)
{
    if (!t->filename) {
        *ops = t->ops;
        *user = t->user;
        return VINF_SUCCESS;
    }
    int rc = ssm_file_create(file, t->filename);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "cannot create a file next to '%s' to save the VM state (status %d)",
                          t->filename, rc);
    *ops = &ssm_file_ops;
    *user = file;
    return VINF_SUCCESS;
}

/* After a failed live phase: a stable state again (spec §6.3 step 7, with RUNNING_LS -> RUNNING). */
static int live_cleanup(PVM vm, int rc, bool *suspended)
{
    pthread_mutex_lock(&vm->pUVM->state_cb_lock);
    VMSTATE st = atomic_load(&vm->enmVMState);
    VMSTATE to = st;
    int why = VINF_SUCCESS;
    switch (st) {
    case VMSTATE_RUNNING_LS:          to = VMSTATE_RUNNING; break;
    case VMSTATE_OFF_LS:              to = VMSTATE_OFF; why = VERR_SSM_LIVE_POWERED_OFF; break;
    case VMSTATE_FATAL_ERROR_LS:      to = VMSTATE_FATAL_ERROR; why = VERR_SSM_LIVE_FATAL_ERROR; break;
    case VMSTATE_GURU_MEDITATION_LS:  to = VMSTATE_GURU_MEDITATION; why = VERR_SSM_LIVE_GURU_MEDITATION; break;
    case VMSTATE_DEBUGGING_LS:        to = VMSTATE_DEBUGGING; break;
    case VMSTATE_SUSPENDED_LS:
    case VMSTATE_SUSPENDED_EXT_LS:
    case VMSTATE_SAVING:              to = VMSTATE_SUSPENDED; *suspended = true; break;
    default: break;
    }
    if (to != st)
        vm_state_set_locked(vm, to, st);
    pthread_mutex_unlock(&vm->pUVM->state_cb_lock);
    return RT_FAILURE(why) ? why : rc;     /* a power-off during the save is what the caller must hear */
}

static int stream_close(PCSSMSTRMOPS ops, void *user, int rc)
{
    int rc2 = ops->pfnClose(user, RT_FAILURE(rc));
    return RT_SUCCESS(rc) && RT_FAILURE(rc2) ? rc2 : rc;
}

static int save_error(PVM vm, int rc, const struct ssm_save *s, const struct ssm_target *t)
{
    if (rc == VERR_SSM_LIVE_POWERED_OFF || rc == VERR_SSM_LIVE_FATAL_ERROR || rc == VERR_SSM_LIVE_GURU_MEDITATION)
        return rc;
    return VMSetError(vm, rc, RT_SRC_POS, "Saving the VM state to %s failed: %s", t->filename ? t->filename : "the stream",
                      s->w.msg[0] ? s->w.msg : RTErrGetShort(rc));
}

static int save_plain(PVM vm, const struct ssm_target *t, struct ssm_progress *progress, PCSSMSTRMOPS ops, void *user)
{
    struct ssm_save s;
    int rc = ssm_save_begin(&s, vm, ops, user, progress, false, t->filename && t->raw_ram);
    if (RT_SUCCESS(rc))
        rc = ssm_save_finish(&s);
    ssm_save_end(&s);
    rc = stream_close(ops, user, rc);
    if (RT_FAILURE(rc))
        save_error(vm, rc, &s, t);
    vm_state_set(vm, VMSTATE_SUSPENDED, VMSTATE_SAVING);
    if (RT_SUCCESS(rc))
        ssm_progress_report(progress, 100);
    return rc;
}

/* Live phase done: stop the guest unless it already is. */
static int live_stop(PVM vm, bool *suspended, bool *ext)
{
    if (atomic_load(&vm->enmVMState) == VMSTATE_SAVING) {     /* teleport from SUSPENDED */
        *ext = true;
        return VINF_SUCCESS;
    }
    struct live_suspend ls = { false };
    int rc = vm_emt_rendezvous(vm, SAVE_RENDEZVOUS, live_suspend_worker, &ls);
    if (RT_FAILURE(rc))
        return rc;
    *suspended = true;
    int pair = vm_state_try_set(vm, "VMR3Save", 2, VMSTATE_SUSPENDED_LS, VMSTATE_SAVING,
                                VMSTATE_SUSPENDED_EXT_LS, VMSTATE_SAVING);
    if (pair < 0)
        return pair;
    *ext = pair == 1;                  /* the user suspended meanwhile: VINF_SSM_LIVE_SUSPENDED */
    return VINF_SUCCESS;
}

static int save_live(PVM vm, const struct ssm_target *t, struct ssm_progress *progress, PCSSMSTRMOPS ops, void *user,
                     uint32_t downtime_ms, bool *suspended)
{
    struct ssm_save s;
    bool ext = false;
    int rc = ssm_save_begin(&s, vm, ops, user, progress, true, t->filename && t->raw_ram);
    if (RT_SUCCESS(rc))
        rc = ssm_save_live_passes(&s, downtime_ms);
    if (RT_SUCCESS(rc))
        rc = live_stop(vm, suspended, &ext);
    if (RT_SUCCESS(rc))
        rc = ssm_save_finish(&s);
    ssm_save_end(&s);
    rc = stream_close(ops, user, rc);
    if (RT_FAILURE(rc)) {
        save_error(vm, rc, &s, t);
        return live_cleanup(vm, rc, suspended);
    }
    vm_state_set(vm, VMSTATE_SUSPENDED, VMSTATE_SAVING);
    ssm_progress_report(progress, 100);
    return ext ? VINF_SSM_LIVE_SUSPENDED : VINF_SUCCESS;
}

int ssm_save_vm(PVM vm, const struct ssm_target *t, struct ssm_progress *progress, enum ssm_save_mode mode,
                uint32_t downtime_ms, bool *suspended)
{
    const char *who = mode == SSM_LIVE_TELEPORT ? "VMR3Teleport" : "VMR3Save";
    const struct engine_ops *e = vm->engine;
    if (e && e->irqchip_in_engine && e->irqchip_in_engine(vm) && !e->device_state_save)
        return VMSetError(vm, VERR_NOT_SUPPORTED, RT_SRC_POS, "%s: the %s engine keeps the interrupt controllers and "
                          "timer in the kernel and cannot save them yet; the VM is left as it is", who, e->name);
    int pair = vm_state_try_set(vm, who, 2, VMSTATE_SUSPENDED, VMSTATE_SAVING, VMSTATE_RUNNING, VMSTATE_RUNNING_LS);
    if (pair < 0)
        return pair;
    if (mode == SSM_LIVE_TELEPORT)
        vm->teleported_not_resumed = true;
    struct ssm_file file;
    PCSSMSTRMOPS ops = NULL;
    void *user = NULL;
    int rc = stream_open(vm, t, &file, &ops, &user);
    if (RT_FAILURE(rc)) {              /* quirk Q2 fixed: back to where the VM was */
        vm->teleported_not_resumed = false;
        vm_state_set(vm, pair == 0 ? VMSTATE_SUSPENDED : VMSTATE_RUNNING, pair == 0 ? VMSTATE_SAVING : VMSTATE_RUNNING_LS);
        return rc;
    }
    ssm_progress_report(progress, 1);
    if (pair == 0 && mode == SSM_LIVE_SAVE)
        rc = save_plain(vm, t, progress, ops, user);
    else
        rc = save_live(vm, t, progress, ops, user, downtime_ms, suspended);
    if (RT_FAILURE(rc))
        vm->teleported_not_resumed = false;
    return rc;
}
