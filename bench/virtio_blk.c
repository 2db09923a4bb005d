/*
 * bench/virtio_blk: the virtio-blk device model's own throughput, driven by
 * a C driver in guest RAM (no guest CPU: what Petrel adds per request on
 * top of the host's file I/O), beside the same reads done with preadv on
 * the host in the same run (the reference).  A 256 MiB image in the page
 * cache; 32 requests in flight; the driver sleeps until the device's
 * interrupt (INTx callback) as a guest would.  Both sides need a CPU:
 * on a loaded 2-core host the ratio drops with the load.
 *
 *   sequential 128 KiB reads: MiB/s, virtio-blk vs host preadv
 *   random 4 KiB reads:       IOPS,  virtio-blk vs host preadv
 *
 * usage: virtio_blk [MiB]   (default 256)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <vmm/err.h>

#include "../tests/virtio_driver.h"
#include "devices/virtio/virtio_blk.h"

#define DEPTH   32u

/* The driver sleeps until the device interrupts, as a guest would, instead of spinning. */
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t irq_cond = PTHREAD_COND_INITIALIZER;
static int irq_pending;

static void bench_irq(void *opaque, int level)
{
    (void)opaque;
    pthread_mutex_lock(&irq_lock);
    irq_pending = level;
    if (level)
        pthread_cond_signal(&irq_cond);
    pthread_mutex_unlock(&irq_lock);
}

static void wait_irq(struct drv *d)
{
    pthread_mutex_lock(&irq_lock);
    while (!irq_pending)
        pthread_cond_wait(&irq_cond, &irq_lock);
    pthread_mutex_unlock(&irq_lock);
    (void)drv_rd(d, VIRTIO_PCI_ISR, 1);         /* acknowledge: lowers the line */
}
#define QSIZE   128u
#define RAM_MIB 64u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_sector(bool random, uint64_t i, uint64_t sectors, uint32_t per)
{
    if (!random)
        return (i * per) % sectors;
    uint64_t x = i * UINT64_C(0x9E3779B97F4A7C15);
    return (x >> 20) % (sectors / per) * per;
}

/* Slot s uses descriptors 3s..3s+2, header and status at 0x200000 + 32 s, data at 0x400000 + s * len. */
static void prepare(struct drv *d, unsigned s, uint64_t sector, uint32_t len)
{
    uint64_t hdr_gpa = 0x200000 + 32u * s, data = 0x400000 + (uint64_t)s * len;
    uint32_t hdr[4] = { VIRTIO_BLK_T_IN, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
    guest_ram_write(&d->ram, hdr_gpa, hdr, sizeof(hdr));
    drv_desc(d, 3 * s, hdr_gpa, 16, VRING_DESC_F_NEXT, (uint16_t)(3 * s + 1));
    drv_desc(d, 3 * s + 1, data, len, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(3 * s + 2));
    drv_desc(d, 3 * s + 2, hdr_gpa + 16, 1, VRING_DESC_F_WRITE, 0);
    uint16_t head = (uint16_t)(3 * s);
    guest_ram_write(&d->ram, DRV_AVAIL + 4 + 2u * (d->avail_idx % d->qsize), &head, 2);
    d->avail_idx++;
}

/* Runs n reads of len bytes through the device; returns seconds. */
static double run_virtio(struct drv *d, uint64_t n, uint32_t len, uint64_t sectors, bool random)
{
    uint32_t per = len / 512;
    uint64_t issued = 0, done = 0;
    double t0 = now_s();
    for (unsigned s = 0; s < DEPTH && issued < n; s++)
        prepare(d, s, next_sector(random, issued++, sectors, per), len);
    drv_ring_store16(d, DRV_AVAIL + 2, d->avail_idx);
    drv_wr(d, VIRTIO_PCI_NOTIFY, 2, 0);
    while (done < n) {
        uint16_t used = drv_used_idx(d);
        if (used == d->used_seen) {
            wait_irq(d);
            continue;
        }
        while (d->used_seen != used) {
            uint32_t e[2];
            guest_ram_read(&d->ram, DRV_USED + 4 + 8u * (d->used_seen % d->qsize), e, sizeof(e));
            d->used_seen++;
            done++;
            if (issued < n)
                prepare(d, e[0] / 3, next_sector(random, issued++, sectors, per), len);
        }
        drv_ring_store16(d, DRV_AVAIL + 2, d->avail_idx);
        drv_wr(d, VIRTIO_PCI_NOTIFY, 2, 0);
    }
    return now_s() - t0;
}

static double run_host(int fd, uint64_t n, uint32_t len, uint64_t sectors, bool random, uint8_t *buf)
{
    uint32_t per = len / 512;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        struct iovec iov = { buf, len };
        if (preadv(fd, &iov, 1, (off_t)(next_sector(random, i, sectors, per) * 512)) != (ssize_t)len)
            exit(1);
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 256;
    char path[] = "/tmp/petrel-bench-vblk-XXXXXX", err[256];
    int fd = mkstemp(path);
    uint8_t *buf = malloc(1 << 20);
    for (uint64_t i = 0; i < mib; i++) {          /* real data, so the page cache holds it all */
        for (unsigned k = 0; k < (1 << 20); k++)
            buf[k] = (uint8_t)(i + k * 7);
        if (write(fd, buf, 1 << 20) != 1 << 20)
            return 1;
    }
    uint64_t sectors = mib << 11;
    struct drv d = { 0 };
    struct virtio_blk *b = NULL;
    if (RT_FAILURE(guest_ram_init(&d.ram, (uint64_t)RAM_MIB << 20, 0)) ||
        RT_FAILURE(virtio_blk_open(path, true, NULL, &b, err, sizeof(err))))
        return 1;
    d.t = virtio_pci_create(&virtio_blk_ops, b, virtio_blk_features(b), &d.ram, bench_irq, &d);
    virtio_blk_attach(b, d.t);
    drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_setup_queue(&d, 0, QSIZE);
    drv_driver_ok(&d);

    uint64_t n_seq = (mib << 20) / (128 << 10), n_rand = 100000;
    run_host(fd, n_seq, 128 << 10, sectors, false, buf);                  /* warm the cache */
    double hs = run_host(fd, n_seq, 128 << 10, sectors, false, buf);
    double vs = run_virtio(&d, n_seq, 128 << 10, sectors, false);
    double hr = run_host(fd, n_rand, 4096, sectors, true, buf);
    double vr = run_virtio(&d, n_rand, 4096, sectors, true);
    printf("virtio_blk: sequential 128 KiB reads: virtio-blk %.0f MiB/s, host preadv %.0f MiB/s, ratio %.2f\n",
           (double)mib / vs, (double)mib / hs, hs / vs);
    printf("virtio_blk: random 4 KiB reads: virtio-blk %.0f IOPS, host preadv %.0f IOPS, ratio %.2f\n",
           (double)n_rand / vr, (double)n_rand / hr, hr / vr);
    virtio_blk_close(b);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
    close(fd);
    unlink(path);
    free(buf);
    return 0;
}
