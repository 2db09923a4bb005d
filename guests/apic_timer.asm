; Long mode, one vCPU, interpreter (its local APIC): the APIC timer in its
; three modes.  Results in RAM at 0x9000 for the test:
;   +0  ONESHOT   one-shot interrupts (vector 0x40): must stay 1
;   +4  CUR0      current count read just after arming (0 < CUR0 <= initial)
;   +8  CUR1      current count after the one-shot fired (0)
;   +12 TICKS     periodic interrupts (vector 0x41, 1 ms: divide 16, count 62500)
;   +16 PHASE     1 one-shot, 2 periodic running (the test samples TICKS, then sets
;                 STOP at +64), 3 TSC-deadline, 4 done
;   +20 DEADLINES TSC-deadline interrupts (vector 0x42)
;   +24 EARLY     TSC-deadline interrupts taken before their deadline (must be 0)
;   +28 MSR_AFTER IA32_TSC_DEADLINE after it fired (low dword; 0)
;   +32 CPUID1_ECX, +36 CPUID1_EDX
;   +40 TSC_PER_MS (qword, measured over 10 periodic ticks)
;   +0x100 RING   the last 64 periodic ticks, tick n at +16*(n%64): TSC (qword) before
;                 reading the current count, the current count (dword), TSC ticks the
;                 read took (dword).  The count says how long ago the period ended, so
;                 the test finds each tick's expiry on the guest's own clock however
;                 late the interrupt came.
; Exits with code 1 ((0<<1)|1); any unexpected vector exits with code 7 ((3<<1)|1).
%include "include.inc"
%define RES         0x9000
%define ONESHOT     RES + 0
%define CUR0        RES + 4
%define CUR1        RES + 8
%define TICKS       RES + 12
%define PHASE       RES + 16
%define DEADLINES   RES + 20
%define EARLY       RES + 24
%define MSR_AFTER   RES + 28
%define CPUID_ECX   RES + 32
%define CPUID_EDX   RES + 36
%define TSC_PER_MS  RES + 40
%define DEADLINE    RES + 48            ; qword: the armed deadline
%define STOP        RES + 64            ; set to 1 by the test when it has sampled the ticks
%define RING        RES + 0x100         ; 64 entries of 16 bytes
%define LAPIC       0xFEE00000
%define ONESHOT_COUNT 200000000         ; 200 ms at the 1 GHz bus clock, divide 1: long enough
                                        ; that a descheduled host thread still reads it running
%define PERIODIC_COUNT 62500            ; 1 ms with divide 16

        bits    64
        org     LOAD_HIGH
start:
        mov     al, 0xff                ; the 8259 (virtual wire to vCPU 0) masked
        out     0x21, al
        out     0xa1, al
        mov     rdi, RES
        xor     eax, eax
        mov     ecx, 17
        rep stosd
        mov     eax, 1
        cpuid
        mov     [CPUID_ECX], ecx
        mov     [CPUID_EDX], edx
        call    idt_build
        lidt    [idtr]
        mov     rbx, LAPIC
        mov     dword [rbx + 0xf0], 0x1ff   ; SVR: enabled, spurious 0xff

        mov     dword [PHASE], 1            ; one-shot
        mov     dword [rbx + 0x3e0], 0xb    ; divide by 1
        mov     dword [rbx + 0x320], 0x40   ; one-shot, vector 0x40
        mov     dword [rbx + 0x380], ONESHOT_COUNT
        mov     eax, [rbx + 0x390]
        mov     [CUR0], eax
.os:    sti
        hlt
        cli
        cmp     dword [ONESHOT], 1
        jb      .os
        mov     eax, [rbx + 0x390]
        mov     [CUR1], eax

        mov     dword [rbx + 0x3e0], 3      ; divide by 16
        mov     dword [rbx + 0x320], 0x20041    ; periodic, vector 0x41
        mov     dword [rbx + 0x380], PERIODIC_COUNT
        mov     dword [PHASE], 2
        mov     ecx, 10
        call    wait_ticks
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     r12, rax
        mov     ecx, 20
        call    wait_ticks
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, r12
        xor     edx, edx
        mov     ecx, 10
        div     rcx
        mov     [TSC_PER_MS], rax
        mov     r13, rax
