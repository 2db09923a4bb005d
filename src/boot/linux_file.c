/*
 * Maps a kernel file read-only.  Mapping instead of reading means a large
 * vmlinux (even one with debug info) costs no heap, and every parser works
 * on one bounded (pointer, size) pair.
 */
#include "linux_boot_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmm/err.h>

static int errno_status(int e)
{
    switch (e) {
    case ENOENT:  return VERR_FILE_NOT_FOUND;
    case EACCES:
    case EPERM:   return VERR_ACCESS_DENIED;
    case ENOTDIR: return VERR_PATH_NOT_FOUND;
    default:      return VERR_OPEN_FAILED;
    }
}

int linux_file_map(const char *path, const char *what, const uint8_t **data, size_t *size,
                   char *err, size_t err_size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return linux_err(err, err_size, errno_status(errno), "cannot open %s '%s': %s",
                         what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return linux_err(err, err_size, VERR_OPEN_FAILED, "%s '%s' is not a regular file",
                         what, path);
    }
    if (st.st_size == 0) {
        close(fd);
        return linux_err(err, err_size, VERR_BAD_EXE_FORMAT, "%s '%s' is empty", what, path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return linux_err(err, err_size, VERR_NO_MEMORY, "cannot map %s '%s': %s",
                         what, path, strerror(e));
    *data = p;
    *size = (size_t)st.st_size;
    return VINF_SUCCESS;
}

void linux_file_unmap(const uint8_t *data, size_t size)
{
    if (data)
        munmap((void *)data, size);
}
