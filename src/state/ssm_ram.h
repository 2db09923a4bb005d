/*
 * The RAM units ("ram"): guest pages in runs, zero pages elided, page data
 * compressed with zstd at a low level.  A stream holds any number of them,
 * numbered 0, 1, 2... (live passes simply continue the numbering); later
 * units override earlier ones page by page.
 */
#ifndef PETREL_SSM_RAM_H
#define PETREL_SSM_RAM_H

#include <stdbool.h>
#include <stdint.h>

#include "../memory/guest_ram.h"
#include "ssm_stream.h"

#define SSM_RAM_UNIT_NAME      "ram"
#define SSM_RAM_UNIT_VERSION   1u
#define SSM_RAM_MAX_DATA_PAGES 256u            /* 1 MiB of page data per unit */
#define SSM_RAM_MAX_RUNS       1024u
#define SSM_RAM_RUN_SIZE       16u
#define SSM_RAM_HDR_SIZE       16u
#define SSM_RAM_MAX_PAYLOAD    (UINT64_C(2) << 20)

/* The "ramimage" unit: all RAM uncompressed at a page-aligned stream
 * offset, so that a file can be mapped copy-on-write (ssm_ram_image.c). */
#define SSM_RAM_IMAGE_UNIT_NAME    "ramimage"
#define SSM_RAM_IMAGE_UNIT_VERSION 1u
#define SSM_RAM_IMAGE_DESC_SIZE    32u
#define SSM_RAM_IMAGE_ALIGN        4096u

/*
 * A live pass reads guest RAM while vCPUs write it: a page torn by such a
 * write is in the dirty log and sent again, so the race is intended.  Tell
 * ThreadSanitizer (its annotations exist only in TSan builds).
 */
#if defined(__SANITIZE_THREAD__)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define GUEST_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define GUEST_READS_END()   AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define GUEST_READS_BEGIN() ((void)0)
#define GUEST_READS_END()   ((void)0)
#endif

struct ssm_ram_saver {
    struct ssm_writer *w;
    const struct guest_ram *ram;
    uint32_t next_instance;            /* number of the next "ram" unit */
    uint32_t units_written;
    void    *cctx;                     /* ZSTD_CCtx */
    uint8_t *data;                     /* page data of the unit being built */
    uint8_t *payload;
    uint64_t bytes_sent;               /* payload bytes written (bandwidth) */
    uint64_t pages_sent;               /* pages with data written */
    void   (*progress)(void *user, uint64_t done, uint64_t total);
    void    *progress_user;
};

int  ssm_ram_saver_init(struct ssm_ram_saver *s, struct ssm_writer *w, const struct guest_ram *ram);
void ssm_ram_saver_term(struct ssm_ram_saver *s);
/*
 * Writes one pass: every non-zero page when dirty is NULL (the target's
 * RAM starts zeroed), else every page whose bit is set in dirty (zero ones
 * as zero runs, since the target may hold older data there).
 */
int  ssm_ram_save_pass(struct ssm_ram_saver *s, const uint8_t *dirty);
/* Writes the "ramimage" unit (instance 0, before any "ram" unit): zero
 * pages become holes when the writer allows them (a file). */
int  ssm_ram_image_write(struct ssm_ram_saver *s);
bool ssm_ram_page_is_zero(const uint8_t *p);

struct ssm_ram_loader {
    struct guest_ram *ram;
    void    *dctx;                     /* ZSTD_DCtx */
    uint8_t *data;
    int64_t  last_instance;            /* -1 before the first */
    bool     image_seen;               /* a "ramimage" unit was loaded */
};

int  ssm_ram_loader_init(struct ssm_ram_loader *l, struct guest_ram *ram);
void ssm_ram_loader_term(struct ssm_ram_loader *l);
/* Applies one unit's payload (already length- and CRC-checked). */
int  ssm_ram_load_unit(struct ssm_ram_loader *l, struct ssm_reader *r, uint64_t at, uint32_t instance,
                       const uint8_t *payload, size_t len);
struct ssm_unit_hdr;
/*
 * Reads a "ramimage" unit after its record header.  map_fd >= 0 (a file of
 * stream_size bytes): maps the image over RAM copy-on-write; else reads it
 * into RAM and checks its CRC.
 */
int  ssm_ram_image_load(struct ssm_ram_loader *l, struct ssm_reader *r, const struct ssm_unit_hdr *u, uint64_t at,
                        int map_fd, uint64_t stream_size);

#endif /* PETREL_SSM_RAM_H */
