; Interpreter gap (not in `make check`; PETREL_TEST_INTERP_GAPS=1): CLAC and
; STAC (0F 01 CA/CB) at CPL 0 in long mode.  KVM's emulator cannot emulate
; them, and the interpreter raises #UD, so the fallback ends in a guru
; meditation; Linux executes them around every user access when the CPU
; has SMAP.  Expected once fixed: prints "clac ok\n", exit 0x17 (code 0x2f).
bits 64
%include "include.inc"
org LOAD_HIGH

start:
        stac
        clac
        puts    msg
        exit    0x17

msg:    db "clac ok", 10, 0
