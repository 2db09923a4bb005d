; KVM fallback test: an instruction neither KVM's emulator nor Petrel's
; interpreter (part 1: no x87 arithmetic) implements, FSQRT at CPL 0 in long
; mode, with distinct #UD, #GP and #PF handlers installed.  The fallback
; must stop with a guru meditation (register dump), not hand #UD to the
; guest and not hang.  Prints "before\n"; reaching a handler exits 0x7e.
bits 64
%include "include.inc"
org LOAD_HIGH

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
        set_gate 6, ud_handler
        set_gate 13, gp_handler
        set_gate 14, pf_handler
        lidt    [idtr]
        puts    msg
        mov     r15, 0x5a5a5a5a
        fninit
        fsqrt
        exit    0x14                    ; only if the instruction ran

ud_handler:
        exit    0x7e
gp_handler:
        exit    0x7d
pf_handler:
        exit    0x7c

msg:    db "before", 10, 0
align 16
idtr:   dw 15 * 16 - 1
        dq idt
align 16
idt:    times 15 * 16 db 0
