/*
 * 8254 PIT (see i8254.h).
 *
 * A counter is described by when its counting element (CE) last held a known
 * value: `start` at absolute clock tick `k0` (ticks since virtual time 0,
 * so tick boundaries never drift with rounding); its count and OUT at any
 * later time follow from the mode and the ticks elapsed since.  A counter that does
 * not count (no count yet, gate low in modes 0/2/3/4, waiting for a trigger
 * in modes 1/5) holds `held`.  In modes 2/3 a count written while counting
 * takes effect at the end of the current period (`pending`, applied lazily
 * by sync()).
 *
 * Counter 0 drives IRQ0: level changes in modes 0/1, and one low-high pulse
 * per event in modes 2-5 (the PIC latches the rising edge), at the next
 * rising edge of OUT as computed by next_event().
 */
#include "i8254.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../io/io_bus.h"
#include "../time/vclock.h"

#define NS_PER_SEC      1000000000ull
#define REFRESH_NS      15085ull        /* port 0x61 bit 4 toggles at this rate */
#define MIN_PERIODIC_NS 20000ull        /* cap IRQ0 events at 50 kHz */
#define NO_EVENT        UINT64_MAX

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

struct pit_counter {
    uint8_t mode;                   /* 0-5 (6/7 fold onto 2/3) */
    uint8_t mode_bits;              /* as written, for read-back status */
    uint8_t rw;                     /* RW_LSB, RW_MSB or RW_WORD */
    bool bcd;
    bool gate;
    uint32_t reload;                /* count register: 1..modulus, 0 = none */
    bool null_count;                /* written but not yet in the CE */
    bool running;
    uint64_t k0;                    /* absolute tick at which the CE held start */
    uint32_t start;
    bool tc_before;                 /* modes 0/1/4/5: TC passed before k0 */
    uint32_t held;                  /* CE while not running */
    bool pending;                   /* modes 2/3: reload at tick pending_at */
    uint32_t pending_n;
    uint64_t pending_at;
    bool write_msb_next;
    uint8_t write_lsb;
    bool read_msb_next;
    uint8_t latch_left;             /* latched count bytes still to read */
    uint16_t latch_value;
    bool status_latched;
    uint8_t status;
};

struct i8254 {
    pthread_mutex_t lock;
    struct vclock *clock;
    struct vtimer *timer;           /* counter 0 events */
    i8254_irq_fn *irq;
    void *opaque;
    struct pit_counter ctr[3];
    uint8_t port61;                 /* writable bits 0-3 */
    int irq_line;                   /* last level given to irq(), -1 unknown */
    uint64_t event_at;              /* counter 0: armed event or NO_EVENT */
};

/* ------------------------------------------------------------ time math */

static uint64_t ticks_in(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * I8254_HZ / NS_PER_SEC);
}

/* The virtual time at which absolute tick `ticks` begins. */
static uint64_t ns_for(uint64_t ticks)
{
    unsigned __int128 n = (unsigned __int128)ticks * NS_PER_SEC + I8254_HZ - 1;
    n /= I8254_HZ;
    return n > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)n;
}

static uint32_t modulus(const struct pit_counter *c)
{
    return c->bcd ? 10000 : 65536;
}

static uint64_t elapsed(const struct pit_counter *c, uint64_t now)
{
    uint64_t k = ticks_in(now);
    return k > c->k0 ? k - c->k0 : 0;
}

/* Modes 2/3: a count written during a period replaces it at its end. */
static void sync(struct pit_counter *c, uint64_t now)
{
    if (c->pending && c->running && ticks_in(now) >= c->pending_at) {
        c->k0 = c->pending_at;
        c->start = c->pending_n;
        c->pending = false;
        c->null_count = false;
    }
}

/* One-shot modes: counts down from start, then wraps and keeps counting. */
static uint32_t oneshot_count(const struct pit_counter *c, uint64_t d)
{
    if (d <= c->start)
        return c->start - (uint32_t)d;
    uint32_t m = modulus(c);
    return (uint32_t)((m - (d - c->start) % m) % m);
}

