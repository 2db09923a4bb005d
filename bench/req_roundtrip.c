/*
 * Request round trip: how long VMR3ReqCallWaitU takes to run an empty
 * function on an EMT and come back, next to the floor set by the host: a
 * futex ping-pong between two plain threads, measured in the same run.
 *
 *   1. to an idle EMT (1-vCPU VM in the CREATED state, no guest);
 *   2. to a running vCPU (1-vCPU VM spinning in guest code; the request
 *      is sent with VMREQFLAGS_POKE so the EMT leaves guest code at once).
 *
 * Usage: req_roundtrip [iterations]   (default 100000)
 * The target is median(idle EMT) <= 1.5 x median(futex ping-pong).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmm/vmapi.h>
#include "core/sem_event.h"

#define DEFAULT_ITERATIONS 100000
#define WARMUP 1000

struct stats {
    double median_us, p99_us, mean_us;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static struct stats summarize(uint64_t *ns, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ns[i];
    qsort(ns, n, sizeof(*ns), cmp_u64);
    return (struct stats){
        .median_us = ns[n / 2] / 1000.0,
        .p99_us = ns[(n * 99) / 100] / 1000.0,
        .mean_us = (double)sum / (double)n / 1000.0,
    };
}

static void print_stats(const char *what, struct stats s)
{
    printf("%-34s median %7.2f us   p99 %7.2f us   mean %7.2f us\n", what, s.median_us, s.p99_us, s.mean_us);
}

/* ---- the floor: futex ping-pong ----------------------------------------- */

/* The word counts hand-overs: odd = ping's turn is over, even = pong's. */
static atomic_uint pp_word;
static size_t pp_rounds;

static void pp_wait_for(unsigned value)
{
    unsigned cur;
    while ((cur = atomic_load(&pp_word)) != value)
        futex_wait_u32(&pp_word, cur, 0);
}

static void *pong_thread(void *arg)
{
    (void)arg;
    for (size_t k = 0; k < pp_rounds; k++) {
        pp_wait_for(2 * (unsigned)k + 1);
        atomic_store(&pp_word, 2 * (unsigned)k + 2);
        futex_wake_u32(&pp_word, 1);
    }
    return NULL;
}

static struct stats measure_ping_pong(uint64_t *ns, size_t n)
{
    pthread_t pong;
    atomic_store(&pp_word, 0);
    pp_rounds = n + WARMUP;
    if (pthread_create(&pong, NULL, pong_thread, NULL) != 0) {
        perror("pthread_create");
        exit(1);
    }
    for (size_t k = 0; k < pp_rounds; k++) {
        uint64_t t0 = time_now_ns();
        atomic_store(&pp_word, 2 * (unsigned)k + 1);
        futex_wake_u32(&pp_word, 1);
        pp_wait_for(2 * (unsigned)k + 2);
        if (k >= WARMUP)
            ns[k - WARMUP] = time_now_ns() - t0;
    }
    pthread_join(pong, NULL);
    return summarize(ns, n);
}

/* ---- requests ------------------------------------------------------------ */

static int empty_request(void)
{
    return VINF_SUCCESS;
}

static struct stats measure_requests(PUVM uvm, uint32_t flags, uint64_t *ns, size_t n)
{
    for (size_t k = 0; k < n + WARMUP; k++) {
        uint64_t t0 = time_now_ns();
        int rc;
        if (flags == VMREQFLAGS_VBOX_STATUS) {
            rc = VMR3ReqCallWaitU(uvm, 0, (PFNRT)empty_request, 0);
        } else {
            /* VMR3ReqCallWaitU has no flags argument: the same thing by hand. */
            PVMREQ req = NULL;
            rc = VMR3ReqCallU(uvm, 0, &req, RT_INDEFINITE_WAIT, flags, (PFNRT)empty_request, 0);
            if (rc == VINF_SUCCESS)
                rc = req->iStatus;
            VMR3ReqFree(req);
        }
        uint64_t t1 = time_now_ns();
        if (rc != VINF_SUCCESS) {
            fprintf(stderr, "req_roundtrip: request failed, rc=%d\n", rc);
            exit(1);
        }
        if (k >= WARMUP)
            ns[k - WARMUP] = t1 - t0;
    }
    return summarize(ns, n);
}

/* ---- VMs ------------------------------------------------------------------- */

