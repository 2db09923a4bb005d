/*
 * 16550A UART model (see uart16550.h).  Facts from the PC16550D datasheet.
 *
 * Interrupt sources, highest priority first (IIR bits 3:1):
 *   RLS  0x6  LSR error bits (OE/PE/FE/BI) with IER.ELSI; cleared by reading LSR
 *   RDA  0x4  RX data at/above the trigger level with IER.ERBFI; cleared by reading RBR
 *   CTI  0xC  RX data below the trigger level (FIFO mode).  Input arrives in
 *             bursts from the back end, so the character timeout is taken as
 *             elapsed at once: data below the trigger level is signalled as CTI
 *   THRE 0x2  THR empty with IER.ETBEI; cleared by reading IIR (when it is
 *             the source) or writing THR; re-armed by every THR write (the
 *             byte leaves at once) and by setting ETBEI while THR is empty
 *   MSR  0x0  MSR delta bits with IER.EDSSI; cleared by reading MSR
 * The IRQ pin of a PC COM port is gated by MCR.OUT2; in loopback mode OUT2
 * is internal, so the pin stays low.
 */
#include "uart16550.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../core/vm_internal.h"
#include "../io/io_bus.h"
#include "console_backend.h"

#define FIFO_SIZE 16

/* Register offsets. */
enum { R_RBR_THR = 0, R_IER = 1, R_IIR_FCR = 2, R_LCR = 3, R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7 };

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08

#define IIR_NONE  0x01
#define IIR_MSR   0x00
#define IIR_THRE  0x02
#define IIR_RDA   0x04
#define IIR_RLS   0x06
#define IIR_CTI   0x0c
#define IIR_FIFO  0xc0

#define FCR_ENABLE   0x01
#define FCR_CLR_RX   0x02
#define FCR_CLR_TX   0x04

#define LCR_DLAB  0x80

#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define MCR_MASK  0x1f

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_ERR   0x1e               /* OE | PE | FE | BI */
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80
#define MSR_DELTA 0x0f

struct uart16550 {
    pthread_mutex_t lock;
    uint16_t base;
    uart16550_irq_fn *irq;
    void *irq_opaque;
    struct console_backend *backend;
    void (*room_fn)(void *);
    void *room_opaque;

    uint8_t rx[FIFO_SIZE];           /* ring buffer */
    unsigned rx_head, rx_count;
    bool rx_blocked;                 /* a receive was cut short: call room_fn */
    bool input_held;                 /* see uart16550_hold_input */
    uint8_t rbr_last;                /* what an empty RBR reads as */

    uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm;
    bool fifo_on;
    unsigned rx_trigger;             /* 1, 4, 8 or 14 */
    bool thr_ipending;
    int irq_level;
};

/* --- interrupt state --- */

static bool rx_at_trigger(const struct uart16550 *u)
{
    return u->rx_count >= (u->fifo_on ? u->rx_trigger : 1);
}

/* The IIR identification (bits 3:0) of the highest pending interrupt. */
static uint8_t uart_pending(const struct uart16550 *u)
{
    if ((u->ier & IER_ELSI) && (u->lsr & LSR_ERR))
        return IIR_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count)
        return rx_at_trigger(u) ? IIR_RDA : IIR_CTI;
    if ((u->ier & IER_ETBEI) && u->thr_ipending)
        return IIR_THRE;
    if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTA))
        return IIR_MSR;
    return IIR_NONE;
}

