/*
 * CRC-32C: the check value of the Castagnoli polynomial, and chaining
 * (the saved-state stream checksum is computed piece by piece).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "state/crc32c.h"

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    uint8_t zeros[32] = { 0 };
    assert_int_equal(crc32c(0, zeros, sizeof(zeros)), 0x8A9136AAu);   /* RFC 3720 B.4 */
}

static void test_chaining_matches_one_pass(void **state)
{
    (void)state;
    uint8_t buf[1000];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37)
        assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
}

/* The SSE4.2 path (on hosts that have it) and the table agree on every
 * length and alignment. */
static void test_hardware_matches_table(void **state)
{
    (void)state;
    uint8_t buf[600];
    uint32_t x = 12345;
    for (unsigned i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t start = 0; start < 9; start++)
        for (size_t len = 0; start + len <= sizeof(buf); len += 13)
            assert_int_equal(crc32c(0x1234u, buf + start, len), crc32c_portable(0x1234u, buf + start, len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_chaining_matches_one_pass),
        cmocka_unit_test(test_hardware_matches_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
