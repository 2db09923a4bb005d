/*
 * Petrel public API: the front end's method table (VMM2USERMETHODS) and the
 * VMM function table (VMMR3VTABLE) handed to callbacks and plug-in code.
 */
#ifndef PETREL_VMM_VMM_H
#define PETREL_VMM_VMM_H

#include "types.h"
#include "vmapi.h"
#include "cfgm.h"
#include "ssm.h"

RT_C_DECLS_BEGIN

#define VMM2USERMETHODS_MAGIC   UINT32_C(0x18830703)
#define VMM2USERMETHODS_VERSION UINT32_C(0x00030000)

/** Optional callbacks from the VMM to its front end.  The table is stored,
 *  not copied: it must live as long as the VM. */
struct VMM2USERMETHODS {
    uint32_t u32Magic;
    uint32_t u32Version;
    DECLCALLBACKPTR(int,  pfnSaveState, (PCVMM2USERMETHODS pThis, PUVM pUVM));
    DECLCALLBACKPTR(void, pfnNotifyEmtInit, (PCVMM2USERMETHODS pThis, PUVM pUVM, PUVMCPU pUVCpu));
    DECLCALLBACKPTR(void, pfnNotifyEmtTerm, (PCVMM2USERMETHODS pThis, PUVM pUVM, PUVMCPU pUVCpu));
    DECLCALLBACKPTR(void, pfnNotifyPdmtInit, (PCVMM2USERMETHODS pThis, PUVM pUVM));
    DECLCALLBACKPTR(void, pfnNotifyPdmtTerm, (PCVMM2USERMETHODS pThis, PUVM pUVM));
    DECLCALLBACKPTR(void, pfnNotifyResetTurnedIntoPowerOff, (PCVMM2USERMETHODS pThis, PUVM pUVM));
    DECLCALLBACKPTR(void *, pfnQueryGenericObject, (PCVMM2USERMETHODS pThis, PUVM pUVM, PCRTUUID pUuid));
    uint32_t u32EndMagic;
};
typedef VMM2USERMETHODS *PVMM2USERMETHODS;

#define VMMR3VTABLE_MAGIC_VERSION       RT_MAKE_U64(0x19900525, 0x00030000)
#define VMMR3VTABLE_MAGIC_VERSION_MASK  UINT64_C(0xffff0000ffffffff)
/** True if a client built for table version `client` may use table `table`. */
#define VMMR3VTABLE_IS_COMPATIBLE_EX(table, client) \
    ((table) >= (client) && ((table) & VMMR3VTABLE_MAGIC_VERSION_MASK) == ((client) & VMMR3VTABLE_MAGIC_VERSION_MASK))
#define VMMR3VTABLE_IS_COMPATIBLE(table) VMMR3VTABLE_IS_COMPATIBLE_EX(table, VMMR3VTABLE_MAGIC_VERSION)

/*
 * The function table.  Petrel keeps VirtualBox's header and its VM section
 * (same functions, same order), followed by the configuration functions.
 * It does not reproduce the slots of VirtualBox components Petrel does not
 * have (STAM, DBGF, PGM, ...), so it is source- but not binary-compatible
 * with programs built against VirtualBox's table.
 */
struct VMMR3VTABLE {
    uint64_t    uMagicVersion;
    uint64_t    fFlags;
    const char *pszDescription;

