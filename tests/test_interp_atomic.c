/*
 * LOCK-prefixed instructions and XCHG under the interpreter are atomic
 * across vCPUs: two host threads, each with its own interp_cpu over the same
 * guest RAM, hammer shared counters with LOCK XADD, LOCK INC, a LOCK CMPXCHG
 * retry loop, an XCHG spinlock around a plain INC, LOCK ADD, and a LOCK SUB
 * whose operand straddles two 64-bit words (the global-lock path).  Any
 * lost update shows in the final counts.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>
#include "cpu/interp/interp.h"

#define RAM_SIZE (1u << 20)
#define ITERATIONS 200000u

/* Real mode at 0x7c00 (from nasm):
 *     mov ecx, 200000
 * top: mov eax, 1 ; lock xadd [0x500], eax
 *     lock inc dword [0x508]
 *     xor eax, eax
 * retry: lea edx, [eax+1] ; lock cmpxchg [0x510], edx ; jnz retry
 * spin: mov eax, 1 ; xchg [0x520], eax ; test eax, eax ; jnz spin
 *     inc dword [0x518]                       ; under the XCHG spinlock
 *     xor eax, eax ; xchg [0x520], eax        ; release
 *     lock add dword [0x528], 3
 *     lock sub dword [0x53e], 1               ; split across 64-bit words
 *     dec ecx ; jnz top
 *     hlt */
static const uint8_t guest_code[] = {
    0x66, 0xb9, 0x40, 0x0d, 0x03, 0x00, 0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0xf0, 0x66, 0x0f, 0xc1, 0x06, 0x00, 0x05, 0xf0, 0x66, 0xff, 0x06, 0x08,
    0x05, 0x66, 0x31, 0xc0, 0x66, 0x67, 0x8d, 0x50, 0x01, 0xf0, 0x66, 0x0f,
    0xb1, 0x16, 0x10, 0x05, 0x75, 0xf2, 0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0x66, 0x87, 0x06, 0x20, 0x05, 0x66, 0x85, 0xc0, 0x75, 0xf0, 0x66, 0xff,
    0x06, 0x18, 0x05, 0x66, 0x31, 0xc0, 0x66, 0x87, 0x06, 0x20, 0x05, 0xf0,
    0x66, 0x83, 0x06, 0x28, 0x05, 0x03, 0xf0, 0x66, 0x83, 0x2e, 0x3e, 0x05,
    0x01, 0x66, 0x49, 0x75, 0xad, 0xf4,
};

struct vcpu {
    struct cpu_state st;
    struct interp_cpu *cpu;
    pthread_t thread;
    int rc;
};

static void real_mode_state(struct cpu_state *st, uint16_t ip)
{
    memset(st, 0, offsetof(struct cpu_state, xsave));
    for (unsigned s = 0; s < 6; s++)
        st->seg[s] = (struct seg_reg){ 0, 0, 0xffff, 0x3 | SEG_ATTR_S | SEG_ATTR_P };
    st->seg[SEG_CS].attr = 0xb | SEG_ATTR_S | SEG_ATTR_P;
    st->seg[SEG_LDTR].attr = SEG_ATTR_UNUSABLE;
    st->seg[SEG_TR] = (struct seg_reg){ 0, 0, 0xffff, 0xb | SEG_ATTR_P };
    st->idtr.limit = 0x3ff;
    st->gdtr.limit = 0xffff;
    st->rflags = RFLAGS_FIXED;
    st->cr0 = CR0_ET;
    st->rip = ip;
    st->gpr[GPR_RSP] = 0x7000;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    int rc;
    do      /* bounded: without atomicity the spinlock can wedge */
        rc = interp_execute(v->cpu, 1000000);
    while (rc == VINF_SUCCESS && interp_instructions_retired(v->cpu) < 200000000);
    v->rc = rc;
    return NULL;
}

static uint32_t counter(const struct guest_ram *ram, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, ram->host + gpa, 4);
    return v;
}

static void test_two_vcpus_shared_counters(void **state)
{
    (void)state;
    struct guest_ram ram = { 0 };
    ram.host = calloc(1, RAM_SIZE);
    assert_non_null(ram.host);
    ram.size = ram.low_size = RAM_SIZE;
    ram.hole_size = GUEST_4G - RAM_SIZE;
    memcpy(ram.host + 0x7c00, guest_code, sizeof(guest_code));

    struct interp_io io = { 0 };
    struct vcpu v[2];
    memset(v, 0, sizeof(v));
    for (unsigned i = 0; i < 2; i++) {
        real_mode_state(&v[i].st, 0x7c00);
        v[i].cpu = interp_cpu_create(&v[i].st, &ram, &io);
        assert_non_null(v[i].cpu);
    }
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&v[i].thread, NULL, vcpu_thread, &v[i]), 0);
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(v[i].thread, NULL);
        if (v[i].rc != VINF_EM_HALT)
            fprintf(stderr, "vCPU %u: rc=%d rip=%#llx (%s)\n", i, v[i].rc,
                    (unsigned long long)v[i].st.rip, interp_last_error(v[i].cpu));
        assert_int_equal(v[i].rc, VINF_EM_HALT);
    }
    printf("xadd %u inc %u cmpxchg %u xchg-lock %u add %u split-sub %#x\n", counter(&ram, 0x500),
           counter(&ram, 0x508), counter(&ram, 0x510), counter(&ram, 0x518), counter(&ram, 0x528),
           counter(&ram, 0x53e));
    assert_int_equal(counter(&ram, 0x500), 2 * ITERATIONS);
    assert_int_equal(counter(&ram, 0x508), 2 * ITERATIONS);
    assert_int_equal(counter(&ram, 0x510), 2 * ITERATIONS);
    assert_int_equal(counter(&ram, 0x518), 2 * ITERATIONS);
    assert_int_equal(counter(&ram, 0x520), 0);
    assert_int_equal(counter(&ram, 0x528), 6 * ITERATIONS);
    assert_int_equal(counter(&ram, 0x53e), (uint32_t)(0 - 2 * ITERATIONS));
    for (unsigned i = 0; i < 2; i++)
        interp_cpu_destroy(v[i].cpu);
    free(ram.host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_vcpus_shared_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
