/*
 * Hostile virtqueues: a driver that breaks the split-ring rules (loops,
 * out-of-range indices and addresses, lengths near 2^32, nested or
 * unnegotiated indirect tables, a writable buffer before a readable one,
 * rings outside RAM, kicks of queues that do not exist) gets the device
 * marked DEVICE_NEEDS_RESET with a config interrupt; nothing is executed,
 * the host stays up (ASan watches every access), and a reset makes the
 * device usable again.  Driven through virtio-rng, whose requests are
 * served on the kicking thread, and virtio-blk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_rng.h"

struct fx {
    struct drv d;
    struct virtio_rng *r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f || RT_FAILURE(guest_ram_init(&f->d.ram, DRV_RAM_SIZE, 0)) || !(f->r = virtio_rng_create()))
        return -1;
    f->d.t = virtio_pci_create(&virtio_rng_ops, f->r, 0, &f->d.ram, drv_irq, &f->d);
    if (!f->d.t)
        return -1;
    virtio_rng_attach(f->r, f->d.t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    virtio_pci_destroy(f->d.t);
    virtio_rng_destroy(f->r);
    guest_ram_term(&f->d.ram);
    free(f);
    return 0;
}

static void start(struct fx *f, uint64_t features)
{
    uint8_t st = drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | features);
    assert_true(st & VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&f->d, 0, 8);
    drv_driver_ok(&f->d);
    assert_int_equal(drv_rd(&f->d, 0x1C, 2), 1);
}

/* The device is broken: NEEDS_RESET, a config interrupt, and nothing used. */
static void assert_broken(struct fx *f, const char *reason_part)
{
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(f->d.irq_level, 1);
    assert_true(drv_rd(&f->d, VIRTIO_PCI_ISR, 1) & VIRTIO_ISR_CONFIG);
    assert_int_equal(drv_used_idx(&f->d), 0);
    if (reason_part && !strstr(virtio_pci_broken_reason(f->d.t), reason_part))
        fail_msg("reason '%s' does not mention '%s'", virtio_pci_broken_reason(f->d.t), reason_part);
    /* Further kicks are ignored while broken. */
    drv_desc(&f->d, 0, DRV_DATA, 16, VRING_DESC_F_WRITE, 0);
    drv_submit(&f->d, 0, 0);
    assert_int_equal(drv_used_idx(&f->d), 0);
}

