/*
 * The "ramimage" unit: all guest RAM as it is in host memory (RAM below the
 * hole, then RAM above 4 GiB), starting at a 4096-aligned stream offset, so
 * that a loader reading a file can map it copy-on-write instead of reading
 * it.  The image is left out of the record's payload CRC and of the
 * whole-stream CRC (checking them would mean reading it); its own CRC-32C
 * follows it and is checked by loaders that read it.
 *
 *   payload: u64 image size, u32 image offset in the payload, u32 flags (0),
 *            16 bytes zero, zero padding up to the image offset,
 *            image, u32 CRC-32C of the image
 */
#include <string.h>
#include <unistd.h>

#include <vmm/err.h>

#include "crc32c.h"
#include "ssm_format.h"
#include "ssm_ram.h"

#define IMAGE_CHUNK ((size_t)SSM_RAM_MAX_DATA_PAGES * GUEST_PAGE_SIZE)

/* Offset of the image in a payload whose record starts at unit_at. */
static uint32_t image_offset(uint64_t unit_at)
{
    uint64_t payload = unit_at + SSM_UNIT_HDR_SIZE;
    uint64_t image = (payload + SSM_RAM_IMAGE_DESC_SIZE + SSM_RAM_IMAGE_ALIGN - 1) & ~(uint64_t)(SSM_RAM_IMAGE_ALIGN - 1);
    return (uint32_t)(image - payload);
}

/* One chunk of the image; zero pages become holes when the writer can.
 * Counts the pages written with data (the live save's rate). */
static int chunk_write(struct ssm_ram_saver *s, const uint8_t *buf, size_t len)
{
    struct ssm_writer *w = s->w;
    if (!w->holes_ok) {
        s->pages_sent += len / GUEST_PAGE_SIZE;
        return ssm_write_unchecked(w, buf, len);
    }
    size_t data = 0;                   /* start of the data not written yet */
    for (size_t p = 0; p < len; p += GUEST_PAGE_SIZE) {
        if (!ssm_ram_page_is_zero(buf + p)) {
            s->pages_sent++;
            continue;
        }
        int rc = ssm_write_unchecked(w, buf + data, p - data);
        if (RT_SUCCESS(rc))
            rc = ssm_write_hole(w, GUEST_PAGE_SIZE);
        if (RT_FAILURE(rc))
            return rc;
        data = p + GUEST_PAGE_SIZE;
    }
    return ssm_write_unchecked(w, buf + data, len - data);
}

int ssm_ram_image_write(struct ssm_ram_saver *s)
{
    struct ssm_writer *w = s->w;
    uint64_t size = s->ram->size;
    uint32_t off = image_offset(w->off);
    uint8_t *desc = s->payload;        /* free until the "ram" units */
    memset(desc, 0, off);
    ssm_put_u64(desc, size);
    ssm_put_u32(desc + 8, off);
    int rc = ssm_unit_header_write(w, SSM_RAM_IMAGE_UNIT_NAME, 0, SSM_RAM_IMAGE_UNIT_VERSION, off + size + 4,
                                   crc32c(0, desc, off));
    if (RT_SUCCESS(rc))
        rc = ssm_write(w, desc, off);
    uint32_t crc = 0;
    for (uint64_t at = 0; at < size && RT_SUCCESS(rc); at += IMAGE_CHUNK) {
        size_t len = size - at < IMAGE_CHUNK ? (size_t)(size - at) : IMAGE_CHUNK;
        GUEST_READS_BEGIN();           /* a live save: a copy, so that CRC and file agree */
        memcpy(s->data, s->ram->host + at, len);
        GUEST_READS_END();
        crc = crc32c(crc, s->data, len);
        rc = chunk_write(s, s->data, len);
        if (s->progress)
            s->progress(s->progress_user, at + len, size);
    }
    uint8_t trailer[4];
    ssm_put_u32(trailer, crc);
    if (RT_SUCCESS(rc))
        rc = ssm_write(w, trailer, sizeof(trailer));
    s->units_written++;
    s->bytes_sent += SSM_UNIT_HDR_SIZE + off + size + 4;
    return rc;
}

/* --- loading --- */

static int image_read(struct ssm_ram_loader *l, struct ssm_reader *r, uint64_t at, uint64_t size)
{
    uint32_t crc = 0;
    for (uint64_t done = 0; done < size;) {
        size_t len = size - done < IMAGE_CHUNK ? (size_t)(size - done) : IMAGE_CHUNK;
        int rc = ssm_read_unchecked(r, l->ram->host + done, len, "unit 'ramimage'");
        if (rc == VERR_EOF)
            rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: the stream ends "
                                 "inside the RAM image", (unsigned long long)at);
        if (RT_FAILURE(rc))
            return rc;
        crc = crc32c(crc, l->ram->host + done, len);
        done += len;
    }
    uint8_t trailer[4];
    int rc = ssm_read(r, trailer, sizeof(trailer), "unit 'ramimage'");
    if (rc == VERR_EOF)
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: truncated after the "
                             "image", (unsigned long long)at);
    if (RT_SUCCESS(rc) && !ssm_crc_ok(crc, ssm_get_u32(trailer)))
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_CRC, "unit 'ramimage' at offset %llu: the RAM image's "
                             "checksum does not match", (unsigned long long)at);
    return rc;
}

/* The file holds the whole image: map it, step over it, read the trailer
 * (its CRC is not checked: that would read the image). */
