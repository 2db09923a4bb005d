; Real mode: prints a line and exits with code (0x10<<1)|1 = 0x21.
%include "include.inc"
        bits    16
        org     LOAD_REAL
start:
        puts    msg
        exit    0x10
msg:    db      "Hello from real mode", 10, 0
