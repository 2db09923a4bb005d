/*
 * virtio-blk: the image, the device configuration and the I/O thread
 * (see virtio_blk.h).  Requests themselves are in virtio_blk_req.c.
 */
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmm/err.h>

#include "../../core/adaptive_poll.h"
#include "../../core/sem_event.h"

#include "virtio.h"

#define BLK_SEG_MAX     (VQ_MAX_SIZE - 2)   /* header and status take two descriptors */
#define BLK_QUEUE_SIZE  VQ_MAX_SIZE

struct blk_req {
    struct blk_req *next;
    struct vq_chain chain;
};

struct virtio_blk {
    struct virtio_blk_disk disk;
    struct virtio_pci *t;
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    struct blk_req *head, **tail;
    struct blk_req *spare;                /* done requests for reuse (each holds an 8 KiB chain) */
    atomic_uint queued;                   /* bumped by each queueing: the I/O thread polls it */
    struct adaptive_poll poll;            /* the I/O thread's spin before it sleeps */
    unsigned in_flight;                   /* queued, executing, or being popped */
    bool stop;
};

static int image_size(int fd, uint64_t *bytes)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    *bytes = (uint64_t)st.st_size;
    return 0;
}

int virtio_blk_open(const char *path, bool read_only, const char *serial, struct virtio_blk **out,
                    char *err, size_t err_len)
{
    if (serial && strlen(serial) > VIRTIO_BLK_ID_BYTES) {
        snprintf(err, err_len, "serial '%s' is longer than %d characters", serial, VIRTIO_BLK_ID_BYTES);
        return VERR_INVALID_PARAMETER;
    }
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open disk image '%s'%s: %s", path, read_only ? " (read-only)" : "",
                 strerror(errno));
        return errno == ENOENT ? VERR_FILE_NOT_FOUND : VERR_ACCESS_DENIED;
    }
    uint64_t bytes = 0;
    int e = image_size(fd, &bytes);
    if (e < 0 || bytes < VIRTIO_BLK_SECTOR) {
        snprintf(err, err_len, "disk image '%s' %s", path,
                 e == -EINVAL ? "is neither a regular file nor a block device"
                 : e < 0 ? strerror(-e) : "is smaller than one 512-byte sector");
        close(fd);
        return VERR_INVALID_PARAMETER;
    }
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b) {
        close(fd);
        snprintf(err, err_len, "out of memory");
        return VERR_NO_MEMORY;
    }
    b->disk.fd = fd;
    b->disk.read_only = read_only;
    b->disk.sectors = bytes / VIRTIO_BLK_SECTOR;
    if (serial) {                         /* 20 bytes, NUL-padded, not terminated when full (5.2.6) */
        char id[VIRTIO_BLK_ID_BYTES + 1] = { 0 };
        snprintf(id, sizeof(id), "%s", serial);
        memcpy(b->disk.serial, id, VIRTIO_BLK_ID_BYTES);
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->idle, NULL);
    b->tail = &b->head;
    *out = b;
    return VINF_SUCCESS;
}

uint64_t virtio_blk_features(const struct virtio_blk *b)
{
    uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
    if (b->disk.read_only)
        return f | VIRTIO_BIT(VIRTIO_BLK_F_RO);
    return f | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
}

/* One request done (or none popped after all): wake drainers at zero. */
static void request_done(struct virtio_blk *b)
{
    pthread_mutex_lock(&b->lock);
    if (--b->in_flight == 0)
        pthread_cond_broadcast(&b->idle);
    pthread_mutex_unlock(&b->lock);
}

/* Until a request is queued or the thread must stop (lock held).  A spin
 * first: the guest's next request often follows a completion closely, and
 * then neither its vCPU nor this thread pays for a futex wake-up. */
static void wait_for_work(struct virtio_blk *b)
{
    if (b->head || b->stop)
        return;
    unsigned seen = atomic_load(&b->queued);
    pthread_mutex_unlock(&b->lock);
    bool came = adaptive_poll_spin(&b->poll, &b->queued, seen);
    pthread_mutex_lock(&b->lock);
    if (came)
        return;
    uint64_t t0 = time_now_ns();
    while (!b->head && !b->stop)
        pthread_cond_wait(&b->work, &b->lock);
    adaptive_poll_adapt(&b->poll, time_now_ns() - t0);
}