static void uart_update_irq(struct uart16550 *u)
{
    bool pin_enabled = (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
    int level = pin_enabled && uart_pending(u) != IIR_NONE;
    if (level != u->irq_level) {
        u->irq_level = level;
        if (u->irq)
            u->irq(u->irq_opaque, level);
    }
}

/* --- FIFOs --- */

static unsigned rx_capacity(const struct uart16550 *u)
{
    return u->fifo_on ? FIFO_SIZE : 1;
}

/* Adds one byte; sets OE and drops it when full.  Locked. */
static void rx_push(struct uart16550 *u, uint8_t byte)
{
    if (u->rx_count >= rx_capacity(u)) {
        u->lsr |= LSR_OE;
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % FIFO_SIZE] = byte;
    u->rx_count++;
    u->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct uart16550 *u)
{
    if (!u->rx_count)
        return u->rbr_last;
    uint8_t byte = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
    u->rx_count--;
    u->rbr_last = byte;
    if (!u->rx_count)
        u->lsr &= (uint8_t)~LSR_DR;
    return byte;
}

static void rx_clear(struct uart16550 *u)
{
    u->rx_head = u->rx_count = 0;
    u->lsr &= (uint8_t)~LSR_DR;
}

/* True when the feeder should be told there is room again.  Locked. */
static bool rx_take_room_event(struct uart16550 *u)
{
    if (!u->rx_blocked || u->input_held || (u->mcr & MCR_LOOP) || u->rx_count >= rx_capacity(u))
        return false;
    u->rx_blocked = false;
    return true;
}

/* --- modem status --- */

/* The MSR status bits (7:4) the line inputs currently show. */
static uint8_t msr_inputs(const struct uart16550 *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;  /* a cable with everything asserted */
    uint8_t m = 0;
    if (u->mcr & MCR_RTS)  m |= MSR_CTS;
    if (u->mcr & MCR_DTR)  m |= MSR_DSR;
    if (u->mcr & MCR_OUT1) m |= MSR_RI;
    if (u->mcr & MCR_OUT2) m |= MSR_DCD;
    return m;
}

/* Recomputes MSR 7:4 and sets the delta bits for what changed. */
static void msr_update(struct uart16550 *u)
{
    uint8_t old = u->msr & 0xf0, now = msr_inputs(u), diff = old ^ now;
    uint8_t delta = 0;
    if (diff & MSR_CTS) delta |= MSR_DCTS;
    if (diff & MSR_DSR) delta |= MSR_DDSR;
    if (diff & MSR_DCD) delta |= MSR_DDCD;
    if ((old & MSR_RI) && !(now & MSR_RI)) delta |= MSR_TERI;   /* trailing edge only */
    u->msr = (uint8_t)(now | (u->msr & MSR_DELTA) | delta);
}

/* --- register writes --- */

static void write_thr(struct uart16550 *u, uint8_t byte)
{
    if (u->mcr & MCR_LOOP)
        rx_push(u, byte);
    else if (u->backend)
        console_backend_write(u->backend, &byte, 1);
    /* The byte left at once: THR and the shift register are empty again. */
    u->lsr |= LSR_THRE | LSR_TEMT;
    u->thr_ipending = true;
}

static void write_ier(struct uart16550 *u, uint8_t value)
{
    uint8_t old = u->ier;
    u->ier = value & 0x0f;
    /* Enabling ETBEI while THR is empty raises THRE at once (Linux relies on it). */
    if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI) && (u->lsr & LSR_THRE))
        u->thr_ipending = true;
    if (!(u->ier & IER_ETBEI))
        u->thr_ipending = false;
}

static const unsigned trigger_levels[4] = { 1, 4, 8, 14 };

static void write_fcr(struct uart16550 *u, uint8_t value)
{
    bool on = value & FCR_ENABLE;
    if (on != u->fifo_on) {
        rx_clear(u);                 /* changing mode empties both FIFOs */
        u->fifo_on = on;
    }
    if (!on)
        return;                      /* other bits need FCR0 set */
    if (value & FCR_CLR_RX)
        rx_clear(u);
    u->rx_trigger = trigger_levels[value >> 6];
}

static void write_mcr(struct uart16550 *u, uint8_t value)
{
    bool was_loop = u->mcr & MCR_LOOP;
    u->mcr = value & MCR_MASK;
    if (was_loop != (bool)(u->mcr & MCR_LOOP))
        rx_clear(u);                 /* don't mix looped and received data */
    msr_update(u);
}

/* Returns true if the feeder must be told about new room.  Locked. */
static bool uart_write_locked(struct uart16550 *u, unsigned reg, uint8_t value)
{
    bool dlab = u->lcr & LCR_DLAB;
    switch (reg) {
    case R_RBR_THR: if (dlab) u->dll = value; else write_thr(u, value); break;
    case R_IER:     if (dlab) u->dlm = value; else write_ier(u, value); break;
    case R_IIR_FCR: write_fcr(u, value); break;
    case R_LCR:     u->lcr = value; break;
    case R_MCR:     write_mcr(u, value); break;
    case R_LSR:                      /* factory test register: ignore */
    case R_MSR:     break;
    case R_SCR:     u->scr = value; break;
    }
    uart_update_irq(u);
    return rx_take_room_event(u);
}

