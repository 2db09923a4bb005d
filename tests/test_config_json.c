/*
 * `petrel run --config vm.json` (src/cli/config_json.c): valid trees land in
 * CFGM 1:1, values already present (the command line) are kept, and every
 * kind of bad file fails with one message naming the key and file:line.
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

#include "cli/config_json.h"
#include "cli/uuid_text.h"
#include "config/cfgm_internal.h"

struct fixture {
    PCFGMNODE root;
    char path[64];
    char err[1024];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->root = cfgm_create_tree();
    snprintf(f->path, sizeof(f->path), "/tmp/petrel-cfgjson-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0 || !f->root)
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    cfgm_destroy_tree(f->root);
    free(f);
    return 0;
}

static void write_file(struct fixture *f, const char *text, size_t len)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    fclose(fp);
}

/* Writes text and applies it; returns the status. */
static int apply(struct fixture *f, const char *text)
{
    write_file(f, text, strlen(text));
    f->err[0] = 0;
    return config_json_apply(f->path, f->root, f->err, sizeof(f->err));
}

/* The error names file:line and contains what. */
static void assert_error_at(struct fixture *f, unsigned line, const char *what)
{
    char where[128];
    snprintf(where, sizeof(where), "%s:%u:", f->path, line);
    if (!strstr(f->err, where) || !strstr(f->err, what))
        fail_msg("error '%s' lacks '%s' or '%s'", f->err, where, what);
}

static uint64_t query_int(PCFGMNODE root, const char *name)
{
    uint64_t v = 0xdeadbeef;
    assert_int_equal(CFGMR3QueryInteger(root, name, &v), VINF_SUCCESS);
    return v;
}

