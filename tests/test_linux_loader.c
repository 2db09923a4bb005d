/*
 * The Linux loader (src/boot/linux_*.c): the real Debian cloud kernel
 * (fetched by scripts/fetch-kernel.sh, or $PETREL_KERNEL) parsed,
 * decompressed on the host and loaded, with its zero page, e820 map,
 * initrd, page tables and entry state checked (64-bit, 32-bit, bzImage
 * 64-bit and PVH entries); every supported payload
 * format on a small synthetic kernel; and hostile inputs (not a kernel,
 * truncated, corrupt payloads, huge lengths, too little RAM), each of which
 * must fail with a clean status and message (ASan watches the reads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <elf.h>
#include <libgen.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <vmm/err.h>

#include "boot/e820.h"
#include "boot/linux_boot_internal.h"

#define MiB (UINT64_C(1) << 20)
#define TEST_CMDLINE "console=ttyS0 panic=-1 petrel.test=1"
#define ELF_CODE_SIZE 0x2000u
#define ELF_BSS_SIZE  0x1000u
#define SYN_LOAD      UINT64_C(0x1000000)

/* ---------- helpers ---------- */

static char err_buf[512];

static uint8_t *file_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void file_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static char *temp_path(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "/tmp/petrel_linux_test_%d_%s", (int)getpid(), name);
    return p;
}

static void ram_init(struct guest_ram *ram, uint64_t size)
{
    assert_int_equal(guest_ram_init(ram, size, UINT64_C(0x40000000)), VINF_SUCCESS);
}

static uint32_t rd32(const struct guest_ram *ram, uint64_t gpa)
{
    uint32_t v = 0;
    assert_int_equal(guest_ram_read(ram, gpa, &v, 4), VINF_SUCCESS);
    return v;
}

/* Walks the guest's 4-level page tables (4 KiB, 2 MiB and 1 GiB pages). */
static bool page_walk(const struct guest_ram *ram, uint64_t cr3, uint64_t va, uint64_t *pa)
{
    uint64_t table = cr3 & ~UINT64_C(0xfff);
    for (int level = 3; level >= 0; level--) {
        uint64_t idx = (va >> (12 + 9 * level)) & 511, e = 0;
        if (guest_ram_read(ram, table + idx * 8, &e, 8) != VINF_SUCCESS || !(e & 1))
            return false;
        uint64_t frame = e & UINT64_C(0x000ffffffffff000);
        if (level == 0 || (level <= 2 && (e & 0x80))) {
            uint64_t mask = (UINT64_C(1) << (12 + 9 * level)) - 1;
            *pa = (frame & ~mask) | (va & mask);
            return true;
        }
        table = frame;
    }
    return false;
}

static void assert_identity(const struct guest_ram *ram, uint64_t cr3, uint64_t va)
{
    uint64_t pa = ~UINT64_C(0);
    assert_true(page_walk(ram, cr3, va, &pa));
    assert_int_equal(pa, va);
}

/* The kernel: $PETREL_KERNEL, else fetched into <build>/../.cache/kernel. */
static const char *kernel_path(void)
{
    static char path[1024];
    static int tried;
    if (tried)
        return path[0] ? path : NULL;
    tried = 1;
    const char *env = getenv("PETREL_KERNEL");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s", env);
        return path;
    }
    char src[1024], bin[1024], cmd[3200];
    snprintf(src, sizeof(src), "%s", __FILE__);
    snprintf(bin, sizeof(bin), "%s", PETREL_GUEST_DIR);
    char *src_dir = dirname(dirname(src));
    char *bin_dir = dirname(bin);
    snprintf(cmd, sizeof(cmd), "sh '%s/scripts/fetch-kernel.sh' '%s/../.cache/kernel' 2>/dev/null",
             src_dir, bin_dir);
    FILE *p = popen(cmd, "r");
    char line[1024] = "";
    while (p && fgets(line, sizeof(line), p))
        ;
    if (!p || pclose(p) != 0 || !line[0]) {
        fprintf(stderr, "[  SKIP    ] no kernel: set PETREL_KERNEL or make scripts/fetch-kernel.sh work (%s)\n", cmd);
        return NULL;
    }
    line[strcspn(line, "\n")] = 0;
    snprintf(path, sizeof(path), "%s", line);
    return path;
}

static uint8_t *kernel_read(size_t *size)
{
    const char *path = kernel_path();
    if (!path)
        return NULL;
    uint8_t *k = file_read(path, size);
    assert_non_null(k);
    return k;
}

#define REQUIRE_KERNEL(var, size) \
    size_t size; \
    uint8_t *var = kernel_read(&(size)); /* NOLINT(bugprone-macro-parentheses): declarator */ \
    if (!(var)) { skip(); return; }

static int load_buf(struct guest_ram *ram, const uint8_t *k, size_t size, enum linux_entry entry,
                    struct cpu_state *st, struct linux_boot_info *info)
{
    struct linux_boot_params p = { .cmdline = TEST_CMDLINE, .entry = entry };
    err_buf[0] = 0;
    int rc = linux_load_buffer(ram, &p, k, size, st, info, err_buf, sizeof(err_buf));
    if (RT_FAILURE(rc)) {
        assert_true(err_buf[0] != 0);          /* every failure says why */
        if (getenv("PETREL_TEST_VERBOSE"))
            fprintf(stderr, "    (%d) %s\n", rc, err_buf);
    }
    return rc;
}

/* A load of a malloc'ed exact-size copy (so ASan sees any overread). */
static int load_copy_ram_entry(const uint8_t *k, size_t size, uint64_t ram_size, enum linux_entry entry)
{
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, k, size);
    ram_init(&ram, ram_size);
    int rc = load_buf(&ram, copy, size, entry, st, NULL);
    guest_ram_term(&ram);
    free(copy);
    free(st);
    return rc;
}

static int load_copy(const uint8_t *k, size_t size, uint64_t ram_size)
{
    return load_copy_ram_entry(k, size, ram_size, LINUX_ENTRY_64);
}

