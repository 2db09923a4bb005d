/*
 * The interpreter as the VM's execution engine, end to end: the petrel
 * command runs test guests with --engine interp; their console output and
 * exit codes must be what the guests print under the architecture (the same
 * lines tests/test_interp_guests.c expects from the bare interpreter), and
 * the PIT guest must see timer interrupts through the engine's 8259/8254.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

/* Runs a guest; returns the process exit status, output in out. */
static int run_guest(const char *image, const char *mode, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "timeout 120 %s run --engine interp --mode %s --image %s/%s 2>&1",
             PETREL_BIN, mode, PETREL_GUEST_DIR, image);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *image, const char *mode, const char *text, int status)
{
    char out[4096];
    int st = run_guest(image, mode, out, sizeof(out));
    if (st != status || !strstr(out, text))
        fprintf(stderr, "%s: status %d, output:\n%s\n", image, st, out);
    assert_non_null(strstr(out, text));
    assert_int_equal(st, status);
}

static void test_hello_guests(void **state)
{
    (void)state;
    expect("hello_real.bin", "real", "Hello from real mode", 33);
    expect("hello_prot.bin", "protected", "Hello from protected mode", 65);
    expect("hello_long.bin", "long", "Hello from long mode", 97);
}

static void test_interp_guests_under_engine(void **state)
{
    (void)state;
    expect("interp_real.bin", "real", "R DE 1234 I21 8 Hello EQ 55aa POP 8 ABCD\n", 1);
    expect("interp_prot32.bin", "real",
           "P DE UD BP PF 400000 3 PF 401000 0 100063 101023 S ab Hello EQ SYS 1b 23 GP 0\n", 1);
    expect("interp_long.bin", "real",
           "L DE UD BP PF 400000 3 PF 401000 0 100063 101023 1 S ab Hello EQ PF 400000 5 SC 202 18 20 33 GP 0\n", 1);
}

static void test_timer_interrupts(void **state)
{
    (void)state;
    expect("interp_pit.bin", "real", "PIT 10\n", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_guests),
        cmocka_unit_test(test_interp_guests_under_engine),
        cmocka_unit_test(test_timer_interrupts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
