/*
 * Copy-on-write restore (VMR3SaveToFileEx with VMSAVE_F_RAW_RAM, then
 * VMR3LoadFromFile): the "ramimage" unit is mapped over guest RAM at the
 * same host address.  The restored guest sees exactly the saved RAM and
 * keeps computing correctly; streams read the image and check its CRC;
 * corrupt or truncated files fail with the right status and LOAD_FAILURE;
 * a reset gives zeroed RAM, not the file; a restored VM saves again (live,
 * dirty log) even over the file it was restored from; what a change of the
 * file on disk does is pinned down (docs/saved-state-format.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "vm_fixture.h"
#include "mem_stream.h"
#include "core/vm_internal.h"
#include "state/crc32c.h"
#include "state/ssm_stream.h"

#define MARK_GPA  UINT64_C(0x200000)       /* a page the counter guest never touches */
#define MARK2_GPA UINT64_C(0x201000)

struct test_vm {
    struct fixture_config cfg;
    struct fixture_log log;
    char console[64];
    PUVM uvm;
};

static void vm_create(struct test_vm *t, const char *image)
{
    memset(t, 0, sizeof(*t));
    strcpy(t->console, "/tmp/petrel-cow-con-XXXXXX");
    int fd = mkstemp(t->console);
    assert_true(fd >= 0);
    close(fd);
    t->cfg = (struct fixture_config){ .cpus = 1, .ram_mib = 4, .image = image, .mode = "real",
                                      .engine = "interp", .console = t->console };
    fixture_log_init(&t->log);
    assert_int_equal(fixture_create(&t->cfg, &t->log, &t->uvm), VINF_SUCCESS);
}

static void vm_destroy(struct test_vm *t)
{
    fixture_destroy(t->uvm);
    unlink(t->console);
}

