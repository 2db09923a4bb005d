/*
 * TAP interfaces for virtio-net (see virtio_net_tap.h).
 */
#include "virtio_net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio.h"
#include "virtio_net.h"

#define TAP_GUEST_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

/* Which of the offloads the tap takes: all, checksums only, or none.  Left at none:
 * the driver's negotiation decides (net_tap_apply_features). */
static unsigned probe_offloads(int fd)
{
    static const unsigned tries[] = { TAP_GUEST_OFFLOADS, TUN_F_CSUM };
    unsigned ok = 0;
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]) && !ok; i++)
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
            ok = tries[i];
    (void)ioctl(fd, TUNSETOFFLOAD, 0ul);
    return ok;
}

static bool attach(int fd, const char *name, bool vnet_hdr)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0));
    memcpy(ifr.ifr_name, name, strlen(name));
    return ioctl(fd, TUNSETIFF, &ifr) == 0;
}

bool net_tap_open(const char *name, bool offloads, struct net_tap *tap, char *err, size_t err_len)
{
    if (strlen(name) == 0 || strlen(name) >= IFNAMSIZ) {
        snprintf(err, err_len, "tap interface name '%s' must be 1 to %d characters", name, IFNAMSIZ - 1);
        return false;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open /dev/net/tun: %s", strerror(errno));
        return false;
    }
    unsigned features = 0;
    int hdr_size = (int)VIRTIO_NET_HDR_SIZE;
    bool vnet_hdr = offloads && ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR);
    if (!attach(fd, name, vnet_hdr)) {
        snprintf(err, err_len, "cannot open tap interface '%s': %s (creating one needs CAP_NET_ADMIN; "
                 "or create it with `ip tuntap add %s mode tap user USER`)", name, strerror(errno), name);
        close(fd);
        return false;
    }
    if (vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0) {
        snprintf(err, err_len, "tap interface '%s': cannot set the virtio header size: %s", name, strerror(errno));
        close(fd);
        return false;
    }
    tap->fd = fd;
    tap->vnet_hdr = vnet_hdr;
    tap->offloads = vnet_hdr ? probe_offloads(fd) : 0;
    return true;
}

uint64_t net_tap_features(const struct net_tap *tap)
{
    if (!tap->vnet_hdr)
        return 0;
    /* Whatever the guest sends, the tap's stack completes (checksum, segmentation). */
    uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
    if (tap->offloads & TUN_F_CSUM)
        f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    if (tap->offloads & TUN_F_TSO4)
        f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
    if (tap->offloads & TUN_F_TSO6)
        f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
    return f;
}

bool net_tap_apply_features(const struct net_tap *tap, uint64_t f)
{
    if (!tap->vnet_hdr)
        return true;
    unsigned long flags = 0;
    if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {      /* segmentation needs checksums too */
        flags |= TUN_F_CSUM;
        if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
            flags |= TUN_F_TSO4;
        if (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6))
            flags |= TUN_F_TSO6;
    }
    return ioctl(tap->fd, TUNSETOFFLOAD, flags & tap->offloads) == 0;
}
