; Live-save test guest (real mode, one vCPU): 128 pages at 0x10000-0x8FFFF;
; sweep n writes n into the first and last dword of page n mod 128, then
; checks every page holds the number of its own last write (0 if never
; written).  Every 256 sweeps it prints "G<k>\n" (k = n / 256).  The
; pages written change all the time, so a live save that missed any page
; written after its last dirty-log read restores a stale page: the check
; then prints "BAD" and exits with code 1.
%include "include.inc"

%define FIRST_SEG 0x1000
%define PAGES     128

        bits    16
        org     LOAD_REAL
start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7000
.sweep: inc     dword [gen]
        mov     eax, [gen]
        mov     bx, ax
        and     bx, PAGES - 1
        shl     bx, 8
        add     bx, FIRST_SEG
        mov     es, bx
        mov     [es:0], eax
        mov     [es:4092], eax
        xor     esi, esi                ; page index
.check: mov     ebx, eax
        sub     ebx, esi
        and     ebx, PAGES - 1
        mov     edx, eax
        sub     edx, ebx                ; the last sweep that wrote page esi
        jg      .have
        xor     edx, edx                ; none yet
.have:  mov     bx, si
        shl     bx, 8
        add     bx, FIRST_SEG
        mov     es, bx
        cmp     [es:0], edx
        jne     bad
        cmp     [es:4092], edx
        jne     bad
        inc     esi
        cmp     esi, PAGES
        jb      .check
        test    eax, 0xff
        jnz     .sweep
        putc    'G'                     ; clobbers al: the number is read again
        mov     eax, [gen]
        shr     eax, 8
        call    print_dec
        putc    10
        jmp     .sweep

bad:    puts    badmsg
        exit    1

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

badmsg: db      "BAD", 10, 0
        align   4
gen:    dd      0