static uint32_t square_count(uint32_t n, uint64_t p, bool *out)
{
    uint32_t half = (n + 1) / 2;
    *out = p < half;
    uint32_t q = (uint32_t)(*out ? p : p - half);
    uint32_t v = n - 2 * q;
    if ((n & 1) && q > 0)           /* odd counts: first step 1 (high) or 3 (low) */
        v = *out ? v + 1 : v - 1;
    return v;
}

/* The CE value (binary, up to modulus) and OUT at now; sync()ed first. */
static uint32_t state_at(const struct pit_counter *c, uint64_t now, bool *out)
{
    if (!c->running) {
        *out = c->mode == 0 ? c->tc_before : true;
        return c->held;
    }
    uint64_t d = elapsed(c, now);
    switch (c->mode) {
    case 2: {
        uint32_t v = c->start - (uint32_t)(d % c->start);
        *out = v != 1;
        return v;
    }
    case 3:
        return square_count(c->start, d % c->start, out);
    case 4: case 5:
        *out = c->tc_before || d != c->start;
        return oneshot_count(c, d);
    default:                        /* 0, 1 */
        *out = c->tc_before || d >= c->start;
        return oneshot_count(c, d);
    }
}

static uint16_t to_bcd(uint32_t v)
{
    return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

/* Guest-written BCD may hold digits above 9: the result is still bounded. */
static uint32_t from_bcd(uint16_t v)
{
    uint32_t r = (v & 15) + (v >> 4 & 15) * 10 + (v >> 8 & 15) * 100 + (v >> 12 & 15) * 1000u;
    return r % 10000;
}

/* The count as the guest reads it. */
static uint16_t read_value(const struct pit_counter *c, uint32_t v)
{
    v %= modulus(c);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

/* ------------------------------------------------------ IRQ0 and events */

static void set_line(struct i8254 *pit, int level)
{
    if (pit->irq_line == level)
        return;
    pit->irq_line = level;
    if (pit->irq)
        pit->irq(pit->opaque, level);
}

static void pulse(struct i8254 *pit)
{
    pit->irq_line = -1;
    set_line(pit, 0);
    set_line(pit, 1);
}

/* Virtual time of counter 0's next IRQ-relevant edge after now, or NO_EVENT. */
static uint64_t next_event(const struct pit_counter *c, uint64_t now)
{
    if (!c->running)
        return NO_EVENT;
    uint64_t d = elapsed(c, now), k;
    switch (c->mode) {
    case 2: case 3: {
        /* The next period boundary at least MIN_PERIODIC_NS away. */
        uint64_t dmin = ticks_in(now + MIN_PERIODIC_NS);
        dmin = dmin > c->k0 ? dmin - c->k0 : 0;
        if (dmin < d)
            dmin = d;
        k = (dmin / c->start + 1) * c->start;
        break;
    }
    case 4: case 5:
        if (c->tc_before || d > c->start)
            return NO_EVENT;
        k = (uint64_t)c->start + 1;   /* OUT rises after its one-tick strobe */
        break;
    default:
        if (c->tc_before || d >= c->start)
            return NO_EVENT;
        k = c->start;
        break;
    }
    return ns_for(c->k0 + k);
}

/* Re-plans counter 0's timer.  A stale firing is harmless (see timer_fired),
 * so nothing is ever disarmed under the lock (disarm waits for callbacks). */
static void schedule(struct i8254 *pit, uint64_t now)
{
    struct pit_counter *c = &pit->ctr[0];
    sync(c, now);
    if (c->pending && c->running && ns_for(c->pending_at) > now) {
        pit->event_at = ns_for(c->pending_at);  /* a boundary of the current period */
    } else {
        pit->event_at = next_event(c, now);
    }
    if (pit->event_at != NO_EVENT && pit->timer)
        vtimer_arm(pit->timer, pit->event_at);
}

static void timer_fired(void *opaque)
{
    struct i8254 *pit = opaque;
    pthread_mutex_lock(&pit->lock);
    uint64_t now = vclock_now(pit->clock);
    struct pit_counter *c = &pit->ctr[0];
    if (pit->event_at != NO_EVENT && now >= pit->event_at) {
        sync(c, now);
        if (c->mode <= 1)
            set_line(pit, 1);
        else
            pulse(pit);
    }
    schedule(pit, now);
    pthread_mutex_unlock(&pit->lock);
}

/* Counter 0's line follows OUT after a reprogramming. */
static void counter_changed(struct i8254 *pit, unsigned idx, uint64_t now)
{
    if (idx != 0)
        return;
    bool out;
    state_at(&pit->ctr[0], now, &out);
    set_line(pit, out);
    schedule(pit, now);
}

/* ------------------------------------------------------ counter control */

static void start_counting(struct pit_counter *c, uint64_t now, uint32_t from, bool tc_before)
{
    c->running = true;
    c->k0 = ticks_in(now);
    c->start = from;
    c->tc_before = tc_before;
    c->pending = false;
    c->null_count = false;
}

/* Gate low in modes 0/4: the CE holds its value (and OUT) until gate high. */
static void freeze(struct pit_counter *c, uint64_t now)
{
    if (!c->running)
        return;
    bool out;
    uint64_t d = elapsed(c, now);
    c->held = state_at(c, now, &out);
    c->tc_before = c->tc_before || d >= c->start;
    c->running = false;
}

/* A complete count n (1..modulus) was written. */
static void load_count(struct pit_counter *c, uint32_t n, uint64_t now)
{
    c->reload = n;
    c->null_count = true;
    switch (c->mode) {
    case 0: case 4:
        c->running = false;
        c->held = n;
        c->tc_before = false;
        c->null_count = false;
        if (c->gate)
            start_counting(c, now, n, false);
        break;
    case 2: case 3:
        if (!c->running) {
            if (c->gate)
                start_counting(c, now, n, false);
            break;
        }
        /* Takes effect when the current period ends. */
        c->pending = true;
        c->pending_n = n;
        c->pending_at = c->k0 + (elapsed(c, now) / c->start + 1) * c->start;
        break;
    default:                        /* 1, 5: loaded by the next trigger */
        break;
    }
}

static void write_count(struct pit_counter *c, uint8_t v, uint64_t now)
{
    uint16_t raw;
    switch (c->rw) {
    case RW_LSB: raw = v; break;
    case RW_MSB: raw = (uint16_t)(v << 8); break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
            if (c->mode == 0) {     /* the first byte stops mode 0 counting, OUT low */
                freeze(c, now);
                c->tc_before = false;
            }
            return;
        }
        c->write_msb_next = false;
        raw = (uint16_t)(c->write_lsb | v << 8);
        break;
    }
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    load_count(c, n ? n : modulus(c), now);
}

static void set_gate(struct pit_counter *c, bool level, uint64_t now)
{
    if (level == c->gate)
        return;
    c->gate = level;
    switch (c->mode) {
    case 0: case 4:
        if (!level)
            freeze(c, now);
        else if (!c->running && c->reload && !c->write_msb_next)
            start_counting(c, now, c->held, c->tc_before);
        break;
    case 2: case 3:
        if (!level) {
            c->running = false;     /* OUT goes high at once */
            c->held = c->reload;
            c->pending = false;
        } else if (c->reload) {
            start_counting(c, now, c->reload, false);
        }
        break;
    default:                        /* 1, 5: a rising edge (re)triggers */
        if (level && c->reload)
            start_counting(c, now, c->reload, false);
        break;
    }
}

static void control_word(struct pit_counter *c, uint8_t v)
{
    c->rw = (v >> 4) & 3;
    c->mode_bits = (v >> 1) & 7;
    c->mode = c->mode_bits >= 6 ? c->mode_bits - 4 : c->mode_bits;
    c->bcd = v & 1;
    c->running = false;
    c->pending = false;
    c->reload = 0;
    c->held = 0;
    c->tc_before = false;           /* mode 0: OUT low; others high */
    c->null_count = true;
    c->write_msb_next = c->read_msb_next = false;
    c->latch_left = 0;
    c->status_latched = false;
}

static void latch_count(struct pit_counter *c, uint64_t now)
{
    if (c->latch_left)
        return;                     /* a latched count stays until read */
    bool out;
    sync(c, now);
    c->latch_value = read_value(c, state_at(c, now, &out));
    c->latch_left = c->rw == RW_WORD ? 2 : 1;
}

static void latch_status(struct pit_counter *c, uint64_t now)
{
    if (c->status_latched)
        return;
    bool out;
    sync(c, now);
    state_at(c, now, &out);
    c->status = (uint8_t)(out << 7 | c->null_count << 6 | c->rw << 4 |
                          c->mode_bits << 1 | c->bcd);
    c->status_latched = true;
}

static void read_back(struct i8254 *pit, uint8_t v, uint64_t now)
{
    for (unsigned i = 0; i < 3; i++) {
        if (!(v & (2u << i)))
            continue;
        if (!(v & 0x20))
            latch_count(&pit->ctr[i], now);
        if (!(v & 0x10))
            latch_status(&pit->ctr[i], now);
    }
}

static void write_control(struct i8254 *pit, uint8_t v, uint64_t now)
{
    unsigned sel = v >> 6;
    if (sel == 3) {
        read_back(pit, v, now);
        return;
    }
    struct pit_counter *c = &pit->ctr[sel];
    if (((v >> 4) & 3) == RW_LATCH) {
        latch_count(c, now);
        return;
    }
    sync(c, now);
    control_word(c, v);
    counter_changed(pit, sel, now);
}

static uint8_t read_counter(struct pit_counter *c, uint64_t now)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->latch_left) {
        bool high = c->rw == RW_MSB || (c->rw == RW_WORD && c->latch_left == 1);
        c->latch_left--;
        return (uint8_t)(high ? c->latch_value >> 8 : c->latch_value);
    }
    bool out, high;
    sync(c, now);
    uint16_t v = read_value(c, state_at(c, now, &out));
    if (c->rw == RW_WORD) {
        high = c->read_msb_next;
        c->read_msb_next = !c->read_msb_next;
    } else {
        high = c->rw == RW_MSB;
    }
    return (uint8_t)(high ? v >> 8 : v);
}

