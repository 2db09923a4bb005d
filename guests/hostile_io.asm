; A hostile guest (flat 32-bit, interrupts off): random values to every I/O
; port 0..0xFFFF in every width, reads of every port, then random reads and
; writes all over the device windows (IOAPIC, HPET, local APIC, the PCI
; memory window up to 0xFEC00000).  Petrel must neither crash nor hang; the
; guest then says "survived" and exits with (0x2A << 1) | 1 = 85.
;
; Writes that would legitimately end the run are steered off: the debug
; exit port 0xF4 is never written (nor 0xF1-0xF3, whose wide writes reach it), and near the i8042 (0x5D-0x64), port 0x92,
; 0xCF6/7/9 and the ACPI PM block's PM1a_CNT and reset register the guest
; writes single bytes with the reset and sleep bits masked.  MMIO writes avoid guest RAM below the window, where this code lives.
%include "include.inc"
        bits    32
        org     LOAD_HIGH

%define PM_BASE         0x600
%define SEED            0x2545F491

start:
        mov     ebp, SEED               ; xorshift32 state
        xor     ebx, ebx                ; port
.ports:
        cmp     ebx, DEBUGEXIT_PORT - 3 ; no write reaches the debug exit port
        jb      .write
        cmp     ebx, DEBUGEXIT_PORT
        jbe     .reads
.write:
        mov     edx, ebx
        call    narrow
        jc      .byte_only
        call    rand
        out     dx, al
        call    rand
        out     dx, ax
        call    rand
        out     dx, eax
        jmp     .reads
.byte_only:
        call    rand
        call    steer
        out     dx, al
.reads:
        in      al, dx
        in      ax, dx
        in      eax, dx
.next_port:
        inc     ebx
        cmp     ebx, 0x10000
        jb      .ports
        puts    msg_ports

        mov     ecx, 200000             ; random MMIO accesses
.mmio:
        call    rand
        mov     edi, eax
        and     edi, 0x1FFFFFC           ; 32 MiB span ...
        call    rand
        test    al, 3
        jz      .apic
        add     edi, 0xE0000000          ; ... of the PCI window 0xE0000000-0xE1FFFFFF
        jmp     .access
.apic:
        and     edi, 0x3FFC
        mov     esi, eax
        shr     esi, 8
        and     esi, 3
        mov     esi, [windows + esi * 4]
        add     edi, esi                  ; IOAPIC, HPET or LAPIC page (+ a little past)
.access:
        call    rand
        test    al, 1
        jz      .read
        mov     [edi], eax
        jmp     .next
.read:
        mov     eax, [edi]
.next:
        dec     ecx
        jnz     .mmio
        puts    msg_mmio
        exit    0x2A

; eax = next xorshift32 value (ebp is the state)
rand:
        mov     eax, ebp
        shl     eax, 13
        xor     ebp, eax
        mov     eax, ebp
        shr     eax, 17
        xor     ebp, eax
        mov     eax, ebp
        shl     eax, 5
        xor     ebp, eax
        mov     eax, ebp
        ret

; CF set when port dx is in a zone where a wide write could reach a
; port that resets or powers off: those get steered byte writes only.
narrow:
        cmp     dx, 0x5D                ; up to the i8042 command port 0x64
        jb      .no
        cmp     dx, 0x64
        jbe     .yes
        cmp     dx, 0x8F                ; up to port 0x92
        jb      .no
        cmp     dx, 0x92
        jbe     .yes
        cmp     dx, 0xCF6               ; the reset control register 0xCF9 (byte
        je      .yes                    ; wide; 0xCF8 is the config address)
        cmp     dx, 0xCF7
        je      .yes
        cmp     dx, 0xCF9
        je      .yes
        cmp     dx, PM_BASE + 1         ; PM1a_CNT and the reset register
        jb      .no
        cmp     dx, PM_BASE + 0x0F
        jbe     .yes
.no:    clc
        ret
.yes:   stc
        ret

; al = a value safe to write to port dx (keeps the run going)
steer:
        cmp     dx, 0x64
        jne     .s92
        and     al, 0xEF                ; no 0xD1 (write output port), no 0xF0-0xFF (pulse reset)
        ret
.s92:   cmp     dx, 0x92
        jne     .sother
        and     al, 0xFE                ; no fast reset
        ret
.sother:
        and     al, 0xD9                ; CF9 reset bits 1-2, SLP_EN (bit 5 of PM1a_CNT's high
        ret                             ; byte), and never the ACPI reset value 0x06

windows:  dd 0xFEC00000, 0xFED00000, 0xFEE00000, 0xFEC00000
msg_ports: db "ports done", 10, 0
msg_mmio:  db "mmio done, survived", 10, 0
