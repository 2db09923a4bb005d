; KVM fallback test: XSAVE64 / XRSTOR64 at CPL 0 in long mode (KVM's
; emulator knows neither).  CR4.OSXSAVE on, XCR0 = x87|SSE, save xmm0,
; overwrite it, restore, check.  Prints "xrstor ok\n", exits with 0x11
; (exit code 0x23).
bits 64
%include "include.inc"
org LOAD_HIGH

start:
        mov     rax, cr4
        or      eax, 1 << 18            ; OSXSAVE
        mov     cr4, rax
        xor     ecx, ecx
        xor     edx, edx
        mov     eax, 3                  ; x87 | SSE
        xsetbv
        movdqu  xmm0, [pattern]
        mov     eax, 3
        xor     edx, edx
        xsave64 [area]
        movdqu  xmm0, [zero]            ; clobber
        mov     eax, 3
        xor     edx, edx
        xrstor64 [area]
        movdqu  [result], xmm0
        mov     rax, [result]
        cmp     rax, [pattern]
        jne     fail
        mov     rax, [result + 8]
        cmp     rax, [pattern + 8]
        jne     fail
        puts    msg_ok
        exit    0x11

fail:   puts    msg_fail
        exit    0x7f

msg_ok:   db "xrstor ok", 10, 0
msg_fail: db "xrstor FAIL", 10, 0
align 16
pattern: dq 0x1122334455667788, 0x99aabbccddeeff00
zero:    dq 0, 0
result:  dq 0, 0
align 64
area:    times 1024 db 0
