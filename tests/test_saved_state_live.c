/*
 * The live-save state machine through the API (interpreter engine): what
 * VMR3Save and VMR3Teleport return and leave behind when the VM is
 * suspended, reset or powered off in the middle of the live phase (the
 * stream's write callback does it, on the saving thread), teleport from
 * RUNNING and from SUSPENDED, and the "teleported, not fully resumed yet"
 * flag on both sides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vm_fixture.h"
#include "mem_stream.h"

enum action { ACT_NONE, ACT_SUSPEND, ACT_RESET, ACT_POWER_OFF };

struct hooked_stream {
    struct mem_stream ms;              /* first: the mem_stream callbacks see it */
    PUVM uvm;
    enum action act;
    int act_rc;
    unsigned writes;
};

/* Acts once, on the third write: the header and the first RAM unit are out. */
static int hooked_write(void *u, uint64_t off, const void *b, size_t n)
{
    struct hooked_stream *h = u;
    if (++h->writes == 3 && h->act != ACT_NONE) {
        h->act_rc = h->act == ACT_SUSPEND ? VMR3Suspend(h->uvm, VMSUSPENDREASON_USER)
                  : h->act == ACT_RESET ? VMR3Reset(h->uvm) : VMR3PowerOff(h->uvm);
    }
    return ms_write(&h->ms, off, b, n);
}

static const SSMSTRMOPS hooked_ops = {
    SSMSTRMOPS_VERSION, hooked_write, ms_read, ms_seek, ms_tell, ms_size, ms_isok, ms_close, SSMSTRMOPS_VERSION
};

static const struct fixture_config cfg = { .cpus = 1, .ram_mib = 4, .image = "state_dirty.bin", .mode = "real",
                                           .engine = "interp" };

static PUVM running_vm(struct fixture_log *log)
{
    PUVM uvm = NULL;
    fixture_log_init(log);
    assert_int_equal(fixture_create(&cfg, log, &uvm), VINF_SUCCESS);
    fixture_attach_state_log(uvm, log);
    assert_int_equal(VMR3PowerOn(uvm), VINF_SUCCESS);
    usleep(50000);
    return uvm;
}

static bool saw(struct fixture_log *log, VMSTATE from, VMSTATE to)
{
    pthread_mutex_lock(&log->lock);
    bool seen = false;
    for (unsigned i = 0; i < log->n_states && !seen; i++)
        seen = log->old_states[i] == from && log->new_states[i] == to;
    pthread_mutex_unlock(&log->lock);
    return seen;
}

static void test_suspend_during_live_save(void **state)
{
    (void)state;
    struct fixture_log log;
    PUVM uvm = running_vm(&log);
    struct hooked_stream h = { .uvm = uvm, .act = ACT_SUSPEND };
    bool suspended = false;
    assert_int_equal(VMR3Save(uvm, NULL, &hooked_ops, &h, false, NULL, NULL, &suspended), VINF_SSM_LIVE_SUSPENDED);
    assert_int_equal(h.act_rc, VINF_EM_SUSPEND);
    assert_true(suspended);
    assert_true(saw(&log, VMSTATE_RUNNING_LS, VMSTATE_SUSPENDING_EXT_LS));
    assert_true(saw(&log, VMSTATE_SUSPENDING_EXT_LS, VMSTATE_SUSPENDED_EXT_LS));
    assert_true(saw(&log, VMSTATE_SUSPENDED_EXT_LS, VMSTATE_SAVING));
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_SUSPENDED);   /* not stuck in an _LS state (Q1) */
    assert_int_equal(h.ms.closes, 1);
    assert_false(h.ms.cancelled);
    assert_int_equal(VMR3Resume(uvm, VMRESUMEREASON_USER), VINF_EM_RESUME);
    free(h.ms.buf);
    fixture_destroy(uvm);
}

static void test_reset_during_live_save(void **state)
{
    (void)state;
    struct fixture_log log;
    PUVM uvm = running_vm(&log);
    struct hooked_stream h = { .uvm = uvm, .act = ACT_RESET };
    bool suspended = false;
    assert_int_equal(VMR3Save(uvm, NULL, &hooked_ops, &h, false, NULL, NULL, &suspended), VINF_SUCCESS);
    assert_int_equal(h.act_rc, VINF_EM_SUSPEND);
    assert_true(suspended);
    assert_true(saw(&log, VMSTATE_RUNNING_LS, VMSTATE_RESETTING_LS));
    assert_true(saw(&log, VMSTATE_SUSPENDED_LS, VMSTATE_SAVING));
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_SUSPENDED);
    free(h.ms.buf);
    fixture_destroy(uvm);
}

static void test_power_off_during_live_save(void **state)
{
    (void)state;
    struct fixture_log log;
    PUVM uvm = running_vm(&log);
    struct hooked_stream h = { .uvm = uvm, .act = ACT_POWER_OFF };
    bool suspended = true;
    assert_int_equal(VMR3Save(uvm, NULL, &hooked_ops, &h, false, NULL, NULL, &suspended), VERR_SSM_LIVE_POWERED_OFF);
    assert_int_equal(h.act_rc, VINF_EM_OFF);
    assert_false(suspended);
    assert_true(saw(&log, VMSTATE_RUNNING_LS, VMSTATE_POWERING_OFF_LS));
    assert_true(saw(&log, VMSTATE_OFF_LS, VMSTATE_OFF));
    assert_int_equal(VMR3GetStateU(uvm), VMSTATE_OFF);
    assert_int_equal(h.ms.closes, 1);
    assert_true(h.ms.cancelled);
    free(h.ms.buf);
    fixture_destroy(uvm);
}

