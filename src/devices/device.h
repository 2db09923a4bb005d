/*
 * Device models.  A device registers its ports/MMIO on the I/O bus when it
 * is created, raises interrupts with irq_set() and knows nothing about
 * engines.  The core calls the life-cycle hooks on EMT(0).
 */
#ifndef PETREL_DEVICE_H
#define PETREL_DEVICE_H

#include <stdint.h>
#include <vmm/cfgm.h>

struct VM;

struct device_ops {
    const char *name;                                   /* CFGM name under /Devices */
    /* Creates the instance from its Config node (may be NULL); VBox status. */
    int  (*create)(struct VM *vm, PCFGMNODE config, void **state);
    void (*destroy)(void *state);
    void (*reset)(void *state);                         /* hard reset; may be NULL */
    void (*power_on)(void *state);                      /* may be NULL */
    void (*suspend)(void *state);                       /* may be NULL */
    void (*resume)(void *state);                        /* may be NULL */
    void (*power_off)(void *state);                     /* may be NULL */
    /*
     * Saved state (unit named after the device, instance = its ordinal
     * among instances of the same name): save fills a plain struct of
     * saved_size bytes, load validates one (VERR_SSM_UNEXPECTED_DATA) and
     * applies it.  Called while the VM does not run.  NULL: nothing to save.
     */
    uint32_t saved_version;
    uint32_t saved_size;
    void (*save)(void *state, void *saved);
    int  (*load)(void *state, const void *saved);
};

struct device_instance {
    const struct device_ops *ops;
    void *state;
    struct device_instance *next;
};

/* Raise or lower a guest interrupt line (GSI); any thread. */
void irq_set(struct VM *vm, uint32_t gsi, int level);
/* Sends a message-signalled interrupt (address 0xFEExxxxx, data: vector,
 * delivery and trigger mode); any thread.  VERR_NOT_SUPPORTED when the
 * engine has no MSI path. */
int  irq_msi(struct VM *vm, uint64_t addr, uint32_t data);

/* Finds a device model by name among the built-in ones. */
const struct device_ops *device_find(const char *name);

#endif /* PETREL_DEVICE_H */
