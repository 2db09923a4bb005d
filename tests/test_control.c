/*
 * The control socket (src/cli/control_server.c + control_protocol.c) driven
 * by raw socket clients against a real VM: every command does what it
 * says, and bad input (malformed JSON, unknown commands and fields, long
 * lines, clients that vanish mid-request or never read) gets an error reply
 * or a closed connection, never a crash, a hang or an effect on the VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <jansson.h>

#include "vm_fixture.h"
#include "cli/control_protocol.h"
#include "cli/control_server.h"

#define REPLY_TIMEOUT_MS 20000

struct ctl_fixture {
    struct fixture_config cfg;
    struct fixture_log    log;
    PUVM                  uvm;
    struct control_server *server;
    char                  path[64];
    bool                  with_acpi;
    const char           *engine;       /* NULL: auto */
};

/* --- a VM running hlt_forever, with or without the ACPI PM device --- */

static int ctor_with_acpi(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    int rc = fixture_ctor(uvm, vm, vmm, user);
    PCFGMNODE node = NULL;
    if (RT_SUCCESS(rc))
        rc = CFGMR3InsertNode(CFGMR3GetRoot(vm), "Devices/acpi/0/Config", &node);
    return rc;
}

static int start_vm(struct ctl_fixture *f)
{
    f->cfg = (struct fixture_config){ .cpus = 2, .ram_mib = 16, .image = "hlt_forever.bin", .mode = "real",
                                      .engine = f->engine };
    fixture_log_init(&f->log);
    int rc = VMR3Create(2, NULL, fixture_on_error, &f->log, f->with_acpi ? ctor_with_acpi : fixture_ctor,
                        &f->cfg, NULL, &f->uvm);
    if (RT_FAILURE(rc))
        return rc;
    rc = VMR3PowerOn(f->uvm);
    if (RT_FAILURE(rc))
        return rc;
    snprintf(f->path, sizeof(f->path), "/tmp/petrel-ctl-%d.sock", (int)getpid());
    char err[256];
    f->server = control_server_start(f->uvm, f->path, err, sizeof(err));
    if (!f->server)
        fprintf(stderr, "control_server_start: %s\n", err);
    return f->server ? 0 : -1;
}

static int setup(void **state)
{
    struct ctl_fixture *f = calloc(1, sizeof(*f));
    f->with_acpi = true;
    *state = f;
    return start_vm(f);
}

static int setup_no_acpi(void **state)
{
    struct ctl_fixture *f = calloc(1, sizeof(*f));
    *state = f;
    return start_vm(f);
}

/* The interpreter can save any VM (KVM's in-kernel irqchip cannot be saved yet). */
static int setup_interp(void **state)
{
    struct ctl_fixture *f = calloc(1, sizeof(*f));
    f->engine = "interp";
    *state = f;
    return start_vm(f);
}

static int teardown(void **state)
{
    struct ctl_fixture *f = *state;
    control_server_stop(f->server);
    if (f->uvm)
        fixture_destroy(f->uvm);
    struct stat st;
    assert_int_not_equal(lstat(f->path, &st), 0);     /* stop removed the socket file */
    free(f);
    return 0;
}

/* --- a raw client --- */

struct conn {
    int    fd;
    size_t len;
    char   buf[1 << 20];
};

static struct conn *conn_open(const char *path)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return c;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c);
}

static void conn_send(struct conn *c, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* The next reply line (without '\n', malloc'd), or NULL at EOF/timeout. */
static char *conn_read_line(struct conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, n);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll(&p, 1, REPLY_TIMEOUT_MS) <= 0 || c->len == sizeof(c->buf))
            return NULL;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n <= 0)
            return NULL;
        c->len += (size_t)n;
    }
}

static json_t *conn_reply(struct conn *c)
{
    char *line = conn_read_line(c);
    assert_non_null(line);
    json_error_t jerr;
    json_t *r = json_loads(line, 0, &jerr);
    if (!r || !json_is_object(r))
        fail_msg("reply is not a JSON object: %s", line);
    free(line);
    return r;
}

