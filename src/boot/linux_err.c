/*
 * The Linux loader's error messages: one line into the caller's buffer,
 * returned together with the status so failures read `return linux_err(...)`.
 */
#include "linux_boot_internal.h"

#include <stdarg.h>
#include <stdio.h>

int linux_err(char *err, size_t err_size, int rc, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return rc;
}
