/*
 * virtio-console with one port on a unix-socket console back end: input
 * from the socket waits for the driver's receive buffers and then lands in
 * them; what the driver transmits comes out of the socket; the config
 * says one port; a reset while input is pending is harmless.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "virtio_driver.h"
#include "devices/console_backend.h"
#include "devices/virtio/virtio_console.h"

/* The transmit queue (1) lives at TXQ; queue 0 uses the driver's default rings. */
#define TXQ UINT64_C(0x40000)

static void setup_tx_queue(struct drv *d)
{
    uint8_t zero[0x3000] = { 0 };
    guest_ram_write(&d->ram, TXQ, zero, sizeof(zero));
    drv_wr(d, 0x16, 2, 1);
    drv_wr(d, 0x18, 2, 8);
    drv_wr(d, 0x20, 8, TXQ);
    drv_wr(d, 0x28, 8, TXQ + 0x1000);
    drv_wr(d, 0x30, 8, TXQ + 0x2000);
    drv_wr(d, 0x1C, 2, 1);
}

static void transmit(struct drv *d, const char *text, uint16_t n)
{
    guest_ram_write(&d->ram, DRV_DATA + 0x8000, text, strlen(text));
    drv_desc_at(d, TXQ, 0, DRV_DATA + 0x8000, (uint32_t)strlen(text), 0, 0);
    uint16_t head = 0;
    guest_ram_write(&d->ram, TXQ + 0x1000 + 4 + 2u * ((n - 1) % 8), &head, 2);
    drv_ring_store16(d, TXQ + 0x1000 + 2, n);
    drv_wr(d, VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT, 2, 1);
}

static int connect_to(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    return fd;
}

static void test_console_both_ways(void **state)
{
    (void)state;
    char sock[64], spec[80], err[256];
    snprintf(sock, sizeof(sock), "/tmp/petrel-vcon-%d.sock", (int)getpid());
    snprintf(spec, sizeof(spec), "unix:%s", sock);
    struct console_backend *be = NULL;
    assert_int_equal(console_backend_create(spec, &be, err, sizeof(err)), VINF_SUCCESS);
    struct drv d = { 0 };
    assert_int_equal(guest_ram_init(&d.ram, DRV_RAM_SIZE, 0), VINF_SUCCESS);
    struct virtio_console *c = virtio_console_create(be);
    d.t = virtio_pci_create(&virtio_console_ops, c, 0, &d.ram, drv_irq, &d);
    assert_non_null(d.t);
    assert_int_equal(virtio_console_attach(c, d.t), VINF_SUCCESS);
    assert_int_equal(virtio_pci_config_read(d.t, 0x02, 2), 0x1043);
    assert_int_equal(drv_rd(&d, VIRTIO_PCI_DEVCFG + 4, 4), 1);        /* max_nr_ports */

    assert_true(drv_negotiate(&d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
    drv_setup_queue(&d, 0, 8);
    setup_tx_queue(&d);
    drv_driver_ok(&d);

    int fd = connect_to(sock);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    usleep(20000);
    assert_int_equal(drv_used_idx(&d), 0);                            /* no receive buffer yet */
    drv_desc(&d, 0, DRV_DATA, 64, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 0);
    assert_int_equal(drv_wait_used(&d, NULL), 3);
    char got[64] = { 0 };
    guest_ram_read(&d.ram, DRV_DATA, got, 3);
    assert_string_equal(got, "abc");
    assert_int_equal(d.irq_level, 1);

    transmit(&d, "hello from hvc0", 1);
    struct pollfd p = { fd, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 5000), 1);
    memset(got, 0, sizeof(got));
    size_t len = 0;
    while (len < 15 && poll(&p, 1, 5000) == 1) {
        ssize_t n = read(fd, got + len, sizeof(got) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    assert_string_equal(got, "hello from hvc0");

    /* Paused (the VM is suspended): input waits in the back end until the device goes on. */
    virtio_console_pause(c, true);
    drv_desc(&d, 1, DRV_DATA + 0x100, 64, VRING_DESC_F_WRITE, 0);
    drv_submit(&d, 0, 1);
    assert_int_equal(write(fd, "def", 3), 3);
    usleep(50000);
    assert_int_equal(drv_used_idx(&d), 1);
    virtio_console_pause(c, false);
    assert_int_equal(drv_wait_used(&d, NULL), 3);
    guest_ram_read(&d.ram, DRV_DATA + 0x100, got, 3);
    got[3] = 0;
    assert_string_equal(got, "def");

    /* Input pending across a reset goes nowhere, and nothing breaks. */
    assert_int_equal(write(fd, "xyz", 3), 3);
    usleep(20000);
    drv_wr(&d, 0x14, 1, 0);
    assert_int_equal(drv_status(&d), 0);
    close(fd);
    virtio_console_destroy(c);
    console_backend_destroy(be);
    virtio_pci_destroy(d.t);
    guest_ram_term(&d.ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
