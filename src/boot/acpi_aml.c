/*
 * AML encoding (see acpi_aml.h): the byte buffer and data objects.
 * Opcodes from ACPI 6.5 section 20.3.
 */
#include "acpi_aml.h"

#include <stdlib.h>
#include <string.h>

enum {
    AML_ZERO = 0x00, AML_ONE = 0x01,
    AML_BYTE_PREFIX = 0x0A, AML_WORD_PREFIX = 0x0B, AML_DWORD_PREFIX = 0x0C,
    AML_STRING_PREFIX = 0x0D, AML_QWORD_PREFIX = 0x0E,
};

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
    free(a->buf);
    aml_init(a);
}

bool aml_failed(const struct aml *a)
{
    return a->failed || a->depth != 0;
}

static bool aml_reserve(struct aml *a, size_t n)
{
    if (a->failed)
        return false;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + n)
            cap *= 2;
        uint8_t *p = realloc(a->buf, cap);
        if (!p) {
            a->failed = true;
            return false;
        }
        a->buf = p;
        a->cap = cap;
    }
    return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (!aml_reserve(a, n))
        return;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v <= 1) {
        aml_byte(a, v ? AML_ONE : AML_ZERO);
    } else if (v <= UINT8_MAX) {
        aml_byte(a, AML_BYTE_PREFIX);
        aml_le(a, v, 1);
    } else if (v <= UINT16_MAX) {
        aml_byte(a, AML_WORD_PREFIX);
        aml_le(a, v, 2);
    } else if (v <= UINT32_MAX) {
        aml_dword(a, (uint32_t)v);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        aml_le(a, v, 8);
    }
}

void aml_dword(struct aml *a, uint32_t v)
{
    aml_byte(a, AML_DWORD_PREFIX);
    aml_le(a, v, 4);
}

void aml_string(struct aml *a, const char *s)
{
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c > 0x7F) {    /* AsciiCharList: 0x01-0x7F */
            a->failed = true;
            return;
        }
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "PNP0A03": three letters in 5 bits each, then four hex digits (ACPI 19.6.43). */
void aml_eisaid(struct aml *a, const char *id)
{
    if (strlen(id) != 7) {
        a->failed = true;
        return;
    }
    uint32_t v = 0;
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            a->failed = true;
            return;
        }
        v = (v << 5) | (uint32_t)(id[i] - 0x40);
    }
    for (int i = 3; i < 7; i++) {
        int d = hex_digit(id[i]);
        if (d < 0) {
            a->failed = true;
            return;
        }
        v = (v << 4) | (uint32_t)d;
    }
    /* The id is stored big-endian inside the little-endian DWord. */
    aml_dword(a, __builtin_bswap32(v));
}
