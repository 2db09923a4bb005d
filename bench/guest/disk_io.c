/*
 * Disk figures with O_DIRECT, the same program on the host and in the guest
 * (bench/linux_disk.sh builds it with `gcc -static` and puts it into a
 * benchmark initramfs): sequential write and read in 1 MiB blocks over the
 * first MIB MiB of PATH, then 4 KiB reads at random aligned offsets in that
 * range for SECONDS.  Prints one line per figure:
 *   disk_io: seq-write MiB/s
 *   disk_io: seq-read MiB/s
 *   disk_io: rand-read-4k IOPS
 *
 * usage: disk_io PATH MIB [SECONDS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1u << 20)
#define SMALL 4096u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
    perror(what);
    return 1;
}

/* Sequential pass over mib MiB; returns MiB/s, or a negative value on an error. */
static double sequential(int fd, unsigned char *buf, unsigned mib, int write_pass)
{
    double t0 = now();
    for (unsigned i = 0; i < mib; i++) {
        ssize_t n = write_pass ? pwrite(fd, buf, BLOCK, (off_t)i * BLOCK) : pread(fd, buf, BLOCK, (off_t)i * BLOCK);
        if (n != (ssize_t)BLOCK)
            return -1;
    }
    if (write_pass && fdatasync(fd) != 0)
        return -1;
    return mib / (now() - t0);
}

/* 4 KiB reads at random 4 KiB-aligned offsets for `seconds`; returns IOPS. */
static double random_reads(int fd, unsigned char *buf, unsigned mib, double seconds)
{
    uint64_t x = 0x9e3779b97f4a7c15ull, blocks = (uint64_t)mib * (BLOCK / SMALL), done = 0;
    double t0 = now(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 64; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (pread(fd, buf, SMALL, (off_t)(x % blocks * SMALL)) != (ssize_t)SMALL)
                return -1;
        }
        done += 64;
        t = now();
    }
    return done / (t - t0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: disk_io PATH MIB [SECONDS]\n");
        return 2;
    }
    unsigned mib = (unsigned)strtoul(argv[2], NULL, 0);
    double seconds = argc > 3 ? strtod(argv[3], NULL) : 3.0;
    int fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0)
        return fail(argv[1]);
    unsigned char *buf;
    if (posix_memalign((void **)&buf, SMALL, BLOCK) != 0)
        return fail("posix_memalign");
    for (unsigned i = 0; i < BLOCK; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    double w = sequential(fd, buf, mib, 1);
    if (w < 0)
        return fail("sequential write");
    printf("disk_io: seq-write %.1f MiB/s\n", w);
    fflush(stdout);
    double r = sequential(fd, buf, mib, 0);
    if (r < 0)
        return fail("sequential read");
    printf("disk_io: seq-read %.1f MiB/s\n", r);
    fflush(stdout);
    double iops = random_reads(fd, buf, mib, seconds);
    if (iops < 0)
        return fail("random read");
    printf("disk_io: rand-read-4k %.0f IOPS\n", iops);
    close(fd);
    return 0;
}