static int load_copy_entry(const uint8_t *k, size_t size, enum linux_entry entry)
{
    return load_copy_ram_entry(k, size, 32 * MiB, entry);
}

/* ---------- synthetic kernels ---------- */

/* An x86-64 vmlinux-like ELF: one R+X PT_LOAD at 16 MiB with a bss tail. */
static uint8_t *elf_make(size_t *size)
{
    size_t n = 0x1000 + ELF_CODE_SIZE;
    uint8_t *e = calloc(1, n);
    Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                      .e_entry = SYN_LOAD, .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
                      .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1 };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
                      .p_vaddr = LINUX_START_KERNEL_MAP + SYN_LOAD, .p_paddr = SYN_LOAD,
                      .p_filesz = ELF_CODE_SIZE, .p_memsz = ELF_CODE_SIZE + ELF_BSS_SIZE, .p_align = 0x200000 };
    memcpy(e, &eh, sizeof(eh));
    memcpy(e + eh.e_phoff, &ph, sizeof(ph));
    for (size_t i = 0; i < ELF_CODE_SIZE; i++)
        e[0x1000 + i] = (uint8_t)(i * 7 + 3);
    static const uint8_t lea_rsp[] = { 0x48, 0x8d, 0x25 };   /* lea ...(%rip), %rsp like startup_64 */
    memcpy(e + 0x1000, lea_rsp, sizeof(lea_rsp));
    *size = n;
    return e;
}

static Elf64_Phdr *elf_phdr(uint8_t *e)
{
    return (Elf64_Phdr *)(e + sizeof(Elf64_Ehdr));
}

static size_t trailer_add(uint8_t *out, size_t pos, size_t orig)
{
    uint32_t t = (uint32_t)orig;
    memcpy(out + pos, &t, 4);
    return pos + 4;
}

static size_t gzip_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs = { 0 };
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t len = zs.total_out;
    deflateEnd(&zs);
    return len;
}

static size_t xz_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t pos = 0;
    assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, n, out, &pos, cap), LZMA_OK);
    return pos;
}

static size_t lzma_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    lzma_options_lzma opt;
    lzma_stream s = LZMA_STREAM_INIT;
    assert_false(lzma_lzma_preset(&opt, 6));
    assert_int_equal(lzma_alone_encoder(&s, &opt), LZMA_OK);
    s.next_in = in;
    s.avail_in = n;
    s.next_out = out;
    s.avail_out = cap;
    assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
    size_t len = s.total_out;
    lzma_end(&s);
    return len;
}

static size_t zstd_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t len = ZSTD_compress(out, cap, in, n, 19);
    assert_false(ZSTD_isError(len));
    return len;
}

/* lz4 legacy format with 8 MiB blocks, as the kernel's `lz4 -l` writes it. */
static size_t lz4_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    static const uint8_t lz4_legacy_magic[] = { 0x02, 0x21, 0x4c, 0x18 };
    memcpy(out, lz4_legacy_magic, sizeof(lz4_legacy_magic));
    size_t pos = 4;
    for (size_t off = 0; off < n; off += 8 * MiB) {
        int chunk = (int)(n - off < 8 * MiB ? n - off : 8 * MiB);
        int len = LZ4_compress_default((const char *)in + off, (char *)out + pos + 4, chunk,
                                       (int)(cap - pos - 4));
        assert_true(len > 0);
        uint32_t l32 = (uint32_t)len;
        memcpy(out + pos, &l32, 4);
        pos += 4 + (size_t)len;
    }
    return pos;
}

