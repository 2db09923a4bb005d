/*
 * i8042 keyboard controller with empty PS/2 ports (see i8042.h).
 *
 * The controller answers its own commands at once (IBF never shows).  A byte
 * sent to the keyboard (a data write with no command pending) or to the aux
 * device (command 0xD4) finds nothing attached: the controller answers 0xFE
 * with the time-out status bit, so a PS/2 driver's probe fails at once
 * instead of waiting for its command time-outs.
 */
#include "i8042.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/err.h>
#include <vmm/vmapi.h>

#include "../core/vm_internal.h"
#include "../io/io_bus.h"

#define PORT_DATA   0x60
#define PORT_CMD    0x64
#define PORT_A      0x92

#define STR_OBF     0x01
#define STR_SYS     0x04
#define STR_CMD     0x08             /* last write went to 0x64 */
#define STR_UNLOCK  0x10             /* keyboard not inhibited */
#define STR_AUXOBF  0x20
#define STR_TIMEOUT 0x40

#define CTR_KBDINT  0x01
#define CTR_AUXINT  0x02
#define CTR_SYS     0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

#define OUT_RESET   0x01             /* 0 = CPU held in reset */
#define OUT_A20     0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20

#define QUEUE_SIZE  8
#define NO_DEVICE   0xfe             /* answer from an empty PS/2 port */

struct obyte {
    uint8_t value;
    bool aux, timeout;
};

struct i8042 {
    pthread_mutex_t lock;
    i8042_irq_fn *irq;
    i8042_reset_fn *reset;
    void *opaque;

    uint8_t ram[32];                 /* ram[0] is the command byte */
    uint8_t status_bits;             /* SYS | CMD | UNLOCK */
    uint8_t outport, port_a;
    uint8_t pending_cmd;             /* command waiting for its data byte, 0 if none */
    struct obyte queue[QUEUE_SIZE];
    unsigned q_head, q_count;
    uint8_t last_data;
    int irq_kbd, irq_aux;
};

/* --- output buffer and interrupts --- */

static const struct obyte *queue_head(const struct i8042 *k)
{
    return k->q_count ? &k->queue[k->q_head] : NULL;
}

static void update_irq(struct i8042 *k)
{
    const struct obyte *h = queue_head(k);
    int kbd = h && !h->aux && (k->ram[0] & CTR_KBDINT);
    int aux = h && h->aux && (k->ram[0] & CTR_AUXINT);
    if (kbd != k->irq_kbd && k->irq)
        k->irq(k->opaque, I8042_IRQ_KBD, kbd);
    if (aux != k->irq_aux && k->irq)
        k->irq(k->opaque, I8042_IRQ_AUX, aux);
    k->irq_kbd = kbd;
    k->irq_aux = aux;
}

/* Queues a byte for the guest; drops it if the queue is full. */
static void queue_push(struct i8042 *k, uint8_t value, bool aux, bool timeout)
{
    if (k->q_count == QUEUE_SIZE)
        return;
    k->queue[(k->q_head + k->q_count) % QUEUE_SIZE] = (struct obyte){ value, aux, timeout };
    k->q_count++;
}

static uint8_t read_status(const struct i8042 *k)
{
    const struct obyte *h = queue_head(k);
    uint8_t s = k->status_bits;
    if (h)
        s |= (uint8_t)(STR_OBF | (h->aux ? STR_AUXOBF : 0) | (h->timeout ? STR_TIMEOUT : 0));
    return s;
}

static uint8_t read_data(struct i8042 *k)
{
    if (k->q_count) {
        k->last_data = k->queue[k->q_head].value;
        k->q_head = (k->q_head + 1) % QUEUE_SIZE;
        k->q_count--;
    }
    return k->last_data;             /* an empty buffer repeats the last byte */
}

static uint8_t read_outport(const struct i8042 *k)
{
    const struct obyte *h = queue_head(k);
    uint8_t v = k->outport & (OUT_RESET | OUT_A20);
    if (h)
        v |= h->aux ? OUT_AUX_OBF : OUT_KBD_OBF;
    return v;
}

/* --- commands --- */

static void write_ctr(struct i8042 *k, uint8_t value)
{
    k->ram[0] = value;
    k->status_bits = (uint8_t)((k->status_bits & ~STR_SYS) | (value & CTR_SYS));
}

