; LOCK atomicity against other vCPUs (formerly an interpreter gap; now a
; normal test).  2 vCPUs in long mode share a 16-byte counter: vCPU 0 adds 1
; with `lock cmpxchg16b` ITER times (each one a KVM fallback into the
; interpreter, which must use the host's cmpxchg16b), while vCPU 1 runs
; `lock inc` on the same counter in KVM until vCPU 0 is done.  Lost updates
; show as a wrong total.  Prints
; "smp cx16 ok\n", exit 0x19 (code 0x33); "smp cx16 LOST\n", 0x7f otherwise.
bits 64
%include "include.inc"
org LOAD_HIGH

ITER equ 3000

start:
        test    rdi, rdi
        jnz     ap
        mov     r8, ITER
.next:  mov     rax, [counter]
        mov     rdx, [counter + 8]
.retry: lea     rbx, [rax + 1]
        mov     rcx, rdx
        lock cmpxchg16b [counter]
        jnz     .retry                  ; RDX:RAX now holds the current value
        dec     r8
        jnz     .next
        mov     dword [bsp_done], 1
.wait:  cmp     dword [ap_done], 1
        jne     .wait
        mov     rax, [ap_count]
        add     rax, ITER
        cmp     rax, [counter]
        jne     lost
        puts    msg_ok
        exit    0x19
lost:   puts    msg_lost
        exit    0x7f

ap:     xor     r9, r9
.inc:   lock inc qword [counter]
        inc     r9
        test    r9, 63                  ; bursts of 64 incs race the interpreter; the
        jnz     .cont                   ; pause between lets a CMPXCHG16B retry (a
        mov     ecx, 5000               ; KVM exit each, far slower than an inc) win
.delay: dec     ecx                     ; instead of livelocking
        jnz     .delay
.cont:
        cmp     dword [bsp_done], 1
        jne     .inc
        mov     [ap_count], r9
        mov     dword [ap_done], 1
        halt_forever

msg_ok:   db "smp cx16 ok", 10, 0
msg_lost: db "smp cx16 LOST", 10, 0
align 16
counter:  dq 0, 0
ap_count: dq 0
bsp_done: dd 0
ap_done:  dd 0
