/*
 * MSI-X of the virtio-pci transport, driven directly (virtio-rng, whose
 * requests are served on the kicking thread): the capability and BAR2,
 * msix_config / queue_msix_vector (a vector the device cannot map reads
 * back NO_VECTOR), the messages sent (address and data as programmed),
 * per-vector and function masking with pending bits delivered on unmask,
 * INTx as the fallback while MSI-X is disabled, hostile table and config
 * writes, and the saved state (round trip, refused corruptions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/virtio/virtio_rng.h"

#define CAP       VIRTIO_PCI_MSIX_CAP
#define CTRL      (CAP + 2)
#define ENABLE    0x8000u
#define FMASK     0x4000u
#define C_MSIX    0x10
#define C_QSELECT 0x16
#define C_QMSIX   0x1A
#define MAX_MSGS  64

struct fx {
    struct drv d;
    struct virtio_rng *r;
    unsigned msgs;
    uint64_t addr[MAX_MSGS];
    uint32_t data[MAX_MSGS];
};

static void record_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct fx *f = opaque;
    if (f->msgs < MAX_MSGS) {
        f->addr[f->msgs] = addr;
        f->data[f->msgs] = data;
    }
    f->msgs++;
}

static struct fx *fx_new(bool msi)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(guest_ram_init(&f->d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    f->r = virtio_rng_create();
    f->d.t = virtio_pci_create(&virtio_rng_ops, f->r, 0, &f->d.ram, drv_irq, &f->d);
    assert_non_null(f->d.t);
    if (msi)
        virtio_pci_set_msi(f->d.t, record_msi, f);
    virtio_rng_attach(f->r, f->d.t);
    return f;
}

static void fx_free(struct fx *f)
{
    virtio_pci_destroy(f->d.t);
    virtio_rng_destroy(f->r);
    guest_ram_term(&f->d.ram);
    free(f);
}

static uint32_t cfg_rd(struct fx *f, unsigned off, unsigned size) { return virtio_pci_config_read(f->d.t, off, size); }
static void cfg_wr(struct fx *f, unsigned off, unsigned size, uint32_t v) { virtio_pci_config_write(f->d.t, off, size, v); }
static uint64_t tab_rd(struct fx *f, uint64_t off, unsigned size) { return virtio_pci_msix_read(f->d.t, off, size); }
static void tab_wr(struct fx *f, uint64_t off, unsigned size, uint64_t v) { virtio_pci_msix_write(f->d.t, off, size, v); }

/* Table entry v: address, data, unmasked. */
static void program(struct fx *f, unsigned v, uint64_t addr, uint32_t data)
{
    tab_wr(f, 16u * v, 4, (uint32_t)addr);
    tab_wr(f, 16u * v + 4, 4, (uint32_t)(addr >> 32));
    tab_wr(f, 16u * v + 8, 4, data);
    tab_wr(f, 16u * v + 12, 4, 0);
}

/* Negotiated, queue 0 (size 8) set up with the given vector, DRIVER_OK. */
static void start(struct fx *f, uint16_t config_vector, uint16_t queue_vector)
{
    assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
    drv_wr(&f->d, C_MSIX, 2, config_vector);
    drv_wr(&f->d, C_QSELECT, 2, 0);
    drv_wr(&f->d, C_QMSIX, 2, queue_vector);
    drv_setup_queue(&f->d, 0, 8);
    drv_driver_ok(&f->d);
}

/* One 64-byte request on queue 0: served at once. */
static void request(struct fx *f)
{
    drv_desc(&f->d, 0, DRV_DATA, 64, VRING_DESC_F_WRITE, 0);
    drv_submit(&f->d, 0, 0);
    assert_int_equal(drv_wait_used(&f->d, NULL), 64);
}

