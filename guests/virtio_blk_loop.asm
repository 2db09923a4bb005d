; Long mode: reads sectors 0..7 of a virtio-blk disk in a loop, forever,
; through guests/virtio_blk.inc, and checks each: sector k of the test's
; image holds the byte k+1 everywhere.  Prints "ok N" after every 64 reads
; (N counts up), "ERR" and exits with 6 on a wrong status or wrong data.
; The saved-state test saves it mid-loop and resumes it in another VM.
%include "include.inc"
        bits    64
        org     LOAD_HIGH
%include "virtio_blk.inc"

start:
        call    virtio_setup
        xor     r12d, r12d                      ; reads done
.next:  mov     esi, r12d
        and     esi, 7                          ; sector
        mov     byte [DATA], 0
        mov     byte [DATA + 511], 0
        xor     ebx, ebx                        ; VIRTIO_BLK_T_IN
        mov     edx, 2
        mov     r8d, DATA
        mov     r9d, 512
        push    rsi
        call    request
        pop     rsi
        test    al, al
        jnz     .bad
        inc     esi                             ; expected byte
        cmp     [DATA], sil
        jne     .bad
        cmp     [DATA + 511], sil
        jne     .bad
        inc     r12
        test    r12d, 63
        jnz     .next
        puts    m_ok
        mov     rax, r12
        shr     rax, 6
        call    print_dec
        putc    10
        jmp     .next
.bad:   puts    m_err
        exit    6

; prints rax in decimal (clobbers rax, rcx, rdx, rdi)
print_dec:
        lea     rdi, [decbuf + 20]
        mov     byte [rdi], 0
        mov     ecx, 10
.digit: xor     edx, edx
        div     rcx
        add     dl, '0'
        dec     rdi
        mov     [rdi], dl
        test    rax, rax
        jnz     .digit
        mov     rsi, rdi
.out:   lodsb
        test    al, al
        jz      .done
        out     DEBUGCON_PORT, al
        jmp     .out
.done:  ret


m_ok:   db "ok ", 0
m_err:  db "ERR", 10, 0
decbuf: times 21 db 0