typedef size_t pack_fn(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* Compressed payload + the kernel's 4-byte size trailer. */
static uint8_t *payload_make(pack_fn *pack, const uint8_t *in, size_t n, size_t *size)
{
    size_t cap = n * 2 + 4096;
    uint8_t *out = malloc(cap);
    size_t len = pack(in, n, out, cap - 4);
    *size = trailer_add(out, len, n);
    return out;
}

/* A bzImage around payload: 1 setup sector, 0x200 bytes of "decompressor", then the payload. */
static uint8_t *bzimage_make(const uint8_t *payload, size_t payload_size, size_t *size)
{
    size_t prot = (0x200 + payload_size + 15) & ~(size_t)15;
    size_t n = 1024 + prot;
    uint8_t *k = calloc(1, n);
    struct linux_setup_header h = {
        .setup_sects = 1, .syssize = (uint32_t)(prot / 16), .boot_flag = LINUX_BOOT_FLAG,
        .jump = 0x6aeb, .header = LINUX_HDRS_MAGIC, .version = 0x020f, .loadflags = LINUX_LOADED_HIGH,
        .code32_start = 0x100000, .initrd_addr_max = 0x7fffffff, .kernel_alignment = 0x200000,
        .relocatable_kernel = 1, .xloadflags = LINUX_XLF_KERNEL_64 | LINUX_XLF_CAN_BE_LOADED_ABOVE_4G,
        .cmdline_size = 2047, .payload_offset = 0x200, .payload_length = (uint32_t)payload_size,
        .pref_address = SYN_LOAD, .init_size = 0x400000,
    };
    memcpy(k + LINUX_HDR_OFFSET, &h, sizeof(h));
    memset(k + 1024, 0x90, 0x200);
    memcpy(k + 1024 + 0x200, payload, payload_size);
    *size = n;
    return k;
}

static struct linux_setup_header *hdr_of(uint8_t *k)
{
    return (struct linux_setup_header *)(k + LINUX_HDR_OFFSET);
}

/* A gzip bzImage of the synthetic ELF. */
static uint8_t *synthetic_bzimage(size_t *size)
{
    size_t en, pn;
    uint8_t *elf = elf_make(&en);
    uint8_t *pay = payload_make(gzip_pack, elf, en, &pn);
    uint8_t *k = bzimage_make(pay, pn, size);
    free(pay);
    free(elf);
    return k;
}

/* ---------- the real kernel ---------- */

static void check_zero_page(const struct guest_ram *ram, const struct linux_boot_info *info,
                            const uint8_t *initrd, size_t initrd_size)
{
    const uint8_t *zp = guest_ram_ptr(ram, LINUX_ZERO_PAGE_ADDR, ZP_SIZE);
    struct linux_setup_header h;
    memcpy(&h, zp + LINUX_HDR_OFFSET, sizeof(h));
    assert_int_equal(h.boot_flag, LINUX_BOOT_FLAG);
    assert_int_equal(h.header, LINUX_HDRS_MAGIC);
    assert_int_equal(h.type_of_loader, 0xff);
    assert_true(h.loadflags & LINUX_LOADED_HIGH);
    assert_true(h.loadflags & LINUX_CAN_USE_HEAP);
    assert_int_equal(h.cmd_line_ptr, LINUX_CMDLINE_ADDR);
    assert_string_equal((const char *)guest_ram_ptr(ram, LINUX_CMDLINE_ADDR, 1), TEST_CMDLINE);
    assert_int_equal(h.ramdisk_image, info->initrd_addr);
    assert_int_equal(h.ramdisk_size, initrd_size);
    assert_int_equal(h.ramdisk_image % GUEST_PAGE_SIZE, 0);
    assert_true(h.ramdisk_image >= info->kernel_end);
    assert_true(h.ramdisk_image + initrd_size <= ram->low_size);
    assert_true(h.ramdisk_image + initrd_size - 1 <= h.initrd_addr_max);
    assert_memory_equal(guest_ram_ptr(ram, h.ramdisk_image, initrd_size), initrd, initrd_size);
    assert_int_equal(rd32(ram, LINUX_ZERO_PAGE_ADDR + ZP_EXT_RAMDISK_IMAGE), 0);
    uint64_t rsdp;
    memcpy(&rsdp, zp + ZP_ACPI_RSDP_ADDR, 8);
    assert_int_equal(rsdp, 0xe0000);
}

static void check_e820_256m(const struct guest_ram *ram)
{
    const uint8_t *zp = guest_ram_ptr(ram, LINUX_ZERO_PAGE_ADDR, ZP_SIZE);
    struct e820_entry e[3];
    assert_int_equal(zp[ZP_E820_ENTRIES], 3);
    memcpy(e, zp + ZP_E820_TABLE, sizeof(e));
    assert_int_equal(e[0].addr, 0);
    assert_int_equal(e[0].size, 0x9f000);
    assert_int_equal(e[0].type, E820_RAM);
    assert_int_equal(e[1].addr, 0x9f000);
    assert_int_equal(e[1].addr + e[1].size, 0x100000);
    assert_int_equal(e[1].type, E820_RESERVED);
    assert_int_equal(e[2].addr, 0x100000);
    assert_int_equal(e[2].addr + e[2].size, 256 * MiB);
    assert_int_equal(e[2].type, E820_RAM);
}

static void check_long_mode_state(const struct guest_ram *ram, const struct cpu_state *st, uint64_t entry)
{
    assert_int_equal(st->rip, entry);
    assert_int_equal(st->gpr[GPR_RSI], LINUX_ZERO_PAGE_ADDR);
    assert_int_equal(st->seg[SEG_CS].selector, 0x10);
    assert_true(st->seg[SEG_CS].attr & SEG_ATTR_L);
    assert_false(st->seg[SEG_CS].attr & SEG_ATTR_DB);
    assert_int_equal(st->seg[SEG_DS].selector, 0x18);
    assert_int_equal(st->seg[SEG_SS].selector, 0x18);
    assert_int_equal(st->seg[SEG_ES].selector, 0x18);
    assert_true((st->cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG));
    assert_true(st->cr4 & CR4_PAE);
    assert_true((st->efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA));
    assert_false(st->rflags & RFLAGS_IF);
    assert_int_equal(st->run_state, CPU_RUNNABLE);
    uint64_t gdt[4];
    assert_int_equal(guest_ram_read(ram, st->gdtr.base, gdt, sizeof(gdt)), VINF_SUCCESS);
    assert_true(st->gdtr.limit >= 0x1f);
    assert_true(gdt[2] & (UINT64_C(1) << 53));              /* __BOOT_CS: L */
    assert_int_equal((gdt[2] >> 40) & 0x9a, 0x9a);          /* present code, readable */
    assert_int_equal((gdt[3] >> 40) & 0x92, 0x92);          /* present data, writable */
}

static void check_identity_map(const struct guest_ram *ram, const struct cpu_state *st,
                               const struct linux_boot_info *info)
{
    assert_identity(ram, st->cr3, 0);
    assert_identity(ram, st->cr3, LINUX_ZERO_PAGE_ADDR);
    assert_identity(ram, st->cr3, LINUX_CMDLINE_ADDR + 100);
    assert_identity(ram, st->cr3, LINUX_STACK_TOP - 8);
    assert_identity(ram, st->cr3, info->entry);
    assert_identity(ram, st->cr3, info->kernel_end - 1);
    assert_identity(ram, st->cr3, info->initrd_addr);
    assert_identity(ram, st->cr3, GUEST_4G - 1);
}

static void test_real_kernel_64(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    free(k);
    uint8_t initrd[70000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 13);
    char *ipath = temp_path("initrd");
    file_write(ipath, initrd, sizeof(initrd));
    struct guest_ram ram;
    ram_init(&ram, 256 * MiB);
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    struct linux_boot_params p = { .kernel_path = kernel_path(), .initrd_path = ipath,
                                   .cmdline = TEST_CMDLINE, .acpi_rsdp = 0xe0000 };
    int rc = linux_load(&ram, &p, st, &info, err_buf, sizeof(err_buf));
    if (RT_FAILURE(rc))
        fprintf(stderr, "linux_load: %s\n", err_buf);
    assert_int_equal(rc, VINF_SUCCESS);
    fprintf(stderr, "kernel %s: protocol %x, %s payload -> %llu bytes, [0x%llx, 0x%llx), entry 0x%llx, "
            "initrd at 0x%llx\n", p.kernel_path, info.protocol, info.compression,
            (unsigned long long)info.decompressed_size, (unsigned long long)info.kernel_start,
            (unsigned long long)info.kernel_end, (unsigned long long)info.entry,
            (unsigned long long)info.initrd_addr);
    assert_true(info.protocol >= 0x020c);
    assert_non_null(info.compression);
    assert_int_equal(info.kernel_start, 0x1000000);      /* Debian's LOAD_PHYSICAL_ADDR */
    assert_int_equal(info.entry, info.kernel_start);     /* startup_64 opens .text */
    /* startup_64 begins with `lea __end_init_task-PTREGS_SIZE(%rip), %rsp` (or ENDBR64). */
    const uint8_t *code = guest_ram_ptr(&ram, info.entry, 4);
    assert_true(memcmp(code, "\x48\x8d\x25", 3) == 0 || memcmp(code, "\xf3\x0f\x1e\xfa", 4) == 0);
    check_zero_page(&ram, &info, initrd, sizeof(initrd));
    check_e820_256m(&ram);
    check_long_mode_state(&ram, st, info.entry);
    check_identity_map(&ram, st, &info);
    unlink(ipath);
    free(st);
    guest_ram_term(&ram);
}

/* The classic 32-bit entry and the bzImage's own 64-bit entry. */
static void test_real_kernel_bzimage_entries(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    size_t setup = ((size_t)k[0x1f1] + 1) * 512;

    ram_init(&ram, 256 * MiB);
    assert_int_equal(load_buf(&ram, k, ksize, LINUX_ENTRY_32, st, &info), VINF_SUCCESS);
    assert_int_equal(st->rip, 0x100000);
    assert_int_equal(st->gpr[GPR_RSI], LINUX_ZERO_PAGE_ADDR);
    assert_int_equal(st->gpr[GPR_RBX] | st->gpr[GPR_RBP] | st->gpr[GPR_RDI], 0);
    assert_false(st->cr0 & CR0_PG);
    assert_true(st->cr0 & CR0_PE);
    assert_true(st->seg[SEG_CS].attr & SEG_ATTR_DB);
    assert_int_equal(st->seg[SEG_CS].selector, 0x10);
    assert_int_equal(st->seg[SEG_DS].selector, 0x18);
    assert_int_equal(rd32(&ram, LINUX_ZERO_PAGE_ADDR + 0x214), 0x100000);   /* code32_start */
    assert_memory_equal(guest_ram_ptr(&ram, 0x100000, 4096), k + setup, 4096);
    guest_ram_term(&ram);

    ram_init(&ram, 256 * MiB);
    assert_int_equal(load_buf(&ram, k, ksize, LINUX_ENTRY_64_BZIMAGE, st, &info), VINF_SUCCESS);
    uint64_t pref;
    memcpy(&pref, k + 0x258, 8);
    assert_int_equal(st->rip, pref + 0x200);
    check_long_mode_state(&ram, st, pref + 0x200);
    assert_memory_equal(guest_ram_ptr(&ram, pref, 4096), k + setup, 4096);
    guest_ram_term(&ram);
    free(st);
    free(k);
}

static void test_real_kernel_too_little_ram(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    const uint64_t sizes[] = { UINT64_C(512) * 1024, 16 * MiB, 48 * MiB, 64 * MiB };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(load_copy(k, ksize, sizes[i]), VERR_OUT_OF_RANGE);
        assert_non_null(strstr(err_buf, "too little guest RAM"));
    }
    assert_int_equal(load_copy(k, ksize, 128 * MiB), VINF_SUCCESS);
    free(k);
}

