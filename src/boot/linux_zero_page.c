/*
 * The zero page (struct boot_params) and the command line.  The setup
 * header is copied from the bzImage (the kernel reads its own fields back
 * from it) and the loader's fields are filled in; a plain ELF vmlinux gets
 * a synthesized header claiming protocol 2.15.
 */
#include "linux_boot_internal.h"

#include <string.h>

#include <vmm/err.h>

#include "e820.h"

#define HEAP_END_PTR       0xfe00   /* end of setup heap - 0x200; used only by 16-bit setup */
#define OLD_CMDLINE_MAX    255      /* protocols < 2.06 */
#define ELF_PROTOCOL       0x020f

static void header_synthesize(struct linux_setup_header *h)
{
    memset(h, 0, sizeof(*h));
    h->boot_flag = LINUX_BOOT_FLAG;
    h->header = LINUX_HDRS_MAGIC;
    h->version = ELF_PROTOCOL;
    h->kernel_alignment = 0x200000;
    h->initrd_addr_max = 0x7fffffff;
    h->cmdline_size = 2047;             /* COMMAND_LINE_SIZE - 1 */
    h->xloadflags = LINUX_XLF_KERNEL_64;
}

static int cmdline_write(struct guest_ram *ram, const struct linux_setup_header *h, const char *cmdline,
                         char *err, size_t err_size)
{
    size_t len = strlen(cmdline);
    uint64_t max = h->version >= 0x0206 ? h->cmdline_size : OLD_CMDLINE_MAX;
    if (max > LINUX_CMDLINE_MAX - 1)
        max = LINUX_CMDLINE_MAX - 1;
    if (len > max)
        return linux_err(err, err_size, VERR_BUFFER_OVERFLOW,
                         "kernel command line is %zu bytes long; this kernel accepts at most %llu",
                         len, (unsigned long long)max);
    return guest_ram_write(ram, LINUX_CMDLINE_ADDR, cmdline, len + 1);
}

static void loader_fields(struct linux_setup_header *h, const struct linux_zero_page_args *a)
{
    h->type_of_loader = LINUX_LOADER_UNDEFINED;
    h->loadflags = (uint8_t)((h->loadflags | LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP) & ~LINUX_KEEP_SEGMENTS);
    h->heap_end_ptr = HEAP_END_PTR;
    h->cmd_line_ptr = (uint32_t)LINUX_CMDLINE_ADDR;
    h->ramdisk_image = (uint32_t)a->initrd_addr;
    h->ramdisk_size = (uint32_t)a->initrd_size;
    h->setup_data = 0;                  /* never let the kernel walk a list from the file */
    h->hardware_subarch = 0;            /* X86_SUBARCH_PC */
    h->hardware_subarch_data = 0;
    if (a->code32_start)
        h->code32_start = a->code32_start;
}

int linux_zero_page_write(struct guest_ram *ram, const struct linux_zero_page_args *a,
                          char *err, size_t err_size)
{
    uint8_t *zp = guest_ram_ptr(ram, LINUX_ZERO_PAGE_ADDR, ZP_SIZE);
    if (!zp || !guest_ram_contains(ram, LINUX_CMDLINE_ADDR, LINUX_CMDLINE_MAX))
        return linux_err(err, err_size, VERR_OUT_OF_RANGE, "too little guest RAM for the zero page");
    struct linux_setup_header h;
    if (a->img->is_bzimage)
        h = a->img->hdr;
    else
        header_synthesize(&h);
    int rc = cmdline_write(ram, &h, a->cmdline ? a->cmdline : "", err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    loader_fields(&h, a);
    memset(zp, 0, ZP_SIZE);
    memcpy(zp + LINUX_HDR_OFFSET, &h, sizeof(h));
    uint32_t ext_initrd = (uint32_t)(a->initrd_addr >> 32), ext_initrd_size = (uint32_t)(a->initrd_size >> 32);
    memcpy(zp + ZP_EXT_RAMDISK_IMAGE, &ext_initrd, 4);
    memcpy(zp + ZP_EXT_RAMDISK_SIZE, &ext_initrd_size, 4);
    /* ext_cmd_line_ptr stays 0: the command line is below 4 GiB. */
    memcpy(zp + ZP_ACPI_RSDP_ADDR, &a->acpi_rsdp, 8);
    struct e820_entry map[ZP_E820_MAX];
    unsigned n = e820_build(ram, map, ZP_E820_MAX);
    zp[ZP_E820_ENTRIES] = (uint8_t)n;
    memcpy(zp + ZP_E820_TABLE, map, n * sizeof(map[0]));
    return VINF_SUCCESS;
}
