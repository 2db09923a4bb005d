/*
 * 8259A PIC pair (see i8259.h).
 *
 * Each chip keeps IRR/ISR/IMR and the line levels (`pins`).  An edge input
 * latches IRR on a rising edge and keeps it until acknowledged; a level
 * input (ELCR or ICW1.LTIM) makes IRR follow the line.  The slave's INTR
 * output feeds the master's IR2 as a level, so a slave request that stays
 * pending across a master EOI is not lost.  Priorities rotate: `lowest` is
 * the IR with the lowest priority (7 after initialization).
 */
#include "i8259.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../io/io_bus.h"

#define CASCADE_IRQ 2

enum { INIT_NONE, INIT_ICW2, INIT_ICW3, INIT_ICW4 };

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t pins;                   /* current input line levels */
    uint8_t elcr, elcr_mask;        /* level-triggered inputs; which may be */
    uint8_t vector_base;            /* ICW2 & 0xf8 */
    uint8_t icw3;
    uint8_t lowest;                 /* IR with the lowest priority */
    uint8_t init_state;
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_on_aeoi, sfnm;
    bool special_mask, poll, read_isr;
    bool is_master;
};

struct i8259 {
    pthread_mutex_t lock;
    struct pic_chip chip[2];        /* [0] master, [1] slave */
    i8259_notify_fn *notify;
    void *opaque;
    bool notifying;                 /* some thread is delivering notify() */
    bool line;                      /* INTR as last notified */
};

/* ---------------------------------------------------------------- chips */

static uint8_t level_mask(const struct pic_chip *c)
{
    return c->ltim ? 0xff : c->elcr;
}

/* The IR with the highest priority among bits, or -1. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
    for (int i = 1; i <= 8; i++) {
        int ir = (c->lowest + i) & 7;
        if (bits & (1u << ir))
            return ir;
    }
    return -1;
}

/* Rank of ir: 0 is the highest priority, 7 the lowest. */
static int rank(const struct pic_chip *c, int ir)
{
    return (ir - c->lowest - 1) & 7;
}

static bool slave_output(const struct pic_chip *slave);

static uint8_t requests(const struct i8259 *pic, const struct pic_chip *c)
{
    uint8_t irr = c->irr;
    if (c->is_master && !c->single && slave_output(&pic->chip[1]))
        irr |= 1u << CASCADE_IRQ;
    return irr;
}

/* The IR this chip would deliver now, or -1 (cascade input passed in). */
static int chip_pending(const struct pic_chip *c, uint8_t irr)
{
    if (c->init_state != INIT_NONE)
        return -1;                  /* mid-initialization: no vector yet */
    int req = highest(c, irr & ~c->imr);
    if (req < 0)
        return -1;
    uint8_t blocking = c->isr;
    if (c->special_mask)
        blocking &= ~c->imr;        /* masked levels in service do not block */
    if (c->is_master && c->sfnm)
        blocking &= ~(1u << CASCADE_IRQ);  /* nested slave requests may pass */
    int svc = highest(c, blocking);
    if (svc >= 0 && rank(c, req) >= rank(c, svc))
        return -1;
    return req;
}

static bool slave_output(const struct pic_chip *slave)
{
    return chip_pending(slave, slave->irr) >= 0;
}

static bool pic_output(const struct i8259 *pic)
{
    const struct pic_chip *m = &pic->chip[0];
    return chip_pending(m, requests(pic, m)) >= 0;
}

/* INTA (or poll) on one chip for ir: moves the request into service. */
static void chip_ack(struct pic_chip *c, int ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (!(level_mask(c) & bit))
        c->irr &= (uint8_t)~bit;    /* edge latch consumed; a level stays */
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->lowest = (uint8_t)ir;
    } else {
        c->isr |= bit;
    }
}

static void chip_input(struct pic_chip *c, unsigned ir, bool level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    bool was = c->pins & bit;
    if (level)
        c->pins |= bit;
    else
        c->pins &= (uint8_t)~bit;
    if (level_mask(c) & bit)
        c->irr = level ? (c->irr | bit) : (c->irr & (uint8_t)~bit);
    else if (level && !was)
        c->irr |= bit;
}