static uint8_t read_port61(struct i8254 *pit, uint64_t now)
{
    struct pit_counter *c = &pit->ctr[2];
    bool out;
    sync(c, now);
    state_at(c, now, &out);
    uint8_t v = pit->port61 & 0x0f;
    if ((now / REFRESH_NS) & 1)
        v |= 0x10;
    if (out)
        v |= 0x20;
    return v;
}

static uint8_t port_read(struct i8254 *pit, uint16_t port, uint64_t now)
{
    if (port == 0x61)
        return read_port61(pit, now);
    if (port >= 0x40 && port <= 0x42)
        return read_counter(&pit->ctr[port - 0x40], now);
    return 0xff;                    /* the control word register reads nothing */
}

static void port_write(struct i8254 *pit, uint16_t port, uint8_t v, uint64_t now)
{
    if (port == 0x61) {
        pit->port61 = v & 0x0f;
        sync(&pit->ctr[2], now);
        set_gate(&pit->ctr[2], v & 1, now);
    } else if (port == 0x43) {
        write_control(pit, v, now);
    } else if (port >= 0x40 && port <= 0x42) {
        unsigned idx = port - 0x40;
        sync(&pit->ctr[idx], now);
        write_count(&pit->ctr[idx], v, now);
        counter_changed(pit, idx, now);
    }
}

