/*
 * Status code table: every code in include/vmm/err.h has a name equal to its
 * macro name and a message; unknown codes are formatted; informational codes
 * are successes.  The list below is checked against err.h itself at run
 * time, so a code added to the header but not here fails the test.
 */
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>

struct code {
    const char *name;
    int         value;
};

#define C(x) { #x, x }
static const struct code codes[] = {
    C(VINF_SUCCESS),
    C(VERR_GENERAL_FAILURE),
    C(VERR_INVALID_PARAMETER),
    C(VERR_INVALID_MAGIC),
    C(VERR_INVALID_HANDLE),
    C(VERR_INVALID_POINTER),
    C(VERR_NO_MEMORY),
    C(VERR_PERMISSION_DENIED),
    C(VERR_VERSION_MISMATCH),
    C(VERR_NOT_IMPLEMENTED),
    C(VERR_INVALID_FLAGS),
    C(VERR_NO_TMP_MEMORY),
    C(VERR_WRONG_ORDER),
    C(VINF_ALREADY_INITIALIZED),
    C(VERR_ALREADY_INITIALIZED),
    C(VERR_INVALID_CONTEXT),
    C(VERR_ADDRESS_CONFLICT),
    C(VERR_NOT_SUPPORTED),
    C(VERR_ACCESS_DENIED),
    C(VERR_INTERRUPTED),
    C(VINF_INTERRUPTED),
    C(VERR_TIMEOUT),
    C(VINF_TIMEOUT),
    C(VERR_BUFFER_OVERFLOW),
    C(VINF_BUFFER_OVERFLOW),
    C(VERR_TOO_MUCH_DATA),
    C(VERR_STATE_CHANGED),
    C(VERR_INVALID_UUID_FORMAT),
    C(VERR_TRY_AGAIN),
    C(VINF_TRY_AGAIN),
    C(VERR_PARSE_ERROR),
    C(VERR_OUT_OF_RANGE),
    C(VERR_NUMBER_TOO_BIG),
    C(VERR_NO_DIGITS),
    C(VERR_NEGATIVE_UNSIGNED),
    C(VERR_INVALID_UTF8_ENCODING),
    C(VERR_NO_STR_MEMORY),
    C(VERR_CANCELLED),
    C(VERR_ADDRESS_TOO_BIG),
    C(VERR_MAP_FAILED),
    C(VERR_TRAILING_CHARS),
    C(VERR_NOT_FOUND),
    C(VERR_INVALID_STATE),
    C(VERR_OUT_OF_RESOURCES),
    C(VERR_NO_MORE_HANDLES),
    C(VERR_OBJECT_DESTROYED),
    C(VERR_DUPLICATE),
    C(VERR_MISSING),
    C(VERR_FILE_IO_ERROR),
    C(VERR_OPEN_FAILED),
    C(VERR_FILE_NOT_FOUND),
    C(VERR_PATH_NOT_FOUND),
    C(VERR_INVALID_NAME),
    C(VERR_ALREADY_EXISTS),
    C(VERR_TOO_MANY_OPEN_FILES),
    C(VERR_SEEK),
    C(VERR_EOF),
    C(VINF_EOF),
    C(VERR_READ_ERROR),
    C(VERR_WRITE_ERROR),
    C(VERR_WRITE_PROTECT),
    C(VERR_SHARING_VIOLATION),
    C(VERR_FILE_LOCK_FAILED),
    C(VERR_CANT_CREATE),
    C(VERR_FILENAME_TOO_LONG),
    C(VERR_NOT_A_DIRECTORY),
    C(VERR_IS_A_DIRECTORY),
    C(VERR_FILE_TOO_BIG),
    C(VERR_RESOURCE_BUSY),
    C(VERR_NOT_A_FILE),
    C(VERR_DISK_IO_ERROR),
    C(VERR_DISK_FULL),
    C(VERR_DEV_IO_ERROR),
    C(VERR_BROKEN_PIPE),
    C(VERR_NO_DATA),
    C(VERR_MORE_DATA),
    C(VERR_INTERNAL_ERROR),
    C(VERR_INTERNAL_ERROR_2),
    C(VERR_INTERNAL_ERROR_3),
    C(VERR_INTERNAL_ERROR_4),
    C(VERR_INTERNAL_ERROR_5),
    C(VERR_IPE_UNEXPECTED_STATUS),
    C(VERR_IPE_UNEXPECTED_INFO_STATUS),
    C(VERR_IPE_UNEXPECTED_ERROR_STATUS),
    C(VERR_IPE_UNINITIALIZED_STATUS),
    C(VERR_IPE_NOT_REACHED_DEFAULT_CASE),
    C(VERR_SEM_DESTROYED),
    C(VERR_DEADLOCK),
    C(VERR_NET_IO_ERROR),
    C(VERR_NET_ADDRESS_IN_USE),
    C(VERR_NET_CONNECTION_RESET_BY_PEER),
    C(VERR_NET_NOT_CONNECTED),
    C(VERR_NET_CONNECTION_TIMED_OUT),
    C(VERR_NET_CONNECTION_REFUSED),
    C(VERR_NET_HOST_UNREACHABLE),
    C(VERR_NET_PROTOCOL_ERROR),
    C(VERR_INVALID_EXE_SIGNATURE),
    C(VERR_BAD_EXE_FORMAT),
    C(VERR_IMAGE_TOO_BIG),
    C(VERR_GETOPT_UNKNOWN_OPTION),
    C(VERR_GETOPT_REQUIRED_ARGUMENT_MISSING),
    C(VERR_GETOPT_INVALID_ARGUMENT_FORMAT),
    C(VERR_ZIP_ERROR),
    C(VERR_ZIP_CORRUPTED),
    C(VERR_ZIP_NO_MEMORY),
    C(VERR_ZIP_UNSUPPORTED_VERSION),
    C(VERR_ZIP_UNSUPPORTED_METHOD),
    C(VERR_ZIP_BAD_HEADER),
    C(VERR_BUFFER_UNDERFLOW),
    C(VERR_NOT_AVAILABLE),
    C(VERR_ALLOCATION_TOO_BIG),
    C(VERR_MISMATCH),
    C(VERR_WRONG_TYPE),
    C(VERR_INCOMPATIBLE_CONFIG),
    C(VERR_EMPTY_STRING),
    C(VERR_NO_VM_MEMORY),
    C(VERR_UNSUPPORTED_CPU),
    C(VERR_UNSUPPORTED_CPU_MODE),
    C(VERR_INVALID_VM_HANDLE),
    C(VERR_INVALID_VMCPU_HANDLE),
    C(VERR_INVALID_CPU_ID),
    C(VERR_TOO_MANY_CPUS),
    C(VERR_INVALID_CPU_INDEX),
    C(VERR_VM_RESTORED),
    C(VERR_NOT_SUP_BY_NEM),
    C(VERR_EM_NO_MEMORY),
    C(VINF_EM_RAW_INTERRUPT),
    C(VINF_EM_RAW_EMULATE_INSTR),
    C(VINF_EM_RAW_TO_R3),
    C(VERR_EM_INTERPRETER),
    C(VERR_EM_INTERNAL_ERROR),
    C(VERR_EM_CANNOT_EXEC_GUEST),
    C(VERR_EM_GUEST_CPU_HANG),
    C(VERR_PGM_INVALID_GC_PHYSICAL_ADDRESS),
    C(VERR_PGM_INVALID_GC_PHYSICAL_RANGE),
    C(VERR_PGM_RAM_CONFLICT),
    C(VERR_PGM_PHYS_PAGE_RESERVED),
    C(VERR_CPUM_RAISE_GP_0),
    C(VERR_CPUM_INCOMPATIBLE_CONFIG),
    C(VERR_CPUM_INVALID_CONFIG_VALUE),
    C(VERR_TM_INVALID_STATE),
    C(VERR_TM_TOO_MANY_TIMERS),
    C(VERR_TRPM_SHADOW_IDT_WRITE),
    C(VERR_TRPM_DONT_PANIC),
    C(VERR_TRPM_PANIC),
    C(VERR_VMM_RING0_ASSERTION),
    C(VERR_IOM_INVALID_IOPORT_RANGE),
    C(VERR_IOM_IOPORT_RANGE_CONFLICT),
    C(VERR_IOM_IOPORT_RANGE_NOT_FOUND),
    C(VERR_IOM_INVALID_MMIO_RANGE),
    C(VERR_IOM_MMIO_RANGE_CONFLICT),
    C(VERR_IOM_MMIO_RANGE_NOT_FOUND),
    C(VERR_IOM_INVALID_IOPORT_SIZE),
    C(VERR_IOM_IOPORT_UNUSED),
    C(VINF_IOM_MMIO_UNUSED_00),
    C(VINF_IOM_MMIO_UNUSED_FF),
    C(VERR_PDM_NO_SUCH_LUN),
    C(VERR_PDM_DEVINS_UNKNOWN_CFG_VALUES),
    C(VERR_PDM_DRIVER_NOT_FOUND),
    C(VERR_PDM_DEVICE_NOT_FOUND),
    C(VERR_PDM_DEVICE_INSTANCE_NOT_FOUND),
    C(VERR_PDM_TOO_MANY_DEVICE_INSTANCES),
    C(VERR_VMX_NO_VMX),
    C(VERR_VMX_IN_VMX_ROOT_MODE),
    C(VERR_VMX_MSR_ALL_VMX_DISABLED),
    C(VERR_VMX_MSR_VMX_DISABLED),
    C(VERR_SVM_NO_SVM),
    C(VERR_SVM_DISABLED),
    C(VERR_SVM_IN_USE),
    C(VERR_HM_CONFIG_MISMATCH),
    C(VERR_PCI_PASSTHROUGH_NO_RAM_PREALLOC),
    C(VERR_PCI_PASSTHROUGH_NO_HM),
    C(VERR_PCI_PASSTHROUGH_NO_NESTED_PAGING),
    C(VERR_IEM_INSTR_NOT_IMPLEMENTED),
    C(VERR_IEM_INVALID_OPERAND_SIZE),
    C(VERR_IEM_INVALID_ADDRESS_MODE),
    C(VERR_IEM_ASPECT_NOT_IMPLEMENTED),
    C(VERR_IEM_IPE_1),
    C(VERR_IEM_IPE_2),
    C(VERR_IEM_IPE_3),
    C(VERR_NEM_NOT_ENABLED),
    C(VERR_NEM_NOT_AVAILABLE),
    C(VERR_NEM_INIT_FAILED),
    C(VERR_NEM_MISSING_KERNEL_API_1),
    C(VERR_NEM_VM_CREATE_FAILED),
    C(VERR_NEM_MAP_PAGES_FAILED),
    C(VERR_NEM_UNMAP_PAGES_FAILED),
    C(VERR_NEM_GET_REGISTERS_FAILED),
    C(VERR_NEM_SET_REGISTERS_FAILED),
    C(VERR_NEM_SET_TSC),
    C(VERR_NEM_QUERY_DIRTY_BITMAP_FAILED),
    C(VERR_NEM_MISSING_FEATURE),
    C(VERR_NEM_IPE_0),
    C(VERR_NEM_IPE_1),
    C(VERR_NEM_IPE_2),
    C(VERR_NEM_IPE_3),
    C(VERR_NEM_IPE_4),
    C(VERR_NEM_IPE_5),
    C(VERR_NEM_IPE_6),
    C(VERR_NEM_IPE_7),
    C(VERR_NEM_IPE_8),
    C(VERR_NEM_IPE_9),
    C(VERR_VM_ATRESET_NOT_FOUND),
    C(VERR_VM_REQUEST_INVALID_TYPE),
    C(VERR_VM_REQUEST_STATE),
    C(VERR_VM_REQUEST_INVALID_PACKAGE),
    C(VERR_VM_REQUEST_STATUS_STILL_PENDING),
    C(VERR_VM_REQUEST_STATUS_FREED),
    C(VERR_VM_THREAD_NOT_EMT),
    C(VERR_VM_INVALID_VM_STATE),
    C(VERR_VM_DRIVER_NOT_INSTALLED),
    C(VERR_VM_DRIVER_NOT_ACCESSIBLE),
    C(VERR_VM_DRIVER_LOAD_ERROR),
    C(VERR_VM_DRIVER_OPEN_ERROR),
    C(VERR_VM_DRIVER_VERSION_MISMATCH),
    C(VERR_VM_SAVE_STATE_NOT_ALLOWED),
    C(VERR_VM_THREAD_IS_EMT),
    C(VERR_VM_UNEXPECTED_VM_STATE),
    C(VERR_VM_UNEXPECTED_UNSTABLE_STATE),
    C(VERR_VM_REQUEST_TOO_MANY_ARGS_IPE),
    C(VERR_VM_FATAL_WAIT_ERROR),
    C(VERR_VM_REQUEST_KILLED),
    C(VINF_EM_FIRST),
    C(VINF_EM_TERMINATE),
    C(VINF_EM_DBG_HYPER_STEPPED),
    C(VINF_EM_DBG_HYPER_BREAKPOINT),
    C(VINF_EM_DBG_HYPER_ASSERTION),
    C(VINF_EM_DBG_EVENT),
    C(VINF_EM_DBG_STOP),
    C(VINF_EM_DBG_STEPPED),
    C(VINF_EM_DBG_BREAKPOINT),
    C(VINF_EM_DBG_STEP),
    C(VINF_EM_OFF),
    C(VINF_EM_SUSPEND),
    C(VINF_EM_RESET),
    C(VINF_EM_HALT),
    C(VINF_EM_RESUME),
    C(VINF_EM_NO_MEMORY),
    C(VINF_EM_RESCHEDULE_REM),
    C(VINF_EM_RESCHEDULE_HM),
    C(VINF_EM_RESCHEDULE_RAW),
    C(VINF_EM_RESCHEDULE),
    C(VINF_EM_RESCHEDULE_PARAV),
    C(VINF_EM_WAIT_SIPI),
    C(VINF_EM_LAST),
    C(VINF_EM_PENDING_REQUEST),
    C(VINF_EM_TRIPLE_FAULT),
    C(VERR_SSM_UNIT_EXISTS),
    C(VERR_SSM_UNIT_NOT_FOUND),
    C(VERR_SSM_UNIT_NOT_OWNER),
    C(VERR_SSM_INTEGRITY),
    C(VERR_SSM_INTEGRITY_MAGIC),
    C(VERR_SSM_INTEGRITY_VERSION),
    C(VERR_SSM_INTEGRITY_SIZE),
    C(VERR_SSM_INTEGRITY_CRC),
    C(VERR_SSM_INTEGRITY_HEADER),
    C(VERR_SSM_INTEGRITY_UNIT),
    C(VERR_SSM_INTEGRITY_UNIT_MAGIC),
    C(VERR_SSM_INTEGRITY_UNIT_NOT_FOUND),
    C(VERR_SSM_INTEGRITY_VBOX_VERSION),
    C(VERR_SSM_INTEGRITY_FOOTER),
    C(VERR_SSM_INTEGRITY_REC_HDR),
    C(VERR_SSM_INTEGRITY_REC_TERM),
    C(VERR_SSM_INTEGRITY_REC_TERM_CRC),
    C(VERR_SSM_INTEGRITY_DECOMPRESSION),
    C(VERR_SSM_INTEGRITY_DIR),
    C(VERR_SSM_INTEGRITY_DIR_MAGIC),
    C(VERR_SSM_NO_LOAD_EXEC),
    C(VERR_SSM_LOADED_TOO_MUCH),
    C(VERR_SSM_INVALID_STATE),
    C(VERR_SSM_LOADED_TOO_LITTLE),
    C(VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION),
    C(VERR_SSM_DATA_UNIT_FORMAT_CHANGED),
    C(VERR_SSM_LOAD_CPUID_MISMATCH),
    C(VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH),
    C(VERR_SSM_LOAD_CONFIG_MISMATCH),
    C(VERR_SSM_VIRTUAL_CLOCK_HZ),
    C(VERR_SSM_STRUCTURE_MAGIC),
    C(VERR_SSM_UNEXPECTED_DATA),
    C(VINF_SSM_VOTE_FOR_ANOTHER_PASS),
    C(VINF_SSM_VOTE_DONE_DONT_CALL_AGAIN),
    C(VERR_SSM_VOTE_FOR_GIVING_UP),
    C(VINF_SSM_DONT_CALL_AGAIN),
    C(VERR_SSM_TOO_MANY_PASSES),
    C(VERR_SSM_STATE_GREW_TOO_BIG),
    C(VERR_SSM_LOW_ON_DISK_SPACE),
    C(VERR_SSM_CANCELLED),
    C(VERR_SSM_NO_PENDING_OPERATION),
    C(VERR_SSM_ALREADY_CANCELLED),
    C(VERR_SSM_LIVE_POWERED_OFF),
    C(VERR_SSM_LIVE_GURU_MEDITATION),
    C(VERR_SSM_LIVE_FATAL_ERROR),
    C(VINF_SSM_LIVE_SUSPENDED),
    C(VERR_SSM_FIELD_COMPLEX),
    C(VERR_SSM_STREAM_ERROR),
    C(VERR_SSM_UNEXPECTED_PASS),
    C(VERR_SSM_SKIP_BACKWARDS),
    C(VERR_SSM_MEM_TOO_BIG),
    C(VERR_SSM_BAD_REC_TYPE),
    C(VERR_SSM_IPE_1),
    C(VERR_SSM_IPE_2),
    C(VERR_SSM_IPE_3),
    C(VERR_SSM_INTEGRITY_SIZES),
    C(VERR_CFGM_INTEGER_TOO_BIG),
    C(VERR_CFGM_CHILD_NOT_FOUND),
    C(VERR_CFGM_INVALID_CHILD_PATH),
    C(VERR_CFGM_VALUE_NOT_FOUND),
    C(VERR_CFGM_NO_PARENT),
    C(VERR_CFGM_NO_NODE),
    C(VERR_CFGM_NOT_INTEGER),
    C(VERR_CFGM_NOT_STRING),
    C(VERR_CFGM_NOT_BYTES),
    C(VERR_CFGM_NOT_ENOUGH_SPACE),
    C(VERR_CFGM_NOT_PASSWORD),
    C(VERR_CFGM_INVALID_NODE_PATH),
    C(VERR_CFGM_NODE_EXISTS),
    C(VERR_CFGM_LEAF_EXISTS),
    C(VERR_CFGM_CONFIG_UNKNOWN_VALUE),
    C(VERR_CFGM_CONFIG_UNKNOWN_NODE),
    C(VERR_CFGM_IPE_1),
};
#undef C
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