/* After a trigger-mode change: a level input's IRR reflects its line. */
static void chip_resync_levels(struct pic_chip *c)
{
    uint8_t lm = level_mask(c);
    c->irr = (uint8_t)((c->irr & ~lm) | (c->pins & lm));
}

static void chip_reset(struct pic_chip *c, bool master)
{
    uint8_t pins = c->pins;
    *c = (struct pic_chip){ 0 };
    c->pins = pins;
    c->is_master = master;
    c->elcr_mask = master ? 0xf8 : 0xde;   /* IRQ0-2, 8 and 13 are always edge */
    c->lowest = 7;
}

/* ------------------------------------------------------------- commands */

static void icw1(struct pic_chip *c, uint8_t v)
{
    c->irr &= level_mask(c);        /* edge sense reset: edges must recur */
    c->isr = c->imr = 0;
    c->lowest = 7;
    c->special_mask = c->poll = c->read_isr = false;
    c->rotate_on_aeoi = false;
    c->single = v & 0x02;
    c->ltim = v & 0x08;
    c->icw4_needed = v & 0x01;
    if (!c->icw4_needed)
        c->auto_eoi = c->sfnm = false;
    c->init_state = INIT_ICW2;
    chip_resync_levels(c);
}

static void eoi(struct pic_chip *c, int ir, bool rotate)
{
    if (ir < 0)
        return;
    c->isr &= (uint8_t)~(1u << ir);
    if (rotate)
        c->lowest = (uint8_t)ir;
}

static void ocw2(struct pic_chip *c, uint8_t v)
{
    int level = v & 7;
    switch (v >> 5) {
    case 0: c->rotate_on_aeoi = false; break;
    case 4: c->rotate_on_aeoi = true; break;
    case 1: eoi(c, highest(c, c->isr), false); break;
    case 5: eoi(c, highest(c, c->isr), true); break;
    case 3: eoi(c, level, false); break;
    case 7: eoi(c, level, true); break;
    case 6: c->lowest = (uint8_t)level; break;
    default: break;                 /* 2: no operation */
    }
}

static void ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & 0x04)
        c->poll = true;
    if (v & 0x02)
        c->read_isr = v & 0x01;
    if (v & 0x40)
        c->special_mask = v & 0x20;
}

static void write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->init_state) {
    case INIT_ICW2:
        c->vector_base = v & 0xf8;
        if (!c->single)
            c->init_state = INIT_ICW3;
        else
            c->init_state = c->icw4_needed ? INIT_ICW4 : INIT_NONE;
        break;
    case INIT_ICW3:
        c->icw3 = v;
        c->init_state = c->icw4_needed ? INIT_ICW4 : INIT_NONE;
        break;
    case INIT_ICW4:
        /* uPM (8086 mode) is assumed; buffered mode means nothing here. */
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_state = INIT_NONE;
        break;
    default:
        c->imr = v;
        break;
    }
}

/* ------------------------------------------------------ INTA and output */

/* Delivers INTR changes in order without holding the lock (see i8259.h). */
static void update_and_unlock(struct i8259 *pic)
{
    if (pic->notifying) {           /* that thread will see our change */
        pthread_mutex_unlock(&pic->lock);
        return;
    }
    pic->notifying = true;
    for (;;) {
        bool out = pic_output(pic);
        if (out == pic->line)
            break;
        pic->line = out;
        pthread_mutex_unlock(&pic->lock);
        if (pic->notify)
            pic->notify(pic->opaque, out);
        pthread_mutex_lock(&pic->lock);
    }
    pic->notifying = false;
    pthread_mutex_unlock(&pic->lock);
}

static int ack_locked(struct i8259 *pic)
{
    struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
    int ir = chip_pending(m, requests(pic, m));
    if (ir < 0)
        return m->vector_base | 7;  /* the request went away: spurious IRQ7 */
    chip_ack(m, ir);
    if (ir != CASCADE_IRQ || m->single)
        return m->vector_base | ir;
    int sir = chip_pending(s, s->irr);
    if (sir < 0)
        return s->vector_base | 7;  /* spurious IRQ15; master IR2 stays in service */
    chip_ack(s, sir);
    return s->vector_base | sir;
}

/* Poll command: the next read returns the poll word and acts as INTA. */
static uint8_t poll_read(struct i8259 *pic, struct pic_chip *c)
{
    c->poll = false;
    int ir = chip_pending(c, requests(pic, c));
    if (ir < 0)
        return 0;
    chip_ack(c, ir);
    return (uint8_t)(0x80 | ir);
}

