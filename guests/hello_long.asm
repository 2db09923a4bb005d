; Long mode (64-bit): prints a line and exits with code (0x30<<1)|1 = 0x61.
%include "include.inc"
        bits    64
        org     LOAD_HIGH
start:
        puts    msg
        exit    0x30
msg:    db      "Hello from long mode", 10, 0
