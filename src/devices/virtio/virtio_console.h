/*
 * virtio-console (virtio 1.2 section 5.3) with one port (no MULTIPORT):
 * receiveq 0 gets the console back end's input, transmitq 1 goes to its
 * output.  The back end (src/devices/console_backend.h: stdio, file:,
 * unix:, none) is the second console of a VM beside the 16550 UART;
 * Linux calls it /dev/hvc0.
 *
 * Input is delivered on the back end's thread into buffers the driver
 * queued; with none queued the back end holds the bytes until the driver
 * adds some (kick of queue 0).  Output is written on the kicking vCPU.
 */
#ifndef PETREL_VIRTIO_CONSOLE_H
#define PETREL_VIRTIO_CONSOLE_H

#include <stdbool.h>

#include "virtio_pci.h"

struct console_backend;
struct virtio_console;

#define VIRTIO_CONSOLE_CONFIG_SIZE 12u

extern const struct virtio_device_ops virtio_console_ops;

/* be stays the caller's: destroy the console first, then the back end. */
struct virtio_console *virtio_console_create(struct console_backend *be);
/* Starts taking input (VBox status). */
int  virtio_console_attach(struct virtio_console *c, struct virtio_pci *t);
/* While paused (VM suspended or off) no input is taken; it waits in the back end. */
void virtio_console_pause(struct virtio_console *c, bool paused);
void virtio_console_destroy(struct virtio_console *c);

#endif /* PETREL_VIRTIO_CONSOLE_H */
