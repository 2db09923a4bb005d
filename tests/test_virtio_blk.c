/*
 * virtio-blk through the virtio-pci transport, driven by a C driver that
 * builds virtqueues in guest RAM (tests/virtio_driver.h): PCI identity and
 * BAR sizing, feature negotiation, read/write/flush/get-id/discard/
 * write-zeroes, indirect descriptors, read-only disks, host I/O errors,
 * interrupts (ISR, INTx level, event index) and reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/virtio/virtio_blk.h"

#define SECTORS 64u

struct fx {
    struct drv d;
    struct virtio_blk *b;
    char path[64];
    bool ro;
};

static uint8_t pattern(unsigned sector, unsigned i) { return (uint8_t)(sector * 7 + i * 13 + 1); }

static int make_image(char *path)
{
    strcpy(path, "/tmp/petrel-vblk-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    uint8_t buf[512];
    for (unsigned s = 0; s < SECTORS; s++) {
        for (unsigned i = 0; i < 512; i++)
            buf[i] = pattern(s, i);
        if (write(fd, buf, 512) != 512)
            return -1;
    }
    close(fd);
    return 0;
}

static int open_fx(void **state, bool ro, const char *serial)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    f->ro = ro;
    if (!f || make_image(f->path) || RT_FAILURE(guest_ram_init(&f->d.ram, DRV_RAM_SIZE, 0)) ||
        RT_FAILURE(virtio_blk_open(f->path, ro, serial, &f->b, err, sizeof(err))))
        return -1;
    f->d.t = virtio_pci_create(&virtio_blk_ops, f->b, virtio_blk_features(f->b), &f->d.ram, drv_irq, &f->d);
    if (!f->d.t || RT_FAILURE(virtio_blk_attach(f->b, f->d.t)))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state) { return open_fx(state, false, "petrel-disk-0"); }
static int setup_ro(void **state) { return open_fx(state, true, NULL); }

static int teardown(void **state)
{
    struct fx *f = *state;
    virtio_blk_close(f->b);
    virtio_pci_destroy(f->d.t);
    guest_ram_term(&f->d.ram);
    unlink(f->path);
    free(f);
    return 0;
}

static const uint64_t base_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

static void start(struct fx *f, uint64_t extra)
{
    assert_int_equal(drv_negotiate(&f->d, base_features | extra) & VIRTIO_STATUS_FEATURES_OK,
                     VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&f->d, 0, 16);
    drv_driver_ok(&f->d);
}

/* header at DRV_DATA, data at DRV_DATA+0x1000 (len bytes), status at DRV_DATA+0x10; returns the status. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, int64_t *written)
{
    uint32_t hdr[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
    uint8_t status = 0xEE;
    guest_ram_write(&f->d.ram, DRV_DATA, hdr, sizeof(hdr));
    guest_ram_write(&f->d.ram, DRV_DATA + 0x10, &status, 1);
    uint16_t data_flags = type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
                          type == VIRTIO_BLK_T_WRITE_ZEROES ? 0 : VRING_DESC_F_WRITE;
    drv_desc(&f->d, 0, DRV_DATA, 16, VRING_DESC_F_NEXT, len ? 1 : 2);
    drv_desc(&f->d, 1, DRV_DATA + 0x1000, len, VRING_DESC_F_NEXT | data_flags, 2);
    drv_desc(&f->d, 2, DRV_DATA + 0x10, 1, VRING_DESC_F_WRITE, 0);
    drv_submit(&f->d, 0, 0);
    uint16_t id = 0xFFFF;
    int64_t w = drv_wait_used(&f->d, &id);
    assert_int_equal(id, 0);
    if (written)
        *written = w;
    guest_ram_read(&f->d.ram, DRV_DATA + 0x10, &status, 1);
    return status;
}

static void test_pci_identity_and_bar(void **state)
{
    struct fx *f = *state;
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x00, 2), 0x1AF4);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x02, 2), 0x1042);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x08, 1), 1);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x06, 2) & 0x10, 0x10);
    /* The vendor capabilities: common, notify, ISR, device, in a chain from 0x34. */
    unsigned types = 0;
    for (unsigned p = virtio_pci_config_read(f->d.t, 0x34, 1), n = 0; p && n < 8; n++) {
        assert_int_equal(virtio_pci_config_read(f->d.t, p, 1), 0x09);
        unsigned type = virtio_pci_config_read(f->d.t, p + 3, 1);
        types |= 1u << type;
        if (type == 2)
            assert_int_equal(virtio_pci_config_read(f->d.t, p + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
        p = virtio_pci_config_read(f->d.t, p + 1, 1);
    }
    assert_int_equal(types, 0x3E);
    /* The PCI_CFG window (at 0x84): device features and status through config space. */
    virtio_pci_config_write(f->d.t, 0x88, 1, 0);                /* BAR0 */
    virtio_pci_config_write(f->d.t, 0x8C, 4, 0x04);             /* device_feature */
    virtio_pci_config_write(f->d.t, 0x90, 4, 4);
    uint32_t low = (uint32_t)drv_device_features(&f->d);
    drv_wr(&f->d, 0x00, 4, 0);                                  /* device_feature_select 0 */
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x94, 4), low);
    virtio_pci_config_write(f->d.t, 0x8C, 4, 0x14);             /* device_status */
    virtio_pci_config_write(f->d.t, 0x90, 4, 1);
    virtio_pci_config_write(f->d.t, 0x94, 4, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(drv_status(&f->d), VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_pci_config_write(f->d.t, 0x8C, 4, VIRTIO_PCI_BAR_SIZE - 2);  /* past the BAR: nothing */
    virtio_pci_config_write(f->d.t, 0x90, 4, 4);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x94, 4), 0);
    /* BAR sizing: 16 KiB, 64-bit memory. */
    virtio_pci_config_write(f->d.t, 0x10, 4, 0xFFFFFFFF);
    virtio_pci_config_write(f->d.t, 0x14, 4, 0xFFFFFFFF);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x10, 4), 0xFFFFC004);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x14, 4), 0xFFFFFFFF);
    virtio_pci_config_write(f->d.t, 0x10, 4, 0xE0004000);
    virtio_pci_config_write(f->d.t, 0x14, 4, 0);
    uint64_t base = 0;
    assert_false(virtio_pci_bar_decodes(f->d.t, &base));       /* memory decoding off */
    virtio_pci_config_write(f->d.t, 0x04, 2, 0x0006);
    assert_true(virtio_pci_bar_decodes(f->d.t, &base));
    assert_int_equal(base, 0xE0004000);
}