static void test_real_kernel_truncated(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    size_t setup = ((size_t)k[0x1f1] + 1) * 512;
    uint32_t poff, plen, syssize;
    memcpy(&poff, k + 0x248, 4);
    memcpy(&plen, k + 0x24c, 4);
    memcpy(&syssize, k + 0x1f4, 4);
    const size_t cuts[] = { 0, 1, 64, 0x1f0, 0x1ff, 0x201, 0x205, 0x207, 0x230, 0x26b, setup - 1, setup,
                            setup + 1, setup + poff + 16, setup + poff + plen / 2,
                            setup + poff + plen - 1, setup + (size_t)syssize * 16 - 1 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        int rc = load_copy(k, cuts[i], 128 * MiB);
        assert_true(RT_FAILURE(rc));
    }
    free(k);
}

static void test_real_kernel_corrupt_payload(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    size_t setup = ((size_t)k[0x1f1] + 1) * 512;
    uint32_t poff, plen;
    memcpy(&poff, k + 0x248, 4);
    memcpy(&plen, k + 0x24c, 4);
    uint8_t *pay = k + setup + poff;
    uint8_t saved[65536];

    memcpy(saved, pay + plen / 2, sizeof(saved));          /* garbage in the middle */
    memset(pay + plen / 2, 0, sizeof(saved));
    assert_true(RT_FAILURE(load_copy(k, ksize, 128 * MiB)));
    memcpy(pay + plen / 2, saved, sizeof(saved));

    uint32_t trailer, bad = 0xffffffff;                    /* absurd size trailer */
    memcpy(&trailer, pay + plen - 4, 4);
    memcpy(pay + plen - 4, &bad, 4);
    assert_int_equal(load_copy(k, ksize, 128 * MiB), VERR_IMAGE_TOO_BIG);
    bad = 4096;                                            /* trailer smaller than the data */
    memcpy(pay + plen - 4, &bad, 4);
    assert_true(RT_FAILURE(load_copy(k, ksize, 128 * MiB)));
    memcpy(pay + plen - 4, &trailer, 4);

    hdr_of(k)->xloadflags = 0;                             /* a 32-bit kernel */
    assert_int_equal(load_copy(k, ksize, 128 * MiB), VERR_NOT_SUPPORTED);
    free(k);
}

static void test_real_kernel_cmdline_too_long(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    free(k);
    char *cmdline = malloc(5000);
    memset(cmdline, 'x', 4999);
    cmdline[4999] = 0;
    struct guest_ram ram;
    ram_init(&ram, 256 * MiB);
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_params p = { .kernel_path = kernel_path(), .cmdline = cmdline };
    assert_int_equal(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf)), VERR_BUFFER_OVERFLOW);
    assert_non_null(strstr(err_buf, "command line"));
    free(st);
    free(cmdline);
    guest_ram_term(&ram);
}

