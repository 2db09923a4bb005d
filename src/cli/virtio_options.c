/*
 * `petrel run --disk PATH[,ro][,serial=S]`, `--rng` and `--virtio-console
 * SPEC`: virtio devices in the configuration tree (/Devices/virtio-blk/N/
 * Config/{Path,ReadOnly,Serial}, /Devices/virtio-rng/0, /Devices/
 * virtio-console/0/Config/Console), `--net tap:NAME|none[,mac=M][,offload=off]`
 * (/Devices/virtio-net/N/Config/{Backend,Mac,Offloads}), with the PCI host bridge they sit on
 * (/Devices/pci/0, added for flat guests too).  A path cannot contain a
 * comma: use --config for such paths.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int disk_option_parse(const char *arg, struct disk_option *d)
{
    memset(d, 0, sizeof(*d));
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    if (len == 0)
        return cli_usage_error("--disk: '%s' has no image path (--disk PATH[,ro][,serial=S])", arg);
    if (len >= sizeof(d->path))
        return cli_usage_error("--disk: the image path is too long");
    memcpy(d->path, arg, len);
    while (comma) {
        const char *opt = comma + 1;
        comma = strchr(opt, ',');
        size_t n = comma ? (size_t)(comma - opt) : strlen(opt);
        if (n == 2 && !strncmp(opt, "ro", 2))
            d->read_only = true;
        else if (n > 7 && !strncmp(opt, "serial=", 7) && n - 7 < sizeof(d->serial))
            memcpy(d->serial, opt + 7, n - 7);
        else if (n >= 7 && !strncmp(opt, "serial=", 7))
            return cli_usage_error("--disk: serial '%.*s' must be 1 to 20 characters", (int)(n - 7), opt + 7);
        else
            return cli_usage_error("--disk: unknown option '%.*s' (PATH[,ro][,serial=S])", (int)n, opt);
    }
    return 0;
}

int net_option_parse(const char *arg, struct run_options *o, unsigned i)
{
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    bool tap = len > 4 && !strncmp(arg, "tap:", 4);
    if (!tap && !(len == 4 && !strncmp(arg, "none", 4)))
        return cli_usage_error("--net: '%.*s' is not tap:NAME or none", (int)len, arg);
    if (len - (tap ? 4 : 0) > 15)
        return cli_usage_error("--net: tap interface names have at most 15 characters");
    snprintf(o->net_backend[i], sizeof(o->net_backend[i]), "%.*s", (int)len, arg);
    o->net_mac[i][0] = 0;
    o->net_no_offload[i] = false;
    while (comma) {
        const char *opt = comma + 1;
        comma = strchr(opt, ',');
        size_t n = comma ? (size_t)(comma - opt) : strlen(opt);
        if (n == 11 && !strncmp(opt, "offload=off", n)) {
            o->net_no_offload[i] = true;
            continue;
        }
        if (n == 10 && !strncmp(opt, "offload=on", n))
            continue;
        bool hex = n == 21 && !strncmp(opt, "mac=", 4);      /* "mac=" + 17 */
        for (int k = 0; hex && k < 17; k++)
            hex = k % 3 == 2 ? opt[4 + k] == ':' : strchr("0123456789abcdefABCDEF", opt[4 + k]) != NULL;
        if (!hex)
            return cli_usage_error("--net: '%.*s' is not mac=XX:XX:XX:XX:XX:XX or offload=on|off", (int)n, opt);
        snprintf(o->net_mac[i], sizeof(o->net_mac[i]), "%.17s", opt + 4);
    }
    return 0;
}

int virtio_options_insert(PCFGMNODE root, const struct run_options *o)
{
    int rc = VINF_SUCCESS;
    if ((o->n_disks || o->n_nets || o->rng || o->virtio_console) && !CFGMR3GetChild(root, "Devices/pci"))
        rc = CFGMR3InsertNode(root, "Devices/pci/0/Config", NULL);
    for (unsigned i = 0; RT_SUCCESS(rc) && i < o->n_disks; i++) {
        PCFGMNODE node = NULL;
        rc = CFGMR3InsertNodeF(root, &node, "Devices/virtio-blk/%u/Config", i);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Path", o->disks[i].path);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertInteger(node, "ReadOnly", o->disks[i].read_only);
        if (RT_SUCCESS(rc) && o->disks[i].serial[0]) rc = CFGMR3InsertString(node, "Serial", o->disks[i].serial);
    }
    for (unsigned i = 0; RT_SUCCESS(rc) && i < o->n_nets; i++) {
        PCFGMNODE node = NULL;
        rc = CFGMR3InsertNodeF(root, &node, "Devices/virtio-net/%u/Config", i);
        if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Backend", o->net_backend[i]);
        if (RT_SUCCESS(rc) && o->net_mac[i][0]) rc = CFGMR3InsertString(node, "Mac", o->net_mac[i]);
        if (RT_SUCCESS(rc) && o->net_no_offload[i]) rc = CFGMR3InsertInteger(node, "Offloads", 0);
    }
    if (RT_SUCCESS(rc) && o->rng)
        rc = CFGMR3InsertNode(root, "Devices/virtio-rng/0/Config", NULL);
    if (RT_SUCCESS(rc) && o->virtio_console)
        rc = CFGMR3InsertString(root, "Devices/virtio-console/0/Config/Console", o->virtio_console);
    return rc;
}
