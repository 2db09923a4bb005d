/*
 * virtio-blk requests (virtio 1.2 section 5.2.6): a 16-byte header in the
 * readable part, data, and a status byte as the last writable byte.
 * Data moves with preadv/pwritev directly between the image and guest RAM
 * (every buffer was checked against guest RAM when the chain was popped).
 * Runs on the disk's I/O thread.
 */
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../memory/guest_ram.h"

#define IOV_MAX_SEGS VQ_CHAIN_MAX
#define ZERO_CHUNK   65536u

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct blk_range {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

/* iovecs for the bytes [skip, skip+len) of buffers [first, first+count) of the chain. */
static int chain_iov(const struct vq_chain *c, struct guest_ram *ram, unsigned first, unsigned count,
                     uint64_t skip, uint64_t len, struct iovec *iov)
{
    int n = 0;
    for (unsigned i = first; i < first + count && len > 0; i++) {
        const struct vq_buf *b = &c->buf[i];
        if (skip >= b->len) {
            skip -= b->len;
            continue;
        }
        uint64_t take = b->len - skip < len ? b->len - skip : len;
        iov[n].iov_base = guest_ram_ptr(ram, b->gpa + skip, take);
        iov[n].iov_len = (size_t)take;
        if (!iov[n].iov_base)
            return -1;                    /* cannot happen: checked at pop */
        n++;
        len -= take;
        skip = 0;
    }
    return len ? -1 : n;
}

/* preadv/pwritev until all is done; false on an error or an unexpected end of file. */
static bool transfer(int fd, struct iovec *iov, int n, uint64_t offset, bool write)
{
    while (n > 0) {
        ssize_t done = write ? pwritev(fd, iov, n, (off_t)offset) : preadv(fd, iov, n, (off_t)offset);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return false;
        offset += (uint64_t)done;
        while (n > 0 && (size_t)done >= iov->iov_len) {
            done -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
    return true;
}

static bool in_range(const struct virtio_blk_disk *d, uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes / VIRTIO_BLK_SECTOR;
    return bytes % VIRTIO_BLK_SECTOR == 0 && sector <= d->sectors && n <= d->sectors - sector;
}

static uint8_t do_rw(const struct virtio_blk_disk *d, struct guest_ram *ram, const struct vq_chain *c,
                     const struct blk_header *h, bool write, uint32_t *written)
{
    static __thread struct iovec iov[IOV_MAX_SEGS];
    uint64_t len = write ? c->out_bytes - sizeof(*h) : c->in_bytes - 1;
    if (write && d->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (!in_range(d, h->sector, len))
        return VIRTIO_BLK_S_IOERR;
    int n = write ? chain_iov(c, ram, 0, c->n_out, sizeof(*h), len, iov)
                  : chain_iov(c, ram, c->n_out, c->n_in, 0, len, iov);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    if (!transfer(d->fd, iov, n, h->sector * VIRTIO_BLK_SECTOR, write))
        return VIRTIO_BLK_S_IOERR;
    if (!write) {
        for (unsigned i = c->n_out; i < c->n_out + c->n_in; i++)
            guest_ram_mark_dirty(ram, c->buf[i].gpa, c->buf[i].len);
        *written = (uint32_t)len;
    }
    return VIRTIO_BLK_S_OK;
}

static bool write_zeroes(int fd, uint64_t off, uint64_t len)
{
    static const uint8_t zero[ZERO_CHUNK];
    if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return true;
    while (len > 0) {
        size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
        ssize_t w = pwrite(fd, zero, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return true;
}

/* DISCARD and WRITE_ZEROES: one segment (max_*_seg = 1). */
static uint8_t do_range(const struct virtio_blk_disk *d, struct guest_ram *ram, const struct vq_chain *c,
                        uint32_t type)
{
    struct blk_range r;
    if (d->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (c->out_bytes != sizeof(struct blk_header) + sizeof(r) ||
        vq_chain_read(c, ram, sizeof(struct blk_header), &r, sizeof(r)) != sizeof(r))
        return VIRTIO_BLK_S_UNSUPP;
    if (r.flags & ~1u || !in_range(d, r.sector, (uint64_t)r.num_sectors * VIRTIO_BLK_SECTOR))
        return VIRTIO_BLK_S_IOERR;
    uint64_t off = r.sector * VIRTIO_BLK_SECTOR, len = (uint64_t)r.num_sectors * VIRTIO_BLK_SECTOR;
    if (type == VIRTIO_BLK_T_WRITE_ZEROES)
        return write_zeroes(d->fd, off, len) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    /* Discard is a hint: a file system that cannot punch holes just keeps the data. */
    (void)fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_request(const struct virtio_blk_disk *d, struct guest_ram *ram, const struct vq_chain *c,
                          const struct blk_header *h, uint32_t *written)
{
    switch (h->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return do_rw(d, ram, c, h, h->type == VIRTIO_BLK_T_OUT, written);
    case VIRTIO_BLK_T_FLUSH:
        return fdatasync(d->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = c->in_bytes - 1 < VIRTIO_BLK_ID_BYTES ? (size_t)c->in_bytes - 1 : VIRTIO_BLK_ID_BYTES;
        *written = (uint32_t)vq_chain_write(c, ram, 0, d->serial, n);
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return do_range(d, ram, c, h->type);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

uint32_t virtio_blk_execute(const struct virtio_blk_disk *d, struct virtio_pci *t, const struct vq_chain *c)
{
    struct guest_ram *ram = virtio_pci_ram(t);
    struct blk_header h;
    if (c->in_bytes == 0 || c->out_bytes < sizeof(h) || vq_chain_read(c, ram, 0, &h, sizeof(h)) != sizeof(h)) {
        virtio_pci_set_broken(t, "virtio-blk request without header or status byte");
        return 0;
    }
    uint32_t written = 0;
    uint8_t status = do_request(d, ram, c, &h, &written);
    vq_chain_write(c, ram, c->in_bytes - 1, &status, 1);
    return written + 1;
}
