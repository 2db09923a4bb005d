; Long mode: loads an IDT with limit 0 and raises #UD: the exception cannot
; be delivered (#GP, then #DF, then shutdown) -- a triple fault.
%include "include.inc"
        bits    64
        org     LOAD_HIGH
start:
        putc    'T'
        putc    10
        lidt    [null_idtr]
        ud2
        exit    0x7f                    ; not reached
null_idtr:
        dw      0
        dq      0
