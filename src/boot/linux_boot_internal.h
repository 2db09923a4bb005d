/*
 * Internals of the Linux loader (linux_*.c): the setup header and zero page
 * layout of the x86 boot protocol, the parsed kernel image, and the steps
 * linux_load() is made of.
 */
#ifndef PETREL_LINUX_BOOT_INTERNAL_H
#define PETREL_LINUX_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux_boot.h"

/* struct setup_header: offsets 0x1f1..0x26c of both the bzImage and the zero page. */
struct __attribute__((packed)) linux_setup_header {
    uint8_t  setup_sects;        /* 0x1f1 */
    uint16_t root_flags;
    uint32_t syssize;            /* 0x1f4: protected-mode code size in 16-byte units */
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;          /* 0x1fe: 0xaa55 */
    uint16_t jump;               /* 0x200: its high byte gives the header's end */
    uint32_t header;             /* 0x202: "HdrS" */
    uint16_t version;            /* 0x206 */
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t  type_of_loader;     /* 0x210 */
    uint8_t  loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;       /* 0x214 */
    uint32_t ramdisk_image;      /* 0x218 */
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;       /* 0x224 */
    uint8_t  ext_loader_ver;
    uint8_t  ext_loader_type;
    uint32_t cmd_line_ptr;       /* 0x228 */
    uint32_t initrd_addr_max;    /* 0x22c */
    uint32_t kernel_alignment;   /* 0x230 */
    uint8_t  relocatable_kernel;
    uint8_t  min_alignment;
    uint16_t xloadflags;         /* 0x236 */
    uint32_t cmdline_size;       /* 0x238 */
    uint32_t hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset;     /* 0x248 */
    uint32_t payload_length;
    uint64_t setup_data;         /* 0x250 */
    uint64_t pref_address;       /* 0x258 */
    uint32_t init_size;          /* 0x260 */
    uint32_t handover_offset;
    uint32_t kernel_info_offset; /* 0x268 */
};

