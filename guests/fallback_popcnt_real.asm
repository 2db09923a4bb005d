; KVM fallback test: 16-bit POPCNT in real mode (KVM's emulator cannot
; emulate it).  Prints "popcnt ok\n", exits with 0x13 (exit code 0x27).
bits 16
%include "include.inc"
org LOAD_REAL

start:
        mov     ax, 0xf0f3
        popcnt  bx, ax                  ; 10 bits
        cmp     bx, 10
        jne     fail
        xor     ax, ax
        popcnt  bx, ax                  ; zero: ZF=1
        jnz     fail
        mov     ax, 0xffff
        popcnt  cx, ax
        cmp     cx, 16
        jne     fail
        puts    msg_ok
        exit    0x13

fail:   puts    msg_fail
        exit    0x7f

msg_ok:   db "popcnt ok", 10, 0
msg_fail: db "popcnt FAIL", 10, 0
