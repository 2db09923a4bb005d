; Interpreter test guest: real mode -> 64-bit long mode on its own, then
; exceptions through the 64-bit IDT (#DE, #UD, #BP, #PF with CR2 and error
; code, A/D bits, #GP on a non-canonical address), self-modifying code,
; string instructions, SYSRET to ring 3, a user-mode #PF delivered on the
; TSS stack, and SYSCALL back.  Prints a line on the debug console and exits 0.
; Expected output (tests/test_interp_guests.c):
;   L DE UD BP PF 400000 3 PF 401000 0 100063 101023 1 S ab Hello EQ PF 400000 5 SC 202 18 20 33 GP 0
%include "include.inc"

%define PML4    0x1000
%define PDPT    0x2000
%define PD      0x3000
%define PT      0x4000
%define IDT     0x5000
%define BUF     0x6000
%define TSS     0x6800

        bits    16
        org     LOAD_REAL
start:
        mov     al, 0xff                ; mask both PICs: the PIT's reset-time
        out     0x21, al                ; IRQ0 must not reach vector 0 once the
        out     0xa1, al                ; guest runs with IF=1
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     di, PML4                ; zero the page tables and the IDT
        xor     eax, eax
        mov     cx, 0x1400
        cld
        rep stosd
        mov     dword [PML4], PDPT | 7
        mov     dword [PDPT], PD | 7
        mov     dword [PD], 0x000087    ; 0-2 MiB, 2 MiB page, user-accessible
        mov     dword [PD + 8], 0x200083
        mov     dword [PD + 16], PT | 3 ; 4-6 MiB through a page table
        mov     dword [PT], 0x100001    ; 0x400000: present, read-only
        mov     dword [PT + 8], 0x101002 ; 0x401000: not present (handler sets P)
        lgdt    [gdt_desc]
        mov     eax, 0x20               ; CR4.PAE
        mov     cr4, eax
        mov     eax, PML4
        mov     cr3, eax
        mov     ecx, 0xc0000080         ; EFER.LME
        rdmsr
        or      eax, 0x100
        wrmsr
        mov     eax, cr0
        or      eax, 0x80010001     ; PG, WP (supervisor writes honour R/W), PE
        mov     cr0, eax
        jmp     SEL_CODE64:long_entry

%macro set_gate 2
        mov     rax, %2
        mov     rdi, IDT + %1 * 16
        mov     [rdi], ax
        mov     word [rdi + 2], SEL_CODE64
        mov     word [rdi + 4], 0x8e00
        shr     rax, 16
        mov     [rdi + 6], ax
        shr     rax, 16
        mov     [rdi + 8], eax
%endmacro

        bits    64
long_entry:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     rsp, 0x7000
        set_gate 0, de_handler
        set_gate 3, bp_handler
        set_gate 6, ud_handler
        set_gate 13, gp_handler
        set_gate 14, pf_handler
        lidt    [idt_desc]
        mov     dword [TSS + 4], 0x6f00 ; RSP0
        mov     ax, 0x38
        ltr     ax
        putc    'L'
        putc    ' '

        xor     edx, edx                ; #DE: the handler skips the 2-byte DIV
        mov     eax, 1
        xor     ecx, ecx
        div     ecx
        ud2                             ; #UD: skipped likewise
        int3                            ; #BP is a trap: returns after it

        mov     byte [0x400000], 1      ; #PF write to a read-only page (err 3)
        mov     rax, [0x401000]         ; #PF read of a non-present page (err 0)
        mov     rax, [PT]
        call    puthex
        putc    ' '
        mov     rax, [PT + 8]
        call    puthex
        putc    ' '
        movzx   eax, byte [0x100000]
        call    puthex
        putc    ' '

        mov     byte [rel patch + 1], 'S' ; self-modifying code, same block
patch:  mov     al, '?'
        out     DEBUGCON_PORT, al
        putc    ' '
        call    smc_fn                  ; prints 'a'
        mov     byte [rel smc_fn + 1], 'b'
        call    smc_fn                  ; prints 'b' (the cached block must go)
        putc    ' '

        lea     rsi, [rel hello]        ; REP MOVSB, REP MOVSQ, REPE CMPSB
        mov     rdi, BUF
        mov     ecx, 6
        rep movsb
        mov     rsi, BUF
        call    print
        lea     rsi, [rel qwords]
        mov     rdi, BUF + 0x100
        mov     ecx, 4
        rep movsq
        lea     rsi, [rel qwords]
        mov     rdi, BUF + 0x100
        mov     ecx, 32
        repe cmpsb
        jne     .ne
        putc    'E'
        putc    'Q'
.ne:    putc    ' '

        mov     ecx, 0xc0000081         ; STAR: SYSCALL CS 0x18, SYSRET base 0x20
        xor     eax, eax
        mov     edx, 0x00200018
        wrmsr
        mov     ecx, 0xc0000082         ; LSTAR
        lea     rax, [rel syscall_entry]
        mov     rdx, rax
        shr     rdx, 32
        wrmsr
        mov     ecx, 0xc0000080         ; EFER.SCE
        rdmsr
        or      eax, 1
        wrmsr
        lea     rcx, [rel user64]
        mov     r11d, 0x202
        o64 sysret

user64: mov     rsp, 0x6c00             ; ring 3
        mov     rax, [0x400000]         ; #PF: supervisor page (err 5), skipped
        syscall

syscall_entry:                          ; back at ring 0 on the user stack
        mov     rsp, 0x7000
        putc    'S'
        putc    'C'
        putc    ' '
        mov     rax, r11
        and     eax, 0xfff              ; RF in R11 differs between vendors
        call    puthex
        putc    ' '
        mov     ax, cs
        call    puthex
        putc    ' '
        mov     ax, ss
        call    puthex
        putc    ' '
        mov     rax, [user_cs]
        call    puthex
        putc    ' '

        mov     rbx, 0x8000000000000000 ; #GP(0): non-canonical
        mov     rax, [rbx]
        putc    10
        exit    0

smc_fn: mov     al, 'a'
        out     DEBUGCON_PORT, al
        ret

; print rax in hex, no leading zeros
puthex:
        push    rbx
        push    rcx
        mov     rbx, rax
        mov     ecx, 60
.skip:  test    ecx, ecx
        jz      .out
        mov     rax, rbx
        shr     rax, cl
        test    al, 15
        jnz     .out
        sub     ecx, 4
        jmp     .skip
.out:   mov     rax, rbx
        shr     rax, cl
        and     eax, 15
        cmp     al, 10
        jb      .dig
        add     al, 'a' - '0' - 10
.dig:   add     al, '0'
        out     DEBUGCON_PORT, al
        sub     ecx, 4
        jns     .out
        pop     rcx
        pop     rbx
        ret

print:  lodsb                           ; NUL-terminated string at rsi
        test    al, al
        jz      .done
        out     DEBUGCON_PORT, al
        jmp     print
.done:  putc    ' '
        ret

de_handler:
        push    rax
        putc    'D'
        putc    'E'
        putc    ' '
        pop     rax
        add     qword [rsp], 2
        iretq

ud_handler:
        push    rax
        putc    'U'
        putc    'D'
        putc    ' '
        pop     rax
        add     qword [rsp], 2
        iretq

bp_handler:
        push    rax
        putc    'B'
        putc    'P'
        putc    ' '
        pop     rax
        iretq

gp_handler:                             ; skips the 3-byte mov rax,[rbx]
        push    rax
        putc    'G'
        putc    'P'
        putc    ' '
        mov     rax, [rsp + 8]
        call    puthex
        pop     rax
        add     rsp, 8
        add     qword [rsp], 3
        iretq

pf_handler:                             ; prints CR2 and the error code, then maps the page
        push    rax
        push    rbx
        putc    'P'
        putc    'F'
        putc    ' '
        mov     rax, cr2
        call    puthex
        putc    ' '
        mov     rax, [rsp + 16]
        call    puthex
        putc    ' '
        test    byte [rsp + 16], 4
        jz      .kernel
        mov     rax, [rsp + 32]         ; user fault: note CS, skip the 8-byte load
        mov     [user_cs], rax
        pop     rbx
        pop     rax
        add     rsp, 8
        add     qword [rsp], 8
        iretq
.kernel:
        mov     rax, cr2
        shr     rax, 12
        and     eax, 511
        or      qword [PT + rax * 8], 3
        mov     rbx, cr2
        invlpg  [rbx]
        pop     rbx
        pop     rax
        add     rsp, 8
        iretq

user_cs: dq     0
hello:  db      "Hello", 0
        align   8
qwords: dq      0x0123456789abcdef, 0xfedcba9876543210, 0x1111111111111111, 0x2222222222222222

        align   8
gdt:    dq      0
        dq      0x00cf9a000000ffff      ; 0x08 code32
        dq      0x00cf92000000ffff      ; 0x10 data
        dq      0x00af9a000000ffff      ; 0x18 code64
        dq      0x00cf92000000ffff      ; 0x20 data (SYSCALL SS)
        dq      0x00cff2000000ffff      ; 0x28 user data (SYSRET SS)
        dq      0x00affa000000ffff      ; 0x30 user code64 (SYSRET CS)
        dw      0x67, TSS, 0x8900, 0    ; 0x38 64-bit TSS (16 bytes)
        dq      0
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt
idt_desc:
        dw      256 * 16 - 1
        dq      IDT
