; Long mode: a bare-metal virtio-blk driver (guests/virtio_blk.inc) reads
; sector 0 and prints it (a NUL-terminated string), writes WMSG to sector 1,
; flushes, and exits with 0x10.  Failures: see virtio_blk.inc, and
;   6 read failed  7 write failed  8 flush failed
%include "include.inc"
        bits    64
        org     LOAD_HIGH
%include "virtio_blk.inc"

start:
        call    virtio_setup
        ; read sector 0
        xor     ebx, ebx                        ; VIRTIO_BLK_T_IN
        xor     esi, esi
        mov     edx, 2                          ; data buffer device-writable
        mov     r8d, DATA
        mov     r9d, 512
        call    request
        test    al, al
        jz      .readok
        puts    m_read
        exit    6
.readok:
        puts    DATA
        ; write WMSG to sector 1
        mov     rsi, wmsg
        mov     rdi, WDATA
        mov     ecx, wmsg_len
        rep     movsb
        mov     ebx, 1                          ; VIRTIO_BLK_T_OUT
        mov     esi, 1
        xor     edx, edx
        mov     r8d, WDATA
        mov     r9d, 512
        call    request
        test    al, al
        jz      .writeok
        puts    m_write
        exit    7
.writeok:
        mov     ebx, 4                          ; VIRTIO_BLK_T_FLUSH
        xor     esi, esi
        xor     r9d, r9d
        call    request
        test    al, al
        jz      .flushok
        puts    m_flush
        exit    8
.flushok:
        puts    m_done
        exit    0x10



m_read:     db "read failed", 10, 0
m_write:    db "write failed", 10, 0
m_flush:    db "flush failed", 10, 0
m_done:     db "virtio-blk done", 10, 0
wmsg:       db "Written by the virtio guest", 0
wmsg_len    equ $ - wmsg
