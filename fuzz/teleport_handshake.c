/*
 * libFuzzer target: the teleport handshake (src/cli/teleport_net.c) on
 * arbitrary bytes from the peer.  The first input byte picks the side
 * (even: target, odd: source); the rest is what the peer sends, written
 * into a socketpair that is then half-closed, so every read ends.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "../src/cli/teleport_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096 || sodium_init() < 0)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    if (write(sv[1], data + 1, size - 1) == (ssize_t)(size - 1)) {
        shutdown(sv[1], SHUT_WR);
        if (data[0] & 1) {
            struct teleport_conn c;
            memset(&c, 0, sizeof(c));
            c.fd = sv[0];
            c.cancel_fd = -1;
            (void)teleport_source_handshake(&c, "fuzz", "s3cret");
        } else {
            (void)teleport_target_handshake(sv[0], "s3cret");
        }
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
