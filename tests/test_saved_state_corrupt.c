/*
 * Corrupt saved states: every kind of damage is refused with its own
 * VERR_SSM_* status and a message naming the offset, the VM ends in
 * LOAD_FAILURE (never half-loaded and running), nothing crashes or leaks
 * (this runs under ASan).  The damage: bad magic, unknown format version,
 * header checksum, fingerprint (RAM size, vCPU count, CPU features),
 * truncation at every record boundary and inside records, flipped bits,
 * a unit length of 2^63, unknown / duplicate / missing units, unknown unit
 * versions, payload and whole-stream checksums, and payloads whose
 * checksums are right but whose values are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_fixture.h"
#include "mem_stream.h"
#include "state/crc32c.h"
#include "state/ssm_format.h"

#define MAX_RECORDS 512

static struct mem_stream reference;         /* a good state of the counter guest */
static size_t rec_off[MAX_RECORDS];         /* record starts; the last is the end marker */
static unsigned rec_count;

static const struct fixture_config vm_cfg = { .cpus = 1, .ram_mib = 4, .image = "state_counter.bin",
                                              .mode = "real", .engine = "interp" };

static bool is_unit(const uint8_t *b, size_t off) { return memcmp(b + off, SSM_UNIT_MAGIC, 8) == 0; }
static uint64_t unit_len(const uint8_t *b, size_t off) { return ssm_get_u64(b + off + 40); }

static void index_records(void)
{
    size_t off = SSM_HEADER_SIZE;
    rec_count = 0;
    while (is_unit(reference.buf, off)) {
        assert_true(rec_count < MAX_RECORDS);
        rec_off[rec_count++] = off;
        off += SSM_UNIT_HDR_SIZE + unit_len(reference.buf, off);
    }
    assert_memory_equal(reference.buf + off, SSM_END_MAGIC, 8);
    rec_off[rec_count++] = off;
    assert_int_equal(off + SSM_END_SIZE, reference.len);
}

static int setup(void **state)
{
    (void)state;
    PUVM uvm = NULL;
    if (fixture_create(&vm_cfg, NULL, &uvm) != VINF_SUCCESS || VMR3PowerOn(uvm) != VINF_SUCCESS)
        return -1;
    usleep(200000);                    /* let it program the PIC and PIT and count a little */
    bool susp = false;
    int rc = VMR3Suspend(uvm, VMSUSPENDREASON_USER);
    if (rc == VINF_EM_SUSPEND)
        rc = VMR3Save(uvm, NULL, &mem_stream_ops, &reference, false, NULL, NULL, &susp);
    fixture_destroy(uvm);
    if (rc != VINF_SUCCESS)
        return -1;
    index_records();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(reference.buf);
    return 0;
}

/* A private copy of the reference to damage. */
static struct mem_stream copy_ref(void)
{
    struct mem_stream m = { 0 };
    m.buf = malloc(reference.len + 4096);
    assert_non_null(m.buf);
    memcpy(m.buf, reference.buf, reference.len);
    m.len = m.cap = reference.len;
    return m;
}

/* Loads s into a fresh VM made from cfg; returns the status, checks the aftermath. */
static int load_into(const struct fixture_config *cfg, struct mem_stream *s)
{
    struct fixture_log log;
    fixture_log_init(&log);
    PUVM uvm = NULL;
    assert_int_equal(fixture_create(cfg, &log, &uvm), VINF_SUCCESS);
    int rc = VMR3LoadFromStream(uvm, &mem_stream_ops, s, NULL, NULL, false);
    if (RT_FAILURE(rc)) {
        assert_int_equal(VMR3GetStateU(uvm), VMSTATE_LOAD_FAILURE);
        assert_true(log.n_errors >= 1);
        assert_non_null(strstr(log.last_error, "offset") ? log.last_error : strstr(log.last_error, "missing"));
        assert_int_equal(VMR3Resume(uvm, VMRESUMEREASON_STATE_RESTORED), VERR_VM_INVALID_VM_STATE);
    } else {
        assert_int_equal(VMR3GetStateU(uvm), VMSTATE_SUSPENDED);
    }
    assert_int_equal(s->closes, 1);
    s->closes = 0;
    fixture_destroy(uvm);
    return rc;
}

