; The interpreter benchmark loop (bench/interp_mips.c), once per code size:
; 10 instructions per iteration (add, xor, shift, mov, and, store, load,
; add, dec, jnz), ECX iterations, then HLT: 10*ECX + 1 instructions.
; The harness enters each copy directly in its mode with ESI pointing at a
; 4 KiB array.
        org     0x10000

%macro body 0
%%loop: add     eax, ebx
        xor     ebx, eax
        shl     ebx, 1
        mov     edi, ecx
        and     edi, 1023
        mov     [esi + edi * 4], eax
        mov     edx, [esi + edi * 4]
        add     edx, ecx
        dec     ecx
        jnz     %%loop
        hlt
%endmacro

        bits    16
real_entry:                             ; offset 0x000
        body
        times   0x100 - ($ - $$) db 0x90
        bits    32
prot_entry:                             ; offset 0x100
        body
        times   0x200 - ($ - $$) db 0x90
        bits    64
long_entry:                             ; offset 0x200
        body
        times   0x300 - ($ - $$) db 0x90
x87_entry:                              ; offset 0x300, 64-bit: the x87 loop
        fninit                          ; 3 + 10*ECX + 1 instructions
        fld1
        fldz
.loop:  fadd    st0, st1                ; 8 x87 instructions per iteration
        fld     st0
        fmul    st0, st0
        fsqrt
        fstp    qword [rsi]
        fld     qword [rsi]
        fcomip  st0, st1
        fabs
        dec     ecx
        jnz     .loop
        hlt
        times   0x400 - ($ - $$) db 0x90
sse_entry:                              ; offset 0x400, 64-bit: the SSE loop
.loop:  movdqa  xmm1, [rsi]             ; 8 SSE instructions per iteration
        paddd   xmm1, xmm2
        pxor    xmm3, xmm1
        addps   xmm4, xmm5
        mulps   xmm5, xmm6
        pshufd  xmm6, xmm6, 0x1b
        movdqa  [rsi + 16], xmm3
        pcmpeqb xmm7, xmm1
        dec     ecx
        jnz     .loop
        hlt
