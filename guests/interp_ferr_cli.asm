; FERR# with interrupts off (tests/test_interp_ferr.c runs it on the bare
; interpreter with its own FERR#/IGNNE# pins): CR0.NE clear, ZE unmasked,
; 1/0, then FWAIT with IF=0 (frozen until the test asserts IGNNE#).  Then
; stores FSW at RES and FNCLEX (which drops FERR#), exits 0.
%include "include.inc"

        bits    16
        org     LOAD_REAL
start:
        cli
        fninit
        fldcw   [cw]
        fld1
        fldz
        fdivp   st1, st0
frozen: fwait
        fnstsw  ax
        mov     [0x6000], ax
        fnclex
        exit    0

cw:     dw      0x037b
