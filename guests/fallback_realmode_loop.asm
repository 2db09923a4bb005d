; Speed of unpaged modes: a real-mode integer loop of 100,000 iterations of
; 5 instructions (add/xor/shift/dec/branch), run by KVM's emulator or by the
; interpreter (/KVM/InterpretUnpagedModes).  Prints "loop done\n" and exits
; with 0x15 (exit code 0x2b).
bits 16
%include "include.inc"
org LOAD_REAL

ITERATIONS equ 100000

start:
        mov     ecx, ITERATIONS
        xor     eax, eax
        mov     ebx, 0x12345
.loop:  add     eax, ebx
        xor     ebx, eax
        shl     eax, 1
        dec     ecx
        jnz     .loop
        puts    msg
        exit    0x15

msg:    db "loop done", 10, 0
