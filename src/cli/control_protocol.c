/*
 * Control requests: parse and validate one JSON request, call the VM API,
 * build the JSON reply.  See docs/control-protocol.md.
 *
 * A request is checked completely (command known, every field known and of
 * the right type and range) before the VM is touched, so a bad request has
 * no effect on the VM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                    /* pipe2 */
#endif
#include "control_protocol.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <sodium.h>

#include "teleport_net.h"
#include "uuid_text.h"

struct control_vm {
    PUVM            uvm;
    pthread_mutex_t lock;         /* the capture below: written on an EMT */
    bool            capturing;    /* a request's VM call is in progress */
    bool            have_error;
    int             error_rc;
    char            error_msg[1024];
    int             abort_pipe[2];  /* control_vm_abort writes; teleports watch [0] */
};

/* The one optional or required argument a command takes, and an optional
 * boolean flag besides it. */
enum arg_kind { ARG_NONE, ARG_BOOL, ARG_INT, ARG_STRING };

struct request;

struct command {
    const char   *name;
    const char   *arg;
    enum arg_kind kind;
    bool          required;
    long long     min, max;
    int         (*run)(struct control_vm *cv, const struct request *req, json_t *reply);
    const char   *flag;           /* optional boolean field, or NULL */
    const char   *text2;          /* optional second string field, or NULL */
    const char   *num2;           /* optional integer field (1..3600000), or NULL */
    const char   *flag2;          /* a second optional boolean field, or NULL */
};

struct request {
    const struct command *cmd;
    long long arg;
    const char *text;           /* ARG_STRING (owned by the request document) */
    bool flag, flag2;
    const char *text2;          /* NULL when absent */
    long long num2;             /* 0 when absent */
    json_t *id;                 /* echoed in the reply when present */
};

/* --- capturing the VM error raised by a call --- */

static void on_vm_error(PUVM uvm, void *user, int rc, RT_SRC_POS_DECL, const char *fmt, va_list va)
{
    (void)uvm; (void)pszFile; (void)iLine; (void)pszFunction;
    struct control_vm *cv = user;
    pthread_mutex_lock(&cv->lock);
    if (cv->capturing) {               /* the last error of the call wins */
        vsnprintf(cv->error_msg, sizeof(cv->error_msg), fmt, va);
        cv->error_rc = rc;
        cv->have_error = true;
    }
    pthread_mutex_unlock(&cv->lock);
}

static void capture_begin(struct control_vm *cv)
{
    pthread_mutex_lock(&cv->lock);
    cv->capturing = true;
    cv->have_error = false;
    pthread_mutex_unlock(&cv->lock);
}

/* Ends the capture; copies the message if the call's status matches it. */
static bool capture_end(struct control_vm *cv, int rc, char *msg, size_t size)
{
    pthread_mutex_lock(&cv->lock);
    cv->capturing = false;
    bool match = cv->have_error && cv->error_rc == rc;
    if (match)
        snprintf(msg, size, "%s", cv->error_msg);
    pthread_mutex_unlock(&cv->lock);
    return match;
}

/* A failure found by the front end itself (not raised by the VM): the
 * message the reply carries; returns rc. */
static int control_vm_fail(struct control_vm *cv, int rc, const char *msg)
{
    pthread_mutex_lock(&cv->lock);
    snprintf(cv->error_msg, sizeof(cv->error_msg), "%s", msg);
    cv->error_rc = rc;
    cv->have_error = true;
    pthread_mutex_unlock(&cv->lock);
    return rc;
}

struct control_vm *control_vm_open(PUVM uvm)
{
    struct control_vm *cv = calloc(1, sizeof(*cv));
    if (!cv)
        return NULL;
    if (VMR3RetainUVM(uvm) == UINT32_MAX) {
        free(cv);
        return NULL;
    }
    cv->uvm = uvm;
    pthread_mutex_init(&cv->lock, NULL);
    bool piped = pipe2(cv->abort_pipe, O_CLOEXEC | O_NONBLOCK) == 0;
    if (!piped || RT_FAILURE(VMR3AtErrorRegister(uvm, on_vm_error, cv))) {
        pthread_mutex_destroy(&cv->lock);
        if (piped) {
            close(cv->abort_pipe[0]);
            close(cv->abort_pipe[1]);
        }
        VMR3ReleaseUVM(uvm);
        free(cv);
        return NULL;
    }
    return cv;
}

