/*
 * UUID text <-> bytes (see uuid_text.h for the byte order).
 */
#include "uuid_text.h"

#include <stdio.h>
#include <string.h>

/* Byte index in RTUUID for each of the 16 bytes in text order. */
static const unsigned char text_to_byte[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool uuid_from_text(const char *text, RTUUID *uuid)
{
    size_t len = strlen(text);
    if (len == UUID_TEXT_LEN + 2 && text[0] == '{' && text[len - 1] == '}') {
        text++;
        len -= 2;
    }
    if (len != UUID_TEXT_LEN)
        return false;
    unsigned n = 0;
    for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
        bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_here) {
            if (text[i] != '-')
                return false;
            continue;
        }
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        uuid->au8[text_to_byte[n++]] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return true;
}

void uuid_to_text(const RTUUID *uuid, char *buf)
{
    char *p = buf;
    for (unsigned n = 0; n < 16; n++) {
        if (n == 4 || n == 6 || n == 8 || n == 10)
            *p++ = '-';
        p += sprintf(p, "%02x", uuid->au8[text_to_byte[n]]);
    }
    *p = 0;
}
