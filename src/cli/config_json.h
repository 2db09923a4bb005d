/*
 * `petrel run --config vm.json`: a JSON object tree mapped 1:1 onto the
 * CFGM tree (objects -> nodes, integers/booleans -> integers, strings ->
 * strings).  See docs/config.md.
 */
#ifndef PETREL_CLI_CONFIG_JSON_H
#define PETREL_CLI_CONFIG_JSON_H

#include <stddef.h>
#include <vmm/cfgm.h>

/* Parses path and inserts its tree under root (existing values are kept:
 * the command line, applied first, overrides the file).  Unknown keys,
 * wrong types and syntax errors fail with a message naming the key and
 * file:line in err.  Returns a VBox status. */
int config_json_apply(const char *path, PCFGMNODE root, char *err, size_t err_size);

#endif