/* A wider access touches consecutive ports byte by byte. */
static uint32_t pit_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8254 *pit = opaque;
    uint32_t v = 0;
    pthread_mutex_lock(&pit->lock);
    uint64_t now = vclock_now(pit->clock);
    for (unsigned i = 0; i < size && i < 4; i++)
        v |= (uint32_t)port_read(pit, (uint16_t)(port + i), now) << (8 * i);
    pthread_mutex_unlock(&pit->lock);
    return v;
}

static void pit_io_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct i8254 *pit = opaque;
    pthread_mutex_lock(&pit->lock);
    uint64_t now = vclock_now(pit->clock);
    for (unsigned i = 0; i < size && i < 4; i++)
        port_write(pit, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)), now);
    pthread_mutex_unlock(&pit->lock);
}

static const struct io_port_ops pit_port_ops = {
    .read = pit_io_read,
    .write = pit_io_write,
};

/* ------------------------------------------------------------------ API */

static void reset_locked(struct i8254 *pit, uint64_t now)
{
    pit->port61 = 0;
    for (unsigned i = 0; i < 3; i++) {
        struct pit_counter *c = &pit->ctr[i];
        *c = (struct pit_counter){ .gate = i != 2 };
        control_word(c, (uint8_t)(i << 6 | RW_WORD << 4 | 3 << 1));
        load_count(c, modulus(c), now);
    }
    pit->irq_line = -1;
    counter_changed(pit, 0, now);
}