static void test_capability_and_bar2(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    assert_int_equal(cfg_rd(f, 0x84 + 1, 1), CAP);                 /* after the PCI_CFG capability */
    assert_int_equal(cfg_rd(f, CAP, 1), 0x11);
    assert_int_equal(cfg_rd(f, CAP + 1, 1), 0);
    assert_int_equal(cfg_rd(f, CTRL, 2), 1);                       /* rng: 1 queue + config = 2 vectors */
    assert_int_equal(cfg_rd(f, CAP + 4, 4), VIRTIO_PCI_MSIX_TABLE | 2);
    assert_int_equal(cfg_rd(f, CAP + 8, 4), VIRTIO_PCI_MSIX_PBA | 2);
    cfg_wr(f, CTRL, 2, 0xFFFF);                                    /* only enable and mask stick */
    assert_int_equal(cfg_rd(f, CTRL, 2), 0xC001);
    cfg_wr(f, CTRL, 2, 0);
    /* BAR2 sizing: 4 KiB, 32-bit memory; placed, it decodes with COMMAND.MEMORY only. */
    cfg_wr(f, 0x18, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_rd(f, 0x18, 4), 0xFFFFF000);
    uint64_t base;
    virtio_pci_set_msix_bar(f->d.t, 0x10080000);
    assert_int_equal(cfg_rd(f, 0x18, 4), 0x10080000);
    assert_false(virtio_pci_msix_decodes(f->d.t, &base));
    cfg_wr(f, 0x04, 2, 0x0002);
    assert_true(virtio_pci_msix_decodes(f->d.t, &base));
    assert_int_equal(base, 0x10080000);
    /* Every vector masked after reset, nothing pending. */
    assert_int_equal(tab_rd(f, 12, 4), 1);
    assert_int_equal(tab_rd(f, 16 + 12, 4), 1);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 8), 0);
    fx_free(f);
}

static void test_without_msi_no_capability(void **s)
{
    (void)s;
    struct fx *f = fx_new(false);
    assert_int_equal(cfg_rd(f, 0x84 + 1, 1), 0);
    assert_int_equal(cfg_rd(f, CAP, 4), 0);
    cfg_wr(f, 0x18, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_rd(f, 0x18, 4), 0);
    cfg_wr(f, CTRL, 2, ENABLE);
    assert_int_equal(cfg_rd(f, CTRL, 2), 0);
    start(f, 0, 0);
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    request(f);
    assert_int_equal(f->d.irq_level, 1);                           /* INTx */
    assert_int_equal(f->msgs, 0);
    fx_free(f);
}

static void test_vectors_read_back(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    drv_wr(&f->d, C_MSIX, 2, 1);
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), 1);
    drv_wr(&f->d, C_MSIX, 2, 2);                                   /* the table has 2 entries */
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    drv_wr(&f->d, C_MSIX, 4, 0x12340000);                          /* 4-byte write: vector 0, num_queues RO */
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), 0);
    assert_int_equal(drv_rd(&f->d, 0x12, 2), 1);
    drv_wr(&f->d, C_QMSIX, 2, 1);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), 1);
    drv_wr(&f->d, C_QMSIX, 2, 0x8000);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    drv_wr(&f->d, C_QMSIX, 2, 0);
    drv_wr(&f->d, C_QSELECT, 2, 5);                                /* a queue rng does not have */
    drv_wr(&f->d, C_QMSIX, 2, 1);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    drv_wr(&f->d, C_QSELECT, 2, 0);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), 0);
    drv_wr(&f->d, 0x14, 1, 0);                                     /* device reset: vectors unassigned */
    assert_int_equal(drv_rd(&f->d, C_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(drv_rd(&f->d, C_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    fx_free(f);
}

static void test_messages_sent(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    cfg_wr(f, CTRL, 2, ENABLE);
    program(f, 0, 0xFEE00000, 0x4031);
    program(f, 1, 0xFEE01004, 0x0041);
    start(f, 0, 1);
    request(f);
    assert_int_equal(f->msgs, 1);
    assert_int_equal(f->addr[0], 0xFEE01004);
    assert_int_equal(f->data[0], 0x0041);
    assert_int_equal(f->d.irq_level, 0);                           /* no INTx with MSI-X on */
    virtio_pci_config_changed(f->d.t);
    assert_int_equal(f->msgs, 2);
    assert_int_equal(f->addr[1], 0xFEE00000);
    assert_int_equal(f->data[1], 0x4031);
    /* A 64-bit address and 8-byte table accesses. */
    tab_wr(f, 16, 8, UINT64_C(0x00000001FEE02000));
    assert_int_equal(tab_rd(f, 16, 8), UINT64_C(0x00000001FEE02000));
    request(f);
    assert_int_equal(f->msgs, 3);
    assert_int_equal(f->addr[2], UINT64_C(0x1FEE02000));
    /* NO_VECTOR: no interrupt at all. */
    drv_wr(&f->d, C_QMSIX, 2, VIRTIO_MSI_NO_VECTOR);
    request(f);
    assert_int_equal(f->msgs, 3);
    assert_int_equal(f->d.irq_level, 0);
    fx_free(f);
}

static void test_mask_pending_unmask(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    cfg_wr(f, CTRL, 2, ENABLE);
    program(f, 1, 0xFEE00000, 0x51);
    start(f, VIRTIO_MSI_NO_VECTOR, 1);
    tab_wr(f, 16 + 12, 4, 1);                                      /* mask vector 1 */
    request(f);
    assert_int_equal(f->msgs, 0);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 4), 2);
    tab_wr(f, VIRTIO_PCI_MSIX_PBA, 4, 0);                          /* the PBA is read-only */
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 1), 2);
    tab_wr(f, 16 + 12, 4, 0);                                      /* unmask: the pending one goes out */
    assert_int_equal(f->msgs, 1);
    assert_int_equal(f->data[0], 0x51);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 4), 0);
    /* Function mask: the same, through the capability. */
    cfg_wr(f, CTRL, 2, ENABLE | FMASK);
    request(f);
    request(f);
    assert_int_equal(f->msgs, 1);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 4), 2);
    cfg_wr(f, CTRL, 2, ENABLE);
    assert_int_equal(f->msgs, 2);                                  /* one message for both */
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 4), 0);
    /* Pending while MSI-X is off stays pending until it is on and unmasked. */
    tab_wr(f, 16 + 12, 4, 1);
    request(f);
    cfg_wr(f, CTRL, 2, 0);
    tab_wr(f, 16 + 12, 4, 0);
    assert_int_equal(f->msgs, 2);
    cfg_wr(f, CTRL, 2, ENABLE);
    assert_int_equal(f->msgs, 3);
    fx_free(f);
}

