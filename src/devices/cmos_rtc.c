/*
 * MC146818A CMOS RTC + NVRAM (see cmos_rtc.h).  Facts from the MC146818A
 * datasheet and the PC CMOS map.
 *
 * Time: guest time = host CLOCK_REALTIME + (delta_s, phase_ns), so the
 * guest's seconds tick at the moment it last set the clock.  The time
 * registers (0-9 and the century byte 0x32) are computed on each read; while
 * SET is on they are frozen copies the guest may rewrite, applied when SET
 * goes off.  UIP reads 1 during the last 244 us of each guest second.
 *
 * Flags: PF is set every period whenever RS selects a rate; AF when the
 * time matches the alarm (0xC0-0xFF = don't care); UF at every update.  A
 * vtimer runs only while the matching interrupt is enabled; otherwise PF
 * and UF are worked out when register C is read.  IRQF (and IRQ 8, level)
 * = PF&PIE | AF&AIE | UF&UIE; reading C clears the flags and the line.
 * Not modelled: the divider reset states (time runs in every DV mode),
 * daylight-saving adjustment (DSE is stored only), the square-wave pin.
 */
#include "cmos_rtc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../core/vm_internal.h"
#include "../io/io_bus.h"
#include "../time/vclock.h"

#define NS_PER_SEC 1000000000ll
#define UIP_NS     244000ll          /* update cycle (244 us) before each second */

enum {
    R_SEC = 0x00, R_SEC_ALARM = 0x01, R_MIN = 0x02, R_MIN_ALARM = 0x03, R_HOUR = 0x04,
    R_HOUR_ALARM = 0x05, R_WDAY = 0x06, R_MDAY = 0x07, R_MONTH = 0x08, R_YEAR = 0x09,
    R_A = 0x0a, R_B = 0x0b, R_C = 0x0c, R_D = 0x0d, R_CENTURY = 0x32,
};

#define A_UIP   0x80
#define A_DV    0x70
#define A_DV_32K 0x20                /* the normal 32.768 kHz time base */
#define A_RS    0x0f

#define B_SET   0x80
#define B_PIE   0x40
#define B_AIE   0x20
#define B_UIE   0x10
#define B_SQWE  0x08
#define B_DM    0x04                 /* 1 = binary, 0 = BCD */
#define B_24H   0x02
#define B_DSE   0x01

#define C_IRQF  0x80
#define C_PF    0x40
#define C_AF    0x20
#define C_UF    0x10

#define D_VRT   0x80

struct cmos_rtc {
    pthread_mutex_t lock;
    struct vclock *clock;
    struct vtimer *periodic_timer, *update_timer;
    cmos_rtc_irq_fn *irq;
    void *irq_opaque;

    uint8_t ram[128];
    uint8_t index;
    bool nmi_disabled;               /* recorded only: Petrel raises no NMIs here */
    int64_t delta_s, phase_ns;       /* guest = host + delta_s s + phase_ns ns */
    int64_t last_update_sec;         /* guest second of the last UF/AF check */
    bool periodic_live;              /* the periodic vtimer schedule is current */
    uint64_t periodic_next;          /* its next deadline (virtual ns) */
    uint64_t pf_ref;                 /* virtual ns of the last lazy PF check */
    uint64_t periodic_ticks;         /* periods completed while PIE was on */
    cmos_rtc_time_fn *host_time;     /* CLOCK_REALTIME, or a test's fake */
    int irq_level;
};

/* --- guest wall-clock time --- */

struct gtime {
    int64_t sec;
    int64_t frac;                    /* ns, 0 .. 1e9-1 */
};