/* Takes the whole queue at a time: one lock round per batch, not per request. */
static void *io_thread(void *opaque)
{
    struct virtio_blk *b = opaque;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        wait_for_work(b);
        struct blk_req *r = b->head;
        if (!r)
            break;                        /* stop, and nothing left */
        b->head = NULL;
        b->tail = &b->head;
        pthread_mutex_unlock(&b->lock);
        unsigned done = 0;
        struct blk_req *last = r;
        for (struct blk_req *q = r; q; q = q->next) {
            uint32_t written = virtio_blk_execute(&b->disk, b->t, &q->chain);
            virtio_pci_push(b->t, 0, q->chain.head, written);
            done++;
            last = q;
        }
        pthread_mutex_lock(&b->lock);
        last->next = b->spare;            /* the batch goes to the spares */
        b->spare = r;
        b->in_flight -= done;
        if (b->in_flight == 0)
            pthread_cond_broadcast(&b->idle);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int virtio_blk_attach(struct virtio_blk *b, struct virtio_pci *t)
{
    b->t = t;
    if (pthread_create(&b->thread, NULL, io_thread, b))
        return VERR_NO_MEMORY;
    pthread_setname_np(b->thread, "virtio-blk");
    b->thread_running = true;
    return VINF_SUCCESS;
}

/*
 * The kick: take every available chain and queue it for the I/O thread.
 * in_flight counts a request before it is popped, so a reset that drains
 * cannot slip between the pop and the queueing.
 */
static void blk_notify(void *dev, unsigned q)
{
    struct virtio_blk *b = dev;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        struct blk_req *r = b->spare;
        if (r) {
            b->spare = r->next;
        }
        b->in_flight++;
        pthread_mutex_unlock(&b->lock);
        if (!r && !(r = malloc(sizeof(*r)))) {
            request_done(b);
            virtio_pci_set_broken(b->t, "out of host memory");
            return;
        }
        if (virtio_pci_pop(b->t, q, &r->chain) != 1) {
            pthread_mutex_lock(&b->lock);
            r->next = b->spare;
            b->spare = r;
            pthread_mutex_unlock(&b->lock);
            request_done(b);
            return;
        }
        r->next = NULL;
        pthread_mutex_lock(&b->lock);
        *b->tail = r;
        b->tail = &r->next;
        atomic_fetch_add(&b->queued, 1);
        pthread_cond_signal(&b->work);    /* no system call while the thread spins */
        pthread_mutex_unlock(&b->lock);
    }
}

void virtio_blk_drain(struct virtio_blk *b)
{
    pthread_mutex_lock(&b->lock);
    while (b->in_flight)
        pthread_cond_wait(&b->idle, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

void virtio_blk_close(struct virtio_blk *b)
{
    if (!b)
        return;
    if (b->thread_running) {
        virtio_blk_drain(b);
        pthread_mutex_lock(&b->lock);
        b->stop = true;
        pthread_cond_signal(&b->work);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
    }
    while (b->spare) {
        struct blk_req *next = b->spare->next;
        free(b->spare);
        b->spare = next;
    }
    close(b->disk.fd);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->idle);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static void put32(uint8_t *p, unsigned off, uint32_t v) { memcpy(p + off, &v, 4); }

static void blk_config_read(void *dev, unsigned off, void *buf, unsigned len)
{
    const struct virtio_blk *b = dev;
    uint8_t c[VIRTIO_BLK_CONFIG_SIZE] = { 0 };
    memcpy(c, &b->disk.sectors, 8);                 /* capacity */
    put32(c, 12, BLK_SEG_MAX);                      /* seg_max */
    put32(c, 20, VIRTIO_BLK_SECTOR);                /* blk_size */
    put32(c, 36, UINT32_MAX / VIRTIO_BLK_SECTOR);   /* max_discard_sectors */
    put32(c, 40, 1);                                /* max_discard_seg */
    put32(c, 44, 1);                                /* discard_sector_alignment */
    put32(c, 48, UINT32_MAX / VIRTIO_BLK_SECTOR);   /* max_write_zeroes_sectors */
    put32(c, 52, 1);                                /* max_write_zeroes_seg */
    c[56] = 1;                                      /* write_zeroes_may_unmap */
    memcpy(buf, c + off, len);
}

static void blk_quiesce(void *dev)
{
    virtio_blk_drain(dev);
}

const struct virtio_device_ops virtio_blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = 0x018000,                          /* mass storage, other */
    .num_queues = 1,
    .queue_size = BLK_QUEUE_SIZE,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .config_read = blk_config_read,
    .notify = blk_notify,
    .quiesce = blk_quiesce,
};
