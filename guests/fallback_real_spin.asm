; A real-mode guest that spins forever with interrupts off: under
; /KVM/InterpretUnpagedModes the interpreter runs it, and a power-off from
; outside must still stop it at once (poke).  Prints "spin\n".
bits 16
%include "include.inc"
org LOAD_REAL

start:
        cli
        puts    msg
.spin:  inc     eax
        jmp     .spin

msg:    db "spin", 10, 0
