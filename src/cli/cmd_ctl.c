/*
 * `petrel ctl PATH COMMAND [ARGS]`: sends one request to a VM's control
 * socket and prints the reply: the fields of a successful reply one per
 * line on stdout, an error as "petrel: <message> (<NAME>)" on stderr.
 */
#include "cmd_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

#define CTL_REPLY_MAX   ((size_t)1 << 20)
#define CTL_TIMEOUT_MS  (30 * 60000)    /* a save of a large VM to a slow disk may take minutes */

void cmd_ctl_help(void)
{
    fputs("usage: petrel ctl PATH COMMAND [ARGS]\n"
          "\n"
          "Controls the VM of `petrel run --control PATH`.\n"
          "\n"
          "  status             state, name, UUID, CPUs, RAM, engine, execution cap, resets,\n"
          "                     engine counters (KVM: fallbacks to the interpreter per opcode)\n"
          "  suspend | resume   stop / continue running the guest\n"
          "  reset              hard reset (the guest boots again)\n"
          "  poweroff [--acpi]  power off now, or press the ACPI power button so that\n"
          "                     the guest shuts down cleanly\n"
          "  cpu-plug N         hot plug vCPU N\n"
          "  cpu-unplug N       hot unplug vCPU N (not 0)\n"
          "  exec-cap PCT       limit each vCPU to PCT percent of a host CPU (1..100)\n"
          "  teleport HOST:PORT --password-file FILE [--max-downtime MS]\n"
          "                     move the running VM to `petrel run --teleport-listen` on\n"
          "                     HOST:PORT (same machine options); this VM powers off once\n"
          "                     the target has it, or keeps running if anything fails\n"
          "  save FILE [--continue] [--raw]\n"
          "                     save the VM's state to FILE (live if it runs), then power\n"
          "                     it off, or with --continue let it go on; `petrel run\n"
          "                     --restore FILE` (same machine options) resumes it; --raw\n"
          "                     writes RAM uncompressed so that the restore maps it\n"
          "                     copy-on-write (fast; FILE must then stay unchanged)\n"
          "\n"
          "Exit status: 0 done, 1 the VM refused (message on stderr), 2 usage or\n"
          "connection error.\n", stdout);
}

/* The server resolves a relative path from its own directory: an absolute one. */
static bool absolute(const char *file, char *path, size_t size)
{
    char cwd[4096];
    if (file[0] != '/' && !getcwd(cwd, sizeof(cwd)))
        return false;
    int n = file[0] == '/' ? snprintf(path, size, "%s", file) : snprintf(path, size, "%s/%s", cwd, file);
    return n > 0 && (size_t)n < size;
}

static json_t *teleport_request(int argc, char **argv)
{
    const char *pwfile = NULL;
    uint64_t downtime = 250;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--password-file"))
            pwfile = argv[i + 1];
        else if (!strcmp(argv[i], "--max-downtime") && cli_parse_u64(argv[i + 1], 1, 3600000, &downtime))
            continue;
        else
            pwfile = NULL, argc = 0;
    }
    char path[4096];
    if (argc < 4 || argc % 2 || !pwfile || !absolute(pwfile, path, sizeof(path))) {
        cli_usage_error("ctl teleport HOST:PORT --password-file FILE [--max-downtime MS] (try `petrel help ctl`)");
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:I}", "command", "teleport", "target", argv[1], "password-file", path,
                     "max-downtime", (json_int_t)downtime);
}

/* The server resolves a relative path from its own directory: send an absolute one. */
static json_t *save_request(const char *file, bool cont, bool raw)
{
    char cwd[4096], path[4096];
    if (file[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
        cli_usage_error("ctl save: cannot find the current directory: %s", strerror(errno));
        return NULL;
    }
    int n = file[0] == '/' ? snprintf(path, sizeof(path), "%s", file) : snprintf(path, sizeof(path), "%s/%s", cwd, file);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        cli_usage_error("ctl save: the path is too long");
        return NULL;
    }
    return json_pack("{s:s, s:s, s:b, s:b}", "command", "save", "file", path, "continue", cont, "raw", raw);
}

