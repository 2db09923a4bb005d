/*
 * The TAP side of virtio-net: opening (or creating) the interface and its
 * offloads.  With IFF_VNET_HDR the kernel and the guest exchange packets
 * behind the same 12-byte virtio_net_hdr_v1 (TUNSETVNETHDRSZ), so checksum
 * and segmentation offloads pass straight through: the guest may send
 * partially checksummed 64 KiB TCP segments (the tap's host stack finishes
 * them) and, when TUNSETOFFLOAD allows it, receives such packets too.
 * A tap without IFF_VNET_HDR works too, without offloads.
 */
#ifndef PETREL_VIRTIO_NET_TAP_H
#define PETREL_VIRTIO_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_tap {
    int fd;
    bool vnet_hdr;               /* packets carry the virtio header both ways */
    unsigned offloads;           /* TUN_F_* the tap accepted when probed */
};

/* Opens or creates tap NAME, non-blocking; offloads false: no IFF_VNET_HDR.
 * Returns false with the reason in err. */
bool net_tap_open(const char *name, bool offloads, struct net_tap *tap, char *err, size_t err_len);
/* The VIRTIO_NET_F_* offload features the tap can serve. */
uint64_t net_tap_features(const struct net_tap *tap);
/* What the tap may hand over, from the driver's negotiated features
 * (TUNSETOFFLOAD); false if the kernel refused. */
bool net_tap_apply_features(const struct net_tap *tap, uint64_t driver_features);

#endif /* PETREL_VIRTIO_NET_TAP_H */
