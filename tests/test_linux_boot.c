/*
 * Debian's cloud kernel and Petrel's busybox initramfs booted by the
 * `petrel` command as a user runs it (engine auto: the interpreter where the
 * CPU does not virtualize guest kernel mode, KVM where it does):
 *
 *   - to /init's marker with 1 vCPU, and (--smp) with 2 and 4 (/init
 *     checks the count);
 *   - a shell session on the console: typed input and its output, the
 *     guest's date against the host's (RTC), `reboot -f` (the VM resets and
 *     Linux boots again; the control socket counts one reset), then the ACPI
 *     power button (`petrel ctl PATH poweroff --acpi`) shuts it down cleanly;
 *   - `--power-off-on-reset`: a guest reboot ends the VM with status 0;
 *   - suspend for 2 s and resume: the guest's 100 ms ticks go on without a
 *     gap or a burst, and the guest's clock did not see the suspended time;
 *   - (--smp) CPU hot plug: a vCPU plugged through the control socket comes
 *     online in the guest, and goes away again when unplugged.
 *
 * The kernel comes from scripts/fetch-kernel.sh and the initramfs from
 * scripts/make-initramfs.sh (`make linux-guest` makes both), or from
 * $PETREL_KERNEL and $PETREL_INITRD.  PETREL_TEST_ENGINE=kvm runs the same
 * tests on KVM (on a host whose CPU virtualizes guest kernel mode).
 */
#include "linux_guest.h"

#define BOOT_BUDGET_S 120.0       /* far more than a boot takes: a hang fails, a slow host passes */

/* Starts `petrel run` for the kernel with cpus vCPUs (max_cpus for hot
 * plug), the extra command-line words, and extra petrel arguments. */
static struct guest *guest_start(unsigned cpus, unsigned max_cpus, const char *append_extra,
                                 const char *const *extra_args)
{
    static char kernel[1024], initrd[1024];
    if (!kernel[0] && !find_guest_files(kernel, initrd, sizeof(kernel)))
        return NULL;
    char ctl[64], ncpu[16], nmax[16], append[512];
    snprintf(ctl, sizeof(ctl), "/tmp/petrel-boot-%d-%u.sock", (int)getpid(), (unsigned)rand());
    snprintf(ncpu, sizeof(ncpu), "%u", cpus);
    snprintf(nmax, sizeof(nmax), "%u", max_cpus ? max_cpus : cpus);
    snprintf(append, sizeof(append), "console=ttyS0 panic=-1 reboot=k petrel.cpus=%u %s", cpus,
             append_extra ? append_extra : "");
    const char *argv[40] = { PETREL_BIN, "run", "--kernel", kernel, "--initrd", initrd, "--cpus", ncpu,
                             "--max-cpus", nmax, "--append", append, "--engine", guest_engine(),
                             "--console", "stdio", "--control", ctl };
    size_t n = 18;
    for (size_t i = 0; extra_args && extra_args[i] && n < 38; i++)
        argv[n++] = extra_args[i];
    struct guest *g = guest_spawn(argv);
    snprintf(g->ctl, sizeof(g->ctl), "%s", ctl);
    return g;
}