static int load(struct mem_stream *s) { return load_into(&vm_cfg, s); }

static void expect_status(struct mem_stream *s, int status)
{
    int rc = load(s);
    if (rc != status)
        fprintf(stderr, "expected %d, got %d\n", status, rc);
    assert_int_equal(rc, status);
    free(s->buf);
}

/* Recomputes every checksum and the end marker after an edit of the payloads. */
static void reseal(struct mem_stream *s)
{
    size_t off = SSM_HEADER_SIZE;
    uint32_t units = 0;
    ssm_put_u32(s->buf + 124, crc32c(0, s->buf, 124));
    while (is_unit(s->buf, off)) {
        uint8_t *h = s->buf + off;
        ssm_put_u32(h + 48, crc32c(0, h + SSM_UNIT_HDR_SIZE, (size_t)unit_len(s->buf, off)));
        ssm_put_u32(h + 60, crc32c(0, h, 60));
        off += SSM_UNIT_HDR_SIZE + unit_len(s->buf, off);
        units++;
    }
    uint8_t *e = s->buf + off;
    ssm_put_u32(e + 8, units);
    ssm_put_u64(e + 16, off);
    ssm_put_u32(e + 24, crc32c(0, s->buf, off));
    ssm_put_u32(e + 28, crc32c(0, e, 28));
    s->len = off + SSM_END_SIZE;
}

/* The index of the first unit called name. */
static unsigned find_unit(const char *name)
{
    for (unsigned i = 0; i + 1 < rec_count; i++)
        if (!strcmp((const char *)reference.buf + rec_off[i] + 8, name))
            return i;
    fail_msg("no unit %s", name);
    return 0;
}

static void test_reference_loads(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    expect_status(&s, VINF_SUCCESS);
    s = copy_ref();
    reseal(&s);                        /* the test's resealing matches the writer's */
    assert_memory_equal(s.buf, reference.buf, reference.len);
    free(s.buf);
}

static void test_header_damage(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    s.buf[0] ^= 1;
    expect_status(&s, VERR_SSM_INTEGRITY_MAGIC);
    s = copy_ref();
    ssm_put_u32(s.buf + 8, SSM_FORMAT_VERSION + 1);
    expect_status(&s, VERR_SSM_INTEGRITY_VERSION);
    s = copy_ref();
    s.buf[20] ^= 0x40;                 /* inside the Petrel version text */
    expect_status(&s, VERR_SSM_INTEGRITY_HEADER);
    s = copy_ref();
    s.len = 0;
    expect_status(&s, VERR_SSM_INTEGRITY_SIZE);
}

static void test_fingerprint_mismatch(void **state)
{
    (void)state;
    struct fixture_config bigger = vm_cfg, two = vm_cfg;
    bigger.ram_mib = 8;
    two.cpus = 2;
    struct mem_stream s = copy_ref();
    assert_int_equal(load_into(&bigger, &s), VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH);
    assert_int_equal(load_into(&two, &s), VERR_SSM_LOAD_CONFIG_MISMATCH);
    free(s.buf);
    s = copy_ref();
    ssm_put_u32(s.buf + 80, ssm_get_u32(s.buf + 80) | (1u << 28));    /* a feature (AVX) the engine lacks */
    reseal(&s);
    expect_status(&s, VERR_SSM_LOAD_CPUID_MISMATCH);
}

static void test_truncated_at_every_record(void **state)
{
    (void)state;
    expect_status(&(struct mem_stream){ .buf = NULL }, VERR_SSM_INTEGRITY_SIZE);
    for (unsigned i = 0; i < rec_count; i++) {
        struct mem_stream s = copy_ref();
        s.len = rec_off[i];
        expect_status(&s, VERR_SSM_INTEGRITY_FOOTER);
    }
}

