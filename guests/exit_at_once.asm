; The smallest guest: its first instruction asks for power-off through the
; debug-exit port (exit status (0x30 << 1) | 1 = 97).  bench/linux_boot.sh
; times `petrel run` on it: process start to the guest's first instruction
; and back out, an upper bound of the start-up latency.
%include "include.inc"
bits 16
org LOAD_REAL
    mov al, 0x30
    out DEBUGEXIT_PORT, al
    hlt
