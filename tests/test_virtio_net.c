/*
 * virtio-net on a TAP interface created by the test (needs CAP_NET_ADMIN:
 * skipped with the reason otherwise): a frame the driver transmits comes
 * out of the interface (an AF_PACKET socket on it sees it, without the
 * virtio header), a frame sent into the interface lands in the driver's
 * receive buffer behind a zero header, with num_buffers 1; a frame too big
 * for the buffer is dropped (length 0); the config has the MAC and link up;
 * the "none" back end swallows transmissions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/virtio/virtio_net.h"

#define TXQ        UINT64_C(0x40000)
#define ETHERTYPE  0x88B5                /* IEEE local experimental: nobody else sends it */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF };

static void setup_tx_queue(struct drv *d)
{
    uint8_t zero[0x3000] = { 0 };
    guest_ram_write(&d->ram, TXQ, zero, sizeof(zero));
    drv_wr(d, 0x16, 2, 1);
    drv_wr(d, 0x18, 2, 8);
    drv_wr(d, 0x20, 8, TXQ);
    drv_wr(d, 0x28, 8, TXQ + 0x1000);
    drv_wr(d, 0x30, 8, TXQ + 0x2000);
    drv_wr(d, 0x1C, 2, 1);
}

/* Header + frame in one buffer, as Linux sends it with VERSION_1. */
static void transmit(struct drv *d, const uint8_t *frame, size_t len, uint16_t n)
{
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
    guest_ram_write(&d->ram, DRV_DATA + 0x8000, hdr, sizeof(hdr));
    guest_ram_write(&d->ram, DRV_DATA + 0x8000 + sizeof(hdr), frame, len);
    drv_desc_at(d, TXQ, 0, DRV_DATA + 0x8000, (uint32_t)(sizeof(hdr) + len), 0, 0);
    uint16_t head = 0;
    guest_ram_write(&d->ram, TXQ + 0x1000 + 4 + 2u * ((n - 1) % 8), &head, 2);
    drv_ring_store16(d, TXQ + 0x1000 + 2, n);
    drv_wr(d, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
}

static uint16_t tx_used(struct drv *d)
{
    return __atomic_load_n((uint16_t *)guest_ram_ptr(&d->ram, TXQ + 0x2000 + 2, 2), __ATOMIC_SEQ_CST);
}

static size_t make_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, const char *payload)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = ETHERTYPE >> 8;
    f[13] = ETHERTYPE & 0xFF;
    size_t n = strlen(payload);
    memcpy(f + 14, payload, n);
    return 14 + n < 60 ? 60 : 14 + n;   /* minimum Ethernet frame (no FCS) */
}

static int open_packet_socket(const char *ifname)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    FILE *f = fopen(path, "w");                  /* no router solicitations or DAD on the wire */
    if (f) {
        fputs("1", f);
        fclose(f);
    }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE));
    if (s < 0)
        return -1;
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return -1;
    struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE),
                             .sll_ifindex = (int)if_nametoindex(ifname) };
    if (!a.sll_ifindex || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    return s;
}

