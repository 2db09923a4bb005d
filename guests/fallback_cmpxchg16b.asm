; KVM fallback test: `lock cmpxchg16b` at CPL 0 in long mode, which KVM's
; instruction emulator cannot emulate (the interpreter finishes it).
; Success case (memory matches RDX:RAX: stores RCX:RBX, ZF=1) and failure
; case (no match: loads memory into RDX:RAX, ZF=0).
; Prints "cx16 ok ok\n" and exits with 0x10 (exit code 0x21).
bits 64
%include "include.inc"
org LOAD_HIGH

start:
        mov     rax, [val]
        mov     rdx, [val + 8]
        mov     rbx, 0x1111
        mov     rcx, 0x2222
        lock cmpxchg16b [val]
        jnz     fail
        cmp     qword [val], 0x1111
        jne     fail
        cmp     qword [val + 8], 0x2222
        jne     fail
        puts    msg_ok1

        mov     rax, 5
        mov     rdx, 6
        mov     rbx, 7
        mov     rcx, 8
        lock cmpxchg16b [val]
        jz      fail
        cmp     rax, 0x1111
        jne     fail
        cmp     rdx, 0x2222
        jne     fail
        cmp     qword [val], 0x1111     ; memory unchanged
        jne     fail
        puts    msg_ok2
        exit    0x10

fail:   puts    msg_fail
        exit    0x7f

msg_ok1:  db "cx16 ok", 0
msg_ok2:  db " ok", 10, 0
msg_fail: db "cx16 FAIL", 10, 0
align 16
val:    dq 0x0123456789abcdef, 0xfedcba9876543210
