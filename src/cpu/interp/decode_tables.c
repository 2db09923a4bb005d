/*
 * The opcode maps: for each opcode its handler and what the decoder must
 * know about its encoding (ModRM, immediate, operand-size rules, LOCK,
 * validity in 64-bit mode, whether it ends a block).  A NULL handler is #UD.
 */
#include "handlers.h"

#define ALU_ROW(base) \
    [(base) + 0] = { op_alu_rm_r, F_MODRM | F_BYTE | F_LOCK, 0 }, \
    [(base) + 1] = { op_alu_rm_r, F_MODRM | F_LOCK, 0 }, \
    [(base) + 2] = { op_alu_r_rm, F_MODRM | F_BYTE, 0 }, \
    [(base) + 3] = { op_alu_r_rm, F_MODRM, 0 }, \
    [(base) + 4] = { op_alu_a_imm, F_BYTE | F_IMM8, 0 }, \
    [(base) + 5] = { op_alu_a_imm, F_IMMZ, 0 }

#define X8(first, v) [(first)] = (v), [(first) + 1] = (v), [(first) + 2] = (v), [(first) + 3] = (v), \
    [(first) + 4] = (v), [(first) + 5] = (v), [(first) + 6] = (v), [(first) + 7] = (v)
#define X16(first, v) X8(first, v), X8((first) + 8, v)

#define JCC8   { op_jcc, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 }
#define JCC32  { op_jcc, F_IMMZ | F_FORCE64 | F_END, 0 }
#define STR(b) { op_string, (b) ? F_BYTE : 0, 0 }

enum { G1, G2, G3, G4, G5, G1A, G11, G6, G7, G8, G9, G_COUNT };

