/*
 * Request round trip: how long VMR3ReqCallWaitU takes to run an empty
 * function on an EMT and come back, next to the floor set by the host: a
 * futex ping-pong between two plain threads, measured in the same run.
 *
 *   1. to an idle EMT (1-vCPU VM in the CREATED state, no guest);
 *   2. to a running vCPU (1-vCPU VM spinning in guest code; the request
 *      is sent with VMREQFLAGS_POKE so the EMT leaves guest code at once).
 *
 * The two measurements of a pair alternate in chunks, so that a busy host
 * slows both alike and the ratio stays meaningful.
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
#define CHUNK  1000              /* round trips per measurement before switching */
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
    printf("%-36s median %8.2f us   p99 %8.2f us   mean %8.2f us\n", what, s.median_us, s.p99_us, s.mean_us);
}

/* ---- the floor: futex ping-pong ----------------------------------------- */

/*
 * One word counts hand-overs: ping makes it odd, pong makes it even; each
 * side sleeps on the futex until the other side has moved it on.
 */
static atomic_uint pp_word;

static void pp_wait_for(unsigned value)
{
    unsigned cur;
    while ((cur = atomic_load(&pp_word)) != value)
        futex_wait_u32(&pp_word, cur, 0);
}

static void pp_set(unsigned value)
{
    atomic_store(&pp_word, value);
    futex_wake_u32(&pp_word, 1);
}

static void *pong_thread(void *arg)
{
    size_t rounds = *(const size_t *)arg;
    for (size_t k = 0; k < rounds; k++) {
        pp_wait_for(2 * (unsigned)k + 1);
        pp_set(2 * (unsigned)k + 2);
    }
    return NULL;
}

/* `count` ping-pong round trips into ns[] (none recorded if ns is NULL). */
static void ping_pong_chunk(uint64_t *ns, size_t count)
{
    pthread_t pong;
    atomic_store(&pp_word, 0);
    if (pthread_create(&pong, NULL, pong_thread, &count) != 0) {
        perror("pthread_create");
        exit(1);
    }
    for (size_t k = 0; k < count; k++) {
        uint64_t t0 = time_now_ns();
        pp_set(2 * (unsigned)k + 1);
        pp_wait_for(2 * (unsigned)k + 2);
        if (ns)
            ns[k] = time_now_ns() - t0;
    }
    pthread_join(pong, NULL);
}

/* ---- requests ------------------------------------------------------------ */

static int empty_request(void)
{
    return VINF_SUCCESS;
}

static int round_trip(PUVM uvm, uint32_t flags)
{
    if (flags == VMREQFLAGS_VBOX_STATUS)
        return VMR3ReqCallWaitU(uvm, 0, (PFNRT)empty_request, 0);
    /* VMR3ReqCallWaitU has no flags argument: the same thing by hand. */
    PVMREQ req = NULL;
    int rc = VMR3ReqCallU(uvm, 0, &req, RT_INDEFINITE_WAIT, flags, (PFNRT)empty_request, 0);
    if (rc == VINF_SUCCESS)
        rc = req->iStatus;
    VMR3ReqFree(req);
    return rc;
}

static void request_chunk(PUVM uvm, uint32_t flags, uint64_t *ns, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        uint64_t t0 = time_now_ns();
        int rc = round_trip(uvm, flags);
        uint64_t t1 = time_now_ns();
        if (rc != VINF_SUCCESS) {
            fprintf(stderr, "req_roundtrip: request failed, rc=%d\n", rc);
            exit(1);
        }
        if (ns)
            ns[k] = t1 - t0;
    }
}

/* Requests and ping-pong alternately, CHUNK at a time; prints both and the ratio. */
static void compare(PUVM uvm, uint32_t flags, const char *what, size_t n, bool check_target)
{
    uint64_t *req_ns = calloc(n, sizeof(uint64_t));
    uint64_t *pp_ns = calloc(n, sizeof(uint64_t));
    if (!req_ns || !pp_ns)
        exit(1);
    request_chunk(uvm, flags, NULL, WARMUP);
    ping_pong_chunk(NULL, WARMUP);
    for (size_t done = 0; done < n; done += CHUNK) {
        size_t count = n - done < CHUNK ? n - done : CHUNK;
        request_chunk(uvm, flags, req_ns + done, count);
        ping_pong_chunk(pp_ns + done, count);
    }
    struct stats r = summarize(req_ns, n), p = summarize(pp_ns, n);
    print_stats(what, r);
    print_stats("  futex ping-pong, same run", p);
    double ratio = r.median_us / p.median_us;
    if (check_target)
        printf("  ratio (median)                     %.2fx  (target <= 1.50x: %s)\n", ratio,
               ratio <= 1.5 ? "met" : "NOT met");
    else
        printf("  ratio (median)                     %.2fx\n", ratio);
    free(req_ns);
    free(pp_ns);
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

struct power_off_job {
    PUVM uvm;
    atomic_bool done;
};

static void *power_off_thread(void *arg)
{
    struct power_off_job *job = arg;
    VMR3PowerOff(job->uvm);
    atomic_store(&job->done, true);
    return NULL;
}

/*
 * Powers off, destroys and releases.  The power-off runs on a helper
 * thread while this one keeps poking vCPU 0: a guest that never exits
 * would otherwise not notice a power-off request that was queued without
 * VMREQFLAGS_POKE (harmless once notifications always kick running vCPUs).
 */
static void vm_done(PUVM uvm)
{
    struct power_off_job job = { .uvm = uvm };
    pthread_t helper;
    if (pthread_create(&helper, NULL, power_off_thread, &job) == 0) {
        while (!atomic_load(&job.done)) {
            VMR3ReqCallU(uvm, 0, NULL, 0, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_NO_WAIT | VMREQFLAGS_POKE,
                         (PFNRT)empty_request, 0);
            usleep(1000);
        }
        pthread_join(helper, NULL);
    } else {
        VMR3PowerOff(uvm);
    }
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

static void bench_idle_emt(size_t n)
{
    struct vm_config idle = { NULL, NULL };
    PUVM uvm = NULL;
    int rc = VMR3Create(1, NULL, NULL, NULL, bench_config, &idle, NULL, &uvm);
    if (RT_FAILURE(rc)) {
        fprintf(stderr, "req_roundtrip: VMR3Create failed, rc=%d\n", rc);
        exit(1);
    }
    compare(uvm, VMREQFLAGS_VBOX_STATUS, "VMR3ReqCallWaitU, idle EMT", n, true);
    vm_done(uvm);
}

static void bench_running_vcpu(size_t n)
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
        compare(uvm, VMREQFLAGS_VBOX_STATUS | VMREQFLAGS_POKE, "VMR3ReqCallU(POKE), running vCPU", n, false);
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
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("req_roundtrip: %zu round trips per measurement\n", n);
    bench_idle_emt(n);
    bench_running_vcpu(n / 10 < 1000 ? 1000 : n / 10);   /* each round trip costs a guest exit */
    return 0;
}
