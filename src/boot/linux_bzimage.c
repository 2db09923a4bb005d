/*
 * The bzImage setup header (boot protocol "HdrS"): every field Petrel uses
 * is validated here, and every offset or length taken from the file is
 * checked against the file size, so later steps can trust the image.
 */
#include "linux_boot_internal.h"

#include <string.h>

#include <vmm/err.h>

#define SECTOR 512u

static uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Copies the header bytes the file declares (0x202 + byte at 0x201). */
static int header_copy(const uint8_t *file, size_t size, struct linux_image *img,
                       char *err, size_t err_size)
{
    size_t end = 0x202 + (size_t)file[0x201];
    if (end > LINUX_HDR_END_MAX)
        end = LINUX_HDR_END_MAX;
    if (end > size)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "kernel file is truncated: its setup header ends at 0x%zx, the file has %zu bytes",
                         end, size);
    size_t len = end - LINUX_HDR_OFFSET;
    if (len > sizeof(img->hdr))
        len = sizeof(img->hdr);
    memset(&img->hdr, 0, sizeof(img->hdr));
    memcpy(&img->hdr, file + LINUX_HDR_OFFSET, len);
    img->hdr_len = len;
    return VINF_SUCCESS;
}

/* Locates the protected-mode code after the real-mode setup sectors. */
static int prot_locate(struct linux_image *img, char *err, size_t err_size)
{
    const struct linux_setup_header *h = &img->hdr;
    size_t sects = h->setup_sects ? h->setup_sects : 4;   /* 0 means 4 (protocol) */
    size_t setup_size = (sects + 1) * SECTOR;
    if (setup_size >= img->file_size)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "kernel file is truncated: %zu setup sectors need %zu bytes, the file has %zu",
                         sects, setup_size, img->file_size);
    size_t avail = img->file_size - setup_size;
    uint64_t declared = (uint64_t)h->syssize * 16;
    if (declared == 0 || declared > avail)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "kernel file is truncated or corrupt: syssize says %llu bytes of kernel code, "
                         "the file holds %zu after the setup code", (unsigned long long)declared, avail);
    img->prot = img->file + setup_size;
    img->prot_size = (size_t)declared;
    return VINF_SUCCESS;
}

/* payload_offset/length (>= 2.08) point into the protected-mode code. */
static int payload_locate(struct linux_image *img, char *err, size_t err_size)
{
    const struct linux_setup_header *h = &img->hdr;
    if (h->version < 0x0208)
        return VINF_SUCCESS;
    uint64_t end = (uint64_t)h->payload_offset + h->payload_length;
    if (h->payload_length < 8 || end > img->prot_size)
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "kernel file is truncated or corrupt: payload [0x%x, +0x%x) lies outside the "
                         "%zu bytes of kernel code", h->payload_offset, h->payload_length, img->prot_size);
    img->payload = img->prot + h->payload_offset;
    img->payload_size = h->payload_length;
    return VINF_SUCCESS;
}

static int fields_check(const struct linux_setup_header *h, char *err, size_t err_size)
{
    if (h->version >= 0x0205 && h->relocatable_kernel &&
        (h->kernel_alignment < GUEST_PAGE_SIZE || (h->kernel_alignment & (h->kernel_alignment - 1))))
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                         "corrupt setup header: kernel_alignment 0x%x is not a power of two >= 4 KiB",
                         h->kernel_alignment);
    if (h->version >= 0x020a) {
        if (h->init_size == 0)
            return linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "corrupt setup header: init_size is 0");
        if (h->pref_address % GUEST_PAGE_SIZE || h->pref_address >= GUEST_4G)
            return linux_err(err, err_size, VERR_BAD_EXE_FORMAT,
                             "corrupt setup header: pref_address 0x%llx is not a page-aligned address below 4 GiB",
                             (unsigned long long)h->pref_address);
    }
    return VINF_SUCCESS;
}

int linux_image_parse(const uint8_t *file, size_t size, struct linux_image *img,
                      char *err, size_t err_size)
{
    memset(img, 0, sizeof(*img));
    img->file = file;
    img->file_size = size;
    if (linux_elf_is_elf(file, size))
        return VINF_SUCCESS;                   /* a plain vmlinux: checked by linux_elf_check */
    if (size < 0x208)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "not a Linux kernel: %zu bytes is too small for a bzImage or ELF vmlinux", size);
    if (le16_at(file + 0x1fe) != LINUX_BOOT_FLAG)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "not a Linux kernel: neither an ELF file nor a bzImage (no boot flag 0xAA55 at 0x1FE)");
    if (memcmp(file + 0x202, "HdrS", 4) != 0)
        return linux_err(err, err_size, VERR_INVALID_EXE_SIGNATURE,
                         "not a bzImage: no 'HdrS' setup header (a boot sector or an ancient zImage?)");
    int rc = header_copy(file, size, img, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    if (img->hdr.version < LINUX_MIN_PROTOCOL)
        return linux_err(err, err_size, VERR_NOT_SUPPORTED,
                         "kernel boot protocol %u.%02u is too old: Petrel needs 2.06 or later (Linux 2.6.22+)",
                         img->hdr.version >> 8, img->hdr.version & 0xff);
    img->is_bzimage = true;
    rc = fields_check(&img->hdr, err, err_size);
    if (RT_SUCCESS(rc))
        rc = prot_locate(img, err, err_size);
    if (RT_SUCCESS(rc))
        rc = payload_locate(img, err, err_size);
    return rc;
}
