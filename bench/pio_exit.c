/*
 * bench/pio_exit: port-I/O exit throughput.  The guest pio_loop.bin (real
 * mode) does 1,000,000 OUTs to an unclaimed port and then writes the
 * debug-exit port.  It runs through Petrel (VMR3Create + PowerOn, timed
 * until the VM is OFF) and under a bare KVM_RUN loop in this program, in
 * the same run; the figure is exits per second and Petrel/bare.
 * Target: Petrel >= 0.9x the bare loop.
 *
 * usage: pio_exit [rounds]   (default 3; the best round of each is kept)
 *
 * The process is pinned to one host CPU (inherited by Petrel's EMT) so both
 * loops run under the same conditions; the rounds alternate.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>
#include <vmm/vmapi.h>
#include <vmm/vmm.h>

#define GUEST_IMAGE  PETREL_GUEST_DIR "/pio_loop.bin"
#define GUEST_LOAD   0x7c00
#define GUEST_OUTS   1000000.0
#define EXIT_PORT    0xf4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bare loop: the same guest under a dozen lines of raw KVM.  Returns seconds. */
static double bare_kvm_run(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm = ioctl(kvm, KVM_CREATE_VM, 0);
    size_t msz = 1 << 20;
    uint8_t *mem = mmap(NULL, msz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    FILE *f = fopen(GUEST_IMAGE, "rb");
    if (kvm < 0 || vm < 0 || mem == MAP_FAILED || !f || fread(mem + GUEST_LOAD, 1, 0x1000, f) == 0) {
        fprintf(stderr, "pio_exit: bare KVM set-up failed (%s)\n", strerror(errno));
        exit(1);
    }
    fclose(f);
    struct kvm_userspace_memory_region r = { .memory_size = msz, .userspace_addr = (uintptr_t)mem };
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
                               MAP_SHARED, vcpu, 0);
    struct kvm_sregs s;
    ioctl(vcpu, KVM_GET_SREGS, &s);
    s.cs.base = 0; s.cs.selector = 0;
    ioctl(vcpu, KVM_SET_SREGS, &s);
    struct kvm_regs g = { .rip = GUEST_LOAD, .rflags = 2 };
    ioctl(vcpu, KVM_SET_REGS, &g);
    double t0 = now_s();
    while (ioctl(vcpu, KVM_RUN, 0) == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port != EXIT_PORT)
        ;
    double t = now_s() - t0;
    if (run->exit_reason != KVM_EXIT_IO)
        fprintf(stderr, "pio_exit: bare loop stopped on exit reason %u\n", run->exit_reason);
    close(vcpu); close(vm); close(kvm);
    munmap(mem, msz);
    return t;
}

struct off_wait {
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    bool            off;
    double          t_off;
};

static void on_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE st, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm; (void)old;
    struct off_wait *w = user;
    if (st != VMSTATE_OFF && st != VMSTATE_GURU_MEDITATION)
        return;
    pthread_mutex_lock(&w->lock);
    w->off = true;
    w->t_off = now_s();
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static int config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)user;
    PCFGMNODE root = vmm->pfnCFGMR3GetRoot(vm), boot = NULL, con = NULL;
    int rc = CFGMR3InsertInteger(root, "RamSize", UINT64_C(2) << 20);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "ExecEngine", "kvm");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Boot", &boot);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Image", GUEST_IMAGE);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(boot, "Mode", "real");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/debugcon/0/Config", &con);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(con, "Output", "none");
    return rc;
}

/* The same guest through Petrel, from PowerOn to OFF.  Returns seconds. */
static double petrel_run(void)
{
    struct off_wait w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    PUVM uvm = NULL;
    int rc = VMR3Create(1, NULL, NULL, NULL, config, NULL, NULL, &uvm);
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "pio_exit: VMR3Create failed: %s\n", RTErrGetShort(rc));
        exit(1);
    }
    VMR3AtStateRegister(uvm, on_state, &w);
    double t0 = now_s();
    VMR3PowerOn(uvm);
    pthread_mutex_lock(&w.lock);
    while (!w.off)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    double t = w.t_off - t0;
    uint32_t code = 0;
    if (RT_FAILURE(VMR3GetGuestExitCode(uvm, &code)) || code != 3)
        fprintf(stderr, "pio_exit: the guest did not finish (exit code %u)\n", code);
    VMR3AtStateDeregister(uvm, on_state, &w);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
    return t;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("pio_exit: skipped, /dev/kvm is not usable here\n");
        return 0;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
    sched_setaffinity(0, sizeof(one), &one);
    setvbuf(stdout, NULL, _IOLBF, 0);
    double best_bare = 1e9, best_petrel = 1e9;
    for (int i = 0; i < rounds; i++) {
        double b = bare_kvm_run(), p = petrel_run();
        printf("round %d: bare %.0f exits/s, petrel %.0f exits/s\n", i + 1, GUEST_OUTS / b, GUEST_OUTS / p);
        if (b < best_bare) best_bare = b;
        if (p < best_petrel) best_petrel = p;
    }
    printf("pio_exit: bare KVM_RUN loop %.0f exits/s (%.2f us/exit), petrel %.0f exits/s (%.2f us/exit), "
           "ratio %.3f (target >= 0.9)\n", GUEST_OUTS / best_bare, best_bare * 1e6 / GUEST_OUTS,
           GUEST_OUTS / best_petrel, best_petrel * 1e6 / GUEST_OUTS, best_bare / best_petrel);
    return 0;
}
