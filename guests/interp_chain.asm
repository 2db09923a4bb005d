; Interpreter test guest: block chaining.  Hot loops whose blocks are
; linked to their successors, and the successor changes under the link:
;   C  the address space switches (CR3) every iteration: the same linear
;      code address runs a different stub in each (add 1 / add 100)
;   S  the loop patches the immediate of its successor (on another page)
;      before each call: self-modifying code in a chained block
;   I  the PTE of the successor's page changes every iteration (INVLPG)
;   M  the same RETF (one block) enters the same stub through a 16-bit and
;      a 32-bit code segment in turn: its bytes decode differently
; Each phase prints its letter when EBX has the architectural sum, the
; lower-case letter otherwise.
; Expected output (tests/test_interp_guests.c): CSIM
%include "include.inc"

%define PGDIR_A 0x1000
%define PGDIR_B 0x2000
%define PT_A    0x3000
%define PT_B    0x4000
%define STUB_1   0x500000       ; add ebx, 1 / ret
%define STUB_100 0x501000       ; add ebx, 100 / ret
%define PATCHED  0x9000         ; add ebx, imm8 / ret (imm8 patched)
%define MODE_STUB 0x9100        ; 16-bit: add ax, 1 / jmp +1 / retf
                                ; 32-bit: add eax, 0x01eb0001 / retf
%define SEL_CODE16 0x18

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        lgdt    [gdt_desc]
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
        mov     esp, 0x7000
        mov     dword [STUB_1], 0xc301c383      ; add ebx, 1 / ret
        mov     dword [STUB_100], 0xc364c383    ; add ebx, 100 / ret
        mov     dword [PATCHED], 0xc300c383     ; add ebx, 0 / ret
        mov     dword [MODE_STUB], 0xeb000105
        mov     dword [MODE_STUB + 4], 0xcbcb01
        mov     edi, PGDIR_A
        xor     eax, eax
        mov     ecx, 0x1000
        cld
        rep stosd
        mov     dword [PGDIR_A], 0x83           ; 0-4 MiB identity, 4 MiB page
        mov     dword [PGDIR_A + 4], PT_A | 3
        mov     dword [PGDIR_B], 0x83
        mov     dword [PGDIR_B + 4], PT_B | 3
        mov     dword [PT_A], STUB_1 | 3        ; 0x400000, not global
        mov     dword [PT_B], STUB_100 | 3
        mov     eax, 0x10                       ; CR4.PSE
        mov     cr4, eax
        mov     eax, PGDIR_A
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax

        xor     ebx, ebx                        ; C: 50 x (1 + 100)
        mov     ecx, 100
.cr3:   mov     eax, PGDIR_A
        test    ecx, 1
        jz      .space
        mov     eax, PGDIR_B
.space: mov     cr3, eax
        mov     eax, 0x400000
        call    eax
        dec     ecx
        jnz     .cr3
        mov     eax, PGDIR_A
        mov     cr3, eax
        mov     dl, 'C'
        cmp     ebx, 50 * 101
        call    report

        xor     ebx, ebx                        ; S: 100 + 99 + ... + 1
        mov     ecx, 100
.smc:   mov     [PATCHED + 2], cl
        call    PATCHED
        dec     ecx
        jnz     .smc
        mov     dl, 'S'
        cmp     ebx, 5050
        call    report

        xor     ebx, ebx                        ; I: 50 x (1 + 100)
        mov     ecx, 100
.pte:   mov     eax, STUB_1 | 3
        test    ecx, 1
        jz      .set
        mov     eax, STUB_100 | 3
.set:   mov     [PT_A], eax
        invlpg  [0x400000]
        mov     eax, 0x400000
        call    eax
        dec     ecx
        jnz     .pte
        mov     dl, 'I'
        cmp     ebx, 50 * 101
        call    report

        xor     eax, eax                        ; M: 50 x 1 + 50 x 0x01eb0001
        mov     ecx, 100
.mode:  test    ecx, 1
        jz      .m16
        push    dword SEL_CODE32                ; the 32-bit stub's RETF frame
        push    dword .back
        push    dword SEL_CODE32
        jmp     .go
.m16:   push    word SEL_CODE32                 ; the 16-bit stub's RETF frame
        push    word .back
        push    dword SEL_CODE16
        jmp     .go                             ; both paths: one block ends in the RETF
.go:    push    dword MODE_STUB
        retf
.back:  dec     ecx
        jnz     .mode
        mov     dl, 'M'
        cmp     eax, 50 + 50 * 0x01eb0001
        call    report

        putc    10
        exit    0

; Prints DL when ZF is set, else DL in lower case.
report:
        je      .out
        or      dl, 0x20
.out:   mov     al, dl
        out     DEBUGCON_PORT, al
        ret

        align   8
gdt:    dq      0
        dq      0x00cf9a000000ffff          ; 0x08 ring-0 code
        dq      0x00cf92000000ffff          ; 0x10 ring-0 data
        dq      0x00009a000000ffff          ; 0x18 16-bit code, base 0, limit 64 KiB
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt
