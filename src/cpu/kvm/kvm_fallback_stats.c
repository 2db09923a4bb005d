/*
 * Per-opcode counts of KVM fallbacks: a fixed table per vCPU, written only
 * by its EMT (no allocation, no locks) and read from any thread for the
 * log and the status.
 */
#include "kvm_fallback.h"

#include <stdio.h>
#include <string.h>

/* Built once the run-loop hook (.fallback-hook.patch) adds the fields. */
#ifdef KVM_VCPU_HAS_FALLBACK

#define LOG_EVERY 1000u     /* log the counts every this many fallbacks of a vCPU */

/* --- per-opcode counters --- */

static bool is_prefix(uint8_t b, bool long64)
{
    return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e
        || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 || (long64 && (b & 0xf0) == 0x40);
}

/* Two-byte opcodes whose ModRM.reg selects the instruction. */
static bool is_group(uint8_t op2)
{
    return op2 == 0x00 || op2 == 0x01 || op2 == 0xae || op2 == 0xba || op2 == 0xc7 || op2 == 0x18;
}

/* Key: the last LOCK/REP prefix (it often names the instruction), the 0F
 * escapes and the opcode; for group opcodes ModRM.reg ("/5"), or the whole
 * ModRM byte when it is a register form (0f 01 ca = clac). */
static uint64_t opcode_key(const uint8_t *p, size_t n, bool long64)
{
    uint8_t k[4];
    unsigned len = 0, i = 0, reg = 0;
    int lockrep = -1;
    while (i < n && is_prefix(p[i], long64)) {
        if (p[i] == 0xf0 || p[i] == 0xf2 || p[i] == 0xf3)
            lockrep = p[i];
        i++;
    }
    if (i >= n)
        return 0;
    if (lockrep >= 0)
        k[len++] = (uint8_t)lockrep;
    k[len++] = p[i++];
    if (k[len - 1] == 0x0f && i < n) {
        uint8_t op2 = p[i++];
        k[len++] = op2;
        if (i < n && (op2 == 0x38 || op2 == 0x3a || (is_group(op2) && (p[i] & 0xc0) == 0xc0)))
            k[len++] = p[i++];
        else if (is_group(op2) && i < n)
            reg = ((p[i] >> 3) & 7) + 1u;
    }
    uint64_t key = (uint64_t)len << 32 | (uint64_t)reg << 40;
    for (unsigned j = 0; j < len; j++)
        key |= (uint64_t)k[j] << (8 * j);
    return key;
}

static size_t format_key(uint64_t key, char *buf, size_t size)
{
    unsigned len = (unsigned)(key >> 32) & 0xff, reg = (unsigned)(key >> 40) & 0xff;
    size_t at = 0;
    buf[0] = '\0';
    if (len == 0)
        return (size_t)snprintf(buf, size, "??");
    for (unsigned j = 0; j < len && at < size; j++)
        at += (size_t)snprintf(buf + at, size - at, j ? " %02x" : "%02x", (unsigned)(key >> (8 * j)) & 0xff);
    if (reg && at < size)
        at += (size_t)snprintf(buf + at, size - at, "/%u", reg - 1);
    return at;
}

/* Counts one fallback; returns true the first time this opcode is seen. */
static bool count_opcode(struct kvm_fallback *fb, uint64_t key)
{
    atomic_fetch_add_explicit(&fb->total, 1, memory_order_relaxed);
    unsigned n = atomic_load_explicit(&fb->n_opcodes, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++)
        if (fb->opcodes[i].key == key) {
            atomic_fetch_add_explicit(&fb->opcodes[i].count, 1, memory_order_relaxed);
            return false;
        }
    if (n == KVM_FALLBACK_OPCODE_SLOTS) {
        atomic_fetch_add_explicit(&fb->other, 1, memory_order_relaxed);
        return false;
    }
    fb->opcodes[n].key = key;
    atomic_store_explicit(&fb->opcodes[n].count, 1, memory_order_relaxed);
    atomic_store_explicit(&fb->n_opcodes, n + 1, memory_order_release);
    return true;
}

void kvm_fallback_format_bytes(const uint8_t *p, size_t n, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, i ? " %02x" : "%02x", p[i]);
    if (n == 0)
        snprintf(buf, size, "unreadable");
}

void kvm_fallback_count_insn(PVMCPU vcpu, struct kvm_fallback *fb, const uint8_t *p, size_t n, bool long64)
{
    uint64_t key = opcode_key(p, n, long64);
    bool first = count_opcode(fb, key);
    uint64_t total = atomic_load_explicit(&fb->total, memory_order_relaxed);
    if (first) {
        char name[32], bytes[64];
        format_key(key, name, sizeof(name));
        kvm_fallback_format_bytes(p, n, bytes, sizeof(bytes));
        vm_log(vcpu->pVM->pUVM, "vCPU %u: first KVM emulation failure for opcode %s (bytes %s): the interpreter "
               "takes over", vcpu->idCpu, name, bytes);
    }
    if (total % LOG_EVERY == 0)
        kvm_fallback_log_stats(vcpu->pVM);
}

