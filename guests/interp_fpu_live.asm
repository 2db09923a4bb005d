; Interpreter test guest for the x87 state and MXCSR kept live in the host
; (x87_live.c, sse_mxcsr.c), real mode; tests/test_interp_fpu_live.c checks
; RES.  Each case leaves the live state through a different door (MMX,
; the other one, is exercised by test_interp_x87_diff in long mode):
;   0x00 FSTP m64 past the DS limit (#GP, real-mode vector 13): FNSTENV in
;        the handler sees the stack as before the store (TOP, tags)
;   0x20 FNSTSW AX / FNSTSW m16 on the live state: C1 and IE|SF of a masked
;        stack overflow
;   0x24 FXSAVE after x87 work: the FSW, abridged tags and ST0
;   0x40 FLDCW unmasking ZE while live, then FDIVP by zero (CR0.NE clear:
;        no #MF, nothing stored, ZE ES B set), FSW read with FNSTSW m16
;   0x50 MXCSR: ADDPS raising PE, STMXCSR reads it; LDMXCSR clearing it,
;        DIVSS by zero, STMXCSR; LDMXCSR unmasking ZE, DIVSS by zero -> #UD
;        (CR4.OSXMMEXCPT clear), recorded by the vector 6 handler
; Exits 0.
%include "include.inc"

%define RES     0x6000
%define BUF     0x6800

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [13 * 4], gp_handler
        mov     word [13 * 4 + 2], 0
        mov     word [6 * 4], ud_handler
        mov     word [6 * 4 + 2], 0
        mov     eax, cr4                        ; OSFXSR
        or      eax, 0x200
        mov     cr4, eax

        fninit                                  ; case 0x00
        fld1
        fldpi
        fstp    qword [0xfffc]                  ; crosses the 64 KiB limit: #GP
after_gp:
        fnstenv [RES + 0x00]                    ; 14 bytes: FSW at +2, tags at +4
        fstp    tword [RES + 0x10]              ; ST0 still pi

        fninit                                  ; case 0x20
        mov     cx, 9
.push:  fld1                                    ; the 9th overflows (masked)
        loop    .push
        fnstsw  ax
        mov     [RES + 0x20], ax
        fnstsw  [RES + 0x22]

        fninit                                  ; case 0x24
        fldpi
        fld1
        faddp   st1, st0
        fxsave  [BUF]
        mov     ax, [BUF + 2]
        mov     [RES + 0x24], ax
        mov     al, [BUF + 4]
        mov     [RES + 0x26], al
        mov     eax, [BUF + 32]
        mov     [RES + 0x28], eax
        mov     eax, [BUF + 36]
        mov     [RES + 0x2c], eax
        mov     ax, [BUF + 40]
        mov     [RES + 0x30], ax

        fninit                                  ; case 0x40
        fld1
        fldz
        fldcw   [cw_ze]
        fdivp   st1, st0                        ; unmasked ZE: nothing stored
        fnstsw  [RES + 0x40]
        fnclex
        fninit

        movss   xmm0, [one]                     ; case 0x50
        movss   xmm1, [third]
        addss   xmm0, xmm1                      ; PE
        stmxcsr [RES + 0x50]
        ldmxcsr [mx_default]
        xorps   xmm2, xmm2
        movss   xmm3, [one]
        divss   xmm3, xmm2                      ; masked ZE: inf
        stmxcsr [RES + 0x54]
        movss   [RES + 0x58], xmm3
        ldmxcsr [mx_ze]
        divss   xmm0, xmm2                      ; unmasked ZE: #UD (no OSXMMEXCPT)
after_ud:
        stmxcsr [RES + 0x5c]
        movss   [RES + 0x60], xmm0              ; unchanged: 1 + 1/3
        exit    0

gp_handler:
        mov     word [RES + 0x1e], 0x6770       ; the handler ran
        mov     bp, sp
        mov     word [bp], after_gp             ; skip the FSTP
        iret
ud_handler:
        mov     word [RES + 0x64], 0x0d06
        mov     bp, sp
        mov     word [bp], after_ud
        iret

        align   4
cw_ze:  dw      0x037b                          ; ZE unmasked
mx_default: dd  0x1f80
mx_ze:  dd      0x1d80                          ; ZE unmasked
one:    dd      1.0
third:  dd      0x3eaaaaab                      ; 1/3 rounded