/* Returns true if the command pulses the reset line. */
static bool run_command(struct i8042 *k, uint8_t cmd)
{
    k->pending_cmd = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {
        queue_push(k, k->ram[cmd & 0x1f], false, false);
        return false;
    }
    if ((cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4)) {
        k->pending_cmd = cmd;        /* the data byte follows on 0x60 */
        return false;
    }
    switch (cmd) {
    case 0xa7: k->ram[0] |= CTR_AUXDIS; break;
    case 0xa8: k->ram[0] &= (uint8_t)~CTR_AUXDIS; break;
    case 0xa9: queue_push(k, 0x00, false, false); break;     /* aux interface test: ok */
    case 0xaa: k->status_bits |= STR_SYS; queue_push(k, 0x55, false, false); break;
    case 0xab: queue_push(k, 0x00, false, false); break;     /* kbd interface test: ok */
    case 0xad: k->ram[0] |= CTR_KBDDIS; break;
    case 0xae: k->ram[0] &= (uint8_t)~CTR_KBDDIS; break;
    case 0xc0: queue_push(k, 0x80, false, false); break;     /* input port: not inhibited */
    case 0xd0: queue_push(k, read_outport(k), false, false); break;
    case 0xe0: queue_push(k, 0x00, false, false); break;     /* test inputs */
    default:
        /* 0xF0-0xFF pulse the output lines whose bits are 0: bit 0 is reset. */
        return cmd >= 0xf0 && !(cmd & 0x01);
    }
    return false;
}

static bool write_outport(struct i8042 *k, uint8_t value)
{
    k->outport = value;
    return !(value & OUT_RESET);
}

/* A data byte on 0x60: the argument of a pending command, or for the keyboard. */
static bool write_data(struct i8042 *k, uint8_t value)
{
    uint8_t cmd = k->pending_cmd;
    k->pending_cmd = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
        if (cmd == 0x60)
            write_ctr(k, value);
        else
            k->ram[cmd & 0x1f] = value;
        return false;
    }
    switch (cmd) {
    case 0xd1: return write_outport(k, value);
    case 0xd2: queue_push(k, value, false, false); break;    /* as if from the keyboard */
    case 0xd3: queue_push(k, value, true, false); break;     /* as if from the aux device */
    case 0xd4: queue_push(k, NO_DEVICE, true, true); break;  /* to the aux device: none */
    default:   queue_push(k, NO_DEVICE, false, true); break; /* to the keyboard: none */
    }
    return false;
}

/* --- port handlers --- */

