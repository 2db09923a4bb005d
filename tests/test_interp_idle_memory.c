/*
 * An idle vCPU gives decoded-block memory back (interp_release_idle_memory):
 * with drop_code every arena page leaves the process, without it the pages
 * of blocks in use stay; either way the guest runs on as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "interp_flat_guest.h"
#include "cpu/interp/interp_internal.h"

/* Pages of the vCPU's block arena resident in this process. */
static unsigned arena_resident_pages(const struct interp_cpu *cpu)
{
    static unsigned char vec[BLOCK_ARENA_SIZE / 4096];
    assert_int_equal(mincore(cpu->arena, BLOCK_ARENA_SIZE, vec), 0);
    unsigned n = 0;
    for (size_t i = 0; i < sizeof(vec); i++)
        n += vec[i] & 1;
    return n;
}

/* Runs the guest once more from its reset state; returns its output. */
static const char *rerun(struct guest *g, const char *image)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", PETREL_GUEST_DIR, image);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(g->ram.host + 0x7c00, 1, 0x8000, f);
    fclose(f);
    real_mode_state(&g->st);
    uint32_t mxcsr = 0x1f80;
    memcpy(g->st.xsave + 24, &mxcsr, 4);
    interp_invalidate_code(g->cpu, 0x7c00, n);
    interp_state_changed(g->cpu);
    g->exited = false;
    g->out_len = 0;
    for (int i = 0; i < 100 && !g->exited; i++)
        assert_int_equal(interp_execute(g->cpu, 1000000), VINF_SUCCESS);
    g->out[g->out_len] = 0;
    return g->out;
}

static void test_drop_code_releases_all(void **state)
{
    (void)state;
    struct guest *g = run_guest("interp_long.bin");
    assert_true(g->exited);
    char first[sizeof(g->out)];
    strcpy(first, g->out);
    assert_true(arena_resident_pages(g->cpu) > 0);

    interp_release_idle_memory(g->cpu, true);
    assert_int_equal(arena_resident_pages(g->cpu), 0);
    assert_int_equal(g->cpu->arena_used, 0);

    assert_string_equal(rerun(g, "interp_long.bin"), first);   /* decoded again */
    assert_true(arena_resident_pages(g->cpu) > 0);
    guest_free(g);
}

static void test_blocks_in_use_stay(void **state)
{
    (void)state;
    struct guest *g = run_guest("interp_long.bin");
    assert_true(g->exited);
    char first[sizeof(g->out)];
    strcpy(first, g->out);
    unsigned used_pages = (unsigned)((g->cpu->arena_used + 4095) / 4096);
    unsigned resident = arena_resident_pages(g->cpu);
    assert_true(resident >= used_pages);
    uint64_t flushes = g->cpu->arena_flushes;

    interp_release_idle_memory(g->cpu, false);
    assert_int_equal(arena_resident_pages(g->cpu), resident);
    assert_int_equal(g->cpu->arena_flushes, flushes);          /* no block was dropped */

    assert_string_equal(rerun(g, "interp_long.bin"), first);
    guest_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_code_releases_all),
        cmocka_unit_test(test_blocks_in_use_stay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