/* ---------- every payload format on a synthetic kernel ---------- */

struct format_case {
    const char *name;
    pack_fn *pack;
};

static const struct format_case format_cases[] = {
    { "gzip", gzip_pack }, { "xz", xz_pack }, { "lzma", lzma_pack }, { "zstd", zstd_pack }, { "lz4", lz4_pack },
};

static void check_synthetic_loaded(const struct guest_ram *ram, const uint8_t *elf, const struct cpu_state *st)
{
    assert_memory_equal(guest_ram_ptr(ram, SYN_LOAD, ELF_CODE_SIZE), elf + 0x1000, ELF_CODE_SIZE);
    const uint8_t *bss = guest_ram_ptr(ram, SYN_LOAD + ELF_CODE_SIZE, ELF_BSS_SIZE);
    for (size_t i = 0; i < ELF_BSS_SIZE; i++)
        assert_int_equal(bss[i], 0);
    assert_int_equal(st->rip, SYN_LOAD);
}

static void format_roundtrip(const struct format_case *fc, const uint8_t *elf, size_t en)
{
    size_t pn, kn;
    uint8_t *pay = payload_make(fc->pack, elf, en, &pn);
    uint8_t *k = bzimage_make(pay, pn, &kn);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    ram_init(&ram, 32 * MiB);
    memset(guest_ram_ptr(&ram, SYN_LOAD, 2 * MiB), 0xcc, 2 * MiB);   /* bss must be cleared */
    int rc = load_buf(&ram, k, kn, LINUX_ENTRY_64, st, &info);
    if (RT_FAILURE(rc))
        fprintf(stderr, "%s: %s\n", fc->name, err_buf);
    assert_int_equal(rc, VINF_SUCCESS);
    assert_string_equal(info.compression, fc->name);
    assert_int_equal(info.decompressed_size, en);
    check_synthetic_loaded(&ram, elf, st);
    guest_ram_term(&ram);
    free(st);
    free(k);
    free(pay);
}

/* Truncated stream (trailer kept) and a trailer that disagrees with the data. */
static void format_corrupt(const struct format_case *fc, const uint8_t *elf, size_t en)
{
    size_t pn, kn;
    uint8_t *pay = payload_make(fc->pack, elf, en, &pn);
    uint8_t *cut = malloc(pn);
    size_t half = (pn - 4) / 2;
    memcpy(cut, pay, half);
    size_t cn = trailer_add(cut, half, en);
    uint8_t *k = bzimage_make(cut, cn, &kn);
    int rc = load_copy(k, kn, 32 * MiB);
    assert_true(RT_FAILURE(rc));
    free(k);
    for (int delta = -1; delta <= 1; delta += 2) {
        trailer_add(pay, pn - 4, en + (size_t)delta);
        k = bzimage_make(pay, pn, &kn);
        rc = load_copy(k, kn, 32 * MiB);
        if (RT_SUCCESS(rc) || !strstr(err_buf, fc->name))
            fprintf(stderr, "%s: trailer %+d: %s\n", fc->name, delta, RT_SUCCESS(rc) ? "accepted" : err_buf);
        assert_true(RT_FAILURE(rc));
        assert_non_null(strstr(err_buf, fc->name));   /* caught by the decoder, not later */
        free(k);
    }
    free(cut);
    free(pay);
}

static void test_formats(void **state)
{
    (void)state;
    size_t en;
    uint8_t *elf = elf_make(&en);
    for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
        format_roundtrip(&format_cases[i], elf, en);
        format_corrupt(&format_cases[i], elf, en);
    }
    /* An uncompressed payload (CONFIG_KERNEL_UNCOMPRESSED) is the ELF itself. */
    size_t kn;
    uint8_t *k = bzimage_make(elf, en, &kn);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    ram_init(&ram, 32 * MiB);
    assert_int_equal(load_buf(&ram, k, kn, LINUX_ENTRY_64, st, &info), VINF_SUCCESS);
    assert_string_equal(info.compression, "none");
    check_synthetic_loaded(&ram, elf, st);
    guest_ram_term(&ram);
    free(st);
    free(k);
    free(elf);
}

/* lz4 with more than one 8 MiB block, straight through the decompressor. */
static void test_lz4_multi_block(void **state)
{
    (void)state;
    size_t n = 17 * MiB + 123, pn, out_n;
    uint8_t *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)((i >> 12) ^ (i * 31));
    uint8_t *pay = payload_make(lz4_pack, in, n, &pn), *out;
    const char *fmt;
    assert_int_equal(linux_decompress(pay, pn, 64 * MiB, &out, &out_n, &fmt, err_buf, sizeof(err_buf)),
                     VINF_SUCCESS);
    assert_int_equal(out_n, n);
    assert_memory_equal(out, in, n);
    free(out);
    /* A limit below the trailer's size is refused before any allocation. */
    assert_int_equal(linux_decompress(pay, pn, 16 * MiB, &out, &out_n, &fmt, err_buf, sizeof(err_buf)),
                     VERR_IMAGE_TOO_BIG);
    assert_null(out);
    free(pay);
    free(in);
}

