; Long mode: a bare-metal virtio-blk driver.  Finds the device on PCI bus 0
; through 0xCF8/0xCFC, sizes BAR0 and moves it to BAR_ADDR, enables memory
; decoding, finds the common and notify structures through the vendor
; capabilities, negotiates VERSION_1, sets up queue 0 (8 entries) and then,
; polling the used ring (no interrupts):
;   reads sector 0 and prints it (a NUL-terminated string),
;   writes WMSG to sector 1, flushes,
; and exits with 0x10.  Failures print a line and exit with:
;   1 no device  2 BAR size  3 capabilities  4 FEATURES_OK refused
;   5 NEEDS_RESET  6 read failed  7 write failed  8 flush failed  9 timeout
%include "include.inc"
        bits    64
        org     LOAD_HIGH

%define BAR_ADDR 0xFE000000
%define RING     0x200000
%define DESC     RING
%define AVAIL    (RING + 0x1000)
%define USED     (RING + 0x2000)
%define HDR      (RING + 0x3000)
%define STATUSB  (RING + 0x3100)
%define DATA     (RING + 0x4000)
%define WDATA    (RING + 0x5000)

start:
        xor     r12d, r12d                      ; slot
.scan:  mov     r13d, r12d
        shl     r13d, 11
        or      r13d, 0x80000000                ; CONFIG_ADDRESS of slot r12, function 0
        xor     esi, esi
        call    cfg_read
        cmp     eax, 0x10421AF4                 ; virtio 1.x block device
        je      found
        inc     r12d
        cmp     r12d, 32
        jb      .scan
        puts    m_nodev
        exit    1

found:  ; BAR0 sizing, then place it where we want it
        mov     esi, 0x10
        mov     edi, 0xFFFFFFFF
        call    cfg_write
        call    cfg_read
        and     eax, 0xFFFFFFF0
        neg     eax
        cmp     eax, 0x4000
        je      .sized
        puts    m_bar
        exit    2
.sized: mov     edi, BAR_ADDR
        call    cfg_write
        mov     esi, 0x14
        xor     edi, edi
        call    cfg_write
        mov     esi, 0x04
        mov     edi, 0x0006                     ; memory space + bus master
        call    cfg_write

        ; capabilities: r14 = common cfg offset, r15 = notify offset
        mov     r14d, -1
        mov     r15d, -1
        mov     esi, 0x34
        call    cfg_read
        movzx   ebx, al
.cap:   test    ebx, ebx
        jz      .capdone
        mov     esi, ebx
        call    cfg_read
        mov     ecx, eax
        shr     ecx, 24                         ; cfg_type
        movzx   ebp, ah                         ; next
        cmp     al, 0x09
        jne     .next
        lea     esi, [rbx + 8]
        call    cfg_read                        ; offset within the BAR
        cmp     ecx, 1
        jne     .notcommon
        mov     r14d, eax
.notcommon:
        cmp     ecx, 2
        jne     .next
        mov     r15d, eax
        lea     esi, [rbx + 16]
        call    cfg_read
        mov     [notify_mult], eax
.next:  mov     ebx, ebp
        jmp     .cap
.capdone:
        cmp     r14d, -1
        je      .nocaps
        cmp     r15d, -1
        jne     .caps
.nocaps:
        puts    m_caps
        exit    3
.caps:  mov     ecx, BAR_ADDR
        add     r14, rcx
        add     r15, rcx

        ; reset, ACKNOWLEDGE, DRIVER, VERSION_1, FEATURES_OK
        mov     byte [r14 + 0x14], 0
        mov     byte [r14 + 0x14], 1
        mov     byte [r14 + 0x14], 3
        mov     dword [r14 + 0x08], 1
        mov     dword [r14 + 0x0C], 1           ; feature bit 32
        mov     byte [r14 + 0x14], 0x0B
        test    byte [r14 + 0x14], 0x08
        jnz     .featok
        puts    m_feat
        exit    4
