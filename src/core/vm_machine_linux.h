/*
 * The machine's Linux boot (vm_machine_linux.c): /Boot/Kernel, /Boot/Initrd,
 * /Boot/CmdLine and /Boot/Entry; used by vm_machine.c only.
 */
#ifndef PETREL_VM_MACHINE_LINUX_H
#define PETREL_VM_MACHINE_LINUX_H

#include <stdbool.h>

#include "vm_internal.h"

/* True if /Boot/Kernel is configured. */
bool vm_machine_linux_configured(PVM vm);
/* Rejects /Boot/Image together with /Boot/Kernel and a bad /Boot/Entry. */
int  vm_machine_linux_check_config(PVM vm);
/* Adds /Devices/{serial,i8042,rtc,acpi,pci}/0/Config unless configured. */
int  vm_machine_linux_add_devices(PVM vm);
/* ACPI tables, kernel, initrd, command line; BSP at the entry, APs wait for SIPI. */
int  vm_machine_linux_load(PVM vm);

#endif /* PETREL_VM_MACHINE_LINUX_H */
