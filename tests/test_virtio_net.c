/*
 * virtio-net on a TAP interface created by the test (needs CAP_NET_ADMIN:
 * skipped with the reason otherwise): a frame the driver transmits comes
 * out of the interface (an AF_PACKET socket on it sees it, without the
 * virtio header), a frame sent into the interface lands in the driver's
 * receive buffer behind a zero header, with num_buffers 1; a frame too big
 * for the buffer is dropped (length 0); the config has the MAC and link up;
 * the "none" back end swallows transmissions.  Offloads: a packet socket
 * with PACKET_VNET_HDR on the tap sees a TSO segment the driver sends whole,
 * with its GSO header; one sent into the tap reaches the driver whole when
 * it negotiated GUEST_TSO4, as three MSS-sized packets when it did not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
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
static void transmit_with(struct drv *d, const uint8_t *hdr, const uint8_t *frame, size_t len, uint16_t n)
{
    guest_ram_write(&d->ram, DRV_DATA + 0x8000, hdr, VIRTIO_NET_HDR_SIZE);
    guest_ram_write(&d->ram, DRV_DATA + 0x8000 + VIRTIO_NET_HDR_SIZE, frame, len);
    drv_desc_at(d, TXQ, 0, DRV_DATA + 0x8000, (uint32_t)(VIRTIO_NET_HDR_SIZE + len), 0, 0);
    uint16_t head = 0;
    guest_ram_write(&d->ram, TXQ + 0x1000 + 4 + 2u * ((n - 1) % 8), &head, 2);
    drv_ring_store16(d, TXQ + 0x1000 + 2, n);
    drv_wr(d, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
}

static void transmit(struct drv *d, const uint8_t *frame, size_t len, uint16_t n)
{
    static const uint8_t zero[VIRTIO_NET_HDR_SIZE] = { 0 };
    transmit_with(d, zero, frame, len, n);
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

static int open_packet_socket_for(const char *ifname, uint16_t ethertype)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    FILE *f = fopen(path, "w");                  /* no router solicitations or DAD on the wire */
    if (f) {
        fputs("1", f);
        fclose(f);
    }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ethertype));
    if (s < 0)
        return -1;
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        return -1;
    struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ethertype),
                             .sll_ifindex = (int)if_nametoindex(ifname) };
    if (!a.sll_ifindex || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    return s;
}

