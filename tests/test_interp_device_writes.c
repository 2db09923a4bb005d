/*
 * Code written by a device (DMA through guest_ram_write, or preadv into
 * guest_ram_ptr followed by guest_ram_mark_dirty, as virtio-blk does) must
 * not run as the instructions decoded there before: the interpreter learns
 * of such writes through the RAM's write hook and decodes the page again.
 * Without the hook the second run below executes the old immediate.
 */
#include "interp_sys_harness.h"

#include "memory/guest_ram.h"

static struct sys_guest *guest_on_real_ram(void)
{
    struct sys_guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(guest_ram_init(&g->ram, RAM_SIZE, GUEST_4G - RAM_SIZE), VINF_SUCCESS);
    return sys_attach_cpu(g);
}

static void free_guest(struct sys_guest *g)
{
    interp_cpu_destroy(g->cpu);
    guest_ram_term(&g->ram);                      /* releases the code track the hook kept */
    free(g);
}

/* Runs the code at CODE (already in RAM) from the start until HLT. */
static uint64_t run_from_start(struct sys_guest *g)
{
    long_state(g, 0);
    interp_state_changed(g->cpu);
    assert_int_equal(interp_execute(g->cpu, 1000), VINF_EM_HALT);
    g->st.run_state = CPU_RUNNABLE;
    return g->st.gpr[GPR_RAX];
}

static void test_device_writes_drop_decoded_code(void **state)
{
    (void)state;
    struct sys_guest *g = guest_on_real_ram();
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 };   /* mov eax, 1; hlt */
    assert_int_equal(guest_ram_write(&g->ram, CODE, code, sizeof(code)), VINF_SUCCESS);
    for (int i = 0; i < 20; i++)                  /* decoded (and hot enough to be compiled) */
        assert_int_equal(run_from_start(g), 1);

    uint8_t two = 2;                              /* a device writes the immediate */
    assert_int_equal(guest_ram_write(&g->ram, CODE + 1, &two, 1), VINF_SUCCESS);
    assert_int_equal(run_from_start(g), 2);

    uint8_t *p = guest_ram_ptr(&g->ram, CODE + 1, 1);   /* preadv into RAM, then the notice */
    assert_non_null(p);
    *p = 3;
    guest_ram_mark_dirty(&g->ram, CODE + 1, 1);
    assert_int_equal(run_from_start(g), 3);
    free_guest(g);
}

/* RAM not made by guest_ram_init (tests' own buffers) takes no hook. */
static void test_hook_needs_initialised_ram(void **state)
{
    (void)state;
    struct guest_ram ram = { 0 };
    assert_false(guest_ram_set_write_hook(&ram, NULL, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_writes_drop_decoded_code),
        cmocka_unit_test(test_hook_needs_initialised_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