const struct opinfo opmap_one[256] = {
    ALU_ROW(0x00), ALU_ROW(0x08), ALU_ROW(0x10), ALU_ROW(0x18),
    ALU_ROW(0x20), ALU_ROW(0x28), ALU_ROW(0x30), ALU_ROW(0x38),
    [0x06] = { op_push_sreg, F_INV64, 0 }, [0x07] = { op_pop_sreg, F_INV64 | F_END, 0 },
    [0x0e] = { op_push_sreg, F_INV64, 0 },
    [0x16] = { op_push_sreg, F_INV64, 0 }, [0x17] = { op_pop_sreg, F_INV64 | F_END, 0 },
    [0x1e] = { op_push_sreg, F_INV64, 0 }, [0x1f] = { op_pop_sreg, F_INV64 | F_END, 0 },
    [0x27] = { op_daa_das, F_INV64, 0 }, [0x2f] = { op_daa_das, F_INV64, 0 },
    [0x37] = { op_aaa_aas, F_INV64, 0 }, [0x3f] = { op_aaa_aas, F_INV64, 0 },
    X16(0x40, ((struct opinfo){ op_incdec_reg, F_REGOP | F_INV64, 0 })),
    X8(0x50, ((struct opinfo){ op_push_r, F_REGOP | F_DEF64, 0 })),
    X8(0x58, ((struct opinfo){ op_pop_r, F_REGOP | F_DEF64, 0 })),
    [0x60] = { op_pusha, F_INV64, 0 }, [0x61] = { op_popa, F_INV64, 0 },
    [0x68] = { op_push_imm, F_IMMZ | F_DEF64, 0 },
    [0x69] = { op_imul_r_rm_imm, F_MODRM | F_IMMZ, 0 },
    [0x6a] = { op_push_imm, F_IMM8 | F_SX | F_DEF64, 0 },
    [0x6b] = { op_imul_r_rm_imm, F_MODRM | F_IMM8 | F_SX, 0 },
    [0x6c] = STR(1), [0x6d] = STR(0), [0x6e] = STR(1), [0x6f] = STR(0),
    X16(0x70, ((struct opinfo)JCC8)),
    [0x80] = { 0, F_MODRM | F_GROUP | F_BYTE | F_IMM8, G1 },
    [0x81] = { 0, F_MODRM | F_GROUP | F_IMMZ, G1 },
    [0x82] = { 0, F_MODRM | F_GROUP | F_BYTE | F_IMM8 | F_INV64, G1 },
    [0x83] = { 0, F_MODRM | F_GROUP | F_IMM8 | F_SX, G1 },
    [0x84] = { op_test_rm_r, F_MODRM | F_BYTE, 0 }, [0x85] = { op_test_rm_r, F_MODRM, 0 },
    [0x86] = { op_xchg_rm_r, F_MODRM | F_BYTE | F_LOCK, 0 }, [0x87] = { op_xchg_rm_r, F_MODRM | F_LOCK, 0 },
    [0x88] = { op_mov_rm_r, F_MODRM | F_BYTE, 0 }, [0x89] = { op_mov_rm_r, F_MODRM, 0 },
    [0x8a] = { op_mov_r_rm, F_MODRM | F_BYTE, 0 }, [0x8b] = { op_mov_r_rm, F_MODRM, 0 },
    [0x8c] = { op_mov_rm_sreg, F_MODRM, 0 },
    [0x8d] = { op_lea, F_MODRM | F_MEMONLY, 0 },
    [0x8e] = { op_mov_sreg_rm, F_MODRM | F_END, 0 },
    [0x8f] = { 0, F_MODRM | F_GROUP | F_DEF64, G1A },
    X8(0x90, ((struct opinfo){ op_xchg_ax, F_REGOP, 0 })),
    [0x98] = { op_cbw, 0, 0 }, [0x99] = { op_cwd, 0, 0 },
    [0x9a] = { op_far_direct, F_FAR | F_INV64 | F_END, 0 },
    [0x9b] = { op_fwait, 0, 0 },
    [0x9c] = { op_pushf, F_DEF64, 0 }, [0x9d] = { op_popf, F_DEF64 | F_END, 0 },
    [0x9e] = { op_sahf, 0, 0 }, [0x9f] = { op_lahf, 0, 0 },
    [0xa0] = { op_mov_moffs, F_BYTE | F_MOFFS, 0 }, [0xa1] = { op_mov_moffs, F_MOFFS, 0 },
    [0xa2] = { op_mov_moffs, F_BYTE | F_MOFFS, 0 }, [0xa3] = { op_mov_moffs, F_MOFFS, 0 },
    [0xa4] = STR(1), [0xa5] = STR(0), [0xa6] = STR(1), [0xa7] = STR(0),
    [0xa8] = { op_test_a_imm, F_BYTE | F_IMM8, 0 }, [0xa9] = { op_test_a_imm, F_IMMZ, 0 },
    [0xaa] = STR(1), [0xab] = STR(0), [0xac] = STR(1), [0xad] = STR(0), [0xae] = STR(1), [0xaf] = STR(0),
    X8(0xb0, ((struct opinfo){ op_mov_r_imm, F_REGOP | F_BYTE | F_IMM8, 0 })),
    X8(0xb8, ((struct opinfo){ op_mov_r_imm, F_REGOP | F_IMMV, 0 })),
    [0xc0] = { 0, F_MODRM | F_GROUP | F_BYTE | F_IMM8, G2 },
    [0xc1] = { 0, F_MODRM | F_GROUP | F_IMM8, G2 },
    [0xc2] = { op_ret, F_IMM16 | F_FORCE64 | F_END, 0 }, [0xc3] = { op_ret, F_FORCE64 | F_END, 0 },
    [0xc4] = { op_load_far_ptr, F_MODRM | F_MEMONLY | F_INV64 | F_END, 0 },
    [0xc5] = { op_load_far_ptr, F_MODRM | F_MEMONLY | F_INV64, 0 },
    [0xc6] = { 0, F_MODRM | F_GROUP | F_BYTE | F_IMM8, G11 },
    [0xc7] = { 0, F_MODRM | F_GROUP | F_IMMZ, G11 },
    [0xc8] = { op_enter, F_ENTER | F_DEF64, 0 }, [0xc9] = { op_leave, F_DEF64, 0 },
    [0xca] = { op_retf, F_IMM16 | F_END, 0 }, [0xcb] = { op_retf, F_END, 0 },
    [0xcc] = { op_int3, F_END, 0 }, [0xcd] = { op_int, F_IMM8 | F_END, 0 },
    [0xce] = { op_into, F_INV64 | F_END, 0 }, [0xcf] = { op_iret, F_END, 0 },
    [0xd0] = { 0, F_MODRM | F_GROUP | F_BYTE, G2 }, [0xd1] = { 0, F_MODRM | F_GROUP, G2 },
    [0xd2] = { 0, F_MODRM | F_GROUP | F_BYTE, G2 }, [0xd3] = { 0, F_MODRM | F_GROUP, G2 },
    [0xd4] = { op_aam, F_IMM8 | F_INV64, 0 }, [0xd5] = { op_aad, F_IMM8 | F_INV64, 0 },
    [0xd7] = { op_xlat, 0, 0 },
    X8(0xd8, ((struct opinfo){ op_x87, F_MODRM, 0 })),
    [0xe0] = { op_loop, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 },
    [0xe1] = { op_loop, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 },
    [0xe2] = { op_loop, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 },
    [0xe3] = { op_loop, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 },
    [0xe4] = { op_in, F_BYTE | F_IMM8, 0 }, [0xe5] = { op_in, F_IMM8, 0 },
    [0xe6] = { op_out, F_BYTE | F_IMM8, 0 }, [0xe7] = { op_out, F_IMM8, 0 },
    [0xe8] = { op_call_rel, F_IMMZ | F_FORCE64 | F_END, 0 },
    [0xe9] = { op_jmp_rel, F_IMMZ | F_FORCE64 | F_END, 0 },
    [0xea] = { op_far_direct, F_FAR | F_INV64 | F_END, 0 },
    [0xeb] = { op_jmp_rel, F_IMM8 | F_SX | F_FORCE64 | F_END, 0 },
    [0xec] = { op_in, F_BYTE, 0 }, [0xed] = { op_in, 0, 0 },
    [0xee] = { op_out, F_BYTE, 0 }, [0xef] = { op_out, 0, 0 },
    [0xf1] = { op_int1, F_END, 0 }, [0xf4] = { op_hlt, F_END, 0 }, [0xf5] = { op_cmc, 0, 0 },
    [0xf6] = { 0, F_MODRM | F_GROUP | F_BYTE, G3 }, [0xf7] = { 0, F_MODRM | F_GROUP, G3 },
    [0xf8] = { op_clc, 0, 0 }, [0xf9] = { op_stc, 0, 0 },
    [0xfa] = { op_cli, 0, 0 }, [0xfb] = { op_sti, F_END, 0 },
    [0xfc] = { op_cld, 0, 0 }, [0xfd] = { op_std, 0, 0 },
    [0xfe] = { 0, F_MODRM | F_GROUP | F_BYTE, G4 }, [0xff] = { 0, F_MODRM | F_GROUP, G5 },
};

