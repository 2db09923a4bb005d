; A multiboot v1 test kernel (a.out kludge, loaded at 1 MiB).  Checks what
; the loader promises and prints it on the debug console:
;   EAX = 0x2BADB002, EBX = the information structure, flat 32-bit, paging off;
;   flags with memory, command line, modules and the memory map;
;   the command line, and the module's first bytes;
; then exits with (0x33 << 1) | 1 = 103, or with 0x01 (status 3) on a mismatch.
%include "include.inc"
        bits    32
        org     LOAD_HIGH

MB_MAGIC equ    0x1BADB002
MB_FLAGS equ    (1 << 1) | (1 << 16)            ; memory info, a.out kludge
header:
        dd      MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        dd      header, LOAD_HIGH, load_end, bss_end, start

start:
        cmp     eax, 0x2BADB002
        jne     fail
        mov     esp, stack_top
        mov     ebp, ebx                          ; the info structure
        mov     eax, cr0
        test    eax, 0x80000000                   ; paging off
        jnz     fail
        mov     eax, [ebp]                        ; flags: mem, cmdline, mods, mmap
        and     eax, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6)
        cmp     eax, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6)
        jne     fail
        cmp     dword [ebp + 8], 1024             ; mem_upper >= 1 MiB (KiB)
        jb      fail
        cmp     dword [ebp + 44], 24              ; mmap_length: at least one entry
        jb      fail
        cmp     dword [bss_word], 0               ; the loader cleared the bss
        jne     fail
        puts    msg_cmd
        mov     esi, [ebp + 16]                   ; the command line
        call    print
        putc    10
        cmp     dword [ebp + 20], 1               ; one module
        jne     fail
        puts    msg_mod
        mov     esi, [ebp + 24]
        mov     esi, [esi]                        ; mod_start
        mov     ecx, 8
.mod:   lodsb
        out     DEBUGCON_PORT, al
        loop    .mod
        putc    10
        exit    0x33
fail:
        puts    msg_fail
        exit    0x01

print:  lodsb
        test    al, al
        jz      .done
        out     DEBUGCON_PORT, al
        jmp     print
.done:  ret

msg_cmd:  db "multiboot: cmdline=", 0
msg_mod:  db "multiboot: module=", 0
msg_fail: db "multiboot: FAIL", 10, 0
load_end:

section .bss align=4
bss_word: resd  1
        resb    4096
stack_top:
bss_end:
