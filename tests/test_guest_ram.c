/*
 * Unit tests for guest RAM: layout around the hole, bounds checks that must
 * not overflow on huge addresses or lengths, copies across regions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "memory/guest_ram.h"

#define MiB (UINT64_C(1) << 20)

static void test_layout_below_hole(void **state)
{
    (void)state;
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 16 * MiB, 512 * MiB), VINF_SUCCESS);
    assert_non_null(ram.host);
    assert_true(ram.low_size == 16 * MiB && ram.high_size == 0 && ram.size == 16 * MiB);
    assert_true(guest_ram_contains(&ram, 0, 16 * MiB));
    assert_false(guest_ram_contains(&ram, 0, 16 * MiB + 1));
    assert_null(guest_ram_ptr(&ram, 16 * MiB, 1));
    assert_ptr_equal(guest_ram_ptr(&ram, 4096, 1), ram.host + 4096);
    guest_ram_term(&ram);
    assert_null(ram.host);
}

static void test_layout_split_by_hole(void **state)
{
    (void)state;
    struct guest_ram ram;
    uint64_t hole = 1024 * MiB, size = 3200 * MiB;          /* 3 GiB low, 128 MiB high */
    assert_int_equal(guest_ram_init(&ram, size, hole), VINF_SUCCESS);
    assert_true(ram.low_size == GUEST_4G - hole);
    assert_true(ram.high_size == size - ram.low_size);
    assert_null(guest_ram_ptr(&ram, ram.low_size, 1));      /* the hole */
    assert_null(guest_ram_ptr(&ram, GUEST_4G - 1, 1));
    assert_ptr_equal(guest_ram_ptr(&ram, GUEST_4G, 8), ram.host + ram.low_size);
    assert_non_null(guest_ram_ptr(&ram, GUEST_4G + ram.high_size - 8, 8));
    assert_null(guest_ram_ptr(&ram, GUEST_4G + ram.high_size - 8, 9));
    /* A range that starts in low RAM and runs into the hole is not RAM. */
    assert_false(guest_ram_contains(&ram, ram.low_size - 4, 8));
    guest_ram_term(&ram);
}

static void test_no_overflow(void **state)
{
    (void)state;
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 8 * MiB, 512 * MiB), VINF_SUCCESS);
    uint8_t buf[16];
    assert_null(guest_ram_ptr(&ram, UINT64_MAX, 2));
    assert_null(guest_ram_ptr(&ram, 4096, UINT64_MAX));
    assert_null(guest_ram_ptr(&ram, UINT64_MAX - 4095, 8192));
    assert_false(guest_ram_contains(&ram, 1, UINT64_MAX));
    assert_false(guest_ram_contains(&ram, UINT64_MAX, 1));
    assert_int_equal(guest_ram_read(&ram, UINT64_MAX - 3, buf, 8), VERR_OUT_OF_RANGE);
    assert_int_equal(guest_ram_write(&ram, 8 * MiB - 4, buf, 8), VERR_OUT_OF_RANGE);
    assert_int_equal(guest_ram_read(&ram, 8 * MiB - 8, buf, 8), VINF_SUCCESS);
    guest_ram_term(&ram);
}

static void test_no_hole_is_contiguous(void **state)
{
    (void)state;
    struct guest_ram ram;
    /* With no hole, low RAM ends at 4 GiB and high RAM follows at once. */
    assert_int_equal(guest_ram_init(&ram, GUEST_4G + 8 * MiB, 0), VINF_SUCCESS);
    assert_true(ram.low_size == GUEST_4G && ram.high_size == 8 * MiB);
    uint8_t out[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, in[8] = { 0 };
    assert_int_equal(guest_ram_write(&ram, GUEST_4G - 4, out, 8), VINF_SUCCESS);
    assert_int_equal(guest_ram_read(&ram, GUEST_4G - 4, in, 8), VINF_SUCCESS);
    assert_memory_equal(in, out, 8);
    assert_null(guest_ram_ptr(&ram, GUEST_4G - 4, 8));      /* not one region */
    guest_ram_term(&ram);
}

static void test_read_write_clear(void **state)
{
    (void)state;
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 4 * MiB, 512 * MiB), VINF_SUCCESS);
    const char msg[] = "petrel";
    char back[sizeof(msg)] = "";
    assert_int_equal(guest_ram_write(&ram, 0x1000, msg, sizeof(msg)), VINF_SUCCESS);
    assert_int_equal(guest_ram_read(&ram, 0x1000, back, sizeof(back)), VINF_SUCCESS);
    assert_string_equal(back, msg);
    guest_ram_clear(&ram);
    assert_int_equal(guest_ram_read(&ram, 0x1000, back, sizeof(back)), VINF_SUCCESS);
    assert_int_equal(back[0], 0);
    guest_ram_term(&ram);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    struct guest_ram ram;
    assert_int_equal(guest_ram_init(&ram, 4 * MiB + 1, 512 * MiB), VERR_INVALID_PARAMETER);
    assert_int_equal(guest_ram_init(&ram, 4 * MiB, 100), VERR_INVALID_PARAMETER);
    assert_int_equal(guest_ram_init(&ram, 4 * MiB, GUEST_4G + 4096), VERR_INVALID_PARAMETER);
    assert_int_equal(guest_ram_init(&ram, 0, 512 * MiB), VINF_SUCCESS);   /* no RAM at all */
    assert_null(guest_ram_ptr(&ram, 0, 1));
    assert_int_equal(guest_ram_read(&ram, 0, &ram, 1), VERR_OUT_OF_RANGE);
    guest_ram_term(&ram);
}

/* The protections of the host page at addr per /proc/self/maps ("rw-p"...),
 * or "" when unmapped. */
static void host_prot(const void *addr, char prot[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    prot[0] = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
            memcpy(prot, p, 5);
    }
    fclose(f);
}

/* RAM sits between two inaccessible guard pages, and a remap (clear after
 * a file mapping) keeps them. */
static void test_guard_pages(void **state)
{
    (void)state;
    struct guest_ram ram;
    char prot[5];
    assert_int_equal(guest_ram_init(&ram, 1u << 20, 0), VINF_SUCCESS);
    host_prot(ram.host, prot);
    assert_string_equal(prot, "rw-p");
    host_prot(ram.host + ram.size - 1, prot);
    assert_string_equal(prot, "rw-p");
    host_prot(ram.host - 1, prot);
    assert_string_equal(prot, "---p");
    host_prot(ram.host + ram.size, prot);
    assert_string_equal(prot, "---p");
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
    assert_int_equal(guest_ram_map_file(&ram, fileno(f), 0), VINF_SUCCESS);
    guest_ram_clear(&ram);
    host_prot(ram.host + ram.size, prot);
    assert_string_equal(prot, "---p");
    fclose(f);
    guest_ram_term(&ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_below_hole),
        cmocka_unit_test(test_layout_split_by_hole),
        cmocka_unit_test(test_no_overflow),
        cmocka_unit_test(test_no_hole_is_contiguous),
        cmocka_unit_test(test_read_write_clear),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_guard_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
