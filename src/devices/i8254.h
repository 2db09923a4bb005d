/*
 * The 8254 programmable interval timer of a PC: counters 0-2 at ports
 * 0x40-0x42, the control word at 0x43, and the PIT-related bits of system
 * control port B (0x61: counter 2 gate, speaker data, refresh toggle,
 * counter 2 output).  Input clock 1.193182 MHz.  Used by the interpreter
 * engine (KVM has its own in the kernel).
 *
 * Counts are computed from the virtual clock when read, not ticked; counter
 * 0's output drives irq(opaque, level) (IRQ0), with events timed by a vtimer.
 * irq() is called with the PIT's lock held: it must not call back into the
 * PIT (raising a line on the PIC is fine).
 */
#ifndef PETREL_I8254_H
#define PETREL_I8254_H

#include <stdint.h>

struct io_bus;
struct vclock;
struct i8254;

#define I8254_HZ 1193182u

typedef void i8254_irq_fn(void *opaque, int level);

/* Registers ports 0x40-0x43 and 0x61; NULL when out of memory or a port is taken. */
struct i8254 *i8254_create(struct io_bus *bus, struct vclock *clock,
                           i8254_irq_fn *irq, void *opaque);
/* Ports stay registered on the bus: destroy the bus with (or before using) it. */
void i8254_destroy(struct i8254 *pit);
/* The state a PC BIOS leaves: every counter in mode 3 with count 65536. */
void i8254_reset(struct i8254 *pit);

/* Saved state: a plain struct of fixed-width fields (saved-state unit
 * "i8254", version I8254_SAVED_VERSION).  Times are in ticks of the
 * virtual clock, so the clock is restored first; load validates every
 * field and re-plans the counter 0 timer. */
#define I8254_SAVED_VERSION 1u
struct i8254_saved_counter {
    uint64_t k0, pending_at;
    uint32_t reload, start, held, pending_n;
    uint16_t latch_value, flags;    /* flags: I8254_SAVED_F_* (i8254.c) */
    uint8_t  mode, mode_bits, rw, write_lsb, latch_left, status;
    uint8_t  pad[6];
};
struct i8254_saved {
    struct i8254_saved_counter ctr[3];
    uint8_t port61;
    uint8_t irq_line;               /* 0, 1, or 0xff: not known */
    uint8_t pad[6];
};
void i8254_save(struct i8254 *pit, struct i8254_saved *out);
int  i8254_load(struct i8254 *pit, const struct i8254_saved *in);

#endif /* PETREL_I8254_H */
