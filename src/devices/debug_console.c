/*
 * Debug console (Bochs/QEMU "debugcon"): every byte the guest writes to port
 * 0xE9 goes to the configured output; reading the port returns 0xE9 so a
 * guest can detect the device.  Wider writes output their low byte.
 *
 * Config (/Devices/debugcon/0/Config):
 *   Output   "stdout" (default), "stderr", "none", or a file path (truncated).
 *
 * Output is line-buffered (flushed at '\n', when the buffer fills, and on
 * suspend, power off, reset and destroy); vCPUs may write concurrently.
 */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../core/vm_internal.h"

#define DEBUGCON_PORT 0xe9
#define DEBUGCON_PATH_MAX 4096
#define DEBUGCON_BUF 256

struct debugcon {
    pthread_mutex_t lock;
    int    fd;                         /* -1: output "none" */
    bool   own_fd;
    size_t used;
    char   buf[DEBUGCON_BUF];
};

static void debugcon_flush_locked(struct debugcon *dc)
{
    size_t off = 0;
    while (dc->fd >= 0 && off < dc->used) {
        ssize_t n = write(dc->fd, dc->buf + off, dc->used - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;                     /* output gone: drop rather than stall the guest */
        off += (size_t)n;
    }
    dc->used = 0;
}

static void debugcon_flush(void *state)
{
    struct debugcon *dc = state;
    pthread_mutex_lock(&dc->lock);
    debugcon_flush_locked(dc);
    pthread_mutex_unlock(&dc->lock);
}

static uint32_t debugcon_read(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque; (void)port; (void)size;
    return DEBUGCON_PORT;
}

static void debugcon_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct debugcon *dc = opaque;
    (void)port; (void)size;
    if (dc->fd < 0)
        return;
    char c = (char)(value & 0xff);
    pthread_mutex_lock(&dc->lock);
    dc->buf[dc->used++] = c;
    if (c == '\n' || dc->used == sizeof(dc->buf))
        debugcon_flush_locked(dc);
    pthread_mutex_unlock(&dc->lock);
}

static const struct io_port_ops debugcon_ops = { .read = debugcon_read, .write = debugcon_write };

static int debugcon_open_output(PVM vm, struct debugcon *dc, const char *out)
{
    dc->fd = -1;
    if (!strcmp(out, "stdout"))
        dc->fd = STDOUT_FILENO;
    else if (!strcmp(out, "stderr"))
        dc->fd = STDERR_FILENO;
    else if (strcmp(out, "none") != 0) {
        dc->fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (dc->fd < 0)
            return VMSetError(vm, errno == ENOENT ? VERR_PATH_NOT_FOUND : VERR_ACCESS_DENIED, RT_SRC_POS,
                              "debug console: cannot open the output file '%s': %s", out, strerror(errno));
        dc->own_fd = true;
    }
    return VINF_SUCCESS;
}

static void debugcon_destroy(void *state)
{
    struct debugcon *dc = state;
    if (!dc)
        return;
    debugcon_flush(dc);
    if (dc->own_fd)
        close(dc->fd);
    pthread_mutex_destroy(&dc->lock);
    free(dc);
}

static int debugcon_create(PVM vm, PCFGMNODE config, void **state)
{
    char out[DEBUGCON_PATH_MAX];
    int rc = config ? CFGMR3QueryStringDef(config, "Output", out, sizeof(out), "stdout")
                    : (strcpy(out, "stdout"), VINF_SUCCESS);
    if (RT_FAILURE(rc))
        return VMSetError(vm, rc, RT_SRC_POS, "debug console: bad /Devices/debugcon/*/Config/Output value");
    struct debugcon *dc = calloc(1, sizeof(*dc));
    if (!dc)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "debug console: out of memory");
    pthread_mutex_init(&dc->lock, NULL);
    rc = debugcon_open_output(vm, dc, out);
    if (RT_SUCCESS(rc)) {
        rc = io_bus_register_ports(vm->io, DEBUGCON_PORT, 1, &debugcon_ops, dc, "debugcon");
        if (RT_FAILURE(rc))
            rc = VMSetError(vm, rc, RT_SRC_POS, "debug console: port %#x is already taken", DEBUGCON_PORT);
    }
    if (RT_FAILURE(rc)) {
        debugcon_destroy(dc);
        return rc;
    }
    *state = dc;
    return VINF_SUCCESS;
}

const struct device_ops debug_console_device = {
    .name = "debugcon",
    .create = debugcon_create,
    .destroy = debugcon_destroy,
    .reset = debugcon_flush,
    .suspend = debugcon_flush,
    .power_off = debugcon_flush,
};
