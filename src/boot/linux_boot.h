/*
 * The Linux loader: boots an x86-64 Linux kernel (bzImage or ELF vmlinux)
 * without a BIOS, following the kernel's x86 boot protocol
 * (Documentation/arch/x86/boot.rst).  See docs/linux-boot.md.
 *
 * Default (LINUX_ENTRY_64): the bzImage payload is decompressed on the host,
 * the vmlinux ELF segments are copied to their physical addresses, and the
 * BSP starts at the 64-bit kernel entry (startup_64) in long mode with
 * identity page tables and a zero page built here.  The kernel's own
 * decompressor never runs, which matters where guest ring 0 is slow.
 *
 * Independent of struct VM: it only needs guest RAM and a cpu_state, so it
 * can be unit tested and reused on reset.
 *
 * Guest-physical memory written by the loader (all below 1 MiB except the
 * kernel and initrd; the e820 map marks it usable RAM, the kernel copies
 * what it needs before reusing it):
 *
 *   0x01000  GDT: 0x10 = __BOOT_CS (flat code), 0x18 = __BOOT_DS (flat data)
 *   0x06000  PVH entry only: struct hvm_start_info, module list, memory map
 *   0x07000  zero page (struct boot_params, 4 KiB)
 *   0x08ff0  initial stack pointer (stack grows down to 0x8000)
 *   0x09000  PML4, 0x0A000 PDPT, 0x0B000-0x0EFFF four page directories:
 *            identity map of the first 4 GiB with 2 MiB pages
 *   0x20000  kernel command line (at most LINUX_CMDLINE_MAX bytes)
 *   0x100000 protected-mode bzImage code (32-bit and bzImage-64 entries)
 *   ELF p_paddr (16 MiB for Debian kernels)   the decompressed kernel
 *   top of RAM below 4 GiB and initrd_addr_max, page aligned   the initrd
 */
#ifndef PETREL_LINUX_BOOT_H
#define PETREL_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu/cpu_state.h"
#include "../memory/guest_ram.h"

#define LINUX_GDT_ADDR        UINT64_C(0x1000)
#define LINUX_PVH_INFO_ADDR   UINT64_C(0x6000)
#define LINUX_ZERO_PAGE_ADDR  UINT64_C(0x7000)
#define LINUX_STACK_TOP       UINT64_C(0x8ff0)
#define LINUX_PML4_ADDR       UINT64_C(0x9000)
#define LINUX_PDPT_ADDR       UINT64_C(0xa000)
#define LINUX_PD_ADDR         UINT64_C(0xb000)
#define LINUX_PD_COUNT        UINT64_C(4)          /* 4 x 1 GiB */
#define LINUX_CMDLINE_ADDR    UINT64_C(0x20000)
#define LINUX_CMDLINE_MAX     UINT64_C(0x10000)    /* bytes reserved for it, NUL included */
#define LINUX_PROT_LOAD_ADDR  UINT64_C(0x100000)
#define LINUX_SEL_CS          0x10                 /* __BOOT_CS */
#define LINUX_SEL_DS          0x18                 /* __BOOT_DS */

/* The largest decompressed kernel the host accepts (a hostile payload
 * cannot make Petrel allocate more). */
#define LINUX_MAX_DECOMPRESSED (UINT64_C(512) << 20)

enum linux_entry {
    LINUX_ENTRY_64 = 0,      /* host decompression, vmlinux startup_64 (default) */
    LINUX_ENTRY_32,          /* classic 32-bit protocol: bzImage code32_start, paging off */
    LINUX_ENTRY_64_BZIMAGE,  /* bzImage's own 64-bit entry (decompressor runs in the guest) */
    LINUX_ENTRY_PVH,         /* host decompression, 32-bit PVH entry (ELF note), EBX = hvm_start_info */
};

struct linux_boot_params {
    const char *kernel_path;   /* bzImage or ELF vmlinux (required) */
    const char *initrd_path;   /* NULL or "" = none */
    const char *cmdline;       /* NULL = "" */
    enum linux_entry entry;
    uint64_t acpi_rsdp;        /* boot_params.acpi_rsdp_addr; 0 = none (kernel searches) */
};

/* What linux_load placed where (for logs and tests). */
struct linux_boot_info {
    uint64_t kernel_start, kernel_end;   /* guest-physical, end exclusive (incl. bss) */
    uint64_t entry;                      /* guest-physical RIP/EIP */
    uint64_t initrd_addr, initrd_size;   /* 0 when none */
    uint32_t protocol;                   /* boot protocol version, 0 for a plain ELF */
    const char *compression;             /* "gzip", "zstd", ... "none"; NULL when not decompressed */
    uint64_t decompressed_size;
};

/*
 * Loads the kernel (and initrd) into ram, writes the zero page, command
 * line, GDT and page tables, and sets *bsp to the entry state.  Returns a
 * VBox status; on failure err holds a one-line message saying what is
 * wrong and what to do.  info may be NULL.
 */
int linux_load(struct guest_ram *ram, const struct linux_boot_params *p, struct cpu_state *bsp,
               struct linux_boot_info *info, char *err, size_t err_size);

/* The same with the kernel file already in memory (kernel, kernel_size);
 * p->kernel_path is then not used and may be NULL. */
int linux_load_buffer(struct guest_ram *ram, const struct linux_boot_params *p, const uint8_t *kernel,
                      size_t kernel_size, struct cpu_state *bsp, struct linux_boot_info *info,
                      char *err, size_t err_size);

/* "64", "32", "bzimage64", "pvh" -> entry mode; -1 for anything else. */
int linux_entry_from_name(const char *name);

#endif /* PETREL_LINUX_BOOT_H */
