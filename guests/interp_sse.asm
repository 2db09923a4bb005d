; Interpreter test guest for the SSE family: real mode -> long mode with
; CR4.OSFXSR and OSXMMEXCPT, then SSE work whose results land in RES
; (tests/test_interp_sse_guest.c checks them against published vectors
; and the same computations on the host): AES-128 encryption and
; decryption of FIPS-197 appendix C.1 with the key schedule made by
; AESKEYGENASSIST, an SSE2 strlen (PCMPEQB/PMOVMSKB/BSF), a substring
; search with PCMPISTRI, a float dot product (MULPS/ADDPS/HADDPS),
; SQRTSD and CVTSD2SI under three rounding modes, CRC-32C of "123456789",
; PCLMULQDQ, and an unmasked divide by zero (#XM: the handler sees ZE in
; MXCSR, the destination is unchanged).  Prints "SSE XM" and exits 0.
%include "include.inc"

%define PML4    0x1000
%define PDPT    0x2000
%define PD      0x3000
%define IDT     0x5000
%define RES     0x6000
%define KEYS    0x6800                  ; 11 encryption round keys, then 9 decryption ones

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
        mov     dword [PML4], PDPT | 3
        mov     dword [PDPT], PD | 3
        mov     dword [PD], 0x000083    ; 0-2 MiB, 2 MiB page
        lgdt    [gdt_desc]
        mov     eax, 0x620              ; CR4.PAE OSFXSR OSXMMEXCPT
        mov     cr4, eax
        mov     eax, PML4
        mov     cr3, eax
        mov     ecx, 0xc0000080         ; EFER.LME
        rdmsr
        or      eax, 0x100
        wrmsr
        mov     eax, 0x80000031         ; PG NE ET PE (EM and TS clear)
        mov     cr0, eax
        jmp     SEL_CODE64:long_entry

        bits    64
; expand_key RCON: the next AES-128 round key from xmm1 into xmm1 (xmm2, xmm3 scratch)
%macro expand_key 1
        aeskeygenassist xmm2, xmm1, %1
        pshufd  xmm2, xmm2, 0xff
        movdqa  xmm3, xmm1
        pslldq  xmm3, 4
        pxor    xmm1, xmm3
        pslldq  xmm3, 4
        pxor    xmm1, xmm3
        pslldq  xmm3, 4
        pxor    xmm1, xmm3
        pxor    xmm1, xmm2
        add     rdi, 16
        movdqa  [rdi], xmm1
%endmacro