static void test_full_tree(void **state)
{
    struct fixture *f = *state;
    int rc = apply(f,
        "{\n"
        "  \"Name\": \"web-1\",\n"
        "  \"UUID\": \"12345678-9abc-def0-1122-334455667788\",\n"
        "  \"NumCPUs\": 2, \"RamSize\": 268435456, \"ExecEngine\": \"interp\",\n"
        "  \"CpuExecutionCap\": 50, \"PowerOffInsteadOfReset\": true,\n"
        "  \"EM\": { \"TripleFaultReset\": false },\n"
        "  \"Boot\": { \"Kernel\": \"/k\", \"Initrd\": \"/i\", \"CmdLine\": \"console=ttyS0 quiet\",\n"
        "            \"LoadAddress\": 1048576, \"Entry\": 1049088 },\n"
        "  \"Devices\": {\n"
        "    \"serial\": { \"0\": { \"Config\": { \"Port\": 1016, \"IRQ\": 4, \"Console\": \"stdio\" } },\n"
        "                \"1\": { \"Config\": { \"Port\": 760, \"IRQ\": 3, \"Console\": \"none\" } } },\n"
        "    \"acpi\": { \"0\": { \"Config\": { \"IoBase\": 1536 } } },\n"
        "    \"i8042\": { \"0\": {} }, \"rtc\": { \"0\": { \"Config\": {} } }, \"pci\": { \"0\": { \"Config\": {} } }\n"
        "  }\n"
        "}\n");
    assert_int_equal(rc, VINF_SUCCESS);
    char s[64];
    assert_int_equal(CFGMR3QueryString(f->root, "Name", s, sizeof(s)), VINF_SUCCESS);
    assert_string_equal(s, "web-1");
    assert_int_equal(query_int(f->root, "NumCPUs"), 2);
    assert_int_equal(query_int(f->root, "RamSize"), 268435456);
    assert_int_equal(query_int(f->root, "PowerOffInsteadOfReset"), 1);
    assert_int_equal(query_int(f->root, "EM/TripleFaultReset"), 0);
    assert_int_equal(query_int(f->root, "Boot/LoadAddress"), 0x100000);
    assert_int_equal(query_int(f->root, "Boot/Entry"), 0x100200);
    assert_int_equal(CFGMR3QueryString(f->root, "Boot/CmdLine", s, sizeof(s)), VINF_SUCCESS);
    assert_string_equal(s, "console=ttyS0 quiet");
    assert_int_equal(query_int(f->root, "Devices/serial/1/Config/Port"), 760);
    assert_int_equal(query_int(f->root, "Devices/acpi/0/Config/IoBase"), 0x600);
    assert_non_null(CFGMR3GetChild(f->root, "Devices/i8042/0"));
    assert_non_null(CFGMR3GetChild(f->root, "Devices/pci/0/Config"));
    CFGMVALUETYPE type;
    assert_int_equal(CFGMR3QueryType(f->root, "UUID", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_BYTES);
    RTUUID uuid;
    assert_int_equal(CFGMR3QueryBytes(f->root, "UUID", &uuid, sizeof(uuid)), VINF_SUCCESS);
    assert_int_equal(uuid.au8[0], 0x78);          /* IPRT layout: first group little-endian */
    assert_int_equal(uuid.au8[15], 0x88);
    char text[UUID_TEXT_LEN + 1];
    uuid_to_text(&uuid, text);
    assert_string_equal(text, "12345678-9abc-def0-1122-334455667788");
}

static void test_existing_values_kept(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(CFGMR3InsertInteger(f->root, "NumCPUs", 4), VINF_SUCCESS);
    assert_int_equal(CFGMR3InsertString(f->root, "Boot/CmdLine", "from the command line"), VINF_SUCCESS);
    assert_int_equal(apply(f, "{\"NumCPUs\": 1, \"RamSize\": 4096,\n"
                              " \"Boot\": {\"CmdLine\": \"from the file\", \"Initrd\": \"/x\"}}"), VINF_SUCCESS);
    assert_int_equal(query_int(f->root, "NumCPUs"), 4);
    assert_int_equal(query_int(f->root, "RamSize"), 4096);
    char s[64];
    assert_int_equal(CFGMR3QueryString(f->root, "Boot/CmdLine", s, sizeof(s)), VINF_SUCCESS);
    assert_string_equal(s, "from the command line");
    assert_int_equal(CFGMR3QueryString(f->root, "Boot/Initrd", s, sizeof(s)), VINF_SUCCESS);
    assert_string_equal(s, "/x");
}

static void test_unknown_keys(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "{\n  \"Name\": \"a\",\n\n  \"RamSise\": 1\n}"), VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    assert_error_at(f, 4, "/RamSise");
    assert_int_equal(apply(f, "{\"Devices\": {\n \"serial\": {\"0\": {\"Config\": {\"IRQ\": 4}}},\n"
                              " \"rtc\": {\"0\": {\"Config\": {\n   \"IRQ\": 8,\n   \"Baud\": 9600}}}}}"),
                     VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    assert_error_at(f, 5, "/Devices/rtc/0/Config/Baud");
    /* The same name deeper in another object is not mistaken for it. */
    assert_int_equal(apply(f, "{\"Boot\": {\"Image\": \"x\"},\n\"Image\": 1}"), VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    assert_error_at(f, 2, "/Image");
    assert_int_equal(apply(f, "{\"Devices\": {\"floppy\": {}}}"), VERR_CFGM_CONFIG_UNKNOWN_NODE);
    assert_error_at(f, 1, "/Devices/floppy");
    assert_int_equal(apply(f, "{\"Devices\": {\"serial\": {\"first\": {}}}}"), VERR_CFGM_CONFIG_UNKNOWN_NODE);
    assert_error_at(f, 1, "/Devices/serial/first");
    assert_int_equal(apply(f, "{\"Boot/Image\": \"x\"}"), VERR_CFGM_INVALID_NODE_PATH);
    assert_int_equal(apply(f, "{\"\": 1}"), VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    /* Key text inside a string value does not fool the line finder. */
    assert_int_equal(apply(f, "{\"Name\": \"\\\"Bogus\\\": 1\",\n \"Bogus\": 2}"), VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    assert_error_at(f, 2, "/Bogus");
    /* Nothing of a failed file is inserted. */
    assert_false(CFGMR3Exists(f->root, "Name"));
}

static void test_wrong_types(void **state)
{
    struct fixture *f = *state;
    static const struct { const char *json; int rc; unsigned line; const char *what; } cases[] = {
        { "{\n\"RamSize\": \"256M\"}", VERR_CFGM_NOT_INTEGER, 2, "expected an integer, not a string" },
        { "{\n\"RamSize\": 1.5}", VERR_CFGM_NOT_INTEGER, 2, "not a real number" },
        { "{\n\"RamSize\": -1}", VERR_OUT_OF_RANGE, 2, "out of range" },
        { "{\n\"NumCPUs\": 65}", VERR_OUT_OF_RANGE, 2, "out of range" },
        { "{\n\"Name\": 5}", VERR_CFGM_NOT_STRING, 2, "expected a string" },
        { "{\n\"Name\": null}", VERR_CFGM_NOT_STRING, 2, "not null" },
        { "{\n\"PowerOffInsteadOfReset\": 2}", VERR_CFGM_NOT_INTEGER, 2, "true or false" },
        { "{\n\"Boot\": \"x\"}", VERR_CFGM_NO_NODE, 2, "expected an object" },
        { "{\n\"Name\": {}}", VERR_CFGM_CONFIG_UNKNOWN_NODE, 2, "expected a value" },
        { "{\n\"Name\": [\"a\"]}", VERR_CFGM_NOT_STRING, 2, "/Name" },
        { "{\"Devices\": {\"serial\": {\"0\": {\"Config\":\n{\"Port\": 65536}}}}}", VERR_OUT_OF_RANGE, 2, "/Devices/serial/0/Config/Port" },
        { "{\n\"UUID\": \"not-a-uuid\"}", VERR_INVALID_UUID_FORMAT, 2, "is not a UUID" },
        { "{\n\"UUID\": \"12345678-9abc-def0-1122-33445566778g\"}", VERR_INVALID_UUID_FORMAT, 2, "is not a UUID" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = apply(f, cases[i].json);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, expected %d (%s)", i, rc, cases[i].rc, f->err);
        assert_error_at(f, cases[i].line, cases[i].what);
    }
    assert_int_equal(apply(f, "{\"UUID\": \"{12345678-9ABC-DEF0-1122-334455667788}\", \"KVM\": {\"IrqChip\": 1}}"),
                     VINF_SUCCESS);
    /* Boot/Entry is an address (flat images) or an entry name (Linux). */
    assert_int_equal(apply(f, "{\"Boot\": {\"Entry\": \"pvh\", \"StartAPs\": false}}"), VINF_SUCCESS);
    CFGMVALUETYPE type;
    assert_int_equal(CFGMR3QueryType(f->root, "Boot/Entry", &type), VINF_SUCCESS);
    assert_int_equal(type, CFGMVALUETYPE_STRING);
    assert_int_equal(apply(f, "{\"Boot\": {\"Entry\": true}}"), VERR_CFGM_NOT_INTEGER);
    assert_error_at(f, 1, "expected an integer or a string, not a boolean");
    assert_int_equal(apply(f, "{\"Boot\": {\"Entry\": -5}}"), VERR_OUT_OF_RANGE);
}

static void test_syntax_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(apply(f, "{\n  \"Name\": \"a\",\n  \"NumCPUs\": 1,\n}\n"), VERR_PARSE_ERROR);
    assert_error_at(f, 4, "JSON syntax error");
    assert_int_equal(apply(f, "{\"Name\": \"a\",\n \"Name\": \"b\"}"), VERR_PARSE_ERROR);
    assert_error_at(f, 2, "duplicate");
    assert_int_equal(apply(f, ""), VERR_PARSE_ERROR);
    assert_int_equal(apply(f, "[1, 2]"), VERR_PARSE_ERROR);
    assert_non_null(strstr(f->err, "top level must be an object"));
    assert_int_equal(apply(f, "{} {}"), VERR_PARSE_ERROR);
    assert_int_equal(apply(f, "{\"Name\": \"a\\u0000b\"}"), VERR_PARSE_ERROR);
    write_file(f, "{\"Name\": \"a\0b\"}", 15);
    assert_int_equal(config_json_apply(f->path, f->root, f->err, sizeof(f->err)), VERR_PARSE_ERROR);
    assert_int_equal(apply(f, "{\"Name\": \"\xff\xfe\"}"), VERR_PARSE_ERROR);
    assert_int_equal(apply(f, "{\"RamSize\": 99999999999999999999999}"), VERR_PARSE_ERROR);
    assert_int_equal(config_json_apply("/nonexistent/vm.json", f->root, f->err, sizeof(f->err)), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(f->err, "/nonexistent/vm.json"));
    assert_int_equal(config_json_apply("/tmp", f->root, f->err, sizeof(f->err)), VERR_READ_ERROR);
    /* A tiny error buffer is still a terminated string. */
    char small[8];
    assert_int_equal(config_json_apply("/nonexistent/vm.json", f->root, small, sizeof(small)), VERR_FILE_NOT_FOUND);
    assert_int_equal(strlen(small), 7);
}

static void test_big_and_odd_inputs(void **state)
{
    struct fixture *f = *state;
    /* Deep nesting: jansson's depth limit or our unknown-key check, never a crash. */
    size_t depth = 100000;
    char *deep = malloc(depth * 6 + 16);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "{\"a\":");
    n += (size_t)sprintf(deep + n, "1");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '}';
    write_file(f, deep, n);
    assert_true(RT_FAILURE(config_json_apply(f->path, f->root, f->err, sizeof(f->err))));
    free(deep);
    /* A deep path of known-looking keys is an unknown key, not an overflow. */
    assert_int_equal(apply(f, "{\"Devices\": {\"serial\": {\"0\": {\"Config\": {\"Port\": {\"x\": {\"y\": {\"z\": {}}}}}}}}}"),
                     VERR_CFGM_CONFIG_UNKNOWN_NODE);
    /* A 1 MiB command line is kept whole. */
    size_t big = 1 << 20;
    char *json = malloc(big + 64);
    n = (size_t)sprintf(json, "{\"Boot\": {\"CmdLine\": \"");
    memset(json + n, 'x', big);
    n += big;
    n += (size_t)sprintf(json + n, "\"}}");
    write_file(f, json, n);
    assert_int_equal(config_json_apply(f->path, f->root, f->err, sizeof(f->err)), VINF_SUCCESS);
    size_t cb = 0;
    assert_int_equal(CFGMR3QuerySize(f->root, "Boot/CmdLine", &cb), VINF_SUCCESS);
    assert_int_equal(cb, big + 1);
    free(json);
    /* A very long unknown key is reported, truncated, without overflow. */
    char *longkey = malloc(10000);
    n = (size_t)sprintf(longkey, "{\"");
    memset(longkey + n, 'K', 9000);
    n += 9000;
    n += (size_t)sprintf(longkey + n, "\": 1}");
    write_file(f, longkey, n);
    assert_int_equal(config_json_apply(f->path, f->root, f->err, sizeof(f->err)), VERR_CFGM_CONFIG_UNKNOWN_VALUE);
    free(longkey);
    /* A file over 16 MiB is refused before parsing. */
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(ftruncate(fileno(fp), (16 << 20) + 1), 0);
    fclose(fp);
    assert_int_equal(config_json_apply(f->path, f->root, f->err, sizeof(f->err)), VERR_FILE_TOO_BIG);
    /* Bad arguments. */
    assert_int_equal(config_json_apply(NULL, f->root, f->err, sizeof(f->err)), VERR_INVALID_PARAMETER);
    assert_int_equal(config_json_apply(f->path, NULL, f->err, sizeof(f->err)), VERR_INVALID_PARAMETER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_values_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_and_odd_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