static void test_feature_negotiation(void **state)
{
    struct fx *f = *state;
    uint64_t df = drv_device_features(&f->d);
    assert_true(df & VIRTIO_BIT(VIRTIO_F_VERSION_1));
    assert_true(df & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    assert_true(df & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
    assert_true(df & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
    assert_false(df & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    /* Without VERSION_1 (a legacy driver) or with bits not offered: FEATURES_OK does not stick. */
    assert_int_equal(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) & VIRTIO_STATUS_FEATURES_OK, 0);
    assert_int_equal(drv_negotiate(&f->d, base_features | VIRTIO_BIT(40)) & VIRTIO_STATUS_FEATURES_OK, 0);
    assert_int_equal(drv_negotiate(&f->d, base_features) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(virtio_pci_features(f->d.t), base_features);
    /* Config: capacity and block size. */
    assert_int_equal(drv_rd(&f->d, VIRTIO_PCI_DEVCFG, 8), SECTORS);
    assert_int_equal(drv_rd(&f->d, VIRTIO_PCI_DEVCFG + 20, 4), 512);
    assert_int_equal(drv_rd(&f->d, 0x12, 2), 1);                /* num_queues */
    assert_int_equal(drv_rd(&f->d, 0x10, 2), 0xFFFF);           /* no MSI-X vector */
}

static void test_read_sectors(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    int64_t written = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 5, 1024, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 1025);
    uint8_t buf[1024];
    guest_ram_read(&f->d.ram, DRV_DATA + 0x1000, buf, sizeof(buf));
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(buf[i], pattern(5 + i / 512, i % 512));
    /* Past the end of the disk: an I/O error, not a short read. */
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX / 256, 512, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, 77, 0, 512, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void test_write_flush_lands_in_file(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    uint8_t data[1536];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(0xA5 ^ i);
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, data, sizeof(data));
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 10, sizeof(data), NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
    int fd = open(f->path, O_RDONLY);
    uint8_t back[1536];
    assert_int_equal(pread(fd, back, sizeof(back), 10 * 512), sizeof(back));
    close(fd);
    assert_memory_equal(back, data, sizeof(data));
    /* And reads see it too. */
    memset(back, 0, sizeof(back));
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, back, sizeof(back));
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 10, sizeof(data), NULL), VIRTIO_BLK_S_OK);
    guest_ram_read(&f->d.ram, DRV_DATA + 0x1000, back, sizeof(back));
    assert_memory_equal(back, data, sizeof(data));
}