/* `petrel ctl SOCKET args...`: its exit status; its stdout into out. */
static int guest_ctl(struct guest *g, const char *args, char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "'%s' ctl '%s' %s 2>&1", PETREL_BIN, g->ctl, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0;
    if (out && size)
        out[0] = 0;
    char buf[512];
    while (fgets(buf, sizeof(buf), p))
        if (out && len + strlen(buf) < size) {
            memcpy(out + len, buf, strlen(buf) + 1);
            len += strlen(buf);
        }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The shell prompt after /init's banner (busybox sh prints "# " as root). */
static void wait_shell(struct guest *g)
{
    guest_expect(g, "petrel-init: starting a shell", BOOT_BUDGET_S);
    guest_type(g, "echo shell-ready\n");
    guest_expect(g, "shell-ready", 30);
}

/* ---- the tests ---- */

static void boot_to_marker(unsigned cpus)
{
    struct guest *g = guest_start(cpus, 0, "petrel.poweroff=1", NULL);
    if (!g)
        skip();
    char marker[96];
    snprintf(marker, sizeof(marker), "petrel-init: OK: marker reached with %u CPUs", cpus);
    guest_expect(g, marker, BOOT_BUDGET_S);
    double t = now_s() - g->t0;
    assert_int_equal(guest_wait_exit(g, 60), 0);
    printf("[  INFO    ] %u vCPU(s): marker after %.2f s, petrel exited 0 after %.2f s\n", cpus, t, now_s() - g->t0);
    guest_free(g);
}

static void test_boot_1_cpu(void **s) { (void)s; boot_to_marker(1); }
static void test_boot_2_cpus(void **s) { (void)s; boot_to_marker(2); }
static void test_boot_4_cpus(void **s) { (void)s; boot_to_marker(4); }

/* A shell session: typed input, the RTC-set date, reboot, the power button. */
static void test_console_reboot_and_power_button(void **s)
{
    (void)s;
    struct guest *g = guest_start(1, 0, NULL, NULL);
    if (!g)
        skip();
    wait_shell(g);
    guest_type(g, "echo typed-$((6 * 7))-back\n");
    guest_expect(g, "typed-42-back", 30);

    /* The guest's wall clock came from the CMOS RTC: within 2 s of the host's. */
    guest_type(g, "echo guest-$((1 + 1))-date=$(date +%s)=\n");      /* the echo of the line does not match */
    const char *d = guest_expect(g, "guest-2-date=", 30);
    guest_expect(g, "=", 10);
    long long guest = atoll(d + strlen("guest-2-date=")), host = (long long)time(NULL);
    printf("[  INFO    ] guest date %lld, host date %lld\n", guest, host);
    assert_true(llabs(guest - host) <= 2);

    /* A guest reboot resets the VM: Linux boots again, one reset counted. */
    guest_type(g, "reboot -f\n");
    guest_expect(g, "Linux version", BOOT_BUDGET_S);
    wait_shell(g);
    char status[2048];
    assert_int_equal(guest_ctl(g, "status", status, sizeof(status)), 0);
    const char *resets = strstr(status, "\nresets ");
    if (!resets || atoi(resets + strlen("\nresets ")) != 1) {
        fprintf(stderr, "%s\n", status);
        fail_msg("after one guest reboot, `petrel ctl status` does not say \"resets 1\"");
    }

    /* The ACPI power button: the guest shuts itself down; petrel exits 0. */
    assert_int_equal(guest_ctl(g, "poweroff --acpi", NULL, 0), 0);
    guest_expect(g, "power button: shutting down cleanly", 60);
    assert_int_equal(guest_wait_exit(g, 60), 0);
    guest_free(g);
}

static void test_power_off_on_reset(void **s)
{
    (void)s;
    static const char *const args[] = { "--power-off-on-reset", NULL };
    struct guest *g = guest_start(1, 0, NULL, args);
    if (!g)
        skip();
    wait_shell(g);
    guest_type(g, "reboot -f\n");
    assert_int_equal(guest_wait_exit(g, 60), 0);
    assert_null(strstr(g->out + g->cursor, "Linux version"));      /* it did not boot again */
    guest_free(g);
}

/* Reads "tick N UPTIME" lines after the cursor into n[]/up[]; returns how many. */
static unsigned read_ticks(struct guest *g, unsigned *n, double *up, unsigned max)
{
    unsigned count = 0;
    const char *p = g->out + g->cursor;
    while (count < max && (p = strstr(p, "tick "))) {
        unsigned a;
        double b;
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if (sscanf(p, "tick %u %lf", &a, &b) == 2) {
            n[count] = a;
            up[count] = b;
            count++;
        }
        p = eol;
    }
    return count;
}

/* Suspend for 2 s, resume: the ticks go on, the guest did not see the 2 s. */
static void test_suspend_resume_ticks(void **s)
{
    (void)s;
    struct guest *g = guest_start(1, 0, "petrel.test=counter", NULL);
    if (!g)
        skip();
    guest_expect(g, "tick 5 ", BOOT_BUDGET_S);
    g->cursor = (size_t)(strstr(g->out, "tick 0 ") - g->out);
    assert_int_equal(guest_ctl(g, "suspend", NULL, 0), 0);
    double t_suspend = now_s();
    guest_pump(g, 200);                      /* the last ticks before the stop */
    size_t before = g->len;
    usleep(2000 * 1000);
    guest_pump(g, 0);
    assert_int_equal(g->len, before);        /* nothing printed while suspended */
    assert_int_equal(guest_ctl(g, "resume", NULL, 0), 0);
    double t_resume = now_s();
    guest_expect(g, "\n", 1);
    usleep(1500 * 1000);
    guest_pump(g, 100);

    unsigned n[4096];
    double up[4096];
    unsigned count = read_ticks(g, n, up, 4096);
    assert_true(count > 10);
    double worst = 0;
    for (unsigned i = 1; i < count; i++) {
        assert_int_equal(n[i], n[i - 1] + 1);            /* no tick lost or repeated */
        double step = up[i] - up[i - 1];
        if (step > worst)
            worst = step;
    }
    /* The guest's clock saw about the run time only: no 2 s jump at resume. */
    double guest_span = up[count - 1] - up[0];
    printf("[  INFO    ] %u ticks, largest step %.2f s in guest time, guest span %.2f s, suspended %.2f s\n",
           count, worst, guest_span, t_resume - t_suspend);
    assert_true(worst < 0.6);
    kill(g->pid, SIGTERM);
    assert_int_equal(guest_wait_exit(g, 30), 128 + SIGTERM);
    guest_free(g);
}

/* CPU hot plug: vCPU 1 of 2 starts unplugged, is plugged, comes online in
 * the guest, and goes away when unplugged. */
static void test_cpu_hotplug(void **s)
{
    (void)s;
    struct guest *g = guest_start(1, 2, NULL, NULL);
    if (!g)
        skip();
    wait_shell(g);
    guest_type(g, "echo present=$(cat /sys/devices/system/cpu/present)=\n");
    guest_expect(g, "present=0=", 30);
    assert_int_equal(guest_ctl(g, "cpu-plug 1", NULL, 0), 0);
    guest_type(g, "for i in $(seq 50); do [ -e /sys/devices/system/cpu/cpu1/online ] && break; sleep 0.2; done; "
                  "echo 1 > /sys/devices/system/cpu/cpu1/online; echo online=$(cat /sys/devices/system/cpu/online)=\n");
    guest_expect(g, "online=0-1=", 60);
    guest_type(g, "echo cpus=$(grep -c ^processor /proc/cpuinfo)=\n");
    guest_expect(g, "cpus=2=", 30);
    assert_int_equal(guest_ctl(g, "cpu-unplug 1", NULL, 0), 0);
    guest_type(g, "for i in $(seq 50); do [ -e /sys/devices/system/cpu/cpu1 ] || break; sleep 0.2; done; "
                  "echo after=$(cat /sys/devices/system/cpu/online)=\n");
    guest_expect(g, "after=0=", 60);
    guest_type(g, "poweroff -f\n");
    assert_int_equal(guest_wait_exit(g, 60), 0);
    guest_free(g);
}

/* Without arguments: the one-vCPU tests; `--smp`: 2 and 4 vCPUs and CPU
 * hot plug (ctest test_linux_boot_smp). */
int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());
    const struct CMUnitTest up[] = {
        cmocka_unit_test(test_boot_1_cpu),
        cmocka_unit_test(test_console_reboot_and_power_button),
        cmocka_unit_test(test_power_off_on_reset),
        cmocka_unit_test(test_suspend_resume_ticks),
    };
    const struct CMUnitTest smp[] = {
        cmocka_unit_test(test_boot_2_cpus),
        cmocka_unit_test(test_boot_4_cpus),
        cmocka_unit_test(test_cpu_hotplug),
    };
    if (getenv("PETREL_TEST_FILTER"))
        cmocka_set_test_filter(getenv("PETREL_TEST_FILTER"));
    if (argc > 1 && !strcmp(argv[1], "--smp"))
        return cmocka_run_group_tests_name("linux boot, SMP", smp, NULL, NULL);
    return cmocka_run_group_tests_name("linux boot", up, NULL, NULL);
}
