/* The execution loop of one vCPU (VirtualBox's EM), used by the EMT loop. */
#ifndef PETREL_EM_RUN_H
#define PETREL_EM_RUN_H

#include "vm_internal.h"

/* Runs guest code until the VM stops running or a request/rendezvous needs
 * the EMT.  Handles halts, guest power-off/reset, triple faults and engine
 * failures (guru meditation). */
void em_execute(PVM vm, PVMCPU vcpu);

int emt_start(PUVMCPU uvcpu);

#endif
