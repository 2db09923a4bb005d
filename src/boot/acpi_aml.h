/*
 * A tiny AML (ACPI Machine Language) emitter: enough to hand-assemble a
 * DSDT with names, scopes, devices, methods, packages, integers, strings,
 * EISA ids and resource templates.  Encodings from the ACPI 6.5 spec,
 * chapter 20 (AML Specification) and 6.4 (Resource Data Types).
 *
 * Usage: constructs with a PkgLength are bracketed by a *_begin call and
 * aml_end(); the length is worked out and inserted at the end.  Errors
 * (out of memory, nesting too deep, bad names) are sticky: check
 * aml_failed() once at the end.
 */
#ifndef PETREL_ACPI_AML_H
#define PETREL_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

struct aml {
    uint8_t *buf;
    size_t   len, cap;
    bool     failed;
    unsigned depth;
    struct { size_t start; bool buffer; } open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
bool aml_failed(const struct aml *a);   /* also true while a construct is still open */

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* Data objects. */
void aml_integer(struct aml *a, uint64_t v);   /* Zero/One/Byte/Word/DWord/QWord: smallest */
void aml_dword(struct aml *a, uint32_t v);     /* always DWordPrefix (EISA ids, addresses) */
void aml_string(struct aml *a, const char *s);
void aml_eisaid(struct aml *a, const char *id);  /* "PNP0A03" -> compressed DWord */

/* Names: "\\_SB.PCI0", "^FOO", "_HID"; segments shorter than 4 are padded with '_'. */
void aml_namestring(struct aml *a, const char *path);
void aml_name(struct aml *a, const char *path);  /* Name (path, <next object>) */
void aml_return(struct aml *a);                  /* Return (<next object>) */

/* Constructs closed by aml_end(). */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
void aml_method_begin(struct aml *a, const char *path, unsigned argc, bool serialized);
void aml_package_begin(struct aml *a, unsigned elements);
void aml_buffer_begin(struct aml *a);            /* BufferSize = the bytes up to aml_end */
void aml_end(struct aml *a);
/* Low level: after an opcode that takes a PkgLength, opens it (aml_end closes). */
void aml_construct_begin(struct aml *a);

/* Statements and expressions (acpi_aml_ops.c).  Operators are prefix: emit
 * the operator, then its operands in order (a Target operand is a name,
 * a Local, or aml_null_target).  If/Else bodies are closed by aml_end(). */
void aml_if_begin(struct aml *a);
void aml_else_begin(struct aml *a);
void aml_store(struct aml *a);                   /* Store (source, target) */
void aml_and(struct aml *a);                     /* And (x, y, target) */
void aml_lequal(struct aml *a);                  /* LEqual (x, y) */
void aml_notify(struct aml *a);                  /* Notify (object, value) */
void aml_local(struct aml *a, unsigned n);       /* Local0-7 */
void aml_arg(struct aml *a, unsigned n);         /* Arg0-6 */
void aml_null_target(struct aml *a);
/* OperationRegion (name, SystemIO, offset, length) */
void aml_opregion_io(struct aml *a, const char *name, uint16_t port, uint16_t len);
/* Field (region, DWordAcc, NoLock, Preserve) { names[i], bits[i] ... } */
void aml_field_dword(struct aml *a, const char *region, const char *const *names, const unsigned *bits,
                     unsigned count);

/* Resource descriptors (inside aml_buffer_begin ... aml_end), ACPI 6.4. */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, uint16_t mask);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max, bool cacheable);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max, bool cacheable);
void aml_res_end(struct aml *a);

#endif /* PETREL_ACPI_AML_H */