static void test_intx_when_disabled(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    program(f, 1, 0xFEE00000, 0x51);
    start(f, 0, 1);                                                /* vectors set, MSI-X left off */
    request(f);
    assert_int_equal(f->msgs, 0);
    assert_int_equal(f->d.irq_level, 1);
    cfg_wr(f, CTRL, 2, ENABLE);                                    /* enabling it takes INTx down */
    assert_int_equal(f->d.irq_level, 0);
    cfg_wr(f, CTRL, 2, 0);                                         /* ISR still set: INTx again */
    assert_int_equal(f->d.irq_level, 1);
    assert_int_equal(drv_rd(&f->d, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
    assert_int_equal(f->d.irq_level, 0);
    fx_free(f);
}

static void test_hostile_writes(void **s)
{
    (void)s;
    struct fx *f = fx_new(true);
    cfg_wr(f, CTRL, 2, ENABLE);
    start(f, 0, 1);
    /* Reserved control bits stay 0; accesses outside the table or BAR do nothing. */
    tab_wr(f, 12, 4, 0xFFFFFFFE);
    assert_int_equal(tab_rd(f, 12, 4), 0);
    tab_wr(f, 32, 4, 0x12345678);                                  /* past the 2-entry table */
    assert_int_equal(tab_rd(f, 32, 4), 0);
    tab_wr(f, 28, 8, ~0ull);                                       /* straddles the table's end */
    assert_int_equal(tab_rd(f, 24, 4), 0);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_BAR_SIZE - 4, 8), UINT64_MAX);
    tab_wr(f, VIRTIO_PCI_MSIX_BAR_SIZE, 4, 1);
    tab_wr(f, UINT64_MAX - 2, 4, 1);
    tab_wr(f, 0, 3, 1);
    assert_int_equal(tab_rd(f, 0, 16), UINT64_MAX);
    /* Random writes everywhere in BAR2, the capability and BAR2's config bytes. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        static const unsigned sizes[] = { 1, 2, 3, 4, 8, 16 };
        uint64_t v = (uint64_t)rand() << 33 ^ (uint64_t)rand();
        unsigned size = sizes[rand() % 6];
        if (i % 3)
            tab_wr(f, (uint64_t)(rand() % (VIRTIO_PCI_MSIX_BAR_SIZE + 64)), size, v);
        else
            cfg_wr(f, 0x10 + (unsigned)(rand() % 0xF0), size > 4 ? 4 : size, (uint32_t)v);
        if (i % 100 == 0) {
            drv_wr(&f->d, C_QMSIX, 2, (uint16_t)v);
            drv_wr(&f->d, 0x14, 1, 0);
            start(f, (uint16_t)(v >> 16), (uint16_t)(v >> 32));
            request(f);
        }
    }
    uint16_t cv = (uint16_t)drv_rd(&f->d, C_MSIX, 2);
    assert_true(cv == VIRTIO_MSI_NO_VECTOR || cv < 2);
    assert_int_equal(tab_rd(f, VIRTIO_PCI_MSIX_PBA, 8) & ~UINT64_C(3), 0);
    for (unsigned v = 0; v < 2; v++)
        assert_int_equal(tab_rd(f, 16 * v + 12, 4) & ~UINT64_C(1), 0);
    fx_free(f);
}

static void test_saved_state(void **s)
{
    (void)s;
    struct fx *a = fx_new(true), *b = fx_new(true), *plain = fx_new(false);
    cfg_wr(a, CTRL, 2, ENABLE);
    program(a, 0, 0xFEE00000, 0x31);
    program(a, 1, 0xFEE01000, 0x41);
    start(a, 0, 1);
    tab_wr(a, 16 + 12, 4, 1);
    request(a);                                                    /* vector 1 pending */
    struct virtio_pci_saved *sv = calloc(1, sizeof(*sv)), *bad = calloc(1, sizeof(*bad));
    assert_non_null(sv);
    assert_non_null(bad);
    virtio_pci_save(a->d.t, sv);
    assert_int_equal(virtio_pci_load(plain->d.t, sv), VERR_SSM_UNEXPECTED_DATA);   /* no MSI-X there */
    struct { size_t off; uint8_t x; } corrupt[] = {
        { offsetof(struct virtio_pci_saved, config_vector), 0x02 },                 /* vector 2: none */
        { offsetof(struct virtio_pci_saved, queue_vector[3]) + 1, 0x01 },
        { offsetof(struct virtio_pci_saved, msix_pending), 0x04 },
        { offsetof(struct virtio_pci_saved, msix_table) + 12, 0x02 },               /* reserved ctrl bit */
        { offsetof(struct virtio_pci_saved, msix_table) + 40, 0x01 },               /* entry past the table */
        { offsetof(struct virtio_pci_saved, pci_config) + CTRL, 0x02 },             /* table size */
        { offsetof(struct virtio_pci_saved, pci_config) + 0x18, 0x04 },             /* BAR2 type */
    };
    for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
        memcpy(bad, sv, sizeof(*bad));
        ((uint8_t *)bad)[corrupt[i].off] ^= corrupt[i].x;
        if (virtio_pci_load(b->d.t, bad) != VERR_SSM_UNEXPECTED_DATA)
            fail_msg("corruption %zu was accepted", i);
    }
    assert_int_equal(virtio_pci_load(b->d.t, sv), VINF_SUCCESS);
    assert_int_equal(drv_rd(&b->d, C_MSIX, 2), 0);
    assert_int_equal(drv_rd(&b->d, C_QMSIX, 2), 1);
    assert_int_equal(tab_rd(b, 16, 8), 0xFEE01000);
    assert_int_equal(tab_rd(b, VIRTIO_PCI_MSIX_PBA, 4), 2);
    assert_int_equal(b->msgs, 0);
    tab_wr(b, 16 + 12, 4, 0);                                      /* unmasked on the target: delivered */
    assert_int_equal(b->msgs, 1);
    assert_int_equal(b->data[0], 0x41);
    free(sv);
    free(bad);
    fx_free(a);
    fx_free(b);
    fx_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capability_and_bar2),
        cmocka_unit_test(test_without_msi_no_capability),
        cmocka_unit_test(test_vectors_read_back),
        cmocka_unit_test(test_messages_sent),
        cmocka_unit_test(test_mask_pending_unmask),
        cmocka_unit_test(test_intx_when_disabled),
        cmocka_unit_test(test_hostile_writes),
        cmocka_unit_test(test_saved_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