const struct opinfo opmap_0f[256] = {
    [0x00] = { 0, F_MODRM | F_GROUP, G6 },
    [0x01] = { 0, F_MODRM | F_GROUP, G7 },
    [0x02] = { op_lar_lsl, F_MODRM, 0 }, [0x03] = { op_lar_lsl, F_MODRM, 0 },
    [0x05] = { op_syscall, F_END, 0 },
    [0x06] = { op_clts, 0, 0 },
    [0x07] = { op_sysret, F_END, 0 },
    [0x34] = { op_sysenter, F_END, 0 }, [0x35] = { op_sysexit, F_END, 0 },
    [0x08] = { op_wbinvd, 0, 0 }, [0x09] = { op_wbinvd, 0, 0 },
    [0x0b] = { op_ud, F_END, 0 },
    [0x0d] = { op_nop, F_MODRM | F_MEMONLY, 0 },
    X8(0x18, ((struct opinfo){ op_nop, F_MODRM, 0 })),
    [0x20] = { op_mov_cr, F_MODRM | F_MODREG, 0 }, [0x22] = { op_mov_cr, F_MODRM | F_MODREG | F_END, 0 },
    [0x21] = { op_mov_dr, F_MODRM | F_MODREG, 0 }, [0x23] = { op_mov_dr, F_MODRM | F_MODREG, 0 },
    [0x30] = { op_wrmsr, F_END, 0 }, [0x31] = { op_rdtsc, 0, 0 }, [0x32] = { op_rdmsr, 0, 0 },
    X16(0x40, ((struct opinfo){ op_cmov, F_MODRM, 0 })),
    X16(0x80, ((struct opinfo)JCC32)),
    X16(0x90, ((struct opinfo){ op_setcc, F_MODRM | F_BYTE, 0 })),
    [0xa0] = { op_push_sreg, F_DEF64, 0 }, [0xa1] = { op_pop_sreg, F_DEF64, 0 },
    [0xa2] = { op_cpuid, 0, 0 },
    [0xa3] = { op_bt_r, F_MODRM, 0 },
    [0xa4] = { op_shxd, F_MODRM | F_IMM8, 0 }, [0xa5] = { op_shxd, F_MODRM, 0 },
    [0xa8] = { op_push_sreg, F_DEF64, 0 }, [0xa9] = { op_pop_sreg, F_DEF64, 0 },
    [0xab] = { op_bt_r, F_MODRM | F_LOCK, 0 },
    [0xac] = { op_shxd, F_MODRM | F_IMM8, 0 }, [0xad] = { op_shxd, F_MODRM, 0 },
    [0xae] = { op_grp15, F_MODRM, 0 },
    [0xaf] = { op_imul_r_rm, F_MODRM, 0 },
    [0xb0] = { op_cmpxchg, F_MODRM | F_BYTE | F_LOCK, 0 }, [0xb1] = { op_cmpxchg, F_MODRM | F_LOCK, 0 },
    [0xb2] = { op_load_far_ptr, F_MODRM | F_MEMONLY | F_END, 0 },
    [0xb3] = { op_bt_r, F_MODRM | F_LOCK, 0 },
    [0xb4] = { op_load_far_ptr, F_MODRM | F_MEMONLY, 0 }, [0xb5] = { op_load_far_ptr, F_MODRM | F_MEMONLY, 0 },
    [0xb6] = { op_movx, F_MODRM, 0 }, [0xb7] = { op_movx, F_MODRM, 0 },
    [0xb8] = { op_popcnt, F_MODRM, 0 },
    [0xba] = { 0, F_MODRM | F_GROUP | F_IMM8, G8 },
    [0xbb] = { op_bt_r, F_MODRM | F_LOCK, 0 },
    [0xbc] = { op_bsf_bsr, F_MODRM, 0 }, [0xbd] = { op_bsf_bsr, F_MODRM, 0 },
    [0xbe] = { op_movx, F_MODRM, 0 }, [0xbf] = { op_movx, F_MODRM, 0 },
    [0xc0] = { op_xadd, F_MODRM | F_BYTE | F_LOCK, 0 }, [0xc1] = { op_xadd, F_MODRM | F_LOCK, 0 },
    [0xc7] = { 0, F_MODRM | F_GROUP, G9 },
    X8(0xc8, ((struct opinfo){ op_bswap, F_REGOP, 0 })),
    /* MMX (mmx.c): the no-prefix forms; op_mmx rejects 66/F2/F3. */
#define MMX_OP { op_mmx, F_MODRM, 0 }
#define MMX_IMM { op_mmx, F_MODRM | F_IMM8, 0 }
    X8(0x60, ((struct opinfo)MMX_OP)), [0x68] = MMX_OP, [0x69] = MMX_OP, [0x6a] = MMX_OP, [0x6b] = MMX_OP,
    [0x6e] = MMX_OP, [0x6f] = MMX_OP, [0x70] = MMX_IMM, [0x71] = MMX_IMM, [0x72] = MMX_IMM, [0x73] = MMX_IMM,
    [0x74] = MMX_OP, [0x75] = MMX_OP, [0x76] = MMX_OP, [0x77] = { op_emms, 0, 0 },
    [0x7e] = MMX_OP, [0x7f] = MMX_OP, [0xc4] = MMX_IMM, [0xc5] = MMX_IMM,
    [0xd1] = MMX_OP, [0xd2] = MMX_OP, [0xd3] = MMX_OP, [0xd4] = MMX_OP, [0xd5] = MMX_OP, [0xd7] = MMX_OP,
    X8(0xd8, ((struct opinfo)MMX_OP)), [0xe0] = MMX_OP, [0xe1] = MMX_OP, [0xe2] = MMX_OP, [0xe3] = MMX_OP,
    [0xe4] = MMX_OP, [0xe5] = MMX_OP, [0xe7] = MMX_OP, X8(0xe8, ((struct opinfo)MMX_OP)),
    [0xf1] = MMX_OP, [0xf2] = MMX_OP, [0xf3] = MMX_OP, [0xf4] = MMX_OP, [0xf5] = MMX_OP, [0xf6] = MMX_OP,
    [0xf7] = MMX_OP, [0xf8] = MMX_OP, [0xf9] = MMX_OP, [0xfa] = MMX_OP, [0xfb] = MMX_OP, [0xfc] = MMX_OP,
    [0xfd] = MMX_OP, [0xfe] = MMX_OP,
#undef MMX_OP
#undef MMX_IMM
    /* end of MMX */
};

