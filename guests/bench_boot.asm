; Boot sector for bench/interp_compare.sh: runs guests/interp_bench.asm's
; integer loop (the same 10 instructions) under other emulators booting it
; from a floppy image through their BIOS.  The script patches the iteration
; count (dword at offset 4) and the mode (byte at offset 8: 0 real mode,
; 1 32-bit protected mode, 2 the x87 loop and 3 the SSE loop of
; interp_bench.asm, both in 32-bit protected mode), then powers the machine off: port 0xF4 exits
; QEMU (isa-debug-exit), "Shutdown" on port 0x8900 ends Bochs.
%include "include.inc"

        bits    16
        org     LOAD_REAL
        jmp     short start
        align   4
iterations:
        dd      1000
mode:   db      0

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
%endmacro

%define ARRAY 0x20000
%define SEL_CODE16  0x18
%define SEL_DATA16  0x20

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     ecx, [iterations]
        cmp     byte [mode], 0
        jne     prot
        mov     ax, ARRAY >> 4
        mov     ds, ax
        xor     esi, esi
        body
        jmp     off

prot:   lgdt    [gdt_desc]
        mov     eax, cr0
        or      eax, 1
        mov     cr0, eax
        jmp     SEL_CODE32:prot_entry
        bits    32
prot_entry:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esi, ARRAY
        cmp     byte [mode], 2
        je      x87
        ja      sse
        body
        jmp     SEL_CODE16:off

x87:    fninit                          ; 8 of 10 instructions x87
        fld1
        fldz
.loop:  fadd    st0, st1
        fld     st0
        fmul    st0, st0
        fsqrt
        fstp    qword [esi]
        fld     qword [esi]
        fcomip  st0, st1
        fabs
        dec     ecx
        jnz     .loop
        jmp     SEL_CODE16:off

sse:    mov     eax, cr4                ; CR4.OSFXSR; 8 of 10 instructions SSE
        or      eax, 0x200
        mov     cr4, eax
.loop:  movdqa  xmm1, [esi]
        paddd   xmm1, xmm2
        pxor    xmm3, xmm1
        addps   xmm4, xmm5
        mulps   xmm5, xmm6
        pshufd  xmm6, xmm6, 0x1b
        movdqa  [esi + 16], xmm3
        pcmpeqb xmm7, xmm1
        dec     ecx
        jnz     .loop
        jmp     SEL_CODE16:off

        bits    16
off:    mov     ax, SEL_DATA16
        mov     ds, ax
        mov     al, 0
        out     DEBUGEXIT_PORT, al              ; QEMU: isa-debug-exit
        mov     dx, 0x8900
        mov     si, shutdown
.next:  mov     al, [cs:si]
        test    al, al
        jz      .stop
        out     dx, al                          ; Bochs: "Shutdown" ends the simulation
        inc     si
        jmp     .next
.stop:  cli
        hlt
        jmp     .stop

shutdown:
        db      "Shutdown", 0

        align   8
gdt:    dq      0
        dq      0x00cf9a000000ffff          ; 0x08 ring-0 code
        dq      0x00cf92000000ffff          ; 0x10 ring-0 data
        dq      0x00009a000000ffff          ; 0x18 16-bit code, base 0
        dq      0x000092000000ffff          ; 0x20 16-bit data, base 0
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt

        times   510 - ($ - $$) db 0
        dw      0xaa55