static void test_unsupported_formats(void **state)
{
    (void)state;
    static const struct { const char *magic; size_t len; const char *name; } cases[] = {
        { "BZh91AY&SY", 10, "bzip2" },
        { "\x89LZO\0\r\n\x1a\n", 9, "lzo" },
        { "\x04\x22\x4d\x18", 4, "lz4 frame" },
        { "\x12\x34\x56\x78", 4, "unknown" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t pay[64] = { 0 };
        memcpy(pay, cases[i].magic, cases[i].len);
        trailer_add(pay, 60, 1000);
        size_t kn;
        uint8_t *k = bzimage_make(pay, sizeof(pay), &kn);
        assert_int_equal(load_copy(k, kn, 32 * MiB), VERR_NOT_SUPPORTED);
        assert_non_null(strstr(err_buf, cases[i].name));
        free(k);
    }
}

/* ---------- hostile and broken inputs ---------- */

static void test_not_a_kernel(void **state)
{
    (void)state;
    uint8_t buf[4096];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 151 + 7);
    assert_int_equal(load_copy(buf, sizeof(buf), 32 * MiB), VERR_INVALID_EXE_SIGNATURE);
    const char text[] = "#!/bin/sh\necho this is not a kernel\n";
    assert_int_equal(load_copy((const uint8_t *)text, sizeof(text), 32 * MiB), VERR_INVALID_EXE_SIGNATURE);
    memset(buf, 0, sizeof(buf));                      /* a boot sector: 0xAA55 but no HdrS */
    buf[0x1fe] = 0x55;
    buf[0x1ff] = 0xaa;
    assert_int_equal(load_copy(buf, sizeof(buf), 32 * MiB), VERR_INVALID_EXE_SIGNATURE);
    assert_non_null(strstr(err_buf, "HdrS"));

    size_t kn;                                        /* boot protocol 2.04: too old */
    uint8_t *k = synthetic_bzimage(&kn);
    hdr_of(k)->version = 0x0204;
    assert_int_equal(load_copy(k, kn, 32 * MiB), VERR_NOT_SUPPORTED);
    assert_non_null(strstr(err_buf, "too old"));
    hdr_of(k)->version = 0x0207;                      /* 2.07: no payload fields for the 64-bit entry */
    assert_int_equal(load_copy(k, kn, 32 * MiB), VERR_NOT_SUPPORTED);
    free(k);
}

/* Each field set to a hostile value must give a clean failure. */
static void test_hostile_setup_header(void **state)
{
    (void)state;
    size_t kn;
    uint8_t *orig = synthetic_bzimage(&kn);
    uint8_t *k = malloc(kn);
    for (int c = 0; c < 11; c++) {
        memcpy(k, orig, kn);
        struct linux_setup_header *h = hdr_of(k);
        switch (c) {
        case 0: h->syssize = 0xffffffff; break;
        case 1: h->payload_length = 0xffffffff; break;
        case 2: h->payload_offset = 0xfffffff0; break;
        case 3: h->setup_sects = 255; break;
        case 4: h->kernel_alignment = 3; break;
        case 5: h->init_size = 0xffffffff; break;
        case 6: h->pref_address = UINT64_C(0xfffffffffffff000); break;
        case 7: h->pref_address = 0x1000123; break;
        case 8: h->syssize = 0; break;
        case 9: h->init_size = 0; break;
        case 10: h->payload_length = 3; break;
        }
        int rc = load_copy(k, kn, 32 * MiB);
        if (RT_SUCCESS(rc))
            fprintf(stderr, "hostile header case %d accepted\n", c);
        assert_true(RT_FAILURE(rc));
    }
    /* A header claiming to be longer than the protocol knows is capped, not trusted. */
    memcpy(k, orig, kn);
    k[0x201] = 0xff;
    assert_int_equal(load_copy(k, kn, 32 * MiB), VINF_SUCCESS);
    free(k);
    free(orig);
}

static int elf_case_load(const uint8_t *elf, size_t en, uint64_t ram_size)
{
    return load_copy(elf, en, ram_size);
}

static void test_hostile_elf(void **state)
{
    (void)state;
    size_t en;
    uint8_t *orig = elf_make(&en);
    uint8_t *e = malloc(en);
    assert_int_equal(elf_case_load(orig, en, 32 * MiB), VINF_SUCCESS);
    for (int c = 0; c < 13; c++) {
        memcpy(e, orig, en);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)e;
        Elf64_Phdr *ph = elf_phdr(e);
        switch (c) {
        case 0: eh->e_phoff = UINT64_C(0xfffffffffffffff0); break;
        case 1: eh->e_phnum = 0xffff; break;
        case 2: eh->e_phentsize = 32; break;
        case 3: ph->p_filesz = UINT64_C(0xffffffffffff0000); break;
        case 4: ph->p_offset = UINT64_C(0xffffffffffffff00); break;
        case 5: ph->p_memsz = UINT64_C(0x7fffffffffffffff); ph->p_filesz = 16; break;
        case 6: ph->p_paddr = 0x8000; break;                    /* over the loader's tables */
        case 7: eh->e_entry = 0x2000000; break;                 /* outside the segment */
        case 8: eh->e_ident[EI_CLASS] = ELFCLASS32; break;
        case 9: eh->e_machine = EM_386; break;
        case 10: ph->p_type = PT_NOTE; break;                   /* nothing to load */
        case 11: ph->p_flags = PF_R; break;                     /* entry not executable */
        case 12: ph->p_paddr = UINT64_C(0xfffff000); break;      /* crosses 4 GiB */
        }
        int rc = elf_case_load(e, en, 32 * MiB);
        if (RT_SUCCESS(rc))
            fprintf(stderr, "hostile ELF case %d accepted\n", c);
        assert_true(RT_FAILURE(rc));
    }
    for (size_t cut = 0; cut < 0x1000 + ELF_CODE_SIZE; cut += 0x1ff)   /* truncated ELF */
        assert_true(RT_FAILURE(elf_case_load(orig, cut, 32 * MiB)));
    assert_int_equal(elf_case_load(orig, en, 16 * MiB), VERR_OUT_OF_RANGE);   /* ends past RAM */
    free(e);
    free(orig);
}