const insn_fn group_table[G_COUNT][8] = {
    [G1] = { op_grp1, op_grp1, op_grp1, op_grp1, op_grp1, op_grp1, op_grp1, op_grp1 },
    [G2] = { op_grp2, op_grp2, op_grp2, op_grp2, op_grp2, op_grp2, op_grp2, op_grp2 },
    [G3] = { op_test_rm_imm, op_test_rm_imm, op_not, op_neg, op_mul1, op_mul1, op_div, op_div },
    [G4] = { op_incdec_rm, op_incdec_rm },
    [G5] = { op_incdec_rm, op_incdec_rm, op_calljmp_indirect, op_far_indirect,
             op_calljmp_indirect, op_far_indirect, op_push_rm, 0 },
    [G1A] = { op_pop_rm },
    [G11] = { op_mov_rm_imm },
    [G6] = { op_grp6, op_grp6, op_grp6, op_grp6, op_grp6, op_grp6 },
    [G7] = { op_grp7, op_grp7, op_grp7, op_grp7, op_grp7, 0, op_grp7, op_grp7 },
    [G8] = { 0, 0, 0, 0, op_bt_imm, op_bt_imm, op_bt_imm, op_bt_imm },
    [G9] = { 0, op_cmpxchg8b, 0, op_xsave_c7, op_xsave_c7, op_xsave_c7 },
};

const uint8_t group_lock[G_COUNT] = {
    [G1] = 0x7f, [G3] = 0x0c, [G4] = 0x03, [G5] = 0x03, [G8] = 0xe0, [G9] = 0x02,
};

const uint8_t group_end[G_COUNT] = {
    [G5] = 0x3c, [G7] = 0xcc,
};

const uint8_t group_memonly[G_COUNT] = {
    [G5] = 0x28, [G9] = 0x3a,
};
