/*
 * Argument-list macros for calling functions with 0..64 pointer-sized
 * arguments through real C prototypes (the request queue, and its tests).
 *
 * ARGS_n(m) expands to m(0), m(1), ..., m(n-1); FOR_1_TO_64(X) expands to
 * X(1) X(2) ... X(64).
 */
#ifndef PETREL_ARG_LIST_H
#define PETREL_ARG_LIST_H

#define ARGS_1(m)  m(0)
#define ARGS_2(m)  ARGS_1(m), m(1)
#define ARGS_3(m)  ARGS_2(m), m(2)
#define ARGS_4(m)  ARGS_3(m), m(3)
#define ARGS_5(m)  ARGS_4(m), m(4)
#define ARGS_6(m)  ARGS_5(m), m(5)
#define ARGS_7(m)  ARGS_6(m), m(6)
#define ARGS_8(m)  ARGS_7(m), m(7)
#define ARGS_9(m)  ARGS_8(m), m(8)
#define ARGS_10(m) ARGS_9(m), m(9)
#define ARGS_11(m) ARGS_10(m), m(10)
#define ARGS_12(m) ARGS_11(m), m(11)
#define ARGS_13(m) ARGS_12(m), m(12)
#define ARGS_14(m) ARGS_13(m), m(13)
#define ARGS_15(m) ARGS_14(m), m(14)
#define ARGS_16(m) ARGS_15(m), m(15)
#define ARGS_17(m) ARGS_16(m), m(16)
#define ARGS_18(m) ARGS_17(m), m(17)
#define ARGS_19(m) ARGS_18(m), m(18)
#define ARGS_20(m) ARGS_19(m), m(19)
#define ARGS_21(m) ARGS_20(m), m(20)
#define ARGS_22(m) ARGS_21(m), m(21)
#define ARGS_23(m) ARGS_22(m), m(22)
#define ARGS_24(m) ARGS_23(m), m(23)
#define ARGS_25(m) ARGS_24(m), m(24)
#define ARGS_26(m) ARGS_25(m), m(25)
#define ARGS_27(m) ARGS_26(m), m(26)
#define ARGS_28(m) ARGS_27(m), m(27)
#define ARGS_29(m) ARGS_28(m), m(28)
#define ARGS_30(m) ARGS_29(m), m(29)
#define ARGS_31(m) ARGS_30(m), m(30)
#define ARGS_32(m) ARGS_31(m), m(31)
#define ARGS_33(m) ARGS_32(m), m(32)
#define ARGS_34(m) ARGS_33(m), m(33)
#define ARGS_35(m) ARGS_34(m), m(34)
#define ARGS_36(m) ARGS_35(m), m(35)
#define ARGS_37(m) ARGS_36(m), m(36)
#define ARGS_38(m) ARGS_37(m), m(37)
#define ARGS_39(m) ARGS_38(m), m(38)
#define ARGS_40(m) ARGS_39(m), m(39)
#define ARGS_41(m) ARGS_40(m), m(40)
#define ARGS_42(m) ARGS_41(m), m(41)
#define ARGS_43(m) ARGS_42(m), m(42)
#define ARGS_44(m) ARGS_43(m), m(43)
#define ARGS_45(m) ARGS_44(m), m(44)
#define ARGS_46(m) ARGS_45(m), m(45)
#define ARGS_47(m) ARGS_46(m), m(46)
#define ARGS_48(m) ARGS_47(m), m(47)
#define ARGS_49(m) ARGS_48(m), m(48)
#define ARGS_50(m) ARGS_49(m), m(49)
#define ARGS_51(m) ARGS_50(m), m(50)
#define ARGS_52(m) ARGS_51(m), m(51)
#define ARGS_53(m) ARGS_52(m), m(52)
#define ARGS_54(m) ARGS_53(m), m(53)
#define ARGS_55(m) ARGS_54(m), m(54)
#define ARGS_56(m) ARGS_55(m), m(55)
#define ARGS_57(m) ARGS_56(m), m(56)
#define ARGS_58(m) ARGS_57(m), m(57)
#define ARGS_59(m) ARGS_58(m), m(58)
#define ARGS_60(m) ARGS_59(m), m(59)
#define ARGS_61(m) ARGS_60(m), m(60)
#define ARGS_62(m) ARGS_61(m), m(61)
#define ARGS_63(m) ARGS_62(m), m(62)
#define ARGS_64(m) ARGS_63(m), m(63)

#define FOR_1_TO_64(X) \
    X(1)  X(2)  X(3)  X(4)  X(5)  X(6)  X(7)  X(8)  X(9)  X(10) X(11) X(12) X(13) X(14) X(15) X(16) \
    X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) \
    X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) X(45) X(46) X(47) X(48) \
    X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63) X(64)

#endif /* PETREL_ARG_LIST_H */