/* --- register reads --- */

static uint8_t read_iir(struct uart16550 *u)
{
    uint8_t id = uart_pending(u);
    if (id == IIR_THRE)
        u->thr_ipending = false;     /* reading IIR acknowledges THRE */
    return (uint8_t)(id | (u->fifo_on ? IIR_FIFO : 0));
}

static uint8_t read_lsr(struct uart16550 *u)
{
    uint8_t v = u->lsr;
    u->lsr &= (uint8_t)~LSR_ERR;     /* error bits clear on read */
    return v;
}

static uint8_t read_msr(struct uart16550 *u)
{
    uint8_t v = u->msr;
    u->msr &= (uint8_t)~MSR_DELTA;
    return v;
}

static uint8_t uart_read_locked(struct uart16550 *u, unsigned reg, bool *room)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v = 0xff;
    switch (reg) {
    case R_RBR_THR: v = dlab ? u->dll : rx_pop(u); break;
    case R_IER:     v = dlab ? u->dlm : u->ier; break;
    case R_IIR_FCR: v = read_iir(u); break;
    case R_LCR:     v = u->lcr; break;
    case R_MCR:     v = u->mcr; break;
    case R_LSR:     v = read_lsr(u); break;
    case R_MSR:     v = read_msr(u); break;
    case R_SCR:     v = u->scr; break;
    }
    uart_update_irq(u);
    *room = rx_take_room_event(u);
    return v;
}

/* --- port handlers: wider accesses act on the low byte, as on ISA --- */

/* Calls the room callback chosen under the lock, after dropping it. */
struct room_call {
    void (*fn)(void *);
    void *opaque;
};

static struct room_call room_call_locked(struct uart16550 *u, bool room)
{
    struct room_call c = { room ? u->room_fn : NULL, u->room_opaque };
    return c;
}

static void room_call_run(struct room_call c)
{
    if (c.fn)
        c.fn(c.opaque);
}

static uint32_t uart_port_read(void *opaque, uint16_t port, unsigned size)
{
    struct uart16550 *u = opaque;
    bool room;
    (void)size;
    pthread_mutex_lock(&u->lock);
    uint8_t v = uart_read_locked(u, (unsigned)(port - u->base) & 7, &room);
    struct room_call c = room_call_locked(u, room);
    pthread_mutex_unlock(&u->lock);
    room_call_run(c);
    return v;
}

static void uart_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct uart16550 *u = opaque;
    (void)size;
    pthread_mutex_lock(&u->lock);
    bool room = uart_write_locked(u, (unsigned)(port - u->base) & 7, (uint8_t)value);
    struct room_call c = room_call_locked(u, room);
    pthread_mutex_unlock(&u->lock);
    room_call_run(c);
}

static const struct io_port_ops uart_port_ops = { .read = uart_port_read, .write = uart_port_write };

/* --- input from the outside --- */

size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&u->lock);
    if (!(u->mcr & MCR_LOOP) && !u->input_held)
        while (n < len && u->rx_count < rx_capacity(u))
            rx_push(u, buf[n++]);
    if (n < len)
        u->rx_blocked = true;
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

size_t uart16550_rx_room(struct uart16550 *u)
{
    pthread_mutex_lock(&u->lock);
    size_t room = (u->mcr & MCR_LOOP) || u->input_held ? 0 : rx_capacity(u) - u->rx_count;
    pthread_mutex_unlock(&u->lock);
    return room;
}

void uart16550_set_room_callback(struct uart16550 *u, void (*fn)(void *), void *opaque)
{
    pthread_mutex_lock(&u->lock);
    u->room_fn = fn;
    u->room_opaque = opaque;
    pthread_mutex_unlock(&u->lock);
}

void uart16550_hold_input(struct uart16550 *u, bool held)
{
    pthread_mutex_lock(&u->lock);
    u->input_held = held;
    struct room_call c = room_call_locked(u, rx_take_room_event(u));
    pthread_mutex_unlock(&u->lock);
    room_call_run(c);
}

static size_t uart_backend_input(void *opaque, const uint8_t *buf, size_t len)
{
    return uart16550_receive(opaque, buf, len);
}

