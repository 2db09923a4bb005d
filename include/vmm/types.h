/*
 * Petrel public API: basic types shared by every header of the VM API.
 *
 * The names and values follow VirtualBox's VM API so that programs written
 * against it compile unchanged.  Everything here is plain C11 and valid C++.
 */
#ifndef PETREL_VMM_TYPES_H
#define PETREL_VMM_TYPES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
# define RT_C_DECLS_BEGIN extern "C" {
# define RT_C_DECLS_END   }
#else
# define RT_C_DECLS_BEGIN
# define RT_C_DECLS_END
#endif

/* Calling-convention and export decorations.  On Linux x86-64 there is one
 * calling convention, so these only carry visibility. */
#define DECLCALLBACK(type)                 type
#define DECLCALLBACKTYPE(type, name, args) type name args
#define DECLCALLBACKPTR(type, name, args)  type (*name) args  /* NOLINT(bugprone-macro-parentheses) */
#define DECLEXPORT(type)                   __attribute__((visibility("default"))) type
#define VMMDECL(type)                      DECLEXPORT(type)
#define VMMR3DECL(type)                    DECLEXPORT(type)
#define VMMR3_INT_DECL(type)               DECLEXPORT(type)
#define VMM_INT_DECL(type)                 DECLEXPORT(type)

/* printf-style format checking, named as in the API. */
#define RT_IPRT_FORMAT_ATTR(fmt, args)     __attribute__((format(printf, fmt, args)))

#define RT_BIT_32(bit)  ((uint32_t)(UINT32_C(1) << (bit)))
#define RT_BIT_64(bit)  ((uint64_t)(UINT64_C(1) << (bit)))
#define RT_MAKE_U64(lo, hi) ((uint64_t)(uint32_t)(lo) | ((uint64_t)(uint32_t)(hi) << 32))

/* Source position triple passed to error functions. */
#define RT_SRC_POS         __FILE__, __LINE__, __func__
#define RT_SRC_POS_DECL    const char *pszFile, unsigned iLine, const char *pszFunction
#define RT_SRC_POS_ARGS    pszFile, iLine, pszFunction

/** Milliseconds interval; RT_INDEFINITE_WAIT waits forever. */
typedef uint32_t RTMSINTERVAL;
#define RT_INDEFINITE_WAIT (~(RTMSINTERVAL)0)

/** Generic function pointer, the type request functions are stored as. */
typedef void (*PFNRT)(void);

/** Thread handles.  RTTHREAD is an opaque handle, RTNATIVETHREAD the host id. */
typedef struct RTTHREADINT *RTTHREAD;
#define NIL_RTTHREAD ((RTTHREAD)0)
typedef uintptr_t RTNATIVETHREAD;
#define NIL_RTNATIVETHREAD ((RTNATIVETHREAD)~(uintptr_t)0)
typedef uint32_t RTCPUID;
#define NIL_RTCPUID ((RTCPUID)~(uint32_t)0)

/** Event semaphore handle (opaque). */
typedef struct RTSEMEVENTINTERNAL *RTSEMEVENT;
#define NIL_RTSEMEVENT ((RTSEMEVENT)0)

/** A UUID, as 16 raw bytes with the usual views. */
typedef union RTUUID {
    uint8_t  au8[16];
    uint16_t au16[8];
    uint32_t au32[4];
    uint64_t au64[2];
} RTUUID;
typedef RTUUID *PRTUUID;
typedef const RTUUID *PCRTUUID;

/** Strict status: an int status that may carry informational scheduling codes. */
typedef int32_t VBOXSTRICTRC;

typedef uint64_t RTGCPHYS;
typedef uint64_t RTGCPTR;
typedef intptr_t RTGCINTPTR;

/** Virtual CPU id and its special values. */
typedef uint32_t VMCPUID;
typedef VMCPUID *PVMCPUID;
#define VMCPUID_ALL          UINT32_C(0xfffffff2)
#define VMCPUID_ALL_REVERSE  UINT32_C(0xfffffff3)
#define VMCPUID_ANY          UINT32_C(0xfffffff4)
#define VMCPUID_ANY_QUEUE    UINT32_C(0xfffffff5)
#define NIL_VMCPUID          UINT32_C(0xfffffffd)

/** Handles.  PUVM is what the public API takes; PVM is the VM itself. */
typedef struct VM     *PVM;
typedef const struct VM *PCVM;
typedef struct VM     *PVMCC;
typedef struct UVM    *PUVM;
typedef struct VMCPU  *PVMCPU;
typedef struct UVMCPU *PUVMCPU;

/** VM states.  The order and the values are part of the ABI. */
typedef enum VMSTATE {
    VMSTATE_CREATING = 0,
    VMSTATE_CREATED,
    VMSTATE_LOADING,
    VMSTATE_POWERING_ON,
    VMSTATE_RESUMING,
    VMSTATE_RUNNING,
    VMSTATE_RUNNING_LS,
    VMSTATE_RUNNING_FT,
    VMSTATE_RESETTING,
    VMSTATE_RESETTING_LS,
    VMSTATE_SOFT_RESETTING,
    VMSTATE_SOFT_RESETTING_LS,
    VMSTATE_SUSPENDING,
    VMSTATE_SUSPENDING_LS,
    VMSTATE_SUSPENDING_EXT_LS,
    VMSTATE_SUSPENDED,
    VMSTATE_SUSPENDED_LS,
    VMSTATE_SUSPENDED_EXT_LS,
    VMSTATE_SAVING,
    VMSTATE_DEBUGGING,
    VMSTATE_DEBUGGING_LS,
    VMSTATE_POWERING_OFF,
    VMSTATE_POWERING_OFF_LS,
    VMSTATE_OFF,
    VMSTATE_OFF_LS,
    VMSTATE_FATAL_ERROR,
    VMSTATE_FATAL_ERROR_LS,
    VMSTATE_GURU_MEDITATION,
    VMSTATE_GURU_MEDITATION_LS,
    VMSTATE_LOAD_FAILURE,
    VMSTATE_DESTROYING,
    VMSTATE_TERMINATED,
    VMSTATE_MAKE_32BIT_HACK = 0x7fffffff
} VMSTATE;

/* Forward declarations of the tables defined in vmm.h, ssm.h and cfgm.h. */
typedef struct VMM2USERMETHODS VMM2USERMETHODS;
typedef const VMM2USERMETHODS *PCVMM2USERMETHODS;
typedef struct VMMR3VTABLE VMMR3VTABLE;
typedef const VMMR3VTABLE *PCVMMR3VTABLE;
typedef struct SSMSTRMOPS SSMSTRMOPS;
typedef const SSMSTRMOPS *PCSSMSTRMOPS;
typedef struct CFGMNODE *PCFGMNODE;
typedef struct CFGMLEAF *PCFGMLEAF;

#endif /* PETREL_VMM_TYPES_H */
