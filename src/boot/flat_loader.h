/*
 * The flat-image loader: puts a raw binary into guest RAM and starts every
 * vCPU at its entry point in the requested mode.  Configured by CFGM:
 *
 *   /Boot/Image        path of the image (no image: nothing is loaded and
 *                      every vCPU waits for a SIPI, i.e. stays halted)
 *   /Boot/Mode         "real" (default, like a boot sector), "protected", "long"
 *   /Boot/LoadAddress  guest-physical load address; default 0x7C00 in real
 *                      mode, 0x100000 otherwise
 *   /Boot/Entry        entry point (guest-physical = linear); default the
 *                      load address
 *   /Boot/StartAPs     1 (default): every vCPU starts at the entry; 0: only
 *                      the BSP does, the APs wait for INIT/SIPI from it
 *                      (needs the in-kernel irqchip under KVM)
 *
 * The state at entry (the guest ABI, mirrored in guests/include.inc):
 *   all modes   RDI = vCPU id, RSI = number of vCPUs, RFLAGS = 2
 *               (interrupts off), other GPRs 0.  Every vCPU starts at the
 *               entry unless /Boot/StartAPs is 0.
 *   real        CS:IP from the entry (CS = entry >> 4 & 0xF000, IP = entry
 *               & 0xFFFF; entry below 1 MiB), DS = ES = FS = GS = SS = 0,
 *               SP = 0x7C00 - id * 0x100 (256-byte stacks).
 *   protected   flat 32-bit: CS = 0x08, DS..SS = 0x10, paging off.
 *   long        64-bit: CS = 0x18, DS..SS = 0x10, identity map of the first
 *               4 GiB with 2 MiB pages, CR0.PG|PE|WP|NE|MP, CR4.PAE|OSFXSR|
 *               OSXMMEXCPT, EFER.LME|LMA.
 *   protected and long: stacks at the top of low RAM, ESP/RSP = top - id *
 *   64 KiB (top = end of RAM below the hole, 16-byte aligned).
 *
 * Guest memory Petrel writes in protected and long mode (reserved, the
 * image must not overlap it): 0x1000 GDT (null, 0x08 code32, 0x10 data,
 * 0x18 code64), 0x2000 PML4, 0x3000 PDPT, 0x4000-0x7FFF four page
 * directories.
 */
#ifndef PETREL_FLAT_LOADER_H
#define PETREL_FLAT_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/vm_internal.h"

enum boot_mode { BOOT_REAL, BOOT_PROTECTED, BOOT_LONG };

#define BOOT_GDT_ADDR        UINT64_C(0x1000)
#define BOOT_PML4_ADDR       UINT64_C(0x2000)
#define BOOT_PDPT_ADDR       UINT64_C(0x3000)
#define BOOT_PD_ADDR         UINT64_C(0x4000)
#define BOOT_RESERVED_END    UINT64_C(0x8000)
#define BOOT_SEL_CODE32      0x08
#define BOOT_SEL_DATA        0x10
#define BOOT_SEL_CODE64      0x18
#define BOOT_REAL_LOAD       UINT64_C(0x7c00)
#define BOOT_HIGH_LOAD       UINT64_C(0x100000)
#define BOOT_REAL_STACK_TOP  UINT64_C(0x7c00)
#define BOOT_REAL_STACK_SIZE UINT64_C(0x100)
#define BOOT_STACK_SIZE      UINT64_C(0x10000)

/* True if /Boot/Image is configured. */
bool flat_loader_configured(PVM vm);
/* Loads the image and sets every vCPU's entry state (EMT(0), vCPUs idle). */
int  flat_loader_load(PVM vm);

/* boot_tables.c: GDT and (long mode) identity page tables in guest RAM. */
int  boot_tables_write(struct guest_ram *ram, bool long_mode);
/* flat_entry_state.c: the entry state of one vCPU. */
void flat_entry_state(struct cpu_state *st, enum boot_mode mode, uint64_t entry,
                      uint64_t stack_top, uint32_t id, uint32_t ncpus);

#endif /* PETREL_FLAT_LOADER_H */
