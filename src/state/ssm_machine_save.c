/*
 * Writing the VM's non-RAM units: the virtual clock, each vCPU (read on
 * its own EMT), the chips the engine owns, then the devices.
 */
#include <stdlib.h>
#include <string.h>

#include "../time/vclock.h"
#include "ssm_cpu.h"
#include "ssm_machine.h"

void ssm_machine_fingerprint(PVM vm, struct ssm_fingerprint *fp)
{
    memset(fp, 0, sizeof(*fp));
    fp->ram_size = vm->ram.size;
    fp->ram_low_size = vm->ram.low_size;
    fp->ram_hole_size = vm->ram.hole_size;
    fp->vcpu_count = vm->cCpus;
    if (vm->engine && vm->engine->cpu_features)
        vm->engine->cpu_features(vm, fp->cpuid);
}

static int cpu_get_on_emt(PVMCPU vcpu, struct cpu_state *st)
{
    return vcpu->pVM->engine->get_state(vcpu, st);
}

static int save_cpu(PVM vm, struct ssm_writer *w, VMCPUID id, uint8_t *buf)
{
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    if (!st)
        return ssm_writer_fail(w, VERR_NO_MEMORY, "out of memory saving vCPU %u", id);
    int rc = VMR3ReqCallWaitU(vm->pUVM, id, (PFNRT)cpu_get_on_emt, 2, vm->apCpus[id], st);
    size_t len = RT_SUCCESS(rc) ? ssm_cpu_encode(st, buf, SSM_CPU_PAYLOAD_MAX) : 0;
    free(st);
    if (RT_FAILURE(rc))
        return ssm_writer_fail(w, rc, "cannot read the state of vCPU %u (status %d)", id, rc);
    if (!len)
        return ssm_writer_fail(w, VERR_SSM_IPE_3, "vCPU %u: state does not fit its unit", id);
    return ssm_unit_write(w, SSM_CPU_UNIT_NAME, id, SSM_CPU_UNIT_VERSION, buf, len);
}

static int save_engine_chips(PVM vm, struct ssm_writer *w, uint8_t *buf, uint32_t *units)
{
    bool in_engine = vm->engine->irqchip_in_engine && vm->engine->irqchip_in_engine(vm);
    for (size_t i = 0; i < SSM_CHIP_UNIT_COUNT; i++)
      for (uint32_t n = 0; n < (ssm_chip_units[i].per_cpu ? vm->cCpus : 1); n++) {
        int rc = vm->engine->device_state_save
               ? vm->engine->device_state_save(vm, ssm_chip_units[i].name, n, buf, ssm_chip_units[i].size)
               : VERR_NOT_SUPPORTED;
        if (rc == VERR_NOT_FOUND || (rc == VERR_NOT_SUPPORTED && !in_engine))
            continue;
        if (RT_FAILURE(rc))
            return ssm_writer_fail(w, rc, "the %s engine cannot save its %s yet (status %d)", vm->engine->name,
                                   ssm_chip_units[i].name, rc);
        rc = ssm_unit_write(w, ssm_chip_units[i].name, n, ssm_chip_units[i].version, buf, ssm_chip_units[i].size);
        if (RT_FAILURE(rc))
            return rc;
        (*units)++;
    }
    return VINF_SUCCESS;
}

/* Instance numbers count instances of the same device name. */
static uint32_t device_ordinal(PVM vm, const struct device_instance *d)
{
    uint32_t n = 0;
    for (const struct device_instance *e = vm->devices; e && e != d; e = e->next)
        if (!strcmp(e->ops->name, d->ops->name))
            n++;
    return n;
}

static int save_devices(PVM vm, struct ssm_writer *w, uint8_t *buf, uint32_t *units)
{
    for (struct device_instance *d = vm->devices; d; d = d->next) {
        if (!d->ops->save || d->ops->saved_size > SSM_UNIT_PAYLOAD_MAX)
            continue;
        memset(buf, 0, d->ops->saved_size);
        d->ops->save(d->state, buf);
        int rc = ssm_unit_write(w, d->ops->name, device_ordinal(vm, d), d->ops->saved_version, buf,
                                d->ops->saved_size);
        if (RT_FAILURE(rc))
            return rc;
        (*units)++;
    }
    return VINF_SUCCESS;
}

int ssm_machine_save(PVM vm, struct ssm_writer *w, uint32_t *units)
{
    uint8_t *buf = calloc(1, SSM_UNIT_PAYLOAD_MAX);
    if (!buf)
        return ssm_writer_fail(w, VERR_NO_MEMORY, "out of memory saving the machine state");
    uint8_t clk[8];
    ssm_put_u64(clk, vclock_now(vm->clock));
    int rc = ssm_unit_write(w, SSM_CLOCK_UNIT_NAME, 0, SSM_CLOCK_UNIT_VERSION, clk, sizeof(clk));
    (*units)++;
    for (VMCPUID id = 0; id < vm->cCpus && RT_SUCCESS(rc); id++, (*units)++)
        rc = save_cpu(vm, w, id, buf);
    if (RT_SUCCESS(rc))
        rc = save_engine_chips(vm, w, buf, units);
    if (RT_SUCCESS(rc))
        rc = save_devices(vm, w, buf, units);
    free(buf);
    return rc;
}
