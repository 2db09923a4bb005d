/*
 * `petrel run --config vm.json`: a JSON object tree mapped 1:1 onto CFGM.
 *
 * Objects become nodes, integers and booleans integers, strings strings
 * (UUID: a "xxxxxxxx-xxxx-..." string becomes 16 bytes).  Only the keys in
 * the schema below are accepted, so a typo is an error naming the key and
 * file:line instead of a silently ignored setting.  The whole file is
 * checked before anything is inserted; values already in the tree (the
 * command line) are kept.
 *
 * jansson does not remember where a key was, so the line of a bad key is
 * found by walking the file text along the key's path (key_line()).
 */
#include "config_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <vmm/err.h>

#include "uuid_text.h"

#define CONFIG_JSON_MAX_SIZE  (16u << 20)   /* a VM config is a few KiB */
#define CONFIG_JSON_MAX_DEPTH 8             /* deeper than any schema key */
#define CONFIG_KEY_MAX        64

/* CFG_INT_OR_STRING: a key whose type depends on another (Boot/Entry: an
 * address for a flat image, an entry name for a Linux kernel). */
enum cfg_kind { CFG_NODE, CFG_INT, CFG_BOOL, CFG_STRING, CFG_UUID, CFG_INT_OR_STRING };

/* One key Petrel reads.  '*' in a pattern matches a device instance number. */
struct cfg_key {
    const char   *pattern;
    enum cfg_kind kind;
    uint64_t      min, max;   /* CFG_INT only */
};

#define U16 0, UINT16_MAX
#define U32 0, UINT32_MAX
#define U63 0, INT64_MAX      /* jansson integers are signed 64-bit */

/* Every key of docs/config.md and docs/devices.md; extend as models grow. */
static const struct cfg_key schema[] = {
    { "Name", CFG_STRING, 0, 0 },
    { "UUID", CFG_UUID, 0, 0 },
    { "NumCPUs", CFG_INT, 1, 64 },
    { "RamSize", CFG_INT, U63 },
    { "RamHoleSize", CFG_INT, U32 },
    { "ExecEngine", CFG_STRING, 0, 0 },
    { "CpuExecutionCap", CFG_INT, 1, 100 },
    { "PowerOffInsteadOfReset", CFG_BOOL, 0, 0 },
    { "TimerMillies", CFG_INT, U32 },
    { "EM/TripleFaultReset", CFG_BOOL, 0, 0 },
    { "HM/FallbackToIEM", CFG_BOOL, 0, 0 },
    { "KVM/IrqChip", CFG_BOOL, 0, 0 },
    { "Boot/Image", CFG_STRING, 0, 0 },
    { "Boot/Mode", CFG_STRING, 0, 0 },
    { "Boot/LoadAddress", CFG_INT, U63 },
    { "Boot/Entry", CFG_INT_OR_STRING, U63 },
    { "Boot/StartAPs", CFG_BOOL, 0, 0 },
    { "Boot/Kernel", CFG_STRING, 0, 0 },
    { "Boot/Initrd", CFG_STRING, 0, 0 },
    { "Boot/CmdLine", CFG_STRING, 0, 0 },
    { "Devices/serial/*/Config/Port", CFG_INT, U16 },
    { "Devices/serial/*/Config/IRQ", CFG_INT, 0, 23 },
    { "Devices/serial/*/Config/Console", CFG_STRING, 0, 0 },
    { "Devices/debugcon/*/Config/Output", CFG_STRING, 0, 0 },
    { "Devices/debugexit/*/Config", CFG_NODE, 0, 0 },
    { "Devices/acpi/*/Config/IoBase", CFG_INT, U16 },
    { "Devices/acpi/*/Config/CpuPresentMask", CFG_INT, U63 },
    { "Devices/rtc/*/Config/IRQ", CFG_INT, 0, 23 },
    { "Devices/i8042/*/Config", CFG_NODE, 0, 0 },
    { "Devices/pci/*/Config", CFG_NODE, 0, 0 },
    { "Devices/virtio-blk/*/Config/Path", CFG_STRING, 0, 0 },
    { "Devices/virtio-blk/*/Config/ReadOnly", CFG_BOOL, 0, 0 },
    { "Devices/virtio-blk/*/Config/Serial", CFG_STRING, 0, 0 },
    { "Devices/virtio-blk/*/Config/PciSlot", CFG_INT, 1, 31 },
    { "Devices/virtio-rng/*/Config", CFG_NODE, 0, 0 },
    { "Devices/virtio-rng/*/Config/PciSlot", CFG_INT, 1, 31 },
    { "Devices/virtio-console/*/Config/Console", CFG_STRING, 0, 0 },
    { "Devices/virtio-console/*/Config/PciSlot", CFG_INT, 1, 31 },
    { "Devices/virtio-net/*/Config/Backend", CFG_STRING, 0, 0 },
    { "Devices/virtio-net/*/Config/Mac", CFG_STRING, 0, 0 },
    { "Devices/virtio-net/*/Config/Offloads", CFG_INT, 0, 1 },
    { "Devices/virtio-net/*/Config/PciSlot", CFG_INT, 1, 31 },
};

