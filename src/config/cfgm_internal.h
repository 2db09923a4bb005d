/*
 * The configuration tree (CFGM), internal side: who owns the root.
 *
 * A VM's tree hangs off PVM->cfg_root (cfgm_init / cfgm_term).  Standalone
 * trees, not tied to a VM, serve tests and the config-file loader.
 */
#ifndef PETREL_CFGM_INTERNAL_H
#define PETREL_CFGM_INTERNAL_H

#include <vmm/cfgm.h>

/* Creates the VM's empty root node in vm->cfg_root. */
int  cfgm_init(PVM vm);
/* Frees the VM's whole tree (if any) and clears vm->cfg_root. */
void cfgm_term(PVM vm);

/* An empty root node owned by the caller (NULL when out of memory). */
PCFGMNODE cfgm_create_tree(void);
/* Frees a tree from cfgm_create_tree (or any subtree, like CFGMR3RemoveNode). */
void      cfgm_destroy_tree(PCFGMNODE root);

#endif /* PETREL_CFGM_INTERNAL_H */