/* Builds the request object from the command line; NULL after a usage error. */
static json_t *build_request(int argc, char **argv)
{
    const char *cmd = argv[0];
    uint64_t n = 0;
    if (!strcmp(cmd, "status") || !strcmp(cmd, "suspend") || !strcmp(cmd, "resume") || !strcmp(cmd, "reset")) {
        if (argc == 1)
            return json_pack("{s:s}", "command", cmd);
    } else if (!strcmp(cmd, "poweroff")) {
        if (argc == 1 || (argc == 2 && !strcmp(argv[1], "--acpi")))
            return json_pack("{s:s, s:b}", "command", cmd, "acpi", argc == 2);
    } else if (!strcmp(cmd, "cpu-plug") || !strcmp(cmd, "cpu-unplug")) {
        if (argc == 2 && cli_parse_u64(argv[1], 0, 4095, &n))
            return json_pack("{s:s, s:I}", "command", cmd, "cpu", (json_int_t)n);
        if (argc == 2) {
            cli_usage_error("ctl %s: '%s' is not a vCPU number from 0 to 4095", cmd, argv[1]);
            return NULL;
        }
    } else if (!strcmp(cmd, "exec-cap")) {
        if (argc == 2 && cli_parse_u64(argv[1], 1, 100, &n))
            return json_pack("{s:s, s:I}", "command", cmd, "percent", (json_int_t)n);
        if (argc == 2) {
            cli_usage_error("ctl exec-cap: '%s' is not a percentage from 1 to 100", argv[1]);
            return NULL;
        }
    } else if (!strcmp(cmd, "teleport")) {
        return teleport_request(argc, argv);
    } else if (!strcmp(cmd, "save")) {
        bool cont = false, raw = false, ok = argc >= 2;
        for (int i = 2; i < argc && ok; i++) {
            bool *opt = !strcmp(argv[i], "--continue") ? &cont : !strcmp(argv[i], "--raw") ? &raw : NULL;
            ok = opt && !*opt;
            if (opt)
                *opt = true;
        }
        if (ok)
            return save_request(argv[1], cont, raw);
    } else {
        cli_usage_error("ctl: unknown command '%s' (try `petrel help ctl`)", cmd);
        return NULL;
    }
    cli_usage_error("ctl %s: wrong arguments (try `petrel help ctl`)", cmd);
    return NULL;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        cli_usage_error("ctl: socket path too long: %s", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        cli_usage_error("ctl: cannot connect to %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads one reply line (without '\n') into a malloc'd string; NULL on failure. */
static char *read_reply(int fd)
{
    char *buf = malloc(CTL_REPLY_MAX + 1);
    size_t len = 0;
    while (buf && len < CTL_REPLY_MAX) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, CTL_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;                              /* timed out */
        ssize_t n = recv(fd, buf + len, CTL_REPLY_MAX - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl) {
            *nl = 0;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

static void print_fields(json_t *reply)
{
    const char *key;
    json_t *v;
    json_object_foreach(reply, key, v) {
        if (!strcmp(key, "ok"))
            continue;
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
        printf("%-27s %s\n", key, text ? text : json_string_value(v));
        free(text);
    }
}

/* Prints the reply; returns the exit status. */
static int show_reply(const char *path, const char *line)
{
    json_t *reply = json_loads(line, 0, NULL);
    json_t *ok = json_object_get(reply, "ok");
    json_t *e = json_object_get(reply, "error");
    int status = CLI_EXIT_USAGE;
    if (json_is_true(ok)) {
        print_fields(reply);
        status = CLI_EXIT_OK;
    } else if (json_is_false(ok) && json_is_string(json_object_get(e, "message"))) {
        const char *name = json_string_value(json_object_get(e, "name"));
        fprintf(stderr, "petrel: %s (%s)\n", json_string_value(json_object_get(e, "message")),
                name ? name : "unknown status");
        status = CLI_EXIT_GUEST_FAIL;
    } else {
        cli_usage_error("ctl: %s sent a reply that is not a control protocol reply", path);
    }
    json_decref(reply);
    return status;
}

int cmd_ctl(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_ctl_help();
        return CLI_EXIT_OK;
    }
    if (argc < 3)
        return cli_usage_error("ctl: usage: petrel ctl PATH COMMAND [ARGS] (try `petrel help ctl`)");
    const char *path = argv[1];
    json_t *req = build_request(argc - 2, argv + 2);
    if (!req)
        return CLI_EXIT_USAGE;
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    int fd = body ? connect_to(path) : -1;
    int status = CLI_EXIT_USAGE;
    if (fd >= 0) {
        bool sent = send_all(fd, body, strlen(body)) && send_all(fd, "\n", 1);
        char *line = sent ? read_reply(fd) : NULL;
        if (line)
            status = show_reply(path, line);
        else
            cli_usage_error("ctl: no reply from %s (is the VM still running?)", path);
        free(line);
        close(fd);
    }
    free(body);
    return status;
}