void i8254_reset(struct i8254 *pit)
{
    pthread_mutex_lock(&pit->lock);
    reset_locked(pit, vclock_now(pit->clock));
    pthread_mutex_unlock(&pit->lock);
}

static void free_pit(struct i8254 *pit)
{
    vtimer_destroy(pit->timer);     /* waits for a running callback; not locked */
    pthread_mutex_destroy(&pit->lock);
    free(pit);
}

/* False on failure, after which pit is freed unless a port already points at it. */
static bool register_ports(struct i8254 *pit, struct io_bus *bus)
{
    if (RT_FAILURE(io_bus_register_ports(bus, 0x40, 4, &pit_port_ops, pit, "pit"))) {
        free_pit(pit);
        return false;
    }
    /* 0x40-0x43 cannot be unregistered: on failure pit stays allocated. */
    return RT_SUCCESS(io_bus_register_ports(bus, 0x61, 1, &pit_port_ops, pit, "port61"));
}

struct i8254 *i8254_create(struct io_bus *bus, struct vclock *clock,
                           i8254_irq_fn *irq, void *opaque)
{
    if (!clock)
        return NULL;
    struct i8254 *pit = calloc(1, sizeof(*pit));
    if (!pit)
        return NULL;
    pthread_mutex_init(&pit->lock, NULL);
    pit->clock = clock;
    pit->irq = irq;
    pit->opaque = opaque;
    pit->timer = vtimer_create(clock, timer_fired, pit);
    if (!pit->timer) {
        pthread_mutex_destroy(&pit->lock);
        free(pit);
        return NULL;
    }
    if (bus && !register_ports(pit, bus))
        return NULL;
    i8254_reset(pit);
    return pit;
}

void i8254_destroy(struct i8254 *pit)
{
    if (pit)
        free_pit(pit);
}

/* ---------------------------------------------------------- saved state */

enum {
    I8254_SAVED_F_BCD = 1u << 0, I8254_SAVED_F_GATE = 1u << 1, I8254_SAVED_F_NULL_COUNT = 1u << 2,
    I8254_SAVED_F_RUNNING = 1u << 3, I8254_SAVED_F_TC_BEFORE = 1u << 4, I8254_SAVED_F_PENDING = 1u << 5,
    I8254_SAVED_F_WRITE_MSB = 1u << 6, I8254_SAVED_F_READ_MSB = 1u << 7, I8254_SAVED_F_STATUS = 1u << 8,
    I8254_SAVED_F_ALL = (1u << 9) - 1,
};
#define SAVED_TICK_MAX (UINT64_C(1) << 62)   /* keeps the tick-to-ns math from overflowing */

