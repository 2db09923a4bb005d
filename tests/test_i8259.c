/*
 * The 8259A PIC pair, driven through its I/O ports the way Linux drives it
 * (init_8259A, mask_and_ack_8259A, the spurious-IRQ check), plus INTA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <cmocka.h>

#include "devices/i8259.h"
#include "io/io_bus.h"

struct fixture {
    struct io_bus *bus;
    struct i8259 *pic;
    atomic_int notifications;
    atomic_bool line;
};

static void notify(void *opaque, bool has_interrupt)
{
    struct fixture *f = opaque;
    atomic_store(&f->line, has_interrupt);
    atomic_fetch_add(&f->notifications, 1);
}

static struct fixture *F(void **state) { return *state; }
static void outb(struct fixture *f, uint16_t port, uint8_t v) { io_bus_port_write(f->bus, port, 1, v); }
static uint8_t inb(struct fixture *f, uint16_t port) { return (uint8_t)io_bus_port_read(f->bus, port, 1); }

/* Linux's init_8259A(auto_eoi), vectors 0x30 and 0x38, all masked after. */
static void linux_init(struct fixture *f, bool auto_eoi)
{
    outb(f, 0x21, 0xff);
    outb(f, 0xa1, 0xff);
    outb(f, 0x20, 0x11);            /* ICW1: edge, cascade, ICW4 */
    outb(f, 0x21, 0x30);            /* ICW2 */
    outb(f, 0x21, 0x04);            /* ICW3: slave on IR2 */
    outb(f, 0x21, auto_eoi ? 0x03 : 0x01);
    outb(f, 0xa0, 0x11);
    outb(f, 0xa1, 0x38);
    outb(f, 0xa1, 0x02);            /* ICW3: slave id 2 */
    outb(f, 0xa1, 0x01);
    outb(f, 0x21, 0xff);
    outb(f, 0xa1, 0xff);
}

static void unmask(struct fixture *f, unsigned irq)
{
    uint16_t port = irq < 8 ? 0x21 : 0xa1;
    outb(f, port, inb(f, port) & ~(1u << (irq & 7)));
    if (irq >= 8)
        outb(f, 0x21, inb(f, 0x21) & ~0x04);
}

static uint8_t read_isr(struct fixture *f, uint16_t cmd)
{
    outb(f, cmd, 0x0b);
    uint8_t v = inb(f, cmd);
    outb(f, cmd, 0x0a);
    return v;
}

/* Linux's mask_and_ack_8259A EOI part: specific EOIs. */
static void specific_eoi(struct fixture *f, unsigned irq)
{
    if (irq >= 8) {
        outb(f, 0xa0, 0x60 | (irq & 7));
        outb(f, 0x20, 0x62);
    } else {
        outb(f, 0x20, 0x60 | irq);
    }
}

static void pulse(struct fixture *f, unsigned irq)
{
    i8259_set_irq(f->pic, irq, 1);
    i8259_set_irq(f->pic, irq, 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->bus = io_bus_create();
    f->pic = i8259_create(f->bus, notify, f);
    assert_non_null(f->pic);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    i8259_destroy(f->pic);
    io_bus_destroy(f->bus);
    free(f);
    return 0;
}

static void test_probe_and_init(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x21, 0xfb);            /* Linux's probe_8259A */
    assert_int_equal(inb(f, 0x21), 0xfb);
    linux_init(f, false);
    assert_int_equal(inb(f, 0x21), 0xff);
    assert_int_equal(inb(f, 0xa1), 0xff);
    assert_false(i8259_has_interrupt(f->pic));
    /* A second PIC registration on the same ports fails cleanly. */
    assert_null(i8259_create(f->bus, NULL, NULL));
}

static void test_irq0_deliver_and_eoi(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    i8259_set_irq(f->pic, 0, 1);
    assert_false(i8259_has_interrupt(f->pic));       /* masked */
    assert_int_equal(inb(f, 0x20) & 1, 1);            /* but requested (IRR) */
    unmask(f, 0);
    assert_true(i8259_has_interrupt(f->pic));
    assert_true(atomic_load(&f->line));
    assert_int_equal(i8259_acknowledge(f->pic), 0x30);
    assert_false(i8259_has_interrupt(f->pic));
    assert_false(atomic_load(&f->line));
    assert_int_equal(read_isr(f, 0x20), 0x01);
    assert_int_equal(inb(f, 0x20) & 1, 0);            /* edge latch consumed */
    specific_eoi(f, 0);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    assert_false(i8259_has_interrupt(f->pic));        /* line still high: no new edge */
    i8259_set_irq(f->pic, 0, 0);
    i8259_set_irq(f->pic, 0, 1);
    assert_true(i8259_has_interrupt(f->pic));
}

