/*
 * UUID text <-> RTUUID bytes, in IPRT's layout (RTUuidFromStr/RTUuidToStr):
 * the first three groups are stored little-endian, the last two as written.
 * VirtualBox front ends put UUIDs into CFGM this way, so Petrel does too.
 */
#ifndef PETREL_CLI_UUID_TEXT_H
#define PETREL_CLI_UUID_TEXT_H

#include <stdbool.h>
#include <vmm/types.h>

#define UUID_TEXT_LEN 36   /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* Accepts exactly 36 characters, or 38 with surrounding braces; hex digits in either case. */
bool uuid_from_text(const char *text, RTUUID *uuid);
/* Writes 36 lower-case characters and a NUL into buf (UUID_TEXT_LEN + 1 bytes). */
void uuid_to_text(const RTUUID *uuid, char *buf);

#endif
