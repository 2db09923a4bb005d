/*
 * The VMM function table: magic and version at both ends, the compatibility
 * rule, every slot filled, slots pointing at the real functions, and the
 * configuration slots usable on their own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>
#include <vmm/vmm.h>

#include "config/cfgm_internal.h"

static void test_header(void **state)
{
    (void)state;
    PCVMMR3VTABLE vmm = VMMR3GetVTable();
    assert_non_null(vmm);
    assert_ptr_equal(vmm, VMMR3GetVTable());
    assert_true(vmm->uMagicVersion == VMMR3VTABLE_MAGIC_VERSION);
    assert_true(vmm->uMagicVersionEnd == VMMR3VTABLE_MAGIC_VERSION);
    assert_true(VMMR3VTABLE_MAGIC_VERSION == UINT64_C(0x0003000019900525));
    assert_true(vmm->fFlags == 0);
    assert_string_equal(vmm->pszDescription, "x86 & amd64");
    assert_true(VMMR3VTABLE_IS_COMPATIBLE(vmm->uMagicVersion));
}

static void test_compatibility_rule(void **state)
{
    (void)state;
    const uint64_t table = RT_MAKE_U64(0x19900525, 0x00030002);    /* 3.2 */
    /* Same major, client minor <= table minor: compatible. */
    assert_true(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900525, 0x00030000)));
    assert_true(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900525, 0x00030002)));
    /* Newer client minor, other major, other magic: not. */
    assert_false(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900525, 0x00030003)));
    assert_false(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900525, 0x00020000)));
    assert_false(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900525, 0x00040000)));
    assert_false(VMMR3VTABLE_IS_COMPATIBLE_EX(table, RT_MAKE_U64(0x19900526, 0x00030000)));
}

/* Every function slot between the header and the end marker is set. */
static void test_every_slot_filled(void **state)
{
    (void)state;
    PCVMMR3VTABLE vmm = VMMR3GetVTable();
    size_t first = offsetof(VMMR3VTABLE, pfnVMR3Create);
    size_t end = offsetof(VMMR3VTABLE, uMagicVersionEnd);
    size_t slots = (end - first) / sizeof(void (*)(void));
    assert_int_equal(slots, 54 + 12);     /* VM section + configuration section */

    const unsigned char *base = (const unsigned char *)vmm;
    for (size_t i = 0; i < slots; i++) {
        void (*fn)(void);
        memcpy(&fn, base + first + i * sizeof(fn), sizeof(fn));
        if (!fn)
            fail_msg("slot %zu is NULL", i);
    }
}

static void test_slots_are_the_real_functions(void **state)
{
    (void)state;
    PCVMMR3VTABLE vmm = VMMR3GetVTable();
    assert_true(vmm->pfnVMR3Create == VMR3Create);
    assert_true(vmm->pfnVMR3PowerOn == VMR3PowerOn);
    assert_true(vmm->pfnVMR3GetStateName == VMR3GetStateName);
    assert_true(vmm->pfnVMR3ReqCallWaitU == VMR3ReqCallWaitU);
    assert_true(vmm->pfnVMR3SetPowerOffInsteadOfReset == VMR3SetPowerOffInsteadOfReset);
    assert_true(vmm->pfnCFGMR3ConstructDefaultTree == CFGMR3ConstructDefaultTree);
    assert_true(vmm->pfnCFGMR3GetRoot == CFGMR3GetRoot);
    assert_true(vmm->pfnCFGMR3QueryBytes == CFGMR3QueryBytes);
}

/* What a CFGM constructor does through the table. */
static void test_cfgm_through_table(void **state)
{
    (void)state;
    PCVMMR3VTABLE vmm = VMMR3GetVTable();
    PCFGMNODE root = cfgm_create_tree();
    PCFGMNODE boot = NULL;
    uint64_t u64 = 0;
    char buf[16];
    uint8_t bytes[4];

    assert_int_equal(vmm->pfnCFGMR3InsertNode(root, "Boot", &boot), VINF_SUCCESS);
    assert_ptr_equal(vmm->pfnCFGMR3GetChild(root, "Boot"), boot);
    assert_int_equal(vmm->pfnCFGMR3InsertInteger(boot, "LoadAddress", 0x7c00), VINF_SUCCESS);
    assert_int_equal(vmm->pfnCFGMR3InsertString(boot, "Mode", "real"), VINF_SUCCESS);
    assert_int_equal(vmm->pfnCFGMR3InsertBytes(root, "UUID", "\1\2\3\4", 4), VINF_SUCCESS);
    assert_int_equal(vmm->pfnCFGMR3QueryInteger(boot, "LoadAddress", &u64), VINF_SUCCESS);
    assert_true(u64 == 0x7c00);
    assert_int_equal(vmm->pfnCFGMR3QueryString(boot, "Mode", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "real");
    assert_int_equal(vmm->pfnCFGMR3QueryBytes(root, "UUID", bytes, sizeof(bytes)), VINF_SUCCESS);
    assert_memory_equal(bytes, "\1\2\3\4", 4);
    assert_int_equal(vmm->pfnCFGMR3RemoveValue(boot, "Mode"), VINF_SUCCESS);
    assert_int_equal(vmm->pfnCFGMR3QueryString(boot, "Mode", buf, sizeof(buf)), VERR_CFGM_VALUE_NOT_FOUND);
    assert_null(vmm->pfnCFGMR3GetRoot(NULL));
    assert_null(vmm->pfnCFGMR3GetRootU(NULL));
    cfgm_destroy_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_compatibility_rule),
        cmocka_unit_test(test_every_slot_filled),
        cmocka_unit_test(test_slots_are_the_real_functions),
        cmocka_unit_test(test_cfgm_through_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