static void test_priorities_and_nesting(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x21, 0x00);
    pulse(f, 3);
    pulse(f, 1);
    assert_int_equal(i8259_acknowledge(f->pic), 0x31);
    assert_false(i8259_has_interrupt(f->pic));        /* 3 waits for 1 */
    pulse(f, 0);
    assert_true(i8259_has_interrupt(f->pic));         /* 0 nests */
    assert_int_equal(i8259_acknowledge(f->pic), 0x30);
    assert_int_equal(read_isr(f, 0x20), 0x03);
    outb(f, 0x20, 0x20);                              /* non-specific EOI: IRQ0 */
    assert_int_equal(read_isr(f, 0x20), 0x02);
    assert_false(i8259_has_interrupt(f->pic));
    outb(f, 0x20, 0x20);
    assert_true(i8259_has_interrupt(f->pic));
    assert_int_equal(i8259_acknowledge(f->pic), 0x33);
}

static void test_cascade(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    unmask(f, 12);
    unmask(f, 3);
    unmask(f, 0);
    pulse(f, 3);
    pulse(f, 12);
    assert_int_equal(inb(f, 0x20) & 0x04, 0x04);      /* the slave shows on IR2 */
    assert_int_equal(i8259_acknowledge(f->pic), 0x3c); /* IR2 beats IR3 */
    assert_int_equal(read_isr(f, 0x20), 0x04);
    assert_int_equal(read_isr(f, 0xa0), 0x10);
    assert_false(i8259_has_interrupt(f->pic));
    pulse(f, 8);                                      /* same master level: blocked */
    unmask(f, 8);
    assert_false(i8259_has_interrupt(f->pic));
    pulse(f, 0);
    assert_int_equal(i8259_acknowledge(f->pic), 0x30);
    specific_eoi(f, 0);
    specific_eoi(f, 12);
    /* IRQ8 still pending on the slave: the master sees it after its EOI. */
    assert_true(i8259_has_interrupt(f->pic));
    assert_int_equal(i8259_acknowledge(f->pic), 0x38);
    specific_eoi(f, 8);
    assert_int_equal(i8259_acknowledge(f->pic), 0x33);
}

static void test_rotation_and_priority(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x21, 0x00);
    pulse(f, 0);
    pulse(f, 1);
    assert_int_equal(i8259_acknowledge(f->pic), 0x30);
    outb(f, 0x20, 0xa0);                              /* rotate on non-specific EOI */
    pulse(f, 0);                                      /* 0 is now the lowest */
    assert_int_equal(i8259_acknowledge(f->pic), 0x31);
    outb(f, 0x20, 0xe1);                              /* rotate on specific EOI 1 */
    assert_int_equal(i8259_acknowledge(f->pic), 0x30);
    outb(f, 0x20, 0x60);
    outb(f, 0x20, 0xc4);                              /* set priority: 4 lowest, 5 highest */
    pulse(f, 4);
    pulse(f, 6);
    pulse(f, 3);
    assert_int_equal(i8259_acknowledge(f->pic), 0x36);
    outb(f, 0x20, 0x20);
    assert_int_equal(i8259_acknowledge(f->pic), 0x33);
    outb(f, 0x20, 0x20);
    assert_int_equal(i8259_acknowledge(f->pic), 0x34);
}

static void test_auto_eoi(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, true);
    outb(f, 0x21, 0x00);
    pulse(f, 5);
    assert_int_equal(i8259_acknowledge(f->pic), 0x35);
    assert_int_equal(read_isr(f, 0x20), 0x00);
    pulse(f, 6);
    assert_true(i8259_has_interrupt(f->pic));         /* nothing in service blocks */
    assert_int_equal(i8259_acknowledge(f->pic), 0x36);
}

static void test_level_vs_edge(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x4d0, 0xff);
    assert_int_equal(inb(f, 0x4d0), 0xf8);            /* IRQ0-2 are always edge */
    outb(f, 0x4d1, 0xff);
    assert_int_equal(inb(f, 0x4d1), 0xde);            /* IRQ8 and 13 too */
    outb(f, 0x4d0, 0x00);
    outb(f, 0x4d1, 0x04);                             /* IRQ10 level */
    unmask(f, 10);
    unmask(f, 11);
    i8259_set_irq(f->pic, 10, 1);
    assert_int_equal(i8259_acknowledge(f->pic), 0x3a);
    specific_eoi(f, 10);
    assert_true(i8259_has_interrupt(f->pic));         /* still asserted: again */
    assert_int_equal(i8259_acknowledge(f->pic), 0x3a);
    i8259_set_irq(f->pic, 10, 0);
    specific_eoi(f, 10);
    assert_false(i8259_has_interrupt(f->pic));
    /* Edge: a pulse is latched; after EOI it does not repeat. */
    pulse(f, 11);
    assert_int_equal(i8259_acknowledge(f->pic), 0x3b);
    specific_eoi(f, 11);
    assert_false(i8259_has_interrupt(f->pic));
    /* A level line dropped before INTA: gone. */
    i8259_set_irq(f->pic, 10, 1);
    i8259_set_irq(f->pic, 10, 0);
    assert_false(i8259_has_interrupt(f->pic));
}

