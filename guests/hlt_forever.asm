; Real mode: halts with interrupts off, forever (the host CPU must stay idle).
%include "include.inc"
        bits    16
        org     LOAD_REAL
start:
        halt_forever
