; Long mode, 2 (or more) vCPUs all starting here: each adds 1 to a shared
; counter with LOCK XADD 1,000,000 times, checking that the values it got
; back only grow, then counts itself done.  vCPU 0 waits for all and exits
; with code 1 ((0<<1)|1); code 5 ((2<<1)|1) if a vCPU saw the counter go back.
; The counter is at 0x9000 (dword), the done count at 0x9004.
%include "include.inc"
%define COUNTER 0x9000
%define DONE    0x9004
%define GO      0x9008
%define ROUNDS  1000000

        bits    64
        org     LOAD_HIGH
start:
        mov     r15, rsi
        test    rdi, rdi
        jnz     .wait
        mov     dword [COUNTER], 0
        mov     dword [DONE], 0
        mov     dword [GO], 1
.wait:  pause
        cmp     dword [GO], 1
        jne     .wait
        mov     ecx, ROUNDS
        xor     r8d, r8d                ; last value seen
.loop:  mov     eax, 1
        lock xadd [COUNTER], eax
        cmp     eax, r8d
        jb      .bad
        mov     r8d, eax
        dec     ecx
        jnz     .loop
        lock inc dword [DONE]
        test    rdi, rdi
        jnz     .park
.all:   pause
        cmp     [DONE], r15d
        jb      .all
        exit    0
.bad:   exit    2
.park:  halt_forever
