/*
 * virtio-console, one port (see virtio_console.h).
 */
#include "virtio_console.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>

#include "../console_backend.h"
#include "virtio.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define TX_CHUNK 4096u

struct virtio_console {
    struct virtio_pci *t;
    struct console_backend *be;
    bool attached, paused;
    pthread_mutex_t lock;                /* one request at a time; held while guest memory is used */
    struct vq_chain chain;
};

struct virtio_console *virtio_console_create(struct console_backend *be)
{
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->be = be;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

/* Back-end input: into the next receive buffer, or nothing (the back end keeps it). */
static size_t console_input(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *c = opaque;
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    if (!c->paused && virtio_pci_pop(c->t, RX_QUEUE, &c->chain) == 1) {
        size_t room = c->chain.in_bytes < len ? (size_t)c->chain.in_bytes : len;
        n = vq_chain_write(&c->chain, virtio_pci_ram(c->t), 0, buf, room);
        virtio_pci_push(c->t, RX_QUEUE, c->chain.head, (uint32_t)n);
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

int virtio_console_attach(struct virtio_console *c, struct virtio_pci *t)
{
    c->t = t;
    int rc = console_backend_attach(c->be, console_input, c);
    c->attached = RT_SUCCESS(rc);
    return rc;
}

void virtio_console_destroy(struct virtio_console *c)
{
    if (!c)
        return;
    if (c->attached)
        console_backend_detach(c->be);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void virtio_console_pause(struct virtio_console *c, bool paused)
{
    pthread_mutex_lock(&c->lock);
    c->paused = paused;
    pthread_mutex_unlock(&c->lock);
    if (!paused)
        console_backend_input_room(c->be);   /* input held meanwhile may come now */
}

static void transmit(struct virtio_console *c)
{
    uint8_t buf[TX_CHUNK];
    pthread_mutex_lock(&c->lock);
    while (virtio_pci_pop(c->t, TX_QUEUE, &c->chain) == 1) {
        for (uint64_t off = 0; off < c->chain.out_bytes;) {
            size_t n = vq_chain_read(&c->chain, virtio_pci_ram(c->t), off, buf, sizeof(buf));
            if (n == 0)
                break;
            console_backend_write(c->be, buf, n);
            off += n;
        }
        virtio_pci_push(c->t, TX_QUEUE, c->chain.head, 0);
    }
    pthread_mutex_unlock(&c->lock);
}

static void console_notify(void *dev, unsigned q)
{
    struct virtio_console *c = dev;
    if (q == TX_QUEUE)
        transmit(c);
    else
        console_backend_input_room(c->be);   /* new receive buffers: held input may come */
}

static void console_quiesce(void *dev)
{
    struct virtio_console *c = dev;
    pthread_mutex_lock(&c->lock);
    pthread_mutex_unlock(&c->lock);
}

/* cols, rows (no VIRTIO_CONSOLE_F_SIZE: 0), max_nr_ports 1, emerg_wr. */
static void console_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
    (void)dev;
    uint8_t cfg[VIRTIO_CONSOLE_CONFIG_SIZE] = { 0 };
    cfg[4] = 1;
    memcpy(buf, cfg + off, len);
}

const struct virtio_device_ops virtio_console_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,               /* communication, other */
    .num_queues = 2,
    .queue_size = 64,
    .config_size = VIRTIO_CONSOLE_CONFIG_SIZE,
    .config_read = console_config_read,
    .notify = console_notify,
    .quiesce = console_quiesce,
};
