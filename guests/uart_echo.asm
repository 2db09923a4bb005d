; Console-input test guest (real mode, one vCPU): COM1 at 0x3F8 with its
; FIFO on and the receive interrupt (IRQ4 through the 8259A) enabled; the
; IRQ4 handler copies every byte it receives to the debug console.  It
; prints "R\n" once ready, and powers off with exit code 0x55 (status 0xAB
; from `petrel run`) after it has received a '\n'.  A test saves it while it
; waits, restores it with input on the console back end, and checks that
; every byte typed comes out.
%include "include.inc"

%define COM1    0x3f8

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [0x24 * 4], irq4
        mov     word [0x24 * 4 + 2], 0
        pic_init
        mov     al, 0xef                ; only IRQ4
        out     0x21, al
        mov     al, 0xff
        out     0xa1, al
        mov     dx, COM1 + 3            ; LCR: 8N1
        mov     al, 0x03
        out     dx, al
        mov     dx, COM1 + 2            ; FCR: FIFOs on and cleared, trigger 1
        mov     al, 0x07
        out     dx, al
        mov     dx, COM1 + 4            ; MCR: DTR, RTS, OUT2 (the IRQ pin)
        mov     al, 0x0b
        out     dx, al
        mov     dx, COM1 + 1            ; IER: received data
        mov     al, 0x01
        out     dx, al
        putc    'R'
        putc    10
.wait:  cli                             ; the check and the HLT as one: an
        cmp     byte [got_newline], 0   ; interrupt in between would be slept
        jne     .done                   ; through
        sti                             ; STI's shadow covers the HLT
        hlt
        jmp     .wait
.done:  exit    0x55

irq4:   push    ax
        push    dx
.next:  mov     dx, COM1 + 5            ; LSR: data ready?
        in      al, dx
        test    al, 0x01
        jz      .done
        mov     dx, COM1
        in      al, dx
        out     DEBUGCON_PORT, al
        cmp     al, 10
        jne     .next
        mov     byte [got_newline], 1
        jmp     .next
.done:  mov     dx, COM1 + 2            ; IIR: acknowledge whatever else
        in      al, dx
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     dx
        pop     ax
        iret

got_newline: db 0