static struct guest_ram *vm_ram(struct test_vm *t)
{
    return &VMR3GetVM(t->uvm)->ram;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static unsigned count_lines(const char *path)
{
    char *s = slurp(path, NULL);
    unsigned n = 0;
    for (char *p = s; *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

static void wait_lines(struct test_vm *t, unsigned n)
{
    for (int i = 0; i < 3000 && count_lines(t->console) < n && VMR3GetStateU(t->uvm) != VMSTATE_OFF; i++)
        usleep(10000);
    assert_true(count_lines(t->console) >= n);
}

/* before + after must be "<c>1\n<c>2\n...": nothing repeated, nothing lost. */
static void assert_continues(const char *before, const char *after, char c)
{
    size_t n = strlen(before) + strlen(after) + 1;
    char *all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s%s", before, after);
    unsigned expect = 1;
    for (const char *p = all; *p; expect++) {
        char *end = NULL;
        assert_int_equal(*p, c);
        assert_int_equal(strtoul(p + 1, &end, 10), expect);
        assert_int_equal(*end, '\n');
        p = end + 1;
    }
    assert_true(expect > 5);
    free(all);
}

static void temp_path(char *path, size_t size)
{
    snprintf(path, size, "/tmp/petrel-cow-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Runs image, writes two marker pages, then a raw save (live: keep_running
 * leaves it running).  Returns the console text and, in ram_copy, its RAM
 * at the save (the VM is suspended then; NULL: no copy). */
static char *run_and_raw_save(struct test_vm *a, const char *image, const char *path, uint8_t **ram_copy)
{
    vm_create(a, image);
    assert_int_equal(VMR3PowerOn(a->uvm), VINF_SUCCESS);
    wait_lines(a, 3);
    uint8_t mark[GUEST_PAGE_SIZE];
    memset(mark, 0xa5, sizeof(mark));
    assert_int_equal(guest_ram_write(vm_ram(a), MARK_GPA, mark, sizeof(mark)), VINF_SUCCESS);
    memset(mark, 0x3c, sizeof(mark));
    assert_int_equal(guest_ram_write(vm_ram(a), MARK2_GPA, mark, sizeof(mark)), VINF_SUCCESS);
    bool suspended = false;
    assert_int_equal(VMR3SaveToFileEx(a->uvm, path, VMSAVE_F_RAW_RAM, false, NULL, NULL, &suspended), VINF_SUCCESS);
    assert_true(suspended);
    assert_int_equal(VMR3GetStateU(a->uvm), VMSTATE_SUSPENDED);
    if (ram_copy) {
        *ram_copy = malloc(vm_ram(a)->size);
        assert_non_null(*ram_copy);
        memcpy(*ram_copy, vm_ram(a)->host, vm_ram(a)->size);
    }
    return slurp(a->console, NULL);
}

/* Loads path into a fresh VM of image; expects rc. */
static void load_into(struct test_vm *b, const char *image, const char *path, int rc)
{
    vm_create(b, image);
    fixture_attach_state_log(b->uvm, &b->log);
    int got = VMR3LoadFromFile(b->uvm, path, NULL, NULL);
    if (got != rc)
        fprintf(stderr, "load: %d (expected %d): %s\n", got, rc, b->log.last_error);
    assert_int_equal(got, rc);
    assert_int_equal(VMR3GetStateU(b->uvm), RT_SUCCESS(rc) ? VMSTATE_SUSPENDED : VMSTATE_LOAD_FAILURE);
}

/* Resumes b, lets it print 3 more lines, checks they continue `before`. */
static void resume_and_check(struct test_vm *b, const char *before, char c)
{
    assert_int_equal(VMR3Resume(b->uvm, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    wait_lines(b, 3);
    assert_int_equal(VMR3PowerOff(b->uvm), VINF_EM_OFF);
    char *after = slurp(b->console, NULL);
    assert_continues(before, after, c);
    free(after);
}

/* Live raw save of the counter; the restore maps the file, sees exactly the
 * saved RAM, and the ticks go on.  Zero pages are holes in the file. */
static void test_raw_round_trip(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct test_vm a, b;
    uint8_t *ram = NULL;
    char *before = run_and_raw_save(&a, "state_counter.bin", path, &ram);
    assert_true(VMR3GetVM(a.uvm)->ram.size == 4u << 20);
    vm_destroy(&a);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((uint64_t)st.st_size > (4u << 20));        /* the whole image is in the file... */
    assert_true((uint64_t)st.st_blocks * 512 < (1u << 20)); /* ...but its zero pages take no space */

    load_into(&b, "state_counter.bin", path, VINF_SUCCESS);
    assert_true(vm_ram(&b)->file_backed);
    assert_memory_equal(vm_ram(&b)->host, ram, vm_ram(&b)->size);
    resume_and_check(&b, before, 'T');
    vm_destroy(&b);
    free(ram);
    free(before);
    unlink(path);
}

/* Loading into a SUSPENDED VM whose RAM maps a file: raw again, then a
 * compressed state (RAM anonymous again, exactly the saved contents). */
static void test_reload_over_mapped_ram(void **state)
{
    (void)state;
    char raw[64], plain[64];
    temp_path(raw, sizeof(raw));
    temp_path(plain, sizeof(plain));
    struct test_vm a, b;
    uint8_t *ram = NULL;
    char *before = run_and_raw_save(&a, "state_counter.bin", raw, &ram);
    bool suspended = false;
    assert_int_equal(VMR3Save(a.uvm, plain, NULL, NULL, false, NULL, NULL, &suspended), VINF_SUCCESS);
    vm_destroy(&a);
    load_into(&b, "state_counter.bin", raw, VINF_SUCCESS);
    assert_int_equal(VMR3LoadFromFile(b.uvm, raw, NULL, NULL), VINF_SUCCESS);
    assert_true(vm_ram(&b)->file_backed);
    assert_memory_equal(vm_ram(&b)->host, ram, vm_ram(&b)->size);
    assert_int_equal(VMR3LoadFromFile(b.uvm, plain, NULL, NULL), VINF_SUCCESS);
    assert_false(vm_ram(&b)->file_backed);
    assert_memory_equal(vm_ram(&b)->host, ram, vm_ram(&b)->size);
    resume_and_check(&b, before, 'T');
    vm_destroy(&b);
    free(ram);
    free(before);
    unlink(raw);
    unlink(plain);
}

/* A guest that rewrites pages all the time and checks them: the image
 * (first pass) plus the dirty "ram" units of the final pass restore it
 * without one stale page ("BAD"). */
static void test_raw_live_save_of_dirtying_guest(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct test_vm a, b;
    char *before = run_and_raw_save(&a, "state_dirty.bin", path, NULL);
    assert_null(strstr(before, "BAD"));
    vm_destroy(&a);
    load_into(&b, "state_dirty.bin", path, VINF_SUCCESS);
    assert_true(vm_ram(&b)->file_backed);
    assert_int_equal(VMR3Resume(b.uvm, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    wait_lines(&b, 3);
    assert_int_equal(VMR3PowerOff(b.uvm), VINF_EM_OFF);
    char *after = slurp(b.console, NULL);
    assert_null(strstr(after, "BAD"));
    assert_continues(before, after, 'G');
    free(after);
    vm_destroy(&b);
    free(before);
    unlink(path);
}

/* Stream offset of the "ramimage" record (the first after the 128-byte header). */
#define IMAGE_REC 128u

static uint64_t image_start(const uint8_t *file)
{
    assert_memory_equal(file + IMAGE_REC + 8, "ramimage", 9);
    return IMAGE_REC + 64 + ssm_get_u32(file + IMAGE_REC + 64 + 8);
}

/* A raw file through stream ops: read (not mapped), image CRC checked; a
 * flipped image bit fails there, while the file load maps it unchecked. */
static void test_raw_file_as_stream(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct test_vm a, b;
    uint8_t *ram = NULL;
    char *before = run_and_raw_save(&a, "state_counter.bin", path, &ram);
    vm_destroy(&a);
    struct mem_stream ms = { 0 };
    ms.buf = (uint8_t *)slurp(path, &ms.len);
    vm_create(&b, "state_counter.bin");
    assert_int_equal(VMR3LoadFromStream(b.uvm, &mem_stream_ops, &ms, NULL, NULL, false), VINF_SUCCESS);
    assert_false(vm_ram(&b)->file_backed);
    assert_memory_equal(vm_ram(&b)->host, ram, vm_ram(&b)->size);
    resume_and_check(&b, before, 'T');
    vm_destroy(&b);

    ms.buf[image_start(ms.buf) + MARK_GPA + 5] ^= 0x10;
    vm_create(&b, "state_counter.bin");
    assert_int_equal(VMR3LoadFromStream(b.uvm, &mem_stream_ops, &ms, NULL, NULL, false), VERR_SSM_INTEGRITY_CRC);
    assert_int_equal(VMR3GetStateU(b.uvm), VMSTATE_LOAD_FAILURE);
    vm_destroy(&b);
    free(ms.buf);
    free(ram);
    free(before);
    unlink(path);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}


/* Truncations anywhere and broken descriptors: the right status, LOAD_FAILURE. */
static void test_raw_corrupt_files(void **state)
{
    (void)state;
    char path[64], bad[64];
    temp_path(path, sizeof(path));
    temp_path(bad, sizeof(bad));
    struct test_vm a, b;
    char *before = run_and_raw_save(&a, "state_counter.bin", path, NULL);
    vm_destroy(&a);
    size_t len = 0;
    uint8_t *file = (uint8_t *)slurp(path, &len);
    uint32_t off = (uint32_t)(image_start(file) - IMAGE_REC - 64);
    uint64_t image_end = IMAGE_REC + 64 + off + (4u << 20);
    assert_int_equal((IMAGE_REC + 64 + off) % 4096, 0);

    /* Truncated: inside the descriptor, inside the image, in its CRC, at the
     * end of the unit, just before the end marker. */
    const struct { size_t at; int rc; } cuts[] = {
        { IMAGE_REC + 64 + 10, VERR_SSM_INTEGRITY_SIZE },
        { IMAGE_REC + 64 + off + 12345, VERR_SSM_INTEGRITY_SIZE },
        { (size_t)image_end + 2, VERR_SSM_INTEGRITY_SIZE },
        { (size_t)image_end + 4, VERR_SSM_INTEGRITY_FOOTER },
        { len - 32, VERR_SSM_INTEGRITY_FOOTER },
        { len - 1, VERR_SSM_INTEGRITY_SIZE },
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        write_file(bad, file, cuts[i].at);
        load_into(&b, "state_counter.bin", bad, cuts[i].rc);
        vm_destroy(&b);
    }

    /* A misaligned image offset, with both checksums made right again. */
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, file, len);
    ssm_put_u32(copy + IMAGE_REC + 64 + 8, off + 8);
    ssm_put_u32(copy + IMAGE_REC + 48, crc32c(0, copy + IMAGE_REC + 64, off));
    ssm_put_u32(copy + IMAGE_REC + 60, crc32c(0, copy + IMAGE_REC, 60));
    write_file(bad, copy, len);
    load_into(&b, "state_counter.bin", bad, VERR_SSM_UNEXPECTED_DATA);
    vm_destroy(&b);

    /* A flipped descriptor bit; a unit length beyond the image. */
    memcpy(copy, file, len);
    copy[IMAGE_REC + 64 + 20] ^= 1;
    write_file(bad, copy, len);
    load_into(&b, "state_counter.bin", bad, VERR_SSM_INTEGRITY_CRC);
    vm_destroy(&b);
    memcpy(copy, file, len);
    ssm_put_u64(copy + IMAGE_REC + 40, ssm_get_u64(copy + IMAGE_REC + 40) + 4096);
    ssm_put_u32(copy + IMAGE_REC + 60, crc32c(0, copy + IMAGE_REC, 60));
    write_file(bad, copy, len);
    load_into(&b, "state_counter.bin", bad, VERR_SSM_INTEGRITY_SIZE);
    vm_destroy(&b);

    /* A VM with other RAM: the fingerprint refuses before anything is mapped. */
    vm_create(&b, "state_counter.bin");
    fixture_destroy(b.uvm);
    b.cfg.ram_mib = 8;
    assert_int_equal(fixture_create(&b.cfg, &b.log, &b.uvm), VINF_SUCCESS);
    assert_int_equal(VMR3LoadFromFile(b.uvm, path, NULL, NULL), VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH);
    assert_false(vm_ram(&b)->file_backed);
    vm_destroy(&b);

    free(copy);
    free(file);
    free(before);
    unlink(bad);
    unlink(path);
}

/* A reset after a raw restore zeroes RAM: the file's pages do not come back. */
static void test_reset_after_raw_restore(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct test_vm a, b;
    char *before = run_and_raw_save(&a, "state_counter.bin", path, NULL);
    vm_destroy(&a);
    load_into(&b, "state_counter.bin", path, VINF_SUCCESS);
    uint8_t page[GUEST_PAGE_SIZE], zero[GUEST_PAGE_SIZE] = { 0 };
    assert_int_equal(guest_ram_read(vm_ram(&b), MARK_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_int_equal(page[0], 0xa5);
    assert_int_equal(VMR3Resume(b.uvm, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    assert_true(RT_SUCCESS(VMR3Reset(b.uvm)));
    assert_false(vm_ram(&b)->file_backed);
    assert_int_equal(guest_ram_read(vm_ram(&b), MARK_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_memory_equal(page, zero, sizeof(page));
    assert_int_equal(guest_ram_read(vm_ram(&b), MARK2_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_memory_equal(page, zero, sizeof(page));
    /* The guest boots again from its image and counts from 1 (the restored
     * one was past 3). */
    wait_lines(&b, count_lines(b.console) + 2);
    char *text = slurp(b.console, NULL);
    assert_true(strncmp(text, "T1\n", 3) == 0 || strstr(text, "\nT1\n") != NULL);
    free(text);
    vm_destroy(&b);
    free(before);
    unlink(path);
}

/*
 * The file changes on disk after the restore.  Replaced by a new save to
 * the same path (a new file renamed over it): a VM restored from the old
 * one keeps it and is unaffected.  Written in place: pages the guest wrote
 * are its own copies; pages it never wrote show the new bytes (the
 * documented trade-off of MAP_PRIVATE).
 */
static void test_file_changed_after_restore(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    struct test_vm a, b, c;
    char *before = run_and_raw_save(&a, "state_counter.bin", path, NULL);
    vm_destroy(&a);
    load_into(&b, "state_counter.bin", path, VINF_SUCCESS);
    assert_int_equal(VMR3Resume(b.uvm, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    wait_lines(&b, 2);

    /* B, running on the mapped file, live-saves raw over that very file. */
    bool suspended = false;
    assert_int_equal(VMR3SaveToFileEx(b.uvm, path, VMSAVE_F_RAW_RAM, true, NULL, NULL, &suspended), VINF_SUCCESS);
    assert_true(suspended);
    char *mid = slurp(b.console, NULL);
    char *all_before = malloc(strlen(before) + strlen(mid) + 1);
    assert_non_null(all_before);
    strcpy(all_before, before);
    strcat(all_before, mid);

    /* C maps the new file and writes one marker page itself; then the new
     * file is overwritten in place at both marker pages. */
    load_into(&c, "state_counter.bin", path, VINF_SUCCESS);
    uint8_t mine[GUEST_PAGE_SIZE], page[GUEST_PAGE_SIZE];
    memset(mine, 0x77, sizeof(mine));
    assert_int_equal(guest_ram_write(vm_ram(&c), MARK_GPA, mine, sizeof(mine)), VINF_SUCCESS);
    size_t len = 0;
    uint8_t *file = (uint8_t *)slurp(path, &len);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t junk[2 * GUEST_PAGE_SIZE];
    memset(junk, 0xee, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)(image_start(file) + MARK_GPA)), (ssize_t)sizeof(junk));
    close(fd);
    assert_int_equal(guest_ram_read(vm_ram(&c), MARK_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_memory_equal(page, mine, sizeof(page));      /* written by the VM: its own copy */
    assert_int_equal(guest_ram_read(vm_ram(&c), MARK2_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_int_equal(page[0], 0xee);                    /* never written: the file shows through */
    assert_int_equal(guest_ram_read(vm_ram(&b), MARK2_GPA, page, sizeof(page)), VINF_SUCCESS);
    assert_int_equal(page[0], 0x3c);                    /* B maps the replaced file: unaffected */
    resume_and_check(&c, all_before, 'T');              /* the guest does not use those pages */
    vm_destroy(&c);

    assert_int_equal(VMR3PowerOff(b.uvm), VINF_EM_OFF);
    vm_destroy(&b);
    free(file);
    free(all_before);
    free(mid);
    free(before);
    unlink(path);
}

/* Truncating the file under a mapping: the kernel raises SIGBUS on the next
 * access to a page past the new end (documented; shown in a child). */
static void test_truncated_file_under_mapping(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    uint8_t page[GUEST_PAGE_SIZE];
    memset(page, 0x42, sizeof(page));
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(write(fd, page, sizeof(page)), (ssize_t)sizeof(page));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction dfl;                          /* the kernel's SIGBUS, not the sanitizer's report */
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGBUS, &dfl, NULL);
        struct guest_ram ram;
        if (guest_ram_init(&ram, 4 * GUEST_PAGE_SIZE, 0) != VINF_SUCCESS ||
            guest_ram_map_file(&ram, fd, 0) != VINF_SUCCESS || ram.host[3 * GUEST_PAGE_SIZE] != 0x42)
            _exit(2);
        ram.host[0] = 1;                               /* one private copy */
        if (ftruncate(fd, GUEST_PAGE_SIZE) != 0)
            _exit(3);
        guest_ram_clear(&ram);                         /* back to anonymous memory: safe again */
        if (ram.host[3 * GUEST_PAGE_SIZE] != 0 || ram.host[0] != 0)
            _exit(4);
        if (guest_ram_map_file(&ram, fd, 0) != VINF_SUCCESS)
            _exit(5);
        volatile uint8_t v = ram.host[3 * GUEST_PAGE_SIZE];  /* past the end: SIGBUS */
        (void)v;
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGBUS);
    close(fd);
    unlink(path);
}

/* API misuse. */
static void test_save_ex_arguments(void **state)
{
    (void)state;
    struct test_vm a;
    vm_create(&a, "state_counter.bin");
    bool suspended = false;
    assert_int_equal(VMR3SaveToFileEx(a.uvm, "/tmp/x", 0x80, false, NULL, NULL, &suspended), VERR_INVALID_FLAGS);
    assert_int_equal(VMR3SaveToFileEx(a.uvm, NULL, VMSAVE_F_RAW_RAM, false, NULL, NULL, &suspended),
                     VERR_INVALID_POINTER);
    assert_int_equal(VMR3SaveToFileEx(a.uvm, "", VMSAVE_F_RAW_RAM, false, NULL, NULL, &suspended),
                     VERR_INVALID_PARAMETER);
    assert_int_equal(VMR3GetStateU(a.uvm), VMSTATE_CREATED);
    vm_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_round_trip),
        cmocka_unit_test(test_raw_live_save_of_dirtying_guest),
        cmocka_unit_test(test_reload_over_mapped_ram),
        cmocka_unit_test(test_raw_file_as_stream),
        cmocka_unit_test(test_raw_corrupt_files),
        cmocka_unit_test(test_reset_after_raw_restore),
        cmocka_unit_test(test_file_changed_after_restore),
        cmocka_unit_test(test_truncated_file_under_mapping),
        cmocka_unit_test(test_save_ex_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
