/*
 * Petrel public API: the VM API.
 *
 * Create a VM, power it on, suspend/resume/reset it, save/load/teleport its
 * state, power it off and destroy it; run functions on its emulation threads
 * (EMTs) through the request queue; get told about state changes and errors.
 * Names, values and behaviour follow VirtualBox's VM API (see docs/api.md for
 * the few places where Petrel deliberately differs).
 */
#ifndef PETREL_VMM_VMAPI_H
#define PETREL_VMM_VMAPI_H

#include "types.h"
#include "err.h"
#include "cfgm.h"
#include "ssm.h"

RT_C_DECLS_BEGIN

/** Execution engines (EMR3QueryMainExecutionEngine). */
#define VM_EXEC_ENGINE_NOT_SET     UINT8_C(0)
#define VM_EXEC_ENGINE_IEM         UINT8_C(1)   /* Petrel's x86 interpreter */
#define VM_EXEC_ENGINE_HW_VIRT     UINT8_C(2)   /* never on Petrel: KVM is the native API */
#define VM_EXEC_ENGINE_NATIVE_API  UINT8_C(3)   /* Linux KVM */

/** At-error callback: receives the format and its arguments, not a string. */
typedef DECLCALLBACKTYPE(void, FNVMATERROR, (PUVM pUVM, void *pvUser, int vrc, RT_SRC_POS_DECL,
                                             const char *pszFormat, va_list args));
typedef FNVMATERROR *PFNVMATERROR;

VMMDECL(int) VMSetError(PVMCC pVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, ...) RT_IPRT_FORMAT_ATTR(6, 7);
VMMDECL(int) VMSetErrorV(PVMCC pVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, va_list args) RT_IPRT_FORMAT_ATTR(6, 0);

/** Raise a VM error with a constant message; evaluates to rc. */
#define VM_SET_ERROR(pVM, rc, pszMessage)            (VMSetError(pVM, rc, RT_SRC_POS, "%s", pszMessage))
#define VM_SET_ERROR_U(a_pUVM, a_rc, a_pszMessage)   (VMR3SetError(a_pUVM, a_rc, RT_SRC_POS, "%s", a_pszMessage))

typedef DECLCALLBACKTYPE(void, FNVMATRUNTIMEERROR, (PUVM pUVM, void *pvUser, uint32_t fFlags, const char *pszErrorId,
                                                    const char *pszFormat, va_list va));
typedef FNVMATRUNTIMEERROR *PFNVMATRUNTIMEERROR;

VMMDECL(int) VMSetRuntimeError(PVMCC pVM, uint32_t fFlags, const char *pszErrorId, const char *pszFormat, ...) RT_IPRT_FORMAT_ATTR(4, 5);
VMMDECL(int) VMSetRuntimeErrorV(PVMCC pVM, uint32_t fFlags, const char *pszErrorId, const char *pszFormat, va_list args) RT_IPRT_FORMAT_ATTR(4, 0);

/** VMSetRuntimeError flags. */
#define VMSETRTERR_FLAGS_FATAL    RT_BIT_32(0)
#define VMSETRTERR_FLAGS_SUSPEND  RT_BIT_32(1)
#define VMSETRTERR_FLAGS_NO_WAIT  RT_BIT_32(2)

/** At-state callback.  Must not change the VM state. */
typedef DECLCALLBACKTYPE(void, FNVMATSTATE, (PUVM pUVM, PCVMMR3VTABLE pVMM, VMSTATE enmState, VMSTATE enmOldState, void *pvUser));
typedef FNVMATSTATE *PFNVMATSTATE;

VMMDECL(const char *) VMGetStateName(VMSTATE enmState);
VMMDECL(uint32_t)     VMGetResetCount(PVMCC pVM);
VMMDECL(uint32_t)     VMGetSoftResetCount(PVMCC pVM);
VMMDECL(uint32_t)     VMGetHardResetCount(PVMCC pVM);

typedef enum VMREQTYPE {
    VMREQTYPE_INVALID = 0,
    VMREQTYPE_INTERNAL,
    VMREQTYPE_MAX
} VMREQTYPE;

