/*
 * The initial ramdisk: read straight into guest RAM (no host copy) at the
 * highest page-aligned address that ends below both the top of low RAM and
 * the kernel's initrd_addr_max, as boot loaders conventionally do, above
 * everything the kernel occupies.
 */
#include "linux_boot_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmm/err.h>

static int read_all(int fd, uint8_t *dst, uint64_t size)
{
    while (size) {
        ssize_t n = read(fd, dst, size > (1u << 30) ? (1u << 30) : (size_t)size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? VERR_EOF : VERR_FILE_IO_ERROR;
        dst += n;
        size -= (uint64_t)n;
    }
    return VINF_SUCCESS;
}

static int initrd_place(const struct guest_ram *ram, uint64_t size, uint64_t lowest, uint64_t addr_max,
                        uint64_t *addr, char *err, size_t err_size)
{
    uint64_t top = ram->low_size;
    if (addr_max + 1 < top)
        top = addr_max + 1;
    if (size > top || ((top - size) & ~(uint64_t)(GUEST_PAGE_SIZE - 1)) < lowest)
        return linux_err(err, err_size, VERR_OUT_OF_RANGE,
                         "too little guest RAM for the %llu-byte initrd: it must fit between the kernel's "
                         "end (0x%llx) and 0x%llx; give the VM more memory", (unsigned long long)size,
                         (unsigned long long)lowest, (unsigned long long)top);
    *addr = (top - size) & ~(uint64_t)(GUEST_PAGE_SIZE - 1);
    return VINF_SUCCESS;
}

int linux_initrd_load(struct guest_ram *ram, const char *path, uint64_t lowest, uint64_t addr_max,
                      uint64_t *addr, uint64_t *size, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return linux_err(err, err_size, errno == ENOENT ? VERR_FILE_NOT_FOUND : VERR_OPEN_FAILED,
                         "cannot open initrd '%s': %s", path, strerror(errno));
    struct stat st;
    int rc = VINF_SUCCESS;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        rc = linux_err(err, err_size, VERR_OPEN_FAILED, "initrd '%s' is not a non-empty regular file", path);
    if (RT_SUCCESS(rc))
        rc = initrd_place(ram, (uint64_t)st.st_size, lowest, addr_max, addr, err, err_size);
    if (RT_SUCCESS(rc)) {
        *size = (uint64_t)st.st_size;
        rc = read_all(fd, guest_ram_ptr(ram, *addr, *size), *size);
        if (RT_FAILURE(rc))
            linux_err(err, err_size, rc, "cannot read initrd '%s': %s", path,
                      rc == VERR_EOF ? "file shrank while reading" : strerror(errno));
    }
    close(fd);
    return rc;
}