struct vm_config {
    const char *image;      /* NULL: no guest */
    const char *mode;       /* /Boot/Mode */
};

static int bench_config(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    (void)uvm; (void)vmm;
    const struct vm_config *cfg = user;
    PCFGMNODE root = CFGMR3GetRoot(vm);
    int rc = CFGMR3InsertInteger(root, "NumCPUs", 1);
    if (RT_SUCCESS(rc))
        rc = CFGMR3InsertInteger(root, "RamSize", 16 * 1024 * 1024);
    if (RT_SUCCESS(rc) && cfg->image) {
        /* Load address and entry: the loader's defaults for the mode. */
        PCFGMNODE boot = NULL;
        rc = CFGMR3InsertNode(root, "Boot", &boot);
        if (RT_SUCCESS(rc))
            rc = CFGMR3InsertString(boot, "Image", cfg->image);
        if (RT_SUCCESS(rc))
            rc = CFGMR3InsertString(boot, "Mode", cfg->mode);
    }
    return rc;
}

static void vm_done(PUVM uvm)
{
    VMR3PowerOff(uvm);
    VMR3Destroy(uvm);
    VMR3ReleaseUVM(uvm);
}

/*
 * The spinning guest: guests/busy_loop.asm (long mode, never exits) when
 * the build has it, otherwise a two-byte real-mode "jmp $" written to a
 * temporary file.
 */
static const char *spin_image(char *tmp, size_t cb, const char **mode)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/busy_loop.bin", PETREL_GUEST_DIR);
    *mode = "long";
    if (access(path, R_OK) == 0)
        return path;
    *mode = "real";
    snprintf(tmp, cb, "/tmp/petrel-bench-spin-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return NULL;
    static const unsigned char jmp_self[] = { 0xeb, 0xfe };
    bool ok = write(fd, jmp_self, sizeof(jmp_self)) == (ssize_t)sizeof(jmp_self);
    close(fd);
    return ok ? tmp : NULL;
}

static void bench_running_vcpu(uint64_t *ns, size_t n, double floor_us)
{
    char tmp[64] = "";
    struct vm_config cfg = { NULL, NULL };
    cfg.image = spin_image(tmp, sizeof(tmp), &cfg.mode);
    PUVM uvm = NULL;
    int rc = cfg.image ? VMR3Create(1, NULL, NULL, NULL, bench_config, &cfg, NULL, &uvm) : VERR_FILE_NOT_FOUND;
    if (RT_SUCCESS(rc)) {
        rc = VMR3PowerOn(uvm);
        if (RT_FAILURE(rc))
            vm_done(uvm);
    }
    if (RT_SUCCESS(rc)) {
        struct stats s = measure_requests(uvm, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE, ns, n);
        print_stats("VMR3ReqCallU(POKE), running vCPU", s);
        printf("%-34s %.2fx\n", "  ratio to ping-pong (median)", s.median_us / floor_us);
        vm_done(uvm);
    } else {
        printf("running vCPU: skipped (no spinning guest could be started, rc=%d)\n", rc);
    }
    if (tmp[0])
        unlink(tmp);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : DEFAULT_ITERATIONS;
    if (n < 100)
        n = 100;
    uint64_t *ns = calloc(n, sizeof(*ns));
    if (!ns)
        return 1;

    printf("req_roundtrip: %zu round trips each\n", n);
    struct stats floor = measure_ping_pong(ns, n);
    print_stats("futex ping-pong (2 threads)", floor);

    struct vm_config idle = { NULL, NULL };
    PUVM uvm = NULL;
    int rc = VMR3Create(1, NULL, NULL, NULL, bench_config, &idle, NULL, &uvm);
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "req_roundtrip: VMR3Create failed, rc=%d\n", rc);
        return 1;
    }
    struct stats s = measure_requests(uvm, VMREQFLAGS_VBOX_STATUS, ns, n);
    print_stats("VMR3ReqCallWaitU, idle EMT", s);
    double ratio = s.median_us / floor.median_us;
    printf("%-34s %.2fx (target <= 1.50x) %s\n", "  ratio to ping-pong (median)", ratio,
           ratio <= 1.5 ? "OK" : "OVER");
    vm_done(uvm);

    bench_running_vcpu(ns, n, floor.median_us);
    free(ns);
    return 0;
}