/* Names that share a value with a real code: range markers and aliases. */
static const char *const aliases[] = { "VINF_EM_FIRST", "VINF_EM_LAST", "VERR_SSM_INTEGRITY_SIZES" };

static bool is_alias(const char *name)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!strcmp(name, aliases[i]))
            return true;
    return false;
}

static const struct code *find_code(const char *name)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (!strcmp(codes[i].name, name))
            return &codes[i];
    return NULL;
}

static void test_every_code_has_its_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        const char *got = RTErrGetShort(codes[i].value);
        if (is_alias(codes[i].name)) {
            /* The value must map to a real name with the same value. */
            const struct code *real = find_code(got);
            assert_non_null(real);
            assert_int_equal(real->value, codes[i].value);
            assert_false(is_alias(real->name));
        } else {
            if (strcmp(got, codes[i].name) != 0)
                fail_msg("%s (%d) is named %s", codes[i].name, codes[i].value, got);
        }
        const char *msg = RTErrGetFull(codes[i].value);
        assert_non_null(msg);
        assert_true(strlen(msg) > 3);
        assert_null(strstr(msg, "Unknown Status"));
    }
}

static void test_no_two_names_share_a_value(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CODES; i++) {
        if (is_alias(codes[i].name))
            continue;
        for (size_t j = i + 1; j < N_CODES; j++)
            if (!is_alias(codes[j].name) && codes[i].value == codes[j].value)
                fail_msg("%s and %s are both %d", codes[i].name, codes[j].name, codes[i].value);
    }
}

