/*
 * Creating, resetting and notifying the VM's device instances (used by
 * vm_machine.c only).
 */
#ifndef PETREL_VM_MACHINE_DEVICES_H
#define PETREL_VM_MACHINE_DEVICES_H

#include "vm_internal.h"

int  vm_devices_create(PVM vm);
void vm_devices_destroy(PVM vm);
void vm_devices_reset(PVM vm);
void vm_devices_notify(PVM vm, enum vm_machine_event what);

#endif /* PETREL_VM_MACHINE_DEVICES_H */