static void test_get_id(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    char id[21] = { 0 };
    int64_t written = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 21);
    guest_ram_read(&f->d.ram, DRV_DATA + 0x1000, id, 20);
    assert_string_equal(id, "petrel-disk-0");
}

static void test_discard_and_write_zeroes(void **state)
{
    struct fx *f = *state;
    start(f, VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    uint32_t seg[4] = { 20, 0, 3, 0 };                         /* sector 20, 3 sectors, no unmap */
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL), VIRTIO_BLK_S_OK);
    int fd = open(f->path, O_RDONLY);
    uint8_t back[5 * 512];
    assert_int_equal(pread(fd, back, sizeof(back), 19 * 512), sizeof(back));
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(back[i], pattern(19, i));              /* neighbours untouched */
        assert_int_equal(back[4 * 512 + i], pattern(23, i));
    }
    for (unsigned i = 512; i < 4 * 512; i++)
        assert_int_equal(back[i], 0);
    seg[0] = 30;
    seg[2] = 2;
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, NULL), VIRTIO_BLK_S_OK);
    seg[0] = SECTORS - 1;                                       /* beyond the end */
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, seg, sizeof(seg));
    assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, NULL), VIRTIO_BLK_S_IOERR);
    close(fd);
}

static void test_indirect_read(void **state)
{
    struct fx *f = *state;
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    uint32_t hdr[4] = { VIRTIO_BLK_T_IN, 0, 2, 0 };
    guest_ram_write(&f->d.ram, DRV_DATA, hdr, sizeof(hdr));
    /* Header, two scattered 512-byte buffers, status: all in one indirect table. */
    drv_desc_at(&f->d, DRV_INDIRECT, 0, DRV_DATA, 16, VRING_DESC_F_NEXT, 1);
    drv_desc_at(&f->d, DRV_INDIRECT, 1, DRV_DATA + 0x3000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    drv_desc_at(&f->d, DRV_INDIRECT, 2, DRV_DATA + 0x2000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
    drv_desc_at(&f->d, DRV_INDIRECT, 3, DRV_DATA + 0x10, 1, VRING_DESC_F_WRITE, 0);
    drv_desc(&f->d, 4, DRV_INDIRECT, 4 * 16, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 4);
    uint16_t id = 0;
    assert_int_equal(drv_wait_used(&f->d, &id), 1025);
    assert_int_equal(id, 4);
    uint8_t a[512], b[512], st = 0xEE;
    guest_ram_read(&f->d.ram, DRV_DATA + 0x3000, a, 512);
    guest_ram_read(&f->d.ram, DRV_DATA + 0x2000, b, 512);
    guest_ram_read(&f->d.ram, DRV_DATA + 0x10, &st, 1);
    assert_int_equal(st, VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(a[i], pattern(2, i));
        assert_int_equal(b[i], pattern(3, i));
    }
}

static void test_read_only(void **state)
{
    struct fx *f = *state;
    assert_true(drv_device_features(&f->d) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    start(f, VIRTIO_BIT(VIRTIO_BLK_F_RO));
    uint8_t data[512];
    memset(data, 0x5A, sizeof(data));
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, data, sizeof(data));
    assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 1, 512, NULL), VIRTIO_BLK_S_IOERR);
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(pread(fd, data, 512, 512), 512);
    close(fd);
    for (unsigned i = 0; i < 512; i++)
        assert_int_equal(data[i], pattern(1, i));
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, 512, NULL), VIRTIO_BLK_S_OK);
    /* No serial configured: GET_ID gives an empty (zero-filled) id. */
    char id[20];
    memset(id, 'x', sizeof(id));
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, id, sizeof(id));
    assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, NULL), VIRTIO_BLK_S_OK);
    guest_ram_read(&f->d.ram, DRV_DATA + 0x1000, id, sizeof(id));
    assert_int_equal(id[0], 0);
}

/* A host write that fails (the file-size limit: EFBIG) reaches the guest as IOERR. */
static void test_host_io_error(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t data[512] = { 1 };
    guest_ram_write(&f->d.ram, DRV_DATA + 0x1000, data, sizeof(data));
    uint8_t st = request(f, VIRTIO_BLK_T_OUT, 40, 512, NULL);    /* offset 20 KiB > 4 KiB */
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(st, VIRTIO_BLK_S_IOERR);
    /* The image shrinks under the VM: reads of the lost part fail instead of returning junk. */
    assert_int_equal(truncate(f->path, 8 * 512), 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 16, 512, NULL), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 4, 512, NULL), VIRTIO_BLK_S_OK);
}

