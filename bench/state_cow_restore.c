/*
 * bench/state_cow_restore: restoring a large guest both ways in one run.
 * A counter guest (guests/state_counter.bin, interpreter) whose RAM above
 * 2 MiB is filled with pseudo-random data from the host (every page
 * touched, little to compress) is saved twice: plain (zstd "ram" units)
 * and with VMSAVE_F_RAW_RAM (a mappable "ramimage").  Each file is restored
 * into a fresh VM: VMR3LoadFromFile + VMR3Resume ("running"); the ratio
 * is plain / raw for that.  The deferred cost of the mapping is printed
 * too: reading every page of RAM once after the restore (page-cache faults
 * of the mapping, versus anonymous memory already filled), and the ratio
 * of the sums.
 *
 * usage: state_cow_restore [MiB]   (default 1024)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>
#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#include "core/vm_internal.h"

static const char *console = "/tmp/petrel-bench-cow.con";
static const char *plain_file = "/tmp/petrel-bench-cow-plain.sav";
static const char *raw_file = "/tmp/petrel-bench-cow-raw.sav";
static uint64_t ram_mib = 1024;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm; (void)user;
    PCFGMNODE root = CFGMR3GetRoot(vm), node = NULL;
    int rc = CFGMR3InsertInteger(root, "RamSize", ram_mib << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "interp");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Image", PETREL_GUEST_DIR "/state_counter.bin");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Mode", "real");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Output", console);
    return rc;
}

static PUVM create(void)
{
    PUVM uvm = NULL;
    if (RT_FAILURE(VMR3Create(1, NULL, NULL, NULL, ctor, NULL, NULL, &uvm))) {
        fprintf(stderr, "state_cow_restore: cannot create the VM\n");
        exit(1);
    }
    return uvm;
}

static void destroy(PUVM uvm)
{
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

static long console_size(void)
{
    FILE *f = fopen(console, "r");
    long n = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fclose(f);
    }
    return n;
}

static void fill_ram(PVM vm)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint64_t *p = (uint64_t *)(vm->ram.host + (2u << 20));
    for (uint64_t i = 0; i < (vm->ram.size - (2u << 20)) / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = x;
    }
}

/* Reads one byte of every page: the first touch after a restore. */
static double touch_all_s(PVM vm)
{
    double t0 = now_s();
    volatile uint8_t sum = 0;
    for (uint64_t off = 0; off < vm->ram.size; off += 4096)
        sum = (uint8_t)(sum + vm->ram.host[off]);
    (void)sum;
    return now_s() - t0;
}

struct restore_times { double load, resume, touch; };

static int restore(const char *file, struct restore_times *t)
{
    PUVM uvm = create();
    double t0 = now_s();
    int rc = VMR3LoadFromFile(uvm, file, NULL, NULL);
    t->load = now_s() - t0;
    if (RT_SUCCESS(rc))
        rc = VMR3Resume(uvm, VMRESUMEREASON_STATE_RESTORED);
    t->resume = now_s() - t0;
    VMR3Suspend(uvm, VMSUSPENDREASON_USER);
    t->touch = touch_all_s(VMR3GetVM(uvm));
    destroy(uvm);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        ram_mib = strtoull(argv[1], NULL, 0);
    unlink(console);
    PUVM uvm = create();
    VMR3PowerOn(uvm);
    while (console_size() < 6)         /* "T1\nT2\n" */
        usleep(5000);
    VMR3Suspend(uvm, VMSUSPENDREASON_USER);
    fill_ram(VMR3GetVM(uvm));
    bool suspended = false;
    double t0 = now_s();
    int rc = VMR3Save(uvm, plain_file, NULL, NULL, false, NULL, NULL, &suspended);
    double save_plain = now_s() - t0;
    t0 = now_s();
    if (RT_SUCCESS(rc))
        rc = VMR3SaveToFileEx(uvm, raw_file, VMSAVE_F_RAW_RAM, false, NULL, NULL, &suspended);
    double save_raw = now_s() - t0;
    destroy(uvm);
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "state_cow_restore: save failed: %d\n", rc);
        return 1;
    }
    /* Both files were just written: both restores read the page cache. */
    struct restore_times plain, raw;
    int rc1 = restore(plain_file, &plain);
    int rc2 = restore(raw_file, &raw);
    printf("state_cow_restore: %llu MiB guest, random RAM: save plain %.2f s, raw %.2f s\n",
           (unsigned long long)ram_mib, save_plain, save_raw);
    printf("  restore plain: load %.1f ms, running %.1f ms; then all RAM read once %.1f ms\n",
           plain.load * 1e3, plain.resume * 1e3, plain.touch * 1e3);
    printf("  restore raw:   load %.1f ms, running %.1f ms; then all RAM read once %.1f ms\n",
           raw.load * 1e3, raw.resume * 1e3, raw.touch * 1e3);
    printf("  plain/raw: restore-to-running %.0fx; with all RAM read once %.1fx (%s)\n", plain.resume / raw.resume,
           (plain.resume + plain.touch) / (raw.resume + raw.touch),
           RT_SUCCESS(rc1) && RT_SUCCESS(rc2) ? "ok" : "FAILED");
    unlink(plain_file);
    unlink(raw_file);
    unlink(console);
    return RT_SUCCESS(rc1) && RT_SUCCESS(rc2) ? 0 : 1;
}
