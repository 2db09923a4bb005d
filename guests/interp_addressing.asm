; Interpreter test guest: 32-bit MOV loads and stores by address shape
; (the decoder gives [base+disp] and [base+index*scale+disp] their own
; handlers) in real mode with 32-bit addresses: the offset wraps at 4 GiB,
; DS's 64 KiB limit raises #GP and an EBP-based access past SS's limit #SS.
; Expected output (tests/test_interp_guests.c):
;   A 5678 1234 9abc f00d GP GP SS
%include "include.inc"

%define BUF 0x6000

        bits    16
        org     LOAD_REAL
start:
        mov     al, 0xff                ; mask both PICs: no hardware IRQ may
        out     0x21, al                ; reach the guest's exception vectors
        out     0xa1, al
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [13 * 4], gp_handler
        mov     word [13 * 4 + 2], 0
        mov     word [12 * 4], ss_handler
        mov     word [12 * 4 + 2], 0
        putc    'A'
        putc    ' '
        mov     dword [BUF], 0x12345678
        mov     dword [BUF + 4], 0x9abcdef0

        mov     ebx, BUF
        mov     esi, 1
        mov     eax, [ebx]                  ; [base]
        call    puthex_sp
        mov     eax, [ebx + esi * 4 - 2]    ; [base+index*4+disp]: BUF + 2
        call    puthex_sp
        mov     ebx, 0xfffffff0             ; wraps: 0xfffffff0 + (BUF + 0x14) = BUF + 4
        mov     esi, (BUF + 0x14) / 4
        mov     eax, [ebx + esi * 4]
        shr     eax, 16
        call    puthex_sp
        mov     ecx, 0xf00d
        mov     [ebx + esi * 4], ecx        ; the store wraps the same way
        mov     eax, [BUF + 4]
        call    puthex_sp

        mov     ebx, 0x10000                ; past DS's limit: #GP, skipped
        mov     word [resume], .after_load
        mov     eax, [ebx]
.after_load:
        mov     ebx, 0xfffe                 ; straddles the limit: #GP, skipped
        xor     esi, esi
        mov     word [resume], .after_store
        mov     [ebx + esi * 2], eax
.after_store:
        mov     ebp, 0xfffd                 ; EBP-based: SS's limit, #SS
        mov     word [resume], .after_stack
        mov     eax, [ebp + 0]
.after_stack:
        putc    10
        exit    0

; The faulting instruction is skipped: resume at [resume].
gp_handler:
        putc    'G'
        putc    'P'
        jmp     skip
ss_handler:
        putc    'S'
        putc    'S'
skip:   putc    ' '
        add     sp, 6                       ; drop IP, CS, FLAGS
        jmp     [resume]

puthex_sp:                                  ; ax in hex, then a space
        call    puthex
        putc    ' '
        ret

%include "puthex16.inc"

resume: dw      0