/* Every VERR_/VINF_/VWRN_ macro in the header is in this test's list. */
static void test_list_covers_header(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char header[4200];
    snprintf(header, sizeof(header), "%s/../include/vmm/err.h", dirname(path));
    FILE *f = fopen(header, "r");
    if (!f)
        skip();     /* built from a relative path: nothing to compare */

    char line[512];
    size_t seen = 0;
    while (fgets(line, sizeof(line), f)) {
        char name[128];
        if (sscanf(line, "#define %127[A-Z0-9_]", name) != 1)
            continue;
        if (strncmp(name, "VERR_", 5) != 0 && strncmp(name, "VINF_", 5) != 0 && strncmp(name, "VWRN_", 5) != 0)
            continue;
        if (!find_code(name))
            fail_msg("%s is in err.h but not in test_err.c", name);
        seen++;
    }
    fclose(f);
    assert_int_equal(seen, N_CODES);
}

static void test_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(RTErrGetShort(-999999), "Unknown Status -999999 (0xfff0bdc1)");
    assert_string_equal(RTErrGetFull(12345), "Unknown Status 12345 (0x3039)");

    /* Two unknown codes in one statement keep their own text. */
    const char *a = RTErrGetShort(-4242);
    const char *b = RTErrGetShort(4243);
    assert_string_equal(a, "Unknown Status -4242 (0xffffef6e)");
    assert_string_equal(b, "Unknown Status 4243 (0x1093)");
}

static void *unknown_in_thread(void *arg)
{
    (void)arg;
    const char *s = RTErrGetShort(-31337);
    for (int i = 0; i < 1000; i++)
        RTErrGetShort(-7777 - i);
    return strcmp(s, "Unknown Status -31337 (0xffff8597)") ? (void *)1 : NULL;
}

static void test_unknown_buffers_are_per_thread(void **state)
{
    (void)state;
    const char *mine = RTErrGetShort(-4711);
    pthread_t t;
    void *res;
    assert_int_equal(pthread_create(&t, NULL, unknown_in_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &res), 0);
    (void)res;
    assert_string_equal(mine, "Unknown Status -4711 (0xffffed99)");
}

static void test_success_and_failure(void **state)
{
    (void)state;
    assert_true(RT_SUCCESS(VINF_SUCCESS));
    assert_false(RT_FAILURE(VINF_SUCCESS));
    /* Informational codes are successes. */
    assert_true(RT_SUCCESS(VINF_EM_HALT));
    assert_true(RT_SUCCESS(VINF_EM_TERMINATE));
    assert_true(RT_SUCCESS(VINF_SSM_LIVE_SUSPENDED));
    assert_true(RT_SUCCESS(VINF_SSM_VOTE_FOR_ANOTHER_PASS));
    assert_true(RT_SUCCESS(VINF_IOM_MMIO_UNUSED_FF));
    assert_true(RT_SUCCESS_NP(VINF_EM_TRIPLE_FAULT));
    assert_true(RT_FAILURE(VERR_SSM_FIELD_COMPLEX));
    assert_true(RT_FAILURE(VERR_GENERAL_FAILURE));
    assert_true(RT_FAILURE_NP(VERR_NOT_AVAILABLE));
    /* Same magnitude, different sign, different code. */
    assert_int_equal(VINF_SSM_LIVE_SUSPENDED, -VERR_SSM_FIELD_COMPLEX);
    assert_string_not_equal(RTErrGetShort(VINF_SSM_LIVE_SUSPENDED), RTErrGetShort(VERR_SSM_FIELD_COMPLEX));
    /* Every VINF_ is a success and every VERR_ a failure. */
    for (size_t i = 0; i < N_CODES; i++) {
        if (!strncmp(codes[i].name, "VINF_", 5))
            assert_true(RT_SUCCESS(codes[i].value));
        else if (!strncmp(codes[i].name, "VERR_", 5))
            assert_true(RT_FAILURE(codes[i].value));
    }
}

