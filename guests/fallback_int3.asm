; KVM fallback test: INT3 at CPL 0 in long mode (KVM's emulator stops on
; it) through a 64-bit interrupt gate, IRETQ back; the handler executes a
; second INT3 while handling the first (a nested chain).  Prints
; "int3 1 2 ok\n", exits with 0x12 (exit code 0x25).
bits 64
%include "include.inc"
org LOAD_HIGH

; set_gate vector, handler -- 64-bit interrupt gate, DPL 0, CS 0x18
%macro set_gate 2
        mov     rax, %2
        mov     rdi, idt + %1 * 16
        mov     [rdi], ax
        mov     word [rdi + 2], SEL_CODE64
        mov     word [rdi + 4], 0x8e00
        shr     rax, 16
        mov     [rdi + 6], ax
        shr     rax, 16
        mov     [rdi + 8], eax
%endmacro

start:
        set_gate 3, handler
        lidt    [idtr]
        xor     r12, r12
        int3
        cmp     r12, 1
        jne     fail
        putc    'i'
        putc    'n'
        putc    't'
        putc    '3'
        putc    ' '
        putc    '1'
        mov     r13, 1                  ; now nest
        int3
        cmp     r12, 3
        jne     fail
        puts    msg_ok
        exit    0x12

handler:
        inc     r12
        test    r13, r13
        jz      .ret
        xor     r13, r13
        int3                            ; nested: r12 counts it
        putc    ' '
        putc    '2'
.ret:   iretq

fail:   puts    msg_fail
        exit    0x7f

msg_ok:   db " ok", 10, 0
msg_fail: db " FAIL", 10, 0
align 16
idtr:   dw 4 * 16 - 1
        dq idt
align 16
idt:    times 4 * 16 db 0
