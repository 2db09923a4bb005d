; Per-mode engine choice: real mode -> unpaged 32-bit protected mode ->
; long mode (PAE paging, one 2 MiB identity page; kvm_pvm runs paged guests
; only in long mode).  POPCNT runs once unpaged and once paged: with
; /KVM/InterpretUnpagedModes the unpaged one is the interpreter's, the paged
; one KVM's (on an emulating host: one fallback).
; Prints "real pm ok paged ok\n", exits with 0x16 (exit code 0x2d).
bits 16
%include "include.inc"
org LOAD_REAL

PML4_ADDR equ 0x9000                    ; then PDPT at 0xA000, PD at 0xB000

start:
        cli
        puts    msg_real
        lgdt    [gdtr]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        jmp     0x08:pm32

bits 32
pm32:   mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, 0x7000
        mov     eax, 0xff
        popcnt  ebx, eax
        cmp     ebx, 8
        jne     fail
        puts    msg_pm
        mov     edi, PML4_ADDR
        xor     eax, eax
        mov     ecx, 3 * 1024
        rep stosd
        mov     dword [PML4_ADDR], PML4_ADDR + 0x1003
        mov     dword [PML4_ADDR + 0x1000], PML4_ADDR + 0x2003
        mov     dword [PML4_ADDR + 0x2000], 0x83        ; 2 MiB page at 0
        mov     eax, cr4
        or      eax, 0x20               ; PAE
        mov     cr4, eax
        mov     eax, PML4_ADDR
        mov     cr3, eax
        mov     ecx, 0xc0000080         ; EFER.LME
        rdmsr
        or      eax, 0x100
        wrmsr
        mov     eax, cr0
        or      eax, 0x80000000         ; PG: long mode, compatibility sub-mode
        mov     cr0, eax
        jmp     0x18:lm64

bits 64
lm64:   mov     eax, 0xf0f0
        popcnt  ebx, eax
        cmp     ebx, 8
        jne     fail
        puts    msg_paged
        exit    0x16

fail:   puts    msg_fail
        exit    0x7f

msg_real:  db "real", 0
msg_pm:    db " pm ok", 0
msg_paged: db " paged ok", 10, 0
msg_fail:  db " FAIL", 10, 0
align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff           ; 0x08 code32
        dq 0x00cf92000000ffff           ; 0x10 data
        dq 0x00af9a000000ffff           ; 0x18 code64
gdtr:   dw 4 * 8 - 1
        dd gdt
