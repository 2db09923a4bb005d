; Real mode: 1,000,000 OUTs to an unclaimed port (one exit each), then exit
; with code (0x01<<1)|1 = 3.  Used by bench/pio_exit.
%include "include.inc"
        bits    16
        org     LOAD_REAL
start:
        mov     ecx, 1000000
        mov     dx, UNCLAIMED_PORT
        xor     al, al
.loop:  out     dx, al
        dec     ecx
        jnz     .loop
        exit    0x01