typedef enum VMREQSTATE {
    VMREQSTATE_INVALID = 0,
    VMREQSTATE_ALLOCATED,
    VMREQSTATE_QUEUED,
    VMREQSTATE_PROCESSING,
    VMREQSTATE_COMPLETED,
    VMREQSTATE_FREE
} VMREQSTATE;

typedef enum VMREQFLAGS {
    VMREQFLAGS_VBOX_STATUS = 0,
    VMREQFLAGS_VOID        = 1,
    VMREQFLAGS_RETURN_MASK = 1,
    VMREQFLAGS_NO_WAIT     = 2,
    VMREQFLAGS_POKE        = 4,
    VMREQFLAGS_PRIORITY    = 8
} VMREQFLAGS;

/** Maximum number of arguments of a request function. */
#define VMREQ_MAX_ARGS 64

/** A request packet: a function and its arguments to run on an EMT. */
typedef struct VMREQ {
    struct VMREQ * volatile pNext;
    PUVM                    pUVM;
    volatile VMREQSTATE     enmState;
    volatile int32_t        iStatus;
    RTSEMEVENT              EventSem;
    volatile bool           fEventSemClear;
    unsigned                fFlags;
    VMREQTYPE               enmType;
    VMCPUID                 idDstCpu;
    union VMREQ_U {
        struct {
            PFNRT           pfn;
            unsigned        cArgs;
            uintptr_t       aArgs[VMREQ_MAX_ARGS];
        } Internal;
    } u;
} VMREQ;
typedef VMREQ *PVMREQ;

typedef enum VMINITCOMPLETED {
    VMINITCOMPLETED_RING3 = 1,
    VMINITCOMPLETED_RING0,
    VMINITCOMPLETED_HM
} VMINITCOMPLETED;

typedef enum VMRESUMEREASON {
    VMRESUMEREASON_INVALID = 0,
    VMRESUMEREASON_USER,
    VMRESUMEREASON_RECONFIG,
    VMRESUMEREASON_HOST_RESUME,
    VMRESUMEREASON_STATE_RESTORED,
    VMRESUMEREASON_STATE_SAVED,
    VMRESUMEREASON_TELEPORTED,
    VMRESUMEREASON_TELEPORT_FAILED,
    VMRESUMEREASON_FTM_SYNC,
    VMRESUMEREASON_END,
    VMRESUMEREASON_32BIT_HACK = 0x7fffffff
} VMRESUMEREASON;

typedef enum VMSUSPENDREASON {
    VMSUSPENDREASON_INVALID = 0,
    VMSUSPENDREASON_USER,
    VMSUSPENDREASON_RECONFIG,
    VMSUSPENDREASON_VM,
    VMSUSPENDREASON_RUNTIME_ERROR,
    VMSUSPENDREASON_HOST_SUSPEND,
    VMSUSPENDREASON_HOST_BATTERY_LOW,
    VMSUSPENDREASON_FTM_SYNC,
    VMSUSPENDREASON_END,
    VMSUSPENDREASON_32BIT_HACK = 0x7fffffff
} VMSUSPENDREASON;

/** Progress callback: 0..100, non-decreasing, 100 only on success. */
typedef DECLCALLBACKTYPE(int, FNVMPROGRESS, (PUVM pUVM, unsigned uPercent, void *pvUser));
typedef FNVMPROGRESS *PFNVMPROGRESS;

VMMR3DECL(int)   VMR3Create(uint32_t cCpus, PCVMM2USERMETHODS pVm2UserCbs,
                            PFNVMATERROR pfnVMAtError, void *pvUserVM,
                            PFNCFGMCONSTRUCTOR pfnCFGMConstructor, void *pvUserCFGM,
                            PVM *ppVM, PUVM *ppUVM);
