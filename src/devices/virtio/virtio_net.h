/*
 * virtio-net (virtio 1.2 section 5.1) on a TAP device or on nothing.
 *
 * One receive and one transmit queue, no control queue; features MAC and
 * STATUS (link always up) and, where the tap has IFF_VNET_HDR, the
 * checksum and TCP segmentation offloads both ways (virtio_net_tap.h):
 * the 12-byte virtio_net_hdr_v1 of each packet then goes to and comes
 * from the tap unchanged (num_buffers set to 1 on receive); without it
 * the header is dropped on transmit and zero on receive.  What the tap
 * may hand over follows the driver's negotiated GUEST_* features; a
 * packet the driver did not agree to (leftover from an earlier
 * negotiation) is dropped.
 *
 * Both directions run on one I/O thread per device ("virtio-net"): a kick
 * of either queue only wakes it (eventfd).  It sends what the driver
 * queued and reads the TAP while the driver has receive buffers; with
 * none, packets wait in the TAP's queue.  A packet bigger than the
 * receive buffer is dropped (the buffer comes back with length 0).
 *
 * Back ends: "tap:NAME" opens (or, with CAP_NET_ADMIN, creates) the TAP
 * interface NAME; "none" drops what is sent and receives nothing.
 */
#ifndef PETREL_VIRTIO_NET_H
#define PETREL_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_MAC      5
#define VIRTIO_NET_F_STATUS   16
#define VIRTIO_NET_HDR_SIZE   12u
#define VIRTIO_NET_CONFIG_SIZE 10u
#define VIRTIO_NET_MAX_FRAME  (65536u + 256u)   /* a 64 KiB TSO segment and its headers */

/* virtio_net_hdr_v1 fields (byte offsets) and values */
#define VIRTIO_NET_HDR_FLAGS       0
#define VIRTIO_NET_HDR_GSO_TYPE    1
#define VIRTIO_NET_HDR_NUM_BUFFERS 10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE    0
#define VIRTIO_NET_HDR_GSO_TCPV4   1
#define VIRTIO_NET_HDR_GSO_TCPV6   4

struct virtio_net;

extern const struct virtio_device_ops virtio_net_ops;

/* backend: "tap:NAME" or "none"; mac: 6 bytes; offloads false: a tap
 * without IFF_VNET_HDR (no offload features).  VBox status, err says why. */
int  virtio_net_create(const char *backend, const uint8_t mac[6], bool offloads, struct virtio_net **out,
                       char *err, size_t err_len);
/* Starts the I/O thread (VBox status). */
int  virtio_net_attach(struct virtio_net *n, struct virtio_pci *t);
uint64_t virtio_net_features(const struct virtio_net *n);
/* While paused (VM suspended or off: saved state must not change under the
 * saver) nothing is sent or received; packets wait in the TAP. */
void virtio_net_pause(struct virtio_net *n, bool paused);
/* Stops the thread and closes the TAP. */
void virtio_net_destroy(struct virtio_net *n);
/* "52:54:00:12:34:56" -> 6 bytes; false if malformed. */
bool virtio_net_parse_mac(const char *s, uint8_t mac[6]);

#endif /* PETREL_VIRTIO_NET_H */
