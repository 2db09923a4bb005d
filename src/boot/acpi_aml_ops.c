/*
 * AML statements and expressions (ACPI 6.5 sections 20.2.5): the handful
 * the DSDT's CPU hot plug methods need.  Encodings from the AML grammar:
 * IfOp 0xA0 and ElseOp 0xA1 carry a PkgLength; operators are followed by
 * their operands; Local0-7 are 0x60-0x67, Arg0-6 0x68-0x6E.
 */
#include "acpi_aml.h"

#include <string.h>

enum {
    AML_IF = 0xA0, AML_ELSE = 0xA1, AML_STORE = 0x70, AML_AND = 0x7B, AML_LEQUAL = 0x93,
    AML_NOTIFY = 0x86, AML_LOCAL0 = 0x60, AML_ARG0 = 0x68, AML_EXT = 0x5B,
    AML_EXT_OPREGION = 0x80, AML_EXT_FIELD = 0x81,
};

#define REGION_SYSTEM_IO 0x01
#define FIELD_DWORD_ACC  0x03          /* AccessType DWordAcc, NoLock, Preserve */

void aml_if_begin(struct aml *a)
{
    aml_byte(a, AML_IF);
    aml_construct_begin(a);
}

void aml_else_begin(struct aml *a)
{
    aml_byte(a, AML_ELSE);
    aml_construct_begin(a);
}

void aml_store(struct aml *a)  { aml_byte(a, AML_STORE); }
void aml_and(struct aml *a)    { aml_byte(a, AML_AND); }
void aml_lequal(struct aml *a) { aml_byte(a, AML_LEQUAL); }
void aml_notify(struct aml *a) { aml_byte(a, AML_NOTIFY); }
void aml_null_target(struct aml *a) { aml_byte(a, 0x00); }

void aml_local(struct aml *a, unsigned n)
{
    if (n > 7)
        a->failed = true;
    aml_byte(a, (uint8_t)(AML_LOCAL0 + (n & 7)));
}

void aml_arg(struct aml *a, unsigned n)
{
    if (n > 6)
        a->failed = true;
    aml_byte(a, (uint8_t)(AML_ARG0 + (n % 7)));
}

void aml_opregion_io(struct aml *a, const char *name, uint16_t port, uint16_t len)
{
    aml_byte(a, AML_EXT);
    aml_byte(a, AML_EXT_OPREGION);
    aml_namestring(a, name);
    aml_byte(a, REGION_SYSTEM_IO);
    aml_integer(a, port);
    aml_integer(a, len);
}

/* A NamedField's bit count is itself a PkgLength-style number (20.2.5.2). */
static void field_length(struct aml *a, unsigned bits)
{
    if (bits < 64) {
        aml_byte(a, (uint8_t)bits);
    } else if (bits < (1u << 12)) {
        aml_byte(a, (uint8_t)(0x40 | (bits & 0x0F)));
        aml_byte(a, (uint8_t)(bits >> 4));
    } else {
        a->failed = true;
    }
}

void aml_field_dword(struct aml *a, const char *region, const char *const *names, const unsigned *bits,
                     unsigned count)
{
    aml_byte(a, AML_EXT);
    aml_byte(a, AML_EXT_FIELD);
    aml_construct_begin(a);
    aml_namestring(a, region);
    aml_byte(a, FIELD_DWORD_ACC);
    for (unsigned i = 0; i < count; i++) {
        char seg[4] = { '_', '_', '_', '_' };
        size_t n = strlen(names[i]);
        if (n == 0 || n > 4) {
            a->failed = true;
            return;
        }
        memcpy(seg, names[i], n);      /* NameSeg: exactly 4 characters, no prefix */
        aml_bytes(a, seg, 4);
        field_length(a, bits[i]);
    }
    aml_end(a);
}