void control_vm_close(struct control_vm *cv)
{
    if (!cv)
        return;
    /* After this no EMT is inside on_vm_error (removal takes the list lock). */
    VMR3AtErrorDeregister(cv->uvm, on_vm_error, cv);
    VMR3ReleaseUVM(cv->uvm);
    pthread_mutex_destroy(&cv->lock);
    close(cv->abort_pipe[0]);
    close(cv->abort_pipe[1]);
    free(cv);
}

void control_vm_abort(struct control_vm *cv)
{
    if (cv && write(cv->abort_pipe[1], "x", 1) < 0) {
        /* EAGAIN: already aborted (the pipe is readable) */
    }
}

/* A JSON string of s; bytes that are not valid UTF-8 (a truncated message,
 * a VM name from a file) make jansson refuse it, so they become '?'. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j || !s)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* --- the commands --- */

static const char *engine_name(uint8_t engine)
{
    switch (engine) {
    case VM_EXEC_ENGINE_NATIVE_API: return "kvm";
    case VM_EXEC_ENGINE_IEM:        return "interp";
    default:                        return "none";
    }
}

static int run_status(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)req;
    VMR3STATUS st = { .cbStruct = sizeof(st) };
    int rc = VMR3QueryStatus(cv->uvm, &st);
    if (RT_FAILURE(rc))
        return rc;
    RTUUID uuid;
    char uuid_text[UUID_TEXT_LEN + 1] = "";
    if (VMR3GetUuid(cv->uvm, &uuid))
        uuid_to_text(&uuid, uuid_text);
    const char *name = VMR3GetName(cv->uvm);
    json_object_set_new(reply, "state", json_string(VMR3GetStateName(st.enmState)));
    json_object_set_new(reply, "name", name ? safe_string(name) : json_null());
    json_object_set_new(reply, "uuid", json_string(uuid_text));
    json_object_set_new(reply, "cpus", json_integer(st.cCpus));
    json_object_set_new(reply, "ram_size", json_integer((json_int_t)st.cbRam));
    json_object_set_new(reply, "engine", json_string(engine_name(st.bMainExecutionEngine)));
    json_object_set_new(reply, "exec_cap", json_integer(st.uCpuExecutionCap));
    json_object_set_new(reply, "power_off_instead_of_reset", json_boolean(st.fPowerOffInsteadOfReset));
    json_object_set_new(reply, "resets", json_integer(st.cResets));
    json_object_set_new(reply, "soft_resets", json_integer(st.cSoftResets));
    json_object_set_new(reply, "hard_resets", json_integer(st.cHardResets));
    /* A truncated line (VERR_BUFFER_OVERFLOW) is still worth showing. */
    char stats[1024];
    rc = VMR3QueryEngineStats(cv->uvm, stats, sizeof(stats));
    json_object_set_new(reply, "engine_stats", safe_string(RT_SUCCESS(rc) || rc == VERR_BUFFER_OVERFLOW ? stats : ""));
    return VINF_SUCCESS;
}

static int run_suspend(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)req; (void)reply;
    return VMR3Suspend(cv->uvm, VMSUSPENDREASON_USER);
}

static int run_resume(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)req; (void)reply;
    return VMR3Resume(cv->uvm, VMRESUMEREASON_USER);
}

static int run_reset(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)req; (void)reply;
    return VMR3Reset(cv->uvm);
}

static int run_poweroff(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)reply;
    return req->arg ? VMR3PressPowerButton(cv->uvm) : VMR3PowerOff(cv->uvm);
}

static int run_cpu_plug(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)reply;
    return VMR3HotPlugCpu(cv->uvm, (VMCPUID)req->arg);
}

static int run_cpu_unplug(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)reply;
    return VMR3HotUnplugCpu(cv->uvm, (VMCPUID)req->arg);
}

