; Long mode, one vCPU: enables kvmclock (MSR_KVM_SYSTEM_TIME_NEW) and then
; reads RDTSC and kvmclock in a loop forever, storing the latest values and
; the largest step between two consecutive reads, so a host test can tell
; whether guest time jumped (for example across a suspend).
%include "include.inc"
%define LAST_TSC     0x9000            ; qword
%define MAX_TSC_STEP 0x9008            ; qword
%define LAST_NS      0x9010            ; qword, kvmclock nanoseconds
%define MAX_NS_STEP  0x9018            ; qword
%define PVCLOCK      0xA000            ; pvclock_vcpu_time_info (32 bytes)
%define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
        bits    64
        org     LOAD_HIGH
start:
        xor     eax, eax
        mov     [MAX_TSC_STEP], rax
        mov     [MAX_NS_STEP], rax
        mov     ecx, MSR_KVM_SYSTEM_TIME_NEW
        mov     eax, PVCLOCK | 1        ; enable
        xor     edx, edx
        wrmsr
        call    read_tsc
        mov     r8, rax
        call    read_kvmclock
        mov     r9, rax
.loop:  call    read_tsc
        mov     [LAST_TSC], rax
        mov     rbx, rax
        sub     rbx, r8
        mov     r8, rax
        cmp     rbx, [MAX_TSC_STEP]
        jbe     .ns
        mov     [MAX_TSC_STEP], rbx
.ns:    call    read_kvmclock
        mov     [LAST_NS], rax
        mov     rbx, rax
        sub     rbx, r9
        mov     r9, rax
        cmp     rbx, [MAX_NS_STEP]
        jbe     .loop
        mov     [MAX_NS_STEP], rbx
        jmp     .loop

read_tsc:
        rdtsc
        shl     rdx, 32
        or      rax, rdx
        ret

; rax = system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32
read_kvmclock:
.retry: mov     r10d, [PVCLOCK]         ; version: odd while KVM updates it
        test    r10d, 1
        jnz     .retry
        call    read_tsc
        sub     rax, [PVCLOCK + 8]
        movsx   ecx, byte [PVCLOCK + 28]
        test    ecx, ecx
        js      .right
        shl     rax, cl
        jmp     .scale
.right: neg     ecx
        shr     rax, cl
.scale: mov     edx, [PVCLOCK + 24]
        mul     rdx
        shrd    rax, rdx, 32
        add     rax, [PVCLOCK + 16]
        cmp     r10d, [PVCLOCK]
        jne     .retry
        ret