/* Where we are: the file, its text, the key path being checked. */
struct json_ctx {
    const char *file;
    const char *text;
    size_t      len;
    const char *path[CONFIG_JSON_MAX_DEPTH];
    unsigned    depth;
    char       *err;
    size_t      err_size;
};

/* --- schema lookup --- */

static bool is_instance_number(const char *s, size_t n)
{
    if (n == 0 || n > 9)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Matches the key path against a pattern's leading segments; *whole says
 * whether the pattern ended there too. */
static bool pattern_match(const char *pattern, const char *const *path, unsigned depth, bool *whole)
{
    const char *p = pattern;
    for (unsigned i = 0; i < depth; i++) {
        if (!*p)
            return false;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t klen = strlen(path[i]);
        bool ok = (n == 1 && *p == '*') ? is_instance_number(path[i], klen)
                                        : (n == klen && memcmp(p, path[i], n) == 0);
        if (!ok)
            return false;
        p = end ? end + 1 : p + n;
    }
    *whole = !*p;
    return true;
}

/* The schema entry for a value at path, or NULL; *is_node tells whether the
 * path names a node (an object is expected there). */
static const struct cfg_key *schema_lookup(const char *const *path, unsigned depth, bool *is_node)
{
    *is_node = false;
    const struct cfg_key *value = NULL;
    for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++) {
        bool whole;
        if (!pattern_match(schema[i].pattern, path, depth, &whole))
            continue;
        if (!whole || schema[i].kind == CFG_NODE)
            *is_node = true;
        else
            value = &schema[i];
    }
    return value;
}

/* --- error messages --- */

/* Finds the line of the key path[0..depth) by walking the text, skipping
 * string contents and following the path one object level at a time.
 * Returns the line of the deepest key found (0 if none). */
static unsigned key_line(const struct json_ctx *cx, unsigned depth)
{
    unsigned line = 1, level = 0, matched = 0, found_line = 0;
    for (size_t i = 0; i < cx->len; i++) {
        char c = cx->text[i];
        if (c == '\n') {
            line++;
        } else if (c == '{' || c == '[') {
            level++;
        } else if (c == '}' || c == ']') {
            if (level == matched)
                return found_line;            /* left the object without finding it */
            level--;
        } else if (c == '"') {
            size_t start = ++i;
            while (i < cx->len && cx->text[i] != '"')
                i += cx->text[i] == '\\' ? 2 : 1;
            if (i >= cx->len)
                break;
            size_t n = i - start, j = i + 1;
            while (j < cx->len && strchr(" \t\r\n", cx->text[j]))
                j++;
            if (level == matched + 1 && j < cx->len && cx->text[j] == ':' &&
                strlen(cx->path[matched]) == n && memcmp(cx->text + start, cx->path[matched], n) == 0) {
                found_line = line;
                if (++matched == depth)
                    return found_line;
            }
        }
    }
    return found_line;
}

static void path_text(const struct json_ctx *cx, unsigned depth, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < depth && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "/%s", cx->path[i]);
}

