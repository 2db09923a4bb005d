; Interpreter test guest: real mode -> 32-bit protected mode with 32-bit
; paging (a 4 MiB PSE page and a page table), exceptions through the 32-bit
; IDT, a privilege change (IRET to ring 3, INT 0x80 back to ring 0 on the
; TSS stack, #GP on HLT at CPL 3), self-modifying code and string
; instructions.  Expected output (tests/test_interp_guests.c):
;   P DE UD BP PF 400000 3 PF 401000 0 100063 101023 S ab Hello EQ SYS 1b 23 GP 0
%include "include.inc"

%define PGDIR   0x1000
%define PT      0x2000
%define IDT     0x3000
%define TSS     0x3800
%define BUF     0x6000

%define SEL_UCODE 0x1b
%define SEL_UDATA 0x23
%define SEL_TSS   0x28

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
        mov     di, PGDIR
        xor     eax, eax
        mov     cx, 0xc00
        cld
        rep stosd
        mov     dword [PGDIR], 0x000087     ; 0-4 MiB: 4 MiB page, user, writable
        mov     dword [PGDIR + 4], PT | 3   ; 4-8 MiB: page table, supervisor
        mov     dword [PT], 0x100001        ; 0x400000 read-only
        mov     dword [PT + 4], 0x101002    ; 0x401000 not present
        mov     dword [TSS + 4], 0x6f00     ; ESP0
        mov     dword [TSS + 8], SEL_DATA   ; SS0
        lgdt    [gdt_desc]
        mov     eax, cr0
        or      eax, 1
        mov     cr0, eax
        jmp     SEL_CODE32:prot_entry

%macro set_gate 3                           ; vector, handler, type/dpl byte
        mov     eax, %2
        mov     edi, IDT + %1 * 8
        mov     [edi], ax
        mov     word [edi + 2], SEL_CODE32
        mov     word [edi + 4], %3 << 8
        shr     eax, 16
        mov     [edi + 6], ax
%endmacro

        bits    32
prot_entry:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     esp, 0x7000
        mov     eax, 0x10                   ; CR4.PSE
        mov     cr4, eax
        mov     eax, PGDIR
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80010000             ; PG, WP
        mov     cr0, eax
        set_gate 0, de_handler, 0x8e
        set_gate 3, bp_handler, 0x8e
        set_gate 6, ud_handler, 0x8e
        set_gate 13, gp_handler, 0x8e
        set_gate 14, pf_handler, 0x8e
        set_gate 0x80, sys_handler, 0xee    ; DPL 3: callable from ring 3
        lidt    [idt_desc]
        mov     ax, SEL_TSS
        ltr     ax
        putc    'P'
        putc    ' '

        xor     edx, edx
        mov     eax, 1
        xor     ecx, ecx
        div     ecx
        ud2
        int3

        mov     byte [0x400000], 1
        mov     eax, [0x401000]
        mov     eax, [PT]
        call    puthex
        putc    ' '
        mov     eax, [PT + 4]
        call    puthex
        putc    ' '

        mov     byte [patch + 1], 'S'
patch:  mov     al, '?'
        out     DEBUGCON_PORT, al
        putc    ' '
        call    smc_fn
        mov     byte [smc_fn + 1], 'b'
        call    smc_fn
        putc    ' '

        mov     esi, hello
        mov     edi, BUF
        mov     ecx, 6
        rep movsb
        mov     esi, BUF
        call    print
        mov     esi, dwords
        mov     edi, BUF + 0x100
        mov     ecx, 4
        rep movsd
        mov     esi, dwords
        mov     edi, BUF + 0x100
        mov     ecx, 16
        repe cmpsb
        jne     .ne
        putc    'E'
        putc    'Q'
.ne:    putc    ' '

        push    SEL_UDATA                   ; IRET to ring 3
        push    0x6000
        pushfd
        push    SEL_UCODE
        push    user_code
        iretd

user_code:
        mov     ax, SEL_UDATA
        mov     ds, ax
        mov     es, ax
        int     0x80
        hlt                                 ; #GP(0) at CPL 3

smc_fn: mov     al, 'a'
        out     DEBUGCON_PORT, al
        ret

puthex:                                     ; eax in hex, no leading zeros
        push    ebx
        push    ecx
        mov     ebx, eax
        mov     ecx, 28
.skip:  test    ecx, ecx
        jz      .out
        mov     eax, ebx
        shr     eax, cl
        test    al, 15
        jnz     .out
        sub     ecx, 4
        jmp     .skip
.out:   mov     eax, ebx
        shr     eax, cl
        and     eax, 15
        cmp     al, 10
        jb      .dig
        add     al, 'a' - '0' - 10
.dig:   add     al, '0'
        out     DEBUGCON_PORT, al
        sub     ecx, 4
        jns     .out
        pop     ecx
        pop     ebx
        ret

print:  lodsb
        test    al, al
        jz      .done
        out     DEBUGCON_PORT, al
        jmp     print
.done:  putc    ' '
        ret

de_handler:
        putc    'D'
        putc    'E'
        putc    ' '
        add     dword [esp], 2
        iretd

ud_handler:
        putc    'U'
        putc    'D'
        putc    ' '
        add     dword [esp], 2
        iretd

bp_handler:
        putc    'B'
        putc    'P'
        putc    ' '
        iretd

pf_handler:
        push    eax
        putc    'P'
        putc    'F'
        putc    ' '
        mov     eax, cr2
        call    puthex
        putc    ' '
        mov     eax, [esp + 4]
        call    puthex
        putc    ' '
        mov     eax, cr2
        shr     eax, 12
        and     eax, 1023
        or      dword [PT + eax * 4], 3
        mov     eax, cr2
        invlpg  [eax]
        pop     eax
        add     esp, 4
        iretd

sys_handler:                                ; prints the interrupted CS and SS
        mov     ax, SEL_DATA
        mov     ds, ax
        putc    'S'
        putc    'Y'
        putc    'S'
        putc    ' '
        mov     eax, [esp + 4]
        call    puthex
        putc    ' '
        mov     eax, [esp + 16]
        call    puthex
        putc    ' '
        iretd

gp_handler:
        mov     ax, SEL_DATA
        mov     ds, ax
        putc    'G'
        putc    'P'
        putc    ' '
        mov     eax, [esp]
        call    puthex
        putc    10
        exit    0

hello:  db      "Hello", 0
        align   4
dwords: dd      0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210

        align   8
gdt:    dq      0
        dq      0x00cf9a000000ffff          ; 0x08 ring-0 code
        dq      0x00cf92000000ffff          ; 0x10 ring-0 data
        dq      0x00cffa000000ffff          ; 0x18 ring-3 code
        dq      0x00cff2000000ffff          ; 0x20 ring-3 data
        dw      0x67, TSS, 0x8900, 0        ; 0x28 32-bit TSS
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt
idt_desc:
        dw      256 * 8 - 1
        dd      IDT
