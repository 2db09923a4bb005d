/*
 * File-backed SSMSTRMOPS (see ssm_file.h).
 */
#include "ssm_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <vmm/err.h>

#define LOW_SPACE_BYTES (UINT64_C(10) << 20)

static int errno_status(int e)
{
    switch (e) {
    case ENOENT: return VERR_FILE_NOT_FOUND;
    case ENOSPC: case EDQUOT: return VERR_DISK_FULL;
    case EACCES: case EPERM: return VERR_ACCESS_DENIED;
    default: return VERR_WRITE_ERROR;
    }
}

int ssm_file_create(struct ssm_file *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
    f->path = strdup(path);
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        return VERR_NO_MEMORY;
    }
    snprintf(f->tmp, n, "%s.tmp-XXXXXX", path);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int rc = errno_status(errno);
        free(f->path);
        free(f->tmp);
        return rc;
    }
    f->writing = true;
    return VINF_SUCCESS;
}

int ssm_file_open(struct ssm_file *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    return f->fd < 0 ? (errno == ENOENT ? VERR_FILE_NOT_FOUND : errno_status(errno)) : VINF_SUCCESS;
}

static int file_write(void *user, uint64_t off, const void *buf, size_t len)
{
    struct ssm_file *f = user;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(f->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno_status(errno) : VERR_WRITE_ERROR;
        p += n; off += (uint64_t)n; len -= (size_t)n;
    }
    return VINF_SUCCESS;
}

static int file_read(void *user, uint64_t off, void *buf, size_t len, size_t *got)
{
    struct ssm_file *f = user;
    ssize_t n;
    do
        n = pread(f->fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        *got = 0;
        return VERR_READ_ERROR;
    }
    *got = (size_t)n;
    return VINF_SUCCESS;
}

static int file_seek(void *user, int64_t off, unsigned method, uint64_t *actual)
{
    (void)user; (void)off; (void)method; (void)actual;
    return VERR_NOT_SUPPORTED;         /* the format is written and read sequentially */
}

static uint64_t file_tell(void *user)
{
    struct ssm_file *f = user;
    off_t o = lseek(f->fd, 0, SEEK_CUR);
    return o < 0 ? 0 : (uint64_t)o;
}

static int file_size(void *user, uint64_t *size)
{
    struct ssm_file *f = user;
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return VERR_READ_ERROR;
    *size = (uint64_t)st.st_size;
    return VINF_SUCCESS;
}

/* As the API's file stream: refuse to go on with less than 10 MiB free. */
static int file_is_ok(void *user)
{
    struct ssm_file *f = user;
    struct statvfs sv;
    if (!f->writing || fstatvfs(f->fd, &sv) != 0)
        return VINF_SUCCESS;
    return (uint64_t)sv.f_bavail * sv.f_frsize < LOW_SPACE_BYTES ? VERR_SSM_LOW_ON_DISK_SPACE : VINF_SUCCESS;
}

static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

static int file_close(void *user, bool cancelled)
{
    struct ssm_file *f = user;
    int rc = VINF_SUCCESS;
    if (f->writing && !cancelled && fsync(f->fd) != 0)
        rc = errno_status(errno);
    if (close(f->fd) != 0 && RT_SUCCESS(rc) && f->writing)
        rc = errno_status(errno);
    f->fd = -1;
    if (f->writing) {
        if (cancelled || RT_FAILURE(rc))
            unlink(f->tmp);
        else if (rename(f->tmp, f->path) != 0) {
            rc = errno_status(errno);
            unlink(f->tmp);
        } else {
            sync_dir(f->path);
        }
        free(f->tmp);
        free(f->path);
        f->tmp = f->path = NULL;
    }
    return rc;
}

const SSMSTRMOPS ssm_file_ops = {
    .u32Version = SSMSTRMOPS_VERSION,
    .pfnWrite = file_write,
    .pfnRead = file_read,
    .pfnSeek = file_seek,
    .pfnTell = file_tell,
    .pfnSize = file_size,
    .pfnIsOk = file_is_ok,
    .pfnClose = file_close,
    .u32EndVersion = SSMSTRMOPS_VERSION,
};