/* Sends one request line and returns the parsed reply. */
static json_t *call(struct conn *c, const char *request)
{
    conn_send(c, request, strlen(request));
    conn_send(c, "\n", 1);
    return conn_reply(c);
}

static void assert_ok(json_t *r)
{
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *s = json_dumps(r, 0);
        fail_msg("expected ok, got %s", s);
    }
}

/* An error reply with this status, its name and a non-empty message. */
static void assert_error(json_t *r, int status)
{
    json_t *e = json_object_get(r, "error");
    char *s = json_dumps(r, 0);
    if (!json_is_false(json_object_get(r, "ok")) || json_integer_value(json_object_get(e, "status")) != status ||
        strcmp(json_string_value(json_object_get(e, "name")) ?: "", RTErrGetShort(status)) != 0 ||
        !*(json_string_value(json_object_get(e, "message")) ?: ""))
        fail_msg("expected error %s, got %s", RTErrGetShort(status), s);
    free(s);
}

static void call_ok(struct conn *c, const char *request)
{
    json_t *r = call(c, request);
    assert_ok(r);
    json_decref(r);
}

static void call_error(struct conn *c, const char *request, int status)
{
    json_t *r = call(c, request);
    assert_error(r, status);
    json_decref(r);
}

static const char *error_message(json_t *r)
{
    return json_string_value(json_object_get(json_object_get(r, "error"), "message"));
}

/* --- the commands --- */

static void test_status(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    json_t *r = call(c, "{\"command\": \"status\", \"id\": 7}");
    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "RUNNING");
    assert_string_equal(json_string_value(json_object_get(r, "name")), "test-vm");
    assert_int_equal(json_integer_value(json_object_get(r, "cpus")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "ram_size")), 16 << 20);
    assert_int_equal(json_integer_value(json_object_get(r, "exec_cap")), 100);
    assert_int_equal(json_integer_value(json_object_get(r, "resets")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    assert_string_equal(json_string_value(json_object_get(r, "uuid")), "00000000-0000-0000-0000-000000000000");
    const char *engine = json_string_value(json_object_get(r, "engine"));
    assert_true(!strcmp(engine, "kvm") || !strcmp(engine, "interp"));
    /* The engine's counters: one line of text, none from the interpreter. */
    json_t *stats = json_object_get(r, "engine_stats");
    assert_true(json_is_string(stats));
    if (!strcmp(engine, "interp"))
        assert_string_equal(json_string_value(stats), "");
    else
        assert_non_null(strstr(json_string_value(stats), "interpreted unpaged: "));
    json_decref(r);
    conn_close(c);
}

/* VMR3QueryEngineStats (the status's engine_stats) and its bad arguments. */
static void test_engine_stats_api(void **state)
{
    struct ctl_fixture *f = *state;
    char buf[256];
    assert_int_equal(VMR3QueryEngineStats(f->uvm, buf, sizeof(buf)), VINF_SUCCESS);
    assert_true(strlen(buf) < sizeof(buf));
    assert_int_equal(VMR3QueryEngineStats(NULL, buf, sizeof(buf)), VERR_INVALID_VM_HANDLE);
    assert_int_equal(VMR3QueryEngineStats(f->uvm, NULL, sizeof(buf)), VERR_INVALID_POINTER);
    assert_int_equal(VMR3QueryEngineStats(f->uvm, buf, 0), VERR_BUFFER_OVERFLOW);
    char one[1] = { 'x' };
    int rc = VMR3QueryEngineStats(f->uvm, one, sizeof(one));
    assert_true(rc == VINF_SUCCESS || rc == VERR_BUFFER_OVERFLOW);   /* empty text fits */
    assert_int_equal(one[0], '\0');
    assert_int_equal(rc, buf[0] ? VERR_BUFFER_OVERFLOW : VINF_SUCCESS);
}

static void test_suspend_resume_reset(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    json_t *r = call(c, "{\"command\": \"suspend\"}");
    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "SUSPENDED");
    json_decref(r);
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_SUSPENDED);

    /* Suspending twice: the VM's own error message comes back. */
    r = call(c, "{\"command\": \"suspend\"}");
    assert_error(r, VERR_VM_INVALID_VM_STATE);
    assert_non_null(strstr(error_message(r), "SUSPENDED"));
    json_decref(r);

    call_ok(c, "{\"command\": \"resume\"}");
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    call_error(c, "{\"command\": \"resume\"}", VERR_VM_INVALID_VM_STATE);

    call_ok(c, "{\"command\": \"reset\"}");
    r = call(c, "{\"command\": \"status\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "resets")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "RUNNING");
    json_decref(r);
    conn_close(c);
}

