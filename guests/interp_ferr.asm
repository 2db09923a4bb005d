; x87 error reporting with CR0.NE clear (FERR# -> IRQ 13, port 0xF0 ->
; IGNNE#) and set (#MF), under the engine that owns the 8259A pair.
; Unmasks zero divide, divides by zero, then FWAIT:
;   1. CR0.NE clear, the IRQ 13 handler writes 0xF0 and leaves the
;      exception (runs x87 code under IGNNE#): FWAIT then proceeds with ES
;      still set, and so does the next waiting instruction (no new IRQ).
;   2. the handler clears the exception (FNCLEX) before writing 0xF0.
;   3. as 1 again: IGNNE# was not left active by 2, so IRQ 13 comes again.
;   4. CR0.NE set: #MF (vector 16) instead, no IRQ 13.
; Prints "I1 M0 E I2 M0 I3 M0 I3 M1" and exits 0.
%include "include.inc"

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [0x2d * 4], irq13  ; slave IR5 at vector 0x28 + 5
        mov     word [0x2d * 4 + 2], 0
        mov     word [16 * 4], mf
        mov     word [16 * 4 + 2], 0
        pic_init
        mov     al, 0xfb                ; OCW1: only the cascade on the master
        out     0x21, al
        mov     al, 0xdf                ; and IRQ 13 on the slave
        out     0xa1, al
        sti

        mov     byte [mode], 0          ; 1
        call    divzero
        fwait
        fnstsw  ax
        fld1                            ; waiting: IGNNE# still active
        fstp    st0
        call    report
        test    al, 0x80                ; the exception is still pending
        jz      .no_es
        putc    'E'
        putc    ' '
.no_es: fnclex

        mov     byte [mode], 1          ; 2
        call    divzero
        fwait
        call    report

        mov     byte [mode], 0          ; 3
        call    divzero
        fwait
        call    report
        fnclex

        mov     eax, cr0                ; 4
        or      al, 0x20                ; NE
        mov     cr0, eax
        call    divzero
        fwait
        call    report
        cli
        putc    10
        exit    0

; ZE unmasked, 1/0: ZE and ES set, no waiting instruction after it.
divzero:
        fninit
        fldcw   [cw]
        fld1
        fldz
        fdivp   st1, st0
        ret

; Prints "I<irqs> M<mfs> " (keeps ax).
report:
        push    ax
        putc    'I'
        mov     al, [irqs]
        add     al, '0'
        out     DEBUGCON_PORT, al
        putc    ' '
        putc    'M'
        mov     al, [mfs]
        add     al, '0'
        out     DEBUGCON_PORT, al
        putc    ' '
        pop     ax
        ret

irq13:  push    ax
        inc     byte [irqs]
        cmp     byte [mode], 0
        je      .ack
        fnclex
.ack:   out     0xf0, al                ; FERR# acknowledged: IRQ 13 down, IGNNE#
        cmp     byte [mode], 0
        jne     .eoi
        fld1                            ; x87 code inside the handler (IGNNE#)
        fstp    st0
.eoi:   mov     al, 0x20
        out     0xa0, al
        out     0x20, al
        pop     ax
        iret

mf:     inc     byte [mfs]
        fnclex
        iret

cw:     dw      0x037b                  ; default, ZE unmasked
mode:   db      0
irqs:   db      0
mfs:    db      0