static int open_packet_socket(const char *ifname)
{
    return open_packet_socket_for(ifname, ETHERTYPE);
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

/* A looping transmit chain, then one near 4 GiB long: each marks the device NEEDS_RESET
 * (the I/O thread stays up and never reads outside guest RAM); after a reset it sends again. */
static void test_hostile_transmit_chains(void **state)
{
    (void)state;
    char err[256];
    struct virtio_net *n = NULL;
    assert_int_equal(virtio_net_create("none", mac, true, &n, err, sizeof(err)), VINF_SUCCESS);
    struct drv d = { 0 };
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    d.t = virtio_pci_create(&virtio_net_ops, n, virtio_net_features(n), &d.ram, drv_irq, &d);
    assert_int_equal(virtio_net_attach(n, d.t), VINF_SUCCESS);
    static const struct { uint32_t len; uint16_t flags; } bad[] = {
        { 100, VRING_DESC_F_NEXT },                      /* next = itself: a loop */
        { 0xFFFFFFF0u, 0 },                              /* far beyond guest RAM */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
        drv_setup_queue(&d, 0, 8);
        setup_tx_queue(&d);
        drv_driver_ok(&d);
        drv_desc_at(&d, TXQ, 0, DRV_DATA + 0x8000, bad[i].len, bad[i].flags, 0);
        uint16_t head = 0;
        guest_ram_write(&d.ram, TXQ + 0x1000 + 4, &head, 2);
        drv_ring_store16(&d, TXQ + 0x1000 + 2, 1);
        drv_wr(&d, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
        for (int t = 0; t < 500 && !(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET); t++)
            usleep(1000);
        assert_true(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
        assert_int_equal(tx_used(&d), 0);
    }
    drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_setup_queue(&d, 0, 8);
    setup_tx_queue(&d);
    drv_driver_ok(&d);
    uint8_t frame[64];
    transmit(&d, frame, make_frame(frame, mac, mac, "after the reset"), 1);
    for (int t = 0; t < 500 && tx_used(&d) != 1; t++)
        usleep(1000);
    assert_int_equal(tx_used(&d), 1);
    assert_false(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
    virtio_net_destroy(n);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
}

/* --- offloads: the virtio header through the tap --- */

#define TSO_PAYLOAD 3000u
#define TSO_MSS     1000u
#define TSO_HDRS    54u                  /* Ethernet 14 + IPv4 20 + TCP 20 */

/* An IPv4/TCP frame with a 3000-byte payload (one TSO segment, MSS 1000). */
static size_t make_tcp_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
    memset(f, 0, TSO_HDRS + TSO_PAYLOAD);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;                                    /* IPv4 */
    uint8_t *ip = f + 14, *tcp = f + 34;
    ip[0] = 0x45;
    ip[2] = (20 + 20 + TSO_PAYLOAD) >> 8;
    ip[3] = (20 + 20 + TSO_PAYLOAD) & 0xFF;
    ip[8] = 64;
    ip[9] = 6;                                       /* TCP */
    memcpy(ip + 12, (const uint8_t[]){ 10, 99, 0, 1, 10, 99, 0, 2 }, 8);
    tcp[0] = 0x30; tcp[1] = 0x39;                    /* ports 12345 -> 80 */
    tcp[3] = 80;
    tcp[12] = 5 << 4;
    tcp[13] = 0x18;                                  /* PSH ACK */
    for (unsigned i = 0; i < TSO_PAYLOAD; i++)
        f[TSO_HDRS + i] = (uint8_t)(i * 7);
    return TSO_HDRS + TSO_PAYLOAD;
}

/* virtio_net_hdr of a partially checksummed TCPv4 segment, MSS 1000. */
static void make_tso_header(uint8_t *h)
{
    memset(h, 0, VIRTIO_NET_HDR_SIZE);
    h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    h[2] = TSO_HDRS;                                 /* hdr_len */
    h[4] = TSO_MSS & 0xFF;                           /* gso_size */
    h[5] = TSO_MSS >> 8;
    h[6] = 34;                                       /* csum_start: the TCP header */
    h[8] = 16;                                       /* csum_offset: its checksum */
}

/* A packet socket on the tap that sees and sends the virtio header too (PACKET_VNET_HDR). */
static int open_vnet_packet_socket(const char *ifname)
{
    int s = open_packet_socket_for(ifname, ETH_P_ALL);
    int one = 1;
    if (s >= 0 && setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
        close(s);
        return -1;
    }
    return s;
}

struct offload_rig {
    struct virtio_net *n;
    struct drv d;
    int ps;
};

/* A tap with offloads, a packet socket on it, a driver that negotiated `features`. */
static bool offload_rig_up(struct offload_rig *r, uint64_t features, char tag)
{
    char ifname[16], backend[32], err[256];
    snprintf(ifname, sizeof(ifname), "ptv%c%d", tag, (int)(getpid() % 100000));
    snprintf(backend, sizeof(backend), "tap:%s", ifname);
    memset(r, 0, sizeof(*r));
    if (RT_FAILURE(virtio_net_create(backend, mac, true, &r->n, err, sizeof(err)))) {
        fprintf(stderr, "[  SKIP    ] %s\n", err);
        return false;
    }
    r->ps = open_vnet_packet_socket(ifname);
    if (r->ps < 0) {
        fprintf(stderr, "[  SKIP    ] cannot bring up %s or open a packet socket on it\n", ifname);
        virtio_net_destroy(r->n);
        return false;
    }
    assert_int_equal(guest_ram_init(&r->d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    r->d.t = virtio_pci_create(&virtio_net_ops, r->n, virtio_net_features(r->n), &r->d.ram, drv_irq, &r->d);
    assert_int_equal(virtio_net_attach(r->n, r->d.t), VINF_SUCCESS);
    assert_true(drv_negotiate(&r->d, features) & VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&r->d, 0, 8);
    setup_tx_queue(&r->d);
    drv_driver_ok(&r->d);
    return true;
}

static void offload_rig_down(struct offload_rig *r)
{
    virtio_net_destroy(r->n);
    virtio_pci_destroy(r->d.t);
    guest_ram_term(&r->d.ram);
    close(r->ps);
}

/* Guest -> host: the TSO segment leaves the tap as one packet with its header (the
 * host stack segments it later); returns after the device took the features in. */
static void tso_segment_goes_out_whole(struct offload_rig *r)
{
    static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
    uint8_t frame[TSO_HDRS + TSO_PAYLOAD], hdr[VIRTIO_NET_HDR_SIZE], got[8192];
    size_t len = make_tcp_frame(frame, dst, mac);
    make_tso_header(hdr);
    transmit_with(&r->d, hdr, frame, len, 1);
    for (;;) {
        struct pollfd p = { r->ps, POLLIN, 0 };
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = recv(r->ps, got, sizeof(got), 0);
        if (n != (ssize_t)(10 + len))                /* packet socket header: 10 bytes */
            continue;
        assert_int_equal(got[1], VIRTIO_NET_HDR_GSO_TCPV4);
        assert_int_equal(got[4] | got[5] << 8, TSO_MSS);
        assert_true(got[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM);
        assert_memory_equal(got + 10 + TSO_HDRS, frame + TSO_HDRS, TSO_PAYLOAD);
        break;
    }
    for (int i = 0; i < 500 && tx_used(&r->d) != 1; i++)
        usleep(1000);
    assert_int_equal(tx_used(&r->d), 1);
}

/* Host -> guest: the same segment sent into the tap; the driver's buffers (8 KiB). */
static void send_tso_segment_in(struct offload_rig *r)
{
    uint8_t pkt[10 + TSO_HDRS + TSO_PAYLOAD];
    static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    make_tso_header(pkt);                            /* the first 10 bytes are the same */
    make_tcp_frame(pkt + 10, mac, src);
    for (unsigned i = 0; i < 4; i++) {
        drv_desc(&r->d, i, DRV_DATA + 0x2000u * i, 0x2000, VRING_DESC_F_WRITE, 0);
        drv_submit(&r->d, 0, (uint16_t)i);
    }
    assert_int_equal(send(r->ps, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
}

/* The next received packet that is ours (TCP), its header in hdr; the length without the header. */
static int64_t next_tcp_packet(struct offload_rig *r, uint8_t *hdr)
{
    for (int tries = 0; tries < 8; tries++) {
        uint16_t id = 0;
        int64_t used = drv_wait_used(&r->d, &id);
        assert_true(used >= 0 && id < 4);
        uint8_t buf[VIRTIO_NET_HDR_SIZE + TSO_HDRS];
        guest_ram_read(&r->d.ram, DRV_DATA + 0x2000u * id, buf, sizeof(buf));
        if (used > (int64_t)sizeof(buf) && buf[VIRTIO_NET_HDR_SIZE + 12] == 0x08 && buf[VIRTIO_NET_HDR_SIZE + 23] == 6) {
            memcpy(hdr, buf, VIRTIO_NET_HDR_SIZE);
            return used - VIRTIO_NET_HDR_SIZE;
        }
    }
    return -1;
}

static const uint64_t base_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                                      VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
                                      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);

/* GUEST_TSO4 negotiated: the guest gets the 3000-byte segment whole, header and all. */
static void test_offloads_tso_both_ways(void **state)
{
    (void)state;
    struct offload_rig r;
    if (!offload_rig_up(&r, base_features | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4), 't'))
        skip();
    uint64_t offered = virtio_net_features(r.n);
    assert_true(offered & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
    assert_true(offered & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
    tso_segment_goes_out_whole(&r);
    send_tso_segment_in(&r);
    uint8_t hdr[VIRTIO_NET_HDR_SIZE];
    assert_int_equal(next_tcp_packet(&r, hdr), TSO_HDRS + TSO_PAYLOAD);
    assert_int_equal(hdr[VIRTIO_NET_HDR_GSO_TYPE], VIRTIO_NET_HDR_GSO_TCPV4);
    assert_int_equal(hdr[4] | hdr[5] << 8, TSO_MSS);
    assert_int_equal(hdr[VIRTIO_NET_HDR_NUM_BUFFERS], 1);
    offload_rig_down(&r);
}

/* Without GUEST_TSO4 the tap may not hand over big segments: the host segments them,
 * the guest gets three MSS-sized packets with no GSO in their headers. */
static void test_offloads_follow_negotiation(void **state)
{
    (void)state;
    struct offload_rig r;
    if (!offload_rig_up(&r, base_features, 'n'))
        skip();
    tso_segment_goes_out_whole(&r);
    send_tso_segment_in(&r);
    for (int i = 0; i < 3; i++) {
        uint8_t hdr[VIRTIO_NET_HDR_SIZE];
        assert_int_equal(next_tcp_packet(&r, hdr), TSO_HDRS + TSO_MSS);
        assert_int_equal(hdr[VIRTIO_NET_HDR_GSO_TYPE], VIRTIO_NET_HDR_GSO_NONE);
    }
    offload_rig_down(&r);
}

/* Offloads off (or a tap without IFF_VNET_HDR): no offload features, the header stays
 * inside Petrel both ways (covered for frames by test_tap_both_ways). */
static void test_offloads_off(void **state)
{
    (void)state;
    char ifname[16], backend[32], err[256];
    snprintf(ifname, sizeof(ifname), "ptvf%d", (int)(getpid() % 100000));
    snprintf(backend, sizeof(backend), "tap:%s", ifname);
    struct virtio_net *n = NULL;
    if (RT_FAILURE(virtio_net_create(backend, mac, false, &n, err, sizeof(err)))) {
        fprintf(stderr, "[  SKIP    ] %s\n", err);
        skip();
    }
    uint64_t f = virtio_net_features(n);
    assert_int_equal(f, VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS));
    virtio_net_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_both_ways),
        cmocka_unit_test(test_none_backend_and_errors),
        cmocka_unit_test(test_offloads_tso_both_ways),
        cmocka_unit_test(test_offloads_follow_negotiation),
        cmocka_unit_test(test_offloads_off),
        cmocka_unit_test(test_hostile_transmit_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