.run:   sti                             ; ticks until the test has sampled them
        hlt
        cli
        cmp     dword [STOP], 1
        jne     .run
        mov     dword [rbx + 0x320], 0x30041    ; masked (periodic)
        mov     dword [rbx + 0x380], 0      ; stopped

        mov     dword [PHASE], 3
        mov     dword [rbx + 0x320], 0x40042    ; TSC-deadline, vector 0x42
        xor     r14d, r14d
.dl:    rdtsc
        shl     rdx, 32
        or      rax, rdx
        lea     rax, [rax + r13 * 2]        ; 2 ms ahead
        mov     [DEADLINE], rax
        mov     rdx, rax
        shr     rdx, 32
        mov     ecx, 0x6e0
        wrmsr
        inc     r14d
.dlw:   sti
        hlt
        cli
        cmp     [DEADLINES], r14d
        jb      .dlw
        cmp     r14d, 5
        jb      .dl
        mov     ecx, 0x6e0
        rdmsr
        mov     [MSR_AFTER], eax
        mov     dword [PHASE], 4
        exit    0

; Halts with interrupts on until TICKS >= ecx.
wait_ticks:
        sti
        hlt
        cli
        cmp     [TICKS], ecx
        jb      wait_ticks
        ret

idt_build:
        xor     ecx, ecx
.next:  mov     rax, bad_vector
        call    gate_set
        inc     ecx
        cmp     ecx, 256
        jb      .next
        mov     ecx, 0xff
        mov     rax, ignore
        call    gate_set
        mov     ecx, 0x40
        mov     rax, oneshot_irq
        call    gate_set
        mov     ecx, 0x41
        mov     rax, tick_irq
        call    gate_set
        mov     ecx, 0x42
        mov     rax, deadline_irq
        call    gate_set
        ret

; Gate ecx -> handler rax (64-bit interrupt gate, CS 0x18).
gate_set:
        mov     rdi, rcx
        shl     rdi, 4
        add     rdi, idt
        mov     [rdi], ax
        mov     word [rdi + 2], SEL_CODE64
        mov     word [rdi + 4], 0x8e00
        mov     rdx, rax
        shr     rdx, 16
        mov     [rdi + 6], dx
        shr     rdx, 16
        mov     [rdi + 8], edx
        mov     dword [rdi + 12], 0
        ret

oneshot_irq:
        lock inc dword [ONESHOT]
        jmp     eoi
tick_irq:
        push    rax
        push    rcx
        push    rdx
        push    rsi
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        mov     rsi, rax                ; TSC before the read
        mov     rcx, LAPIC
        mov     ecx, [rcx + 0x390]      ; current count
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        sub     rax, rsi                ; how long the read took
        mov     edx, [TICKS]
        and     edx, 63
        shl     edx, 4
        mov     [rdx + RING], rsi
        mov     [rdx + RING + 8], ecx
        mov     [rdx + RING + 12], eax
        lock inc dword [TICKS]
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rax
        jmp     eoi
deadline_irq:
        push    rax
        push    rdx
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        cmp     rax, [DEADLINE]
        jae     .ok
        inc     dword [EARLY]
.ok:    inc     dword [DEADLINES]
        pop     rdx
        pop     rax
eoi:    push    rbx
        mov     rbx, LAPIC
        mov     dword [rbx + 0xb0], 0
        pop     rbx
ignore: iretq

bad_vector:
        exit    3

        align   16
idtr:   dw 256 * 16 - 1
        dq idt
        align   16
idt:    times 256 * 16 db 0
