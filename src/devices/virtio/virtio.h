/*
 * Virtio 1.x constants shared by the transport, the virtqueues and the
 * device models (virtio spec 1.2: sections 2.1 status, 2.2 features,
 * 2.7 split virtqueues, 5 device types).
 */
#ifndef PETREL_VIRTIO_H
#define PETREL_VIRTIO_H

#include <stdint.h>

/* Device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE  0x01
#define VIRTIO_STATUS_DRIVER       0x02
#define VIRTIO_STATUS_DRIVER_OK    0x04
#define VIRTIO_STATUS_FEATURES_OK  0x08
#define VIRTIO_STATUS_NEEDS_RESET  0x40
#define VIRTIO_STATUS_FAILED       0x80

/* Transport and ring features (6) */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_BIT(f) (UINT64_C(1) << (f))

/* Device ids (5): the PCI device id is 0x1040 + id */
#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4

/* ISR status bits (4.1.4.5) */
#define VIRTIO_ISR_QUEUE   0x01
#define VIRTIO_ISR_CONFIG  0x02

#endif /* PETREL_VIRTIO_H */
