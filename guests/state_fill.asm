; Benchmark guest (long mode, one vCPU): fills RAM from 2 MiB up to 64 KiB
; below its stack with xorshift64 pseudo-random qwords (memory a save cannot
; compress much), prints "F" and halts for good.
%include "include.inc"
        bits    64
        org     LOAD_HIGH
start:
        mov     rdi, 0x200000
        mov     rcx, rsp
        sub     rcx, 0x10000
        mov     rax, 0x9e3779b97f4a7c15
.fill:  mov     rdx, rax                ; xorshift64
        shl     rdx, 13
        xor     rax, rdx
        mov     rdx, rax
        shr     rdx, 7
        xor     rax, rdx
        mov     rdx, rax
        shl     rdx, 17
        xor     rax, rdx
        mov     [rdi], rax
        add     rdi, 8
        cmp     rdi, rcx
        jb      .fill
        putc    'F'
        putc    10
.halt:  cli
        hlt
        jmp     .halt