/* --- life cycle --- */

static void uart_reset_locked(struct uart16550 *u)
{
    rx_clear(u);
    u->rbr_last = 0;
    u->ier = u->lcr = u->mcr = u->scr = 0;
    u->dll = 0x0c;                   /* 9600 baud, as after a BIOS */
    u->dlm = 0;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->msr = msr_inputs(u);
    u->fifo_on = false;
    u->rx_trigger = 1;
    u->thr_ipending = false;
    u->rx_blocked = true;            /* let a waiting feeder retry */
    uart_update_irq(u);
}

void uart16550_reset(struct uart16550 *u)
{
    pthread_mutex_lock(&u->lock);
    uart_reset_locked(u);
    struct room_call c = room_call_locked(u, rx_take_room_event(u));
    pthread_mutex_unlock(&u->lock);
    room_call_run(c);
}

/* held: input is held from the start, before the back end can deliver any. */
static struct uart16550 *uart_create(struct io_bus *bus, uint16_t base, uart16550_irq_fn *irq, void *irq_opaque,
                                     struct console_backend *backend, bool held)
{
    if (!bus || base > 0xfff8)
        return NULL;
    struct uart16550 *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    pthread_mutex_init(&u->lock, NULL);
    u->base = base;
    u->irq = irq;
    u->irq_opaque = irq_opaque;
    uart_reset_locked(u);
    u->rx_blocked = false;
    u->input_held = held;
    if (RT_FAILURE(io_bus_register_ports(bus, base, 8, &uart_port_ops, u, "uart16550"))) {
        pthread_mutex_destroy(&u->lock);
        free(u);
        return NULL;
    }
    if (backend) {
        u->backend = backend;
        u->room_fn = console_backend_input_room;
        u->room_opaque = backend;
        console_backend_attach(backend, uart_backend_input, u);
    }
    return u;
}

struct uart16550 *uart16550_create(struct io_bus *bus, uint16_t base,
                                   uart16550_irq_fn *irq, void *irq_opaque,
                                   struct console_backend *backend)
{
    return uart_create(bus, base, irq, irq_opaque, backend, false);
}

/*
 * The bus has no unregister: the owner destroys the bus with (or before
 * reusing the ports after) the UART, as the VM does.
 */
void uart16550_destroy(struct uart16550 *u)
{
    if (!u)
        return;
    if (u->backend)
        console_backend_detach(u->backend);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* --- the device model for the machine --- */

struct serial_device {
    struct VM *vm;
    uint32_t gsi;
    struct console_backend *backend;
    struct uart16550 *uart;
};

static void serial_irq(void *opaque, int level)
{
    struct serial_device *s = opaque;
    irq_set(s->vm, s->gsi, level);
}

static void serial_destroy(void *state)
{
    struct serial_device *s = state;
    if (!s)
        return;
    uart16550_destroy(s->uart);      /* first: detaches the back end's input */
    console_backend_destroy(s->backend);
    free(s);
}

static void serial_reset(void *state)
{
    uart16550_reset(((struct serial_device *)state)->uart);
}

static void serial_power_on(void *state)
{
    uart16550_hold_input(((struct serial_device *)state)->uart, false);
}

static int serial_read_config(struct VM *vm, PCFGMNODE cfg, uint16_t *port, uint32_t *gsi, char *console, size_t len)
{
    int rc = CFGMR3QueryU16Def(cfg, "Port", port, UART16550_DEFAULT_PORT);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryU32Def(cfg, "IRQ", gsi, UART16550_DEFAULT_IRQ);
    if (RT_SUCCESS(rc))
        rc = CFGMR3QueryStringDef(cfg, "Console", console, len, "stdio");
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "serial: bad /Devices/serial/*/Config value (Port and IRQ are "
                          "integers, Console a string)");
    if (*port > 0xfff8 || *gsi > 23)
        return VMSetError(vm, VERR_INVALID_PARAMETER, RT_SRC_POS,
                          "serial: Port %#x or IRQ %u is out of range (port <= 0xfff8, IRQ <= 23)", *port, *gsi);
    return VINF_SUCCESS;
}