VMMR3DECL(int)   VMR3PowerOn(PUVM pUVM);
VMMR3DECL(int)   VMR3Suspend(PUVM pUVM, VMSUSPENDREASON enmReason);
VMMR3DECL(VMSUSPENDREASON) VMR3GetSuspendReason(PUVM pUVM);
VMMR3DECL(int)   VMR3Resume(PUVM pUVM, VMRESUMEREASON enmReason);
VMMR3DECL(VMRESUMEREASON) VMR3GetResumeReason(PUVM pUVM);
VMMR3DECL(int)   VMR3Reset(PUVM pUVM);
VMMR3_INT_DECL(VBOXSTRICTRC) VMR3ResetFF(PVM pVM);
VMMR3_INT_DECL(VBOXSTRICTRC) VMR3ResetTripleFault(PVM pVM);
VMMR3DECL(int)   VMR3Save(PUVM pUVM, const char *pszFilename, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                          bool fContinueAfterwards, PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended);
VMMR3DECL(int)   VMR3Teleport(PUVM pUVM, uint32_t cMsDowntime, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                              PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool *pfSuspended);
VMMR3DECL(int)   VMR3LoadFromFile(PUVM pUVM, const char *pszFilename, PFNVMPROGRESS pfnProgress, void *pvUser);
VMMR3DECL(int)   VMR3LoadFromStream(PUVM pUVM, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                    PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool fTeleporting);
VMMR3DECL(int)   VMR3PowerOff(PUVM pUVM);
VMMR3DECL(int)   VMR3Destroy(PUVM pUVM);
VMMR3_INT_DECL(void) VMR3Relocate(PVM pVM, RTGCINTPTR offDelta);

VMMR3DECL(PVM)          VMR3GetVM(PUVM pUVM);
VMMR3DECL(PUVM)         VMR3GetUVM(PVM pVM);
VMMR3DECL(uint32_t)     VMR3RetainUVM(PUVM pUVM);
VMMR3DECL(uint32_t)     VMR3ReleaseUVM(PUVM pUVM);
VMMR3DECL(const char *) VMR3GetName(PUVM pUVM);
VMMR3DECL(PRTUUID)      VMR3GetUuid(PUVM pUVM, PRTUUID pUuid);
VMMR3DECL(VMSTATE)      VMR3GetState(PVM pVM);
VMMR3DECL(VMSTATE)      VMR3GetStateU(PUVM pUVM);
VMMR3DECL(const char *) VMR3GetStateName(VMSTATE enmState);
VMMR3DECL(int)          VMR3AtStateRegister(PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser);
VMMR3DECL(int)          VMR3AtStateDeregister(PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser);
VMMR3_INT_DECL(bool)    VMR3SetGuruMeditation(PVM pVM);
VMMR3_INT_DECL(bool)    VMR3TeleportedAndNotFullyResumedYet(PVM pVM);
VMMR3DECL(int)          VMR3AtErrorRegister(PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser);
VMMR3DECL(int)          VMR3AtErrorDeregister(PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser);
VMMR3DECL(int)          VMR3SetError(PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, ...) RT_IPRT_FORMAT_ATTR(6, 7);
VMMR3DECL(int)          VMR3SetErrorV(PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, va_list va) RT_IPRT_FORMAT_ATTR(6, 0);
VMMR3_INT_DECL(uint32_t) VMR3GetErrorCount(PUVM pUVM);
VMMR3DECL(int)          VMR3AtRuntimeErrorRegister(PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser);
VMMR3DECL(int)          VMR3AtRuntimeErrorDeregister(PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser);
VMMR3_INT_DECL(uint32_t) VMR3GetRuntimeErrorCount(PUVM pUVM);