.featok:
        ; queue 0: 8 entries, rings zeroed
        mov     rdi, RING
        mov     ecx, 0x3000 / 8
        xor     eax, eax
        rep     stosq
        mov     word [r14 + 0x16], 0
        mov     word [r14 + 0x18], 8
        mov     dword [r14 + 0x20], DESC
        mov     dword [r14 + 0x24], 0
        mov     dword [r14 + 0x28], AVAIL
        mov     dword [r14 + 0x2C], 0
        mov     dword [r14 + 0x30], USED
        mov     dword [r14 + 0x34], 0
        mov     word [r14 + 0x1C], 1
        movzx   eax, word [r14 + 0x1E]          ; queue_notify_off
        imul    eax, [notify_mult]
        add     r15, rax
        mov     byte [r14 + 0x14], 0x0F         ; DRIVER_OK
        test    byte [r14 + 0x14], 0x40
        jz      .live
        puts    m_reset
        exit    5
.live:
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

; eax = config dword at register esi of the function r13 (clobbers dx)
cfg_read:
        mov     eax, r13d
        or      eax, esi
        mov     dx, 0xCF8
        out     dx, eax
        mov     dx, 0xCFC
        in      eax, dx
        ret

; config dword at register esi = edi (clobbers eax, dx)
cfg_write:
        mov     eax, r13d
        or      eax, esi
        mov     dx, 0xCF8
        out     dx, eax
        mov     eax, edi
        mov     dx, 0xCFC
        out     dx, eax
        ret

; One request: type ebx, sector rsi, data flags edx at r8 (r9d bytes; 0 = no
; data).  Kicks, polls the used ring, returns the status byte in al.
request:
        mov     dword [HDR], ebx
        mov     dword [HDR + 4], 0
        mov     [HDR + 8], rsi
        mov     byte [STATUSB], 0xFF
        mov     qword [DESC], HDR               ; 0: header
        mov     dword [DESC + 8], 16
        mov     word [DESC + 12], 1             ; NEXT
        mov     word [DESC + 14], 1
        mov     [DESC + 16], r8                 ; 1: data
        mov     [DESC + 24], r9d
        or      edx, 1
        mov     [DESC + 28], dx
        mov     word [DESC + 30], 2
        mov     qword [DESC + 32], STATUSB      ; 2: status
        mov     dword [DESC + 40], 1
        mov     word [DESC + 44], 2             ; WRITE
        mov     word [DESC + 46], 0
        test    r9d, r9d
        jnz     .offer
        mov     word [DESC + 14], 2             ; no data: header -> status
.offer: movzx   eax, word [AVAIL + 2]
        mov     ecx, eax
        and     ecx, 7
        mov     word [AVAIL + 4 + rcx * 2], 0
        inc     eax
        mfence
        mov     [AVAIL + 2], ax
        mfence
        mov     word [r15], 0                   ; notify queue 0
        mov     ecx, 100000000
.poll:  movzx   eax, word [USED + 2]
        cmp     ax, [used_seen]
        jne     .used
        pause
        dec     ecx
        jnz     .poll
        puts    m_timeout
        exit    9
.used:  inc     word [used_seen]
        mov     al, [STATUSB]
        ret

notify_mult: dd 0
used_seen:   dw 0
m_nodev:    db "no virtio-blk device", 10, 0
m_bar:      db "BAR0 is not 16 KiB", 10, 0
m_caps:     db "virtio capabilities missing", 10, 0
m_feat:     db "FEATURES_OK refused", 10, 0
m_reset:    db "device needs reset", 10, 0
m_read:     db "read failed", 10, 0
m_write:    db "write failed", 10, 0
m_flush:    db "flush failed", 10, 0
m_timeout:  db "timeout", 10, 0
m_done:     db "virtio-blk done", 10, 0
wmsg:       db "Written by the virtio guest", 0
wmsg_len    equ $ - wmsg