static int serial_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    uint16_t port;
    uint32_t gsi;
    char console[4096], err[512];
    int rc = serial_read_config(vm, cfg, &port, &gsi, console, sizeof(console));
    if (RT_FAILURE(rc))
        return rc;
    struct serial_device *s = calloc(1, sizeof(*s));
    if (!s)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "serial: out of memory");
    s->vm = vm;
    s->gsi = gsi;
    rc = console_backend_create(console, &s->backend, err, sizeof(err));
    if (RT_FAILURE(rc)) {
        free(s);
        return VMSetError(vm, rc, RT_SRC_POS, "serial: %s", err);
    }
    /* Input waits until power-on or a state load: a byte taken into the
     * not-yet-loaded FIFO would be overwritten by the load. */
    s->uart = uart_create(vm->io, port, serial_irq, s, s->backend, true);
    if (!s->uart) {
        serial_destroy(s);
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS,
                          "serial: ports %#x-%#x are already taken (or out of memory)", port, port + 7);
    }
    *state = s;
    return VINF_SUCCESS;
}

/* --- saved state --- */

void uart16550_save(struct uart16550 *u, struct uart16550_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&u->lock);
    memcpy(o->rx, u->rx, sizeof(o->rx));
    o->rx_head = (uint8_t)u->rx_head;
    o->rx_count = (uint8_t)u->rx_count;
    o->rbr_last = u->rbr_last;
    o->ier = u->ier; o->lcr = u->lcr; o->mcr = u->mcr; o->lsr = u->lsr;
    o->msr = u->msr; o->scr = u->scr; o->dll = u->dll; o->dlm = u->dlm;
    o->rx_trigger = (uint8_t)u->rx_trigger;
    o->fifo_on = u->fifo_on;
    o->thr_ipending = u->thr_ipending;
    pthread_mutex_unlock(&u->lock);
}

int uart16550_load(struct uart16550 *u, const struct uart16550_saved *o)
{
    unsigned cap = o->fifo_on ? FIFO_SIZE : 1;
    bool trigger_ok = o->rx_trigger == 1 || o->rx_trigger == 4 || o->rx_trigger == 8 || o->rx_trigger == 14;
    if (o->rx_head >= FIFO_SIZE || o->rx_count > cap || !trigger_ok || o->fifo_on > 1 || o->thr_ipending > 1)
        return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&u->lock);
    memcpy(u->rx, o->rx, sizeof(u->rx));
    u->rx_head = o->rx_head;
    u->rx_count = o->rx_count;
    u->rbr_last = o->rbr_last;
    u->ier = o->ier; u->lcr = o->lcr; u->mcr = o->mcr; u->lsr = o->lsr;
    u->msr = o->msr; u->scr = o->scr; u->dll = o->dll; u->dlm = o->dlm;
    u->rx_trigger = o->rx_trigger;
    u->fifo_on = o->fifo_on;
    u->thr_ipending = o->thr_ipending;
    u->irq_level = -1;               /* the line is told again */
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return VINF_SUCCESS;
}

static void serial_save(void *state, void *saved)
{
    uart16550_save(((struct serial_device *)state)->uart, saved);
}

/* Input typed while the VM was loading waits in the back end until now. */
static int serial_load(void *state, const void *saved)
{
    struct uart16550 *u = ((struct serial_device *)state)->uart;
    int rc = uart16550_load(u, saved);
    if (RT_SUCCESS(rc))
        uart16550_hold_input(u, false);
    return rc;
}

const struct device_ops uart16550_device_ops = {
    .name = "serial",
    .create = serial_create,
    .destroy = serial_destroy,
    .reset = serial_reset,
    .power_on = serial_power_on,
    .saved_version = UART16550_SAVED_VERSION,
    .saved_size = sizeof(struct uart16550_saved),
    .save = serial_save,
    .load = serial_load,
};

void uart16550_hold_vm_input(struct VM *vm)
{
    for (struct device_instance *i = vm ? vm->devices : NULL; i; i = i->next)
        if (i->ops == &uart16550_device_ops)
            uart16550_hold_input(((struct serial_device *)i->state)->uart, true);
}

struct uart16550 *uart16550_of_vm(struct VM *vm)
{
    if (!vm)
        return NULL;
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (i->ops == &uart16550_device_ops)
            return ((struct serial_device *)i->state)->uart;
    return NULL;
}
