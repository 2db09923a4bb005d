/*
 * The interpreter as KVM's fallback.
 *
 * On an emulation failure the full vCPU state is read from KVM (the engine's
 * get_state), the per-vCPU interpreter finishes the instruction and, while
 * the guest stays in a mode KVM only emulates, up to FALLBACK_BUDGET more;
 * then the state goes back (set_state) and KVM_RUN continues.  The same
 * machinery runs unpaged modes instead of KVM_RUN (kvm_mode_select.c).
 *
 * Hot path: no allocation or locks beyond the interpreter created on first
 * use; per-opcode counters live in a fixed table written only by the EMT.
 */
#include "kvm_fallback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <vmm/err.h>

#include "../interp/interp.h"

/* Built once the run-loop hook (.fallback-hook.patch) adds the fields. */
#ifdef KVM_VCPU_HAS_FALLBACK

#define FALLBACK_BUDGET   10000u    /* instructions after a fallback, unpaged only */
#define INSN_MAX          15u


/* The vCPU's interpreter, created on first use (NULL when out of memory). */
static struct kvm_fallback *fallback_get(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    if (kv->fallback)
        return kv->fallback;
    PVM vm = vcpu->pVM;
    struct kvm_fallback *fb = aligned_alloc(64, sizeof(*fb));
    if (!fb)
        return NULL;
    memset(fb, 0, sizeof(*fb));
    struct interp_io io = interp_io_for_bus(vm->io);
    fb->cpu = interp_cpu_create(&fb->st, &vm->ram, &io);
    if (!fb->cpu) {
        free(fb);
        return NULL;
    }
    __atomic_store_n(&kv->fallback, fb, __ATOMIC_RELEASE);   /* stats read it from other threads */
    return fb;
}

void kvm_fallback_free(struct kvm_vcpu *kv)
{
    struct kvm_fallback *fb = kv->fallback;
    if (!fb)
        return;
    interp_cpu_destroy(fb->cpu);
    free(fb);
    kv->fallback = NULL;
}

/* --- guest memory at a linear address (KVM's view of the mode) --- */

/* Copies up to len bytes at linear address lin, stopping at an unmapped
 * page; returns the count copied. */