/* After a reset the same device serves a good request. */
static void assert_recovers(struct fx *f)
{
    start(f, 0);
    assert_false(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    drv_desc(&f->d, 0, DRV_DATA, 64, VRING_DESC_F_WRITE, 0);
    drv_submit(&f->d, 0, 0);
    assert_int_equal(drv_wait_used(&f->d, NULL), 64);
}

static void test_descriptor_loop(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_desc(&f->d, 0, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    drv_desc(&f->d, 1, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "loop");
    assert_recovers(f);
}

static void test_self_loop(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_desc(&f->d, 3, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    drv_submit(&f->d, 0, 3);
    assert_broken(f, "loop");
}

static void test_out_of_range_address(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_desc(&f->d, 0, DRV_RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);  /* straddles the end of RAM */
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "outside guest RAM");
    assert_recovers(f);
    drv_desc(&f->d, 0, UINT64_MAX - 4, 16, VRING_DESC_F_WRITE, 0);    /* wraps around 2^64 */
    drv_submit(&f->d, 0, 0);
    assert_int_equal(drv_used_idx(&f->d), 1);
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_huge_lengths(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_desc(&f->d, 0, DRV_DATA, 0xFFFFFFF0u, VRING_DESC_F_WRITE, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "outside guest RAM");
    /* In-RAM buffers (the same 15 MiB, 20 times) that add up to more than the device accepts. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    for (unsigned i = 0; i < 20; i++)
        drv_desc_at(&f->d, DRV_INDIRECT, i, DRV_DATA, 15u << 20, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    drv_desc_at(&f->d, DRV_INDIRECT, 19, DRV_DATA, 15u << 20, VRING_DESC_F_WRITE, 0);
    drv_desc(&f->d, 0, DRV_INDIRECT, 20 * 16, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "larger than");
}

static void test_bad_head_index(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_submit(&f->d, 0, 8);                     /* queue size 8: heads are 0..7 */
    assert_broken(f, "index out of range");
    assert_recovers(f);
    drv_desc(&f->d, 0, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0xFFFF);
    drv_submit(&f->d, 0, 0);
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_avail_index_runs_ahead(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_ring_store16(&f->d, DRV_AVAIL + 2, 200);  /* 200 new entries in a ring of 8 */
    drv_wr(&f->d, VIRTIO_PCI_NOTIFY, 2, 0);
    assert_broken(f, "ahead");
}

static void test_indirect_abuse(void **state)
{
    struct fx *f = *state;
    /* Not negotiated. */
    start(f, 0);
    drv_desc_at(&f->d, DRV_INDIRECT, 0, DRV_DATA, 16, VRING_DESC_F_WRITE, 0);
    drv_desc(&f->d, 0, DRV_INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "INDIRECT_DESC");
    /* Nested. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    drv_desc_at(&f->d, DRV_INDIRECT, 0, DRV_INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
    drv_desc(&f->d, 0, DRV_INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "inside an indirect");
    /* A length that is no multiple of 16, and one near 2^32. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    drv_desc(&f->d, 0, DRV_INDIRECT, 24, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "multiple of 16");
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    drv_desc(&f->d, 0, DRV_INDIRECT, 0xFFFFFFF0u, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "indirect table");
    /* A loop inside the indirect table. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    drv_desc_at(&f->d, DRV_INDIRECT, 0, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    drv_desc_at(&f->d, DRV_INDIRECT, 1, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    drv_desc(&f->d, 0, DRV_INDIRECT, 32, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "loop");
    /* An indirect table outside RAM. */
    start(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
    drv_desc(&f->d, 0, DRV_RAM_SIZE + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "outside guest RAM");
    assert_recovers(f);
}

static void test_writable_before_readable(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    drv_desc(&f->d, 0, DRV_DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    drv_desc(&f->d, 1, DRV_DATA + 16, 16, 0, 0);
    drv_submit(&f->d, 0, 0);
    assert_broken(f, "readable buffer after a writable");
}

static void test_rings_outside_ram(void **state)
{
    struct fx *f = *state;
    drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_wr(&f->d, 0x16, 2, 0);
    drv_wr(&f->d, 0x20, 8, DRV_RAM_SIZE - 16);   /* 8 descriptors need 128 bytes */
    drv_wr(&f->d, 0x28, 8, DRV_AVAIL);
    drv_wr(&f->d, 0x30, 8, DRV_USED);
    drv_wr(&f->d, 0x18, 2, 8);
    drv_wr(&f->d, 0x1C, 2, 1);
    assert_int_equal(drv_rd(&f->d, 0x1C, 2), 0);
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    assert_non_null(strstr(virtio_pci_broken_reason(f->d.t), "descriptor table"));
    /* A queue size that is not a power of two. */
    drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_wr(&f->d, 0x16, 2, 0);
    drv_wr(&f->d, 0x18, 2, 6);
    drv_wr(&f->d, 0x20, 8, DRV_DESC);
    drv_wr(&f->d, 0x1C, 2, 1);
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    /* A misaligned used ring, and one at the top of the address space. */
    drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_wr(&f->d, 0x18, 2, 8);
    drv_wr(&f->d, 0x20, 8, DRV_DESC);
    drv_wr(&f->d, 0x28, 8, DRV_AVAIL);
    drv_wr(&f->d, 0x30, 8, UINT64_MAX - 3);
    drv_wr(&f->d, 0x1C, 2, 1);
    assert_true(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_bad_queue_indices(void **state)
{
    struct fx *f = *state;
    start(f, 0);
    /* queue_select beyond num_queues reads size 0 and ignores setup writes. */
    drv_wr(&f->d, 0x16, 2, 5);
    assert_int_equal(drv_rd(&f->d, 0x18, 2), 0);
    drv_wr(&f->d, 0x1C, 2, 1);
    assert_false(drv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
    /* A kick for queue 3 of a one-queue device. */
    drv_wr(&f->d, VIRTIO_PCI_NOTIFY + 3 * VIRTIO_PCI_NOTIFY_MULT, 2, 3);
    assert_broken(f, "does not exist");
    /* Accesses outside the BAR's registers are ignored. */
    drv_wr(&f->d, 0x3FFF, 8, ~0ull);
    drv_wr(&f->d, 0x4000, 4, ~0ull);
    assert_int_equal(drv_rd(&f->d, 0x5000, 4), UINT64_MAX);
    assert_recovers(f);
}

/* virtio-blk: a request without a status byte breaks the device, the I/O thread survives. */
static void test_blk_malformed_request(void **state)
{
    (void)state;
    char path[] = "/tmp/petrel-vblk-hostile-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    struct drv d = { 0 };
    struct virtio_blk *b = NULL;
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    assert_int_equal(virtio_blk_open(path, false, NULL, &b, err, sizeof(err)), VINF_SUCCESS);
    d.t = virtio_pci_create(&virtio_blk_ops, b, virtio_blk_features(b), &d.ram, drv_irq, &d);
    assert_int_equal(virtio_blk_attach(b, d.t), VINF_SUCCESS);
    drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_setup_queue(&d, 0, 8);
    drv_driver_ok(&d);
    uint32_t hdr[4] = { VIRTIO_BLK_T_IN, 0, 0, 0 };
    guest_ram_write(&d.ram, DRV_DATA, hdr, sizeof(hdr));
    drv_desc(&d, 0, DRV_DATA, 16, 0, 0);         /* header only */
    drv_submit(&d, 0, 0);
    assert_int_equal(drv_wait_used(&d, NULL), 0);
    assert_true(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
    /* A read whose data buffer is 2^32-16 bytes long never reaches the disk. */
    drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    drv_setup_queue(&d, 0, 8);
    drv_driver_ok(&d);
    drv_desc(&d, 0, DRV_DATA, 16, VRING_DESC_F_NEXT, 1);
    drv_desc(&d, 1, DRV_DATA + 0x1000, 0xFFFFFFF0u, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    drv_desc(&d, 2, DRV_DATA + 0x10, 1, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 0);
    assert_true(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(drv_used_idx(&d), 0);
    virtio_blk_close(b);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descriptor_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_head_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_index_runs_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_abuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_before_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rings_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_queue_indices, setup, teardown),
        cmocka_unit_test(test_blk_malformed_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
