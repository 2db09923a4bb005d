/*
 * The interpreter's decoder on its own: instruction lengths and decoded
 * operands for many encodings in 16-, 32- and 64-bit code, the 15-byte
 * limit, truncated input, and encodings that must be #UD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/interp/interp_internal.h"

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static struct insn dec(enum code_mode mode, const uint8_t *b, size_t n, int expect_status)
{
    struct insn in;
    int r = decode_insn(mode, b, (unsigned)n, &in);
    if (r != expect_status)
        print_error("decoding %02x %02x %02x: status %d, expected %d\n", b[0], n > 1 ? b[1] : 0,
                    n > 2 ? b[2] : 0, r, expect_status);
    assert_int_equal(r, expect_status);
    return in;
}

static void test_lengths_64(void **state)
{
    (void)state;
    static const struct { uint8_t bytes[16]; uint8_t n, len; } cases[] = {
        { { 0x48, 0x89, 0xd8 }, 3, 3 },                                   /* mov rax, rbx */
        { { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 10 },               /* mov rax, imm64 */
        { { 0x66, 0xb8, 1, 2 }, 4, 4 },                                   /* mov ax, imm16 */
        { { 0xb0, 1 }, 2, 2 },                                            /* mov al, imm8 */
        { { 0x8b, 0x05, 1, 2, 3, 4 }, 6, 6 },                             /* mov eax, [rip+d32] */
        { { 0x8b, 0x04, 0x25, 0, 0x10, 0, 0 }, 7, 7 },                    /* mov eax, [d32] */
        { { 0x4a, 0x8b, 0x44, 0xcd, 0x08 }, 5, 5 },                       /* mov rax, [rbp+r9*8+8] */
        { { 0x41, 0x8b, 0x04, 0x24 }, 4, 4 },                             /* mov eax, [r12] */
        { { 0x41, 0x8b, 0x45, 0x00 }, 4, 4 },                             /* mov eax, [r13+0] */
        { { 0x81, 0x84, 0x24, 1, 0, 0, 0, 2, 0, 0, 0 }, 11, 11 },         /* add [rsp+d32], imm32 */
        { { 0x66, 0x81, 0xc0, 1, 2 }, 5, 5 },                             /* add ax, imm16 */
        { { 0x48, 0x83, 0xc0, 0xff }, 4, 4 },                             /* add rax, -1 */
        { { 0xf6, 0xc1, 0x01 }, 3, 3 },                                   /* test cl, 1 */
        { { 0xf7, 0xc1, 1, 0, 0, 0 }, 6, 6 },                             /* test ecx, imm32 */
        { { 0xf7, 0xd1 }, 2, 2 },                                         /* not ecx */
        { { 0x0f, 0x84, 1, 0, 0, 0 }, 6, 6 },                             /* jz rel32 */
        { { 0x66, 0xe8, 1, 0, 0, 0 }, 6, 6 },                             /* call rel32 (66 ignored) */
        { { 0xc8, 0x10, 0x00, 0x01 }, 4, 4 },                             /* enter 16, 1 */
        { { 0xc2, 0x08, 0x00 }, 3, 3 },                                   /* ret 8 */
        { { 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 10 },               /* mov rax, [moffs64] */
        { { 0x67, 0xa1, 1, 2, 3, 4 }, 6, 6 },                             /* mov eax, [moffs32] */
        { { 0xf3, 0x48, 0x0f, 0xb8, 0xc1 }, 5, 5 },                       /* popcnt rax, rcx */
        { { 0x0f, 0xba, 0xe0, 0x05 }, 4, 4 },                             /* bt eax, 5 */
        { { 0x0f, 0xa4, 0xc1, 0x03 }, 4, 4 },                             /* shld ecx, eax, 3 */
        { { 0x48, 0x0f, 0xc7, 0x0e }, 4, 4 },                             /* cmpxchg16b [rsi] */
        { { 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0 }, 9, 9 },        /* mov rax, fs:[0x28] */
        { { 0xf0, 0x48, 0x0f, 0xb1, 0x0a }, 5, 5 },                       /* lock cmpxchg [rdx], rcx */
        { { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5, 5 },                       /* nop dword [rax+rax] */
        { { 0x0f, 0x01, 0x15, 1, 2, 3, 4 }, 7, 7 },                       /* lgdt [rip+d32] */
        { { 0x48, 0x0f, 0x38, 0xf0, 0x46, 0x08 }, 6, 6 },                 /* movbe rax, [rsi+8] */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct insn in;
        int r = decode_insn(MODE_64, cases[i].bytes, cases[i].n, &in);
        if (r != DEC_OK || in.len != cases[i].len)
            print_error("case %zu: status %d len %u\n", i, r, in.len);
        assert_int_equal(r, DEC_OK);
        assert_int_equal(in.len, cases[i].len);
        /* One byte short must ask for more. */
        assert_int_equal(decode_insn(MODE_64, cases[i].bytes, cases[i].n - 1u, &in), DEC_MORE);
    }
}

static void test_operands_64(void **state)
{
    (void)state;
    struct insn in = dec(MODE_64, B(0x48, 0x89, 0xd8), DEC_OK);
    assert_int_equal(in.osz, 8);
    assert_true(in.mod3);
    assert_int_equal(in.reg, GPR_RBX);
    assert_int_equal(in.rm, GPR_RAX);

    in = dec(MODE_64, B(0x88, 0xe0), DEC_OK);                      /* mov al, ah */
    assert_int_equal(in.osz, 1);
    assert_int_equal(in.reg8, 16);                                  /* AH */
    assert_int_equal(in.rm8, 0);
    in = dec(MODE_64, B(0x40, 0x88, 0xe0), DEC_OK);                 /* mov al, spl */
    assert_int_equal(in.reg8, GPR_RSP);

    in = dec(MODE_64, B(0x4a, 0x8b, 0x44, 0xcd, 0x08), DEC_OK);
    assert_int_equal(in.base, GPR_RBP);
    assert_int_equal(in.index, GPR_R9);
    assert_int_equal(in.scale, 3);
    assert_int_equal(in.disp, 8);
    assert_int_equal(in.seg, SEG_SS);

    in = dec(MODE_64, B(0x41, 0x8b, 0x45, 0x10), DEC_OK);           /* [r13+0x10]: DS, not SS */
    assert_int_equal(in.base, GPR_R13);
    assert_int_equal(in.seg, SEG_DS);

    in = dec(MODE_64, B(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), DEC_OK);
    assert_true(in.rip_rel);
    assert_int_equal(in.base, REG_NONE);
    assert_int_equal(in.disp, 0x12345678);
    in = dec(MODE_64, B(0x8b, 0x04, 0x25, 0, 0x10, 0, 0), DEC_OK);
    assert_false(in.rip_rel);
    assert_int_equal(in.base, REG_NONE);
    assert_int_equal(in.index, REG_NONE);
    assert_int_equal(in.disp, 0x1000);

    in = dec(MODE_64, B(0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff), DEC_OK);
    assert_true(in.imm == UINT64_MAX);                             /* imm32 sign-extended */
    in = dec(MODE_64, B(0x48, 0x66, 0x89, 0xd8), DEC_OK);           /* REX before 66 is ignored */
    assert_int_equal(in.osz, 2);
    assert_int_equal(in.len, 4);
    in = dec(MODE_64, B(0x50), DEC_OK);                             /* push defaults to 64 bits */
    assert_int_equal(in.osz, 8);
    in = dec(MODE_64, B(0x66, 0x50), DEC_OK);
    assert_int_equal(in.osz, 2);
    in = dec(MODE_64, B(0x41, 0x5f), DEC_OK);                       /* pop r15 */
    assert_int_equal(in.reg, GPR_R15);
    in = dec(MODE_64, B(0xf3, 0x48, 0xa5), DEC_OK);                 /* rep movsq */
    assert_int_equal(in.rep, 0xf3);
    assert_int_equal(in.osz, 8);
    in = dec(MODE_64, B(0x67, 0xa4), DEC_OK);
    assert_int_equal(in.asz, 4);
    in = dec(MODE_64, B(0x65, 0x8b, 0x00), DEC_OK);
    assert_int_equal(in.seg, SEG_GS);
    in = dec(MODE_64, B(0x44, 0x0f, 0x20, 0xc0), DEC_OK);           /* mov rax, cr8 */
    assert_int_equal(in.reg, 8);
    in = dec(MODE_64, B(0x0f, 0x22, 0x05), DEC_OK);                 /* mov cr0, rbp: mod ignored, */
    assert_int_equal(in.len, 3);                                    /* no RIP-relative disp32 */
    assert_true(in.mod3);
    assert_int_equal(in.rm, GPR_RBP);
    in = dec(MODE_16, B(0x0f, 0x21, 0x46), DEC_OK);                 /* mov esi, dr0: no disp8 */
    assert_int_equal(in.len, 3);
    assert_int_equal(in.rm, GPR_RSI);
    in = dec(MODE_64, B(0x41, 0x0f, 0x23, 0xf9), DEC_OK);           /* mov dr7, r9 */
    assert_int_equal(in.reg, 7);
    assert_int_equal(in.rm, GPR_R9);
}

static void test_modes_16_32(void **state)
{
    (void)state;
    struct insn in = dec(MODE_16, B(0x8b, 0x46, 0x02), DEC_OK);     /* mov ax, [bp+2] */
    assert_int_equal(in.len, 3);
    assert_int_equal(in.osz, 2);
    assert_int_equal(in.asz, 2);
    assert_int_equal(in.base, GPR_RBP);
    assert_int_equal(in.seg, SEG_SS);
    assert_int_equal(in.disp, 2);
    in = dec(MODE_16, B(0x8b, 0x00), DEC_OK);                       /* [bx+si] */
    assert_int_equal(in.base, GPR_RBX);
    assert_int_equal(in.index, GPR_RSI);
    in = dec(MODE_16, B(0x8b, 0x06, 0x34, 0x12), DEC_OK);           /* [0x1234] */
    assert_int_equal(in.base, REG_NONE);
    assert_int_equal(in.disp, 0x1234);
    in = dec(MODE_16, B(0x8b, 0x87, 0xff, 0xff), DEC_OK);           /* [bx-1] */
    assert_int_equal(in.disp, -1);
    in = dec(MODE_16, B(0x66, 0xb8, 1, 2, 3, 4), DEC_OK);
    assert_int_equal(in.osz, 4);
    assert_int_equal(in.len, 6);
    in = dec(MODE_16, B(0x67, 0x8b, 0x04, 0x24), DEC_OK);           /* 32-bit addressing: [esp] */
    assert_int_equal(in.asz, 4);
    assert_int_equal(in.base, GPR_RSP);
    in = dec(MODE_16, B(0xea, 0x00, 0x7c, 0x00, 0x00), DEC_OK);     /* jmp 0:7c00 */
    assert_int_equal(in.len, 5);
    assert_int_equal(in.imm, 0x7c00);

    in = dec(MODE_32, B(0x8b, 0x05, 1, 2, 3, 4), DEC_OK);           /* absolute, not RIP-relative */
    assert_false(in.rip_rel);
    assert_int_equal(in.len, 6);
    in = dec(MODE_32, B(0x40), DEC_OK);                             /* inc eax */
    assert_int_equal(in.reg, GPR_RAX);
    assert_int_equal(in.osz, 4);
    in = dec(MODE_32, B(0x9a, 1, 2, 3, 4, 0x08, 0x00), DEC_OK);    /* call far 8:04030201 */
    assert_int_equal(in.len, 7);
    assert_int_equal(in.imm2, 8);
    in = dec(MODE_32, B(0xc8, 0x10, 0x00, 0x01), DEC_OK);
    assert_int_equal(in.imm, 0x10);
    assert_int_equal(in.imm2, 1);
    in = dec(MODE_32, B(0x06), DEC_OK);                             /* push es is fine outside 64-bit mode */
    assert_int_equal(in.len, 1);
}

static void test_length_limit(void **state)
{
    (void)state;
    uint8_t b[20];
    struct insn in;
    memset(b, 0x66, sizeof(b));
    b[14] = 0x90;                                                   /* 14 prefixes + nop = 15 bytes */
    assert_int_equal(decode_insn(MODE_64, b, sizeof(b), &in), DEC_OK);
    assert_int_equal(in.len, 15);
    b[14] = 0x66;
    b[15] = 0x90;                                                   /* 16 bytes */
    assert_int_equal(decode_insn(MODE_64, b, sizeof(b), &in), DEC_TOO_LONG);
    memset(b, 0x66, sizeof(b));                                     /* 11 prefixes + mov rax, imm32 form */
    static const uint8_t tail[] = { 0x48, 0xc7, 0xc0, 1, 2, 3, 4 };
    memcpy(b + 9, tail, sizeof(tail));                              /* 9 + 7 = 16 */
    assert_int_equal(decode_insn(MODE_64, b, 16, &in), DEC_TOO_LONG);
}

static void test_invalid(void **state)
{
    (void)state;
    struct insn in;
    dec(MODE_64, B(0x06), DEC_UD);                                  /* push es */
    dec(MODE_64, B(0x60), DEC_UD);                                  /* pusha */
    dec(MODE_64, B(0xea, 1, 2, 3, 4, 5, 6), DEC_UD);                /* jmp far ptr */
    dec(MODE_64, B(0x8d, 0xc0), DEC_UD);                            /* lea with a register */
    dec(MODE_64, B(0xf0, 0x01, 0xc0), DEC_UD);                      /* lock on a register */
    dec(MODE_64, B(0xf0, 0x89, 0x00), DEC_UD);                      /* lock mov */
    dec(MODE_64, B(0xf0, 0x90), DEC_UD);                            /* lock nop */
    dec(MODE_64, B(0xfe, 0xd0), DEC_UD);                            /* fe /2 */
    dec(MODE_64, B(0xff, 0xf8), DEC_UD);                            /* ff /7 */
    dec(MODE_64, B(0x8f, 0xc8), DEC_UD);                            /* 8f /1 */
    dec(MODE_64, B(0xc6, 0xc8, 0x00), DEC_UD);                      /* c6 /1 */
    dec(MODE_64, B(0x0f, 0xc7, 0xc8), DEC_UD);                      /* cmpxchg8b with a register */
    dec(MODE_64, B(0x0f, 0xff), DEC_UD);                            /* ud0 region */
    dec(MODE_64, B(0x0f, 0x13, 0xc0), DEC_UD);                      /* movlps store to a register */
    dec(MODE_64, B(0x66, 0x0f, 0x50, 0x00), DEC_UD);                /* movmskpd from memory */
    dec(MODE_64, B(0xf0, 0x0f, 0x58, 0x00), DEC_UD);                /* lock addps */
    dec(MODE_64, B(0xf2, 0x0f, 0x38, 0x17, 0xc0), DEC_UD);          /* ptest needs 66, not f2 */
    dec(MODE_64, B(0x66, 0x0f, 0x3a, 0xff, 0xc0, 0x00), DEC_UD);    /* undefined 0f 3a opcode */
    dec(MODE_64, B(0xf3, 0x0f, 0x38, 0xf0, 0x00), DEC_UD);          /* f3 0f 38 f0 */
    dec(MODE_64, B(0x0f, 0x38, 0xf0, 0xc0), DEC_UD);                /* movbe with a register */
    dec(MODE_64, B(0xf2, 0x0f, 0x38, 0xf0, 0xc0), DEC_OK);          /* crc32 eax, al */
    dec(MODE_64, B(0x0f, 0x38, 0x00, 0xc0), DEC_OK);                /* pshufb mm0, mm0 */
    in = dec(MODE_64, B(0x66, 0x48, 0x0f, 0x3a, 0x16, 0x44, 0x24, 0x08, 0x01), DEC_OK);  /* pextrq [rsp+8], xmm0, 1 */
    assert_int_equal(in.len, 9);
    assert_int_equal(in.imm, 1);
    in = dec(MODE_64, B(0x66, 0xf3, 0x0f, 0xb8, 0xc1), DEC_OK);     /* popcnt ax, cx: 66 sizes, f3 selects */
    assert_int_equal(in.osz, 2);
    in = dec(MODE_32, B(0x66, 0x0f, 0x73, 0xfa, 0x04), DEC_OK);     /* pslldq xmm2, 4 */
    assert_int_equal(in.len, 5);
    dec(MODE_64, B(0x0f, 0xba, 0xe0 & 0xc7, 0x01), DEC_UD);         /* 0f ba /0 */
    dec(MODE_64, B(0x0f, 0x01, 0xe8 | 0x05), DEC_UD);               /* 0f 01 /5 */
    dec(MODE_16, B(0xf0, 0x01, 0x00), DEC_OK);                      /* lock add [bx+si], ax */
    dec(MODE_32, B(0xf0, 0x0f, 0xc7, 0x0e), DEC_OK);                /* lock cmpxchg8b [esi] */
    in = dec(MODE_64, B(0x0f, 0x0b), DEC_OK);                       /* ud2 decodes, then raises #UD */
    assert_ptr_equal(in.fn, op_ud);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_64),
        cmocka_unit_test(test_operands_64),
        cmocka_unit_test(test_modes_16_32),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
