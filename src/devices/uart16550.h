/*
 * 16550A UART (PC COM port).  Register-level model of the National
 * PC16550D with 16-byte FIFOs.  Output is sent to the console back end the
 * moment the guest writes THR (no baud-rate delay), so THR/TEMT are always
 * empty and the THR-empty interrupt comes back at once after every write.
 *
 * Thread model: the register handlers run on EMTs, uart16550_receive() on
 * the console I/O thread; one internal mutex serialises them.  The irq
 * callback is called with that mutex held, only when the line changes.
 */
#ifndef PETREL_UART16550_H
#define PETREL_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"

struct io_bus;
struct console_backend;
struct uart16550;

#define UART16550_DEFAULT_PORT 0x3f8
#define UART16550_DEFAULT_IRQ  4

typedef void uart16550_irq_fn(void *opaque, int level);

/*
 * Creates a UART at ports [base, base+8) on bus.  backend may be NULL (output
 * discarded, no input); when given, the UART becomes its input sink (the
 * back end must outlive the UART).  NULL on failure (ports taken, memory).
 */
struct uart16550 *uart16550_create(struct io_bus *bus, uint16_t base,
                                   uart16550_irq_fn *irq, void *irq_opaque,
                                   struct console_backend *backend);
/* Detaches from the back end (stops its input) and frees the UART. */
void uart16550_destroy(struct uart16550 *uart);
/* Hardware reset: registers to their power-on values, FIFOs empty, IRQ low. */
void uart16550_reset(struct uart16550 *uart);

/*
 * Received bytes from the outside (any thread).  Accepts as many as the RX
 * FIFO (or the single RBR when FIFOs are off) has room for and returns that
 * count; the caller keeps the rest and retries when the room callback runs.
 * Nothing is accepted in loopback mode (the serial input is disconnected).
 */
size_t uart16550_receive(struct uart16550 *uart, const uint8_t *buf, size_t len);
/* Bytes uart16550_receive() would accept now. */
size_t uart16550_rx_room(struct uart16550 *uart);
/*
 * fn runs (without the UART lock held) when room appears after a receive
 * was cut short.  The back end passed to uart16550_create is hooked up
 * automatically; this is for other feeders.
 */
void uart16550_set_room_callback(struct uart16550 *uart, void (*fn)(void *), void *opaque);
/*
 * While held, uart16550_receive() accepts nothing (the feeder keeps its
 * bytes); releasing calls the room callback so that they come at once.  The
 * serial device (uart16550_device_ops) holds input from creation until
 * power-on or a state load, and from the start of any load until its unit
 * is loaded: a byte taken into the not-yet-loaded FIFO would be overwritten
 * by the load (the first byte typed after a restore was lost).
 */
void uart16550_hold_input(struct uart16550 *uart, bool held);

/* /Devices/serial/N/Config: Port (0x3f8), IRQ (4), Console ("stdio"). */
extern const struct device_ops uart16550_device_ops;
/* The VM's first serial port (the console), or NULL: for VMR3ConsoleInput. */
struct uart16550 *uart16550_of_vm(struct VM *vm);
/*
 * A state load begins: every serial port of vm holds its input until its
 * unit is loaded (serial_load releases it).  A SUSPENDED VM takes input, and
 * a byte taken while its FIFO waits to be overwritten would be lost.
 */
void uart16550_hold_vm_input(struct VM *vm);

/* Saved state of the UART (unit "serial"): a plain struct; load validates
 * (VERR_SSM_UNEXPECTED_DATA) and re-derives the interrupt line. */
#define UART16550_SAVED_VERSION 1u
struct uart16550_saved {
    uint8_t rx[16];
    uint8_t rx_head, rx_count, rbr_last, ier, lcr, mcr, lsr, msr, scr, dll, dlm, rx_trigger;
    uint8_t fifo_on, thr_ipending;
    uint8_t pad[2];
};
void uart16550_save(struct uart16550 *uart, struct uart16550_saved *out);
int  uart16550_load(struct uart16550 *uart, const struct uart16550_saved *in);

#endif /* PETREL_UART16550_H */
