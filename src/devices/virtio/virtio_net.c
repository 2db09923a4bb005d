/*
 * virtio-net on TAP (see virtio_net.h): the back end, configuration and
 * the I/O thread.
 */
#include "virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vmm/err.h>

#include "virtio.h"
#include "virtio_net_tap.h"

#define RX_QUEUE 0
#define TX_QUEUE 1

struct virtio_net {
    struct virtio_pci *t;
    struct net_tap tap;                  /* fd -1 for "none" */
    uint64_t applied;                    /* driver features the tap's offloads follow */
    int kick;                            /* eventfd: a queue was kicked, or stop */
    uint8_t mac[6];
    pthread_t thread;
    bool thread_running, stop, paused;
    pthread_mutex_t lock;                /* held while the thread uses guest memory */
    struct vq_chain chain;
    uint8_t frame[VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME];
};

bool virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char end;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return strlen(s) == 17 && !(mac[0] & 1);         /* not a multicast address */
}

int virtio_net_create(const char *backend, const uint8_t mac[6], bool offloads, struct virtio_net **out,
                      char *err, size_t err_len)
{
    struct net_tap tap = { .fd = -1 };
    if (!strncmp(backend, "tap:", 4)) {
        if (!net_tap_open(backend + 4, offloads, &tap, err, err_len))
            return VERR_OPEN_FAILED;
    } else if (strcmp(backend, "none") != 0) {
        snprintf(err, err_len, "back end '%s' is not tap:NAME or none", backend);
        return VERR_INVALID_PARAMETER;
    }
    struct virtio_net *n = calloc(1, sizeof(*n));
    int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!n || kick < 0) {
        free(n);
        if (kick >= 0)
            close(kick);
        if (tap.fd >= 0)
            close(tap.fd);
        snprintf(err, err_len, "out of memory or file descriptors");
        return VERR_NO_MEMORY;
    }
    n->tap = tap;
    n->kick = kick;
    memcpy(n->mac, mac, 6);
    pthread_mutex_init(&n->lock, NULL);
    *out = n;
    return VINF_SUCCESS;
}

uint64_t virtio_net_features(const struct virtio_net *n)
{
    return VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) | net_tap_features(&n->tap);
}

/* The driver's (re)negotiated GUEST_* features decide what the tap may hand over. */
static void follow_features(struct virtio_net *n)
{
    uint64_t f = virtio_pci_features(n->t);
    if (f != n->applied && net_tap_apply_features(&n->tap, f))
        n->applied = f;
}

/* Everything the driver queued for sending: to the TAP (or nowhere).  With
 * the tap's virtio header the packet goes with its header; a chain too big
 * for any packet is dropped whole rather than cut. */
static void transmit(struct virtio_net *n)
{
    struct guest_ram *ram = virtio_pci_ram(n->t);
    size_t skip = n->tap.vnet_hdr ? 0 : VIRTIO_NET_HDR_SIZE;
    while (virtio_pci_pop(n->t, TX_QUEUE, &n->chain) == 1) {
        uint64_t total = n->chain.out_bytes;
        if (n->tap.fd >= 0 && total > VIRTIO_NET_HDR_SIZE && total <= sizeof(n->frame)) {
            size_t len = vq_chain_read(&n->chain, ram, skip, n->frame, (size_t)total - skip);
            (void)!write(n->tap.fd, n->frame, len);  /* a full or down TAP drops it, as a wire would */
        }
        virtio_pci_push(n->t, TX_QUEUE, n->chain.head, 0);
    }
}

