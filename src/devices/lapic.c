/*
 * The local APIC model (see lapic.h).  Interrupt vectors live in 256-bit
 * IRR/ISR/TMR bitmaps; the timer's count is computed from the virtual
 * clock when read, and its expiry is a vtimer.
 */
#include "lapic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../time/vclock.h"

enum {
    REG_ID = 0x20, REG_VERSION = 0x30, REG_TPR = 0x80, REG_APR = 0x90, REG_PPR = 0xa0, REG_EOI = 0xb0,
    REG_RRD = 0xc0, REG_LDR = 0xd0, REG_DFR = 0xe0, REG_SVR = 0xf0, REG_ISR = 0x100, REG_TMR = 0x180,
    REG_IRR = 0x200, REG_ESR = 0x280, REG_CMCI = 0x2f0, REG_ICR_LO = 0x300, REG_ICR_HI = 0x310,
    REG_LVT_TIMER = 0x320, REG_LVT_ERROR = 0x370, REG_TIMER_INIT = 0x380, REG_TIMER_CUR = 0x390,
    REG_TIMER_DIV = 0x3e0,
};

/* lvt[] indices: CMCI, then the registers at 0x320..0x370. */
enum { LVT_CMCI, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LVT_MASKED       (1u << 16)
#define TIMER_MODE(lvt)  (((lvt) >> 17) & 3u)
#define TIMER_ONESHOT    0u
#define TIMER_PERIODIC   1u
#define TIMER_TSC        2u
#define SVR_ENABLE       (1u << 8)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG  (1u << 7)
#define VERSION          (0x14u | ((LVT_COUNT - 2u) << 16))   /* max LVT entry 5 (timer..error) */

struct lapic {
    pthread_mutex_t lock;
    struct vtimer *timer;
    struct vclock *clock;
    struct lapic_host host;
    uint32_t cpu;
    struct lapic_saved r;         /* the registers, as saved */
    uint32_t esr_pending;         /* errors since the last ESR write */
};

static bool bit_test(const uint32_t *map, unsigned v) { return (map[v >> 5] >> (v & 31)) & 1; }
static void bit_set(uint32_t *map, unsigned v) { map[v >> 5] |= 1u << (v & 31); }
static void bit_clear(uint32_t *map, unsigned v) { map[v >> 5] &= ~(1u << (v & 31)); }

/* Highest set vector of a bitmap, or -1. */
static int bit_highest(const uint32_t *map)
{
    for (int i = 7; i >= 0; i--)
        if (map[i])
            return i * 32 + 31 - __builtin_clz(map[i]);
    return -1;
}

static uint32_t ppr(const struct lapic *a)
{
    int isrv = bit_highest(a->r.isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (a->r.tpr & 0xf0) >= isr_class ? a->r.tpr & 0xff : isr_class;
}

static int pending_locked(const struct lapic *a)
{
    int v = bit_highest(a->r.irr);
    return v >= 0 && ((uint32_t)v & 0xf0) > (ppr(a) & 0xf0) ? v : -1;
}

static bool sw_enabled(const struct lapic *a) { return a->r.hw_enabled && (a->r.svr & SVR_ENABLE); }

static uint64_t timer_divisor(const struct lapic *a)
{
    uint32_t v = (a->r.divide_config & 3) | ((a->r.divide_config & 8) >> 1);
    return v == 7 ? 1 : UINT64_C(2) << v;
}

static uint64_t timer_period_ns(const struct lapic *a)
{
    return (uint64_t)a->r.initial_count * timer_divisor(a) * LAPIC_BUS_NS;
}

/* Sets an IRR bit; true if the vCPU should look. */
static bool set_irr_locked(struct lapic *a, uint8_t vector, bool level)
{
    if (!sw_enabled(a))
        return false;
    if (vector < 16) {
        a->esr_pending |= ESR_RECV_ILLEGAL;
        return false;
    }
    bit_set(a->r.irr, vector);
    if (level)
        bit_set(a->r.tmr, vector);
    else
        bit_clear(a->r.tmr, vector);
    return true;
}

/* Arms the vtimer for the current mode (lock held).  Nothing is disarmed
 * under the lock (disarm waits for a running callback, which takes the
 * lock): a stale firing finds timer_armed clear or its time not come. */
static void timer_plan(struct lapic *a)
{
    uint32_t mode = TIMER_MODE(a->r.lvt[LVT_TIMER]);
    uint64_t period = timer_period_ns(a);
    if (mode == TIMER_TSC)
        a->r.timer_armed = a->r.tsc_deadline_ns != 0;
    else if (!period)
        a->r.timer_armed = 0;
    if (!a->r.timer_armed || !a->timer)
        return;
    if (mode == TIMER_TSC) {
        vtimer_arm(a->timer, a->r.tsc_deadline_ns);
        return;
    }
    uint64_t now = vclock_now(a->clock), end = a->r.timer_start_ns + period;
    if (mode == TIMER_PERIODIC && end <= now) {        /* catch up after a pause or a load */
        a->r.timer_start_ns += period * ((now - a->r.timer_start_ns) / period);
        end = a->r.timer_start_ns + period;
    }
    vtimer_arm(a->timer, end);
}

/* Whether the armed timer's time has come; consumes a one-shot expiry. */
static bool timer_expire(struct lapic *a, uint64_t now)
{
    uint32_t mode = TIMER_MODE(a->r.lvt[LVT_TIMER]);
    if (!a->r.timer_armed)
        return false;
    if (mode == TIMER_TSC) {
        if (now < a->r.tsc_deadline_ns)
            return false;
        a->r.tsc_deadline = 0;
        a->r.tsc_deadline_ns = 0;
        a->r.timer_armed = 0;
        return true;
    }
    uint64_t period = timer_period_ns(a);
    if (!period || now < a->r.timer_start_ns + period)
        return false;
    if (mode == TIMER_PERIODIC)
        a->r.timer_start_ns += period * ((now - a->r.timer_start_ns) / period);
    else
        a->r.timer_armed = 0;
    return true;
}

/* The timer's vtimer fired (clock thread). */
static void timer_fired(void *opaque)
{
    struct lapic *a = opaque;
    bool notify = false;
    pthread_mutex_lock(&a->lock);
    uint32_t lvt = a->r.lvt[LVT_TIMER];
    if (timer_expire(a, vclock_now(a->clock)) && !(lvt & LVT_MASKED))
        notify = set_irr_locked(a, (uint8_t)lvt, false);
    timer_plan(a);                                     /* the next period, or a stale early firing */
    pthread_mutex_unlock(&a->lock);
    if (notify)
        a->host.notify(a->host.opaque, a->cpu);
}

struct lapic *lapic_create(struct vclock *clock, uint32_t cpu, const struct lapic_host *host)
{
    struct lapic *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->clock = clock;
    a->host = *host;
    a->cpu = cpu;
    a->r.id = cpu & 0xff;
    a->timer = clock ? vtimer_create(clock, timer_fired, a) : NULL;
    if (clock && !a->timer) {
        free(a);
        return NULL;
    }
    lapic_reset(a, cpu == 0, false);
    return a;
}

void lapic_destroy(struct lapic *apic)
{
    if (!apic)
        return;
    vtimer_destroy(apic->timer);
    pthread_mutex_destroy(&apic->lock);
    free(apic);
}

static void reset_locked(struct lapic *a, bool bsp)
{
    uint32_t id = a->r.id, events = a->r.events & LAPIC_EV_SIPI;
    uint8_t sipi = a->r.sipi_vector, hw = a->r.hw_enabled;
    memset(&a->r, 0, sizeof(a->r));
    a->r.id = id;
    a->r.events = events;
    a->r.sipi_vector = sipi;
    a->r.hw_enabled = hw;
    a->r.dfr = 0xffffffff;
    a->r.svr = 0xff;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        a->r.lvt[i] = LVT_MASKED;
    if (bsp)                                   /* virtual wire: the 8259 reaches the BSP */
        a->r.lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
    a->esr_pending = 0;                        /* timer_armed is clear: a pending firing is stale */
}

void lapic_reset(struct lapic *apic, bool bsp, bool init)
{
    pthread_mutex_lock(&apic->lock);
    if (!init) {
        apic->r.id = apic->cpu & 0xff;
        apic->r.events = 0;
        apic->r.hw_enabled = 1;
    }
    reset_locked(apic, bsp);
    pthread_mutex_unlock(&apic->lock);
}

void lapic_set_hw_enabled(struct lapic *apic, bool enabled)
{
    pthread_mutex_lock(&apic->lock);
    if (apic->r.hw_enabled && !enabled)
        reset_locked(apic, false);
    apic->r.hw_enabled = enabled;
    pthread_mutex_unlock(&apic->lock);
}

static uint32_t current_count(const struct lapic *a)
{
    uint32_t mode = TIMER_MODE(a->r.lvt[LVT_TIMER]);
    if (mode == TIMER_TSC || !a->r.initial_count || !a->clock)
        return 0;
    uint64_t ticks = (vclock_now(a->clock) - a->r.timer_start_ns) / (timer_divisor(a) * LAPIC_BUS_NS);
    if (mode == TIMER_PERIODIC)
        return a->r.initial_count - (uint32_t)(ticks % a->r.initial_count);
    return ticks >= a->r.initial_count ? 0 : a->r.initial_count - (uint32_t)ticks;
}

static uint32_t read_locked(const struct lapic *a, uint32_t off)
{
    if (off >= REG_ISR && off < REG_ISR + 0x80)
        return a->r.isr[(off - REG_ISR) >> 4];
    if (off >= REG_TMR && off < REG_TMR + 0x80)
        return a->r.tmr[(off - REG_TMR) >> 4];
    if (off >= REG_IRR && off < REG_IRR + 0x80)
        return a->r.irr[(off - REG_IRR) >> 4];
    if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR)
        return a->r.lvt[LVT_TIMER + ((off - REG_LVT_TIMER) >> 4)];
    switch (off) {
    case REG_ID: return a->r.id << 24;
    case REG_VERSION: return VERSION;
    case REG_TPR: return a->r.tpr;
    case REG_PPR: return ppr(a);
    case REG_LDR: return a->r.ldr;
    case REG_DFR: return a->r.dfr;
    case REG_SVR: return a->r.svr;
    case REG_ESR: return a->r.esr;
    case REG_CMCI: return a->r.lvt[LVT_CMCI];
    case REG_ICR_LO: return a->r.icr_lo;          /* delivery status: always idle */
    case REG_ICR_HI: return a->r.icr_hi;
    case REG_TIMER_INIT: return a->r.initial_count;
    case REG_TIMER_CUR: return current_count(a);
    case REG_TIMER_DIV: return a->r.divide_config;
    default: return 0;                             /* APR, RRD, reserved */
    }
}

uint32_t lapic_read(struct lapic *apic, uint32_t offset)
{
    pthread_mutex_lock(&apic->lock);
    uint32_t v = read_locked(apic, offset & 0xff0);
    pthread_mutex_unlock(&apic->lock);
    return v;
}

/* Writable bits of each LVT entry. */
static uint32_t lvt_write_mask(unsigned i)
{
    switch (i) {
    case LVT_TIMER: return 0x700ff;            /* vector, mask, mode */
    case LVT_LINT0: case LVT_LINT1: return 0x1a7ff;
    case LVT_ERROR: return 0x100ff;
    default: return 0x107ff;
    }
}

static void write_lvt(struct lapic *a, unsigned i, uint32_t v)
{
    uint32_t old = a->r.lvt[i];
    v &= lvt_write_mask(i);
    if (i == LVT_TIMER && TIMER_MODE(v) == 3)
        v &= ~(3u << 17);                      /* reserved mode: one-shot */
    if (!sw_enabled(a))
        v |= LVT_MASKED;
    a->r.lvt[i] = v;
    if (i == LVT_TIMER && TIMER_MODE(old) != TIMER_MODE(v)) {
        a->r.initial_count = 0;                /* a mode switch stops the timer */
        a->r.tsc_deadline = 0;
        a->r.tsc_deadline_ns = 0;
        a->r.timer_armed = 0;
    }
}

/* What a register write asks of the owner, done after unlocking. */
struct write_effects {
    bool send, eoi, notify;
    uint8_t eoi_vector;
    struct apic_msg msg;
};

static void write_icr(struct lapic *a, uint32_t v, struct write_effects *fx)
{
    a->r.icr_lo = v & 0xcfff;                  /* delivery status reads idle */
    struct apic_msg m = {
        .vector = (uint8_t)v, .delivery_mode = (v >> 8) & 7, .logical = (v >> 11) & 1,
        .assert = (v >> 14) & 1, .level = (v >> 15) & 1, .shorthand = (v >> 18) & 3,
        .dest = a->r.icr_hi >> 24,
    };
    if ((m.delivery_mode == APIC_DM_FIXED || m.delivery_mode == APIC_DM_LOWEST) && m.vector < 16) {
        a->esr_pending |= ESR_SEND_ILLEGAL;
        return;
    }
    fx->send = true;
    fx->msg = m;
}

static void write_eoi(struct lapic *a, struct write_effects *fx)
{
    int v = bit_highest(a->r.isr);
    if (v < 0)
        return;
    bit_clear(a->r.isr, (unsigned)v);
    if (bit_test(a->r.tmr, (unsigned)v)) {
        fx->eoi = true;
        fx->eoi_vector = (uint8_t)v;
    }
    fx->notify = pending_locked(a) >= 0;
}

static void write_locked(struct lapic *a, uint32_t off, uint32_t v, struct write_effects *fx)
{
    if (off >= REG_LVT_TIMER && off <= REG_LVT_ERROR) {
        write_lvt(a, LVT_TIMER + ((off - REG_LVT_TIMER) >> 4), v);
        return;
    }
    switch (off) {
    case REG_ID: a->r.id = v >> 24; break;
    case REG_TPR: a->r.tpr = v & 0xff; fx->notify = pending_locked(a) >= 0; break;
    case REG_EOI: write_eoi(a, fx); break;
    case REG_LDR: a->r.ldr = v & 0xff000000; break;
    case REG_DFR: a->r.dfr = v | 0x0fffffff; break;
    case REG_SVR:
        a->r.svr = v & 0x13ff;
        if (!(v & SVR_ENABLE))
            for (unsigned i = 0; i < LVT_COUNT; i++)
                a->r.lvt[i] |= LVT_MASKED;
        break;
    case REG_ESR: a->r.esr = a->esr_pending; a->esr_pending = 0; break;
    case REG_CMCI: write_lvt(a, LVT_CMCI, v); break;
    case REG_ICR_HI: a->r.icr_hi = v & 0xff000000; break;
    case REG_ICR_LO: write_icr(a, v, fx); break;
    case REG_TIMER_INIT:
        if (TIMER_MODE(a->r.lvt[LVT_TIMER]) == TIMER_TSC)
            break;
        a->r.initial_count = v;
        a->r.timer_start_ns = a->clock ? vclock_now(a->clock) : 0;
        a->r.timer_armed = v != 0;
        timer_plan(a);
        break;
    case REG_TIMER_DIV: a->r.divide_config = v & 0xb; break;
    case REG_VERSION: case REG_PPR: case REG_APR: case REG_RRD: case REG_TIMER_CUR: break;
    default:
        if (off < REG_ISR || off >= REG_IRR + 0x80)   /* ISR/TMR/IRR are read-only too */
            a->esr_pending |= ESR_ILLEGAL_REG;
        break;
    }
}

void lapic_write(struct lapic *apic, uint32_t offset, uint32_t value)
{
    struct write_effects fx = { 0 };
    pthread_mutex_lock(&apic->lock);
    write_locked(apic, offset & 0xff0, value, &fx);
    pthread_mutex_unlock(&apic->lock);
    if (fx.eoi && apic->host.eoi)
        apic->host.eoi(apic->host.opaque, fx.eoi_vector);
    if (fx.send && apic->host.send)
        apic->host.send(apic->host.opaque, apic->cpu, &fx.msg);
    if (fx.notify)
        apic->host.notify(apic->host.opaque, apic->cpu);
}

void lapic_set_tsc_deadline(struct lapic *apic, uint64_t tsc, uint64_t at_ns)
{
    pthread_mutex_lock(&apic->lock);
    if (TIMER_MODE(apic->r.lvt[LVT_TIMER]) == TIMER_TSC) {
        apic->r.tsc_deadline = tsc;
        apic->r.tsc_deadline_ns = tsc ? (at_ns ? at_ns : 1) : 0;
        timer_plan(apic);
    }
    pthread_mutex_unlock(&apic->lock);
}

uint64_t lapic_tsc_deadline(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    uint64_t v = TIMER_MODE(apic->r.lvt[LVT_TIMER]) == TIMER_TSC ? apic->r.tsc_deadline : 0;
    pthread_mutex_unlock(&apic->lock);
    return v;
}

bool lapic_match(struct lapic *apic, uint32_t dest, bool logical)
{
    pthread_mutex_lock(&apic->lock);
    bool hit = false;
    uint32_t ldr = apic->r.ldr >> 24;
    if (!apic->r.hw_enabled)
        hit = false;
    else if (dest == 0xff)
        hit = true;
    else if (!logical)
        hit = dest == apic->r.id;
    else if ((apic->r.dfr >> 28) == 0xf)                     /* flat */
        hit = (ldr & dest) != 0;
    else                                                    /* cluster */
        hit = (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
    pthread_mutex_unlock(&apic->lock);
    return hit;
}

uint8_t lapic_id(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    uint8_t id = (uint8_t)apic->r.id;
    pthread_mutex_unlock(&apic->lock);
    return id;
}

void lapic_accept(struct lapic *apic, const struct apic_msg *msg)
{
    bool notify = false;
    pthread_mutex_lock(&apic->lock);
    if (apic->r.hw_enabled) {
        switch (msg->delivery_mode) {
        case APIC_DM_FIXED: case APIC_DM_LOWEST:
            notify = set_irr_locked(apic, msg->vector, msg->level);
            break;
        case APIC_DM_NMI:
            apic->r.events |= LAPIC_EV_NMI;
            notify = true;
            break;
        case APIC_DM_INIT:
            if (msg->level && !msg->assert)        /* INIT level de-assert: no effect */
                break;
            apic->r.events = (apic->r.events | LAPIC_EV_INIT) & ~LAPIC_EV_SIPI;
            notify = true;
            break;
        case APIC_DM_SIPI:
            apic->r.events |= LAPIC_EV_SIPI;
            apic->r.sipi_vector = msg->vector;
            notify = true;
            break;
        default:                                   /* SMI, ExtINT: not modelled */
            break;
        }
    }
    pthread_mutex_unlock(&apic->lock);
    if (notify)
        apic->host.notify(apic->host.opaque, apic->cpu);
}

int lapic_pending(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    int v = pending_locked(apic);
    pthread_mutex_unlock(&apic->lock);
    return v;
}

int lapic_acknowledge(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    int v = pending_locked(apic);
    if (v >= 0) {
        bit_clear(apic->r.irr, (unsigned)v);
        bit_set(apic->r.isr, (unsigned)v);
    }
    pthread_mutex_unlock(&apic->lock);
    return v;
}

uint32_t lapic_take_events(struct lapic *apic, uint8_t *sipi_vector)
{
    pthread_mutex_lock(&apic->lock);
    uint32_t ev = apic->r.events;
    apic->r.events = 0;
    *sipi_vector = apic->r.sipi_vector;
    pthread_mutex_unlock(&apic->lock);
    return ev;
}

bool lapic_events_pending(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    bool any = apic->r.events != 0;
    pthread_mutex_unlock(&apic->lock);
    return any;
}

bool lapic_accepts_pic(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    uint32_t lint0 = apic->r.lvt[LVT_LINT0];
    bool ok = !apic->r.hw_enabled || (!(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == APIC_DM_EXTINT);
    pthread_mutex_unlock(&apic->lock);
    return ok;
}

uint8_t lapic_get_cr8(struct lapic *apic)
{
    pthread_mutex_lock(&apic->lock);
    uint8_t v = (uint8_t)((apic->r.tpr >> 4) & 15);
    pthread_mutex_unlock(&apic->lock);
    return v;
}

void lapic_set_cr8(struct lapic *apic, uint8_t cr8)
{
    lapic_write(apic, REG_TPR, (uint32_t)(cr8 & 15) << 4);
}

void lapic_save(struct lapic *apic, struct lapic_saved *out)
{
    pthread_mutex_lock(&apic->lock);
    *out = apic->r;
    out->pad = 0;
    out->pad0 = 0;
    pthread_mutex_unlock(&apic->lock);
}

int lapic_load(struct lapic *apic, const struct lapic_saved *in)
{
    if (in->id > 0xff || in->tpr > 0xff || in->events > 7 || in->hw_enabled > 1 || in->timer_armed > 1 || (in->divide_config & ~0xbu) ||
        (in->ldr & 0x00ffffff) || (in->icr_hi & 0x00ffffff) || TIMER_MODE(in->lvt[LVT_TIMER]) == 3)
        return VERR_SSM_UNEXPECTED_DATA;
    for (unsigned i = 0; i < LVT_COUNT; i++)
        if (in->lvt[i] & ~lvt_write_mask(i))
            return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&apic->lock);
    apic->r = *in;
    apic->esr_pending = 0;
    timer_plan(apic);
    pthread_mutex_unlock(&apic->lock);
    return VINF_SUCCESS;
}
