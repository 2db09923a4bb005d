/*
 * The in-kernel interrupt controllers and timer (/KVM/IrqChip, default 1):
 * PIC + IOAPIC + per-vCPU LAPIC (KVM_CREATE_IRQCHIP) and the PIT
 * (KVM_CREATE_PIT2), created before any vCPU.  Device models raise GSIs
 * through irq_set() -> KVM_IRQ_LINE, which KVM allows from any thread.
 *
 * GSI routing follows the MADT Petrel writes (ISA IRQ0 -> GSI 2): GSI 0
 * goes to PIC pin 0 and IOAPIC pin 2, GSI 2 only to the PIC cascade pin,
 * every other GSI < 16 to PIC pin n and IOAPIC pin n, 16..23 to the IOAPIC.
 *
 * KVM has no reset for these chips: their power-on states are read right
 * after creation and written back on a VM reset.
 */
#include "kvm_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

#define IOAPIC_PINS 24
#define PIC_PINS    16

static void route_add(struct kvm_irq_routing *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
    struct kvm_irq_routing_entry *e = &r->entries[r->nr++];
    memset(e, 0, sizeof(*e));
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

static int routing_set(PVM vm, struct kvm_vm *kvm)
{
    size_t n = PIC_PINS + IOAPIC_PINS;
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));
    if (!r)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "out of memory for the GSI routing table");
    for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        if (gsi < PIC_PINS)
            route_add(r, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi & 7);
        if (gsi != 2)
            route_add(r, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
    }
    int rc = ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r);
    int err = errno;
    free(r);
    if (rc < 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS, "KVM_SET_GSI_ROUTING failed: %s", strerror(err));
    return VINF_SUCCESS;
}

static int reset_states_read(PVM vm, struct kvm_vm *kvm)
{
    for (uint32_t i = 0; i < 3; i++) {
        kvm->reset_chip[i].chip_id = i;
        if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &kvm->reset_chip[i]) < 0)
            return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                              "KVM_GET_IRQCHIP (chip %u) failed: %s", i, strerror(errno));
    }
    if (ioctl(kvm->vm_fd, KVM_GET_PIT2, &kvm->reset_pit) < 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS, "KVM_GET_PIT2 failed: %s", strerror(errno));
    return VINF_SUCCESS;
}

int kvm_irqchip_create(PVM vm, struct kvm_vm *kvm)
{
    bool want = true;
    int rc = CFGMR3QueryBoolDef(CFGMR3GetChild(CFGMR3GetRoot(vm), "KVM"), "IrqChip", &want, true);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "Configuration error: /KVM/IrqChip must be 0 or 1");
    if (!want)
        return VINF_SUCCESS;
    if (ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0
        || ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS,
                          "the host's KVM has no in-kernel irqchip or PIT (set /KVM/IrqChip to 0)");
    if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS, "KVM_CREATE_IRQCHIP failed: %s "
                          "(set /KVM/IrqChip to 0 to run without it)", strerror(errno));
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return VMSetError(vm, VERR_NEM_INIT_FAILED, RT_SRC_POS, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
    kvm->has_irqchip = true;
    kvm->has_tsc_deadline = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    rc = routing_set(vm, kvm);
    if (RT_SUCCESS(rc))
        rc = reset_states_read(vm, kvm);
    return rc;
}

/* Keeps the LAPIC as KVM made it (APIC id = vCPU id) for later resets. */
int kvm_irqchip_vcpu_init(PVMCPU vcpu, struct kvm_vm *kvm, struct kvm_vcpu *kv)
{
    if (!kvm->has_irqchip)
        return VINF_SUCCESS;
    if (ioctl(kv->fd, KVM_GET_LAPIC, &kv->reset_lapic) < 0)
        return kvm_ioctl_error(vcpu, "KVM_GET_LAPIC");
    kv->has_reset_lapic = true;
    return VINF_SUCCESS;
}

int kvm_irqchip_reset_lapic(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    if (kv->has_reset_lapic && ioctl(kv->fd, KVM_SET_LAPIC, &kv->reset_lapic) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_LAPIC");
    return VINF_SUCCESS;
}

/* PIC, IOAPIC and PIT back to power-on (the BSP's reset stands for the VM's). */
int kvm_irqchip_reset_vm(PVMCPU vcpu, struct kvm_vm *kvm)
{
    if (!kvm->has_irqchip)
        return VINF_SUCCESS;
    for (uint32_t i = 0; i < 3; i++)
        if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &kvm->reset_chip[i]) < 0)
            return kvm_ioctl_error(vcpu, "KVM_SET_IRQCHIP");
    if (ioctl(kvm->vm_fd, KVM_SET_PIT2, &kvm->reset_pit) < 0)
        return kvm_ioctl_error(vcpu, "KVM_SET_PIT2");
    return VINF_SUCCESS;
}

/* Any thread.  Without an irqchip there is nothing to raise. */
void kvm_irq_set(PVM vm, uint32_t gsi, int level)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (!kvm || !kvm->has_irqchip || gsi >= IOAPIC_PINS)
        return;
    struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
    (void)ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l);   /* only fails for a bad GSI, checked above */
}

/* Any thread: KVM_SIGNAL_MSI into the in-kernel local APICs. */
int kvm_msi_send(PVM vm, uint64_t addr, uint32_t data)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    if (!kvm || !kvm->has_irqchip)
        return VERR_NOT_SUPPORTED;
    if ((addr >> 20) != 0xfee)
        return VERR_INVALID_PARAMETER;
    struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
    return ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? VERR_NOT_SUPPORTED : VINF_SUCCESS;
}
