; Protected mode (flat 32-bit): prints a line and exits with code (0x20<<1)|1 = 0x41.
%include "include.inc"
        bits    32
        org     LOAD_HIGH
start:
        puts    msg
        exit    0x20
msg:    db      "Hello from protected mode", 10, 0
