/*
 * The 8259A programmable interrupt controller pair of a PC: master at
 * ports 0x20/0x21, slave at 0xA0/0xA1 cascaded on the master's IR2, and the
 * edge/level control registers (ELCR) at 0x4D0/0x4D1.  Used by the
 * interpreter engine (KVM has its own in the kernel).
 *
 * All functions are thread-safe.  notify() is called without the PIC's lock
 * held, whenever the INTR output line changes, from whichever thread caused
 * the change (or from a thread that is already delivering a notification);
 * it may call back into the PIC.  Notifications are delivered in order and
 * the last one always matches the current line.
 */
#ifndef PETREL_I8259_H
#define PETREL_I8259_H

#include <stdbool.h>
#include <stdint.h>

struct io_bus;
struct i8259;

typedef void i8259_notify_fn(void *opaque, bool has_interrupt);

/* Registers the ports on bus; NULL when out of memory or a port is taken. */
struct i8259 *i8259_create(struct io_bus *bus, i8259_notify_fn *notify, void *opaque);
/* Ports stay registered on the bus: destroy the bus with (or before using) it. */
void i8259_destroy(struct i8259 *pic);
void i8259_reset(struct i8259 *pic);

/* Drives input line irq (0..15; others ignored) to level (0 or non-zero). */
void i8259_set_irq(struct i8259 *pic, unsigned irq, int level);
/* The INTR line: an unmasked request of sufficient priority is pending. */
bool i8259_has_interrupt(struct i8259 *pic);
/* INTA cycle: the vector to deliver (spurious IRQ7/IRQ15 when nothing is). */
int  i8259_acknowledge(struct i8259 *pic);

/* Saved state: a plain struct of fixed-width fields (saved-state unit
 * "i8259", version I8259_SAVED_VERSION).  load validates every field and
 * returns VERR_SSM_UNEXPECTED_DATA for values the chip cannot hold. */
#define I8259_SAVED_VERSION 1u
struct i8259_saved_chip {
    uint8_t  irr, isr, imr, pins, elcr, elcr_mask, vector_base, icw3, lowest, init_state;
    uint16_t flags;                 /* I8259_SAVED_F_* */
    uint8_t  pad[4];
};
struct i8259_saved {
    struct i8259_saved_chip chip[2];   /* [0] master, [1] slave */
    uint8_t line;
    uint8_t pad[7];
};
void i8259_save(struct i8259 *pic, struct i8259_saved *out);
int  i8259_load(struct i8259 *pic, const struct i8259_saved *in);

#endif /* PETREL_I8259_H */
