/*
 * AML name strings (ACPI 6.5 section 20.2.2): an optional root or parent
 * prefix, then one segment, DualNamePrefix + two or MultiNamePrefix +
 * count + segments.  Each segment is 4 characters, padded with '_'.
 */
#include "acpi_aml.h"

#include <string.h>

#define AML_DUAL_NAME   0x2E
#define AML_MULTI_NAME  0x2F
#define AML_ROOT_CHAR   0x5C
#define AML_PARENT_CHAR 0x5E
#define AML_MAX_SEGS    255

static bool seg_char_ok(char c, bool lead)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* Copies the segment at s (up to '.' or NUL) into seg; returns its length or 0. */
static size_t parse_seg(const char *s, char seg[4])
{
    size_t n = 0;
    while (s[n] && s[n] != '.') {
        if (n >= 4 || !seg_char_ok(s[n], n == 0))
            return 0;
        seg[n] = s[n];
        n++;
    }
    for (size_t i = n; i < 4; i++)
        seg[i] = '_';
    return n;
}

void aml_namestring(struct aml *a, const char *path)
{
    if (*path == '\\') {
        aml_byte(a, AML_ROOT_CHAR);
        path++;
    } else {
        while (*path == '^') {
            aml_byte(a, AML_PARENT_CHAR);
            path++;
        }
    }
    char segs[AML_MAX_SEGS][4];
    unsigned count = 0;
    while (*path) {
        size_t n = count < AML_MAX_SEGS ? parse_seg(path, segs[count]) : 0;
        if (!n) {
            a->failed = true;
            return;
        }
        count++;
        path += n;
        if (*path == '.' && !*++path) {
            a->failed = true;          /* trailing dot */
            return;
        }
    }
    if (count == 0) {
        aml_byte(a, 0x00);             /* NullName: only valid after a prefix */
        return;
    }
    if (count == 2)
        aml_byte(a, AML_DUAL_NAME);
    else if (count > 2) {
        aml_byte(a, AML_MULTI_NAME);
        aml_byte(a, (uint8_t)count);
    }
    aml_bytes(a, segs, (size_t)4 * count);
}