static void host_realtime(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

static struct gtime guest_time(const struct cmos_rtc *r)
{
    struct timespec ts;
    r->host_time(&ts);
    int64_t ns = ts.tv_nsec + r->phase_ns;
    struct gtime g = { (int64_t)ts.tv_sec + r->delta_s + ns / NS_PER_SEC, ns % NS_PER_SEC };
    return g;
}

/* Makes the guest second `sec` start now. */
static void set_guest_time(struct cmos_rtc *r, int64_t sec)
{
    struct timespec ts;
    r->host_time(&ts);
    r->phase_ns = ts.tv_nsec ? NS_PER_SEC - ts.tv_nsec : 0;
    r->delta_s = sec - (int64_t)ts.tv_sec - (ts.tv_nsec ? 1 : 0);
    r->last_update_sec = sec;
}

/* --- register encoding (BCD or binary, 12 or 24 hours) --- */

static uint8_t to_reg(const struct cmos_rtc *r, int v)
{
    return (r->ram[R_B] & B_DM) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_reg(const struct cmos_rtc *r, uint8_t v)
{
    return (r->ram[R_B] & B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct cmos_rtc *r, int h)
{
    if (r->ram[R_B] & B_24H)
        return to_reg(r, h);
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(to_reg(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int hour_from_reg(const struct cmos_rtc *r, uint8_t v)
{
    if (r->ram[R_B] & B_24H)
        return from_reg(r, v);
    int h = from_reg(r, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

/* Fills the time registers (0,2,4,6-9,0x32) for guest second sec. */
static void time_to_regs(struct cmos_rtc *r, int64_t sec, uint8_t out[128])
{
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return;
    int year = tm.tm_year + 1900;
    out[R_SEC] = to_reg(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
    out[R_MIN] = to_reg(r, tm.tm_min);
    out[R_HOUR] = hour_to_reg(r, tm.tm_hour);
    out[R_WDAY] = to_reg(r, tm.tm_wday + 1);
    out[R_MDAY] = to_reg(r, tm.tm_mday);
    out[R_MONTH] = to_reg(r, tm.tm_mon + 1);
    out[R_YEAR] = to_reg(r, ((year % 100) + 100) % 100);
    out[R_CENTURY] = to_reg(r, ((year / 100) % 100 + 100) % 100);
}

/* The guest second the frozen registers describe; false if nonsense. */
static bool regs_to_time(const struct cmos_rtc *r, int64_t *sec)
{
    struct tm tm = {
        .tm_sec = from_reg(r, r->ram[R_SEC]), .tm_min = from_reg(r, r->ram[R_MIN]),
        .tm_hour = hour_from_reg(r, r->ram[R_HOUR]), .tm_mday = from_reg(r, r->ram[R_MDAY]),
        .tm_mon = from_reg(r, r->ram[R_MONTH]) - 1,
        .tm_year = from_reg(r, r->ram[R_CENTURY]) * 100 + from_reg(r, r->ram[R_YEAR]) - 1900,
    };
    time_t t = timegm(&tm);          /* normalises out-of-range fields; all are < 256 */
    if (t == (time_t)-1)
        return false;
    *sec = (int64_t)t;
    return true;
}

static bool is_time_reg(unsigned idx)
{
    return idx == R_SEC || idx == R_MIN || idx == R_HOUR || (idx >= R_WDAY && idx <= R_YEAR)
        || idx == R_CENTURY;
}

/* --- interrupts and flags --- */

static void update_irq(struct cmos_rtc *r)
{
    uint8_t c = r->ram[R_C] & (C_PF | C_AF | C_UF), b = r->ram[R_B];
    bool irqf = ((c & C_PF) && (b & B_PIE)) || ((c & C_AF) && (b & B_AIE)) || ((c & C_UF) && (b & B_UIE));
    r->ram[R_C] = (uint8_t)(c | (irqf ? C_IRQF : 0));
    if ((int)irqf != r->irq_level) {
        r->irq_level = irqf;
        if (r->irq)
            r->irq(r->irq_opaque, irqf);
    }
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & 0xc0) == 0xc0 || alarm == now;
}

/* Does the alarm match guest second sec?  (UTC: the time of day is sec mod 86400.) */
static bool alarm_hits(const struct cmos_rtc *r, int64_t sec)
{
    int day = (int)(((sec % 86400) + 86400) % 86400);
    return alarm_field_matches(r->ram[R_SEC_ALARM], to_reg(r, day % 60))
        && alarm_field_matches(r->ram[R_MIN_ALARM], to_reg(r, day / 60 % 60))
        && alarm_field_matches(r->ram[R_HOUR_ALARM], hour_to_reg(r, day / 3600));
}

/*
 * Sets UF if a new guest second began, and AF if the alarm matched any
 * second since the last check (a late timer or a paused VM must not lose
 * an alarm the battery-powered chip would have seen; one day covers all).
 */
static void check_update(struct cmos_rtc *r)
{
    if (r->ram[R_B] & B_SET)
        return;                      /* updates are inhibited while SET is on */
    int64_t now = guest_time(r).sec, from = r->last_update_sec + 1;
    if (now == r->last_update_sec)
        return;
    r->last_update_sec = now;
    r->ram[R_C] |= C_UF;
    if (from > now || from < now - 86399)
        from = now - (from > now ? 0 : 86399);
    for (int64_t s = from; s <= now; s++)
        if (alarm_hits(r, s)) {
            r->ram[R_C] |= C_AF;
            break;
        }
}

/* Period in ns for the RS bits (0 = off), with the 32.768 kHz time base. */
static uint64_t periodic_ns(const struct cmos_rtc *r)
{
    unsigned rs = r->ram[R_A] & A_RS;
    if (!rs || (r->ram[R_A] & A_DV) != A_DV_32K)
        return 0;
    if (rs < 3)
        rs += 7;                     /* 1 and 2 repeat rates 8 and 9 */
    return ((uint64_t)NS_PER_SEC << (rs - 1)) / 32768;
}

/* --- timers: never disarmed under the lock (disarm waits for callbacks) --- */

static void schedule_update(struct cmos_rtc *r)
{
    if (!r->update_timer || !(r->ram[R_B] & (B_UIE | B_AIE)) || (r->ram[R_B] & B_SET))
        return;                      /* a stale firing finds nothing to do */
    struct gtime g = guest_time(r);
    vtimer_arm(r->update_timer, vclock_now(r->clock) + (uint64_t)(NS_PER_SEC - g.frac) + 1000);
}

static void schedule_periodic(struct cmos_rtc *r)
{
    uint64_t period = periodic_ns(r);
    r->periodic_live = r->periodic_timer && period && (r->ram[R_B] & B_PIE);
    if (!r->periodic_live)
        return;
    r->periodic_next = vclock_now(r->clock) + period;
    vtimer_arm(r->periodic_timer, r->periodic_next);
}

static void update_timer_cb(void *opaque)
{
    struct cmos_rtc *r = opaque;
    pthread_mutex_lock(&r->lock);
    check_update(r);
    update_irq(r);
    schedule_update(r);
    pthread_mutex_unlock(&r->lock);
}

static void periodic_timer_cb(void *opaque)
{
    struct cmos_rtc *r = opaque;
    pthread_mutex_lock(&r->lock);
    uint64_t period = periodic_ns(r), now = vclock_now(r->clock);
    if (r->periodic_live && period) {
        if (now >= r->periodic_next) {
            /* Late (host load): the missed periods coalesce in PF, the phase stays. */
            uint64_t n = (now - r->periodic_next) / period + 1;
            r->periodic_ticks += n;
            r->periodic_next += n * period;
            r->ram[R_C] |= C_PF;
            update_irq(r);
        }
        vtimer_arm(r->periodic_timer, r->periodic_next);
    }
    pthread_mutex_unlock(&r->lock);
}

/* PF without the periodic timer: set if a period passed since the last look. */
static void check_periodic_lazy(struct cmos_rtc *r)
{
    uint64_t period = periodic_ns(r), now = vclock_now(r->clock);
    if (!r->periodic_live && period && now - r->pf_ref >= period)
        r->ram[R_C] |= C_PF;
    r->pf_ref = now;
}

/* --- register access --- */

static uint8_t read_reg(struct cmos_rtc *r, unsigned idx)
{
    if (is_time_reg(idx) && !(r->ram[R_B] & B_SET)) {
        uint8_t now[128];
        time_to_regs(r, guest_time(r).sec, now);
        return now[idx];
    }
    switch (idx) {
    case R_A: {
        struct gtime g = guest_time(r);
        bool uip = !(r->ram[R_B] & B_SET) && g.frac >= NS_PER_SEC - UIP_NS;
        return (uint8_t)((r->ram[R_A] & 0x7f) | (uip ? A_UIP : 0));
    }
    case R_C: {
        check_update(r);
        if (r->clock)
            check_periodic_lazy(r);
        update_irq(r);
        uint8_t v = r->ram[R_C];
        r->ram[R_C] = 0;             /* reading C clears every flag and the IRQ */
        update_irq(r);
        return v;
    }
    case R_D:
        return D_VRT;
    default:
        return r->ram[idx];
    }
}

static void write_b(struct cmos_rtc *r, uint8_t v)
{
    uint8_t old = r->ram[R_B];
    if (v & B_SET)
        v &= (uint8_t)~B_UIE;        /* SET clears UIE (datasheet) */
    if ((v & B_SET) && !(old & B_SET)) {
        check_update(r);             /* a second that ended before SET still counts */
        r->ram[R_B] = v;
        time_to_regs(r, guest_time(r).sec, r->ram);   /* freeze, in the new format */
    }
    r->ram[R_B] = v;
    int64_t sec;
    if ((old & B_SET) && !(v & B_SET) && regs_to_time(r, &sec))
        set_guest_time(r, sec);      /* the clock restarts at the written second */
    if ((old ^ v) & B_PIE)
        schedule_periodic(r);        /* otherwise keep the running phase */
    schedule_update(r);
}

/* A time register written while the clock runs: applied at once. */
static void write_time_running(struct cmos_rtc *r, unsigned idx, uint8_t v)
{
    int64_t sec;
    time_to_regs(r, guest_time(r).sec, r->ram);
    r->ram[idx] = v;
    if (regs_to_time(r, &sec))
        set_guest_time(r, sec);
    schedule_update(r);
}

static void write_a(struct cmos_rtc *r, uint8_t v)
{
    uint8_t old = r->ram[R_A];
    r->ram[R_A] = v & 0x7f;          /* UIP is read-only */
    if ((old ^ v) & (A_DV | A_RS))
        schedule_periodic(r);
}

static void write_reg(struct cmos_rtc *r, unsigned idx, uint8_t v)
{
    if (is_time_reg(idx) && !(r->ram[R_B] & B_SET)) {
        write_time_running(r, idx, v);
        return;
    }
    switch (idx) {
    case R_A: write_a(r, v); break;
    case R_B: write_b(r, v); break;
    case R_C: case R_D: break;       /* read-only */
    default: r->ram[idx] = v; break;
    }
}

static uint32_t rtc_port_read(void *opaque, uint16_t port, unsigned size)
{
    struct cmos_rtc *r = opaque;
    (void)size;
    if (port == 0x70)
        return 0xff;                 /* the index register is write-only */
    pthread_mutex_lock(&r->lock);
    uint8_t v = read_reg(r, r->index);
    update_irq(r);
    pthread_mutex_unlock(&r->lock);
    return v;
}

static void rtc_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct cmos_rtc *r = opaque;
    (void)size;
    pthread_mutex_lock(&r->lock);
    if (port == 0x70) {
        r->index = value & 0x7f;
        r->nmi_disabled = value & 0x80;
    } else {
        write_reg(r, r->index, (uint8_t)value);
        update_irq(r);
    }
    pthread_mutex_unlock(&r->lock);
}

static const struct io_port_ops rtc_ops = { .read = rtc_port_read, .write = rtc_port_write };

/* --- NVRAM contents and life cycle --- */

static void put16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* The PC memory-size bytes and the standard checksum over 0x10-0x2D. */
static void fill_memory_size(struct cmos_rtc *r, uint64_t low, uint64_t high)
{
    uint64_t ext_kb = low > (1u << 20) ? (low - (1u << 20)) / 1024 : 0;
    uint64_t above16 = low > (16u << 20) ? (low - (16u << 20)) / 65536 : 0;
    uint64_t above4g = high / 65536;
    put16(&r->ram[0x15], 640);
    put16(&r->ram[0x17], ext_kb > 0xffff ? 0xffff : ext_kb);
    put16(&r->ram[0x30], ext_kb > 0xffff ? 0xffff : ext_kb);
    put16(&r->ram[0x34], above16 > 0xffff ? 0xffff : above16);
    if (above4g > 0xffffff)
        above4g = 0xffffff;
    put16(&r->ram[0x5b], above4g);
    r->ram[0x5d] = (uint8_t)(above4g >> 16);
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += r->ram[i];
    r->ram[0x2e] = (uint8_t)(sum >> 8);
    r->ram[0x2f] = (uint8_t)sum;
}

void cmos_rtc_reset(struct cmos_rtc *r)
{
    pthread_mutex_lock(&r->lock);
    r->ram[R_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
    r->ram[R_C] = 0;
    r->periodic_live = false;
    update_irq(r);
    pthread_mutex_unlock(&r->lock);
}

uint64_t cmos_rtc_periodic_ticks(struct cmos_rtc *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t ticks = r->periodic_ticks, period = periodic_ns(r);
    if (r->periodic_live && period) {
        uint64_t now = vclock_now(r->clock);
        if (now >= r->periodic_next)
            ticks += (now - r->periodic_next) / period + 1;
    }
    pthread_mutex_unlock(&r->lock);
    return ticks;
}

void cmos_rtc_set_time_source(struct cmos_rtc *r, cmos_rtc_time_fn *fn)
{
    pthread_mutex_lock(&r->lock);
    r->host_time = fn ? fn : host_realtime;
    r->last_update_sec = guest_time(r).sec;
    pthread_mutex_unlock(&r->lock);
}

static bool rtc_init_timers(struct cmos_rtc *r, struct vclock *clock)
{
    r->clock = clock;
    if (!clock)
        return true;                 /* no interrupts timing: only lazy flags */
    r->periodic_timer = vtimer_create(clock, periodic_timer_cb, r);
    r->update_timer = vtimer_create(clock, update_timer_cb, r);
    r->pf_ref = vclock_now(clock);
    return r->periodic_timer && r->update_timer;
}

struct cmos_rtc *cmos_rtc_create(struct io_bus *bus, struct vclock *clock,
                                 uint64_t ram_low, uint64_t ram_high,
                                 cmos_rtc_irq_fn *irq, void *irq_opaque)
{
    if (!bus)
        return NULL;
    struct cmos_rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->irq = irq;
    r->irq_opaque = irq_opaque;
    r->host_time = host_realtime;
    r->ram[R_A] = A_DV_32K | 0x06;   /* 32.768 kHz, 1024 Hz periodic rate */
    r->ram[R_B] = B_24H;             /* BCD, 24 hours */
    fill_memory_size(r, ram_low, ram_high);
    r->last_update_sec = guest_time(r).sec;
    if (!rtc_init_timers(r, clock)
        || RT_FAILURE(io_bus_register_ports(bus, 0x70, 2, &rtc_ops, r, "cmos-rtc"))) {
        cmos_rtc_destroy(r);
        return NULL;
    }
    return r;
}

void cmos_rtc_destroy(struct cmos_rtc *r)
{
    if (!r)
        return;
    vtimer_destroy(r->periodic_timer);   /* waits for a running callback */
    vtimer_destroy(r->update_timer);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* --- the device model for the machine --- */

struct rtc_device {
    struct VM *vm;
    uint32_t gsi;
    struct cmos_rtc *rtc;
};

static void rtc_dev_irq(void *opaque, int level)
{
    struct rtc_device *d = opaque;
    irq_set(d->vm, d->gsi, level);
}

static void rtc_dev_destroy(void *state)
{
    struct rtc_device *d = state;
    if (!d)
        return;
    cmos_rtc_destroy(d->rtc);
    free(d);
}

static void rtc_dev_reset(void *state)
{
    cmos_rtc_reset(((struct rtc_device *)state)->rtc);
}

static int rtc_dev_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    uint32_t gsi;
    int rc = CFGMR3QueryU32Def(cfg, "IRQ", &gsi, CMOS_RTC_IRQ);
    if (RT_FAILURE(rc) || gsi > 23)
        return VMSetError(vm, RT_FAILURE(rc) ? rc : VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "rtc: /Devices/rtc/*/Config/IRQ must be an integer from 0 to 23");
    struct rtc_device *d = calloc(1, sizeof(*d));
    if (!d)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "rtc: out of memory");
    d->vm = vm;
    d->gsi = gsi;
    d->rtc = cmos_rtc_create(vm->io, vm->clock, vm->ram.low_size, vm->ram.high_size, rtc_dev_irq, d);
    if (!d->rtc) {
        free(d);
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS,
                          "rtc: ports 0x70-0x71 are already taken (or out of memory)");
    }
    *state = d;
    return VINF_SUCCESS;
}

/* --- saved state --- */

#define SAVED_TIME_MAX (INT64_C(1) << 40)     /* seconds: keeps the time math from overflowing */
#define SAVED_VTIME_MAX (UINT64_C(1) << 62)

void cmos_rtc_save(struct cmos_rtc *r, struct cmos_rtc_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&r->lock);
    memcpy(o->ram, r->ram, sizeof(o->ram));
    o->delta_s = r->delta_s;
    o->phase_ns = r->phase_ns;
    o->last_update_sec = r->last_update_sec;
    o->periodic_next = r->periodic_next;
    o->pf_ref = r->pf_ref;
    o->periodic_ticks = r->periodic_ticks;
    o->index = r->index;
    o->nmi_disabled = r->nmi_disabled;
    o->periodic_live = r->periodic_live;
    pthread_mutex_unlock(&r->lock);
}

static bool saved_valid(const struct cmos_rtc_saved *o)
{
    return o->index < 128 && o->nmi_disabled <= 1 && o->periodic_live <= 1 && o->phase_ns >= 0 &&
           o->phase_ns < (int64_t)NS_PER_SEC && o->delta_s > -SAVED_TIME_MAX && o->delta_s < SAVED_TIME_MAX &&
           o->last_update_sec > -SAVED_TIME_MAX && o->last_update_sec < SAVED_TIME_MAX &&
           o->periodic_next < SAVED_VTIME_MAX && o->pf_ref < SAVED_VTIME_MAX;
}

/* The virtual clock is restored first, so the periodic phase carries on. */
int cmos_rtc_load(struct cmos_rtc *r, const struct cmos_rtc_saved *o)
{
    if (!saved_valid(o))
        return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&r->lock);
    memcpy(r->ram, o->ram, sizeof(r->ram));
    r->delta_s = o->delta_s;
    r->phase_ns = o->phase_ns;
    r->last_update_sec = o->last_update_sec;
    r->periodic_next = o->periodic_next;
    r->pf_ref = o->pf_ref;
    r->periodic_ticks = o->periodic_ticks;
    r->index = o->index;
    r->nmi_disabled = o->nmi_disabled;
    r->periodic_live = o->periodic_live && r->periodic_timer && periodic_ns(r) && (r->ram[R_B] & B_PIE);
    if (r->periodic_live)
        vtimer_arm(r->periodic_timer, r->periodic_next);
    schedule_update(r);
    r->irq_level = -1;               /* the line is told again */
    update_irq(r);
    pthread_mutex_unlock(&r->lock);
    return VINF_SUCCESS;
}

static void rtc_dev_save(void *state, void *saved)
{
    cmos_rtc_save(((struct rtc_device *)state)->rtc, saved);
}

static int rtc_dev_load(void *state, const void *saved)
{
    return cmos_rtc_load(((struct rtc_device *)state)->rtc, saved);
}

const struct device_ops cmos_rtc_device_ops = {
    .name = "rtc",
    .create = rtc_dev_create,
    .destroy = rtc_dev_destroy,
    .reset = rtc_dev_reset,
    .saved_version = CMOS_RTC_SAVED_VERSION,
    .saved_size = sizeof(struct cmos_rtc_saved),
    .save = rtc_dev_save,
    .load = rtc_dev_load,
};
