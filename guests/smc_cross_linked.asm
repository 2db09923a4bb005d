; Long mode, 2 vCPUs all starting here: cross-modifying code stored by a
; block that vCPU 0 reaches through a link.  Round 0 runs vCPU 0's loop
; once while the patched page is still data (so its store takes the fast
; path and the loop's blocks get linked); vCPU 1 then makes the page code by
; running it, and vCPU 0's next round stores to it from the same linked
; blocks, without a block lookup in between: vCPU 0 must still notice that
; the page became code, or vCPU 1 runs the old code for ever.
; Exit code 1 ((0<<1)|1) when vCPU 1 saw every round, 5 ((2<<1)|1) if it
; still runs old code after 2^26 polls.
%include "include.inc"
%define SEEN 0x9000

        bits    64
        org     LOAD_HIGH
start:
        test    rdi, rdi
        jnz     ap
        xor     ebx, ebx                ; round
        mov     ecx, 1 << 26
.top:   dec     ecx
        jz      .fail
        mov     eax, [SEEN]             ; wait until vCPU 1 ran round ebx's code
        cmp     eax, ebx
        jb      .top
        lea     eax, [rbx + 1]
        mov     [value], eax            ; patch in the next round's value
        inc     ebx
        cmp     ebx, 3
        jb      .top
        exit    0
.fail:  exit    2

ap:     cmp     dword [value], 0        ; round 0 stored (read as data)
        je      ap
        mov     ecx, 200000             ; let vCPU 0 settle in its linked loop
.delay: dec     ecx
        jnz     .delay
.run:   call    patched
        mov     [SEEN], eax
        jmp     .run

        align   4096
patched:
        db      0xb8                    ; mov eax, imm32
value:  dd      0
        ret