static size_t read_linear(PVMCPU vcpu, struct kvm_vcpu *kv, uint64_t lin, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        struct kvm_translation tr = { .linear_address = lin + done };
        if (ioctl(kv->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
            break;
        size_t n = GUEST_PAGE_SIZE - (tr.physical_address & (GUEST_PAGE_SIZE - 1));
        if (n > len - done)
            n = len - done;
        const uint8_t *p = guest_ram_ptr(&vcpu->pVM->ram, tr.physical_address, n);
        if (!p)
            break;
        memcpy(buf + done, p, n);
        done += n;
    }
    return done;
}


/* --- exceptions the interpreter raised --- */

/* CS selector and offset of the handler of vector v in st's IDT (or IVT). */
static bool idt_handler(PVMCPU vcpu, struct kvm_vcpu *kv, const struct cpu_state *st, unsigned v,
                        uint16_t *sel, uint64_t *off)
{
    uint8_t g[16];
    if (!(st->cr0 & CR0_PE)) {
        if (read_linear(vcpu, kv, st->idtr.base + (uint64_t)v * 4, g, 4) != 4)
            return false;
        *off = (uint64_t)g[0] | (uint64_t)g[1] << 8;
        *sel = (uint16_t)(g[2] | g[3] << 8);
        return true;
    }
    uint64_t size = (st->efer & EFER_LMA) ? 16 : 8, at = (uint64_t)v * size;
    if (at + size - 1 > st->idtr.limit || read_linear(vcpu, kv, st->idtr.base + at, g, size) != size)
        return false;
    *off = (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 | (uint64_t)g[7] << 24;
    if (size == 16)
        *off |= (uint64_t)(g[8] | g[9] << 8 | g[10] << 16 | (uint32_t)g[11] << 24) << 32;
    *sel = (uint16_t)((g[2] | g[3] << 8) & ~3);
    return true;
}

/* True if the interpreter delivered #UD for the instruction KVM could not
 * emulate: it does not know the instruction either, which is Petrel's
 * limitation, not the guest's fault.  Ambiguous when the guest shares one
 * handler between #UD and #GP/#PF: then the guest gets the exception. */
static bool raised_ud(PVMCPU vcpu, struct kvm_vcpu *kv, const struct cpu_state *st)
{
    uint16_t sel, sel2;
    uint64_t off, off2;
    if (!idt_handler(vcpu, kv, st, 6, &sel, &off))
        return false;
    if ((st->seg[SEG_CS].selector & ~3) != sel || st->rip != off)
        return false;
    for (unsigned v = 13; v <= 14; v++)
        if (idt_handler(vcpu, kv, st, v, &sel2, &off2) && sel2 == sel && off2 == off)
            return false;
    return true;
}

/* Guru meditation: what failed, the instruction, the interpreter's state. */
static int fallback_guru(PVMCPU vcpu, struct kvm_fallback *fb, int rc, const char *what, const char *why,
                         const uint8_t *insn, size_t n, uint16_t cs, uint64_t rip)
{
    char bytes[64];
    kvm_fallback_format_bytes(insn, n, bytes, sizeof(bytes));
    size_t size = sizeof(vcpu->guru_message);
    size_t len = (size_t)snprintf(vcpu->guru_message, size, "%s at %04x:%llx (bytes %s): %s\nstate:\n",
                                  what, cs, (unsigned long long)rip, bytes, why);
    if (len < size)
        cpu_state_format(&fb->st, vcpu->guru_message + len, size - len);
    return rc;
}

#define FAILURE "KVM emulation failure, and the interpreter fallback failed,"

/* Guru meditation for an interpreter failure at its current CS:RIP. */
static int guru_here(PVMCPU vcpu, struct kvm_vcpu *kv, struct kvm_fallback *fb, int rc, const char *what)
{
    uint8_t insn[INSN_MAX];
    size_t n = read_linear(vcpu, kv, fb->st.seg[SEG_CS].base + fb->st.rip, insn, sizeof(insn));
    return fallback_guru(vcpu, fb, rc, what, interp_last_error(fb->cpu), insn, n, fb->st.seg[SEG_CS].selector,
                         fb->st.rip);
}

/* --- running the interpreter --- */

/* A force flag or a poke needs the core.  consume: take the poke here (the
 * caller returns to the core itself); else KVM_RUN's entry sees it. */
static bool must_leave(PVMCPU vcpu, struct kvm_vcpu *kv, bool consume)
{
    if (atomic_load_explicit(&vcpu->ff, memory_order_relaxed)
        || atomic_load_explicit(&vcpu->pVM->ff, memory_order_relaxed))
        return true;
    if (!consume)
        return atomic_load(&kv->poke_pending);
    if (!atomic_exchange(&kv->poke_pending, false))
        return false;
    /* Consumed here: the next KVM_RUN must not return at once for it. */
    __atomic_store_n(&kv->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    return true;
}

/* Interprets while the state stays eligible (unpaged): up to budget
 * instructions (0 = until a poke, a force flag or a mode change).  One
 * instruction per interp_execute, so that the mode is checked after each
 * and the instructions the interpreter must not run here (CPUID, port I/O
 * to KVM's in-kernel PIC/PIT) are left to KVM.  Sets *to_core when the
 * core is needed. */
static int interpret_unpaged(PVMCPU vcpu, struct kvm_vcpu *kv, struct kvm_fallback *fb, uint64_t budget,
                             bool *to_core, bool consume_poke)
{
    bool irqchip = kvm_vm_of(vcpu->pVM)->has_irqchip;
    uint64_t start = interp_instructions_retired(fb->cpu), done = 0;
    int rc = VINF_SUCCESS;
    while (rc == VINF_SUCCESS && kvm_mode_interp_eligible(&fb->st, irqchip) && (!budget || done < budget)) {
        if (kvm_mode_next_is_kvms(vcpu->pVM, &fb->st, irqchip))
            break;
        rc = interp_execute(fb->cpu, 1);
        done = interp_instructions_retired(fb->cpu) - start;
        if (must_leave(vcpu, kv, consume_poke)) {     /* after a step: progress even if a flag sticks */
            *to_core = true;
            break;
        }
    }
    atomic_fetch_add_explicit(&fb->interpreted, done, memory_order_relaxed);
    return rc;
}

/* Writes the interpreter's state back to KVM; maps the interpreter's
 * status to the run loop's. */
static int write_back(PVMCPU vcpu, struct kvm_vcpu *kv, struct kvm_fallback *fb, int rc)
{
    if (rc == VINF_EM_TRIPLE_FAULT)
        return rc;
    int rc2 = kvm_set_state(vcpu, &fb->st);
    if (RT_FAILURE(rc2))
        return kvm_guru(vcpu, rc2, "writing the interpreter's state back to KVM failed");
    kv->maybe_unpaged = !(fb->st.cr0 & CR0_PG);
    /* HLT: with the irqchip KVM waits in KVM_RUN (MP state HALTED) and wakes
     * on interrupts; without it the core's halt path waits. */
    if (rc == VINF_EM_HALT && kvm_vm_of(vcpu->pVM)->has_irqchip)
        return VINF_SUCCESS;
    return rc;
}

/* Reads the state from KVM into the interpreter. */
static int load_state(PVMCPU vcpu, struct kvm_fallback *fb)
{
    int rc = kvm_get_state(vcpu, &fb->st);
    if (RT_FAILURE(rc))
        return kvm_guru(vcpu, rc, "reading the vCPU state for the interpreter failed");
    interp_flush_code(fb->cpu);       /* KVM's writes to guest code are invisible to it */
    interp_state_changed(fb->cpu);
    return VINF_SUCCESS;
}

/* Runs the instruction KVM could not emulate (insn: its bytes): the status
 * of interp_execute, or VERR_* with the guru message written. */
static int run_failed_insn(PVMCPU vcpu, struct kvm_vcpu *kv, struct kvm_fallback *fb, const uint8_t *insn, size_t n)
{
    uint16_t cs = fb->st.seg[SEG_CS].selector;
    uint64_t rip = fb->st.rip;
    uint64_t before = interp_instructions_retired(fb->cpu);
    int rc = interp_execute(fb->cpu, 1);
    bool retired = interp_instructions_retired(fb->cpu) != before;   /* else it raised an exception */
    const char *why = RT_FAILURE(rc) ? interp_last_error(fb->cpu) : NULL;
    if (rc == VINF_SUCCESS && !retired && raised_ud(vcpu, kv, &fb->st)) {
        rc = VERR_IEM_INSTR_NOT_IMPLEMENTED;
        why = "the interpreter raised #UD (it does not implement this instruction either)";
    }
    if (why) {
        (void)kvm_get_state(vcpu, &fb->st);   /* KVM still holds the state at the instruction: dump that */
        return fallback_guru(vcpu, fb, rc, FAILURE, why, insn, n, cs, rip);
    }
    if (rc == VINF_EM_TRIPLE_FAULT && !retired) {
        char bytes[64];
        kvm_fallback_format_bytes(insn, n, bytes, sizeof(bytes));
        vm_log(vcpu->pVM->pUVM, "vCPU %u: the exception the interpreter raised for %04x:%llx (bytes %s), which "
               "KVM could not emulate, triple-faulted (an unimplemented instruction raises #UD)", vcpu->idCpu, cs,
               (unsigned long long)rip, bytes);
    }
    return rc;
}

int kvm_fallback_emulation_failure(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    struct kvm_fallback *fb = fallback_get(vcpu, kv);
    if (!fb)
        return kvm_guru(vcpu, VERR_NO_MEMORY, "KVM emulation failure, and no memory for the interpreter fallback");
    int rc = load_state(vcpu, fb);
    if (RT_FAILURE(rc))
        return rc;
    if (fb->st.run_state != CPU_RUNNABLE)
        return VINF_SUCCESS;          /* an INIT came in while we read the state: KVM handles it */
    uint8_t insn[INSN_MAX];
    bool long64 = (fb->st.efer & EFER_LMA) && (fb->st.seg[SEG_CS].attr & SEG_ATTR_L);
    size_t n = read_linear(vcpu, kv, fb->st.seg[SEG_CS].base + fb->st.rip, insn, sizeof(insn));
    kvm_fallback_count_insn(vcpu, fb, insn, n, long64);
    rc = run_failed_insn(vcpu, kv, fb, insn, n);
    if (rc == VINF_SUCCESS) {
        bool to_core = false;         /* the run loop sees flags and pokes itself */
        rc = interpret_unpaged(vcpu, kv, fb, FALLBACK_BUDGET, &to_core, false);
        if (RT_FAILURE(rc))
            return guru_here(vcpu, kv, fb, rc, "interpreting after a KVM emulation failure failed");
    }
    return RT_FAILURE(rc) ? rc : write_back(vcpu, kv, fb, rc);
}

int kvm_fallback_interpret(PVMCPU vcpu, struct kvm_vcpu *kv, bool *to_core)
{
    *to_core = false;
    struct kvm_fallback *fb = fallback_get(vcpu, kv);
    if (!fb)
        return VINF_SUCCESS;          /* no memory for the interpreter: KVM still runs the guest */
    int rc = load_state(vcpu, fb);
    if (RT_FAILURE(rc))
        return rc;
    if (!kvm_mode_interp_eligible(&fb->st, kvm_vm_of(vcpu->pVM)->has_irqchip)) {
        kv->maybe_unpaged = !(fb->st.cr0 & CR0_PG);
        return VINF_SUCCESS;          /* nothing ran: KVM's state is current */
    }
    rc = interpret_unpaged(vcpu, kv, fb, 0, to_core, true);
    if (RT_FAILURE(rc))
        return guru_here(vcpu, kv, fb, rc, "interpreting an unpaged mode failed");
    rc = write_back(vcpu, kv, fb, rc);
    if (rc != VINF_SUCCESS)
        *to_core = true;
    return rc;
}

int kvm_fallback_set_state(PVMCPU vcpu, const struct cpu_state *st)
{
    int rc = kvm_set_state(vcpu, st);
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    if (RT_SUCCESS(rc) && kv)
        kv->maybe_unpaged = !(st->cr0 & CR0_PG);
    return rc;
}

#endif /* KVM_VCPU_HAS_FALLBACK */