static void counter_save(const struct pit_counter *c, struct i8254_saved_counter *o)
{
    o->k0 = c->k0;
    o->pending_at = c->pending_at;
    o->reload = c->reload;
    o->start = c->start;
    o->held = c->held;
    o->pending_n = c->pending_n;
    o->latch_value = c->latch_value;
    o->flags = (uint16_t)((c->bcd ? I8254_SAVED_F_BCD : 0) | (c->gate ? I8254_SAVED_F_GATE : 0) |
                          (c->null_count ? I8254_SAVED_F_NULL_COUNT : 0) | (c->running ? I8254_SAVED_F_RUNNING : 0) |
                          (c->tc_before ? I8254_SAVED_F_TC_BEFORE : 0) | (c->pending ? I8254_SAVED_F_PENDING : 0) |
                          (c->write_msb_next ? I8254_SAVED_F_WRITE_MSB : 0) |
                          (c->read_msb_next ? I8254_SAVED_F_READ_MSB : 0) |
                          (c->status_latched ? I8254_SAVED_F_STATUS : 0));
    o->mode = c->mode;
    o->mode_bits = c->mode_bits;
    o->rw = c->rw;
    o->write_lsb = c->write_lsb;
    o->latch_left = c->latch_left;
    o->status = c->status;
}

void i8254_save(struct i8254 *pit, struct i8254_saved *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&pit->lock);
    for (unsigned i = 0; i < 3; i++)
        counter_save(&pit->ctr[i], &out->ctr[i]);
    out->port61 = pit->port61;
    out->irq_line = pit->irq_line < 0 ? 0xff : (uint8_t)pit->irq_line;
    pthread_mutex_unlock(&pit->lock);
}

/* Values the timing math divides by or scales must be in range. */
static bool counter_valid(const struct i8254_saved_counter *o)
{
    bool running = o->flags & I8254_SAVED_F_RUNNING, pending = o->flags & I8254_SAVED_F_PENDING;
    return !(o->flags & ~I8254_SAVED_F_ALL) && o->mode <= 5 && o->mode_bits <= 7 && o->rw <= 3 &&
           o->latch_left <= 2 && o->reload <= 65536 && o->held <= 65536 && o->start <= 65536 &&
           o->pending_n <= 65536 && (!running || o->start >= 1) && (!pending || o->pending_n >= 1) &&
           o->k0 < SAVED_TICK_MAX && o->pending_at < SAVED_TICK_MAX;
}

static void counter_load(struct pit_counter *c, const struct i8254_saved_counter *o)
{
    *c = (struct pit_counter){
        .mode = o->mode, .mode_bits = o->mode_bits, .rw = o->rw, .bcd = o->flags & I8254_SAVED_F_BCD,
        .gate = o->flags & I8254_SAVED_F_GATE, .reload = o->reload,
        .null_count = o->flags & I8254_SAVED_F_NULL_COUNT, .running = o->flags & I8254_SAVED_F_RUNNING,
        .k0 = o->k0, .start = o->start, .tc_before = o->flags & I8254_SAVED_F_TC_BEFORE, .held = o->held,
        .pending = o->flags & I8254_SAVED_F_PENDING, .pending_n = o->pending_n, .pending_at = o->pending_at,
        .write_msb_next = o->flags & I8254_SAVED_F_WRITE_MSB, .write_lsb = o->write_lsb,
        .read_msb_next = o->flags & I8254_SAVED_F_READ_MSB, .latch_left = o->latch_left,
        .latch_value = o->latch_value, .status_latched = o->flags & I8254_SAVED_F_STATUS, .status = o->status,
    };
}

int i8254_load(struct i8254 *pit, const struct i8254_saved *in)
{
    for (unsigned i = 0; i < 3; i++)
        if (!counter_valid(&in->ctr[i]))
            return VERR_SSM_UNEXPECTED_DATA;
    if (in->port61 > 0xf || (in->irq_line > 1 && in->irq_line != 0xff))
        return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&pit->lock);
    for (unsigned i = 0; i < 3; i++)
        counter_load(&pit->ctr[i], &in->ctr[i]);
    pit->port61 = in->port61;
    pit->irq_line = in->irq_line == 0xff ? -1 : in->irq_line;
    schedule(pit, vclock_now(pit->clock));
    pthread_mutex_unlock(&pit->lock);
    return VINF_SUCCESS;
}
