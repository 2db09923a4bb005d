; Saved-state test guest (real mode, one vCPU): PIT counter 0 at 1 kHz
; drives IRQ0 through the 8259A; every 20th interrupt the main loop prints
; the next tick number as "T<n>\n" on the debug console, forever.  A test
; that saves and restores the VM checks that the numbers continue without
; a gap or a repeat (the count lives in guest RAM, the timer and PIC in
; device state, the loop position in the vCPU state).
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
        mov     al, 0xfe                ; only IRQ0
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
        cmp     word [irqs], 20
        jb      .wait
        cli
        sub     word [irqs], 20
        sti
        inc     dword [ticks]
        putc    'T'
        mov     eax, [ticks]
        call    print_dec
        putc    10
        jmp     .wait

; print eax in decimal (clobbers eax, ecx, edx, bx)
print_dec:
        mov     ecx, 10
        xor     bx, bx
.div:   xor     edx, edx
        div     ecx
        push    dx
        inc     bx
        test    eax, eax
        jnz     .div
.out:   pop     ax
        add     al, '0'
        out     DEBUGCON_PORT, al
        dec     bx
        jnz     .out
        ret

irq0:   inc     word [irqs]
        push    ax
        mov     al, 0x20                ; EOI
        out     0x20, al
        pop     ax
        iret

        align   4
ticks:  dd      0
irqs:   dw      0