#define LINUX_HDR_OFFSET       0x1f1
#define LINUX_HDR_AT(field, off) \
    _Static_assert(offsetof(struct linux_setup_header, field) == (off) - LINUX_HDR_OFFSET, #field)
LINUX_HDR_AT(boot_flag, 0x1fe);
LINUX_HDR_AT(version, 0x206);
LINUX_HDR_AT(code32_start, 0x214);
LINUX_HDR_AT(cmd_line_ptr, 0x228);
LINUX_HDR_AT(xloadflags, 0x236);
LINUX_HDR_AT(payload_offset, 0x248);
LINUX_HDR_AT(pref_address, 0x258);
LINUX_HDR_AT(kernel_info_offset, 0x268);
#define LINUX_HDR_END_MAX      0x290        /* edd_mbr_sig_buffer follows */
#define LINUX_BOOT_FLAG        0xaa55
#define LINUX_HDRS_MAGIC       0x53726448u  /* "HdrS" */
#define LINUX_MIN_PROTOCOL     0x0206
#define LINUX_LOADED_HIGH      0x01
#define LINUX_KEEP_SEGMENTS    0x40
#define LINUX_CAN_USE_HEAP     0x80
#define LINUX_XLF_KERNEL_64    0x01
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G 0x02
#define LINUX_LOADER_UNDEFINED 0xff
#define LINUX_START_KERNEL_MAP UINT64_C(0xffffffff80000000)

/* Zero page (struct boot_params) offsets outside the setup header. */
#define ZP_ACPI_RSDP_ADDR      0x070
#define ZP_EXT_RAMDISK_IMAGE   0x0c0
#define ZP_EXT_RAMDISK_SIZE    0x0c4
#define ZP_EXT_CMD_LINE_PTR    0x0c8
#define ZP_E820_ENTRIES        0x1e8
#define ZP_E820_TABLE          0x2d0
#define ZP_E820_MAX            128
#define ZP_SIZE                4096

/* The kernel file, parsed.  Pointers point into the mapped file. */
struct linux_image {
    const uint8_t *file;
    size_t file_size;
    bool is_bzimage;                 /* false: a plain ELF vmlinux */
    struct linux_setup_header hdr;   /* zeroes past the header the file has */
    size_t hdr_len;                  /* setup header bytes present in the file */
    const uint8_t *prot;             /* protected-mode code (after setup sectors) */
    size_t prot_size;
    const uint8_t *payload;          /* compressed kernel (protocol >= 2.08) */
    size_t payload_size;
};

/* A decompressed or plain ELF vmlinux. */
struct linux_elf_info {
    uint64_t start, end;             /* physical span of the PT_LOAD segments (end exclusive) */
    uint64_t entry;                  /* physical entry point */
};

/* Formats a message into err and returns rc (so callers can `return linux_err(...)`). */
int linux_err(char *err, size_t err_size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* linux_file.c: read-only mapping of a whole file. */
int  linux_file_map(const char *path, const char *what, const uint8_t **data, size_t *size,
                    char *err, size_t err_size);
void linux_file_unmap(const uint8_t *data, size_t size);

/* linux_bzimage.c: validates the setup header of a bzImage, or recognizes an ELF. */
int linux_image_parse(const uint8_t *file, size_t size, struct linux_image *img,
                      char *err, size_t err_size);

/* linux_decompress.c: payload -> malloc'ed buffer (exact size from the payload's
 * size trailer, at most limit).  *format names the format found. */
int linux_decompress(const uint8_t *in, size_t in_size, size_t limit, uint8_t **out,
                     size_t *out_size, const char **format, char *err, size_t err_size);
/* The per-format decoders: in excludes the size trailer; out has exactly out_size
 * bytes to fill; each fails unless the stream decodes to exactly that. */
int linux_decompress_gzip(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size);
int linux_decompress_xz(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                        char *err, size_t err_size);
int linux_decompress_lzma(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size);
int linux_decompress_zstd(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                          char *err, size_t err_size);
int linux_decompress_lz4(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size,
                         char *err, size_t err_size);

/* linux_elf.c: checks an ELF64 x86-64 vmlinux, then copies its PT_LOAD segments. */
bool linux_elf_is_elf(const uint8_t *data, size_t size);
int  linux_elf_check(const uint8_t *elf, size_t size, struct linux_elf_info *info,
                     char *err, size_t err_size);
int  linux_elf_load(struct guest_ram *ram, const uint8_t *elf, size_t size,
                    char *err, size_t err_size);

/* linux_pvh.c: the PVH entry note and struct hvm_start_info. */
int linux_pvh_entry_find(const uint8_t *elf, size_t size, uint64_t *entry, char *err, size_t err_size);
int linux_pvh_start_info_write(struct guest_ram *ram, uint64_t initrd_addr, uint64_t initrd_size,
                               uint64_t acpi_rsdp);

/* linux_initrd.c: reads the initrd into the top of low RAM. */
int linux_initrd_load(struct guest_ram *ram, const char *path, uint64_t lowest, uint64_t addr_max,
                      uint64_t *addr, uint64_t *size, char *err, size_t err_size);

/* linux_zero_page.c: the zero page and command line. */
struct linux_zero_page_args {
    const struct linux_image *img;
    const char *cmdline;
    uint64_t initrd_addr, initrd_size;
    uint64_t acpi_rsdp;
    uint32_t code32_start;
};
int linux_zero_page_write(struct guest_ram *ram, const struct linux_zero_page_args *a,
                          char *err, size_t err_size);

/* linux_boot_tables.c: the GDT, and for 64-bit entries the identity page tables. */
int linux_boot_tables_write(struct guest_ram *ram, bool long_mode);

/* linux_entry_state.c: the BSP's registers at the kernel entry. */
void linux_entry_state(struct cpu_state *st, bool long_mode, uint64_t entry);

#endif /* PETREL_LINUX_BOOT_INTERNAL_H */
