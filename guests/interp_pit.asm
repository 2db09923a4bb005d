; Timer interrupts under the engine that owns the PC's interrupt controllers:
; programs the 8259A pair (vectors 0x20/0x28, only IRQ0 unmasked) and PIT
; counter 0 (mode 2, 1 kHz), then HLTs until IRQ0 has fired 10 times.
; Prints "PIT 10" and exits 0.
%include "include.inc"

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [0x20 * 4], irq0
        mov     word [0x20 * 4 + 2], 0
        pic_init
        mov     al, 0xfe                ; OCW1: only IRQ0
        out     0x21, al
        mov     al, 0xff
        out     0xa1, al
        mov     al, 0x34                ; counter 0, lo/hi byte, mode 2
        out     0x43, al
        mov     ax, 1193                ; 1 kHz
        out     0x40, al
        mov     al, ah
        out     0x40, al
        sti
.wait:  hlt
        cmp     word [ticks], 10
        jb      .wait
        cli
        puts    msg
        exit    0

irq0:   inc     word [ticks]
        push    ax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     ax
        iret

ticks:  dw      0
msg:    db      "PIT 10", 10, 0