/* May the driver see this header?  Only offloads it negotiated. */
static bool header_acceptable(const uint8_t *hdr, uint64_t f)
{
    if ((hdr[VIRTIO_NET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
        return false;
    switch (hdr[VIRTIO_NET_HDR_GSO_TYPE]) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return true;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        return f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
    case VIRTIO_NET_HDR_GSO_TCPV6:
        return f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
    default:
        return false;
    }
}

/* One packet from the TAP behind its header; 0 if none could be read or the driver may not see it. */
static size_t read_packet(struct virtio_net *n)
{
    size_t hdr = n->tap.vnet_hdr ? 0 : VIRTIO_NET_HDR_SIZE;
    ssize_t len = read(n->tap.fd, n->frame + hdr, sizeof(n->frame) - hdr);
    if (len <= 0 || (size_t)len + hdr <= VIRTIO_NET_HDR_SIZE)
        return 0;
    if (hdr)
        memset(n->frame, 0, VIRTIO_NET_HDR_SIZE);
    else if (!header_acceptable(n->frame, n->applied))
        return 0;
    if (!(n->applied & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
        n->frame[VIRTIO_NET_HDR_FLAGS] &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
    n->frame[VIRTIO_NET_HDR_NUM_BUFFERS] = 1;    /* the tap leaves these two bytes alone */
    n->frame[VIRTIO_NET_HDR_NUM_BUFFERS + 1] = 0;
    return (size_t)len + hdr;
}

/*
 * Packets waiting in the TAP into receive buffers (at most 64 per round).
 * Returns true when packets wait but the driver has no buffer left: then
 * the TAP is not polled until the next kick.
 */
static bool receive(struct virtio_net *n)
{
    for (int count = 0; count < 64; count++) {
        struct pollfd q = { n->tap.fd, POLLIN, 0 };
        if (poll(&q, 1, 0) != 1)
            return false;
        if (virtio_pci_pop(n->t, RX_QUEUE, &n->chain) != 1)
            return true;
        size_t total = read_packet(n);
        uint32_t written = 0;            /* 0: a dropped packet (too big for the buffer) */
        if (total && total <= n->chain.in_bytes)
            written = (uint32_t)vq_chain_write(&n->chain, virtio_pci_ram(n->t), 0, n->frame, total);
        virtio_pci_push(n->t, RX_QUEUE, n->chain.head, written);
    }
    return false;
}

static void *io_thread(void *opaque)
{
    struct virtio_net *n = opaque;
    bool rx_waiting = false;
    for (;;) {
        struct pollfd p[2] = { { n->kick, POLLIN, 0 }, { n->tap.fd, rx_waiting ? 0 : POLLIN, 0 } };
        if (poll(p, n->tap.fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            uint64_t v;
            (void)!read(n->kick, &v, sizeof(v));
            rx_waiting = false;          /* maybe new receive buffers: try again */
        }
        pthread_mutex_lock(&n->lock);
        bool stop = n->stop;
        if (!stop && !n->paused) {
            follow_features(n);
            transmit(n);
            if (n->tap.fd >= 0 && !rx_waiting)
                rx_waiting = receive(n);
        }
        pthread_mutex_unlock(&n->lock);
        if (stop)
            break;
    }
    return NULL;
}

int virtio_net_attach(struct virtio_net *n, struct virtio_pci *t)
{
    n->t = t;
    if (pthread_create(&n->thread, NULL, io_thread, n))
        return VERR_NO_MEMORY;
    pthread_setname_np(n->thread, "virtio-net");
    n->thread_running = true;
    return VINF_SUCCESS;
}

static void wake(struct virtio_net *n)
{
    uint64_t one = 1;
    (void)!write(n->kick, &one, sizeof(one));
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    if (n->thread_running) {
        pthread_mutex_lock(&n->lock);
        n->stop = true;
        pthread_mutex_unlock(&n->lock);
        wake(n);
        pthread_join(n->thread, NULL);
    }
    if (n->tap.fd >= 0)
        close(n->tap.fd);
    close(n->kick);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

void virtio_net_pause(struct virtio_net *n, bool paused)
{
    pthread_mutex_lock(&n->lock);                /* waits for a round in progress */
    n->paused = paused;
    pthread_mutex_unlock(&n->lock);
    if (!paused)
        wake(n);
}

static void net_notify(void *dev, unsigned q)
{
    (void)q;
    wake(dev);
}

static void net_quiesce(void *dev)
{
    struct virtio_net *n = dev;
    pthread_mutex_lock(&n->lock);
    pthread_mutex_unlock(&n->lock);
}

/* mac[6], status (LINK_UP), max_virtqueue_pairs (1). */
static void net_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
    const struct virtio_net *n = dev;
    uint8_t c[VIRTIO_NET_CONFIG_SIZE] = { 0 };
    memcpy(c, n->mac, 6);
    c[6] = 1;
    c[8] = 1;
    memcpy(buf, c + off, len);
}

const struct virtio_device_ops virtio_net_ops = {
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000,               /* network, Ethernet */
    .num_queues = 2,
    .queue_size = 256,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .config_read = net_config_read,
    .notify = net_notify,
    .quiesce = net_quiesce,
};