static void test_missing_files(void **state)
{
    (void)state;
    struct guest_ram ram;
    ram_init(&ram, 32 * MiB);
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_params p = { .kernel_path = "/nonexistent/petrel/bzImage" };
    assert_int_equal(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf)), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(err_buf, "/nonexistent/petrel/bzImage"));
    p.kernel_path = "/tmp";
    assert_true(RT_FAILURE(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf))));
    char *empty = temp_path("empty");
    file_write(empty, "", 0);
    p.kernel_path = empty;
    assert_true(RT_FAILURE(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf))));
    p.kernel_path = NULL;
    assert_int_equal(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf)), VERR_INVALID_PARAMETER);

    size_t kn;
    uint8_t *k = synthetic_bzimage(&kn);
    char *kpath = temp_path("bzImage");
    file_write(kpath, k, kn);
    p.kernel_path = kpath;
    p.initrd_path = "/nonexistent/petrel/initrd";
    assert_int_equal(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf)), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(err_buf, "initrd"));
    p.initrd_path = empty;
    assert_true(RT_FAILURE(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf))));
    p.initrd_path = NULL;
    p.entry = (enum linux_entry)42;
    assert_int_equal(linux_load(&ram, &p, st, NULL, err_buf, sizeof(err_buf)), VERR_INVALID_PARAMETER);
    unlink(kpath);
    unlink(empty);
    free(k);
    free(st);
    guest_ram_term(&ram);
}

/* An initrd larger than the RAM left above the kernel. */
static void test_initrd_too_big(void **state)
{
    (void)state;
    size_t kn;
    uint8_t *k = synthetic_bzimage(&kn);
    char *kpath = temp_path("bzImage2"), *ipath = temp_path("initrd2");
    file_write(kpath, k, kn);
    size_t isize = 12 * MiB;
    uint8_t *initrd = calloc(1, isize);
    file_write(ipath, initrd, isize);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_params p = { .kernel_path = kpath, .initrd_path = ipath };
    struct linux_boot_info info;
    ram_init(&ram, 24 * MiB);                 /* kernel: 16 MiB + 4 MiB init_size */
    assert_int_equal(linux_load(&ram, &p, st, &info, err_buf, sizeof(err_buf)), VERR_OUT_OF_RANGE);
    assert_non_null(strstr(err_buf, "initrd"));
    guest_ram_term(&ram);
    ram_init(&ram, 40 * MiB);
    assert_int_equal(linux_load(&ram, &p, st, &info, err_buf, sizeof(err_buf)), VINF_SUCCESS);
    assert_int_equal(info.initrd_addr, 40 * MiB - isize);
    assert_true(info.initrd_addr >= info.kernel_end);
    guest_ram_term(&ram);
    unlink(kpath);
    unlink(ipath);
    free(initrd);
    free(st);
    free(k);
}


/* ---------- PVH entry ---------- */

struct pvh_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

static void test_real_kernel_pvh(void **state)
{
    (void)state;
    REQUIRE_KERNEL(k, ksize);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    ram_init(&ram, 256 * MiB);
    int rc = load_buf(&ram, k, ksize, LINUX_ENTRY_PVH, st, &info);
    if (rc == VERR_NOT_SUPPORTED) {                  /* a kernel built without CONFIG_PVH */
        fprintf(stderr, "[  SKIP    ] %s\n", err_buf);
        guest_ram_term(&ram);
        free(st);
        free(k);
        skip();
        return;
    }
    assert_int_equal(rc, VINF_SUCCESS);
    assert_true(info.entry > info.kernel_start && info.entry < info.kernel_end);
    assert_int_equal(*(const uint8_t *)guest_ram_ptr(&ram, info.entry, 1), 0xfc);   /* pvh_start_xen: cld */
    assert_int_equal(st->rip, info.entry);
    assert_int_equal(st->gpr[GPR_RBX], LINUX_PVH_INFO_ADDR);
    assert_false(st->cr0 & CR0_PG);
    assert_int_equal(st->efer, 0);
    assert_true(st->seg[SEG_CS].attr & SEG_ATTR_DB);
    struct pvh_info si;
    assert_int_equal(guest_ram_read(&ram, LINUX_PVH_INFO_ADDR, &si, sizeof(si)), VINF_SUCCESS);
    assert_int_equal(si.magic, 0x336ec578);
    assert_int_equal(si.version, 1);
    assert_int_equal(si.cmdline_paddr, LINUX_CMDLINE_ADDR);
    assert_int_equal(si.nr_modules, 0);
    assert_int_equal(si.memmap_entries, 3);
    struct { uint64_t addr, size; uint32_t type, reserved; } m[3];
    assert_int_equal(guest_ram_read(&ram, si.memmap_paddr, m, sizeof(m)), VINF_SUCCESS);
    assert_int_equal(m[2].addr, 0x100000);
    assert_int_equal(m[2].addr + m[2].size, 256 * MiB);
    assert_int_equal(m[2].type, E820_RAM);
    guest_ram_term(&ram);
    free(st);
    free(k);
}

/* Synthetic ELFs: no note, a note with hostile sizes, a valid note with an initrd. */
static uint8_t *elf_with_note(size_t *size, uint32_t namesz, uint32_t descsz, uint64_t entry)
{
    size_t en;
    uint8_t *base = elf_make(&en);
    size_t n = en + 0x100;
    uint8_t *e = calloc(1, n);
    memcpy(e, base, en);
    free(base);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)e;
    Elf64_Phdr note = { .p_type = PT_NOTE, .p_offset = en, .p_filesz = 0x100 };
    memcpy(e + eh->e_phoff + sizeof(Elf64_Phdr), &note, sizeof(note));   /* room: code starts at 0x1000 */
    eh->e_phnum = 2;
    uint32_t nh[3] = { namesz, descsz, 18 };
    memcpy(e + en, nh, sizeof(nh));
    memcpy(e + en + 12, "Xen", 4);
    memcpy(e + en + 16, &entry, 8);
    *size = n;
    return e;
}

static void test_pvh_synthetic(void **state)
{
    (void)state;
    size_t en;
    uint8_t *e = elf_make(&en);
    assert_int_equal(load_copy_entry(e, en, LINUX_ENTRY_PVH), VERR_NOT_SUPPORTED);
    assert_non_null(strstr(err_buf, "PVH"));
    free(e);
    const uint32_t bad_sizes[][2] = { { 0xffffffff, 8 }, { 4, 0xfffffff0 }, { 4, 2 }, { 0x100, 8 } };
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        e = elf_with_note(&en, bad_sizes[i][0], bad_sizes[i][1], SYN_LOAD + 16);
        assert_int_equal(load_copy_entry(e, en, LINUX_ENTRY_PVH), VERR_NOT_SUPPORTED);
        free(e);
    }
    e = elf_with_note(&en, 4, 8, SYN_LOAD + 0x100000);    /* entry outside the kernel */
    assert_int_equal(load_copy_entry(e, en, LINUX_ENTRY_PVH), VERR_BAD_EXE_FORMAT);
    free(e);
    e = elf_with_note(&en, 4, 8, SYN_LOAD + 16);
    assert_int_equal(load_copy_entry(e, en, LINUX_ENTRY_PVH), VINF_SUCCESS);
    free(e);
}