static void test_tap_both_ways(void **state)
{
    (void)state;
    char ifname[16], backend[32], err[256];
    snprintf(ifname, sizeof(ifname), "ptvn%d", (int)(getpid() % 100000));
    snprintf(backend, sizeof(backend), "tap:%s", ifname);
    struct virtio_net *n = NULL;
    if (RT_FAILURE(virtio_net_create(backend, mac, true, &n, err, sizeof(err)))) {
        fprintf(stderr, "[  SKIP    ] %s\n", err);
        skip();
    }
    int ps = open_packet_socket(ifname);
    if (ps < 0) {
        fprintf(stderr, "[  SKIP    ] cannot bring up %s or open a packet socket on it\n", ifname);
        virtio_net_destroy(n);
        skip();
    }
    struct drv d = { 0 };
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    d.t = virtio_pci_create(&virtio_net_ops, n, virtio_net_features(n), &d.ram, drv_irq, &d);
    assert_int_equal(virtio_net_attach(n, d.t), VINF_SUCCESS);
    assert_int_equal(virtio_pci_config_read(d.t, 0x02, 2), 0x1041);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(drv_rd(&d, VIRTIO_PCI_DEVCFG + i, 1), mac[i]);
    assert_int_equal(drv_rd(&d, VIRTIO_PCI_DEVCFG + 6, 2), 1);          /* VIRTIO_NET_S_LINK_UP */
    assert_true(drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC)) &
                VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&d, 0, 8);
    setup_tx_queue(&d);
    drv_driver_ok(&d);

    /* Guest -> host. */
    uint8_t frame[128], got[2048];
    static const uint8_t bcast[6] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    size_t len = make_frame(frame, bcast, mac, "from the guest");
    transmit(&d, frame, len, 1);
    struct pollfd p = { ps, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(recv(ps, got, sizeof(got), 0), (ssize_t)len);
    assert_memory_equal(got, frame, len);
    for (int i = 0; i < 500 && tx_used(&d) != 1; i++)
        usleep(1000);
    assert_int_equal(tx_used(&d), 1);

    /* Host -> guest: into a 32-byte buffer the frame does not fit (dropped, length 0)... */
    static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    len = make_frame(frame, mac, host_mac, "from the host");
    drv_desc(&d, 0, DRV_DATA, 32, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 0);
    assert_int_equal(send(ps, frame, len, 0), (ssize_t)len);
    assert_int_equal(drv_wait_used(&d, NULL), 0);
    /* ...then again into a big one.  Anything else the kernel sends on the interface
     * (with IPv6 not switched off) is skipped. */
    assert_int_equal(send(ps, frame, len, 0), (ssize_t)len);
    int64_t used = -1;
    for (int tries = 0; tries < 16; tries++) {
        drv_desc(&d, 1, DRV_DATA + 0x1000, 1600, VRING_DESC_F_WRITE, 0);
        drv_submit(&d, 0, 1);
        used = drv_wait_used(&d, NULL);
        guest_ram_read(&d.ram, DRV_DATA + 0x1000, got, 1600);
        if (used == (int64_t)(VIRTIO_NET_HDR_SIZE + len) && !memcmp(got + VIRTIO_NET_HDR_SIZE, frame, len))
            break;
    }
    assert_int_equal(used, VIRTIO_NET_HDR_SIZE + len);
    uint8_t want_hdr[VIRTIO_NET_HDR_SIZE] = { [10] = 1 };
    assert_memory_equal(got, want_hdr, sizeof(want_hdr));
    assert_memory_equal(got + VIRTIO_NET_HDR_SIZE, frame, len);
    assert_int_equal(d.irq_level, 1);

    /* Paused (the VM is suspended): the frame waits in the TAP until the device goes on. */
    virtio_net_pause(n, true);
    uint16_t before = drv_used_idx(&d);
    drv_desc(&d, 1, DRV_DATA + 0x1000, 1600, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 1);
    assert_int_equal(send(ps, frame, len, 0), (ssize_t)len);
    usleep(50000);
    assert_int_equal(drv_used_idx(&d), before);
    virtio_net_pause(n, false);
    assert_true(drv_wait_used(&d, NULL) > 0);

    virtio_net_destroy(n);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
    close(ps);
}

static void test_none_backend_and_errors(void **state)
{
    (void)state;
    char err[256];
    struct virtio_net *n = NULL;
    assert_int_equal(virtio_net_create("udp:1.2.3.4", mac, true, &n, err, sizeof(err)), VERR_INVALID_PARAMETER);
    assert_non_null(strstr(err, "tap:NAME"));
    assert_int_equal(virtio_net_create("tap:this-name-is-far-too-long", mac, true, &n, err, sizeof(err)), VERR_OPEN_FAILED);
    uint8_t m[6];
    assert_true(virtio_net_parse_mac("52:54:00:12:34:56", m));
    assert_int_equal(m[5], 0x56);
    assert_false(virtio_net_parse_mac("53:54:00:12:34:56", m));             /* multicast */
    assert_false(virtio_net_parse_mac("52:54:00:12:34", m));
    assert_false(virtio_net_parse_mac("52:54:00:12:34:56:78", m));

    assert_int_equal(virtio_net_create("none", mac, true, &n, err, sizeof(err)), VINF_SUCCESS);
    struct drv d = { 0 };
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    d.t = virtio_pci_create(&virtio_net_ops, n, virtio_net_features(n), &d.ram, drv_irq, &d);
    assert_int_equal(virtio_net_attach(n, d.t), VINF_SUCCESS);
    drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_setup_queue(&d, 0, 8);
    setup_tx_queue(&d);
    drv_driver_ok(&d);
    uint8_t frame[64];
    transmit(&d, frame, make_frame(frame, mac, mac, "x"), 1);
    for (int i = 0; i < 500 && tx_used(&d) != 1; i++)
        usleep(1000);
    assert_int_equal(tx_used(&d), 1);
    virtio_net_destroy(n);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_both_ways),
        cmocka_unit_test(test_none_backend_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