/* Values the specification (and VirtualBox) fixes. */
static void test_known_values(void **state)
{
    (void)state;
    assert_int_equal(VINF_EM_FIRST, 1100);
    assert_int_equal(VINF_EM_LAST, 1120);
    assert_true(VINF_EM_TERMINATE < VINF_EM_OFF && VINF_EM_OFF < VINF_EM_SUSPEND);
    assert_true(VINF_EM_SUSPEND < VINF_EM_RESET && VINF_EM_RESET < VINF_EM_HALT);
    assert_int_equal(VINF_EM_PENDING_REQUEST, 1150);
    assert_int_equal(VINF_EM_TRIPLE_FAULT, 1155);
    assert_int_equal(VERR_VM_INVALID_VM_STATE, -1907);
    assert_int_equal(VERR_VM_REQUEST_KILLED, -1919);
    assert_int_equal(VERR_INVALID_VM_HANDLE, -1016);
    assert_int_equal(VERR_CFGM_NODE_EXISTS, -2161);
    assert_int_equal(VERR_CFGM_INVALID_NODE_PATH, -2160);
    assert_int_equal(VERR_SSM_UNIT_EXISTS, -1800);
    assert_int_equal(VERR_SSM_INTEGRITY_CRC, -1814);
    assert_int_equal(VERR_SSM_INTEGRITY_SIZES, VERR_SSM_INTEGRITY_SIZE);
    assert_int_equal(VERR_FILE_TOO_BIG, -128);
    assert_int_equal(VERR_EM_GUEST_CPU_HANG, -1158);
    assert_int_equal(VERR_TRPM_PANIC, -2404);
    assert_int_equal(VERR_NOT_AVAILABLE, -22403);
    assert_string_equal(RTErrGetShort(VERR_TIMEOUT), "VERR_TIMEOUT");
    assert_string_equal(RTErrGetShort(VINF_EM_FIRST), "VINF_EM_TERMINATE");
    assert_string_equal(RTErrGetShort(VINF_EM_LAST), "VINF_EM_WAIT_SIPI");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_its_name),
        cmocka_unit_test(test_no_two_names_share_a_value),
        cmocka_unit_test(test_list_covers_header),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_unknown_buffers_are_per_thread),
        cmocka_unit_test(test_success_and_failure),
        cmocka_unit_test(test_known_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
