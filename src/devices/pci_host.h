/*
 * PCI host bridge with configuration mechanism #1 (PCI 3.0 section 3.2.2.3.2):
 *
 *   0xCF8       CONFIG_ADDRESS, 32-bit accesses only: bit 31 enable,
 *               bus 23-16, device 15-11, function 10-8, register 7-2
 *   0xCF9       byte: reset control register (as on PIIX/ICH): writing a
 *               value with bit 2 (RST_CPU) set resets the machine
 *               (Linux's reboot=pci); other bytes of 0xCF8-0xCFB are ignored
 *   0xCFC-0xCFF CONFIG_DATA: byte, word or dword window onto the dword
 *               CONFIG_ADDRESS selects (offset = port - 0xCFC)
 *
 * One bus (0).  00:00.0 is the host bridge itself: vendor 0x8086 device
 * 0x0D57 (the id Firecracker and Cloud Hypervisor use for their virtual
 * host bridge; Linux has no quirks for it), class 0x060000.  Every other
 * function that no device registered, and every other bus, reads all ones
 * and ignores writes.
 *
 * INTx routing (the DSDT's _PRT, src/boot/acpi_dsdt.c): slot s, pin p
 * (0 = INTA) -> GSI pci_intx_gsi(s, p), level-triggered and shared; a
 * device asserts it with irq_set(vm, gsi, 1) and deasserts with 0.
 */
#ifndef PETREL_PCI_HOST_H
#define PETREL_PCI_HOST_H

#include <stdint.h>

#include "device.h"

struct io_bus;
struct pci_host;

#define PCI_CONFIG_ADDRESS_PORT 0xCF8
#define PCI_RESET_CONTROL_PORT  0xCF9
#define PCI_CONFIG_DATA_PORT    0xCFC

#define PCI_HOST_VENDOR_ID  0x8086
#define PCI_HOST_DEVICE_ID  0x0D57
#define PCI_HOST_CLASS      0x060000      /* bridge, host */

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))
#define PCI_INTX_GSI_BASE   16u
#define PCI_INTX_GSI_COUNT  8u            /* GSIs 16..23 of the IOAPIC */

static inline uint32_t pci_intx_gsi(unsigned slot, unsigned pin)
{
    return PCI_INTX_GSI_BASE + (slot + pin) % PCI_INTX_GSI_COUNT;
}

/*
 * A function's configuration space (256 bytes).  offset is aligned to
 * size (1, 2 or 4) and below 256.  Called with the host's lock held, from
 * any vCPU: do not call back into pci_host from these.
 */
struct pci_function_ops {
    uint32_t (*config_read)(void *opaque, unsigned offset, unsigned size);
    void     (*config_write)(void *opaque, unsigned offset, unsigned size, uint32_t value);
};

/* Registers ports 0xCF8-0xCFF; reset (may be NULL) is called for 0xCF9 resets. */
struct pci_host *pci_host_create(struct io_bus *bus, void (*reset)(void *opaque), void *opaque);
void pci_host_destroy(struct pci_host *host);
/* Power-on state: CONFIG_ADDRESS and the reset control register cleared. */
void pci_host_reset(struct pci_host *host);

/*
 * Puts a function at bus 0, devfn (slot << 3 | function).  VERR_ALREADY_EXISTS
 * if taken (00.0 is the host bridge), VERR_INVALID_PARAMETER for missing
 * callbacks.  Linux scans functions 1-7 of a slot only when function 0's
 * header type has bit 7 (multi-function) set.  Any thread (hot plug).
 */
int  pci_host_register_function(struct pci_host *host, uint8_t devfn,
                                 const struct pci_function_ops *ops, void *opaque);
/* Removes it again (hot unplug); VERR_NOT_FOUND if nothing is there,
 * VERR_ACCESS_DENIED for the host bridge (00.0). */
int  pci_host_unregister_function(struct pci_host *host, uint8_t devfn);

/* The "pci" device (no Config keys): 0xCF9 resets go to vm_guest_request_reset. */
extern const struct device_ops pci_host_device_ops;
/* The VM's host bridge (the first "pci" device), or NULL: for virtio-pci devices. */
struct pci_host *pci_host_of_vm(struct VM *vm);

/* Saved state of the host bridge (unit "pci"): the CONFIG_ADDRESS latch,
 * the reset control register and 00:00.0's config space.  The functions
 * behind the bridge save themselves as their own devices. */
#define PCI_HOST_SAVED_VERSION 1u
struct pci_host_saved {
    uint32_t address;
    uint8_t  rcr;
    uint8_t  pad[3];
    uint8_t  bridge_config[256];
};
void pci_host_save(struct pci_host *host, struct pci_host_saved *out);
int  pci_host_load(struct pci_host *host, const struct pci_host_saved *in);

#endif /* PETREL_PCI_HOST_H */