static int run_exec_cap(struct control_vm *cv, const struct request *req, json_t *reply)
{
    (void)reply;
    return VMR3SetCpuExecutionCap(cv->uvm, (uint32_t)req->arg);
}

/* Saves the state to a file (live if running; "raw": RAM as a mappable
 * image for a copy-on-write restore); then the VM goes on ("continue") or
 * is powered off, as after a save-and-quit. */
static int run_save(struct control_vm *cv, const struct request *req, json_t *reply)
{
    bool suspended = false;
    int rc = VMR3SaveToFileEx(cv->uvm, req->text, req->flag2 ? VMSAVE_F_RAW_RAM : 0, req->flag, NULL, NULL,
                              &suspended);
    if (RT_FAILURE(rc))
        return rc;
    json_object_set_new(reply, "file", safe_string(req->text));
    if (req->flag)
        return suspended ? VMR3Resume(cv->uvm, VMRESUMEREASON_STATE_SAVED) : VINF_SUCCESS;
    return VMR3PowerOff(cv->uvm);
}

/* When the guest stopped for the teleport's final pass (0: not yet). */
struct stop_clock {
    _Atomic unsigned long long at_ms;
};

static void on_teleport_state(PUVM uvm, PCVMMR3VTABLE vmm, VMSTATE state, VMSTATE old, void *user)
{
    (void)uvm; (void)vmm; (void)old;
    struct stop_clock *sc = user;
    if (state == VMSTATE_SUSPENDING_LS || state == VMSTATE_SAVING)
        sc->at_ms = teleport_now_ms();
}

/*
 * Live migration to `petrel run --teleport-listen` elsewhere: on success
 * this VM is powered off (the target runs it); on any failure before the
 * hand-over it resumes (VMRESUMEREASON_TELEPORT_FAILED).
 */
static int run_teleport(struct control_vm *cv, const struct request *req, json_t *reply)
{
    char password[TELEPORT_PASSWORD_MAX + 2], err[256];
    if (!req->text2)
        return control_vm_fail(cv, VERR_INVALID_PARAMETER, "\"teleport\" needs the field \"password-file\"");
    int rc = teleport_read_password(req->text2, password, sizeof(password), err, sizeof(err));
    if (RT_FAILURE(rc))
        return control_vm_fail(cv, rc, err);
    struct teleport_conn conn;
    rc = teleport_connect(&conn, req->text, password, cv->abort_pipe[0]);
    sodium_memzero(password, sizeof(password));
    if (RT_FAILURE(rc)) {
        teleport_close(&conn);
        return control_vm_fail(cv, rc, conn.error);
    }
    bool suspended = false;
    struct stop_clock sc = { 0 };
    VMR3AtStateRegister(cv->uvm, on_teleport_state, &sc);
    unsigned long long t0 = teleport_now_ms();
    rc = VMR3Teleport(cv->uvm, req->num2 ? (uint32_t)req->num2 : 250, &teleport_source_ops, &conn, NULL, NULL,
                      &suspended);
    unsigned long long t1 = teleport_now_ms();
    VMR3AtStateDeregister(cv->uvm, on_teleport_state, &sc);
    if (RT_SUCCESS(rc) && conn.acked) {
        teleport_close(&conn);
        json_object_set_new(reply, "total_ms", json_integer((json_int_t)(t1 - t0)));
        /* The guest was stopped from the final suspend until the target had it. */
        json_object_set_new(reply, "downtime_ms", json_integer((json_int_t)(sc.at_ms ? t1 - sc.at_ms : 0)));
        return VMR3PowerOff(cv->uvm);
    }
    char why[512];
    snprintf(why, sizeof(why), "teleport to %s failed: %s; the VM keeps running here", req->text,
             conn.error[0] ? conn.error : RTErrGetFull(rc));
    teleport_close(&conn);
    if (VMR3GetStateU(cv->uvm) == VMSTATE_SUSPENDED)
        VMR3Resume(cv->uvm, VMRESUMEREASON_TELEPORT_FAILED);
    return control_vm_fail(cv, RT_FAILURE(rc) ? rc : VERR_NET_PROTOCOL_ERROR, why);
}

