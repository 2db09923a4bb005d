; Long mode, 4 vCPUs all starting here (/Boot/StartAPs = 1), interpreter's
; local APICs.  vCPU 0 builds a shared IDT; every vCPU enables its APIC,
; sets its flat logical id (LDR bit 24 + id) and counts itself ready.  Then
; vCPU 0 sends IPIs and waits for each to arrive (results at RES):
;   1 fixed 0x50 to each AP by physical id      -> IPIS[id] = 1
;   2 self-IPI 0x51 (shorthand self)            -> SELFS[0] = 1
;   3 0x50 to all but self                      -> IPIS[1..3] = 2
;   4 0x51 to all including self                -> SELFS[0] = 2, SELFS[1..3] = 1
;   5 logical 0x52 to LDR bits 1|2              -> LOGICAL[1] = LOGICAL[2] = 1, others 0
;   6 NMI to APIC 1                             -> NMIS[1] = 1
;   7 hostile: fixed to APIC 0x77 (nobody), SIPI to running APIC 1 (ignored),
;     vector 5 (illegal: ESR bit 5)            -> ESR
;   8 lowest priority 0x53 to logical 0xFF      -> LOWEST = 1 (one target)
;   9 fixed 0x50 to APIC 1 again (it survived the SIPI) -> IPIS[1] = 3
;  10 garbage written to every APIC and IOAPIC register; exit code 1.
; STEP holds the step under way (for a test that times out).
%include "include.inc"
%define RES       0x9000
%define READY     RES + 0x00
%define IDT_READY RES + 0x04
%define STEP      RES + 0x08
%define ESR_SEEN  RES + 0x0c
%define IPIS      RES + 0x10
%define SELFS     RES + 0x20
%define LOGICAL   RES + 0x30
%define NMIS      RES + 0x40
%define LOWEST    RES + 0x50
%define LAPIC     0xFEE00000
%define IOAPIC    0xFEC00000

%macro wait_ge 2                        ; dword [%1] >= %2, interrupts on
%%w:    pause
        cmp     dword [%1], %2
        jb      %%w
%endmacro

%macro send 2                           ; ICR high %1 (destination << 24), ICR low %2
        mov     dword [rbx + 0x310], %1
        mov     dword [rbx + 0x300], %2
%endmacro

        bits    64
        org     LOAD_HIGH
start:
        mov     al, 0xff                ; the 8259 (virtual wire to vCPU 0) masked
        out     0x21, al
        out     0xa1, al
        mov     r15, rsi                ; vCPU count
        mov     rbx, LAPIC
        test    rdi, rdi
        jnz     .ap
        call    idt_build
        mov     dword [IDT_READY], 1
        jmp     .common
.ap:    pause
        cmp     dword [IDT_READY], 1
        jne     .ap
.common:
        lidt    [idtr]
        mov     dword [rbx + 0xf0], 0x1ff   ; SVR: enabled, spurious 0xff
        mov     ecx, [rbx + 0x20]
        shr     ecx, 24                 ; APIC id
        mov     eax, 1
        shl     eax, cl
        shl     eax, 24
        mov     [rbx + 0xd0], eax       ; LDR: flat logical bit = id
        sti
        lock inc dword [READY]
        test    rdi, rdi
        jz      bsp
.park:  hlt
        jmp     .park

bsp:
        wait_ge READY, r15d
        mov     dword [STEP], 1
        mov     esi, 1
.each:  mov     eax, esi
        shl     eax, 24
        mov     [rbx + 0x310], eax
        mov     dword [rbx + 0x300], 0x4050
.w1:    pause
        cmp     dword [IPIS + rsi * 4], 1
        jb      .w1
        inc     esi
        cmp     rsi, r15
        jb      .each

        mov     dword [STEP], 2
        send    0, 0x44051
        wait_ge SELFS, 1

        mov     dword [STEP], 3
        send    0, 0xc4050
        wait_ge IPIS + 4, 2
        wait_ge IPIS + 8, 2
        wait_ge IPIS + 12, 2

        mov     dword [STEP], 4
        send    0, 0x84051
        wait_ge SELFS, 2
        wait_ge SELFS + 4, 1
        wait_ge SELFS + 8, 1
        wait_ge SELFS + 12, 1

        mov     dword [STEP], 5
        send    0x06000000, 0x4852
        wait_ge LOGICAL + 4, 1
        wait_ge LOGICAL + 8, 1

        mov     dword [STEP], 6
        send    0x01000000, 0x4400
        wait_ge NMIS + 4, 1

        mov     dword [STEP], 7
        send    0x77000000, 0x4050      ; nobody has id 0x77
        send    0x01000000, 0x4608      ; SIPI to a running CPU
        send    0x01000000, 0x4005      ; illegal vector
        mov     dword [rbx + 0x280], 0
        mov     eax, [rbx + 0x280]
        mov     [ESR_SEEN], eax

        mov     dword [STEP], 8
        send    0xff000000, 0x4953      ; lowest priority, logical, all
        wait_ge LOWEST, 1

        mov     dword [STEP], 9
        send    0x01000000, 0x4050
        wait_ge IPIS + 4, 3
        mov     ecx, 200000             ; give a stray second delivery time to show
.quiet: pause
        dec     ecx
        jnz     .quiet

        mov     dword [STEP], 10
        cli
        xor     ecx, ecx                ; every APIC register: read, garbage, odd sizes
.g:     mov     eax, [rbx + rcx]
        mov     al, [rbx + rcx + 1]
        mov     dword [rbx + rcx], 0xffffffff
        mov     word [rbx + rcx + 2], 0xffff
        add     ecx, 0x10
        cmp     ecx, 0x1000
        jb      .g
        mov     rdx, IOAPIC
        xor     ecx, ecx
.io:    mov     [rdx], ecx
        mov     eax, [rdx + 0x10]
        mov     dword [rdx + 0x10], 0xffffffff
        mov     byte [rdx + 0x10], 0x5a
        inc     ecx
        cmp     ecx, 0x100
        jb      .io
        mov     dword [rdx + 0x40], 0xffffffff
        mov     dword [rdx + 0x20], 0xffffffff
        mov     dword [STEP], 11
        exit    0

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
        mov     ecx, 2
        mov     rax, nmi
        call    gate_set
        mov     ecx, 0x50
        mov     rax, ipi
        call    gate_set
        mov     ecx, 0x51
        mov     rax, self_ipi
        call    gate_set
        mov     ecx, 0x52
        mov     rax, logical_ipi
        call    gate_set
        mov     ecx, 0x53
        mov     rax, lowest_ipi
        call    gate_set
        ret

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
        xor     edi, edi                ; rdi is the vCPU id again (vCPU 0)
        ret

; Handlers: count at [table + id * 4], then EOI (not for the NMI).
%macro counter 1
        push    rax
        push    rcx
        mov     rcx, LAPIC
        mov     eax, [rcx + 0x20]
        shr     eax, 24
        lock inc dword [%1 + rax * 4]
        pop     rcx
        pop     rax
%endmacro

ipi:    counter IPIS
        jmp     eoi
self_ipi:
        counter SELFS
        jmp     eoi
logical_ipi:
        counter LOGICAL
        jmp     eoi
lowest_ipi:
        lock inc dword [LOWEST]
        jmp     eoi
nmi:    counter NMIS
        iretq
eoi:    push    rax
        mov     rax, LAPIC
        mov     dword [rax + 0xb0], 0
        pop     rax
ignore: iretq

bad_vector:
        exit    3

        align   16
idtr:   dw 256 * 16 - 1
        dq idt
        align   16
idt:    times 256 * 16 db 0
