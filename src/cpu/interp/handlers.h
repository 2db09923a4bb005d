/*
 * Prototypes of every instruction handler, for the opcode tables.
 */
#ifndef PETREL_CPU_INTERP_HANDLERS_H
#define PETREL_CPU_INTERP_HANDLERS_H

#include "interp_internal.h"

#define H(name) int name(struct interp_cpu *cpu, const struct insn *in)
/* alu.c */
H(op_alu_rm_r); H(op_alu_r_rm); H(op_alu_a_imm); H(op_grp1); H(op_test_rm_r); H(op_test_a_imm);
H(op_test_rm_imm); H(op_incdec_rm); H(op_incdec_reg); H(op_not); H(op_neg);
/* muldiv.c */
H(op_mul1); H(op_imul_r_rm); H(op_imul_r_rm_imm); H(op_div);
/* shift.c */
H(op_grp2); H(op_shxd);
/* bitops.c */
H(op_bt_r); H(op_bt_imm); H(op_bsf_bsr); H(op_popcnt); H(op_bswap);
/* mov.c */
H(op_mov_rm_r); H(op_mov_r_rm); H(op_mov_rm_imm); H(op_mov_r_imm); H(op_mov_moffs); H(op_movx);
H(op_movsxd); H(op_lea); H(op_xchg_rm_r); H(op_xchg_ax); H(op_nop); H(op_cmov); H(op_setcc);
H(op_cbw); H(op_cwd); H(op_lahf); H(op_sahf); H(op_xlat); H(op_movbe);
/* atomic_ops.c */
H(op_xadd); H(op_cmpxchg); H(op_cmpxchg8b);
/* stack.c */
H(op_push_r); H(op_pop_r); H(op_push_imm); H(op_push_rm); H(op_pop_rm); H(op_pusha); H(op_popa);
H(op_leave); H(op_enter);
/* branch.c */
H(op_jcc); H(op_jmp_rel); H(op_call_rel); H(op_calljmp_indirect); H(op_ret); H(op_loop);
H(op_far_direct); H(op_far_indirect); H(op_retf);
/* string_ops.c, io_ops.c */
H(op_string); H(op_in); H(op_out);
/* flag_ops.c */
H(op_clc); H(op_stc); H(op_cmc); H(op_cld); H(op_std); H(op_cli); H(op_sti); H(op_pushf); H(op_popf);
/* interrupt_ops.c */
H(op_xsave_c7); H(op_sysenter); H(op_sysexit); H(op_int); H(op_int1); H(op_int3); H(op_into); H(op_iret);
/* system.c */
H(op_ud); H(op_too_long); H(op_hlt); H(op_wbinvd); H(op_clts); H(op_cpuid); H(op_rdtsc); H(op_rdmsr);
H(op_wrmsr); H(op_mov_cr); H(op_grp7);
/* debug_regs.c */
H(op_mov_dr);
/* x87_control.c */
H(op_x87); H(op_fwait);
/* mmx.c */
H(op_mmx); H(op_emms);
/* sse.c */
H(op_sse); H(op_crc32);
/* bcd.c */
H(op_daa_das); H(op_aaa_aas); H(op_aam); H(op_aad);
/* fpu_state.c */
H(op_grp15);
int op_xgetsetbv(struct interp_cpu *cpu, bool set);
/* syscall_ops.c */
H(op_syscall); H(op_sysret);
/* system_seg_ops.c */
H(op_grp6); H(op_lar_lsl);
/* seg_ops.c */
H(op_mov_rm_sreg); H(op_mov_sreg_rm); H(op_push_sreg); H(op_pop_sreg); H(op_load_far_ptr);
#undef H

#endif /* PETREL_CPU_INTERP_HANDLERS_H */
