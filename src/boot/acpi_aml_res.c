/*
 * Resource data descriptors for _CRS buffers (ACPI 6.5 section 6.4):
 * small I/O and IRQ descriptors, large Word/DWord/QWord address space
 * descriptors and the end tag.  All values little-endian.
 */
#include "acpi_aml.h"

enum {
    RES_IRQ_NOFLAGS = 0x22,   /* small item 0x04, length 2 */
    RES_IO          = 0x47,   /* small item 0x08, length 7 */
    RES_END         = 0x79,   /* small item 0x0F, length 1 */
    RES_DWORD_ADDR  = 0x87,
    RES_WORD_ADDR   = 0x88,
    RES_QWORD_ADDR  = 0x8A,
};

enum { RANGE_MEMORY = 0, RANGE_IO = 1, RANGE_BUS = 2 };

/* General flags: producer (bit 0 clear), positive decode, _MIF and _MAF set. */
#define GEN_FLAGS_FIXED_PRODUCER 0x0C
#define IO_FLAGS_ENTIRE_RANGE    0x03
#define MEM_FLAGS_RW             0x01
#define MEM_FLAGS_CACHEABLE      0x02

static void le(struct aml *a, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    aml_byte(a, RES_IO);
    aml_byte(a, 0x01);                 /* 16-bit decode */
    le(a, min, 2);
    le(a, max, 2);
    aml_byte(a, align);
    aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint16_t mask)
{
    aml_byte(a, RES_IRQ_NOFLAGS);
    le(a, mask, 2);
}

/* Header, type flags, then granularity, min, max, translation, length of width bytes. */
static void address_space(struct aml *a, uint8_t tag, unsigned width, uint8_t type,
                          uint8_t type_flags, uint64_t min, uint64_t max)
{
    if (max < min) {
        a->failed = true;
        return;
    }
    aml_byte(a, tag);
    le(a, 3 + 5 * width, 2);           /* length after the 3-byte header */
    aml_byte(a, type);
    aml_byte(a, GEN_FLAGS_FIXED_PRODUCER);
    aml_byte(a, type_flags);
    le(a, 0, width);                   /* granularity */
    le(a, min, width);
    le(a, max, width);
    le(a, 0, width);                   /* translation offset */
    le(a, max - min + 1, width);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
    address_space(a, RES_WORD_ADDR, 2, RANGE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
    address_space(a, RES_WORD_ADDR, 2, RANGE_IO, IO_FLAGS_ENTIRE_RANGE, min, max);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable)
{
    address_space(a, RES_DWORD_ADDR, 4, RANGE_MEMORY,
                  MEM_FLAGS_RW | (cacheable ? MEM_FLAGS_CACHEABLE : 0), min, max);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable)
{
    if (min == 0 && max == UINT64_MAX) {
        a->failed = true;              /* the length would not fit */
        return;
    }
    address_space(a, RES_QWORD_ADDR, 8, RANGE_MEMORY,
                  MEM_FLAGS_RW | (cacheable ? MEM_FLAGS_CACHEABLE : 0), min, max);
}

void aml_res_end(struct aml *a)
{
    aml_byte(a, RES_END);
    aml_byte(a, 0x00);                 /* checksum 0: "treat as correct" */
}