static void test_cpu_and_exec_cap(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    json_t *r = call(c, "{\"command\": \"cpu-unplug\", \"cpu\": 0}");
    assert_error(r, VERR_NOT_SUPPORTED);
    assert_non_null(strstr(error_message(r), "CPU 0"));
    json_decref(r);
    call_ok(c, "{\"command\": \"cpu-unplug\", \"cpu\": 1}");
    call_ok(c, "{\"command\": \"cpu-plug\", \"cpu\": 1}");
    call_error(c, "{\"command\": \"cpu-plug\", \"cpu\": 2}", VERR_INVALID_CPU_ID);
    call_error(c, "{\"command\": \"cpu-plug\", \"cpu\": 4096}", VERR_OUT_OF_RANGE);

    call_ok(c, "{\"command\": \"exec-cap\", \"percent\": 40}");
    r = call(c, "{\"command\": \"status\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "exec_cap")), 40);
    json_decref(r);
    call_error(c, "{\"command\": \"exec-cap\", \"percent\": 0}", VERR_OUT_OF_RANGE);
    call_error(c, "{\"command\": \"exec-cap\", \"percent\": 101}", VERR_OUT_OF_RANGE);
    call_ok(c, "{\"command\": \"exec-cap\", \"percent\": 100}");
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    conn_close(c);
}

static void test_poweroff(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    /* The guest ignores the power button: the VM keeps running. */
    call_ok(c, "{\"command\": \"poweroff\", \"acpi\": true}");
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    json_t *r = call(c, "{\"command\": \"poweroff\", \"acpi\": false}");
    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "OFF");
    json_decref(r);
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_OFF);
    call_error(c, "{\"command\": \"poweroff\"}", VERR_VM_INVALID_VM_STATE);
    call_error(c, "{\"command\": \"poweroff\", \"acpi\": true}", VERR_VM_INVALID_VM_STATE);
    r = call(c, "{\"command\": \"status\"}");
    assert_string_equal(json_string_value(json_object_get(r, "state")), "OFF");
    json_decref(r);
    conn_close(c);
}

static void test_acpi_missing(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    json_t *r = call(c, "{\"command\": \"poweroff\", \"acpi\": true}");
    assert_error(r, VERR_NOT_SUPPORTED);
    assert_non_null(strstr(error_message(r), "ACPI"));
    json_decref(r);
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    conn_close(c);
}

/* --- bad input --- */

static void assert_vm_unaffected(struct ctl_fixture *f, struct conn *c)
{
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    json_t *r = call(c, "{\"command\": \"status\"}");
    assert_ok(r);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "RUNNING");
    assert_int_equal(json_integer_value(json_object_get(r, "exec_cap")), 100);
    assert_int_equal(json_integer_value(json_object_get(r, "resets")), 0);
    json_decref(r);
}

