/*
 * Multiboot v1 (the Multiboot Specification 0.6.96) for test kernels: the
 * kernel file carries a multiboot header in its first 8 KiB; Petrel loads
 * it as that header says (the a.out kludge addresses when flag 16 is set,
 * else the ELF32 program headers), puts the command line, the module (the
 * initrd, if any) and a multiboot information structure with the memory
 * map into RAM, and starts the BSP in flat 32-bit protected mode, paging
 * off, EAX = 0x2BADB002, EBX = the information structure.  Config:
 * /Boot/Entry "multiboot" (docs/linux-boot.md).
 *
 * Guest-physical memory the loader writes besides the kernel:
 *   0x1000  GDT (flat code 0x10, data 0x18)
 *   0x2000  multiboot information, then its memory map
 *   0x3000  module list
 *   0x20000 command line
 *   modules: page aligned, above the kernel
 */
#ifndef PETREL_MULTIBOOT_H
#define PETREL_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu/cpu_state.h"
#include "../memory/guest_ram.h"

#define MULTIBOOT_HEADER_MAGIC     UINT32_C(0x1BADB002)
#define MULTIBOOT_BOOTLOADER_MAGIC UINT32_C(0x2BADB002)
#define MULTIBOOT_SEARCH           8192u
#define MULTIBOOT_INFO_ADDR        UINT64_C(0x2000)
#define MULTIBOOT_MODS_ADDR        UINT64_C(0x3000)
#define MULTIBOOT_CMDLINE_ADDR     UINT64_C(0x20000)

/* Whether the file starts with a multiboot v1 header (in its first 8 KiB). */
bool multiboot_detect(const uint8_t *file, size_t size);

/*
 * Loads a multiboot kernel from memory (file, size) with an optional module
 * file and command line; sets *bsp to the entry state.  On failure a
 * VERR_* and a sentence in err: a bad header or checksum
 * (VERR_INVALID_EXE_SIGNATURE), video mode requests (VERR_NOT_SUPPORTED),
 * segments outside the file or RAM (VERR_OUT_OF_RANGE).
 */
int multiboot_load_buffer(struct guest_ram *ram, const uint8_t *file, size_t size, const char *module_path,
                          const char *cmdline, struct cpu_state *bsp, uint64_t *entry, char *err,
                          size_t err_size);

/* The same from a file path. */
int multiboot_load(struct guest_ram *ram, const char *kernel_path, const char *module_path, const char *cmdline,
                   struct cpu_state *bsp, uint64_t *entry, char *err, size_t err_size);

#endif /* PETREL_MULTIBOOT_H */
