; Interpreter test guest for the x87 FPU: real mode -> long mode, then
; x87 work whose results land in RES (tests/test_interp_x87_guest.c
; compares them with the same computations on the host): a series, FSIN,
; FSQRT, FPATAN, FYL2X, F2XM1, FBSTP, FCOMI; #NM from CR0.TS (an x87
; instruction and WAIT with MP), #MF from an unmasked zero divide with
; CR0.NE (no result, stack unchanged; reported at the next FWAIT), the
; masked stack-overflow response, FNSAVE/FRSTOR and FNSTENV/FLDENV round
; trips (32- and 16-bit formats, and the real-mode layouts), an unmasked
; overflow on a store to memory (nothing stored, #MF), an unmasked stack
; underflow (#MF), the real-mode 94-byte FNSAVE/FRSTOR.  Prints
; "X87 NM NM MF MF MF" and exits 0.
%include "include.inc"

%define PML4    0x1000
%define PDPT    0x2000
%define PD      0x3000
%define IDT     0x5000
%define RES     0x6000
%define BUF     0x6800

        bits    16
        org     LOAD_REAL
start:
        mov     al, 0xff                ; mask both PICs
        out     0x21, al
        out     0xa1, al
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     di, PML4                ; zero page tables, IDT, results
        xor     eax, eax
        mov     cx, 0x1a00
        cld
        rep stosd
        fninit                          ; real-mode environment formats
        fldcw   [cw_default]
x87_real_ip:
        fld1
        fnstenv [RES + 0x140]           ; 14 bytes: FIP and FOP in the real-mode layout
        o32 fnstenv [RES + 0x160]       ; 28 bytes
        mov     word [RES + 0x13e], x87_real_ip
        fldpi                           ; 94-byte FNSAVE/FRSTOR round trip
        fnsave  [BUF + 0x300]
        fnstcw  [RES + 0x17c]
        frstor  [BUF + 0x300]
        fstp    tword [RES + 0x180]     ; pi
        fstp    tword [RES + 0x190]     ; 1
        fninit
        mov     dword [PML4], PDPT | 3
        mov     dword [PDPT], PD | 3
        mov     dword [PD], 0x000083    ; 0-2 MiB, 2 MiB page
        lgdt    [gdt_desc]
        mov     eax, 0x20               ; CR4.PAE
        mov     cr4, eax
        mov     eax, PML4
        mov     cr3, eax
        mov     ecx, 0xc0000080         ; EFER.LME
        rdmsr
        or      eax, 0x100
        wrmsr
        mov     eax, 0x80000033         ; PG NE ET MP PE
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
        set_gate 7, nm_handler
        set_gate 16, mf_handler
        lidt    [idt_desc]
        putc    'X'
        putc    '8'
        putc    '7'
        fninit

        ; sum of 1/k^2, k = 1..100, in extended precision
        fldz
        mov     ecx, 1
.series:
        mov     [BUF], ecx
        fild    dword [BUF]
        fmul    st0, st0
        fld1
        fdivrp  st1, st0
        faddp   st1, st0
        inc     ecx
        cmp     ecx, 100
        jbe     .series
        fstp    tword [RES + 0x00]

        fld1                            ; sin(1)
        fsin
        fstp    tword [RES + 0x10]
        fld     qword [two]             ; sqrt(2)
        fsqrt
        fstp    tword [RES + 0x20]
        fld1                            ; atan(1/1)
        fld1
        fpatan
        fstp    tword [RES + 0x30]
        fild    qword [bcd_in]          ; FBSTP 1234567890123
        fbstp   [RES + 0x40]
        fld     dword [three]           ; 3 * log2(10), then 2^0.5 - 1
        fild    word [ten]
        fyl2x
        fstp    tword [RES + 0x50]
        fld     qword [half]
        f2xm1
        fstp    tword [RES + 0x60]
        fld1                            ; FCOMI 1 vs 2: CF
        fld     qword [two]
        fld1
        fcomip  st0, st1
        pushfq
        pop     qword [RES + 0x74]
        fcompp
        fnstsw  ax
        mov     [RES + 0x70], ax

        ; #NM: CR0.TS on an x87 instruction, then on WAIT with MP
        mov     rax, cr0
        or      eax, 8
        mov     cr0, rax
        fld1                            ; #NM, the handler clears TS
        fstp    st0
        mov     rax, cr0
        or      eax, 8
        mov     cr0, rax
        fwait                           ; #NM (MP and TS)

        ; #MF: 1/0 with the zero-divide exception unmasked
        fninit
        fldcw   [cw_zm]
        fld1
        fldz
        fdivp   st1, st0                ; no result, ES set
        fwait                           ; #MF here; the handler clears the flags
        fstp    tword [RES + 0x80]      ; st0 = 0, st1 = 1: stack unchanged
        fstp    tword [RES + 0x90]
        fldcw   [cw_default]

        ; unmasked overflow on a store to memory: memory and stack unchanged
        fninit
        fldcw   [cw_om]
        fld     tword [huge]
        mov     dword [RES + 0x120], 0x12345678
        mov     qword [mf_slot], RES + 0x124
        fst     dword [RES + 0x120]     ; OE unmasked: nothing stored
        fwait                           ; #MF
        fstp    tword [RES + 0x130]     ; still the huge value
        fldcw   [cw_default]

        ; unmasked stack underflow: FADD on an empty stack
        fninit
        fldcw   [cw_im]
        mov     qword [mf_slot], RES + 0x126
        fadd    st0, st1                ; IE SF, C1 = 0: nothing stored
        fwait                           ; #MF
        fldcw   [cw_default]

        ; masked stack overflow: the ninth push gives the QNaN indefinite
        fninit
        mov     ecx, 9
.push:  fld1
        loop    .push
        fnstsw  [RES + 0xa0]
        fstp    tword [RES + 0xb0]

        ; FNSAVE re-initialises; FRSTOR brings the state back
        fninit
        fldcw   [cw_odd]
        fldpi
        fldl2t
        fld1
        fnsave  [BUF]
        fnstcw  [RES + 0xc0]
        fnstsw  [RES + 0xc2]
        frstor  [BUF]
        fnstcw  [RES + 0xc4]
        fstp    tword [RES + 0xd0]
        fstp    tword [RES + 0xe0]
        fstp    tword [RES + 0xf0]

        ; FNSTENV masks every exception; FLDENV restores the control word
        fninit
        fldcw   [cw_odd]
        fldlg2
        fnstenv [BUF + 0x100]
        fnstcw  [RES + 0x100]
        fldenv  [BUF + 0x100]
        fnstcw  [RES + 0x102]
        mov     eax, [BUF + 0x104]      ; FSW and full tag word of the image
        mov     [RES + 0x104], ax
        mov     eax, [BUF + 0x108]
        mov     [RES + 0x106], ax
        o16 fnstenv [BUF + 0x200]       ; 14-byte format
        mov     rax, [BUF + 0x200]
        mov     [RES + 0x108], rax
        fldcw   [cw_default]
        fstp    st0

        putc    10
        exit    0

nm_handler:
        push    rax
        putc    ' '
        putc    'N'
        putc    'M'
        clts
        inc     byte [RES + 0x7e]
        pop     rax
        iretq

mf_handler:
        push    rax
        putc    ' '
        putc    'M'
        putc    'F'
        push    rdi
        fnstsw  ax
        mov     rdi, [mf_slot]
        mov     [rdi], ax
        pop     rdi
        fnclex
        inc     byte [RES + 0x7f]
        pop     rax
        iretq

        align   8
mf_slot: dq     RES + 0x7c              ; where the #MF handler stores FSW
huge:   dq      0xffffffffffffffff      ; 80-bit: about 2^16383
        dw      0x7ffe
        align   8
two:    dq      2.0
half:   dq      0.5
bcd_in: dq      1234567890123
three:  dd      3.0
ten:    dw      10
cw_zm:  dw      0x037b                  ; zero divide unmasked
cw_default: dw  0x037f
cw_om:  dw      0x0377                  ; overflow unmasked
cw_im:  dw      0x037e                  ; invalid operation unmasked
cw_odd: dw      0x0a7e                  ; round up, 53-bit precision, invalid unmasked
gdt:    dq      0
        dq      0x00cf9a000000ffff      ; 0x08 code32
        dq      0x00cf92000000ffff      ; 0x10 data
        dq      0x00af9a000000ffff      ; 0x18 code64
gdt_desc:
        dw      gdt_desc - gdt - 1
        dd      gdt
idt_desc:
        dw      256 * 16 - 1
        dq      IDT