static void test_spurious(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x4d0, 0x08);                             /* IRQ3 level */
    unmask(f, 3);
    i8259_set_irq(f->pic, 3, 1);
    assert_true(i8259_has_interrupt(f->pic));
    i8259_set_irq(f->pic, 3, 0);                      /* withdrawn before INTA */
    assert_int_equal(i8259_acknowledge(f->pic), 0x37);
    assert_int_equal(read_isr(f, 0x20), 0x00);        /* Linux: not real, ignore */
    /* Master IR2 asserted with nothing on the slave: spurious IRQ15. */
    unmask(f, 15);
    i8259_set_irq(f->pic, 2, 1);
    assert_int_equal(i8259_acknowledge(f->pic), 0x3f);
    assert_int_equal(read_isr(f, 0xa0), 0x00);
    assert_int_equal(read_isr(f, 0x20), 0x04);        /* the master EOI is due */
}

static void test_poll_mode(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x21, 0x00);
    outb(f, 0x20, 0x0c);
    assert_int_equal(inb(f, 0x20), 0x00);             /* nothing pending */
    pulse(f, 4);
    outb(f, 0x20, 0x0c);
    assert_int_equal(inb(f, 0x20), 0x84);
    assert_int_equal(read_isr(f, 0x20), 0x10);        /* acted as INTA */
    assert_int_equal(inb(f, 0x21), 0x00);             /* poll is one read only */
}

static void test_special_mask_mode(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x21, 0x00);
    pulse(f, 1);
    assert_int_equal(i8259_acknowledge(f->pic), 0x31);
    pulse(f, 3);
    assert_false(i8259_has_interrupt(f->pic));
    outb(f, 0x21, 0x02);                              /* mask the level in service */
    outb(f, 0x20, 0x68);                              /* set special mask mode */
    assert_true(i8259_has_interrupt(f->pic));
    assert_int_equal(i8259_acknowledge(f->pic), 0x33);
    outb(f, 0x20, 0x48);                              /* leave SMM */
    assert_int_equal(read_isr(f, 0x20), 0x0a);
}

static void test_reset_and_word_access(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    io_bus_port_write(f->bus, 0x4d0, 2, 0x0c08);
    assert_int_equal(io_bus_port_read(f->bus, 0x4d0, 2), 0x0c08);
    outb(f, 0x21, 0x00);
    pulse(f, 5);
    assert_true(i8259_has_interrupt(f->pic));
    i8259_reset(f->pic);
    assert_false(i8259_has_interrupt(f->pic));
    assert_false(atomic_load(&f->line));
    assert_int_equal(inb(f, 0x4d0), 0);
    i8259_set_irq(f->pic, 99, 1);                     /* out of range: ignored */
}

/* A hostile guest: random port writes and reads never crash or wedge it. */
static void test_random_io(void **state)
{
    struct fixture *f = F(state);
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
    srand(1);
    for (int i = 0; i < 200000; i++) {
        int r = rand();
        uint16_t port = ports[r % 6];
        switch ((r >> 8) % 4) {
        case 0: outb(f, port, (uint8_t)(r >> 12)); break;
        case 1: inb(f, port); break;
        case 2: i8259_set_irq(f->pic, (unsigned)(r >> 12) % 17, (r >> 20) & 1); break;
        default: {
            int v = i8259_acknowledge(f->pic);
            assert_true(v >= 0 && v <= 0xff);
        }
        }
    }
    assert_int_equal(atomic_load(&f->line), i8259_has_interrupt(f->pic));
}

/* Threads raise, lower and acknowledge: the last notification matches the line. */
struct stress {
    struct fixture *f;
    unsigned seed;
};

static void *stress_thread(void *arg)
{
    struct stress *s = arg;
    for (int i = 0; i < 20000; i++) {
        unsigned r = (unsigned)rand_r(&s->seed);
        if (r % 5 == 0) {
            i8259_acknowledge(s->f->pic);
            outb(s->f, 0x20, 0x20);
            outb(s->f, 0xa0, 0x20);
        } else {
            i8259_set_irq(s->f->pic, (r >> 4) % 16, (r >> 8) & 1);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = F(state);
    linux_init(f, false);
    outb(f, 0x21, 0x00);
    outb(f, 0xa1, 0x00);
    pthread_t th[3];
    struct stress s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (struct stress){ f, (unsigned)i + 1 };
        pthread_create(&th[i], NULL, stress_thread, &s[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&f->line), i8259_has_interrupt(f->pic));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_and_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq0_deliver_and_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priorities_and_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_and_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_eoi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_vs_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_mask_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_word_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