static void test_teleport_states_and_flag(void **state)
{
    (void)state;
    struct fixture_log log;
    PUVM src = running_vm(&log);
    struct mem_stream ms = { 0 };
    bool suspended = false;
    assert_int_equal(VMR3Teleport(src, 50, &mem_stream_ops, &ms, NULL, NULL, &suspended), VINF_SUCCESS);
    assert_true(suspended);
    assert_true(VMR3TeleportedAndNotFullyResumedYet(VMR3GetVM(src)));
    assert_int_equal(VMR3GetStateU(src), VMSTATE_SUSPENDED);
    /* The target loads with fTeleporting: flagged until it resumes. */
    struct fixture_log tlog;
    fixture_log_init(&tlog);
    PUVM dst = NULL;
    assert_int_equal(fixture_create(&cfg, &tlog, &dst), VINF_SUCCESS);
    assert_int_equal(VMR3LoadFromStream(dst, &mem_stream_ops, &ms, NULL, NULL, true), VINF_SUCCESS);
    assert_true(VMR3TeleportedAndNotFullyResumedYet(VMR3GetVM(dst)));
    assert_int_equal(VMR3Resume(dst, VMRESUMEREASON_TELEPORTED), VINF_EM_RESUME);
    assert_false(VMR3TeleportedAndNotFullyResumedYet(VMR3GetVM(dst)));
    usleep(50000);
    assert_int_equal(VMR3GetStateU(dst), VMSTATE_RUNNING);     /* the check loop found no stale page */
    fixture_destroy(dst);
    /* From SUSPENDED: VINF_SSM_LIVE_SUSPENDED (positive), the VM stays suspended. */
    struct mem_stream ms2 = { 0 };
    suspended = true;
    assert_int_equal(VMR3Teleport(src, 50, &mem_stream_ops, &ms2, NULL, NULL, &suspended), VINF_SSM_LIVE_SUSPENDED);
    assert_false(suspended);
    assert_true(saw(&log, VMSTATE_SUSPENDED, VMSTATE_SAVING));
    assert_int_equal(VMR3GetStateU(src), VMSTATE_SUSPENDED);
    assert_int_equal(VMR3Resume(src, VMRESUMEREASON_TELEPORT_FAILED), VINF_EM_RESUME);
    assert_false(VMR3TeleportedAndNotFullyResumedYet(VMR3GetVM(src)));
    free(ms.buf);
    free(ms2.buf);
    fixture_destroy(src);
}

static unsigned console_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned n = 0;
    for (int c; f && (c = fgetc(f)) != EOF;)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    if (f) {
        buf[fread(buf, 1, (1 << 16) - 1, f)] = 0;
        fclose(f);
    }
    return buf;
}

/* Two vCPUs (the second halts for good: the interpreter gives the PIC's
 * interrupts to vCPU 0): both cpu units, the dirty log's rendezvous.  The
 * two VMs' console texts together must be T1, T2, ... without a gap. */
static void test_two_vcpus(void **state)
{
    (void)state;
    char con_a[] = "/tmp/petrel-live2a-XXXXXX", con_b[] = "/tmp/petrel-live2b-XXXXXX";
    int fa = mkstemp(con_a), fb = mkstemp(con_b);
    assert_true(fa >= 0 && fb >= 0);
    close(fa);
    close(fb);
    struct fixture_config two = { .cpus = 2, .ram_mib = 4, .image = "state_counter.bin", .mode = "real",
                                  .engine = "interp", .console = con_a };
    PUVM a = NULL, b = NULL;
    assert_int_equal(fixture_create(&two, NULL, &a), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(a), VINF_SUCCESS);
    for (int i = 0; i < 3000 && console_lines(con_a) < 2; i++)
        usleep(10000);
    struct mem_stream ms = { 0 };
    bool suspended = false;
    assert_int_equal(VMR3Save(a, NULL, &mem_stream_ops, &ms, false, NULL, NULL, &suspended), VINF_SUCCESS);
    assert_true(suspended);
    fixture_destroy(a);
    two.console = con_b;
    assert_int_equal(fixture_create(&two, NULL, &b), VINF_SUCCESS);
    assert_int_equal(VMR3LoadFromStream(b, &mem_stream_ops, &ms, NULL, NULL, false), VINF_SUCCESS);
    assert_int_equal(VMR3Resume(b, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    for (int i = 0; i < 3000 && console_lines(con_b) < 2; i++)
        usleep(10000);
    fixture_destroy(b);
    char *ta = read_all(con_a), *tb = read_all(con_b);
    char *all = malloc(strlen(ta) + strlen(tb) + 1);
    assert_non_null(all);
    strcpy(all, ta);
    strcat(all, tb);
    unsigned k = 1;
    for (const char *p = all; *p; k++) {
        char *end = NULL;
        if (*p != 'T' || strtoul(p + 1, &end, 10) != k || *end != '\n')
            fail_msg("tick %u missing in: %s", k, all);
        p = end + 1;
    }
    assert_true(k - 1 >= 4);
    free(all);
    free(ta);
    free(tb);
    free(ms.buf);
    unlink(con_a);
    unlink(con_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suspend_during_live_save),
        cmocka_unit_test(test_reset_during_live_save),
        cmocka_unit_test(test_power_off_during_live_save),
        cmocka_unit_test(test_teleport_states_and_flag),
        cmocka_unit_test(test_two_vcpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