VMMR3DECL(int) VMR3ReqCallU(PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies, uint32_t fFlags, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallVU(PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies, uint32_t fFlags, PFNRT pfnFunction, unsigned cArgs, va_list Args);
VMMR3_INT_DECL(int) VMR3ReqCallWait(PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallWaitU(PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallNoWait(PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallNoWaitU(PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3_INT_DECL(int) VMR3ReqCallVoidWait(PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallVoidWaitU(PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqCallVoidNoWait(PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqPriorityCallWait(PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqPriorityCallWaitU(PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqPriorityCallVoidWaitU(PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...);
VMMR3DECL(int) VMR3ReqAlloc(PUVM pUVM, PVMREQ *ppReq, VMREQTYPE enmType, VMCPUID idDstCpu);
VMMR3DECL(int) VMR3ReqFree(PVMREQ pReq);
VMMR3DECL(int) VMR3ReqQueue(PVMREQ pReq, RTMSINTERVAL cMillies);
VMMR3DECL(int) VMR3ReqWait(PVMREQ pReq, RTMSINTERVAL cMillies);
VMMR3_INT_DECL(int) VMR3ReqProcessU(PUVM pUVM, VMCPUID idDstCpu, bool fPriorityOnly);

/** VMR3NotifyCpuFFU / VMR3NotifyGlobalFFU flags. */
#define VMNOTIFYFF_FLAGS_DONE_REM  RT_BIT_32(0)
#define VMNOTIFYFF_FLAGS_POKE      RT_BIT_32(1)

VMMR3_INT_DECL(void)     VMR3NotifyGlobalFFU(PUVM pUVM, uint32_t fFlags);
VMMR3_INT_DECL(void)     VMR3NotifyCpuFFU(PUVMCPU pUVMCpu, uint32_t fFlags);
VMMR3DECL(int)           VMR3NotifyCpuDeviceReady(PVM pVM, VMCPUID idCpu);
VMMR3_INT_DECL(int)      VMR3WaitHalted(PVM pVM, PVMCPU pVCpu, bool fIgnoreInterrupts);
VMMR3_INT_DECL(int)      VMR3WaitU(PUVMCPU pUVMCpu);
VMMR3DECL(int)           VMR3WaitForDeviceReady(PVM pVM, VMCPUID idCpu);
VMMR3_INT_DECL(RTCPUID)  VMR3GetVMCPUId(PVM pVM);
VMMR3_INT_DECL(bool)     VMR3IsLongModeAllowed(PVM pVM);
VMMR3_INT_DECL(RTTHREAD) VMR3GetThreadHandle(PUVMCPU pUVCpu);
VMMR3DECL(RTTHREAD)      VMR3GetVMCPUThread(PUVM pUVM);
VMMR3DECL(RTNATIVETHREAD) VMR3GetVMCPUNativeThread(PVM pVM);
VMMR3DECL(RTNATIVETHREAD) VMR3GetVMCPUNativeThreadU(PUVM pUVM);
VMMR3DECL(int)           VMR3GetCpuCoreAndPackageIdFromCpuId(PUVM pUVM, VMCPUID idCpu, uint32_t *pidCpuCore, uint32_t *pidCpuPackage);
VMMR3_INT_DECL(uint32_t) VMR3GetActiveEmts(PUVM pUVM);
VMMR3DECL(int)           VMR3HotUnplugCpu(PUVM pUVM, VMCPUID idCpu);
VMMR3DECL(int)           VMR3HotPlugCpu(PUVM pUVM, VMCPUID idCpu);
VMMR3DECL(int)           VMR3SetCpuExecutionCap(PUVM pUVM, uint32_t uCpuExecutionCap);
VMMR3DECL(int)           VMR3SetPowerOffInsteadOfReset(PUVM pUVM, bool fPowerOffInsteadOfReset);

/*
 * Petrel extensions (not in VirtualBox's API).
 */

/** The exit code a test guest wrote to the debug-exit port (0xF4) before it
 *  powered the VM off: VINF_SUCCESS and *puCode = (value << 1) | 1, or
 *  VERR_NOT_FOUND when the guest never wrote one. */
VMMR3DECL(int) VMR3GetGuestExitCode(PUVM pUVM, uint32_t *puCode);

/** The engine that runs the guest: one of VM_EXEC_ENGINE_*. */
VMMR3DECL(int) EMR3QueryMainExecutionEngine(PUVM pUVM, uint8_t *pbMainExecutionEngine);

/** Why the VM runs on its engine, as one readable line into pszBuf (e.g.
 *  "auto: the interpreter, because the host CPU has no vmx/svm: ...").
 *  VERR_BUFFER_OVERFLOW when it does not fit (pszBuf then holds a truncated,
 *  NUL-terminated line).  Any thread, once VMR3Create has succeeded. */
VMMR3DECL(int) EMR3QueryExecutionEngineReason(PUVM pUVM, char *pszBuf, size_t cbBuf);

/** Input for the guest's console (the first serial port, /Devices/serial/0):
 *  offers cbBuf bytes to its receive FIFO and stores in *pcbTaken how many it
 *  took (0 when the FIFO is full: offer the rest again shortly).  Any thread.
 *  VERR_NOT_FOUND when the VM has no serial port.  Pair it with the "stdout"
 *  console back end, which reads no input itself. */
VMMR3DECL(int) VMR3ConsoleInput(PUVM pUVM, const void *pvBuf, size_t cbBuf, size_t *pcbTaken);

/** Presses the VM's ACPI power button: asks the guest to shut down cleanly
 *  (the guest decides; the VM powers off when the guest enters S5).  The VM
 *  must be RUNNING or SUSPENDED (VERR_VM_INVALID_VM_STATE); a machine without
 *  the "acpi" device gives VERR_NOT_SUPPORTED.  Both raise a VM error. */
VMMR3DECL(int) VMR3PressPowerButton(PUVM pUVM);

/** VMR3SaveToFileEx flag: write RAM uncompressed as one page-aligned image
 *  (the "ramimage" unit, zero pages as file holes) that VMR3LoadFromFile
 *  maps copy-on-write instead of reading: a restore in milliseconds, a
 *  file as large as the guest's non-zero RAM.  See docs/saved-state-format.md
 *  for what the loaded VM then needs from the file. */
#define VMSAVE_F_RAW_RAM    UINT32_C(0x00000001)
#define VMSAVE_F_VALID_MASK UINT32_C(0x00000001)

/** VMR3Save to a file with Petrel's save flags (VMSAVE_F_*; unknown bits:
 *  VERR_INVALID_FLAGS).  Otherwise exactly VMR3Save with pszFilename set and
 *  no stream ops: same states, progress, pfSuspended and errors. */
VMMR3DECL(int) VMR3SaveToFileEx(PUVM pUVM, const char *pszFilename, uint32_t fFlags, bool fContinueAfterwards,
                                PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended);

/** A snapshot of a VM's run-time status (VMR3QueryStatus).  The name and
 *  UUID come from VMR3GetName / VMR3GetUuid. */
typedef struct VMR3STATUS {
    uint32_t cbStruct;                 /**< in: sizeof(VMR3STATUS) */
    VMSTATE  enmState;
    uint32_t cCpus;
    uint32_t uCpuExecutionCap;         /**< percent, 1..100 */
    uint64_t cbRam;                    /**< guest RAM in bytes */
    uint8_t  bMainExecutionEngine;     /**< VM_EXEC_ENGINE_* */
    bool     fPowerOffInsteadOfReset;
    uint32_t cResets;                  /**< VMGetResetCount */
    uint32_t cSoftResets;
    uint32_t cHardResets;
} VMR3STATUS;
typedef VMR3STATUS *PVMR3STATUS;

/** Fills *pStatus (pStatus->cbStruct must be sizeof(VMR3STATUS), else
 *  VERR_VERSION_MISMATCH).  Any thread, any state but DESTROYING/TERMINATED. */
VMMR3DECL(int) VMR3QueryStatus(PUVM pUVM, PVMR3STATUS pStatus);

/** The execution engine's own counters as one readable line into pszBuf
 *  (KVM: its fallbacks to the interpreter per opcode, e.g. "f0 0f c7/1: 2,
 *  cc: 3; interpreted unpaged: 92"); an empty string when the engine keeps
 *  none.  VERR_BUFFER_OVERFLOW when the text does not fit (pszBuf then holds
 *  a truncated, NUL-terminated line).  Any thread, any state but
 *  DESTROYING/TERMINATED. */
VMMR3DECL(int) VMR3QueryEngineStats(PUVM pUVM, char *pszBuf, size_t cbBuf);

RT_C_DECLS_END

#endif /* PETREL_VMM_VMAPI_H */
