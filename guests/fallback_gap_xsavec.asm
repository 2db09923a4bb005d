; Interpreter gap (not in `make check`; PETREL_TEST_INTERP_GAPS=1): XSAVEC
; (0F C7 /4) at CPL 0 in long mode, which issue 3 lists for part 1 and
; Linux uses for FPU state when the CPU has it.  KVM's emulator cannot
; emulate it and the interpreter raises #UD (guru meditation).  Expected
; once fixed: prints "xsavec ok\n", exit 0x18 (code 0x31).
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
        mov     eax, 3
        xor     edx, edx
        xsavec64 [area]
        test    byte [area + 512 + 15], 0x80    ; XCOMP_BV bit 63: compacted form
        jz      fail
        puts    msg
        exit    0x18
fail:   exit    0x7f

msg:    db "xsavec ok", 10, 0
align 64
area:   times 1024 db 0