static const struct command commands[] = {
    { "status",     NULL,      ARG_NONE, false, 0, 0,     run_status, NULL, NULL, NULL, NULL },
    { "suspend",    NULL,      ARG_NONE, false, 0, 0,     run_suspend, NULL, NULL, NULL, NULL },
    { "resume",     NULL,      ARG_NONE, false, 0, 0,     run_resume, NULL, NULL, NULL, NULL },
    { "reset",      NULL,      ARG_NONE, false, 0, 0,     run_reset, NULL, NULL, NULL, NULL },
    { "poweroff",   "acpi",    ARG_BOOL, false, 0, 1,     run_poweroff, NULL, NULL, NULL, NULL },
    { "cpu-plug",   "cpu",     ARG_INT,  true,  0, 4095,  run_cpu_plug, NULL, NULL, NULL, NULL },
    { "cpu-unplug", "cpu",     ARG_INT,  true,  0, 4095,  run_cpu_unplug, NULL, NULL, NULL, NULL },
    { "exec-cap",   "percent", ARG_INT,  true,  1, 100,   run_exec_cap, NULL, NULL, NULL, NULL },
    { "save",       "file",    ARG_STRING, true, 1, 4095, run_save, "continue", NULL, NULL, "raw" },
    { "teleport",   "target",  ARG_STRING, true, 3, 300,  run_teleport, NULL, "password-file", "max-downtime", NULL },
};

/* --- replies --- */

static json_t *error_object(int status, const char *message)
{
    const char *name = RTErrGetShort(status);
    return json_pack("{s:b, s:{s:i, s:s, s:o}}", "ok", 0, "error", "status", status,
                     "name", name ? name : "VERR_UNKNOWN", "message", safe_string(message));
}

static char *reply_text(json_t *reply)
{
    char *body = reply ? json_dumps(reply, 0) : NULL;
    json_decref(reply);
    if (!body)
        return NULL;
    size_t n = strlen(body);
    char *line = malloc(n + 2);
    if (line) {
        memcpy(line, body, n);
        line[n] = '\n';
        line[n + 1] = 0;
    }
    free(body);
    return line;
}

char *control_error_reply(int status, const char *message)
{
    return reply_text(error_object(status, message));
}

/* --- requests --- */

static int request_error(char *msg, size_t size, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int request_error(char *msg, size_t size, int rc, const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    vsnprintf(msg, size, fmt, va);
    va_end(va);
    return rc;
}

static int parse_argument(const struct command *c, json_t *v, long long *arg, const char **text, char *msg,
                          size_t size)
{
    if (!v) {
        if (c->required)
            return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" needs the field \"%s\"", c->name, c->arg);
        return VINF_SUCCESS;
    }
    if (c->kind == ARG_STRING) {
        if (!json_is_string(v) || json_string_length(v) < (size_t)c->min || json_string_length(v) > (size_t)c->max ||
            strlen(json_string_value(v)) != json_string_length(v))
            return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be a string of %lld to %lld "
                                 "characters without NUL", c->arg, c->min, c->max);
        *text = json_string_value(v);
        return VINF_SUCCESS;
    }
    if (c->kind == ARG_BOOL) {
        if (!json_is_boolean(v))
            return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be true or false", c->arg);
        *arg = json_is_true(v);
        return VINF_SUCCESS;
    }
    if (!json_is_integer(v))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be an integer", c->arg);
    *arg = json_integer_value(v);
    if (*arg < c->min || *arg > c->max)
        return request_error(msg, size, VERR_OUT_OF_RANGE, "\"%s\" must be from %lld to %lld, not %lld",
                             c->arg, c->min, c->max, *arg);
    return VINF_SUCCESS;
}

