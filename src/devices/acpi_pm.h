/*
 * The ACPI PM block: the fixed-hardware registers the FADT points at
 * (src/boot/acpi_fadt.c), in I/O space at base (default 0x600):
 *
 *   base+0x00  PM1a_STS  16 bit  write 1 to clear: TMR, GBL, PWRBTN, SLPBTN, RTC, WAK
 *   base+0x02  PM1a_EN   16 bit  enables for the same events (they raise SCI)
 *   base+0x04  PM1a_CNT  16 bit  SCI_EN reads 1 always (no SMI: ACPI mode only);
 *                                SLP_TYP=5 with SLP_EN = S5 = power off
 *   base+0x08  PM_TMR    32 bit  3.579545 MHz counter from the virtual clock, read-only
 *   base+0x0C  RESET     8 bit   writing ACPI_PM_RESET_VALUE resets the machine
 *   base+0x10  GPE0_STS  16 bit  general-purpose events 0-15, write 1 to clear
 *   base+0x12  GPE0_EN   16 bit
 *   other ports of the 0x20-port block read 0 and ignore writes.
 *
 * Accesses may be 1, 2 or 4 bytes wide at any offset: each byte goes to
 * the register it falls in.  The SCI (GSI 9, level, active high) is
 * asserted while (PM1_STS & PM1_EN) or (GPE0_STS & GPE0_EN) is non-zero.
 * The timer carry (TMR_STS at bit 31 changes) is not generated.
 * Thread-safe: any vCPU and any host thread (the power button).
 */
#ifndef PETREL_ACPI_PM_H
#define PETREL_ACPI_PM_H

#include <stdint.h>

#include "device.h"

struct io_bus;
struct vclock;
struct acpi_pm;

#define ACPI_PM_IO_BASE_DEFAULT 0x600u
#define ACPI_PM_IO_SIZE         0x20u

#define ACPI_PM1_STS       0x00
#define ACPI_PM1_EN        0x02
#define ACPI_PM1_CNT       0x04
#define ACPI_PM_TMR        0x08
#define ACPI_PM_RESET      0x0C
#define ACPI_GPE0_STS      0x10
#define ACPI_GPE0_EN       0x12
#define ACPI_PM1_EVT_LEN   4
#define ACPI_PM1_CNT_LEN   2
#define ACPI_PM_TMR_LEN    4
#define ACPI_GPE0_BLK_LEN  4       /* 2 status bytes + 2 enable bytes */

#define ACPI_PM_RESET_VALUE 0x06
#define ACPI_PM_TIMER_HZ    3579545u

/* PM1_STS / PM1_EN bits (ACPI 6.5 tables 4.16, 4.17). */
#define ACPI_PM1_TMR     0x0001u
#define ACPI_PM1_BM      0x0010u   /* status only */
#define ACPI_PM1_GBL     0x0020u
#define ACPI_PM1_PWRBTN  0x0100u
#define ACPI_PM1_SLPBTN  0x0200u
#define ACPI_PM1_RTC     0x0400u
#define ACPI_PM1_WAK     0x8000u   /* status only */
/* PM1_CNT bits (table 4.18). */
#define ACPI_PM1_SCI_EN   0x0001u
#define ACPI_PM1_BM_RLD   0x0002u
#define ACPI_PM1_GBL_RLS  0x0004u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP  0x1C00u
#define ACPI_PM1_SLP_EN   0x2000u

struct acpi_pm_callbacks {
    void (*power_off)(void *opaque);           /* the guest entered S5 */
    void (*reset)(void *opaque);               /* the guest wrote the reset register */
    void (*sci)(void *opaque, int level);      /* SCI line level changed */
    void *opaque;
};

/* Registers ports [base, base + ACPI_PM_IO_SIZE); NULL if taken or out of memory. */
struct acpi_pm *acpi_pm_create(struct io_bus *bus, uint16_t base, struct vclock *clock,
                               const struct acpi_pm_callbacks *cb);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Power-on state: events and enables clear, SCI low (timer keeps counting). */
void acpi_pm_reset(struct acpi_pm *pm);
uint16_t acpi_pm_io_base(const struct acpi_pm *pm);

/* Presses the power button: PWRBTN_STS, and SCI if PWRBTN_EN.  Any thread. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* Sets GPE0 status bit (0-15), raising SCI if enabled: for CPU hot plug.  Any thread. */
void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned bit);

/*
 * The "acpi" device: /Devices/acpi/0/Config/IoBase (default 0x600; must
 * match the FADT, see acpi_build_for_vm); CpuHotPlug (default true with more
 * than one vCPU: the CPU hot plug registers, acpi_cpu_hotplug.h) and
 * CpuPresentMask (the vCPUs present at power-on; default all).  S5 -> vm_guest_request_power_off,
 * reset register -> vm_guest_request_reset, SCI -> irq_set(vm, 9, level).
 */
extern const struct device_ops acpi_pm_device_ops;

/* The VM's ACPI PM block (the first "acpi" device), or NULL. */
struct acpi_pm *acpi_pm_of_vm(struct VM *vm);
/* The VM's CPU hot plug registers, or NULL (no "acpi" device, or CpuHotPlug off). */
struct acpi_cpu_hotplug *acpi_cpu_hotplug_of_vm(struct VM *vm);
/* For the control socket: VERR_NOT_FOUND when the VM has no "acpi" device. */
int acpi_pm_press_power_button_vm(struct VM *vm);

/* Saved state of the PM block (unit "acpi"): event and control registers;
 * the PM timer follows the virtual clock and needs nothing. */
#define ACPI_PM_SAVED_VERSION 1u
struct acpi_pm_saved {
    uint16_t pm1_sts, pm1_en, pm1_cnt, gpe_sts, gpe_en;
    uint8_t  pad[6];
};
void acpi_pm_save(struct acpi_pm *pm, struct acpi_pm_saved *out);
int  acpi_pm_load(struct acpi_pm *pm, const struct acpi_pm_saved *in);

#endif /* PETREL_ACPI_PM_H */
