/*
 * AML constructs that carry a PkgLength (ACPI 6.5 section 20.2.4): the
 * opening call writes the opcode and remembers where the length goes;
 * aml_end() inserts the length once the contents are known.
 */
#include "acpi_aml.h"

#include <string.h>

enum {
    AML_NAME = 0x08, AML_SCOPE = 0x10, AML_BUFFER = 0x11, AML_PACKAGE = 0x12,
    AML_METHOD = 0x14, AML_EXT_PREFIX = 0x5B, AML_EXT_DEVICE = 0x82, AML_RETURN = 0xA4,
};

#define AML_PKGLEN_LIMIT ((size_t)1 << 28)

void aml_name(struct aml *a, const char *path)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, path);
}

void aml_return(struct aml *a)
{
    aml_byte(a, AML_RETURN);
}

static void open_construct(struct aml *a, bool buffer)
{
    if (a->depth >= AML_MAX_DEPTH) {
        a->failed = true;
        return;
    }
    a->open[a->depth].start = a->len;
    a->open[a->depth].buffer = buffer;
    a->depth++;
}

void aml_construct_begin(struct aml *a)
{
    open_construct(a, false);
}

void aml_scope_begin(struct aml *a, const char *path)
{
    aml_byte(a, AML_SCOPE);
    open_construct(a, false);
    aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
    aml_byte(a, AML_EXT_PREFIX);
    aml_byte(a, AML_EXT_DEVICE);
    open_construct(a, false);
    aml_namestring(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned argc, bool serialized)
{
    if (argc > 7)
        a->failed = true;
    aml_byte(a, AML_METHOD);
    open_construct(a, false);
    aml_namestring(a, path);
    aml_byte(a, (uint8_t)((argc & 7) | (serialized ? 0x08 : 0)));
}

void aml_package_begin(struct aml *a, unsigned elements)
{
    if (elements > 255)
        a->failed = true;              /* VarPackage not supported here */
    aml_byte(a, AML_PACKAGE);
    open_construct(a, false);
    aml_byte(a, (uint8_t)elements);
}

void aml_buffer_begin(struct aml *a)
{
    aml_byte(a, AML_BUFFER);
    open_construct(a, true);
}

/* Bytes a PkgLength needs when the construct's body (excluding it) is body bytes. */
static size_t pkglen_size(size_t body)
{
    if (body + 1 < 64)
        return 1;                      /* bits 0-5 of the lead byte */
    if (body + 2 < ((size_t)1 << 12))
        return 2;                      /* lead nibble + 1 byte */
    if (body + 3 < ((size_t)1 << 20))
        return 3;
    return 4;
}

/* Writes the n-byte PkgLength for a construct of total bytes (itself included). */
static void encode_pkglen(size_t total, size_t n, uint8_t out[4])
{
    if (n == 1) {
        out[0] = (uint8_t)total;
        return;
    }
    out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
    for (size_t i = 1; i < n; i++)
        out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
}

/* Encodes BufferSize as the Integer object aml_integer() would write. */
static size_t encode_bufsize(size_t size, uint8_t out[5])
{
    struct aml tmp;
    aml_init(&tmp);
    aml_integer(&tmp, size);
    size_t n = tmp.failed || tmp.len > 5 ? 0 : tmp.len;
    if (n)
        memcpy(out, tmp.buf, n);
    aml_free(&tmp);
    return n;
}

void aml_end(struct aml *a)
{
    if (a->depth == 0 || a->failed) {
        a->failed = true;
        return;
    }
    a->depth--;
    size_t start = a->open[a->depth].start;
    uint8_t head[5];                   /* BufferSize: DWord at most (< 2^28) */
    size_t head_len = 0;
    if (a->open[a->depth].buffer)
        head_len = encode_bufsize(a->len - start, head);
    size_t body = a->len - start + head_len;
    size_t pkg_len = pkglen_size(body);
    if (body + pkg_len >= AML_PKGLEN_LIMIT || (a->open[a->depth].buffer && !head_len)) {
        a->failed = true;
        return;
    }
    uint8_t pkg[4];
    encode_pkglen(body + pkg_len, pkg_len, pkg);
    size_t insert = pkg_len + head_len;
    uint8_t dummy[9] = { 0 };           /* pkg_len + head_len <= 9 */
    aml_bytes(a, dummy, insert);       /* grow, then shift the body up */
    if (a->failed)
        return;
    memmove(a->buf + start + insert, a->buf + start, a->len - insert - start);
    memcpy(a->buf + start, pkg, pkg_len);
    memcpy(a->buf + start + pkg_len, head, head_len);
}