    /* VM section, in VirtualBox's order. */
    DECLCALLBACKPTR(int, pfnVMR3Create, (uint32_t cCpus, PCVMM2USERMETHODS pVm2UserCbs, PFNVMATERROR pfnVMAtError, void *pvUserVM,
                                         PFNCFGMCONSTRUCTOR pfnCFGMConstructor, void *pvUserCFGM, PVM *ppVM, PUVM *ppUVM));
    DECLCALLBACKPTR(int, pfnVMR3PowerOn, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3Suspend, (PUVM pUVM, VMSUSPENDREASON enmReason));
    DECLCALLBACKPTR(VMSUSPENDREASON, pfnVMR3GetSuspendReason, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3Resume, (PUVM pUVM, VMRESUMEREASON enmReason));
    DECLCALLBACKPTR(VMRESUMEREASON, pfnVMR3GetResumeReason, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3Reset, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3Save, (PUVM pUVM, const char *pszFilename, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                       bool fContinueAfterwards, PFNVMPROGRESS pfnProgress, void *pvUser, bool *pfSuspended));
    DECLCALLBACKPTR(int, pfnVMR3Teleport, (PUVM pUVM, uint32_t cMsDowntime, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                           PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool *pfSuspended));
    DECLCALLBACKPTR(int, pfnVMR3LoadFromFile, (PUVM pUVM, const char *pszFilename, PFNVMPROGRESS pfnProgress, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3LoadFromStream, (PUVM pUVM, PCSSMSTRMOPS pStreamOps, void *pvStreamOpsUser,
                                                 PFNVMPROGRESS pfnProgress, void *pvProgressUser, bool fTeleporting));
    DECLCALLBACKPTR(int, pfnVMR3PowerOff, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3Destroy, (PUVM pUVM));
    DECLCALLBACKPTR(PVM, pfnVMR3GetVM, (PUVM pUVM));
    DECLCALLBACKPTR(PUVM, pfnVMR3GetUVM, (PVM pVM));
    DECLCALLBACKPTR(uint32_t, pfnVMR3RetainUVM, (PUVM pUVM));
    DECLCALLBACKPTR(uint32_t, pfnVMR3ReleaseUVM, (PUVM pUVM));
    DECLCALLBACKPTR(const char *, pfnVMR3GetName, (PUVM pUVM));
    DECLCALLBACKPTR(PRTUUID, pfnVMR3GetUuid, (PUVM pUVM, PRTUUID pUuid));
    DECLCALLBACKPTR(VMSTATE, pfnVMR3GetState, (PVM pVM));
    DECLCALLBACKPTR(VMSTATE, pfnVMR3GetStateU, (PUVM pUVM));
    DECLCALLBACKPTR(const char *, pfnVMR3GetStateName, (VMSTATE enmState));
    DECLCALLBACKPTR(int, pfnVMR3AtStateRegister, (PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3AtStateDeregister, (PUVM pUVM, PFNVMATSTATE pfnAtState, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3AtErrorRegister, (PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3AtErrorDeregister, (PUVM pUVM, PFNVMATERROR pfnAtError, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3SetError, (PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, ...));
    DECLCALLBACKPTR(int, pfnVMR3SetErrorV, (PUVM pUVM, int rc, RT_SRC_POS_DECL, const char *pszFormat, va_list va));
    DECLCALLBACKPTR(int, pfnVMR3AtRuntimeErrorRegister, (PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3AtRuntimeErrorDeregister, (PUVM pUVM, PFNVMATRUNTIMEERROR pfnAtRuntimeError, void *pvUser));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallU, (PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies, uint32_t fFlags,
                                           PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallVU, (PUVM pUVM, VMCPUID idDstCpu, PVMREQ *ppReq, RTMSINTERVAL cMillies, uint32_t fFlags,
                                            PFNRT pfnFunction, unsigned cArgs, va_list Args));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallWaitU, (PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallNoWait, (PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallNoWaitU, (PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallVoidWaitU, (PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqCallVoidNoWait, (PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqPriorityCallWait, (PVM pVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqPriorityCallWaitU, (PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqPriorityCallVoidWaitU, (PUVM pUVM, VMCPUID idDstCpu, PFNRT pfnFunction, unsigned cArgs, ...));
    DECLCALLBACKPTR(int, pfnVMR3ReqAlloc, (PUVM pUVM, PVMREQ *ppReq, VMREQTYPE enmType, VMCPUID idDstCpu));
    DECLCALLBACKPTR(int, pfnVMR3ReqFree, (PVMREQ pReq));
    DECLCALLBACKPTR(int, pfnVMR3ReqQueue, (PVMREQ pReq, RTMSINTERVAL cMillies));
    DECLCALLBACKPTR(int, pfnVMR3ReqWait, (PVMREQ pReq, RTMSINTERVAL cMillies));
    DECLCALLBACKPTR(int, pfnVMR3NotifyCpuDeviceReady, (PVM pVM, VMCPUID idCpu));
    DECLCALLBACKPTR(int, pfnVMR3WaitForDeviceReady, (PVM pVM, VMCPUID idCpu));
    DECLCALLBACKPTR(RTTHREAD, pfnVMR3GetVMCPUThread, (PUVM pUVM));
    DECLCALLBACKPTR(RTNATIVETHREAD, pfnVMR3GetVMCPUNativeThread, (PVM pVM));
    DECLCALLBACKPTR(RTNATIVETHREAD, pfnVMR3GetVMCPUNativeThreadU, (PUVM pUVM));
    DECLCALLBACKPTR(int, pfnVMR3GetCpuCoreAndPackageIdFromCpuId, (PUVM pUVM, VMCPUID idCpu, uint32_t *pidCpuCore, uint32_t *pidCpuPackage));
    DECLCALLBACKPTR(int, pfnVMR3HotUnplugCpu, (PUVM pUVM, VMCPUID idCpu));
    DECLCALLBACKPTR(int, pfnVMR3HotPlugCpu, (PUVM pUVM, VMCPUID idCpu));
    DECLCALLBACKPTR(int, pfnVMR3SetCpuExecutionCap, (PUVM pUVM, uint32_t uCpuExecutionCap));
    DECLCALLBACKPTR(int, pfnVMR3SetPowerOffInsteadOfReset, (PUVM pUVM, bool fPowerOffInsteadOfReset));

    /* Configuration (CFGM) section: what constructors and plug-ins use. */
    DECLCALLBACKPTR(int, pfnCFGMR3ConstructDefaultTree, (PVM pVM));
    DECLCALLBACKPTR(PCFGMNODE, pfnCFGMR3GetRoot, (PVM pVM));
    DECLCALLBACKPTR(PCFGMNODE, pfnCFGMR3GetRootU, (PUVM pUVM));
    DECLCALLBACKPTR(PCFGMNODE, pfnCFGMR3GetChild, (PCFGMNODE pNode, const char *pszPath));
    DECLCALLBACKPTR(int, pfnCFGMR3InsertNode, (PCFGMNODE pNode, const char *pszName, PCFGMNODE *ppChild));
    DECLCALLBACKPTR(int, pfnCFGMR3InsertInteger, (PCFGMNODE pNode, const char *pszName, uint64_t u64Integer));
    DECLCALLBACKPTR(int, pfnCFGMR3InsertString, (PCFGMNODE pNode, const char *pszName, const char *pszString));
    DECLCALLBACKPTR(int, pfnCFGMR3InsertBytes, (PCFGMNODE pNode, const char *pszName, const void *pvBytes, size_t cbBytes));
    DECLCALLBACKPTR(int, pfnCFGMR3RemoveValue, (PCFGMNODE pNode, const char *pszName));
    DECLCALLBACKPTR(int, pfnCFGMR3QueryInteger, (PCFGMNODE pNode, const char *pszName, uint64_t *pu64));
    DECLCALLBACKPTR(int, pfnCFGMR3QueryString, (PCFGMNODE pNode, const char *pszName, char *pszString, size_t cchString));
    DECLCALLBACKPTR(int, pfnCFGMR3QueryBytes, (PCFGMNODE pNode, const char *pszName, void *pvData, size_t cbData));

    uint64_t uMagicVersionEnd;
};

/** The VMM's function table (never NULL). */
VMMR3DECL(PCVMMR3VTABLE) VMMR3GetVTable(void);

RT_C_DECLS_END

#endif /* PETREL_VMM_VMM_H */
