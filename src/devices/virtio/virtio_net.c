/*
 * virtio-net on TAP (see virtio_net.h): the back end, configuration and
 * the I/O thread.
 */
#include "virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmm/err.h>

#include "virtio.h"

#define RX_QUEUE 0
#define TX_QUEUE 1

struct virtio_net {
    struct virtio_pci *t;
    int tap;                             /* -1 for "none" */
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

static int open_tap(const char *name, char *err, size_t err_len)
{
    struct ifreq ifr;
    if (strlen(name) == 0 || strlen(name) >= sizeof(ifr.ifr_name)) {
        snprintf(err, err_len, "tap interface name '%s' must be 1 to %zu characters", name, sizeof(ifr.ifr_name) - 1);
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, err_len, "cannot open tap interface '%s': %s (creating one needs CAP_NET_ADMIN; "
                 "or create it with `ip tuntap add %s mode tap user USER`)", name, strerror(errno), name);
        close(fd);
        return -1;
    }
    return fd;
}

int virtio_net_create(const char *backend, const uint8_t mac[6], struct virtio_net **out, char *err, size_t err_len)
{
    int tap = -1;
    if (!strncmp(backend, "tap:", 4)) {
        tap = open_tap(backend + 4, err, err_len);
        if (tap < 0)
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
        if (tap >= 0)
            close(tap);
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
    (void)n;
    return VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
}

/* Everything the driver queued for sending: to the TAP (or nowhere). */
static void transmit(struct virtio_net *n)
{
    struct guest_ram *ram = virtio_pci_ram(n->t);
    while (virtio_pci_pop(n->t, TX_QUEUE, &n->chain) == 1) {
        size_t len = vq_chain_read(&n->chain, ram, VIRTIO_NET_HDR_SIZE, n->frame, VIRTIO_NET_MAX_FRAME);
        if (n->tap >= 0 && len > 0)
            (void)!write(n->tap, n->frame, len);  /* a full or down TAP drops it, as a wire would */
        virtio_pci_push(n->t, TX_QUEUE, n->chain.head, 0);
    }
}

/*
 * Packets waiting in the TAP into receive buffers (at most 64 per round).
 * Returns true when packets wait but the driver has no buffer left: then
 * the TAP is not polled until the next kick.
 */
static bool receive(struct virtio_net *n)
{
    for (int count = 0; count < 64; count++) {
        struct pollfd q = { n->tap, POLLIN, 0 };
        if (poll(&q, 1, 0) != 1)
            return false;
        if (virtio_pci_pop(n->t, RX_QUEUE, &n->chain) != 1)
            return true;
        ssize_t len = read(n->tap, n->frame + VIRTIO_NET_HDR_SIZE, VIRTIO_NET_MAX_FRAME);
        size_t total = VIRTIO_NET_HDR_SIZE + (size_t)(len > 0 ? len : 0);
        memset(n->frame, 0, VIRTIO_NET_HDR_SIZE);
        n->frame[10] = 1;                /* num_buffers */
        uint32_t written = 0;            /* 0: a dropped packet (too big for the buffer) */
        if (len > 0 && total <= n->chain.in_bytes)
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
        struct pollfd p[2] = { { n->kick, POLLIN, 0 }, { n->tap, rx_waiting ? 0 : POLLIN, 0 } };
        if (poll(p, n->tap >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            uint64_t v;
            (void)!read(n->kick, &v, sizeof(v));
            rx_waiting = false;          /* maybe new receive buffers: try again */
        }
        pthread_mutex_lock(&n->lock);
        bool stop = n->stop;
        if (!stop && !n->paused) {
            transmit(n);
            if (n->tap >= 0 && !rx_waiting)
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
    if (n->tap >= 0)
        close(n->tap);
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