static void test_interrupts_and_event_idx(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(f->d.irq_level, 1);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x06, 2) & 0x08, 0x08);   /* interrupt status */
    assert_int_equal(drv_rd(&f->d, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(f->d.irq_level, 0);
    assert_int_equal(drv_rd(&f->d, VIRTIO_PCI_ISR, 1), 0);
    /* NO_INTERRUPT in avail->flags: no interrupt. */
    drv_ring_store16(&f->d, DRV_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);
    assert_int_equal(f->d.irq_level, 0);

    /* Event index: used_event = 1 asks for an interrupt only when used idx passes 1. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
    drv_ring_store16(&f->d, DRV_AVAIL + 4 + 2 * 16, 1);          /* used_event */
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);    /* used idx 1 */
    assert_int_equal(f->d.irq_level, 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);    /* used idx 2 */
    assert_int_equal(f->d.irq_level, 1);
    uint16_t avail_event = 0;
    guest_ram_read(&f->d.ram, DRV_USED + 4 + 8 * 16, &avail_event, 2);
    assert_int_equal(avail_event, 2);                                                 /* the device asks for kicks */
    /* COMMAND.INTX_DISABLE masks the line. */
    virtio_pci_config_write(f->d.t, 0x04, 2, 0x0400);
    assert_int_equal(f->d.irq_level, 0);
    virtio_pci_config_write(f->d.t, 0x04, 2, 0);
    assert_int_equal(f->d.irq_level, 1);
}

static void test_reset(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
    drv_wr(&f->d, 0x14, 1, 0);
    assert_int_equal(drv_status(&f->d), 0);
    assert_int_equal(drv_rd(&f->d, 0x1C, 2), 0);                  /* queue disabled */
    assert_int_equal(f->d.irq_level, 0);
    assert_int_equal(virtio_pci_features(f->d.t), 0);
    /* A kick now does nothing; after a new setup the queue starts over at index 0. */
    drv_wr(&f->d, VIRTIO_PCI_NOTIFY, 2, 0);
    start(f, 0);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, 512, NULL), VIRTIO_BLK_S_OK);
    /* A machine reset does the same and keeps the BAR where it was. */
    virtio_pci_set_bar(f->d.t, 0xE0000000);
    virtio_pci_reset(f->d.t);
    assert_int_equal(drv_status(&f->d), 0);
    assert_int_equal(virtio_pci_config_read(f->d.t, 0x10, 4), 0xE0000004);
}