static void test_truncated_inside_records(void **state)
{
    (void)state;
    srand(6);
    for (unsigned i = 0; i < 40; i++) {
        size_t cut = 1 + (size_t)rand() % (reference.len - 1);
        bool boundary = cut == SSM_HEADER_SIZE;
        for (unsigned r = 0; r < rec_count; r++)
            boundary |= rec_off[r] == cut;
        if (boundary)
            continue;
        struct mem_stream s = copy_ref();
        s.len = cut;
        expect_status(&s, VERR_SSM_INTEGRITY_SIZE);
    }
}

/* Every single flipped bit is caught by one of the checksums or checks. */
static void test_flipped_bits(void **state)
{
    (void)state;
    srand(66);
    for (unsigned i = 0; i < 60; i++) {
        size_t off = (size_t)rand() % reference.len;
        struct mem_stream s = copy_ref();
        s.buf[off] ^= (uint8_t)(1u << (rand() % 8));
        int rc = load(&s);
        if (rc > -1800 || rc < -1899)
            fprintf(stderr, "bit flip at %zu: status %d\n", off, rc);
        assert_true(rc <= -1800 && rc >= -1899);
        free(s.buf);
    }
}

static void set_unit_length(struct mem_stream *s, unsigned rec, uint64_t len)
{
    uint8_t *h = s->buf + rec_off[rec];
    ssm_put_u64(h + 40, len);
    ssm_put_u32(h + 60, crc32c(0, h, 60));
}

static void test_huge_unit_length(void **state)
{
    (void)state;
    const char *names[] = { "ram", "cpu", "clock", "i8254" };
    for (unsigned i = 0; i < 4; i++) {
        struct mem_stream s = copy_ref();
        set_unit_length(&s, find_unit(names[i]), UINT64_C(1) << 63);
        expect_status(&s, VERR_SSM_INTEGRITY_SIZE);
    }
    /* A length within the bound but past the end of the stream. */
    struct mem_stream s = copy_ref();
    unsigned cpu = find_unit("cpu");
    set_unit_length(&s, cpu, 8000);
    s.len = rec_off[cpu] + SSM_UNIT_HDR_SIZE + 100;
    expect_status(&s, VERR_SSM_INTEGRITY_SIZE);
}

static void rename_unit(struct mem_stream *s, unsigned rec, const char *name)
{
    memset(s->buf + rec_off[rec] + 8, 0, SSM_UNIT_NAME_SIZE);
    memcpy(s->buf + rec_off[rec] + 8, name, strlen(name));
}

static void test_unknown_and_missing_units(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    rename_unit(&s, find_unit("clock"), "clockwork");
    reseal(&s);
    expect_status(&s, VERR_SSM_INTEGRITY_UNIT_NOT_FOUND);
    s = copy_ref();
    ssm_put_u32(s.buf + rec_off[find_unit("cpu")] + 32, 1);   /* vCPU 1 of a 1-vCPU VM */
    reseal(&s);
    expect_status(&s, VERR_SSM_INTEGRITY_UNIT_NOT_FOUND);
    /* A missing unit: cut the cpu record out. */
    s = copy_ref();
    unsigned cpu = find_unit("cpu");
    size_t start = rec_off[cpu], end = rec_off[cpu + 1];
    memmove(s.buf + start, s.buf + end, s.len - end);
    s.len -= end - start;
    reseal(&s);
    expect_status(&s, VERR_SSM_LOAD_CONFIG_MISMATCH);
}

/* Inserts a second copy of record rec right after it. */
static void duplicate_record(struct mem_stream *s, unsigned rec)
{
    size_t start = rec_off[rec], end = rec_off[rec + 1], n = end - start;
    uint8_t *nb = realloc(s->buf, s->len + n);
    assert_non_null(nb);
    s->buf = nb;
    memmove(s->buf + end + n, s->buf + end, s->len - end);
    memcpy(s->buf + end, s->buf + start, n);
    s->len += n;
    reseal(s);
}