static void test_bad_requests(void **state)
{
    struct ctl_fixture *f = *state;
    static const struct { const char *line; int status; } cases[] = {
        { "suspend", VERR_PARSE_ERROR },
        { "{\"command\": \"suspend\"", VERR_PARSE_ERROR },
        { "{\"command\": \"suspend\"} {\"command\": \"reset\"}", VERR_PARSE_ERROR },
        { "[\"suspend\"]", VERR_PARSE_ERROR },
        { "\"suspend\"", VERR_PARSE_ERROR },
        { "42", VERR_PARSE_ERROR },
        { "{}", VERR_INVALID_PARAMETER },
        { "{\"command\": 5}", VERR_INVALID_PARAMETER },
        { "{\"command\": null}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"shutdown\"}", VERR_NOT_SUPPORTED },
        { "{\"command\": \"Suspend\"}", VERR_NOT_SUPPORTED },
        { "{\"command\": \"suspend\", \"now\": true}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"suspend\", \"command\": \"reset\"}", VERR_PARSE_ERROR },
        { "{\"command\": \"poweroff\", \"acpi\": 1}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"poweroff\", \"acpi\": \"yes\"}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"save\", \"file\": \"/tmp/x.sav\", \"raw\": 1}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"suspend\", \"raw\": true}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"cpu-plug\"}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"cpu-unplug\", \"cpu\": \"1\"}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"cpu-unplug\", \"cpu\": 1.0}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"cpu-unplug\", \"cpu\": -1}", VERR_OUT_OF_RANGE },
        { "{\"command\": \"exec-cap\", \"percent\": 99999999999999999999}", VERR_PARSE_ERROR },
        { "{\"command\": \"exec-cap\", \"pct\": 50}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"exec-cap\"}", VERR_INVALID_PARAMETER },
        { "{\"command\": \"reset\\u0000\"}", VERR_PARSE_ERROR },
        { "{\"command\": \"\xff\xfe\"}", VERR_PARSE_ERROR },
    };
    struct conn *c = conn_open(f->path);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *r = call(c, cases[i].line);
        json_t *e = json_object_get(r, "error");
        if (json_integer_value(json_object_get(e, "status")) != cases[i].status)
            fail_msg("case %zu (%s): got %s", i, cases[i].line, json_dumps(r, 0));
        assert_error(r, cases[i].status);
        json_decref(r);
    }
    /* Raw NUL bytes inside a line. */
    conn_send(c, "{\"command\"\0: \"reset\"}\n", 22);
    json_t *r = conn_reply(c);
    assert_error(r, VERR_PARSE_ERROR);
    json_decref(r);
    /* A name cut mid-character in the message is still a valid JSON reply. */
    char cut[160];
    snprintf(cut, sizeof(cut), "{\"command\": \"%.63s\u00e9\", \"x\u00e9\": 1}",
             "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    call_error(c, cut, VERR_NOT_SUPPORTED);
    snprintf(cut, sizeof(cut), "{\"command\": \"status\", \"%.63s\u00e9\": 1}",
             "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    call_error(c, cut, VERR_INVALID_PARAMETER);
    /* Blank lines are ignored; CRLF is accepted; the id is echoed on errors too. */
    conn_send(c, "\n  \n\r\n", 6);
    call_ok(c, "{\"command\": \"status\"}\r");
    r = call(c, "{\"command\": \"nope\", \"id\": \"abc\"}");
    assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
    json_decref(r);
    assert_vm_unaffected(f, c);
    conn_close(c);
}

static void test_disconnect_mid_request(void **state)
{
    struct ctl_fixture *f = *state;
    /* Half a request, then gone: nothing happens. */
    struct conn *c = conn_open(f->path);
    conn_send(c, "{\"command\": \"susp", 17);
    conn_close(c);
    /* A whole request without its newline, then gone: not executed either. */
    c = conn_open(f->path);
    conn_send(c, "{\"command\": \"suspend\"}", 22);
    conn_close(c);
    /* A request, then gone before reading the reply: carried out, no crash. */
    c = conn_open(f->path);
    conn_send(c, "{\"command\": \"exec-cap\", \"percent\": 100}\n", 41);
    conn_close(c);
    /* Shutting down the write side after a request still gets the reply. */
    c = conn_open(f->path);
    conn_send(c, "{\"command\": \"status\"}\n", 22);
    shutdown(c->fd, SHUT_WR);
    json_t *r = conn_reply(c);
    assert_ok(r);
    json_decref(r);
    assert_null(conn_read_line(c));                   /* then the server closes */
    conn_close(c);

    c = conn_open(f->path);
    assert_vm_unaffected(f, c);
    conn_close(c);
}

/* A client that asks for a save and vanishes at once: the save still
 * completes (the file appears, whole: it is renamed into place), the VM
 * runs on (--continue), and the server answers the next client. */
static void test_disconnect_during_save(void **state)
{
    struct ctl_fixture *f = *state;
    char file[64], req[192];
    snprintf(file, sizeof(file), "/tmp/petrel-ctl-%d.sav", (int)getpid());
    unlink(file);
    snprintf(req, sizeof(req), "{\"command\": \"save\", \"file\": \"%s\", \"continue\": true}\n", file);
    struct conn *c = conn_open(f->path);
    conn_send(c, req, strlen(req));
    conn_close(c);
    struct stat st;
    for (int i = 0; i < 12000 && stat(file, &st) != 0; i++)     /* up to 120 s on a loaded machine */
        usleep(10000);
    assert_int_equal(stat(file, &st), 0);
    assert_true(st.st_size > 0);
    for (int i = 0; i < 12000 && VMR3GetStateU(f->uvm) != VMSTATE_RUNNING; i++)
        usleep(10000);                 /* the save's own resume, after the rename */
    c = conn_open(f->path);
    assert_vm_unaffected(f, c);
    conn_close(c);
    unlink(file);
}

static void test_long_lines(void **state)
{
    struct ctl_fixture *f = *state;
    /* Exactly CONTROL_MAX_LINE bytes: a valid request padded with spaces. */
    char *line = malloc(CONTROL_MAX_LINE + 2);
    memset(line, ' ', CONTROL_MAX_LINE);
    memcpy(line, "{\"command\": \"status\"}", 21);   /* NOLINT(bugprone-not-null-terminated-result): padded below */
    line[CONTROL_MAX_LINE] = '\n';
    struct conn *c = conn_open(f->path);
    conn_send(c, line, CONTROL_MAX_LINE + 1);
    json_t *r = conn_reply(c);
    assert_ok(r);
    json_decref(r);
    /* One byte more: an error reply, then the connection is closed. */
    memset(line, 'x', CONTROL_MAX_LINE + 1);
    line[CONTROL_MAX_LINE + 1] = '\n';
    conn_send(c, line, CONTROL_MAX_LINE + 2);
    r = conn_reply(c);
    assert_error(r, VERR_TOO_MUCH_DATA);
    json_decref(r);
    assert_null(conn_read_line(c));
    conn_close(c);
    free(line);
    /* 4 MiB of blank lines, then a request: handled in linear time. */
    c = conn_open(f->path);
    size_t blanks = 4u << 20;
    char *nl = malloc(blanks);
    memset(nl, '\n', blanks);
    uint64_t t0 = fixture_now_ms();
    conn_send(c, nl, blanks);
    free(nl);
    call_ok(c, "{\"command\": \"status\"}");
    assert_true(fixture_now_ms() - t0 < 5000);
    conn_close(c);
    /* 8 MiB without a newline: closed early, the sender sees EPIPE/ECONNRESET, no hang. */
    c = conn_open(f->path);
    size_t big = 8u << 20, sent = 0;
    char *junk = malloc(big);
    memset(junk, '{', big);
    while (sent < big) {
        ssize_t n = send(c->fd, junk + sent, big - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    assert_true(sent < big);
    free(junk);
    conn_close(c);
    c = conn_open(f->path);
    assert_vm_unaffected(f, c);
    conn_close(c);
}

static void test_pipelined(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *c = conn_open(f->path);
    char *batch = malloc((size_t)200 * 64);
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(batch + n, "{\"command\": \"status\", \"id\": %d}\n", i);
    conn_send(c, batch, n);
    free(batch);
    for (int i = 0; i < 200; i++) {
        json_t *r = conn_reply(c);
        assert_ok(r);
        assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
        json_decref(r);
    }
    conn_close(c);
}

/* A client that floods requests and never reads does not block others. */
static void test_slow_reader(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *flood = conn_open(f->path);
    int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
    const char req[] = "{\"command\": \"status\"}\n";
    size_t total = 0;
    for (int i = 0; i < 200000; i++) {
        ssize_t n = send(flood->fd, req, sizeof(req) - 1, flags);
        if (n <= 0)
            break;                                    /* the server stopped reading it */
        total += (size_t)n;
    }
    assert_true(total > 0);
    struct conn *c = conn_open(f->path);
    assert_vm_unaffected(f, c);
    conn_close(c);
    conn_close(flood);
}

struct client_job {
    const char *path;
    int         requests;
    int         ok;
};

static void *client_thread(void *arg)
{
    struct client_job *job = arg;
    struct conn *c = conn_open(job->path);
    for (int i = 0; i < job->requests; i++) {
        const char *req = i % 2 ? "{\"command\": \"status\"}\n" : "{\"command\": \"exec-cap\", \"percent\": 100}\n";
        conn_send(c, req, strlen(req));
        char *line = conn_read_line(c);
        json_t *r = line ? json_loads(line, 0, NULL) : NULL;
        job->ok += json_is_true(json_object_get(r, "ok"));
        json_decref(r);
        free(line);
    }
    conn_close(c);
    return NULL;
}

static void test_concurrent_clients(void **state)
{
    struct ctl_fixture *f = *state;
    enum { CLIENTS = 16, REQUESTS = 50 };
    pthread_t threads[CLIENTS];
    struct client_job jobs[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        jobs[i] = (struct client_job){ .path = f->path, .requests = REQUESTS };
        assert_int_equal(pthread_create(&threads[i], NULL, client_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].ok, REQUESTS);
    }
    struct conn *c = conn_open(f->path);
    assert_vm_unaffected(f, c);
    conn_close(c);
}

static void test_too_many_clients(void **state)
{
    struct ctl_fixture *f = *state;
    struct conn *conns[64];
    for (int i = 0; i < 64; i++)
        conns[i] = conn_open(f->path);
    call_ok(conns[63], "{\"command\": \"status\"}");      /* all 64 are served */
    struct conn *extra = conn_open(f->path);
    json_t *r = conn_reply(extra);
    assert_error(r, VERR_OUT_OF_RESOURCES);
    json_decref(r);
    assert_null(conn_read_line(extra));
    conn_close(extra);
    for (int i = 0; i < 64; i++)
        conn_close(conns[i]);
    /* Slots free up again (once the server has seen the hang-ups). */
    json_t *st = NULL;
    for (int tries = 0; tries < 100 && !json_is_true(json_object_get(st, "ok")); tries++) {
        json_decref(st);
        usleep(20 * 1000);
        struct conn *c = conn_open(f->path);
        st = call(c, "{\"command\": \"status\"}");
        conn_close(c);
    }
    assert_ok(st);
    json_decref(st);
}

/* --- the socket file and stopping --- */

static void test_socket_path(void **state)
{
    struct ctl_fixture *f = *state;
    char err[256], path[80];
    /* The path is in use by our own live server. */
    assert_null(control_server_start(f->uvm, f->path, err, sizeof(err)));
    assert_non_null(strstr(err, "in use"));
    /* A regular file is never replaced. */
    snprintf(path, sizeof(path), "/tmp/petrel-ctl-file-%d", (int)getpid());
    FILE *fp = fopen(path, "w");
    fclose(fp);
    assert_null(control_server_start(f->uvm, path, err, sizeof(err)));
    assert_non_null(strstr(err, "not a socket"));
    unlink(path);
    /* A stale socket file (nobody listening) is replaced. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    struct control_server *second = control_server_start(f->uvm, path, err, sizeof(err));
    assert_non_null(second);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct conn *c = conn_open(path);
    call_ok(c, "{\"command\": \"status\"}");
    /* Stopping with a client connected is prompt and removes the file. */
    uint64_t t0 = fixture_now_ms();
    control_server_stop(second);
    assert_true(fixture_now_ms() - t0 < 1000);
    assert_null(conn_read_line(c));
    conn_close(c);
    assert_int_not_equal(lstat(path, &st), 0);
    /* Bad arguments. */
    char longpath[200];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    assert_null(control_server_start(f->uvm, longpath, err, sizeof(err)));
    assert_non_null(strstr(err, "too long"));
    assert_null(control_server_start(f->uvm, "", err, sizeof(err)));
    assert_null(control_server_start(NULL, path, err, sizeof(err)));
    assert_null(control_server_start((PUVM)(uintptr_t)0x1000, path, err, sizeof(err)));
}

/* --- petrel ctl, the command-line client --- */

struct ctl_result {
    int  status;
    char out[4096], err[4096];
};

static void slurp(int fd, char *buf, size_t size)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, size - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
}

/* Runs `petrel ctl PATH args...` (NULL-terminated), capturing its output. */
static struct ctl_result run_ctl(const char *path, ...)
{
    const char *argv[16] = { PETREL_BIN, "ctl", path };
    va_list va;
    va_start(va, path);
    for (int i = 3; i < 15 && (argv[i] = va_arg(va, const char *)); i++)
        ;
    va_end(va);
    char out_path[] = "/tmp/petrel-ctl-out-XXXXXX", err_path[] = "/tmp/petrel-ctl-err-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    assert_true(out >= 0 && err >= 0);
    unlink(out_path);
    unlink(err_path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        execv(PETREL_BIN, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    struct ctl_result r = { .status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 };
    slurp(out, r.out, sizeof(r.out));
    slurp(err, r.err, sizeof(r.err));
    return r;
}

static void test_petrel_ctl(void **state)
{
    struct ctl_fixture *f = *state;
    struct ctl_result r = run_ctl(f->path, "status", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "RUNNING"));
    assert_non_null(strstr(r.out, "test-vm"));
    assert_non_null(strstr(r.out, "engine_stats"));
    r = run_ctl(f->path, "suspend", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_SUSPENDED);
    r = run_ctl(f->path, "suspend", NULL);
    assert_int_equal(r.status, 1);
    assert_true(!strncmp(r.err, "petrel: ", 8) && strstr(r.err, "(VERR_VM_INVALID_VM_STATE)\n"));
    assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);              /* one line */
    assert_int_equal(run_ctl(f->path, "resume", NULL).status, 0);
    assert_int_equal(run_ctl(f->path, "exec-cap", "50", NULL).status, 0);
    assert_int_equal(run_ctl(f->path, "cpu-unplug", "0", NULL).status, 1);
    assert_int_equal(run_ctl(f->path, "cpu-plug", "1", NULL).status, 0);
    /* Usage and connection errors: exit status 2, nothing sent. */
    assert_int_equal(run_ctl(f->path, "exec-cap", "0", NULL).status, 2);
    assert_int_equal(run_ctl(f->path, "exec-cap", NULL).status, 2);
    assert_int_equal(run_ctl(f->path, "cpu-plug", "x", NULL).status, 2);
    assert_int_equal(run_ctl(f->path, "poweroff", "--now", NULL).status, 2);
    assert_int_equal(run_ctl(f->path, "reboot", NULL).status, 2);
    assert_int_equal(run_ctl(f->path, NULL).status, 2);
    r = run_ctl("/nonexistent/petrel.sock", "status", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "cannot connect"));
    assert_int_equal(VMR3GetStateU(f->uvm), VMSTATE_RUNNING);
    r = run_ctl(f->path, "poweroff", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "OFF"));
}

/* The protocol layer alone, on a VM handle that has gone away. */
static void test_protocol_after_destroy(void **state)
{
    struct ctl_fixture *f = *state;
    struct control_vm *cv = control_vm_open(f->uvm);
    assert_non_null(cv);
    control_server_stop(f->server);
    f->server = NULL;
    fixture_destroy(f->uvm);
    f->uvm = NULL;
    const char req[] = "{\"command\": \"suspend\"}";
    char *reply = control_handle_line(cv, req, strlen(req));
    assert_non_null(reply);
    assert_non_null(strstr(reply, "\"ok\": false"));
    assert_non_null(strstr(reply, "VERR_INVALID_VM_HANDLE"));
    assert_int_equal(reply[strlen(reply) - 1], '\n');
    free(reply);
    control_vm_close(cv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_stats_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_resume_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_and_exec_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poweroff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acpi_missing, setup_no_acpi, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_mid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_during_save, setup_interp, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_petrel_ctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_after_destroy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