/* Save the transport mid-use, load it into a fresh device on the same disk and go on. */
static void test_saved_state(void **state)
{
    struct fx *f = *state;
    start(f, VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
    virtio_pci_set_bar(f->d.t, 0xE0004000);
    virtio_pci_config_write(f->d.t, 0x04, 2, 0x0006);
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 7, 512, NULL), VIRTIO_BLK_S_OK);
    struct virtio_pci_saved *saved = calloc(1, sizeof(*saved)), *bad = calloc(1, sizeof(*bad));
    virtio_pci_save(f->d.t, saved);

    char err[256];
    struct virtio_blk *b2 = NULL;
    assert_int_equal(virtio_blk_open(f->path, false, "petrel-disk-0", &b2, err, sizeof(err)), VINF_SUCCESS);
    struct virtio_pci *t2 = virtio_pci_create(&virtio_blk_ops, b2, virtio_blk_features(b2), &f->d.ram, drv_irq, &f->d);
    assert_int_equal(virtio_blk_attach(b2, t2), VINF_SUCCESS);
    /* Values a guest could not have produced are refused, and nothing changes. */
    struct { size_t off; uint8_t xor; } corrupt[] = {
        { offsetof(struct virtio_pci_saved, offered), 0x01 },
        { offsetof(struct virtio_pci_saved, driver_features) + 5, 0x80 },      /* a bit not offered */
        { offsetof(struct virtio_pci_saved, pci_config) + 0x02, 0x01 },        /* device id */
        { offsetof(struct virtio_pci_saved, device_config), 0x01 },            /* capacity: another disk */
        { offsetof(struct virtio_pci_saved, queues[0].size), 0x03 },           /* 16 -> 19 */
        { offsetof(struct virtio_pci_saved, queues[0].desc) + 3, 0x10 },       /* outside RAM */
        { offsetof(struct virtio_pci_saved, queues[1].enabled), 0x01 },        /* a queue blk does not have */
        { offsetof(struct virtio_pci_saved, isr), 0x80 },
    };
    for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        memcpy(bad, saved, sizeof(*bad));
        ((uint8_t *)bad)[corrupt[i].off] ^= corrupt[i].xor;
        if (virtio_pci_load(t2, bad) != VERR_SSM_UNEXPECTED_DATA)
            fail_msg("corruption %zu was accepted", i);
        assert_int_equal(virtio_pci_bar_read(t2, 0x14, 1), 0);
    }
    assert_int_equal(virtio_pci_load(t2, saved), VINF_SUCCESS);
    uint64_t base = 0;
    assert_true(virtio_pci_bar_decodes(t2, &base));
    assert_int_equal(base, 0xE0004000);
    assert_int_equal(virtio_pci_features(t2), virtio_pci_features(f->d.t));

    /* The loaded device continues the same rings: the next request is used element 1. */
    virtio_blk_close(f->b);
    virtio_pci_destroy(f->d.t);
    f->b = b2;
    f->d.t = t2;
    int64_t written = 0;
    assert_int_equal(request(f, VIRTIO_BLK_T_IN, 8, 512, &written), VIRTIO_BLK_S_OK);
    assert_int_equal(written, 513);
    assert_int_equal(drv_used_idx(&f->d), 2);
    uint8_t b[512];
    guest_ram_read(&f->d.ram, DRV_DATA + 0x1000, b, sizeof(b));
    assert_int_equal(b[100], pattern(8, 100));
    free(saved);
    free(bad);
}

/* A block device (a loop device on the image; skipped where loop devices cannot be set up). */
static void test_block_device(void **state)
{
    struct fx *f = *state;
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    int n = ctl >= 0 ? ioctl(ctl, LOOP_CTL_GET_FREE) : -1;
    char dev[32];
    snprintf(dev, sizeof(dev), "/dev/loop%d", n);
    int loop = n >= 0 ? open(dev, O_RDWR | O_CLOEXEC) : -1;
    int img = open(f->path, O_RDWR | O_CLOEXEC);
    if (loop < 0 || ioctl(loop, LOOP_SET_FD, img) < 0) {
        fprintf(stderr, "[  SKIP    ] no loop device to put the image on (%s)\n", strerror(errno));
        if (loop >= 0)
            close(loop);
        if (ctl >= 0)
            close(ctl);
        close(img);
        skip();
    }
    char err[256];
    struct virtio_blk *b = NULL;
    int rc = virtio_blk_open(dev, true, NULL, &b, err, sizeof(err));
    struct drv d = { 0 };
    if (RT_SUCCESS(rc)) {
        assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
        d.t = virtio_pci_create(&virtio_blk_ops, b, virtio_blk_features(b), &d.ram, drv_irq, &d);
        assert_int_equal(virtio_blk_attach(b, d.t), VINF_SUCCESS);
        rc = (int)drv_rd(&d, VIRTIO_PCI_DEVCFG, 8);             /* capacity in sectors */
        virtio_blk_close(b);
        virtio_pci_destroy(d.t);
        guest_ram_term(&d.ram);
    }
    ioctl(loop, LOOP_CLR_FD, 0);
    close(loop);
    close(ctl);
    close(img);
    if (rc != (int)SECTORS)
        fail_msg("%s: status or capacity %d (%s)", dev, rc, err);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct virtio_blk *b = NULL;
    char err[256];
    assert_int_equal(virtio_blk_open("/nonexistent/disk.img", false, NULL, &b, err, sizeof(err)), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(err, "/nonexistent/disk.img"));
    assert_int_equal(virtio_blk_open("/dev/null", false, NULL, &b, err, sizeof(err)), VERR_INVALID_PARAMETER);
    assert_int_equal(virtio_blk_open("/tmp", true, NULL, &b, err, sizeof(err)), VERR_INVALID_PARAMETER);
    assert_int_equal(virtio_blk_open("/dev/null", true, "123456789012345678901", &b, err, sizeof(err)),
                     VERR_INVALID_PARAMETER);
    assert_non_null(strstr(err, "20"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pci_identity_and_bar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_sectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_flush_lands_in_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_host_io_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupts_and_event_idx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_device, setup, teardown),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
