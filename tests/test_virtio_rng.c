/*
 * virtio-rng: requests are filled from getrandom (two fills differ and
 * are not all zeroes), the used length is what was filled, capped at
 * VIRTIO_RNG_MAX_FILL per request, and readable buffers are left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/virtio/virtio_rng.h"

static void test_rng_fills_buffers(void **state)
{
    (void)state;
    struct drv d = { 0 };
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    struct virtio_rng *r = virtio_rng_create();
    d.t = virtio_pci_create(&virtio_rng_ops, r, 0, &d.ram, drv_irq, &d);
    assert_non_null(d.t);
    virtio_rng_attach(r, d.t);
    assert_int_equal(virtio_pci_config_read(d.t, 0x02, 2), 0x1044);
    assert_true(drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&d, 0, 4);
    drv_driver_ok(&d);

    uint8_t a[256], b[256], zero[256] = { 0 };
    drv_desc(&d, 0, DRV_DATA, sizeof(a), VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 0);
    assert_int_equal(drv_wait_used(&d, NULL), sizeof(a));
    guest_ram_read(&d.ram, DRV_DATA, a, sizeof(a));
    drv_submit(&d, 0, 0);
    assert_int_equal(drv_wait_used(&d, NULL), sizeof(b));
    guest_ram_read(&d.ram, DRV_DATA, b, sizeof(b));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(d.irq_level, 1);

    /* A readable buffer first (left as it is), then 1 MiB writable: 64 KiB filled. */
    uint8_t marker[16];
    memset(marker, 0x77, sizeof(marker));
    guest_ram_write(&d.ram, DRV_DATA, marker, sizeof(marker));
    drv_desc(&d, 1, DRV_DATA, sizeof(marker), VRING_DESC_F_NEXT, 2);
    drv_desc(&d, 2, DRV_DATA + 0x100000, 1u << 20, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 1);
    assert_int_equal(drv_wait_used(&d, NULL), VIRTIO_RNG_MAX_FILL);
    uint8_t back[16];
    guest_ram_read(&d.ram, DRV_DATA, back, sizeof(back));
    assert_memory_equal(back, marker, sizeof(marker));
    virtio_pci_destroy(d.t);
    virtio_rng_destroy(r);
    guest_ram_term(&d.ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_fills_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
