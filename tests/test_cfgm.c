/*
 * The configuration tree (CFGM): every function, every status it returns,
 * paths, defaults, value types, removal, iteration, NULL handling, a VM's
 * root and the default tree, and a 10,000-node tree built and freed (leaks
 * show up under the ASan build).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>

#include "config/cfgm_internal.h"
#include "core/vm_internal.h"

static int setup_tree(void **state)
{
    *state = cfgm_create_tree();
    return *state ? 0 : -1;
}

static int teardown_tree(void **state)
{
    cfgm_destroy_tree(*state);
    return 0;
}

static size_t count_children(PCFGMNODE node)
{
    size_t n = 0;
    for (PCFGMNODE c = CFGMR3GetFirstChild(node); c; c = CFGMR3GetNextChild(c))
        n++;
    return n;
}

static size_t count_values(PCFGMNODE node)
{
    size_t n = 0;
    for (PCFGMLEAF l = CFGMR3GetFirstValue(node); l; l = CFGMR3GetNextValue(l))
        n++;
    return n;
}

/* --- integers --- */

static void test_integer(void **state)
{
    PCFGMNODE root = *state;
    uint64_t u64 = 0;
    CFGMVALUETYPE type = 0;
    size_t cb = 0;

    assert_int_equal(CFGMR3InsertInteger(root, "Big", UINT64_MAX), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryInteger(root, "Big", &u64), VINF_SUCCESS);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(CFGMR3QueryU64(root, "Big", &u64), VINF_SUCCESS);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(CFGMR3QueryType(root, "Big", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_INTEGER);
    assert_int_equal(CFGMR3QuerySize(root, "Big", &cb), VINF_SUCCESS);
    assert_int_equal(cb, sizeof(uint64_t));
    assert_true(CFGMR3Exists(root, "Big"));
    assert_false(CFGMR3Exists(root, "big"));      /* names are case-sensitive */

    assert_int_equal(CFGMR3InsertInteger(root, "Big", 1), VERR_CFGM_LEAF_EXISTS);
    assert_int_equal(CFGMR3QueryInteger(root, "Missing", &u64), VERR_CFGM_VALUE_NOT_FOUND);
    assert_int_equal(CFGMR3QueryType(root, "Missing", &type), VERR_CFGM_VALUE_NOT_FOUND);
    assert_int_equal(CFGMR3QuerySize(root, "Missing", &cb), VERR_CFGM_VALUE_NOT_FOUND);
    assert_int_equal(CFGMR3InsertInteger(root, "", 1), VERR_CFGM_INVALID_CHILD_PATH);

    /* Defaults only for a missing value. */
    assert_int_equal(CFGMR3QueryIntegerDef(root, "Big", &u64, 7), VINF_SUCCESS);
    assert_true(u64 == UINT64_MAX);
    assert_int_equal(CFGMR3QueryIntegerDef(root, "Missing", &u64, 7), VINF_SUCCESS);
    assert_true(u64 == 7);
    assert_int_equal(CFGMR3QueryU64Def(root, "Missing", &u64, 8), VINF_SUCCESS);
    assert_true(u64 == 8);
}

static void test_narrow_integers(void **state)
{
    PCFGMNODE root = *state;
    uint32_t u32 = 0;
    uint16_t u16 = 0;
    uint8_t u8 = 0;

    assert_int_equal(CFGMR3InsertInteger(root, "U32Max", UINT32_MAX), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "U32Over", (uint64_t)UINT32_MAX + 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "U16Max", UINT16_MAX), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "U16Over", UINT16_MAX + 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "U8Max", UINT8_MAX), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "U8Over", UINT8_MAX + 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(root, "Str", "12"), VINF_SUCCESS);

    assert_int_equal(CFGMR3QueryU32(root, "U32Max", &u32), VINF_SUCCESS);
    assert_true(u32 == UINT32_MAX);
    u32 = 5;
    assert_int_equal(CFGMR3QueryU32(root, "U32Over", &u32), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(u32, 5);       /* untouched on failure */
    assert_int_equal(CFGMR3QueryU16(root, "U16Max", &u16), VINF_SUCCESS);
    assert_int_equal(u16, UINT16_MAX);
    assert_int_equal(CFGMR3QueryU16(root, "U16Over", &u16), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(CFGMR3QueryU8(root, "U8Max", &u8), VINF_SUCCESS);
    assert_int_equal(u8, UINT8_MAX);
    assert_int_equal(CFGMR3QueryU8(root, "U8Over", &u8), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(CFGMR3QueryU8(root, "Str", &u8), VERR_CFGM_NOT_INTEGER);
    assert_int_equal(CFGMR3QueryU8(root, "Missing", &u8), VERR_CFGM_VALUE_NOT_FOUND);

    /* *Def: default for missing (success), and written on any failure. */
    assert_int_equal(CFGMR3QueryU32Def(root, "Missing", &u32, 42), VINF_SUCCESS);
    assert_int_equal(u32, 42);
    assert_int_equal(CFGMR3QueryU32Def(root, "U32Max", &u32, 42), VINF_SUCCESS);
    assert_true(u32 == UINT32_MAX);
    assert_int_equal(CFGMR3QueryU32Def(root, "U32Over", &u32, 43), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(u32, 43);
    assert_int_equal(CFGMR3QueryU32Def(root, "Str", &u32, 44), VERR_CFGM_NOT_INTEGER);
    assert_int_equal(u32, 44);
    assert_int_equal(CFGMR3QueryU16Def(root, "Missing", &u16, 1000), VINF_SUCCESS);
    assert_int_equal(u16, 1000);
    assert_int_equal(CFGMR3QueryU16Def(root, "U16Over", &u16, 1001), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(u16, 1001);
    assert_int_equal(CFGMR3QueryU8Def(root, "Missing", &u8, 9), VINF_SUCCESS);
    assert_int_equal(u8, 9);
    assert_int_equal(CFGMR3QueryU8Def(root, "U8Over", &u8, 10), VERR_CFGM_INTEGER_TOO_BIG);
    assert_int_equal(u8, 10);
    assert_int_equal(CFGMR3QueryU8Def(root, "U8Max", &u8, 10), VINF_SUCCESS);
    assert_int_equal(u8, UINT8_MAX);
}

static void test_bool(void **state)
{
    PCFGMNODE root = *state;
    bool f = true;

    assert_int_equal(CFGMR3InsertInteger(root, "Zero", 0), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Two", 2), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "High", UINT64_C(1) << 63), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(root, "Str", "true"), VINF_SUCCESS);

    assert_int_equal(CFGMR3QueryBool(root, "Zero", &f), VINF_SUCCESS);
    assert_false(f);
    assert_int_equal(CFGMR3QueryBool(root, "Two", &f), VINF_SUCCESS);
    assert_true(f);
    f = false;
    assert_int_equal(CFGMR3QueryBool(root, "High", &f), VINF_SUCCESS);
    assert_true(f);
    assert_int_equal(CFGMR3QueryBool(root, "Str", &f), VERR_CFGM_NOT_INTEGER);
    assert_int_equal(CFGMR3QueryBool(root, "Missing", &f), VERR_CFGM_VALUE_NOT_FOUND);

    assert_int_equal(CFGMR3QueryBoolDef(root, "Missing", &f, true), VINF_SUCCESS);
    assert_true(f);
    assert_int_equal(CFGMR3QueryBoolDef(root, "Missing", &f, false), VINF_SUCCESS);
    assert_false(f);
    assert_int_equal(CFGMR3QueryBoolDef(root, "Zero", &f, true), VINF_SUCCESS);
    assert_false(f);
    assert_int_equal(CFGMR3QueryBoolDef(root, "Str", &f, true), VERR_CFGM_NOT_INTEGER);
    assert_true(f);
}

/* --- strings --- */

static void test_string(void **state)
{
    PCFGMNODE root = *state;
    char buf[16];
    size_t cb = 0;
    CFGMVALUETYPE type = 0;

    assert_int_equal(CFGMR3InsertString(root, "Name", "Petrel"), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryType(root, "Name", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_STRING);
    assert_int_equal(CFGMR3QuerySize(root, "Name", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 7);

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(CFGMR3QueryString(root, "Name", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "Petrel");
    for (size_t i = 7; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);   /* the rest is zero-filled */
    assert_int_equal(CFGMR3QueryString(root, "Name", buf, 7), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryString(root, "Name", buf, 6), VERR_CFGM_NOT_ENOUGH_SPACE);
    assert_int_equal(CFGMR3QueryString(root, "Name", NULL, 0), VERR_CFGM_NOT_ENOUGH_SPACE);
    assert_int_equal(CFGMR3QueryString(root, "Missing", buf, sizeof(buf)), VERR_CFGM_VALUE_NOT_FOUND);
    assert_int_equal(CFGMR3InsertString(root, "Name", "Other"), VERR_CFGM_LEAF_EXISTS);

    /* Empty strings are values too. */
    assert_int_equal(CFGMR3InsertString(root, "Empty", ""), VINF_SUCCESS);
    assert_int_equal(CFGMR3QuerySize(root, "Empty", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 1);
    assert_int_equal(CFGMR3QueryString(root, "Empty", buf, 1), VINF_SUCCESS);
    assert_string_equal(buf, "");

    /* InsertStringN: at most n characters, stopping at a terminator. */
    assert_int_equal(CFGMR3InsertStringN(root, "N3", "abcdef", 3), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryString(root, "N3", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "abc");
    assert_int_equal(CFGMR3InsertStringN(root, "NShort", "ab", 10), VINF_SUCCESS);
    assert_int_equal(CFGMR3QuerySize(root, "NShort", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 3);

    assert_int_equal(CFGMR3InsertStringF(root, "Fmt", "%s-%d", "vm", 42), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryString(root, "Fmt", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "vm-42");
    assert_int_equal(CFGMR3InsertStringF(root, "Fmt", "%d", 1), VERR_CFGM_LEAF_EXISTS);
    assert_int_equal(CFGMR3InsertString(root, "NullStr", NULL), VERR_INVALID_POINTER);
}

static void test_string_def(void **state)
{
    PCFGMNODE root = *state;
    char buf[8];

    assert_int_equal(CFGMR3InsertString(root, "Mode", "long"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Int", 1), VINF_SUCCESS);

    assert_int_equal(CFGMR3QueryStringDef(root, "Mode", buf, sizeof(buf), "real"), VINF_SUCCESS);
    assert_string_equal(buf, "long");
    assert_int_equal(CFGMR3QueryStringDef(root, "Missing", buf, sizeof(buf), "real"), VINF_SUCCESS);
    assert_string_equal(buf, "real");
    /* A default that does not fit. */
    assert_int_equal(CFGMR3QueryStringDef(root, "Missing", buf, sizeof(buf), "much too long"),
                     VERR_CFGM_NOT_ENOUGH_SPACE);
    /* The value exists but does not fit: no default. */
    assert_int_equal(CFGMR3QueryStringDef(root, "Mode", buf, 4, "x"), VERR_CFGM_NOT_ENOUGH_SPACE);
    /* Wrong type: the default is written, the error returned. */
    memset(buf, 0, sizeof(buf));
    assert_int_equal(CFGMR3QueryStringDef(root, "Int", buf, sizeof(buf), "def"), VERR_CFGM_NOT_STRING);
    assert_string_equal(buf, "def");
    /* NULL node: the default, success. */
    assert_int_equal(CFGMR3QueryStringDef(NULL, "Mode", buf, sizeof(buf), "none"), VINF_SUCCESS);
    assert_string_equal(buf, "none");
}

static void test_string_alloc(void **state)
{
    PCFGMNODE root = *state;
    char *psz = NULL;

    assert_int_equal(CFGMR3InsertString(root, "Image", "/boot/kernel.bin"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Int", 1), VINF_SUCCESS);

    assert_int_equal(CFGMR3QueryStringAlloc(root, "Image", &psz), VINF_SUCCESS);
    assert_string_equal(psz, "/boot/kernel.bin");
    MMR3HeapFree(psz);
    psz = (char *)"untouched";
    assert_int_equal(CFGMR3QueryStringAlloc(root, "Missing", &psz), VERR_CFGM_VALUE_NOT_FOUND);
    assert_string_equal(psz, "untouched");
    assert_int_equal(CFGMR3QueryStringAlloc(root, "Int", &psz), VERR_CFGM_NOT_STRING);
    assert_int_equal(CFGMR3QueryStringAlloc(NULL, "Image", &psz), VERR_CFGM_NO_PARENT);

    assert_int_equal(CFGMR3QueryStringAllocDef(root, "Image", &psz, "def"), VINF_SUCCESS);
    assert_string_equal(psz, "/boot/kernel.bin");
    MMR3HeapFree(psz);
    assert_int_equal(CFGMR3QueryStringAllocDef(root, "Missing", &psz, "def"), VINF_SUCCESS);
    assert_string_equal(psz, "def");
    MMR3HeapFree(psz);
    assert_int_equal(CFGMR3QueryStringAllocDef(root, "Missing", &psz, NULL), VINF_SUCCESS);
    assert_null(psz);
    assert_int_equal(CFGMR3QueryStringAllocDef(NULL, "Image", &psz, "nonode"), VINF_SUCCESS);
    assert_string_equal(psz, "nonode");
    MMR3HeapFree(psz);
    assert_int_equal(CFGMR3QueryStringAllocDef(root, "Int", &psz, "wrongtype"), VERR_CFGM_NOT_STRING);
    assert_string_equal(psz, "wrongtype");
    MMR3HeapFree(psz);
    MMR3HeapFree(NULL);
}

static void test_password(void **state)
{
    PCFGMNODE root = *state;
    CFGMVALUETYPE type = 0;
    size_t cb = 0;
    char buf[32];

    assert_int_equal(CFGMR3InsertPassword(root, "Secret", "hunter2"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertPassword(root, "Secret", "again"), VERR_CFGM_LEAF_EXISTS);
    assert_int_equal(CFGMR3QueryType(root, "Secret", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_PASSWORD);
    assert_int_equal(CFGMR3QuerySize(root, "Secret", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 8);
    /* A password is not a plain string. */
    assert_int_equal(CFGMR3QueryString(root, "Secret", buf, sizeof(buf)), VERR_CFGM_NOT_STRING);
    assert_int_equal(CFGMR3GetValueType(CFGMR3GetFirstValue(root)), CFGMVALUETYPE_PASSWORD);
}

/* --- bytes --- */

static void test_bytes(void **state)
{
    PCFGMNODE root = *state;
    static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    uint8_t buf[20];
    size_t cb = 0;
    CFGMVALUETYPE type = 0;

    assert_int_equal(CFGMR3InsertBytes(root, "UUID", uuid, sizeof(uuid)), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertBytes(root, "UUID", uuid, 1), VERR_CFGM_LEAF_EXISTS);
    assert_int_equal(CFGMR3QueryType(root, "UUID", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_BYTES);
    assert_int_equal(CFGMR3QuerySize(root, "UUID", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 16);

    assert_int_equal(CFGMR3QueryBytes(root, "UUID", buf, 16), VINF_SUCCESS);
    assert_memory_equal(buf, uuid, 16);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(CFGMR3QueryBytes(root, "UUID", buf, sizeof(buf)), VINF_SUCCESS);
    assert_memory_equal(buf, uuid, 16);
    for (size_t i = 16; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);   /* zero-padded */
    assert_int_equal(CFGMR3QueryBytes(root, "UUID", buf, 15), VERR_CFGM_NOT_ENOUGH_SPACE);
    assert_int_equal(CFGMR3QueryBytes(root, "Missing", buf, 16), VERR_CFGM_VALUE_NOT_FOUND);

    /* Short values zero-pad (a UUID of fewer than 16 bytes). */
    assert_int_equal(CFGMR3InsertBytes(root, "Short", uuid, 4), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryBytes(root, "Short", buf, 16), VINF_SUCCESS);
    assert_memory_equal(buf, uuid, 4);
    assert_int_equal(buf[4], 0);
    assert_int_equal(buf[15], 0);

    /* Empty byte strings. */
    assert_int_equal(CFGMR3InsertBytes(root, "None", NULL, 0), VINF_SUCCESS);
    assert_int_equal(CFGMR3QuerySize(root, "None", &cb), VINF_SUCCESS);
    assert_int_equal(cb, 0);
    assert_int_equal(CFGMR3QueryBytes(root, "None", NULL, 0), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertBytes(root, "Bad", NULL, 4), VERR_INVALID_POINTER);
}

static void test_type_errors(void **state)
{
    PCFGMNODE root = *state;
    uint64_t u64;
    char buf[16];
    uint8_t bytes[16];

    assert_int_equal(CFGMR3InsertInteger(root, "Int", 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(root, "Str", "s"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertBytes(root, "Bytes", "b", 1), VINF_SUCCESS);

    assert_int_equal(CFGMR3QueryInteger(root, "Str", &u64), VERR_CFGM_NOT_INTEGER);
    assert_int_equal(CFGMR3QueryInteger(root, "Bytes", &u64), VERR_CFGM_NOT_INTEGER);
    assert_int_equal(CFGMR3QueryString(root, "Int", buf, sizeof(buf)), VERR_CFGM_NOT_STRING);
    assert_int_equal(CFGMR3QueryString(root, "Bytes", buf, sizeof(buf)), VERR_CFGM_NOT_STRING);
    assert_int_equal(CFGMR3QueryBytes(root, "Int", bytes, sizeof(bytes)), VERR_CFGM_NOT_BYTES);
    assert_int_equal(CFGMR3QueryBytes(root, "Str", bytes, sizeof(bytes)), VERR_CFGM_NOT_BYTES);
    /* Wrong type is not "missing": *Def reports it but stores the default. */
    assert_int_equal(CFGMR3QueryIntegerDef(root, "Str", &u64, 99), VERR_CFGM_NOT_INTEGER);
    assert_true(u64 == 99);
    /* Values and nodes live in separate name spaces. */
    assert_int_equal(CFGMR3InsertNode(root, "Int", NULL), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Int", 2), VERR_CFGM_LEAF_EXISTS);
}

/* --- nodes and paths --- */

static void test_nodes_and_paths(void **state)
{
    PCFGMNODE root = *state;
    PCFGMNODE a = NULL, c = NULL, d = NULL, out = (PCFGMNODE)1;

    assert_int_equal(CFGMR3InsertNode(root, "A", &a), VINF_SUCCESS);
    assert_non_null(a);
    assert_ptr_equal(CFGMR3GetParent(a), root);
    assert_null(CFGMR3GetParent(root));
    assert_int_equal(CFGMR3InsertNode(root, "A", &out), VERR_CFGM_NODE_EXISTS);
    assert_null(out);

    /* A path creates the missing intermediate nodes. */
    assert_int_equal(CFGMR3InsertNode(root, "A/B/C", &c), VINF_SUCCESS);
    PCFGMNODE b = CFGMR3GetChild(a, "B");
    assert_non_null(b);
    assert_ptr_equal(CFGMR3GetParent(c), b);
    assert_int_equal(CFGMR3InsertNode(root, "/A/B/D/", &d), VINF_SUCCESS);
    assert_ptr_equal(CFGMR3GetParent(d), b);
    assert_int_equal(CFGMR3InsertNode(root, "A/B/C", NULL), VERR_CFGM_NODE_EXISTS);
    assert_int_equal(CFGMR3InsertNode(a, "B//C", NULL), VERR_CFGM_NODE_EXISTS);
    assert_int_equal(CFGMR3InsertNode(root, "", NULL), VERR_CFGM_INVALID_NODE_PATH);
    assert_int_equal(CFGMR3InsertNode(root, "///", NULL), VERR_CFGM_INVALID_NODE_PATH);

    /* Lookups: relative, leading slash, doubled slashes. */
    assert_ptr_equal(CFGMR3GetChild(root, "A/B/C"), c);
    assert_ptr_equal(CFGMR3GetChild(root, "/A/B/C"), c);
    assert_ptr_equal(CFGMR3GetChild(root, "A//B///C/"), c);
    assert_ptr_equal(CFGMR3GetChild(a, "B/C"), c);
    assert_ptr_equal(CFGMR3GetChild(b, "D"), d);
    assert_null(CFGMR3GetChild(root, "A/X"));
    assert_null(CFGMR3GetChild(root, "a"));
    assert_null(CFGMR3GetChild(root, ""));
    assert_null(CFGMR3GetChild(root, "/"));
    assert_null(CFGMR3GetChild(root, NULL));
    assert_ptr_equal(CFGMR3GetChildF(root, "%s/%c/%s", "A", 'B', "C"), c);
    assert_null(CFGMR3GetChildF(root, "A/%d", 7));

    PCFGMNODE inst = NULL;
    assert_int_equal(CFGMR3InsertNodeF(root, &inst, "Devices/%s/%u", "uart", 0u), VINF_SUCCESS);
    assert_ptr_equal(CFGMR3GetChild(root, "Devices/uart/0"), inst);
    assert_int_equal(CFGMR3InsertNodeF(root, &inst, "Devices/%s/%u", "uart", 0u), VERR_CFGM_NODE_EXISTS);
    assert_null(inst);
}

static void test_value_paths(void **state)
{
    PCFGMNODE root = *state;
    char buf[32];
    uint64_t u64 = 0;

    /* Inserting through a path creates the nodes on the way. */
    assert_int_equal(CFGMR3InsertString(root, "Boot/Image", "kernel"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "/Boot/LoadAddress", 0x100000), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(root, "Devices/debugcon/0/Config/Output", "stdout"), VINF_SUCCESS);
    PCFGMNODE boot = CFGMR3GetChild(root, "Boot");
    assert_non_null(boot);
    assert_int_equal(count_values(boot), 2);

    assert_int_equal(CFGMR3QueryString(root, "Boot/Image", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "kernel");
    assert_int_equal(CFGMR3QueryString(root, "/Boot/Image", buf, sizeof(buf)), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryString(boot, "Image", buf, sizeof(buf)), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryInteger(root, "Boot/LoadAddress", &u64), VINF_SUCCESS);
    assert_true(u64 == 0x100000);
    PCFGMNODE cfg = CFGMR3GetChild(root, "Devices/debugcon/0/Config");
    assert_int_equal(CFGMR3QueryString(cfg, "Output", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "stdout");
    assert_true(CFGMR3Exists(root, "Boot/Image"));
    assert_false(CFGMR3Exists(root, "Boot/Entry"));

    /* A missing node on the way is a missing value, so defaults apply. */
    assert_int_equal(CFGMR3QueryInteger(root, "Nope/Image", &u64), VERR_CFGM_VALUE_NOT_FOUND);
    assert_int_equal(CFGMR3QueryIntegerDef(root, "Nope/Entry", &u64, 5), VINF_SUCCESS);
    assert_true(u64 == 5);
    assert_int_equal(CFGMR3QueryStringDef(root, "Boot/Mode", buf, sizeof(buf), "long"), VINF_SUCCESS);
    assert_string_equal(buf, "long");

    assert_int_equal(CFGMR3InsertString(root, "Boot/Image", "again"), VERR_CFGM_LEAF_EXISTS);
    assert_int_equal(CFGMR3InsertString(root, "Boot/", "x"), VERR_CFGM_INVALID_CHILD_PATH);

    assert_int_equal(CFGMR3RemoveValue(root, "Boot/Image"), VINF_SUCCESS);
    assert_false(CFGMR3Exists(boot, "Image"));
    assert_int_equal(count_values(boot), 1);
    assert_int_equal(CFGMR3RemoveValue(root, "Boot/Image"), VERR_CFGM_VALUE_NOT_FOUND);
}

/* --- NULL handling --- */

static void test_null_node(void **state)
{
    (void)state;
    uint64_t u64 = 1;
    uint32_t u32 = 1;
    uint16_t u16 = 1;
    uint8_t u8 = 1;
    bool f = false;
    char buf[8];
    size_t cb;
    CFGMVALUETYPE type;
    PCFGMNODE child = (PCFGMNODE)1;

    assert_int_equal(CFGMR3QueryType(NULL, "X", &type), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QuerySize(NULL, "X", &cb), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryInteger(NULL, "X", &u64), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryU64(NULL, "X", &u64), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryU32(NULL, "X", &u32), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryU16(NULL, "X", &u16), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryU8(NULL, "X", &u8), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryBool(NULL, "X", &f), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryString(NULL, "X", buf, sizeof(buf)), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3QueryBytes(NULL, "X", buf, sizeof(buf)), VERR_CFGM_NO_PARENT);

    /* The *Def variants write their default and succeed. */
    assert_int_equal(CFGMR3QueryIntegerDef(NULL, "X", &u64, 11), VINF_SUCCESS);
    assert_true(u64 == 11);
    assert_int_equal(CFGMR3QueryU64Def(NULL, "X", &u64, 12), VINF_SUCCESS);
    assert_true(u64 == 12);
    assert_int_equal(CFGMR3QueryU32Def(NULL, "X", &u32, 13), VINF_SUCCESS);
    assert_int_equal(u32, 13);
    assert_int_equal(CFGMR3QueryU16Def(NULL, "X", &u16, 14), VINF_SUCCESS);
    assert_int_equal(u16, 14);
    assert_int_equal(CFGMR3QueryU8Def(NULL, "X", &u8, 15), VINF_SUCCESS);
    assert_int_equal(u8, 15);
    assert_int_equal(CFGMR3QueryBoolDef(NULL, "X", &f, true), VINF_SUCCESS);
    assert_true(f);

    assert_int_equal(CFGMR3InsertNode(NULL, "X", &child), VERR_CFGM_NO_PARENT);
    assert_null(child);
    assert_int_equal(CFGMR3InsertNodeF(NULL, NULL, "X%d", 1), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertInteger(NULL, "X", 1), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertString(NULL, "X", "s"), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertStringN(NULL, "X", "s", 1), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertStringF(NULL, "X", "%d", 1), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertPassword(NULL, "X", "s"), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3InsertBytes(NULL, "X", "b", 1), VERR_CFGM_NO_PARENT);
    assert_int_equal(CFGMR3RemoveValue(NULL, "X"), VERR_CFGM_NO_PARENT);
    CFGMR3RemoveNode(NULL);

    assert_false(CFGMR3Exists(NULL, "X"));
    assert_null(CFGMR3GetParent(NULL));
    assert_null(CFGMR3GetChild(NULL, "X"));
    assert_null(CFGMR3GetChildF(NULL, "X%d", 1));
    assert_null(CFGMR3GetFirstChild(NULL));
    assert_null(CFGMR3GetNextChild(NULL));
    assert_null(CFGMR3GetFirstValue(NULL));
    assert_null(CFGMR3GetNextValue(NULL));
    assert_int_equal(CFGMR3GetName(NULL, buf, sizeof(buf)), VERR_CFGM_NO_NODE);
    assert_int_equal(CFGMR3GetNameLen(NULL), 0);
    assert_int_equal(CFGMR3GetValueName(NULL, buf, sizeof(buf)), VERR_CFGM_NO_NODE);
    assert_int_equal(CFGMR3GetValueType(NULL), 0);
    assert_null(CFGMR3GetRoot(NULL));
    assert_null(CFGMR3GetRootU(NULL));
    assert_int_equal(CFGMR3ConstructDefaultTree(NULL), VERR_INVALID_VM_HANDLE);
    CFGMR3Dump(NULL);
    cfgm_destroy_tree(NULL);
    cfgm_term(NULL);
    assert_int_equal(cfgm_init(NULL), VERR_INVALID_PARAMETER);
}

static void test_null_arguments(void **state)
{
    PCFGMNODE root = *state;
    assert_int_equal(CFGMR3InsertInteger(root, "V", 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3QueryInteger(root, NULL, &(uint64_t){0}), VERR_INVALID_POINTER);
    assert_int_equal(CFGMR3QueryInteger(root, "V", NULL), VERR_INVALID_POINTER);
    assert_int_equal(CFGMR3QuerySize(root, "V", NULL), VERR_INVALID_POINTER);
    assert_int_equal(CFGMR3QueryStringAlloc(root, "V", NULL), VERR_INVALID_POINTER);
    assert_int_equal(CFGMR3InsertInteger(root, NULL, 1), VERR_INVALID_POINTER);
    assert_int_equal(CFGMR3InsertNode(root, NULL, NULL), VERR_INVALID_POINTER);
    assert_false(CFGMR3Exists(root, NULL));
}

/* --- iteration, names --- */

static void test_iteration_is_sorted(void **state)
{
    PCFGMNODE root = *state;
    static const char *const names[] = { "pci", "Boot", "ab", "a", "b", "EM", "abc", "HM" };
    static const char *const sorted[] = { "Boot", "EM", "HM", "a", "ab", "abc", "b", "pci" };

    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(CFGMR3InsertNode(root, names[i], NULL), VINF_SUCCESS);
        assert_int_equal(CFGMR3InsertInteger(root, names[i], i), VINF_SUCCESS);
    }

    char buf[16];
    size_t i = 0;
    for (PCFGMNODE c = CFGMR3GetFirstChild(root); c; c = CFGMR3GetNextChild(c), i++) {
        assert_int_equal(CFGMR3GetName(c, buf, sizeof(buf)), VINF_SUCCESS);
        assert_string_equal(buf, sorted[i]);
        assert_int_equal(CFGMR3GetNameLen(c), strlen(sorted[i]) + 1);
        assert_ptr_equal(CFGMR3GetParent(c), root);
    }
    assert_int_equal(i, 8);

    i = 0;
    for (PCFGMLEAF l = CFGMR3GetFirstValue(root); l; l = CFGMR3GetNextValue(l), i++) {
        assert_int_equal(CFGMR3GetValueName(l, buf, sizeof(buf)), VINF_SUCCESS);
        assert_string_equal(buf, sorted[i]);
        assert_int_equal(CFGMR3GetValueType(l), CFGMVALUETYPE_INTEGER);
    }
    assert_int_equal(i, 8);

    /* A name that does not fit is not copied at all. */
    PCFGMNODE boot = CFGMR3GetChild(root, "Boot");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(CFGMR3GetName(boot, buf, 4), VERR_CFGM_NOT_ENOUGH_SPACE);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(CFGMR3GetName(boot, buf, 5), VINF_SUCCESS);
    assert_string_equal(buf, "Boot");
    assert_int_equal(CFGMR3GetName(boot, NULL, 0), VERR_CFGM_NOT_ENOUGH_SPACE);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(CFGMR3GetValueName(CFGMR3GetFirstValue(root), buf, 2), VERR_CFGM_NOT_ENOUGH_SPACE);
    assert_int_equal(buf[0], 'x');

    /* The root's name is empty. */
    assert_int_equal(CFGMR3GetName(root, buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "");
    assert_int_equal(CFGMR3GetNameLen(root), 1);
}

/* --- removal --- */

static void test_remove(void **state)
{
    PCFGMNODE root = *state;
    PCFGMNODE sub = NULL;

    assert_int_equal(CFGMR3InsertInteger(root, "Keep", 1), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Drop", 2), VINF_SUCCESS);
    assert_int_equal(CFGMR3RemoveValue(root, "Drop"), VINF_SUCCESS);
    assert_false(CFGMR3Exists(root, "Drop"));
    assert_true(CFGMR3Exists(root, "Keep"));
    assert_int_equal(CFGMR3RemoveValue(root, "Drop"), VERR_CFGM_VALUE_NOT_FOUND);
    /* Removed names can be used again. */
    assert_int_equal(CFGMR3InsertString(root, "Drop", "back"), VINF_SUCCESS);

    /* A whole subtree, with every value type. */
    assert_int_equal(CFGMR3InsertNode(root, "Sub", &sub), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertNode(root, "Sibling", NULL), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertNode(root, "Zeta", NULL), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(sub, "S", "s"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertPassword(sub, "P", "p"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertBytes(sub, "B", "bb", 2), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(sub, "Deep/Er/I", 3), VINF_SUCCESS);
    assert_int_equal(count_children(root), 3);
    CFGMR3RemoveNode(sub);
    assert_null(CFGMR3GetChild(root, "Sub"));
    assert_non_null(CFGMR3GetChild(root, "Sibling"));
    assert_non_null(CFGMR3GetChild(root, "Zeta"));
    assert_int_equal(count_children(root), 2);

    /* First and last children. */
    CFGMR3RemoveNode(CFGMR3GetChild(root, "Sibling"));
    CFGMR3RemoveNode(CFGMR3GetChild(root, "Zeta"));
    assert_null(CFGMR3GetFirstChild(root));
    assert_int_equal(CFGMR3InsertNode(root, "Sub", NULL), VINF_SUCCESS);
}

/* --- a large tree --- */

static void test_large_tree(void **state)
{
    (void)state;
    PCFGMNODE root = cfgm_create_tree();
    assert_non_null(root);

    /* 100 x 100 = 10,000 nodes, each with two values. */
    for (unsigned i = 0; i < 100; i++) {
        PCFGMNODE group = NULL;
        assert_int_equal(CFGMR3InsertNodeF(root, &group, "g%03u", 99 - i), VINF_SUCCESS);
        for (unsigned j = 0; j < 100; j++) {
            PCFGMNODE leaf_node = NULL;
            assert_int_equal(CFGMR3InsertNodeF(group, &leaf_node, "n%u", j), VINF_SUCCESS);
            assert_int_equal(CFGMR3InsertInteger(leaf_node, "Index", i * 100 + j), VINF_SUCCESS);
            assert_int_equal(CFGMR3InsertStringF(leaf_node, "Name", "node-%u-%u", i, j), VINF_SUCCESS);
        }
    }
    assert_int_equal(count_children(root), 100);
    uint64_t u64 = 0;
    assert_int_equal(CFGMR3QueryInteger(CFGMR3GetChild(root, "g042/n7"), "Index", &u64), VINF_SUCCESS);
    assert_true(u64 == (99 - 42) * 100 + 7);
    char buf[32];
    assert_int_equal(CFGMR3QueryString(root, "g000/n99/Name", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "node-99-99");
    cfgm_destroy_tree(root);

    /* A chain 10,000 deep frees without recursion. */
    root = cfgm_create_tree();
    PCFGMNODE cur = root;
    for (unsigned i = 0; i < 10000; i++) {
        assert_int_equal(CFGMR3InsertNode(cur, "d", &cur), VINF_SUCCESS);
        assert_int_equal(CFGMR3InsertInteger(cur, "Depth", i), VINF_SUCCESS);
    }
    assert_int_equal(CFGMR3QueryInteger(cur, "Depth", &u64), VINF_SUCCESS);
    assert_true(u64 == 9999);
    cfgm_destroy_tree(root);
}

/* --- a VM's root and the default tree --- */

static void test_vm_root_and_default_tree(void **state)
{
    (void)state;
    struct VM *vm = calloc(1, sizeof(*vm));
    struct UVM *uvm = calloc(1, sizeof(*uvm));
    assert_non_null(vm);
    assert_non_null(uvm);

    assert_int_equal(cfgm_init(vm), VINF_SUCCESS);
    PCFGMNODE root = CFGMR3GetRoot(vm);
    assert_non_null(root);
    assert_ptr_equal(root, vm->cfg_root);
    assert_null(CFGMR3GetFirstChild(root));
    assert_null(CFGMR3GetFirstValue(root));

    /* GetRootU validates the handle. */
    assert_null(CFGMR3GetRootU(uvm));            /* no magic */
    uvm->u32Magic = UVM_MAGIC;
    assert_null(CFGMR3GetRootU(uvm));            /* no VM */
    uvm->pVM = vm;
    vm->pUVM = uvm;
    assert_ptr_equal(CFGMR3GetRootU(uvm), root);
    uvm->u32Magic = UVM_MAGIC_DEAD;
    assert_null(CFGMR3GetRootU(uvm));

    assert_int_equal(CFGMR3ConstructDefaultTree(vm), VINF_SUCCESS);
    char buf[32];
    uint64_t u64 = 0;
    assert_int_equal(CFGMR3QueryString(root, "Name", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "Default VM");
    assert_int_equal(CFGMR3QueryInteger(root, "RamSize", &u64), VINF_SUCCESS);
    assert_true(u64 == UINT64_C(128) << 20);
    assert_int_equal(CFGMR3QueryInteger(root, "RamHoleSize", &u64), VINF_SUCCESS);
    assert_true(u64 == UINT64_C(512) << 20);
    assert_int_equal(CFGMR3QueryInteger(root, "TimerMillies", &u64), VINF_SUCCESS);
    assert_true(u64 == 10);
    assert_int_equal(CFGMR3QueryString(root, "ExecEngine", buf, sizeof(buf)), VINF_SUCCESS);
    assert_string_equal(buf, "auto");
    assert_int_equal(CFGMR3QueryInteger(root, "HM/FallbackToIEM", &u64), VINF_SUCCESS);
    assert_true(u64 == 1);
    bool f = true;
    assert_int_equal(CFGMR3QueryBool(root, "/EM/TripleFaultReset", &f), VINF_SUCCESS);
    assert_false(f);
    PCFGMNODE devices = CFGMR3GetChild(root, "Devices");
    assert_non_null(devices);
    assert_null(CFGMR3GetFirstChild(devices));
    assert_false(CFGMR3Exists(root, "NumCPUs"));

    /* A second time collides with the first. */
    assert_int_equal(CFGMR3ConstructDefaultTree(vm), VERR_CFGM_LEAF_EXISTS);

    /* Removing the root clears the VM's pointer; term copes with that. */
    CFGMR3RemoveNode(root);
    assert_null(vm->cfg_root);
    assert_null(CFGMR3GetRoot(vm));
    assert_int_equal(CFGMR3ConstructDefaultTree(vm), VERR_WRONG_ORDER);
    cfgm_term(vm);

    assert_int_equal(cfgm_init(vm), VINF_SUCCESS);
    assert_int_equal(CFGMR3ConstructDefaultTree(vm), VINF_SUCCESS);
    cfgm_term(vm);
    assert_null(vm->cfg_root);
    free(uvm);
    free(vm);
}

/* --- dump --- */

static void test_dump(void **state)
{
    PCFGMNODE root = *state;
    assert_int_equal(CFGMR3InsertString(root, "Name", "dumped"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertInteger(root, "Devices/uart/0/Config/IRQ", 4), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertPassword(root, "Secret", "hunter2"), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertBytes(root, "UUID", "\x01\xab", 2), VINF_SUCCESS);

    /* Catch stderr in a temporary file. */
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    CFGMR3Dump(root);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    char text[2048] = "";
    rewind(tmp);
    size_t n = fread(text, 1, sizeof(text) - 1, tmp);
    text[n] = '\0';
    fclose(tmp);

    assert_non_null(strstr(text, "[/]"));
    assert_non_null(strstr(text, "Name <string> = \"dumped\""));
    assert_non_null(strstr(text, "[/Devices/uart/0/Config]"));
    assert_non_null(strstr(text, "IRQ <integer> = 0x4 (4)"));
    assert_non_null(strstr(text, "UUID <bytes> = \"01 ab\""));
    assert_non_null(strstr(text, "Secret <password>"));
    assert_null(strstr(text, "hunter2"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_tree, teardown_tree)
    const struct CMUnitTest tests[] = {
        T(test_integer),
        T(test_narrow_integers),
        T(test_bool),
        T(test_string),
        T(test_string_def),
        T(test_string_alloc),
        T(test_password),
        T(test_bytes),
        T(test_type_errors),
        T(test_nodes_and_paths),
        T(test_value_paths),
        T(test_null_node),
        T(test_null_arguments),
        T(test_iteration_is_sorted),
        T(test_remove),
        cmocka_unit_test(test_large_tree),
        cmocka_unit_test(test_vm_root_and_default_tree),
        T(test_dump),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