/* ---------------------------------------------------------------- ports */

static uint8_t port_read(struct i8259 *pic, uint16_t port)
{
    if (port == 0x4d0 || port == 0x4d1)
        return pic->chip[port & 1].elcr;
    struct pic_chip *c = &pic->chip[port >= 0xa0];
    if (c->poll)
        return poll_read(pic, c);
    if (port & 1)
        return c->imr;
    return c->read_isr ? c->isr : requests(pic, c);
}

static void port_write(struct i8259 *pic, uint16_t port, uint8_t v)
{
    if (port == 0x4d0 || port == 0x4d1) {
        struct pic_chip *c = &pic->chip[port & 1];
        c->elcr = v & c->elcr_mask;
        chip_resync_levels(c);
        return;
    }
    struct pic_chip *c = &pic->chip[port >= 0xa0];
    if (port & 1)
        write_data(c, v);
    else if (v & 0x10)
        icw1(c, v);
    else if (v & 0x08)
        ocw3(c, v);
    else
        ocw2(c, v);
}

/* A wider access touches consecutive registers byte by byte. */
static uint32_t pic_io_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8259 *pic = opaque;
    uint32_t v = 0;
    pthread_mutex_lock(&pic->lock);
    for (unsigned i = 0; i < size && i < 4; i++)
        v |= (uint32_t)port_read(pic, (uint16_t)(port + i)) << (8 * i);
    update_and_unlock(pic);        /* a poll read acknowledges */
    return v;
}

static void pic_io_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct i8259 *pic = opaque;
    pthread_mutex_lock(&pic->lock);
    for (unsigned i = 0; i < size && i < 4; i++)
        port_write(pic, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
    update_and_unlock(pic);
}

static const struct io_port_ops pic_port_ops = {
    .read = pic_io_read,
    .write = pic_io_write,
};

/* ------------------------------------------------------------------ API */

struct i8259 *i8259_create(struct io_bus *bus, i8259_notify_fn *notify, void *opaque)
{
    static const uint16_t bases[] = { 0x20, 0xa0, 0x4d0 };
    struct i8259 *pic = calloc(1, sizeof(*pic));
    if (!pic)
        return NULL;
    pthread_mutex_init(&pic->lock, NULL);
    pic->notify = notify;
    pic->opaque = opaque;
    chip_reset(&pic->chip[0], true);
    chip_reset(&pic->chip[1], false);
    for (unsigned i = 0; bus && i < 3; i++) {
        int rc = io_bus_register_ports(bus, bases[i], 2, &pic_port_ops, pic,
                                       i == 2 ? "elcr" : i ? "pic-slave" : "pic-master");
        if (RT_FAILURE(rc)) {
            if (i == 0) {
                pthread_mutex_destroy(&pic->lock);
                free(pic);
            }
            /* else: earlier ranges point at pic and cannot be unregistered,
             * so it is left allocated rather than dangling. */
            return NULL;
        }
    }
    return pic;
}

void i8259_destroy(struct i8259 *pic)
{
    if (!pic)
        return;
    pthread_mutex_destroy(&pic->lock);
    free(pic);
}

void i8259_reset(struct i8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    chip_reset(&pic->chip[0], true);
    chip_reset(&pic->chip[1], false);
    update_and_unlock(pic);
}

void i8259_set_irq(struct i8259 *pic, unsigned irq, int level)
{
    if (irq > 15)
        return;
    pthread_mutex_lock(&pic->lock);
    chip_input(&pic->chip[irq >> 3], irq & 7, level != 0);
    update_and_unlock(pic);
}

bool i8259_has_interrupt(struct i8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    bool out = pic_output(pic);
    pthread_mutex_unlock(&pic->lock);
    return out;
}

int i8259_acknowledge(struct i8259 *pic)
{
    pthread_mutex_lock(&pic->lock);
    int vector = ack_locked(pic);
    update_and_unlock(pic);
    return vector;
}

/* ---------------------------------------------------------- saved state */

