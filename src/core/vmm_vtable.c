/*
 * The VMM function table (VMMR3VTABLE) handed to front ends, at-state
 * callbacks, CFGM constructors and plug-ins, so that they can call the VMM
 * without linking against it.  The layout is vmm.h's: VirtualBox's header and
 * VM section, then the configuration functions.
 */
#include <vmm/vmm.h>

static const VMMR3VTABLE vmm_vtable = {
    .uMagicVersion   = VMMR3VTABLE_MAGIC_VERSION,
    .fFlags          = 0,
    .pszDescription  = "x86 & amd64",

    /* VM section. */
    .pfnVMR3Create                          = VMR3Create,
    .pfnVMR3PowerOn                         = VMR3PowerOn,
    .pfnVMR3Suspend                         = VMR3Suspend,
    .pfnVMR3GetSuspendReason                = VMR3GetSuspendReason,
    .pfnVMR3Resume                          = VMR3Resume,
    .pfnVMR3GetResumeReason                 = VMR3GetResumeReason,
    .pfnVMR3Reset                           = VMR3Reset,
    .pfnVMR3Save                            = VMR3Save,
    .pfnVMR3Teleport                        = VMR3Teleport,
    .pfnVMR3LoadFromFile                    = VMR3LoadFromFile,
    .pfnVMR3LoadFromStream                  = VMR3LoadFromStream,
    .pfnVMR3PowerOff                        = VMR3PowerOff,
    .pfnVMR3Destroy                         = VMR3Destroy,
    .pfnVMR3GetVM                           = VMR3GetVM,
    .pfnVMR3GetUVM                          = VMR3GetUVM,
    .pfnVMR3RetainUVM                       = VMR3RetainUVM,
    .pfnVMR3ReleaseUVM                      = VMR3ReleaseUVM,
    .pfnVMR3GetName                         = VMR3GetName,
    .pfnVMR3GetUuid                         = VMR3GetUuid,
    .pfnVMR3GetState                        = VMR3GetState,
    .pfnVMR3GetStateU                       = VMR3GetStateU,
    .pfnVMR3GetStateName                    = VMR3GetStateName,
    .pfnVMR3AtStateRegister                 = VMR3AtStateRegister,
    .pfnVMR3AtStateDeregister               = VMR3AtStateDeregister,
    .pfnVMR3AtErrorRegister                 = VMR3AtErrorRegister,
    .pfnVMR3AtErrorDeregister               = VMR3AtErrorDeregister,
    .pfnVMR3SetError                        = VMR3SetError,
    .pfnVMR3SetErrorV                       = VMR3SetErrorV,
    .pfnVMR3AtRuntimeErrorRegister          = VMR3AtRuntimeErrorRegister,
    .pfnVMR3AtRuntimeErrorDeregister        = VMR3AtRuntimeErrorDeregister,
    .pfnVMR3ReqCallU                        = VMR3ReqCallU,
    .pfnVMR3ReqCallVU                       = VMR3ReqCallVU,
    .pfnVMR3ReqCallWaitU                    = VMR3ReqCallWaitU,
    .pfnVMR3ReqCallNoWait                   = VMR3ReqCallNoWait,
    .pfnVMR3ReqCallNoWaitU                  = VMR3ReqCallNoWaitU,
    .pfnVMR3ReqCallVoidWaitU                = VMR3ReqCallVoidWaitU,
    .pfnVMR3ReqCallVoidNoWait               = VMR3ReqCallVoidNoWait,
    .pfnVMR3ReqPriorityCallWait             = VMR3ReqPriorityCallWait,
    .pfnVMR3ReqPriorityCallWaitU            = VMR3ReqPriorityCallWaitU,
    .pfnVMR3ReqPriorityCallVoidWaitU        = VMR3ReqPriorityCallVoidWaitU,
    .pfnVMR3ReqAlloc                        = VMR3ReqAlloc,
    .pfnVMR3ReqFree                         = VMR3ReqFree,
    .pfnVMR3ReqQueue                        = VMR3ReqQueue,
    .pfnVMR3ReqWait                         = VMR3ReqWait,
    .pfnVMR3NotifyCpuDeviceReady            = VMR3NotifyCpuDeviceReady,
    .pfnVMR3WaitForDeviceReady              = VMR3WaitForDeviceReady,
    .pfnVMR3GetVMCPUThread                  = VMR3GetVMCPUThread,
    .pfnVMR3GetVMCPUNativeThread            = VMR3GetVMCPUNativeThread,
    .pfnVMR3GetVMCPUNativeThreadU           = VMR3GetVMCPUNativeThreadU,
    .pfnVMR3GetCpuCoreAndPackageIdFromCpuId = VMR3GetCpuCoreAndPackageIdFromCpuId,
    .pfnVMR3HotUnplugCpu                    = VMR3HotUnplugCpu,
    .pfnVMR3HotPlugCpu                      = VMR3HotPlugCpu,
    .pfnVMR3SetCpuExecutionCap              = VMR3SetCpuExecutionCap,
    .pfnVMR3SetPowerOffInsteadOfReset       = VMR3SetPowerOffInsteadOfReset,

    /* Configuration section. */
    .pfnCFGMR3ConstructDefaultTree          = CFGMR3ConstructDefaultTree,
    .pfnCFGMR3GetRoot                       = CFGMR3GetRoot,
    .pfnCFGMR3GetRootU                      = CFGMR3GetRootU,
    .pfnCFGMR3GetChild                      = CFGMR3GetChild,
    .pfnCFGMR3InsertNode                    = CFGMR3InsertNode,
    .pfnCFGMR3InsertInteger                 = CFGMR3InsertInteger,
    .pfnCFGMR3InsertString                  = CFGMR3InsertString,
    .pfnCFGMR3InsertBytes                   = CFGMR3InsertBytes,
    .pfnCFGMR3RemoveValue                   = CFGMR3RemoveValue,
    .pfnCFGMR3QueryInteger                  = CFGMR3QueryInteger,
    .pfnCFGMR3QueryString                   = CFGMR3QueryString,
    .pfnCFGMR3QueryBytes                    = CFGMR3QueryBytes,

    .uMagicVersionEnd = VMMR3VTABLE_MAGIC_VERSION,
};

VMMR3DECL(PCVMMR3VTABLE) VMMR3GetVTable(void)
{
    return &vmm_vtable;
}
