/*
 * i8042 PS/2 keyboard controller with no keyboard or mouse attached, plus
 * PS/2 system control port A (0x92).  Enough for Linux: controller commands,
 * self-test, the command byte, the output port (A20, reset line), and
 * reset through command 0xFE, the output port or port 0x92 bit 0.
 *
 * Ports: 0x60 data, 0x64 status (read) / command (write), 0x92 port A.
 * IRQ 1 (keyboard output buffer full) and IRQ 12 (aux), when the command
 * byte enables them.  A20 is recorded but not applied: guest RAM has no
 * A20 wrap (all Petrel guests are loaded above 1 MiB or run in long mode).
 */
#ifndef PETREL_I8042_H
#define PETREL_I8042_H

#include <stdint.h>

#include "device.h"

struct io_bus;
struct i8042;

#define I8042_IRQ_KBD 1
#define I8042_IRQ_AUX 12

/* line is I8042_IRQ_KBD or I8042_IRQ_AUX. */
typedef void i8042_irq_fn(void *opaque, unsigned line, int level);
/* The guest pulsed the CPU reset line.  Called without the device lock. */
typedef void i8042_reset_fn(void *opaque);

/* Registers ports 0x60, 0x64 and 0x92 on bus; irq may be NULL.  NULL on failure. */
struct i8042 *i8042_create(struct io_bus *bus, i8042_irq_fn *irq, i8042_reset_fn *reset, void *opaque);
void i8042_destroy(struct i8042 *kbc);
void i8042_reset(struct i8042 *kbc);
/* The A20 gate as the guest last set it (output port bit 1 or port 0x92 bit 1). */
int  i8042_a20_enabled(struct i8042 *kbc);

/* /Devices/i8042/0 (no Config keys). */
extern const struct device_ops i8042_device_ops;

/* Saved state of the controller (unit "i8042"): a plain struct; load
 * validates (VERR_SSM_UNEXPECTED_DATA) and re-derives both IRQ lines. */
#define I8042_SAVED_VERSION 1u
struct i8042_saved {
    uint8_t ram[32];
    uint8_t queue_value[8], queue_flags[8];   /* flags: bit 0 aux, bit 1 timeout */
    uint8_t status_bits, outport, port_a, pending_cmd, q_head, q_count, last_data;
    uint8_t pad[1];
};
void i8042_save(struct i8042 *kbc, struct i8042_saved *out);
int  i8042_load(struct i8042 *kbc, const struct i8042_saved *in);

#endif /* PETREL_I8042_H */
