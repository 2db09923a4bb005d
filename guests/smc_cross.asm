; Long mode, 2 vCPUs all starting here: cross-modifying code.  vCPU 1
; calls a function (own page) that returns an immediate and stores what it
; got at SEEN; vCPU 0 waits until it saw 1, rewrites the immediate to 2 with
; a plain store (it never ran that page itself), and waits until vCPU 1
; sees 2: the decoded block of vCPU 1 must not outlive the write.  Exit
; code 1 ((0<<1)|1) on success, 5 ((2<<1)|1) if vCPU 1 still sees the old
; code after 2^26 polls.
%include "include.inc"
%define SEEN 0x9000

        bits    64
        org     LOAD_HIGH
start:
        test    rdi, rdi
        jnz     ap
        mov     dword [value], 1        ; written before anyone runs it
.w1:    pause
        cmp     dword [SEEN], 1
        jne     .w1
        mov     dword [value], 2        ; cross-modifying store
        mov     ecx, 1 << 26
.w2:    cmp     dword [SEEN], 2
        je      .ok
        dec     ecx
        jnz     .w2
        exit    2
.ok:    exit    0

ap:     call    patched
        mov     [SEEN], eax
        jmp     ap

        align   4096
patched:
        db      0xb8                    ; mov eax, imm32
value:  dd      0
        ret
