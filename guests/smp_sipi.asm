; Long mode, 1..64 vCPUs, run with /Boot/StartAPs = 0: only the BSP starts
; here.  It copies a real-mode trampoline to 0x8000 and wakes the APs with
; INIT-SIPI-SIPI through its local APIC (xAPIC MMIO, all-excluding-self).
; Every vCPU (the BSP too) writes its topology row to TOPO_TABLE + n*16
; (n = its arrival order): the APIC id from CPUID 1 EBX[31:24], the x2APIC
; id from leaf 0xB (EDX), the core count of leaf 0xB level 1 (EBX), and
; 0x600D.  The APs take a row with lock xadd, count themselves done and
; print "AP"; the BSP waits until RSI-1 APs are done and exits with code 1
; ((0<<1)|1).
%include "include.inc"
%define TRAMPOLINE   0x8000             ; SIPI vector 0x08 -> CS 0x0800, IP 0
%define AP_SLOT      0x9000             ; dword: next free table row - 1
%define AP_DONE      0x9004             ; dword: APs that wrote their row
%define TOPO_TABLE   0x9100
%define LAPIC        0xFEE00000
%define ICR_LOW      0x300
%define ICR_PENDING  (1 << 12)
%define ICR_INIT     0x000C4500         ; all excluding self, assert, INIT
%define ICR_SIPI     (0x000C4600 | (TRAMPOLINE >> 12))

        bits    64
        org     LOAD_HIGH
start:
        mov     r15, rsi                ; vCPU count
        mov     dword [AP_SLOT], 0
        mov     dword [AP_DONE], 0
        mov     rsi, trampoline         ; copy the trampoline below 1 MiB
        mov     rdi, TRAMPOLINE
        mov     rcx, trampoline_end - trampoline
        rep movsb
        xor     ebp, ebp                ; BSP's row: n = 0
        call    topo_row64
        cmp     r15, 1
        je      .done
        mov     eax, ICR_INIT
        call    icr_send
        mov     eax, ICR_SIPI
        call    icr_send
        mov     eax, ICR_SIPI           ; the second SIPI of the MP spec; ignored if started
        call    icr_send
.wait:  pause
        mov     eax, [AP_DONE]
        inc     eax
        cmp     rax, r15
        jb      .wait
.done:  exit    0

icr_send:
        mov     rbx, LAPIC
        mov     [rbx + ICR_LOW], eax
.busy:  test    dword [rbx + ICR_LOW], ICR_PENDING
        jnz     .busy
        ret

; Row n = ebp of the topology table (64-bit caller).
topo_row64:
        mov     eax, 1
        cpuid
        shr     ebx, 24
        mov     edi, ebp
        shl     edi, 4
        mov     [TOPO_TABLE + rdi], ebx
        mov     eax, 0xb
        xor     ecx, ecx
        cpuid
        mov     [TOPO_TABLE + rdi + 4], edx
        mov     eax, 0xb
        mov     ecx, 1
        cpuid
        mov     [TOPO_TABLE + rdi + 8], ebx
        mov     dword [TOPO_TABLE + rdi + 12], 0x600D
        ret

; Real mode at 0800:0000 (position independent: only absolute data addresses).
        bits    16
trampoline:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     ebp, 1
        lock xadd [AP_SLOT], ebp        ; ebp = arrival order among the APs
        inc     ebp                     ; row 0 is the BSP's
        mov     eax, 1
        cpuid
        shr     ebx, 24
        mov     edi, ebp
        shl     edi, 4
        mov     [edi + TOPO_TABLE], ebx
        mov     eax, 0xb
        xor     ecx, ecx
        cpuid
        mov     [edi + TOPO_TABLE + 4], edx
        mov     eax, 0xb
        mov     ecx, 1
        cpuid
        mov     [edi + TOPO_TABLE + 8], ebx
        mov     dword [edi + TOPO_TABLE + 12], 0x600D
        lock inc dword [AP_DONE]
        mov     al, 'A'
        out     DEBUGCON_PORT, al
        mov     al, 'P'
        out     DEBUGCON_PORT, al
        mov     al, 10
        out     DEBUGCON_PORT, al
.park:  cli
        hlt
        jmp     .park
trampoline_end:
