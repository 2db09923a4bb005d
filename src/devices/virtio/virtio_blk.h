/*
 * virtio-blk (virtio 1.2 section 5.2) on a raw image file or block device.
 *
 * One request queue.  The vCPU that kicks only takes chains off the ring;
 * one I/O thread per disk executes them in order with preadv/pwritev
 * straight into guest memory, so a FLUSH (fdatasync) covers every write
 * completed before it and is acknowledged only after fdatasync returned.
 * Reset, power-off and destroy wait for requests in flight.  A host I/O
 * error becomes VIRTIO_BLK_S_IOERR for that request.
 *
 * Offered features: SEG_MAX, BLK_SIZE, FLUSH, and RO (read-only disks) or
 * DISCARD + WRITE_ZEROES (writable ones).
 */
#ifndef PETREL_VIRTIO_BLK_H
#define PETREL_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2

#define VIRTIO_BLK_ID_BYTES       20
#define VIRTIO_BLK_SECTOR         512u
#define VIRTIO_BLK_CONFIG_SIZE    60u

struct virtio_blk;

extern const struct virtio_device_ops virtio_blk_ops;

/* Opens the image (VBox status; err says why on failure).  serial may be NULL. */
int  virtio_blk_open(const char *path, bool read_only, const char *serial, struct virtio_blk **out,
                     char *err, size_t err_len);
/* Starts serving: the transport the device belongs to (VBox status). */
int  virtio_blk_attach(struct virtio_blk *b, struct virtio_pci *t);
uint64_t virtio_blk_features(const struct virtio_blk *b);
/* Waits until no request is in flight. */
void virtio_blk_drain(struct virtio_blk *b);
/* Drains, stops the I/O thread and closes the image. */
void virtio_blk_close(struct virtio_blk *b);

/* --- between virtio_blk.c and virtio_blk_req.c --- */
struct virtio_blk_disk {
    int fd;
    bool read_only;
    uint64_t sectors;
    char serial[VIRTIO_BLK_ID_BYTES];
};
/* Executes one request (a chain popped from the queue); returns bytes written to the guest. */
uint32_t virtio_blk_execute(const struct virtio_blk_disk *disk, struct virtio_pci *t, const struct vq_chain *c);

#endif /* PETREL_VIRTIO_BLK_H */
