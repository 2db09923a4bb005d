/*
 * Saved state from the command line: `petrel ctl PATH save FILE
 * [--continue] [--raw]` on a running `petrel run --control PATH`, then
 * `petrel run --restore FILE` (a --raw file is mapped copy-on-write): the
 * counter guest's ticks go on from where they were;
 * a state for a different machine is refused with exit status 2.  Console
 * input that is already waiting when a restored VM starts reaches the guest
 * whole (the first byte used to be lost: the not-yet-loaded UART took it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tick_files.h"

static char dir[64];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list va;
    va_start(va, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, va);
    va_end(va);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN "%s run --engine interp --memory 4 --image %s/state_counter.bin"

static void test_ctl_save_and_restore(void **state)
{
    (void)state;
    assert_int_equal(sh("(" RUN " --control %s/sock > %s/a.out 2> %s/a.err; echo $? > %s/a.rc) &", PETREL_BIN,
                        PETREL_GUEST_DIR, dir, dir, dir, dir), 0);
    char a_out[128], b_out[128];
    snprintf(a_out, sizeof(a_out), "%s/a.out", dir);
    snprintf(b_out, sizeof(b_out), "%s/b.out", dir);
    wait_lines(a_out, 2);
    /* --continue: a snapshot, the guest keeps counting. */
    assert_int_equal(sh("%s ctl %s/sock save %s/snap.sav --continue > /dev/null", PETREL_BIN, dir, dir), 0);
    unsigned n = lines(a_out);
    wait_lines(a_out, n + 2);
    /* Without: saved, then powered off (petrel run exits 0); --raw: RAM as a mappable image. */
    assert_int_equal(sh("cd %s && %s ctl %s/sock save last.sav --raw > /dev/null", dir, PETREL_BIN, dir), 0);
    assert_int_equal(sh("grep -q ramimage %s/last.sav", dir), 0);
    char a_rc[128];
    snprintf(a_rc, sizeof(a_rc), "%s/a.rc", dir);
    for (int i = 0; i < 12000 && lines(a_rc) < 1; i++)
        usleep(10000);
    char *rc = slurp(a_rc);
    assert_string_equal(rc, "0\n");   /* petrel run ended: the VM was powered off after the save */
    free(rc);
    char *before = slurp(a_out);
    /* b.out exists before the loop reads it (the background job may not have opened it yet). */
    assert_int_equal(sh("timeout 300 sh -c ': > %s/b.out; " RUN " --restore %s/last.sav > %s/b.out 2>&1 & pid=$!; "
                        "while [ $(wc -l < %s/b.out) -lt 3 ]; do sleep 0.05; done; kill $pid; wait $pid'",
                        dir, PETREL_BIN, PETREL_GUEST_DIR, dir, dir, dir), 143);
    char *after = slurp(b_out);
    char *all = malloc(strlen(before) + strlen(after) + 1);
    assert_non_null(all);
    strcpy(all, before);
    strcat(all, after);
    drop_partial_line(all);            /* the restored VM was killed, maybe in the middle of a line */
    assert_ticks(all, 5);
    free(all);
    free(before);
    free(after);
}

#define ECHO "%s run --engine interp --memory 4 --image %s/uart_echo.bin --console stdio"

/* uart_echo copies COM1 input to the debug console and exits 0x55 (status 171) at '\n'. */
static void test_restore_keeps_first_console_byte(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof(out), "%s/echo.out", dir);
    assert_int_equal(sh("(" ECHO " --control %s/echo.sock < /dev/null > %s 2> /dev/null; echo $? > %s/echo.rc) &",
                        PETREL_BIN, PETREL_GUEST_DIR, dir, out, dir), 0);
    wait_lines(out, 1);                /* "R": the UART is set up, the guest waits for input */
    assert_int_equal(sh("%s ctl %s/echo.sock save %s/echo.sav > /dev/null", PETREL_BIN, dir, dir), 0);
    char rc_path[128];
    snprintf(rc_path, sizeof(rc_path), "%s/echo.rc", dir);
    for (int i = 0; i < 12000 && lines(rc_path) < 1; i++)
        usleep(10000);
    /* The input is in the pipe before the restored VM exists; several runs, as it was a race. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(sh("printf 'hello petrel\n' | timeout 120 " ECHO " --restore %s/echo.sav > %s 2> /dev/null",
                            PETREL_BIN, PETREL_GUEST_DIR, dir, out), 171);
        char *got = slurp(out);
        assert_string_equal(got, "hello petrel\n");
        free(got);
    }
}

static void test_restore_refuses_other_machine(void **state)
{
    (void)state;
    assert_int_equal(sh("%s run --engine interp --memory 8 --image %s/state_counter.bin --restore %s/snap.sav "
                        "> %s/c.out 2>&1", PETREL_BIN, PETREL_GUEST_DIR, dir, dir), 2);
    char path[128];
    snprintf(path, sizeof(path), "%s/c.out", dir);
    char *out = slurp(path);
    assert_non_null(strstr(out, "VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH"));
    free(out);
    assert_int_equal(sh("%s run --engine interp --image %s/state_counter.bin --restore %s/none.sav 2> /dev/null",
                        PETREL_BIN, PETREL_GUEST_DIR, dir), 2);
    assert_int_equal(sh("%s ctl %s/sock save 2> /dev/null", PETREL_BIN, dir), 2);   /* usage */
    assert_int_equal(sh("%s ctl %s/sock save x.sav --raw --raw 2> /dev/null", PETREL_BIN, dir), 2);
    assert_int_equal(sh("%s ctl %s/sock save x.sav --rare 2> /dev/null", PETREL_BIN, dir), 2);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/petrel-cli-state-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sh("rm -rf %s", dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_save_and_restore),
        cmocka_unit_test(test_restore_refuses_other_machine),
        cmocka_unit_test(test_restore_keeps_first_console_byte),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
