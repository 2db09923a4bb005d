/*
 * Shared by the ACPI table builders (src/boot/acpi_*.c): byte helpers,
 * the common table header, and one builder per table.  Each builder
 * returns a malloc'd, checksummed table in a blob.
 */
#ifndef PETREL_ACPI_INTERNAL_H
#define PETREL_ACPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "acpi.h"

#define ACPI_HEADER_LEN   36
#define ACPI_RSDP_LEN     36       /* revision 2 */
#define ACPI_RSDP_V1_LEN  20       /* the part the first checksum covers */
#define ACPI_FACS_LEN     64
#define ACPI_FADT_LEN     276      /* revision 6 (ACPI 6.0 and later) */

struct acpi_blob {
    uint8_t *data;
    size_t   len;
};

void acpi_put16(uint8_t *p, uint16_t v);
void acpi_put32(uint8_t *p, uint32_t v);
void acpi_put64(uint8_t *p, uint64_t v);
/* Signatures and ids: n characters, no terminating NUL. */
void acpi_put_chars(uint8_t *p, const char *s, size_t n);
/* Sum of the bytes (mod 256): 0 for a table with a good checksum. */
uint8_t acpi_sum(const uint8_t *p, size_t len);
/* Sets p[field] so that the bytes [0, len) sum to 0. */
void acpi_checksum(uint8_t *p, size_t len, size_t field);

/* The standard header (OEM "PETREL"); the checksum is set by acpi_table_finish. */
void acpi_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t revision);
void acpi_table_finish(uint8_t *t, size_t len);

/* Generic Address Structure (12 bytes): space 1 = SystemIO. */
#define ACPI_GAS_IO 1
void acpi_gas(uint8_t *p, uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t addr);

/* The configuration with defaults applied, or VERR_INVALID_PARAMETER. */
int acpi_config_normalize(const struct acpi_config *in, struct acpi_config *out);

int  acpi_dsdt_build(const struct acpi_config *cfg, struct acpi_blob *out);
int  acpi_madt_build(const struct acpi_config *cfg, struct acpi_blob *out);
struct aml;
/* The processor objects and GPE handler for CPU hot plug (acpi_dsdt_cpus.c). */
void acpi_dsdt_cpus(struct aml *a, const struct acpi_config *cfg);
int  acpi_fadt_build(const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt, struct acpi_blob *out);
int  acpi_xsdt_build(const uint64_t *tables, unsigned count, struct acpi_blob *out);
void acpi_facs_build(uint8_t out[ACPI_FACS_LEN]);
void acpi_rsdp_build(uint64_t xsdt, uint8_t out[ACPI_RSDP_LEN]);

#endif /* PETREL_ACPI_INTERNAL_H */
