/*
 * cpu_state <-> the "cpu" unit payload (docs/saved-state-format.md lists
 * the fields in order).
 */
#include "ssm_cpu.h"

#include <string.h>

#include "ssm_cursor.h"

/* One list of fields drives both directions, so they cannot drift apart. */
#define CPU_FIELDS(U64, U32, U16, U8, BOOL, BYTES)                                           \
    for (unsigned i = 0; i < GPR_COUNT; i++) U64(st->gpr[i]);                                \
    U64(st->rip); U64(st->rflags);                                                           \
    for (unsigned i = 0; i < SEG_COUNT; i++) {                                               \
        U16(st->seg[i].selector); U64(st->seg[i].base); U32(st->seg[i].limit); U32(st->seg[i].attr); \
    }                                                                                        \
    U64(st->gdtr.base); U16(st->gdtr.limit); U64(st->idtr.base); U16(st->idtr.limit);        \
    U64(st->cr0); U64(st->cr2); U64(st->cr3); U64(st->cr4); U64(st->cr8); U64(st->efer);     \
    for (unsigned i = 0; i < 4; i++) U64(st->dr[i]);                                         \
    U64(st->dr6); U64(st->dr7); U64(st->xcr0);                                               \
    U64(st->msr.star); U64(st->msr.lstar); U64(st->msr.cstar); U64(st->msr.sfmask);          \
    U64(st->msr.kernel_gs_base); U64(st->msr.sysenter_cs); U64(st->msr.sysenter_esp);        \
    U64(st->msr.sysenter_eip); U64(st->msr.tsc); U64(st->msr.tsc_aux); U64(st->msr.apic_base); \
    U64(st->msr.pat); U64(st->msr.misc_enable); U64(st->msr.spec_ctrl);                                            \
    BOOL(st->events.exception_pending); U8(st->events.exception_vector);                     \
    BOOL(st->events.exception_has_error_code); U32(st->events.exception_error_code);         \
    BOOL(st->events.interrupt_pending); U8(st->events.interrupt_vector);                     \
    BOOL(st->events.nmi_pending); BOOL(st->events.nmi_masked); BOOL(st->events.interrupt_shadow); \
    U8(run_state); U8(st->sipi_vector); BOOL(st->lapic_reset);                               \
    BOOL(st->x87_ferr); BOOL(st->x87_ignne);                                                 \
    BYTES(st->xsave, sizeof(st->xsave))

size_t ssm_cpu_encode(const struct cpu_state *st, uint8_t *buf, size_t size)
{
    struct ssm_cursor c = ssm_cursor_out(buf, size);
    uint8_t run_state = (uint8_t)st->run_state;
#define P64(x)  ssm_put(&c, (x), 8)
#define P32(x)  ssm_put(&c, (x), 4)
#define P16(x)  ssm_put(&c, (x), 2)
#define P8(x)   ssm_put(&c, (x), 1)
#define PB(x)   ssm_put(&c, (x) ? 1 : 0, 1)
#define PBY(p, n) ssm_put_bytes(&c, (p), (n))
    CPU_FIELDS(P64, P32, P16, P8, PB, PBY);
    return c.bad ? 0 : c.pos;
}

bool ssm_cpu_decode(struct cpu_state *st, const uint8_t *buf, size_t len)
{
    struct ssm_cursor c = ssm_cursor_in(buf, len);
    uint8_t run_state = 0;
    memset(st, 0, sizeof(*st));
#define G64(x)  (x) = ssm_get(&c, 8)
#define G32(x)  (x) = (uint32_t)ssm_get(&c, 4)
#define G16(x)  (x) = (uint16_t)ssm_get(&c, 2)
#define G8(x)   (x) = (uint8_t)ssm_get(&c, 1)
#define GB(x)   (x) = ssm_get_bool(&c)
#define GBY(p, n) ssm_get_bytes(&c, (p), (n))
    CPU_FIELDS(G64, G32, G16, G8, GB, GBY);
    if (c.bad || c.pos != len || run_state > CPU_WAIT_FOR_SIPI)
        return false;
    st->run_state = (enum cpu_run_state)run_state;
    return true;
}
