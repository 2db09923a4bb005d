/*
 * Multiboot v1 (src/boot/multiboot.c): the test kernel
 * guests/multiboot_kernel.asm booted by `petrel run --kernel` with a module
 * and a command line checks the loader's promises from inside; bad headers
 * and hostile addresses fail with the right status and never touch memory
 * out of bounds (ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmm/err.h>

#include "boot/multiboot.h"

#define MIB (1u << 20)

static void test_boot_through_cli(void **s)
{
    (void)s;
    char mod[] = "/tmp/petrel-mb-module-XXXXXX";
    int fd = mkstemp(mod);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "MODULE-OK-and-more", 18), 18);
    close(fd);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' run --kernel '%s/multiboot_kernel.bin' --initrd '%s' --append 'hello multiboot' "
             "--console none 2>/dev/null", PETREL_BIN, PETREL_GUEST_DIR, mod);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[1024];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    int st = pclose(p);
    unlink(mod);
    printf("%s", out);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), (0x33 << 1) | 1);
    assert_non_null(strstr(out, "multiboot: cmdline=hello multiboot\n"));
    assert_non_null(strstr(out, "multiboot: module=MODULE-O\n"));
}

struct mb_fx {
    struct guest_ram ram;
    struct cpu_state *st;
    char err[512];
};

static int fx_setup(void **state)
{
    struct mb_fx *f = calloc(1, sizeof(*f));
    f->st = aligned_alloc(64, sizeof(*f->st));
    assert_int_equal(guest_ram_init(&f->ram, 8 * MIB, 0), VINF_SUCCESS);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct mb_fx *f = *state;
    guest_ram_term(&f->ram);
    free(f->st);
    free(f);
    return 0;
}

/* An a.out-kludge image: header at offset 0, loaded at load, size bytes. */
static void aout(uint8_t *img, uint32_t flags, uint32_t load, uint32_t load_end, uint32_t bss_end)
{
    uint32_t h[8] = { MULTIBOOT_HEADER_MAGIC, flags, 0, load, load, load_end, bss_end, load + 32 };
    h[2] = (uint32_t)-(h[0] + h[1]);
    memcpy(img, h, sizeof(h));
}

static int load(struct mb_fx *f, const uint8_t *img, size_t size)
{
    uint64_t entry = 0;
    f->err[0] = 0;
    int rc = multiboot_load_buffer(&f->ram, img, size, NULL, "x", f->st, &entry, f->err, sizeof(f->err));
    if (RT_FAILURE(rc))
        printf("  %s\n", f->err);
    return rc;
}

static void test_good_and_bad_headers(void **state)
{
    struct mb_fx *f = *state;
    uint8_t img[4096] = { 0 };
    aout(img, 1u << 16, MIB, MIB + 4096, MIB + 65536);
    assert_int_equal(load(f, img, sizeof(img)), VINF_SUCCESS);
    assert_int_equal(f->st->gpr[GPR_RAX], MULTIBOOT_BOOTLOADER_MAGIC);
    assert_int_equal(f->st->gpr[GPR_RBX], MULTIBOOT_INFO_ADDR);
    assert_int_equal(f->st->rip, MIB + 32);
    assert_true(multiboot_detect(img, sizeof(img)));

    uint8_t none[64] = { 0 };
    assert_false(multiboot_detect(none, sizeof(none)));
    assert_int_equal(load(f, none, sizeof(none)), VERR_INVALID_EXE_SIGNATURE);
    img[8] ^= 1;                                                    /* checksum */
    assert_int_equal(load(f, img, sizeof(img)), VERR_INVALID_EXE_SIGNATURE);
    aout(img, (1u << 16) | (1u << 2), MIB, 0, 0);                   /* video mode */
    assert_int_equal(load(f, img, sizeof(img)), VERR_NOT_SUPPORTED);
    aout(img, 1u << 16, MIB, MIB + 8192, 0);                        /* load_end past the file */
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
    aout(img, 1u << 16, 0x1000, 0x2000, 0);                         /* below 1 MiB */
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
    aout(img, 1u << 16, 0xFFFFF000u, 0, 0xFFFFFFF0u);               /* far past RAM, huge bss */
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
    aout(img, 1u << 16, MIB, MIB + 4096, MIB + 4096);
    ((uint32_t *)img)[3] = MIB - 64;                                /* header_addr below load_addr */
    assert_int_equal(load(f, img, sizeof(img)), VERR_INVALID_EXE_SIGNATURE);
    assert_int_equal(load(f, img, 8), VERR_INVALID_EXE_SIGNATURE);  /* truncated */
}

/* ELF32 images (no a.out kludge): segments checked against file and RAM. */
static void test_elf32(void **state)
{
    struct mb_fx *f = *state;
    uint8_t img[4096] = { 0 };
    uint32_t h[3] = { MULTIBOOT_HEADER_MAGIC, 0, (uint32_t)-MULTIBOOT_HEADER_MAGIC };
    memcpy(img + 0x100, h, sizeof(h));
    memcpy(img, "\x7f" "ELF\x01\x01\x01", 7);
    uint16_t type_machine[2] = { 2, 3 };                             /* ET_EXEC, EM_386 */
    memcpy(img + 16, type_machine, 4);
    uint32_t entry = MIB + 0x100, phoff = 52;
    memcpy(img + 24, &entry, 4);
    memcpy(img + 28, &phoff, 4);
    uint16_t phentsize = 32, phnum = 1;
    memcpy(img + 42, &phentsize, 2);
    memcpy(img + 44, &phnum, 2);
    uint32_t ph[8] = { 1, 0, MIB, MIB, 4096, 8192, 7, 4096 };         /* PT_LOAD of the whole file */
    memcpy(img + 52, ph, sizeof(ph));
    assert_int_equal(load(f, img, sizeof(img)), VINF_SUCCESS);
    assert_int_equal(f->st->rip, MIB + 0x100);
    assert_int_equal(memcmp(f->ram.host + MIB, img, 4096), 0);
    ph[4] = 8192;                                                    /* filesz past the file */
    memcpy(img + 52, ph, sizeof(ph));
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
    ph[4] = 4096;
    ph[3] = 0x7FFFF000u;                                             /* outside RAM */
    memcpy(img + 52, ph, sizeof(ph));
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
    phnum = 0xFFFF;                                                  /* program headers past the file */
    memcpy(img + 44, &phnum, 2);
    assert_int_equal(load(f, img, sizeof(img)), VERR_OUT_OF_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boot_through_cli),
        cmocka_unit_test_setup_teardown(test_good_and_bad_headers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_elf32, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("multiboot", tests, NULL, NULL);
}
