/*
 * CMOS RTC and NVRAM (Motorola MC146818A as in the PC): ports 0x70 (index;
 * bit 7 = NMI disable) and 0x71 (data), IRQ 8.
 *
 * The time is the host's CLOCK_REALTIME (UTC) plus a delta: a guest that
 * sets the clock changes the delta, never the host.  Interrupts (periodic,
 * alarm, update-ended) are timed by vtimers on the VM's virtual clock, so
 * none fire while the VM is paused.
 */
#ifndef PETREL_CMOS_RTC_H
#define PETREL_CMOS_RTC_H

#include <stdint.h>
#include <time.h>

#include "device.h"

struct io_bus;
struct vclock;
struct cmos_rtc;

#define CMOS_RTC_IRQ 8

typedef void cmos_rtc_irq_fn(void *opaque, int level);

/*
 * Registers ports 0x70-0x71.  ram_low is the RAM below 4 GiB and ram_high
 * the RAM above (bytes), for the memory-size bytes.  NULL on failure.
 */
struct cmos_rtc *cmos_rtc_create(struct io_bus *bus, struct vclock *clock,
                                 uint64_t ram_low, uint64_t ram_high,
                                 cmos_rtc_irq_fn *irq, void *irq_opaque);
void cmos_rtc_destroy(struct cmos_rtc *rtc);
/* The RESET pin: clears PIE/AIE/UIE/SQWE and the flags; time and NVRAM stay. */
void cmos_rtc_reset(struct cmos_rtc *rtc);

/*
 * Periodic interrupts produced up to now while PIE was on (statistics;
 * the flag PF coalesces them when the guest is slow to read register C).
 */
uint64_t cmos_rtc_periodic_ticks(struct cmos_rtc *rtc);

/* Where host wall-clock time comes from (NULL: CLOCK_REALTIME); for tests. */
typedef void cmos_rtc_time_fn(struct timespec *now);
void cmos_rtc_set_time_source(struct cmos_rtc *rtc, cmos_rtc_time_fn *fn);

/* /Devices/rtc/0/Config: IRQ (8). */
extern const struct device_ops cmos_rtc_device_ops;

/* Saved state of the RTC (unit "rtc"): CMOS RAM and registers, the guest
 * wall clock as an offset from the host's (so restored guest time is real
 * time, as a battery-powered chip would keep it) and the periodic timer's
 * phase in virtual time.  load validates (VERR_SSM_UNEXPECTED_DATA). */
#define CMOS_RTC_SAVED_VERSION 1u
struct cmos_rtc_saved {
    uint8_t  ram[128];
    int64_t  delta_s, phase_ns, last_update_sec;
    uint64_t periodic_next, pf_ref, periodic_ticks;
    uint8_t  index, nmi_disabled, periodic_live;
    uint8_t  pad[5];
};
void cmos_rtc_save(struct cmos_rtc *rtc, struct cmos_rtc_saved *out);
int  cmos_rtc_load(struct cmos_rtc *rtc, const struct cmos_rtc_saved *in);

#endif /* PETREL_CMOS_RTC_H */