static int parse_request(json_t *doc, struct request *req, char *msg, size_t size)
{
    if (!json_is_object(doc))
        return request_error(msg, size, VERR_PARSE_ERROR, "a request must be a JSON object");
    req->id = json_object_get(doc, "id");
    json_t *name = json_object_get(doc, "command");
    if (!json_is_string(name))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "a request needs a \"command\" string");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !req->cmd; i++)
        if (strcmp(commands[i].name, json_string_value(name)) == 0)
            req->cmd = &commands[i];
    if (!req->cmd)
        return request_error(msg, size, VERR_NOT_SUPPORTED, "unknown command \"%.64s\" (commands: status, suspend, "
                             "resume, reset, poweroff, cpu-plug, cpu-unplug, exec-cap, save, teleport)", json_string_value(name));
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        const struct command *c = req->cmd;
        bool known = !strcmp(key, "command") || !strcmp(key, "id") || (c->arg && !strcmp(key, c->arg)) ||
                     (c->flag && !strcmp(key, c->flag)) || (c->text2 && !strcmp(key, c->text2)) ||
                     (c->num2 && !strcmp(key, c->num2)) || (c->flag2 && !strcmp(key, c->flag2));
        if (!known)
            return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" has no field \"%.64s\"",
                                 req->cmd->name, key);
    }
    json_t *flag = req->cmd->flag ? json_object_get(doc, req->cmd->flag) : NULL;
    if (flag && !json_is_boolean(flag))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be true or false", req->cmd->flag);
    req->flag = flag && json_is_true(flag);
    json_t *flag2 = req->cmd->flag2 ? json_object_get(doc, req->cmd->flag2) : NULL;
    if (flag2 && !json_is_boolean(flag2))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be true or false", req->cmd->flag2);
    req->flag2 = flag2 && json_is_true(flag2);
    json_t *text2 = req->cmd->text2 ? json_object_get(doc, req->cmd->text2) : NULL;
    if (text2 && (!json_is_string(text2) || !json_string_length(text2) ||
                  strlen(json_string_value(text2)) != json_string_length(text2)))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be a non-empty string without NUL",
                             req->cmd->text2);
    req->text2 = text2 ? json_string_value(text2) : NULL;
    json_t *num2 = req->cmd->num2 ? json_object_get(doc, req->cmd->num2) : NULL;
    if (num2 && (!json_is_integer(num2) || json_integer_value(num2) < 1 || json_integer_value(num2) > 3600000))
        return request_error(msg, size, VERR_INVALID_PARAMETER, "\"%s\" must be an integer from 1 to 3600000",
                             req->cmd->num2);
    req->num2 = num2 ? json_integer_value(num2) : 0;
    return req->cmd->arg ? parse_argument(req->cmd, json_object_get(doc, req->cmd->arg), &req->arg, &req->text,
                                          msg, size)
                         : VINF_SUCCESS;
}

/* Runs a valid request; on failure the message is the VM error it raised,
 * else the status's description. */
static json_t *execute(struct control_vm *cv, const struct request *req)
{
    json_t *reply = json_pack("{s:b}", "ok", 1);
    if (!reply)
        return NULL;
    capture_begin(cv);
    int rc = req->cmd->run(cv, req, reply);
    char msg[1024];
    bool have_msg = capture_end(cv, rc, msg, sizeof(msg));
    if (RT_FAILURE(rc)) {
        json_decref(reply);
        return error_object(rc, have_msg ? msg : RTErrGetFull(rc));
    }
    if (!json_object_get(reply, "state"))
        json_object_set_new(reply, "state", json_string(VMR3GetStateName(VMR3GetStateU(cv->uvm))));
    return reply;
}

char *control_handle_line(struct control_vm *cv, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        char msg[256];
        snprintf(msg, sizeof(msg), "malformed JSON at column %d: %s", jerr.column, jerr.text);
        return control_error_reply(VERR_PARSE_ERROR, msg);
    }
    struct request req = { 0 };
    char msg[512];
    int rc = parse_request(doc, &req, msg, sizeof(msg));
    json_t *reply = RT_SUCCESS(rc) ? execute(cv, &req) : error_object(rc, msg);
    if (reply && req.id)
        json_object_set(reply, "id", req.id);
    json_decref(doc);
    return reply_text(reply);
}