static uint32_t kbc_read(void *opaque, uint16_t port, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v;
    (void)size;
    pthread_mutex_lock(&k->lock);
    if (port == PORT_DATA)
        v = read_data(k);
    else if (port == PORT_CMD)
        v = read_status(k);
    else
        v = k->port_a;
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static bool write_port_a(struct i8042 *k, uint8_t value)
{
    bool pulse = (value & 0x01) && !(k->port_a & 0x01);
    k->port_a = value & 0xfe;        /* bit 0 self-clears once the reset is done */
    k->outport = (uint8_t)((k->outport & ~OUT_A20) | (value & OUT_A20));
    return pulse;
}

static void kbc_write(void *opaque, uint16_t port, unsigned size, uint32_t value)
{
    struct i8042 *k = opaque;
    uint8_t v = (uint8_t)value;
    bool reset;
    (void)size;
    pthread_mutex_lock(&k->lock);
    if (port == PORT_DATA) {
        k->status_bits &= (uint8_t)~STR_CMD;
        reset = write_data(k, v);
    } else if (port == PORT_CMD) {
        k->status_bits |= STR_CMD;
        reset = run_command(k, v);
    } else {
        reset = write_port_a(k, v);
    }
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    if (reset && k->reset)
        k->reset(k->opaque);         /* unlocked: the VM may reset us from here */
}

static const struct io_port_ops kbc_ops = { .read = kbc_read, .write = kbc_write };

/* --- life cycle --- */

static void reset_locked(struct i8042 *k)
{
    for (unsigned i = 0; i < sizeof(k->ram); i++)
        k->ram[i] = 0;
    /* What firmware leaves behind: interrupts on, translation on, POST passed. */
    write_ctr(k, CTR_KBDINT | CTR_AUXINT | CTR_SYS | CTR_XLATE);
    k->status_bits = STR_SYS | STR_UNLOCK;
    k->outport = OUT_RESET | OUT_A20;
    k->port_a = OUT_A20;
    k->pending_cmd = 0;
    k->q_head = k->q_count = 0;
    k->last_data = 0;
    update_irq(k);
}

void i8042_reset(struct i8042 *k)
{
    pthread_mutex_lock(&k->lock);
    reset_locked(k);
    pthread_mutex_unlock(&k->lock);
}

int i8042_a20_enabled(struct i8042 *k)
{
    pthread_mutex_lock(&k->lock);
    int on = (k->outport & OUT_A20) != 0;
    pthread_mutex_unlock(&k->lock);
    return on;
}

struct i8042 *i8042_create(struct io_bus *bus, i8042_irq_fn *irq, i8042_reset_fn *reset, void *opaque)
{
    if (!bus)
        return NULL;
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    pthread_mutex_init(&k->lock, NULL);
    k->irq = irq;
    k->reset = reset;
    k->opaque = opaque;
    reset_locked(k);
    if (RT_FAILURE(io_bus_register_ports(bus, PORT_DATA, 1, &kbc_ops, k, "i8042-data"))
        || RT_FAILURE(io_bus_register_ports(bus, PORT_CMD, 1, &kbc_ops, k, "i8042-cmd"))
        || RT_FAILURE(io_bus_register_ports(bus, PORT_A, 1, &kbc_ops, k, "port92"))) {
        i8042_destroy(k);            /* the bus has no unregister: it dies with the VM */
        return NULL;
    }
    return k;
}

void i8042_destroy(struct i8042 *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* --- the device model for the machine --- */

struct kbc_device {
    struct VM *vm;
    struct i8042 *kbc;
};

static void kbc_dev_irq(void *opaque, unsigned line, int level)
{
    irq_set(((struct kbc_device *)opaque)->vm, line, level);
}

static void kbc_dev_reset_request(void *opaque)
{
    vm_guest_request_reset(((struct kbc_device *)opaque)->vm);
}

static void kbc_dev_destroy(void *state)
{
    struct kbc_device *d = state;
    if (!d)
        return;
    i8042_destroy(d->kbc);
    free(d);
}

static void kbc_dev_reset(void *state)
{
    i8042_reset(((struct kbc_device *)state)->kbc);
}

static int kbc_dev_create(struct VM *vm, PCFGMNODE cfg, void **state)
{
    (void)cfg;
    struct kbc_device *d = calloc(1, sizeof(*d));
    if (!d)
        return VMSetError(vm, VERR_NO_MEMORY, RT_SRC_POS, "i8042: out of memory");
    d->vm = vm;
    d->kbc = i8042_create(vm->io, kbc_dev_irq, kbc_dev_reset_request, d);
    if (!d->kbc) {
        free(d);
        return VMSetError(vm, VERR_ALREADY_EXISTS, RT_SRC_POS,
                          "i8042: ports 0x60, 0x64 or 0x92 are already taken (or out of memory)");
    }
    *state = d;
    return VINF_SUCCESS;
}

/* --- saved state --- */

void i8042_save(struct i8042 *k, struct i8042_saved *o)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_lock(&k->lock);
    memcpy(o->ram, k->ram, sizeof(o->ram));
    for (unsigned i = 0; i < QUEUE_SIZE; i++) {
        o->queue_value[i] = k->queue[i].value;
        o->queue_flags[i] = (uint8_t)((k->queue[i].aux ? 1 : 0) | (k->queue[i].timeout ? 2 : 0));
    }
    o->status_bits = k->status_bits;
    o->outport = k->outport;
    o->port_a = k->port_a;
    o->pending_cmd = k->pending_cmd;
    o->q_head = (uint8_t)k->q_head;
    o->q_count = (uint8_t)k->q_count;
    o->last_data = k->last_data;
    pthread_mutex_unlock(&k->lock);
}

int i8042_load(struct i8042 *k, const struct i8042_saved *o)
{
    if (o->q_head >= QUEUE_SIZE || o->q_count > QUEUE_SIZE)
        return VERR_SSM_UNEXPECTED_DATA;
    for (unsigned i = 0; i < QUEUE_SIZE; i++)
        if (o->queue_flags[i] > 3)
            return VERR_SSM_UNEXPECTED_DATA;
    pthread_mutex_lock(&k->lock);
    memcpy(k->ram, o->ram, sizeof(k->ram));
    for (unsigned i = 0; i < QUEUE_SIZE; i++)
        k->queue[i] = (struct obyte){ o->queue_value[i], o->queue_flags[i] & 1, (o->queue_flags[i] & 2) != 0 };
    k->status_bits = o->status_bits;
    k->outport = o->outport;
    k->port_a = o->port_a;
    k->pending_cmd = o->pending_cmd;
    k->q_head = o->q_head;
    k->q_count = o->q_count;
    k->last_data = o->last_data;
    k->irq_kbd = k->irq_aux = -1;    /* both lines are told again */
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return VINF_SUCCESS;
}

static void kbc_dev_save(void *state, void *saved)
{
    i8042_save(((struct kbc_device *)state)->kbc, saved);
}

static int kbc_dev_load(void *state, const void *saved)
{
    return i8042_load(((struct kbc_device *)state)->kbc, saved);
}

const struct device_ops i8042_device_ops = {
    .name = "i8042",
    .create = kbc_dev_create,
    .destroy = kbc_dev_destroy,
    .reset = kbc_dev_reset,
    .saved_version = I8042_SAVED_VERSION,
    .saved_size = sizeof(struct i8042_saved),
    .save = kbc_dev_save,
    .load = kbc_dev_load,
};
