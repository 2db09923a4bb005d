; Interpreter test guest for real mode: #DE and INT n through the IVT,
; 32-bit operands with the 66 prefix, segment arithmetic, string
; instructions, POPCNT (which KVM's real-mode emulator lacks) and LOOP.
; Expected output (tests/test_interp_guests.c):
;   R DE 1234 I21 8 Hello EQ 55aa POP 8 ABCD
%include "include.inc"

%define BUF 0x6000

        bits    16
        org     LOAD_REAL
start:
        mov     al, 0xff                ; mask both PICs: no hardware IRQ may
        out     0x21, al                ; reach the guest's exception vectors
        out     0xa1, al
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7000
        mov     word [0 * 4], de_handler     ; IVT entries
        mov     word [0 * 4 + 2], 0
        mov     word [0x21 * 4], int21_handler
        mov     word [0x21 * 4 + 2], 0
        putc    'R'
        putc    ' '

        xor     dx, dx                      ; #DE -> IVT[0], which skips the DIV
        mov     ax, 1
        xor     cx, cx
        div     cx

        mov     eax, 0x12340000             ; 32-bit operations in real mode
        shr     eax, 16
        call    puthex
        putc    ' '

        int     0x21
        call    puthex
        putc    ' '

        mov     si, hello                   ; REP MOVSB, REPE CMPSB
        mov     di, BUF
        mov     cx, 6
        cld
        rep movsb
        mov     si, BUF
        call    print
        mov     si, hello
        mov     di, BUF
        mov     cx, 6
        repe cmpsb
        jne     .ne
        putc    'E'
        putc    'Q'
.ne:    putc    ' '

        mov     ax, 0x1000                  ; 1000:0000 and 0fff:0010 are the same byte
        mov     ds, ax
        mov     word [0], 0x55aa
        mov     ax, 0x0fff
        mov     es, ax
        mov     ax, [es:0x10]
        xor     bx, bx
        mov     ds, bx
        mov     es, bx
        call    puthex
        putc    ' '

        mov     ax, 0x00ff
        popcnt  bx, ax
        putc    'P'
        putc    'O'
        putc    'P'
        putc    ' '
        mov     ax, bx
        call    puthex
        putc    ' '

        mov     di, BUF                     ; LOOP + STOSB builds "ABCD"
        mov     al, 'A'
        mov     cx, 4
.fill:  stosb
        inc     al
        loop    .fill
        mov     byte [di], 0
        mov     si, BUF
        call    print_nospace
        putc    10
        exit    0

%include "puthex16.inc"

print:  call    print_nospace
        putc    ' '
        ret

print_nospace:
        lodsb
        test    al, al
        jz      .done
        out     DEBUGCON_PORT, al
        jmp     print_nospace
.done:  ret

de_handler:
        push    bp
        mov     bp, sp
        add     word [bp + 2], 2            ; skip the 2-byte DIV
        pop     bp
        putc    'D'
        putc    'E'
        putc    ' '
        iret

int21_handler:
        putc    'I'
        putc    '2'
        putc    '1'
        putc    ' '
        mov     ax, 8
        iret

hello:  db      "Hello", 0
