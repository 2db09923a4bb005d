/*
 * x87 error reporting with CR0.NE clear (MS-DOS compatible): a waiting
 * instruction that finds an unmasked exception pending asserts FERR# and
 * freezes until IGNNE# or the exception is cleared.  On the bare
 * interpreter the test plays the chipset (the FERR# hook, st.x87_ignne);
 * under the engine the guest takes IRQ 13 through the real 8259A pair and
 * acknowledges it at port 0xF0, and gets #MF instead once CR0.NE is set.
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

#include "interp_flat_guest.h"
#include "state/ssm_cpu.h"

struct pins {
    struct guest *g;
    unsigned asserts, deasserts;
    bool connected;
};

static void pins_port_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct pins *p = opaque;
    port_write(p->g, port, size, value);
}

static void pins_ferr(void *opaque, bool asserted)
{
    struct pins *p = opaque;
    if (asserted)
        p->asserts++;
    else
        p->deasserts++;
}

/* guests/interp_ferr_cli.bin on the bare interpreter, FERR# hooked to p
 * (or left unconnected). */
static struct guest *load_cli_guest(struct pins *p)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    p->g = g;
    g->ram.host = calloc(1, RAM_SIZE);
    assert_non_null(g->ram.host);
    g->ram.size = g->ram.low_size = RAM_SIZE;
    g->ram.hole_size = GUEST_4G - RAM_SIZE;
    real_mode_state(&g->st);
    struct interp_io io = { .opaque = p, .port_read = port_read, .port_write = pins_port_write };
    if (p->connected)
        io.ferr = pins_ferr;
    g->cpu = interp_cpu_create(&g->st, &g->ram, &io);
    assert_non_null(g->cpu);
    FILE *f = fopen(PETREL_GUEST_DIR "/interp_ferr_cli.bin", "rb");
    assert_non_null(f);
    size_t n = fread(g->ram.host + 0x7c00, 1, 0x8000, f);
    fclose(f);
    assert_true(n > 0);
    interp_invalidate_code(g->cpu, 0x7c00, n);
    return g;
}

/* Runs until the guest exits or halts (at most 1000 instructions). */
static int run_some(struct guest *g)
{
    int rc = VINF_SUCCESS;
    for (unsigned i = 0; i < 10 && !g->exited && rc == VINF_SUCCESS; i++)
        rc = interp_execute(g->cpu, 100);
    return rc;
}

/* IF=0: the FWAIT freezes (the vCPU halts at it, it does not spin), FERR#
 * is asserted once; IGNNE# lets it proceed with the exception still
 * pending; FNCLEX drops FERR# and IGNNE#. */
static void test_freeze_with_interrupts_off(void **state)
{
    (void)state;
    struct pins p = { .connected = true };
    struct guest *g = load_cli_guest(&p);
    assert_int_equal(run_some(g), VINF_EM_HALT);
    assert_int_equal(g->st.run_state, CPU_HALTED);
    assert_int_equal(g->ram.host[g->st.rip], 0x9b);           /* RIP at the FWAIT */
    uint64_t rip = g->st.rip, retired = interp_instructions_retired(g->cpu);
    assert_true(g->st.x87_ferr);
    assert_false(g->st.x87_ignne);
    assert_int_equal(p.asserts, 1);

    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);   /* stays halted: no spinning */
    assert_int_equal(interp_instructions_retired(g->cpu), retired);
    g->st.run_state = CPU_RUNNABLE;                            /* a wake without IGNNE#: frozen again */
    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);
    assert_int_equal(g->st.rip, rip);
    assert_int_equal(interp_instructions_retired(g->cpu), retired);
    assert_int_equal(p.asserts, 1);                            /* still asserted, not again */

    g->st.x87_ignne = true;                                    /* the chipset's port 0xF0 */
    g->st.run_state = CPU_RUNNABLE;
    run_some(g);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);
    uint16_t fsw = (uint16_t)(g->ram.host[RES] | g->ram.host[RES + 1] << 8);
    assert_int_equal(fsw & 0x84, 0x84);                        /* ES and ZE still set after FWAIT */
    assert_int_equal(p.deasserts, 1);                          /* FNCLEX */
    assert_false(g->st.x87_ferr);
    assert_false(g->st.x87_ignne);
    guest_free(g);
}

/* No FERR# hook (KVM's fallback, bare tests): the pin is unconnected and
 * the FWAIT proceeds. */
static void test_unconnected_pin_proceeds(void **state)
{
    (void)state;
    struct pins p = { .connected = false };
    struct guest *g = load_cli_guest(&p);
    run_some(g);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 0);
    assert_int_equal(g->ram.host[RES] & 0x84, 0x84);
    assert_false(g->st.x87_ferr);
    guest_free(g);
}

/* CR0.NE set: #MF, never FERR#. */
static void test_native_mode_raises_mf(void **state)
{
    (void)state;
    struct pins p = { .connected = true };
    struct guest *g = load_cli_guest(&p);
    g->st.cr0 |= CR0_NE;
    uint8_t handler[] = { 0xdb, 0xe2, 0xb0, 0x4d, 0xe6, 0xf4, 0xf4 };   /* fnclex; mov al,'M'; out 0xf4,al; hlt */
    memcpy(g->ram.host + 0x500, handler, sizeof(handler));
    g->ram.host[16 * 4] = 0x00;                                /* vector 16 -> 0000:0500 */
    g->ram.host[16 * 4 + 1] = 0x05;
    interp_invalidate_code(g->cpu, 0x500, sizeof(handler));
    run_some(g);
    assert_true(g->exited);
    assert_int_equal(g->exit_code, 'M');
    assert_int_equal(p.asserts, 0);
    assert_false(g->st.x87_ferr);
    guest_free(g);
}

/* The pins are vCPU state: the "cpu" unit carries them. */
static void test_pins_in_saved_state(void **state)
{
    (void)state;
    static struct cpu_state a, b;
    static uint8_t buf[SSM_CPU_PAYLOAD_MAX];
    cpu_state_reset(&a, true);
    a.x87_ferr = true;
    a.x87_ignne = true;
    size_t len = ssm_cpu_encode(&a, buf, sizeof(buf));
    assert_true(len > 0);
    assert_true(ssm_cpu_decode(&b, buf, len));
    assert_true(b.x87_ferr);
    assert_true(b.x87_ignne);
    a.x87_ignne = false;
    len = ssm_cpu_encode(&a, buf, sizeof(buf));
    assert_true(ssm_cpu_decode(&b, buf, len));
    assert_true(b.x87_ferr);
    assert_false(b.x87_ignne);
}

/* The whole PC path under the engine: IRQ 13 through the 8259A pair, the
 * handler's port 0xF0 write, and #MF once CR0.NE is set. */
static void test_irq13_under_engine(void **state)
{
    (void)state;
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof(cmd), "timeout 120 %s run --engine interp --mode real --image %s/interp_ferr.bin 2>&1",
             PETREL_BIN, PETREL_GUEST_DIR);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = 0;
    int st = pclose(f);
    const char *want = "I1 M0 E I2 M0 I3 M0 I3 M1 \n";
    if (!strstr(out, want))
        fprintf(stderr, "output:\n%s\n", out);
    assert_non_null(strstr(out, want));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freeze_with_interrupts_off),
        cmocka_unit_test(test_unconnected_pin_proceeds),
        cmocka_unit_test(test_native_mode_raises_mf),
        cmocka_unit_test(test_pins_in_saved_state),
        cmocka_unit_test(test_irq13_under_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