/* --- statistics over all vCPUs --- */

static struct kvm_fallback *vcpu_fallback(struct kvm_vm *kvm, unsigned i)
{
    struct kvm_vcpu *kv = kvm ? kvm->vcpus[i] : NULL;
    return kv ? __atomic_load_n(&kv->fallback, __ATOMIC_ACQUIRE) : NULL;
}

/* Sums the counts of key over all vCPUs (key 0: the "other" bucket). */
static uint64_t sum_key(struct kvm_vm *kvm, uint64_t key)
{
    uint64_t sum = 0;
    for (unsigned c = 0; c < VMM_MAX_CPU_COUNT; c++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm, c);
        if (!fb)
            continue;
        if (key == 0) {
            sum += atomic_load_explicit(&fb->other, memory_order_relaxed);
            continue;
        }
        unsigned n = atomic_load_explicit(&fb->n_opcodes, memory_order_acquire);
        for (unsigned i = 0; i < n; i++)
            if (fb->opcodes[i].key == key)
                sum += atomic_load_explicit(&fb->opcodes[i].count, memory_order_relaxed);
    }
    return sum;
}

/* True if key already appeared on a vCPU before (c, i): print it once. */
static bool key_seen_before(struct kvm_vm *kvm, unsigned c, unsigned i, uint64_t key)
{
    for (unsigned d = 0; d <= c; d++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm, d);
        unsigned n = fb ? atomic_load_explicit(&fb->n_opcodes, memory_order_acquire) : 0;
        for (unsigned j = 0; j < n && (d < c || j < i); j++)
            if (fb->opcodes[j].key == key)
                return true;
    }
    return false;
}

static size_t append(char *buf, size_t size, size_t at, const char *fmt, uint64_t v, const char *s)
{
    if (at >= size)
        return at;
    int n = snprintf(buf + at, size - at, fmt, s, (unsigned long long)v);
    return n > 0 ? at + (size_t)n : at;
}

size_t kvm_fallback_stats(PVM vm, char *buf, size_t size)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    size_t at = 0;
    if (!size)
        return 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < VMM_MAX_CPU_COUNT; c++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm, c);
        unsigned n = fb ? atomic_load_explicit(&fb->n_opcodes, memory_order_acquire) : 0;
        for (unsigned i = 0; i < n; i++) {
            uint64_t key = fb->opcodes[i].key;
            if (key_seen_before(kvm, c, i, key))
                continue;
            char name[32];
            format_key(key, name, sizeof(name));
            at = append(buf, size, at, at ? ", %s: %llu" : "%s: %llu", sum_key(kvm, key), name);
        }
    }
    uint64_t other = sum_key(kvm, 0);
    if (other)
        at = append(buf, size, at, at ? ", %s: %llu" : "%s: %llu", other, "other");
    if (!at)
        at = (size_t)snprintf(buf, size, "none");
    at = append(buf, size, at, "%s%llu", kvm_fallback_interpreted(vm), "; interpreted unpaged: ");
    return at < size ? at : size - 1;
}

uint64_t kvm_fallback_total(PVM vm)
{
    uint64_t sum = 0;
    for (unsigned c = 0; c < VMM_MAX_CPU_COUNT; c++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm_vm_of(vm), c);
        sum += fb ? atomic_load_explicit(&fb->total, memory_order_relaxed) : 0;
    }
    return sum;
}

uint64_t kvm_fallback_interpreted(PVM vm)
{
    uint64_t sum = 0;
    for (unsigned c = 0; c < VMM_MAX_CPU_COUNT; c++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm_vm_of(vm), c);
        sum += fb ? atomic_load_explicit(&fb->interpreted, memory_order_relaxed) : 0;
    }
    return sum;
}

uint64_t kvm_fallback_count(PVM vm, const char *key)
{
    struct kvm_vm *kvm = kvm_vm_of(vm);
    for (unsigned c = 0; c < VMM_MAX_CPU_COUNT; c++) {
        struct kvm_fallback *fb = vcpu_fallback(kvm, c);
        unsigned n = fb ? atomic_load_explicit(&fb->n_opcodes, memory_order_acquire) : 0;
        for (unsigned i = 0; i < n; i++) {
            char name[32];
            format_key(fb->opcodes[i].key, name, sizeof(name));
            if (!strcmp(name, key))
                return sum_key(kvm, fb->opcodes[i].key);
        }
    }
    return 0;
}

void kvm_fallback_log_stats(PVM vm)
{
    if (!kvm_fallback_total(vm) && !kvm_fallback_interpreted(vm))
        return;
    char buf[1024];
    kvm_fallback_stats(vm, buf, sizeof(buf));
    vm_log(vm->pUVM, "KVM fallbacks to the interpreter: %s", buf);
}

#endif /* KVM_VCPU_HAS_FALLBACK */