/* ---------- plain ELF, e820, names ---------- */

static void test_plain_elf_file(void **state)
{
    (void)state;
    size_t en;
    uint8_t *elf = elf_make(&en);
    char *path = temp_path("vmlinux");
    file_write(path, elf, en);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    struct linux_boot_info info;
    struct linux_boot_params p = { .kernel_path = path, .cmdline = TEST_CMDLINE };
    ram_init(&ram, 32 * MiB);
    assert_int_equal(linux_load(&ram, &p, st, &info, err_buf, sizeof(err_buf)), VINF_SUCCESS);
    assert_int_equal(info.protocol, 0);
    assert_null(info.compression);
    check_synthetic_loaded(&ram, elf, st);
    check_long_mode_state(&ram, st, SYN_LOAD);
    const uint8_t *zp = guest_ram_ptr(&ram, LINUX_ZERO_PAGE_ADDR, ZP_SIZE);
    struct linux_setup_header h;
    memcpy(&h, zp + LINUX_HDR_OFFSET, sizeof(h));
    assert_int_equal(h.boot_flag, LINUX_BOOT_FLAG);
    assert_int_equal(h.header, LINUX_HDRS_MAGIC);
    assert_true(h.version >= 0x020e);                /* so the kernel reads acpi_rsdp_addr */
    assert_int_equal(h.type_of_loader, 0xff);
    assert_int_equal(h.cmd_line_ptr, LINUX_CMDLINE_ADDR);
    assert_int_equal(zp[ZP_E820_ENTRIES], 3);
    /* The 32-bit entry needs a bzImage. */
    p.entry = LINUX_ENTRY_32;
    assert_int_equal(linux_load(&ram, &p, st, &info, err_buf, sizeof(err_buf)), VERR_NOT_SUPPORTED);
    guest_ram_term(&ram);
    unlink(path);
    free(st);
    free(elf);
}

static void test_e820_layouts(void **state)
{
    (void)state;
    struct e820_entry t[8];
    struct guest_ram big = { .low_size = 3 * (GUEST_4G / 4), .high_size = 2 * GUEST_4G / 2 };
    assert_int_equal(e820_build(&big, t, 8), 4);
    assert_int_equal(t[2].addr + t[2].size, big.low_size);
    assert_int_equal(t[3].addr, GUEST_4G);
    assert_int_equal(t[3].size, big.high_size);
    assert_int_equal(t[3].type, E820_RAM);
    struct guest_ram tiny = { .low_size = 0x80000 };
    assert_int_equal(e820_build(&tiny, t, 8), 2);
    assert_int_equal(t[0].size, 0x80000);
    assert_int_equal(t[1].type, E820_RESERVED);
    assert_int_equal(e820_build(&big, t, 2), 2);     /* never more than the table holds */

    /* A VM with RAM above 4 GiB: the zero page lists it (mapping is lazy, so cheap). */
    size_t kn;
    uint8_t *k = synthetic_bzimage(&kn);
    struct guest_ram ram;
    struct cpu_state *st = calloc(1, sizeof(*st));
    assert_int_equal(guest_ram_init(&ram, 5 * (GUEST_4G / 4), GUEST_4G / 2), VINF_SUCCESS);
    assert_int_equal(load_buf(&ram, k, kn, LINUX_ENTRY_64, st, NULL), VINF_SUCCESS);
    const uint8_t *zp = guest_ram_ptr(&ram, LINUX_ZERO_PAGE_ADDR, ZP_SIZE);
    assert_int_equal(zp[ZP_E820_ENTRIES], 4);
    memcpy(t, zp + ZP_E820_TABLE, 4 * sizeof(t[0]));
    assert_int_equal(t[2].addr + t[2].size, GUEST_4G / 2);
    assert_int_equal(t[3].addr, GUEST_4G);
    assert_int_equal(t[3].size, 3 * (GUEST_4G / 4));
    guest_ram_term(&ram);
    free(st);
    free(k);
}

static void test_entry_names(void **state)
{
    (void)state;
    assert_int_equal(linux_entry_from_name(NULL), LINUX_ENTRY_64);
    assert_int_equal(linux_entry_from_name("64"), LINUX_ENTRY_64);
    assert_int_equal(linux_entry_from_name("32"), LINUX_ENTRY_32);
    assert_int_equal(linux_entry_from_name("bzimage64"), LINUX_ENTRY_64_BZIMAGE);
    assert_int_equal(linux_entry_from_name("pvh"), LINUX_ENTRY_PVH);
    assert_int_equal(linux_entry_from_name("16"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_kernel_64),
        cmocka_unit_test(test_real_kernel_bzimage_entries),
        cmocka_unit_test(test_real_kernel_too_little_ram),
        cmocka_unit_test(test_real_kernel_truncated),
        cmocka_unit_test(test_real_kernel_corrupt_payload),
        cmocka_unit_test(test_real_kernel_cmdline_too_long),
        cmocka_unit_test(test_real_kernel_pvh),
        cmocka_unit_test(test_pvh_synthetic),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_lz4_multi_block),
        cmocka_unit_test(test_unsupported_formats),
        cmocka_unit_test(test_not_a_kernel),
        cmocka_unit_test(test_hostile_setup_header),
        cmocka_unit_test(test_hostile_elf),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_initrd_too_big),
        cmocka_unit_test(test_plain_elf_file),
        cmocka_unit_test(test_e820_layouts),
        cmocka_unit_test(test_entry_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
