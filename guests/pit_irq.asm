; Long mode, one vCPU, needs the in-kernel irqchip (KVM /KVM/IrqChip = 1).
; Phase 1: PIC remapped to 0x20/0x28, PIT channel 0 at 100 Hz (mode 2),
;          IRQ0 unmasked, sti; hlt until 10 ticks ("pic ok").
; Phase 2: PIC masked, local APIC enabled, IOAPIC pin 2 (ISA IRQ0 per the
;          MADT override) -> vector 0x41: 5 more PIT ticks ("ioapic ok").
; Phase 3: IOAPIC pin 20 -> vector 0x42 (edge); sets READY = 1 and halts
;          until the host raised GSI 20 three times (DEV_COUNT, "gsi ok").
; Then exits with code 1 ((0<<1)|1).  Any other vector exits with code 7.
%include "include.inc"
%define READY       0x9000             ; dword, read by the test
%define DEV_COUNT   0x9004             ; dword: GSI 20 interrupts seen
%define TICKS       0x9008             ; dword: PIT interrupts seen
%define LAPIC       0xFEE00000
%define IOAPIC      0xFEC00000
%define PIT_DIVISOR 11932              ; 1193182 Hz / 100

        bits    64
        org     LOAD_HIGH
start:
        xor     eax, eax
        mov     [READY], eax
        mov     [DEV_COUNT], eax
        mov     [TICKS], eax
        call    idt_build
        lidt    [idtr]
        call    pic_remap
        mov     al, 0x34                ; channel 0, lo/hi, mode 2
        out     0x43, al
        mov     al, PIT_DIVISOR & 0xff
        out     0x40, al
        mov     al, PIT_DIVISOR >> 8
        out     0x40, al
        mov     ebx, 10
        call    wait_ticks
        puts    msg_pic

        mov     al, 0xff                ; PIC off: the IOAPIC takes over
        out     0x21, al
        out     0xa1, al
        mov     rbx, LAPIC
        mov     dword [rbx + 0xf0], 0x1ff   ; SVR: enabled, spurious vector 0xff
        mov     ecx, 2
        mov     edx, 0x41               ; edge, active high, physical, to APIC 0
        call    ioapic_route
        mov     dword [TICKS], 0
        mov     ebx, 5
        call    wait_ticks
        mov     ecx, 2
        mov     edx, 0x10000            ; masked
        call    ioapic_route
        puts    msg_ioapic

        mov     ecx, 20
        mov     edx, 0x42
        call    ioapic_route
        mov     dword [READY], 1
.dev:   sti
        hlt
        cli
        cmp     dword [DEV_COUNT], 3
        jb      .dev
        puts    msg_gsi
        exit    0

; Halts with interrupts on until TICKS >= ebx.
wait_ticks:
        sti
        hlt
        cli
        cmp     [TICKS], ebx
        jb      wait_ticks
        ret

; IOAPIC redirection entry ecx := edx (low dword; high dword 0 = APIC 0).
ioapic_route:
        mov     rbx, IOAPIC
        lea     eax, [ecx * 2 + 0x11]
        mov     [rbx], eax
        mov     dword [rbx + 0x10], 0
        dec     eax
        mov     [rbx], eax
        mov     [rbx + 0x10], edx
        ret

pic_remap:
        mov     al, 0x11
        out     0x20, al
        out     0xa0, al
        mov     al, 0x20
        out     0x21, al
        mov     al, 0x28
        out     0xa1, al
        mov     al, 4
        out     0x21, al
        mov     al, 2
        out     0xa1, al
        mov     al, 1
        out     0x21, al
        out     0xa1, al
        mov     al, 0xfe                ; only IRQ0
        out     0x21, al
        mov     al, 0xff
        out     0xa1, al
        ret

; 256 interrupt gates to bad_vector, then the handled ones.
idt_build:
        xor     ecx, ecx
.next:  mov     rax, bad_vector
        call    gate_set
        inc     ecx
        cmp     ecx, 256
        jb      .next
        mov     ecx, 0x20
        mov     rax, pic_tick
        call    gate_set
        mov     ecx, 0x27               ; PIC spurious
        mov     rax, ignore
        call    gate_set
        mov     ecx, 0xff               ; LAPIC spurious
        call    gate_set
        mov     ecx, 0x41
        mov     rax, apic_tick
        call    gate_set
        mov     ecx, 0x42
        mov     rax, dev_irq
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

pic_tick:
        push    rax
        inc     dword [TICKS]
        mov     al, 0x20
        out     0x20, al
        pop     rax
        iretq

apic_tick:
        inc     dword [TICKS]
        jmp     lapic_eoi
dev_irq:
        inc     dword [DEV_COUNT]
lapic_eoi:
        push    rbx
        mov     rbx, LAPIC
        mov     dword [rbx + 0xb0], 0
        pop     rbx
ignore: iretq

bad_vector:
        puts    msg_bad
        exit    3

msg_pic:    db "pic ok", 10, 0
msg_ioapic: db "ioapic ok", 10, 0
msg_gsi:    db "gsi ok", 10, 0
msg_bad:    db "unexpected vector", 10, 0
        align   16
idtr:   dw 256 * 16 - 1
        dq idt
        align   16
idt:    times 256 * 16 db 0