/* Formats "file:line: /the/key: <message>" into cx->err; returns rc. */
static int key_error(struct json_ctx *cx, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int key_error(struct json_ctx *cx, int rc, const char *fmt, ...)
{
    char key[512], msg[512];
    path_text(cx, cx->depth, key, sizeof(key));
    va_list va;
    va_start(va, fmt);
    vsnprintf(msg, sizeof(msg), fmt, va);
    va_end(va);
    unsigned line = key_line(cx, cx->depth);
    if (line)
        snprintf(cx->err, cx->err_size, "%s:%u: %s: %s", cx->file, line, key, msg);
    else
        snprintf(cx->err, cx->err_size, "%s: %s: %s", cx->file, key, msg);
    return rc;
}

static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}

/* --- checking and inserting one value --- */

/* Checks v against the schema entry; fills the integer, string or UUID. */
static int check_value(struct json_ctx *cx, const struct cfg_key *k, const json_t *v, uint64_t *num, RTUUID *uuid)
{
    switch (k->kind) {
    case CFG_BOOL:
        if (json_is_boolean(v)) {
            *num = json_is_true(v);
            return VINF_SUCCESS;
        }
        if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
            *num = (uint64_t)json_integer_value(v);
            return VINF_SUCCESS;
        }
        return key_error(cx, VERR_CFGM_NOT_INTEGER, "expected true or false, not %s", json_kind_name(v));
    case CFG_INT_OR_STRING:
        if (json_is_string(v))
            return VINF_SUCCESS;
        if (!json_is_integer(v))
            return key_error(cx, VERR_CFGM_NOT_INTEGER, "expected an integer or a string, not %s",
                             json_kind_name(v));
        /* fall through */
    case CFG_INT: {
        if (!json_is_integer(v))
            return key_error(cx, VERR_CFGM_NOT_INTEGER, "expected an integer, not %s", json_kind_name(v));
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i < k->min || (uint64_t)i > k->max)
            return key_error(cx, VERR_OUT_OF_RANGE, "%lld is out of range (%llu..%llu)", (long long)i,
                             (unsigned long long)k->min, (unsigned long long)k->max);
        *num = (uint64_t)i;
        return VINF_SUCCESS;
    }
    case CFG_STRING:
        if (!json_is_string(v))
            return key_error(cx, VERR_CFGM_NOT_STRING, "expected a string, not %s", json_kind_name(v));
        return VINF_SUCCESS;
    case CFG_UUID:
        if (!json_is_string(v))
            return key_error(cx, VERR_CFGM_NOT_STRING, "expected a UUID string, not %s", json_kind_name(v));
        if (!uuid_from_text(json_string_value(v), uuid))
            return key_error(cx, VERR_INVALID_UUID_FORMAT,
                             "'%s' is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                             json_string_value(v));
        return VINF_SUCCESS;
    case CFG_NODE:
        break;
    }
    return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_VALUE, "expected an object");
}

/* Inserts a checked value unless the tree already has one (the command line wins). */
static int insert_value(struct json_ctx *cx, PCFGMNODE node, const char *name, const struct cfg_key *k,
                        const json_t *v, uint64_t num, const RTUUID *uuid)
{
    CFGMVALUETYPE type;
    if (RT_SUCCESS(CFGMR3QueryType(node, name, &type)))
        return VINF_SUCCESS;
    int rc;
    if (json_is_string(v) && k->kind != CFG_UUID)
        rc = CFGMR3InsertStringN(node, name, json_string_value(v), json_string_length(v));
    else if (k->kind == CFG_UUID)
        rc = CFGMR3InsertBytes(node, name, uuid, sizeof(*uuid));
    else
        rc = CFGMR3InsertInteger(node, name, num);
    return RT_FAILURE(rc) ? key_error(cx, rc, "cannot insert it into the configuration (%s)", RTErrGetShort(rc)) : rc;
}

/* --- the walk: check only (node == NULL) or check and insert --- */

static int walk_object(struct json_ctx *cx, const json_t *obj, PCFGMNODE node);

