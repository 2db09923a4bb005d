; Real mode, one vCPU: prints "H\n", then halts with interrupts off, which
; only an NMI, INIT or reset ends.  Should the vCPU ever get past that HLT,
; the guest powers off with exit code 0x21.  A test suspends and resumes,
; saves and restores it: the VM must keep running (a resumed or restored
; vCPU is not taken out of HLT without a reason).
%include "include.inc"

        bits    16
        org     LOAD_REAL
start:
        cli
        putc    'H'
        putc    10
        hlt
        exit    0x21