static void test_duplicate_units(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    duplicate_record(&s, find_unit("cpu"));
    expect_status(&s, VERR_SSM_UNIT_EXISTS);
    s = copy_ref();
    duplicate_record(&s, find_unit("ram"));
    expect_status(&s, VERR_SSM_UNIT_EXISTS);
}

static void test_unknown_unit_version(void **state)
{
    (void)state;
    const char *names[] = { "ram", "cpu", "clock", "i8259" };
    for (unsigned i = 0; i < 4; i++) {
        struct mem_stream s = copy_ref();
        ssm_put_u32(s.buf + rec_off[find_unit(names[i])] + 36, 7);
        reseal(&s);
        expect_status(&s, VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION);
    }
}

static void test_checksums(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    s.buf[rec_off[find_unit("cpu")] + SSM_UNIT_HDR_SIZE + 3] ^= 1;    /* payload */
    expect_status(&s, VERR_SSM_INTEGRITY_CRC);
    s = copy_ref();
    s.buf[rec_off[find_unit("cpu")] + 33] ^= 1;                       /* unit header */
    expect_status(&s, VERR_SSM_INTEGRITY_REC_HDR);
    s = copy_ref();
    uint8_t *e = s.buf + rec_off[rec_count - 1];
    ssm_put_u32(e + 24, ssm_get_u32(e + 24) ^ 1);                     /* whole-stream checksum */
    ssm_put_u32(e + 28, crc32c(0, e, 28));
    expect_status(&s, VERR_SSM_INTEGRITY_REC_TERM_CRC);
    s = copy_ref();
    ssm_put_u32(s.buf + rec_off[rec_count - 1] + 8, 1);               /* unit count */
    e = s.buf + rec_off[rec_count - 1];
    ssm_put_u32(e + 28, crc32c(0, e, 28));
    expect_status(&s, VERR_SSM_INTEGRITY_REC_TERM);
}

/* Checksums right, values wrong: each unit's own checks. */
static void test_bad_values(void **state)
{
    (void)state;
    struct mem_stream s = copy_ref();
    size_t cpu = rec_off[find_unit("cpu")] + SSM_UNIT_HDR_SIZE;
    s.buf[cpu + unit_len(reference.buf, rec_off[find_unit("cpu")]) - 4096 - 3] = 9;   /* run_state */
    reseal(&s);
    expect_status(&s, VERR_SSM_UNEXPECTED_DATA);
    s = copy_ref();
    size_t pit = rec_off[find_unit("i8254")] + SSM_UNIT_HDR_SIZE;
    s.buf[pit + 36] = 9;               /* counter 0 mode */
    reseal(&s);
    expect_status(&s, VERR_SSM_UNEXPECTED_DATA);
    s = copy_ref();
    size_t ram = rec_off[find_unit("ram")] + SSM_UNIT_HDR_SIZE;
    ssm_put_u64(s.buf + ram + 16, UINT64_C(0xfffffffffffff000));   /* run outside RAM */
    reseal(&s);
    expect_status(&s, VERR_SSM_UNEXPECTED_DATA);
    s = copy_ref();
    s.buf[ram + unit_len(reference.buf, rec_off[find_unit("ram")]) - 1] ^= 0x55;    /* zstd frame */
    reseal(&s);
    int rc = load(&s);
    assert_true(rc == VERR_SSM_INTEGRITY_DECOMPRESSION);
    free(s.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_loads),
        cmocka_unit_test(test_header_damage),
        cmocka_unit_test(test_fingerprint_mismatch),
        cmocka_unit_test(test_truncated_at_every_record),
        cmocka_unit_test(test_truncated_inside_records),
        cmocka_unit_test(test_flipped_bits),
        cmocka_unit_test(test_huge_unit_length),
        cmocka_unit_test(test_unknown_and_missing_units),
        cmocka_unit_test(test_duplicate_units),
        cmocka_unit_test(test_unknown_unit_version),
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