static int check_key_name(struct json_ctx *cx, const char *key)
{
    if (!*key)
        return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_VALUE, "empty keys are not allowed");
    if (strchr(key, '/'))
        return key_error(cx, VERR_CFGM_INVALID_NODE_PATH, "'/' is not allowed in a key: nest objects instead");
    if (strlen(key) > CONFIG_KEY_MAX)
        return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_VALUE, "unknown key (see docs/config.md)");
    return VINF_SUCCESS;
}

static int walk_child(struct json_ctx *cx, const char *key, const json_t *v, PCFGMNODE node)
{
    int rc = check_key_name(cx, key);
    if (RT_FAILURE(rc))
        return rc;
    bool is_node;
    const struct cfg_key *k = schema_lookup(cx->path, cx->depth, &is_node);
    if (json_is_object(v)) {
        if (!is_node)
            return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_NODE, k ? "expected a value, not an object"
                                                                  : "unknown key (see docs/config.md)");
        PCFGMNODE child = NULL;
        if (node) {
            child = CFGMR3GetChild(node, key);
            if (!child && RT_FAILURE(rc = CFGMR3InsertNode(node, key, &child)))
                return key_error(cx, rc, "cannot insert it into the configuration (%s)", RTErrGetShort(rc));
        }
        return walk_object(cx, v, child);
    }
    if (!k && is_node)
        return key_error(cx, VERR_CFGM_NO_NODE, "expected an object, not %s", json_kind_name(v));
    if (!k)
        return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_VALUE, "unknown key (see docs/config.md)");
    uint64_t num = 0;
    RTUUID uuid;
    rc = check_value(cx, k, v, &num, &uuid);
    if (RT_SUCCESS(rc) && node)
        rc = insert_value(cx, node, key, k, v, num, &uuid);
    return rc;
}

static int walk_object(struct json_ctx *cx, const json_t *obj, PCFGMNODE node)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (cx->depth >= CONFIG_JSON_MAX_DEPTH)
            return key_error(cx, VERR_CFGM_CONFIG_UNKNOWN_NODE, "unknown key (see docs/config.md)");
        cx->path[cx->depth++] = key;
        int rc = walk_child(cx, key, v, node);
        cx->depth--;
        if (RT_FAILURE(rc))
            return rc;
    }
    return VINF_SUCCESS;
}

/* --- reading the file --- */

static int read_file(const char *path, char **text, size_t *len, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT ? VERR_FILE_NOT_FOUND : VERR_OPEN_FAILED;
    }
    char *buf = malloc(CONFIG_JSON_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_JSON_MAX_SIZE + 1, f) : 0;
    int failed = buf ? ferror(f) : 1;
    fclose(f);
    if (failed || n > CONFIG_JSON_MAX_SIZE) {
        free(buf);
        snprintf(err, err_size, "%s: %s", path, failed ? "cannot read the file (is it a directory?)"
                                                       : "too big for a configuration file (over 16 MiB)");
        return failed ? VERR_READ_ERROR : VERR_FILE_TOO_BIG;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return VINF_SUCCESS;
}

int config_json_apply(const char *path, PCFGMNODE root, char *err, size_t err_size)
{
    if (!path || !root || !err || !err_size)
        return VERR_INVALID_PARAMETER;
    err[0] = 0;
    struct json_ctx cx = { .file = path, .err = err, .err_size = err_size };
    char *text = NULL;
    int rc = read_file(path, &text, &cx.len, err, err_size);
    if (RT_FAILURE(rc))
        return rc;
    cx.text = text;
    json_error_t jerr;
    json_t *doc = json_loadb(text, cx.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(err, err_size, "%s:%d:%d: JSON syntax error: %s", path, jerr.line, jerr.column, jerr.text);
        rc = VERR_PARSE_ERROR;
    } else if (!json_is_object(doc)) {
        snprintf(err, err_size, "%s: the top level must be an object ({ ... }), not %s", path, json_kind_name(doc));
        rc = VERR_PARSE_ERROR;
    } else {
        rc = walk_object(&cx, doc, NULL);          /* check everything first */
        if (RT_SUCCESS(rc))
            rc = walk_object(&cx, doc, root);
    }
    json_decref(doc);
    free(text);
    return rc;
}
