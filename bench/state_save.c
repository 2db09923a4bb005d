/*
 * bench/state_save: saving and restoring a VM whose RAM is full of
 * pseudo-random data (guests/state_fill.bin, 256 MiB, interpreter).
 * Save: VMR3Save to a file (plain, from SUSPENDED) in MiB/s of guest RAM,
 * beside a raw write() + fsync of the same RAM to a file in the same run
 * (the reference: what the disk takes without format, checksums or zstd).
 * Restore: VMR3LoadFromFile + VMR3Resume in ms.
 *
 * usage: state_save [MiB]   (default 256)
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

static const char *console = "/tmp/petrel-bench-state.con";
static const char *state_file = "/tmp/petrel-bench-state.sav";
static const char *raw_file = "/tmp/petrel-bench-state.raw";
static uint64_t ram_mib = 256;

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
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Image", PETREL_GUEST_DIR "/state_fill.bin");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Mode", "long");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &node);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Output", console);
    return rc;
}

static PUVM create(void)
{
    PUVM uvm = NULL;
    if (RT_FAILURE(VMR3Create(1, NULL, NULL, NULL, ctor, NULL, NULL, &uvm))) {
        fprintf(stderr, "state_save: cannot create the VM\n");
        exit(1);
    }
    return uvm;
}

static bool filled(void)
{
    char c = 0;
    FILE *f = fopen(console, "r");
    if (f) {
        c = (char)fgetc(f);
        fclose(f);
    }
    return c == 'F';
}

/* The reference: the guest's RAM written as it is, then fsync. */
static double raw_dump_s(PVM vm)
{
    double t0 = now_s();
    int fd = open(raw_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const uint8_t *p = vm->ram.host;
    for (uint64_t left = vm->ram.size; fd >= 0 && left;) {
        ssize_t n = write(fd, p, left > (8u << 20) ? (8u << 20) : (size_t)left);
        if (n <= 0)
            break;
        p += n;
        left -= (uint64_t)n;
    }
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        ram_mib = strtoull(argv[1], NULL, 0);
    unlink(console);
    PUVM uvm = create();
    VMR3PowerOn(uvm);
    while (!filled())
        usleep(10000);
    VMR3Suspend(uvm, VMSUSPENDREASON_USER);
    double raw = raw_dump_s(VMR3GetVM(uvm));
    bool suspended = false;
    double t0 = now_s();
    int rc = VMR3Save(uvm, state_file, NULL, NULL, false, NULL, NULL, &suspended);
    double save = now_s() - t0;
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "state_save: VMR3Save failed: %d\n", rc);
        return 1;
    }
    uvm = create();
    t0 = now_s();
    rc = VMR3LoadFromFile(uvm, state_file, NULL, NULL);
    double load = now_s() - t0;
    if (RT_SUCCESS(rc))
        rc = VMR3Resume(uvm, VMRESUMEREASON_STATE_RESTORED);
    double restore = now_s() - t0;
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    printf("state_save: %llu MiB of random RAM: save %.0f MiB/s, raw write+fsync %.0f MiB/s (save/raw %.2fx); "
           "restore to running %.1f ms (load %.1f ms, %.0f MiB/s) (%s)\n", (unsigned long long)ram_mib, (double)ram_mib / save,
           (double)ram_mib / raw, raw / save, restore * 1000, load * 1000, (double)ram_mib / load, RT_SUCCESS(rc) ? "ok" : "FAILED");
    unlink(state_file);
    unlink(raw_file);
    unlink(console);
    return RT_SUCCESS(rc) ? 0 : 1;
}