long_entry:
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     rsp, 0x7000
        mov     rax, xm_handler         ; IDT gate 19 (#XM)
        mov     rdi, IDT + 19 * 16
        mov     [rdi], ax
        mov     word [rdi + 2], SEL_CODE64
        mov     word [rdi + 4], 0x8e00
        shr     rax, 16
        mov     [rdi + 6], ax
        shr     rax, 16
        mov     [rdi + 8], eax
        lidt    [idt_desc]
        putc    'S'
        putc    'S'
        putc    'E'

        ; AES-128, FIPS-197 C.1
        movdqu  xmm1, [aes_key]
        mov     rdi, KEYS
        movdqa  [rdi], xmm1
        expand_key 0x01
        expand_key 0x02
        expand_key 0x04
        expand_key 0x08
        expand_key 0x10
        expand_key 0x20
        expand_key 0x40
        expand_key 0x80
        expand_key 0x1b
        expand_key 0x36
        movdqu  xmm0, [aes_plain]
        pxor    xmm0, [KEYS]
        mov     rsi, KEYS + 16
        mov     ecx, 9
.enc:   aesenc  xmm0, [rsi]
        add     rsi, 16
        dec     ecx
        jnz     .enc
        aesenclast xmm0, [rsi]
        movdqa  [RES + 0x00], xmm0
        pxor    xmm0, [KEYS + 160]      ; decrypt with the inverse-mixed round keys
        mov     rsi, KEYS + 144
        mov     ecx, 9
.dec:   aesimc  xmm4, [rsi]
        aesdec  xmm0, xmm4
        sub     rsi, 16
        dec     ecx
        jnz     .dec
        aesdeclast xmm0, [KEYS]
        movdqa  [RES + 0x10], xmm0

        ; strlen of an unaligned string, 16 bytes at a time
        mov     rsi, text + 3
        mov     rax, rsi
        pxor    xmm5, xmm5
.scan:  movdqu  xmm6, [rax]
        pcmpeqb xmm6, xmm5
        pmovmskb edx, xmm6
        test    edx, edx
        jnz     .found
        add     rax, 16
        jmp     .scan
.found: bsf     edx, edx
        add     rax, rdx
        sub     rax, rsi
        mov     [RES + 0x20], rax

        ; substring search: equal ordered, index of the first match
        movdqu  xmm7, [needle]
        pcmpistri xmm7, [haystack], 0x0c
        mov     [RES + 0x28], rcx

        ; dot product of 8 floats
        movups  xmm0, [va]
        movups  xmm1, [vb]
        mulps   xmm0, xmm1
        movups  xmm2, [va + 16]
        movups  xmm3, [vb + 16]
        mulps   xmm2, xmm3
        addps   xmm0, xmm2
        haddps  xmm0, xmm0
        haddps  xmm0, xmm0
        movss   [RES + 0x30], xmm0

        ; sqrt(2); cvtsd2si of -2.5 rounding down, up and to nearest
        sqrtsd  xmm1, [two]
        movsd   [RES + 0x38], xmm1
        movsd   xmm2, [minus_2_5]
        ldmxcsr [mxcsr_down]
        cvtsd2si rax, xmm2
        mov     [RES + 0x40], rax
        ldmxcsr [mxcsr_up]
        cvtsd2si rax, xmm2
        mov     [RES + 0x48], rax
        ldmxcsr [mxcsr_default]
        cvtsd2si rax, xmm2
        mov     [RES + 0x50], rax

        ; CRC-32C of "123456789"
        mov     eax, 0xffffffff
        crc32   rax, qword [digits]
        crc32   eax, byte [digits + 8]
        not     eax
        mov     [RES + 0x58], eax

        ; carry-less (2^63 + 1) * 3
        movdqu  xmm0, [clmul_a]
        movdqu  xmm1, [clmul_b]
        pclmulqdq xmm0, xmm1, 0x00
        movdqu  [RES + 0x60], xmm0

        ; #XM: 1 / 0 with the zero-divide exception unmasked
        movss   xmm3, [one]
        xorps   xmm4, xmm4
        ldmxcsr [mxcsr_zm]
xm_insn:
        divss   xmm3, xmm4              ; 4 bytes: the handler skips it
        movss   [RES + 0x88], xmm3      ; still 1.0
        stmxcsr [RES + 0x8c]
        putc    ' '
        putc    'X'
        putc    'M'
        exit    0

xm_handler:
        stmxcsr [RES + 0x80]
        inc     dword [RES + 0x84]
        ldmxcsr [mxcsr_default]
        add     qword [rsp], 4
        iretq

        align   16
aes_key:   db   0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
aes_plain: db   0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
clmul_a:   dq   0x8000000000000001, 0
clmul_b:   dq   3, 0
va:        dd   1.5, -2.25, 3.0, 0.1, 7.0, 0.001, -4.5, 2.0
vb:        dd   0.3, 1.75, -0.5, 10.0, 0.25, 300.0, 2.5, 1.0e7
two:       dq   2.0
minus_2_5: dq   -2.5
one:       dd   1.0
mxcsr_default: dd 0x1f80
mxcsr_down:    dd 0x3f80
mxcsr_up:      dd 0x5f80
mxcsr_zm:      dd 0x1d80                ; ZM clear
digits:    db   "123456789"
text:      db   "abcThe quick brown fox jumps over it.", 0
           times 16 db 0
needle:    db   "needle", 0
           times 16 db 0
haystack:  db   "a haystack: a needle", 0
           times 16 db 0
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
