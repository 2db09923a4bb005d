/*
 * Guru-meditation messages: what KVM reported, the instruction bytes at the
 * guest's RIP, and a full register dump, into vcpu->guru_message.
 */
#include "kvm_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

#define INSN_MAX 15

/* "xx xx ..." for the bytes at the linear address CS.base + RIP. */
static void format_insn_bytes(PVMCPU vcpu, const struct cpu_state *st, char *buf, size_t size)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    struct kvm_translation tr = { .linear_address = st->seg[SEG_CS].base + st->rip };
    snprintf(buf, size, "unavailable");
    if (!kv || ioctl(kv->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
        return;
    /* Stop at the end of the page: the next one may map elsewhere. */
    uint64_t n = GUEST_PAGE_SIZE - (tr.physical_address & (GUEST_PAGE_SIZE - 1));
    if (n > INSN_MAX)
        n = INSN_MAX;
    const uint8_t *p = guest_ram_ptr(&vcpu->pVM->ram, tr.physical_address, n);
    if (!p)
        return;
    size_t len = (size_t)snprintf(buf, size, "(gpa %#llx)", (unsigned long long)tr.physical_address);
    for (uint64_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, " %02x", p[i]);
}

int kvm_guru(PVMCPU vcpu, int rc, const char *fmt, ...)
{
    char *msg = vcpu->guru_message;
    size_t size = sizeof(vcpu->guru_message);
    va_list va;
    va_start(va, fmt);
    size_t len = (size_t)vsnprintf(msg, size, fmt, va);   /* the core names the vCPU */
    va_end(va);
    struct cpu_state *st = aligned_alloc(64, sizeof(*st));
    if (st && len < size && RT_SUCCESS(kvm_get_state(vcpu, st))) {
        char insn[128];
        format_insn_bytes(vcpu, st, insn, sizeof(insn));
        len += (size_t)snprintf(msg + len, size - len, "\ninstruction bytes at %04x:%llx: %s\n",
                                st->seg[SEG_CS].selector, (unsigned long long)st->rip, insn);
        if (len < size)
            cpu_state_format(st, msg + len, size - len);
    }
    free(st);
    return rc;
}

int kvm_ioctl_error(PVMCPU vcpu, const char *what)
{
    int err = errno;
    return VMSetError(vcpu->pVM, VERR_NEM_IPE_0, RT_SRC_POS, "%s on vCPU %u failed: %s",
                      what, vcpu->idCpu, strerror(err));
}
