; Long mode, all vCPUs start here.  Each reads its APIC id from CPUID leaf 1
; (EBX[31:24]), prints "cpu <id>" under a spinlock, and counts itself done.
; vCPU 0 waits for all (RSI = vCPU count) and exits with code 1 ((0<<1)|1);
; the others halt.
%include "include.inc"
        bits    64
        org     LOAD_HIGH
start:
        mov     r15, rsi                ; vCPU count from the loader
        mov     r14, rdi                ; vCPU id from the loader
        mov     eax, 1
        cpuid
        shr     ebx, 24                 ; APIC id
        mov     r13d, ebx
.lock:  mov     eax, 1
        xchg    eax, [rel print_lock]   ; xchg with memory is always locked
        test    eax, eax
        jnz     .lock
        puts    prefix
        mov     eax, r13d               ; two decimal digits (ids < 100)
        xor     edx, edx
        mov     ecx, 10
        div     ecx
        test    eax, eax
        jz      .ones
        add     al, '0'
        out     DEBUGCON_PORT, al
.ones:  mov     al, dl
        add     al, '0'
        out     DEBUGCON_PORT, al
        putc    10
        mov     dword [rel print_lock], 0
        lock inc dword [rel done_count]
        test    r14, r14
        jnz     .park
.wait:  mov     eax, [rel done_count]
        cmp     rax, r15
        jb      .wait
        exit    0
.park:  halt_forever

        align   4
print_lock:  dd 0
done_count:  dd 0
prefix:      db "cpu ", 0
