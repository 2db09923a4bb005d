; Long mode: spins forever without exits (poke, suspend, reset and the
; execution cap are tested against it).
%include "include.inc"
        bits    64
        org     LOAD_HIGH
start:
        xor     eax, eax
.spin:  inc     rax
        jmp     .spin