static int image_map(struct ssm_ram_loader *l, struct ssm_reader *r, uint64_t at, uint64_t size, int fd,
                     uint64_t stream_size)
{
    uint64_t image_at = r->off;
    if (stream_size < image_at || stream_size - image_at < size + 4)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: the file (%llu bytes) "
                               "ends inside the %llu-byte RAM image at %llu (truncated)", (unsigned long long)at,
                               (unsigned long long)stream_size, (unsigned long long)size,
                               (unsigned long long)image_at);
    int rc = guest_ram_map_file(l->ram, fd, image_at);
    if (RT_FAILURE(rc))
        return ssm_reader_fail(r, rc, "unit 'ramimage' at offset %llu: mapping the RAM image failed (status %d)",
                               (unsigned long long)at, rc);
    ssm_reader_skip(r, size);
    uint8_t trailer[4];
    rc = ssm_read(r, trailer, sizeof(trailer), "unit 'ramimage'");
    return rc == VERR_EOF ? ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: "
                                            "truncated after the image", (unsigned long long)at) : rc;
}

/* Reads and checks the descriptor and its padding; returns the image size via *size. */
static int desc_read(struct ssm_ram_loader *l, struct ssm_reader *r, const struct ssm_unit_hdr *u, uint64_t at,
                     uint64_t *size)
{
    uint8_t desc[SSM_RAM_IMAGE_DESC_SIZE + SSM_RAM_IMAGE_ALIGN];
    int rc = ssm_read(r, desc, SSM_RAM_IMAGE_DESC_SIZE, "unit 'ramimage'");
    if (rc == VERR_EOF)
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: truncated",
                             (unsigned long long)at);
    if (RT_FAILURE(rc))
        return rc;
    *size = ssm_get_u64(desc);
    uint32_t off = ssm_get_u32(desc + 8), flags = ssm_get_u32(desc + 12);
    if (*size != l->ram->size)
        return ssm_reader_fail(r, VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH, "unit 'ramimage' at offset %llu: an image of "
                               "%llu bytes for %llu bytes of RAM", (unsigned long long)at, (unsigned long long)*size,
                               (unsigned long long)l->ram->size);
    if (flags || off < SSM_RAM_IMAGE_DESC_SIZE || off >= SSM_RAM_IMAGE_DESC_SIZE + SSM_RAM_IMAGE_ALIGN ||
        (at + SSM_UNIT_HDR_SIZE + off) % SSM_RAM_IMAGE_ALIGN)
        return ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ramimage' at offset %llu: the image offset %u "
                               "(flags %#x) is not the page-aligned one", (unsigned long long)at, off, flags);
    uint64_t need = (uint64_t)off + *size + 4;     /* *size is the VM's RAM size: no overflow */
    if (u->length != need)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: length %llu, but the "
                               "image needs %llu", (unsigned long long)at, (unsigned long long)u->length,
                               (unsigned long long)need);
    rc = ssm_read(r, desc + SSM_RAM_IMAGE_DESC_SIZE, off - SSM_RAM_IMAGE_DESC_SIZE, "unit 'ramimage'");
    if (rc == VERR_EOF)
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "unit 'ramimage' at offset %llu: truncated",
                             (unsigned long long)at);
    if (RT_SUCCESS(rc) && !ssm_crc_ok(crc32c(0, desc, off), u->payload_crc))
        rc = ssm_reader_fail(r, VERR_SSM_INTEGRITY_CRC, "unit 'ramimage' at offset %llu: header checksum mismatch",
                             (unsigned long long)at);
    return rc;
}

int ssm_ram_image_load(struct ssm_ram_loader *l, struct ssm_reader *r, const struct ssm_unit_hdr *u, uint64_t at,
                       int map_fd, uint64_t stream_size)
{
    if (u->version != SSM_RAM_IMAGE_UNIT_VERSION)
        return ssm_reader_fail(r, VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION, "unit 'ramimage' at offset %llu: version "
                               "%u is not known (this Petrel reads version %u)", (unsigned long long)at, u->version,
                               SSM_RAM_IMAGE_UNIT_VERSION);
    if (u->instance != 0)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_UNIT_NOT_FOUND, "unit 'ramimage' instance %u at offset %llu: "
                               "there is only instance 0", u->instance, (unsigned long long)at);
    if (l->image_seen)
        return ssm_reader_fail(r, VERR_SSM_UNIT_EXISTS, "unit 'ramimage' at offset %llu: it appears twice",
                               (unsigned long long)at);
    if (l->last_instance >= 0)        /* it replaces all RAM: "ram" units come after it */
        return ssm_reader_fail(r, VERR_SSM_UNEXPECTED_DATA, "unit 'ramimage' at offset %llu: it follows 'ram' "
                               "units it would overwrite", (unsigned long long)at);
    if (u->length < SSM_RAM_IMAGE_DESC_SIZE)
        return ssm_reader_fail(r, VERR_SSM_LOADED_TOO_LITTLE, "unit 'ramimage' at offset %llu: length %llu is too "
                               "short", (unsigned long long)at, (unsigned long long)u->length);
    l->image_seen = true;
    uint64_t size = 0;
    int rc = desc_read(l, r, u, at, &size);
    if (RT_FAILURE(rc))
        return rc;
    if (map_fd >= 0 && size && sysconf(_SC_PAGESIZE) == SSM_RAM_IMAGE_ALIGN)
        return image_map(l, r, at, size, map_fd, stream_size);
    return image_read(l, r, at, size);
}