enum {
    I8259_SAVED_F_ICW4 = 1u << 0, I8259_SAVED_F_SINGLE = 1u << 1, I8259_SAVED_F_LTIM = 1u << 2,
    I8259_SAVED_F_AEOI = 1u << 3, I8259_SAVED_F_ROTATE_AEOI = 1u << 4, I8259_SAVED_F_SFNM = 1u << 5,
    I8259_SAVED_F_SMM = 1u << 6, I8259_SAVED_F_POLL = 1u << 7, I8259_SAVED_F_READ_ISR = 1u << 8,
    I8259_SAVED_F_MASTER = 1u << 9, I8259_SAVED_F_ALL = (1u << 10) - 1,
};

static void chip_save(const struct pic_chip *c, struct i8259_saved_chip *o)
{
    *o = (struct i8259_saved_chip){
        .irr = c->irr, .isr = c->isr, .imr = c->imr, .pins = c->pins, .elcr = c->elcr,
        .elcr_mask = c->elcr_mask, .vector_base = c->vector_base, .icw3 = c->icw3, .lowest = c->lowest,
        .init_state = c->init_state,
        .flags = (uint16_t)((c->icw4_needed ? I8259_SAVED_F_ICW4 : 0) | (c->single ? I8259_SAVED_F_SINGLE : 0) |
                            (c->ltim ? I8259_SAVED_F_LTIM : 0) | (c->auto_eoi ? I8259_SAVED_F_AEOI : 0) |
                            (c->rotate_on_aeoi ? I8259_SAVED_F_ROTATE_AEOI : 0) |
                            (c->sfnm ? I8259_SAVED_F_SFNM : 0) | (c->special_mask ? I8259_SAVED_F_SMM : 0) |
                            (c->poll ? I8259_SAVED_F_POLL : 0) | (c->read_isr ? I8259_SAVED_F_READ_ISR : 0) |
                            (c->is_master ? I8259_SAVED_F_MASTER : 0)),
    };
}

void i8259_save(struct i8259 *pic, struct i8259_saved *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&pic->lock);
    for (unsigned i = 0; i < 2; i++)
        chip_save(&pic->chip[i], &out->chip[i]);
    out->line = pic->line;
    pthread_mutex_unlock(&pic->lock);
}

static bool chip_valid(const struct i8259_saved_chip *o, bool master)
{
    return !(o->flags & ~I8259_SAVED_F_ALL) && o->lowest <= 7 && o->init_state <= INIT_ICW4 &&
           !(o->vector_base & 7) && !(o->elcr & ~o->elcr_mask) &&
           o->elcr_mask == (master ? 0xf8 : 0xde) && !!(o->flags & I8259_SAVED_F_MASTER) == master;
}

static void chip_load(struct pic_chip *c, const struct i8259_saved_chip *o)
{
    *c = (struct pic_chip){
        .irr = o->irr, .isr = o->isr, .imr = o->imr, .pins = o->pins, .elcr = o->elcr,
        .elcr_mask = o->elcr_mask, .vector_base = o->vector_base, .icw3 = o->icw3, .lowest = o->lowest,
        .init_state = o->init_state, .icw4_needed = o->flags & I8259_SAVED_F_ICW4,
        .single = o->flags & I8259_SAVED_F_SINGLE, .ltim = o->flags & I8259_SAVED_F_LTIM,
        .auto_eoi = o->flags & I8259_SAVED_F_AEOI, .rotate_on_aeoi = o->flags & I8259_SAVED_F_ROTATE_AEOI,
        .sfnm = o->flags & I8259_SAVED_F_SFNM, .special_mask = o->flags & I8259_SAVED_F_SMM,
        .poll = o->flags & I8259_SAVED_F_POLL, .read_isr = o->flags & I8259_SAVED_F_READ_ISR,
        .is_master = o->flags & I8259_SAVED_F_MASTER,
    };
}

/* The INTR line is re-derived and notified, so a pending request wakes the vCPU. */
int i8259_load(struct i8259 *pic, const struct i8259_saved *in)
{
    if (!chip_valid(&in->chip[0], true) || !chip_valid(&in->chip[1], false) || in->line > 1)
        return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&pic->lock);
    chip_load(&pic->chip[0], &in->chip[0]);
    chip_load(&pic->chip[1], &in->chip[1]);
    pic->line = false;              /* a raised output is notified again */
    update_and_unlock(pic);
    return VINF_SUCCESS;
}
