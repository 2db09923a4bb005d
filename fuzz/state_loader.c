/*
 * libFuzzer target: the saved-state loader on arbitrary bytes.  It runs
 * the real parsing path (header, fingerprint, every record, RAM units into
 * a 2 MiB guest RAM) and the value checks of the units it collected (vCPU
 * decode, 8259A and 8254 load), as VMR3LoadFromStream would before it
 * touches a VM.  Built with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so
 * checksums do not stop the fuzzer (scripts/fuzz-state.sh).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm_internal.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "state/ssm_cpu.h"
#include "state/ssm_stream_io.h"
#include "time/vclock.h"

#define FUZZ_RAM (UINT64_C(2) << 20)
#define FUZZ_HOLE (UINT64_C(512) << 20)

struct input {
    const uint8_t *data;
    size_t size;
};

static int in_read(void *u, uint64_t off, void *buf, size_t n, size_t *got)
{
    const struct input *in = u;
    size_t left = off < in->size ? in->size - (size_t)off : 0;
    *got = n < left ? n : left;
    if (*got)
        memcpy(buf, in->data + off, *got);
    return VINF_SUCCESS;
}
static int in_write(void *u, uint64_t o, const void *b, size_t n) { (void)u; (void)o; (void)b; (void)n; return VERR_WRITE_PROTECT; }
static int in_seek(void *u, int64_t o, unsigned m, uint64_t *a) { (void)u; (void)o; (void)m; (void)a; return VERR_NOT_SUPPORTED; }
static uint64_t in_tell(void *u) { (void)u; return 0; }
static int in_size(void *u, uint64_t *cb) { *cb = ((const struct input *)u)->size; return VINF_SUCCESS; }
static int in_isok(void *u) { (void)u; return VINF_SUCCESS; }
static int in_close(void *u, bool c) { (void)u; (void)c; return VINF_SUCCESS; }
static const SSMSTRMOPS in_ops = { SSMSTRMOPS_VERSION, in_write, in_read, in_seek, in_tell, in_size, in_isok, in_close,
                                   SSMSTRMOPS_VERSION };

static struct VM vm;
static struct io_bus *bus;
static struct vclock *clk;
static struct i8259 *pic;
static struct i8254 *pit;
static struct ssm_ram_loader ram_loader;  /* buffers reused across inputs */

static void setup(void)
{
    if (bus)
        return;
    if (RT_FAILURE(guest_ram_init(&vm.ram, FUZZ_RAM, FUZZ_HOLE)))
        abort();
    vm.cCpus = 1;
    bus = io_bus_create();
    clk = vclock_create();
    pic = i8259_create(bus, NULL, NULL);
    pit = i8254_create(bus, clk, NULL, NULL);
    if (!bus || !clk || !pic || !pit || RT_FAILURE(ssm_ram_loader_init(&ram_loader, &vm.ram)))
        abort();
}

/* What ssm_machine_apply checks before it changes anything. */
static void check_values(struct ssm_machine_load *ml)
{
    static struct cpu_state st __attribute__((aligned(64)));
    for (uint32_t i = 0; i < ml->count; i++) {
        struct ssm_pending_unit *p = &ml->units[i];
        if (!strcmp(p->name, SSM_CPU_UNIT_NAME))
            (void)ssm_cpu_decode(&st, p->data, p->len);
        else if (!strcmp(p->name, "i8259") && p->len == sizeof(struct i8259_saved))
            (void)i8259_load(pic, (const struct i8259_saved *)p->data);
        else if (!strcmp(p->name, "i8254") && p->len == sizeof(struct i8254_saved))
            (void)i8254_load(pit, (const struct i8254_saved *)p->data);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct input in = { data, size };
    struct ssm_load l;
    memset(&l, 0, sizeof(l));
    l.vm = &vm;
    l.ml.vm = &vm;
    l.size = size;
    ssm_reader_init(&l.r, &in_ops, &in);
    struct ssm_header h;
    struct ssm_fingerprint target = { FUZZ_RAM, FUZZ_RAM, FUZZ_HOLE, 1, { 0 } };
    int rc = ssm_header_read(&l.r, &h);
    if (RT_SUCCESS(rc))
        rc = ssm_fingerprint_check(&l.r, &h.fp, &target);
    l.ram = ram_loader;
    l.ram.last_instance = -1;
    if (RT_SUCCESS(rc)) {
        guest_ram_clear(&vm.ram);
        rc = ssm_load_records(&l);
    }
    if (RT_SUCCESS(rc))
        check_values(&l.ml);
    ssm_machine_load_free(&l.ml);
    return 0;
}
