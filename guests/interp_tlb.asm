; Interpreter test guest: TLB and jump-cache invalidation with 32-bit paging.
; The same linear code address runs different code in two address spaces
; (CR3 switches), a global page (CR4.PGE, PTE.G) keeps its translation across
; a CR3 write until CR4.PGE is toggled, INVLPG after a PTE change, and
; INVLPG of one 4 KiB piece of a changed 4 MiB page.
; Expected output (tests/test_interp_guests.c): ABAGGHBCD
%include "include.inc"

%define PGDIR_A 0x1000
%define PGDIR_B 0x2000
%define PT_A    0x3000
%define PT_B    0x4000
%define STUB(c) (0xb0 | ((c) << 8) | (0xc3 << 16))   ; mov al, c / ret

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
        mov     dword [0x500000], STUB('A')
        mov     dword [0x501000], STUB('B')
        mov     dword [0x502000], STUB('G')
        mov     dword [0x503000], STUB('H')
        mov     dword [0x00a000], STUB('C')
        mov     dword [0x40a000], STUB('D')
        mov     edi, PGDIR_A
        xor     eax, eax
        mov     ecx, 0x1000
        cld
        rep stosd
        mov     dword [PGDIR_A], 0x83           ; 0-4 MiB identity, 4 MiB page
        mov     dword [PGDIR_A + 4], PT_A | 3
        mov     dword [PGDIR_A + 8], 0x83       ; 8-12 MiB -> physical 0
        mov     dword [PGDIR_B], 0x83
        mov     dword [PGDIR_B + 4], PT_B | 3
        mov     dword [PT_A], 0x500003          ; 0x400000
        mov     dword [PT_A + 4], 0x502103      ; 0x401000, global
        mov     dword [PT_B], 0x501003
        mov     dword [PT_B + 4], 0x503003
        mov     eax, 0x90                       ; CR4.PSE PGE
        mov     cr4, eax
        mov     eax, PGDIR_A
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax

        call    run_400000                      ; A
        mov     eax, PGDIR_B
        mov     cr3, eax
        call    run_400000                      ; B: same linear code, other space
        mov     eax, PGDIR_A
        mov     cr3, eax
        call    run_400000                      ; A
        call    run_401000                      ; G
        mov     eax, PGDIR_B
        mov     cr3, eax
        call    run_401000                      ; G: the global translation stays
        mov     eax, 0x10
        mov     cr4, eax
        mov     eax, 0x90
        mov     cr4, eax
        call    run_401000                      ; H: toggling PGE flushed it
        mov     eax, PGDIR_A
        mov     cr3, eax
        mov     dword [PT_A], 0x501003
        invlpg  [0x400000]
        call    run_400000                      ; B
        mov     eax, 0x80a000
        call    eax                             ; C
        out     DEBUGCON_PORT, al
        mov     dword [PGDIR_A + 8], 0x400083
        invlpg  [0x800000]                      ; another 4 KiB of the same large page
        mov     eax, 0x80a000
        call    eax                             ; D
        out     DEBUGCON_PORT, al
        putc    10
        exit    0

run_400000:
        mov     eax, 0x400000
        call    eax
        out     DEBUGCON_PORT, al
        ret
run_401000:
        mov     eax, 0x401000
        call    eax
        out     DEBUGCON_PORT, al
        ret

        align   8
gdt:    dq      0
        dq      0x00cf9a000000ffff          ; 0x08 ring-0 code
        dq      0x00cf92000000ffff          ; 0x10 ring-0 data
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt
