/*
 * Status code names and messages: RTErrGetShort / RTErrGetFull.
 *
 * One static table lists every code in include/vmm/err.h with its name (made
 * from the macro itself, so name and value cannot drift apart) and a one-line
 * message.  Range markers and aliases (VINF_EM_FIRST, VINF_EM_LAST,
 * VERR_SSM_INTEGRITY_SIZES) are left out so a value maps to its real name.
 */
#include <stdio.h>

#include <vmm/err.h>

struct err_entry {
    int         rc;
    const char *name;
    const char *msg;
};

#define E(code, text) { code, #code, text }

static const struct err_entry err_table[] = {
    /* IPRT: misc. */
    E(VINF_SUCCESS,                         "Success"),
    E(VERR_GENERAL_FAILURE,                 "General failure"),
    E(VERR_INVALID_PARAMETER,               "Invalid parameter"),
    E(VERR_INVALID_MAGIC,                   "Invalid magic or cookie"),
    E(VERR_INVALID_HANDLE,                  "Invalid handle"),
    E(VERR_INVALID_POINTER,                 "Invalid pointer"),
    E(VERR_NO_MEMORY,                       "Memory allocation failed"),
    E(VERR_PERMISSION_DENIED,               "Permission denied"),
    E(VERR_VERSION_MISMATCH,                "Version mismatch"),
    E(VERR_NOT_IMPLEMENTED,                 "The requested function is not implemented"),
    E(VERR_INVALID_FLAGS,                   "Invalid flags were given"),
    E(VERR_NO_TMP_MEMORY,                   "Failed to allocate temporary memory"),
    E(VERR_WRONG_ORDER,                     "Incorrect call order"),
    E(VINF_ALREADY_INITIALIZED,             "Already initialized"),
    E(VERR_ALREADY_INITIALIZED,             "Already initialized"),
    E(VERR_INVALID_CONTEXT,                 "Invalid context: the API was used by the wrong thread"),
    E(VERR_ADDRESS_CONFLICT,                "Address conflict"),
    E(VERR_NOT_SUPPORTED,                   "Not supported"),
    E(VERR_ACCESS_DENIED,                   "Access denied"),
    E(VERR_INTERRUPTED,                     "The call was interrupted"),
    E(VINF_INTERRUPTED,                     "The call was interrupted"),
    E(VERR_TIMEOUT,                         "Timed out"),
    E(VINF_TIMEOUT,                         "Timed out"),
    E(VERR_BUFFER_OVERFLOW,                 "The buffer is too small to hold the result"),
    E(VINF_BUFFER_OVERFLOW,                 "The buffer is too small to hold the result"),
    E(VERR_TOO_MUCH_DATA,                   "Too much data"),
    E(VERR_STATE_CHANGED,                   "The state changed"),
    E(VERR_INVALID_UUID_FORMAT,             "The UUID string is malformed"),
    E(VERR_TRY_AGAIN,                       "Try the operation again"),
    E(VINF_TRY_AGAIN,                       "Try the operation again"),
    E(VERR_PARSE_ERROR,                     "Parse error"),
    E(VERR_OUT_OF_RANGE,                    "Value out of range"),
    E(VERR_NUMBER_TOO_BIG,                  "The number is too big for the target type"),
    E(VERR_NO_DIGITS,                       "The number contains no digits"),
    E(VERR_NEGATIVE_UNSIGNED,               "A '-' was found while converting to an unsigned value"),
    E(VERR_INVALID_UTF8_ENCODING,           "The string is not valid UTF-8"),
    E(VERR_NO_STR_MEMORY,                   "Out of memory allocating a string"),
    E(VERR_CANCELLED,                       "The operation was cancelled"),
    E(VERR_ADDRESS_TOO_BIG,                 "The address is too big"),
    E(VERR_MAP_FAILED,                      "Failed to map memory"),
    E(VERR_TRAILING_CHARS,                  "Trailing characters"),
    E(VERR_NOT_FOUND,                       "Not found"),
    E(VERR_INVALID_STATE,                   "Invalid state for this operation"),
    E(VERR_OUT_OF_RESOURCES,                "Out of resources"),
    E(VERR_NO_MORE_HANDLES,                 "No more handles available"),
    E(VERR_OBJECT_DESTROYED,                "The object was destroyed"),
    E(VERR_DUPLICATE,                       "Duplicate"),
    E(VERR_MISSING,                         "Something is missing"),

    /* IPRT: files, disks, pipes, devices. */
    E(VERR_FILE_IO_ERROR,                   "File I/O error"),
    E(VERR_OPEN_FAILED,                     "Open failed"),
    E(VERR_FILE_NOT_FOUND,                  "File not found"),
    E(VERR_PATH_NOT_FOUND,                  "Path not found"),
    E(VERR_INVALID_NAME,                    "Invalid (malformed) file or path name"),
    E(VERR_ALREADY_EXISTS,                  "Already exists"),
    E(VERR_TOO_MANY_OPEN_FILES,             "Too many open files"),
    E(VERR_SEEK,                            "Seek error"),
    E(VERR_EOF,                             "End of file"),
    E(VINF_EOF,                             "End of file"),
    E(VERR_READ_ERROR,                      "Read error"),
    E(VERR_WRITE_ERROR,                     "Write error"),
    E(VERR_WRITE_PROTECT,                   "Write protected"),
    E(VERR_SHARING_VIOLATION,               "Sharing violation: the file is used by another process"),
    E(VERR_FILE_LOCK_FAILED,                "Unable to lock a region of the file"),
    E(VERR_CANT_CREATE,                     "The file or directory cannot be created"),
    E(VERR_FILENAME_TOO_LONG,               "The file name is too long"),
    E(VERR_NOT_A_DIRECTORY,                 "Not a directory"),
    E(VERR_IS_A_DIRECTORY,                  "Is a directory"),
    E(VERR_FILE_TOO_BIG,                    "The file is too big"),
    E(VERR_RESOURCE_BUSY,                   "Device or resource busy"),
    E(VERR_NOT_A_FILE,                      "Not a file"),
    E(VERR_DISK_IO_ERROR,                   "Disk I/O error"),
    E(VERR_DISK_FULL,                       "The disk is full"),
    E(VERR_DEV_IO_ERROR,                    "Device I/O error"),
    E(VERR_BROKEN_PIPE,                     "Broken pipe"),
    E(VERR_NO_DATA,                         "No data available"),
    E(VERR_MORE_DATA,                       "More data available"),

    /* IPRT: internal processing errors. */
    E(VERR_INTERNAL_ERROR,                  "Internal error: this should never happen"),
    E(VERR_INTERNAL_ERROR_2,                "Internal error no. 2"),
    E(VERR_INTERNAL_ERROR_3,                "Internal error no. 3"),
    E(VERR_INTERNAL_ERROR_4,                "Internal error no. 4"),
    E(VERR_INTERNAL_ERROR_5,                "Internal error no. 5"),
    E(VERR_IPE_UNEXPECTED_STATUS,           "Internal error: unexpected status code"),
    E(VERR_IPE_UNEXPECTED_INFO_STATUS,      "Internal error: unexpected informational status code"),
    E(VERR_IPE_UNEXPECTED_ERROR_STATUS,     "Internal error: unexpected error status code"),
    E(VERR_IPE_UNINITIALIZED_STATUS,        "Internal error: uninitialized status code"),
    E(VERR_IPE_NOT_REACHED_DEFAULT_CASE,    "Internal error: reached a default case that should be unreachable"),

    /* IPRT: semaphores, network, loader, options. */
    E(VERR_SEM_DESTROYED,                   "The semaphore was destroyed while waiting"),
    E(VERR_DEADLOCK,                        "Deadlock detected"),
    E(VERR_NET_IO_ERROR,                    "Network I/O error"),
    E(VERR_NET_ADDRESS_IN_USE,              "Address already in use"),
    E(VERR_NET_CONNECTION_RESET_BY_PEER,    "Connection reset by peer"),
    E(VERR_NET_NOT_CONNECTED,               "The socket is not connected"),
    E(VERR_NET_CONNECTION_TIMED_OUT,        "Connection timed out"),
    E(VERR_NET_CONNECTION_REFUSED,          "Connection refused"),
    E(VERR_NET_HOST_UNREACHABLE,            "No route to host"),
    E(VERR_NET_PROTOCOL_ERROR,              "Protocol error"),
    E(VERR_INVALID_EXE_SIGNATURE,           "Invalid executable signature"),
    E(VERR_BAD_EXE_FORMAT,                  "Bad executable format"),
    E(VERR_IMAGE_TOO_BIG,                   "The image is too big"),
    E(VERR_GETOPT_UNKNOWN_OPTION,           "Unknown command line option"),
    E(VERR_GETOPT_REQUIRED_ARGUMENT_MISSING, "The command line option needs an argument"),
    E(VERR_GETOPT_INVALID_ARGUMENT_FORMAT,  "The command line option's argument is malformed"),

    /* IPRT: second range. */
    E(VERR_ZIP_ERROR,                       "Compression error"),
    E(VERR_ZIP_CORRUPTED,                   "The compressed data is corrupted"),
    E(VERR_ZIP_NO_MEMORY,                   "Out of memory while compressing or decompressing"),
    E(VERR_ZIP_UNSUPPORTED_VERSION,         "Unsupported compression format version"),
    E(VERR_ZIP_UNSUPPORTED_METHOD,          "Unsupported compression method"),
    E(VERR_ZIP_BAD_HEADER,                  "The compressed data has a bad header"),
    E(VERR_BUFFER_UNDERFLOW,                "Buffer underflow"),
    E(VERR_NOT_AVAILABLE,                   "Not available or not working properly"),
    E(VERR_ALLOCATION_TOO_BIG,              "The requested allocation is too big"),
    E(VERR_MISMATCH,                        "Mismatch"),
    E(VERR_WRONG_TYPE,                      "Wrong type"),
    E(VERR_INCOMPATIBLE_CONFIG,             "Incompatible configuration requested"),
    E(VERR_EMPTY_STRING,                    "Empty string"),

    /* VM and VMM-wide. */
    E(VERR_NO_VM_MEMORY,                    "Failed to allocate VM memory"),
    E(VERR_UNSUPPORTED_CPU,                 "Unsupported CPU"),
    E(VERR_UNSUPPORTED_CPU_MODE,            "Unsupported CPU mode"),
    E(VERR_INVALID_VM_HANDLE,               "Invalid VM handle"),
    E(VERR_INVALID_VMCPU_HANDLE,            "Invalid virtual CPU handle"),
    E(VERR_INVALID_CPU_ID,                  "Invalid virtual CPU id"),
    E(VERR_TOO_MANY_CPUS,                   "Too many virtual CPUs"),
    E(VERR_INVALID_CPU_INDEX,               "Invalid CPU index"),
    E(VERR_VM_RESTORED,                     "The VM has been restored"),
    E(VERR_NOT_SUP_BY_NEM,                  "The requested feature is not supported by the native execution engine"),

    /* EM. */
    E(VERR_EM_NO_MEMORY,                    "Out of memory while executing the guest (fatal)"),
    E(VINF_EM_RAW_INTERRUPT,                "Guest execution interrupted by a host interrupt"),
    E(VINF_EM_RAW_EMULATE_INSTR,            "The instruction must be emulated"),
    E(VINF_EM_RAW_TO_R3,                    "A ring-3 operation is pending"),
    E(VERR_EM_INTERPRETER,                  "The interpreter was unable to deal with the instruction"),
    E(VERR_EM_INTERNAL_ERROR,               "Internal execution manager error: unknown informational status code"),
    E(VERR_EM_CANNOT_EXEC_GUEST,            "The execution engine cannot execute guest code in the current state"),
    E(VERR_EM_GUEST_CPU_HANG,               "The guest tried to hang the CPU"),
    E(VINF_EM_TERMINATE,                    "The VM is being terminated: execution stops"),
    E(VINF_EM_DBG_HYPER_STEPPED,            "Hypervisor code was single-stepped"),
    E(VINF_EM_DBG_HYPER_BREAKPOINT,         "A breakpoint was hit in hypervisor code"),
    E(VINF_EM_DBG_HYPER_ASSERTION,          "An assertion was hit in hypervisor code"),
    E(VINF_EM_DBG_EVENT,                    "Debug event: suspend the VM for debugging"),
    E(VINF_EM_DBG_STOP,                     "Stop the VM for debugging"),
    E(VINF_EM_DBG_STEPPED,                  "An instruction was single-stepped"),
    E(VINF_EM_DBG_BREAKPOINT,               "A breakpoint was hit"),
    E(VINF_EM_DBG_STEP,                     "Single-step an instruction"),
    E(VINF_EM_OFF,                          "The VM is being powered off"),
    E(VINF_EM_SUSPEND,                      "The VM was suspended"),
    E(VINF_EM_RESET,                        "The VM was reset"),
    E(VINF_EM_HALT,                         "The guest executed HLT: wait for an interrupt"),
    E(VINF_EM_RESUME,                       "The VM was resumed"),
    E(VINF_EM_NO_MEMORY,                    "Out of memory while executing the guest"),
    E(VINF_EM_RESCHEDULE_REM,               "Reschedule to recompiled execution"),
    E(VINF_EM_RESCHEDULE_HM,                "Reschedule to hardware-assisted execution"),
    E(VINF_EM_RESCHEDULE_RAW,               "Reschedule to raw-mode execution"),
    E(VINF_EM_RESCHEDULE,                   "Rescheduling is required"),
    E(VINF_EM_RESCHEDULE_PARAV,             "Reschedule for a paravirtualization call"),
    E(VINF_EM_WAIT_SIPI,                    "The virtual CPU waits for a startup IPI"),
    E(VINF_EM_PENDING_REQUEST,              "A VM request is pending"),
    E(VINF_EM_TRIPLE_FAULT,                 "The guest triple faulted"),

    /* PGM, CPUM. */
    E(VERR_PGM_INVALID_GC_PHYSICAL_ADDRESS, "Invalid guest physical address"),
    E(VERR_PGM_INVALID_GC_PHYSICAL_RANGE,   "Invalid guest physical range"),
    E(VERR_PGM_RAM_CONFLICT,                "The RAM range overlaps an existing one"),
    E(VERR_PGM_PHYS_PAGE_RESERVED,          "The guest physical page is reserved or MMIO"),
    E(VERR_CPUM_RAISE_GP_0,                 "Raise #GP(0) in the guest"),
    E(VERR_CPUM_INCOMPATIBLE_CONFIG,        "Incompatible CPU configuration"),
    E(VERR_CPUM_INVALID_CONFIG_VALUE,       "Invalid CPU configuration value"),

    /* TM, TRPM, VMM, IOM. */
    E(VERR_TM_INVALID_STATE,                "The timer is in the wrong state for this operation"),
    E(VERR_TM_TOO_MANY_TIMERS,              "Too many timers"),
    E(VERR_TRPM_SHADOW_IDT_WRITE,           "The guest wrote to the shadow IDT"),
    E(VERR_TRPM_DONT_PANIC,                 "Fatal trap in the hypervisor"),
    E(VERR_TRPM_PANIC,                      "Double fault in the hypervisor"),
    E(VERR_VMM_RING0_ASSERTION,             "An assertion was hit in ring-0 code"),
    E(VERR_IOM_INVALID_IOPORT_RANGE,        "Invalid I/O port range"),
    E(VERR_IOM_IOPORT_RANGE_CONFLICT,       "The I/O port range conflicts with an existing one"),
    E(VERR_IOM_IOPORT_RANGE_NOT_FOUND,      "The I/O port range was not found"),
    E(VERR_IOM_INVALID_MMIO_RANGE,          "Invalid MMIO range"),
    E(VERR_IOM_MMIO_RANGE_CONFLICT,         "The MMIO range conflicts with an existing one"),
    E(VERR_IOM_MMIO_RANGE_NOT_FOUND,        "The MMIO range was not found"),
    E(VERR_IOM_INVALID_IOPORT_SIZE,         "Invalid I/O port access size"),
    E(VERR_IOM_IOPORT_UNUSED,               "Unused I/O port: reads return all ones"),
    E(VINF_IOM_MMIO_UNUSED_00,              "Unused MMIO register: reads return zeros"),
    E(VINF_IOM_MMIO_UNUSED_FF,              "Unused MMIO register: reads return all ones"),

    /* PDM. */
    E(VERR_PDM_NO_SUCH_LUN,                 "No such logical unit"),
    E(VERR_PDM_DEVINS_UNKNOWN_CFG_VALUES,   "The device has an unknown configuration value"),
    E(VERR_PDM_DRIVER_NOT_FOUND,            "The configured driver was not found"),
    E(VERR_PDM_DEVICE_NOT_FOUND,            "The configured device was not found"),
    E(VERR_PDM_DEVICE_INSTANCE_NOT_FOUND,   "The device instance was not found"),
    E(VERR_PDM_TOO_MANY_DEVICE_INSTANCES,   "Too many instances of a device"),

    /* VT-x, AMD-V, HM, PCI passthrough. */
    E(VERR_VMX_NO_VMX,                      "VT-x is not available"),
    E(VERR_VMX_IN_VMX_ROOT_MODE,            "The CPU was left in VMX root mode by another hypervisor"),
    E(VERR_VMX_MSR_ALL_VMX_DISABLED,        "VT-x is disabled in the BIOS for all CPU modes"),
    E(VERR_VMX_MSR_VMX_DISABLED,            "VT-x is disabled in the BIOS"),
    E(VERR_SVM_NO_SVM,                      "AMD-V is not available"),
    E(VERR_SVM_DISABLED,                    "AMD-V is disabled in the BIOS"),
    E(VERR_SVM_IN_USE,                      "AMD-V is in use by another hypervisor"),
    E(VERR_HM_CONFIG_MISMATCH,              "Conflicting hardware virtualization settings"),
    E(VERR_PCI_PASSTHROUGH_NO_RAM_PREALLOC, "PCI passthrough needs pre-allocated RAM"),
    E(VERR_PCI_PASSTHROUGH_NO_HM,           "PCI passthrough needs hardware virtualization"),
    E(VERR_PCI_PASSTHROUGH_NO_NESTED_PAGING, "PCI passthrough needs nested paging"),

    /* IEM. */
    E(VERR_IEM_INSTR_NOT_IMPLEMENTED,       "The instruction is not implemented by the interpreter"),
    E(VERR_IEM_INVALID_OPERAND_SIZE,        "Invalid operand size passed to the interpreter"),
    E(VERR_IEM_INVALID_ADDRESS_MODE,        "Invalid address mode passed to the interpreter"),
    E(VERR_IEM_ASPECT_NOT_IMPLEMENTED,      "This aspect of the instruction is not implemented by the interpreter"),
    E(VERR_IEM_IPE_1,                       "Internal interpreter error #1"),
    E(VERR_IEM_IPE_2,                       "Internal interpreter error #2"),
    E(VERR_IEM_IPE_3,                       "Internal interpreter error #3"),

    /* NEM. */
    E(VERR_NEM_NOT_ENABLED,                 "The native execution engine is not enabled"),
    E(VERR_NEM_NOT_AVAILABLE,               "The native execution engine (KVM) is not available"),
    E(VERR_NEM_INIT_FAILED,                 "The native execution engine failed to initialize"),
    E(VERR_NEM_MISSING_KERNEL_API_1,        "The host kernel lacks a required API"),
    E(VERR_NEM_VM_CREATE_FAILED,            "The native execution engine failed to create the VM"),
    E(VERR_NEM_MAP_PAGES_FAILED,            "Failed to map guest pages"),
    E(VERR_NEM_UNMAP_PAGES_FAILED,          "Failed to unmap guest pages"),
    E(VERR_NEM_GET_REGISTERS_FAILED,        "Failed to get the guest registers"),
    E(VERR_NEM_SET_REGISTERS_FAILED,        "Failed to set the guest registers"),
    E(VERR_NEM_SET_TSC,                     "Failed to set the guest TSC"),
    E(VERR_NEM_QUERY_DIRTY_BITMAP_FAILED,   "Failed to query the dirty page bitmap"),
    E(VERR_NEM_MISSING_FEATURE,             "The host hypervisor API lacks a required feature"),
    E(VERR_NEM_IPE_0,                       "Internal native execution engine error #0"),
    E(VERR_NEM_IPE_1,                       "Internal native execution engine error #1"),
    E(VERR_NEM_IPE_2,                       "Internal native execution engine error #2"),
    E(VERR_NEM_IPE_3,                       "Internal native execution engine error #3"),
    E(VERR_NEM_IPE_4,                       "Internal native execution engine error #4"),
    E(VERR_NEM_IPE_5,                       "Internal native execution engine error #5"),
    E(VERR_NEM_IPE_6,                       "Internal native execution engine error #6"),
    E(VERR_NEM_IPE_7,                       "Internal native execution engine error #7"),
    E(VERR_NEM_IPE_8,                       "Internal native execution engine error #8"),
    E(VERR_NEM_IPE_9,                       "Internal native execution engine error #9"),

    /* VM. */
    E(VERR_VM_ATRESET_NOT_FOUND,            "The at-reset handler was not found"),
    E(VERR_VM_REQUEST_INVALID_TYPE,         "Invalid VM request type"),
    E(VERR_VM_REQUEST_STATE,                "Invalid VM request state"),
    E(VERR_VM_REQUEST_INVALID_PACKAGE,      "Invalid VM request packet"),
    E(VERR_VM_REQUEST_STATUS_STILL_PENDING, "The VM request is still pending"),
    E(VERR_VM_REQUEST_STATUS_FREED,         "The VM request has been freed"),
    E(VERR_VM_THREAD_NOT_EMT,               "The API must be called on an emulation thread (EMT)"),
    E(VERR_VM_INVALID_VM_STATE,             "The VM state is invalid for the requested operation"),
    E(VERR_VM_DRIVER_NOT_INSTALLED,         "The support driver is not installed"),
    E(VERR_VM_DRIVER_NOT_ACCESSIBLE,        "The support driver is not accessible"),
    E(VERR_VM_DRIVER_LOAD_ERROR,            "The support driver could not be loaded"),
    E(VERR_VM_DRIVER_OPEN_ERROR,            "The support driver could not be opened"),
    E(VERR_VM_DRIVER_VERSION_MISMATCH,      "The support driver version does not match"),
    E(VERR_VM_SAVE_STATE_NOT_ALLOWED,       "Saving the VM state is temporarily not allowed; try again later"),
    E(VERR_VM_THREAD_IS_EMT,                "The API cannot be called on an emulation thread (EMT)"),
    E(VERR_VM_UNEXPECTED_VM_STATE,          "Unexpected VM state"),
    E(VERR_VM_UNEXPECTED_UNSTABLE_STATE,    "Unexpected unstable VM state"),
    E(VERR_VM_REQUEST_TOO_MANY_ARGS_IPE,    "Too many arguments passed to a VM request"),
    E(VERR_VM_FATAL_WAIT_ERROR,             "Fatal error while an emulation thread was waiting"),
    E(VERR_VM_REQUEST_KILLED,               "The VM request was killed because the VM is being destroyed"),

    /* SSM. */
    E(VERR_SSM_UNIT_EXISTS,                 "The saved state unit already exists"),
    E(VERR_SSM_UNIT_NOT_FOUND,              "The saved state unit was not found"),
    E(VERR_SSM_UNIT_NOT_OWNER,              "The saved state unit is not owned by the caller"),
    E(VERR_SSM_INTEGRITY,                   "Saved state integrity error"),
    E(VERR_SSM_INTEGRITY_MAGIC,             "The saved state magic was not recognized"),
    E(VERR_SSM_INTEGRITY_VERSION,           "The saved state format version is not supported"),
    E(VERR_SSM_INTEGRITY_SIZE,              "The saved state size does not match the header"),
    E(VERR_SSM_INTEGRITY_CRC,               "The saved state checksum does not match"),
    E(VERR_SSM_INTEGRITY_HEADER,            "Saved state header integrity error"),
    E(VERR_SSM_INTEGRITY_UNIT,              "Saved state unit header integrity error"),
    E(VERR_SSM_INTEGRITY_UNIT_MAGIC,        "Invalid saved state unit magic"),
    E(VERR_SSM_INTEGRITY_UNIT_NOT_FOUND,    "The saved state contains a unit nobody wants"),
    E(VERR_SSM_INTEGRITY_VBOX_VERSION,      "Incorrect version numbers in the saved state header"),
    E(VERR_SSM_INTEGRITY_FOOTER,            "Saved state footer integrity error"),
    E(VERR_SSM_INTEGRITY_REC_HDR,           "Saved state record header integrity error"),
    E(VERR_SSM_INTEGRITY_REC_TERM,          "Saved state termination record integrity error"),
    E(VERR_SSM_INTEGRITY_REC_TERM_CRC,      "Saved state termination record checksum mismatch"),
    E(VERR_SSM_INTEGRITY_DECOMPRESSION,     "Saved state decompression integrity error"),
    E(VERR_SSM_INTEGRITY_DIR,               "Saved state directory integrity error"),
    E(VERR_SSM_INTEGRITY_DIR_MAGIC,         "Invalid saved state directory magic"),
    E(VERR_SSM_NO_LOAD_EXEC,                "A saved state unit has no load routine"),
    E(VERR_SSM_LOADED_TOO_MUCH,             "A load routine read more data than the unit holds"),
    E(VERR_SSM_INVALID_STATE,               "The saved state operation is in the wrong state"),
    E(VERR_SSM_LOADED_TOO_LITTLE,           "A load routine left unread data in the unit"),
    E(VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION, "Unsupported saved state unit version"),
    E(VERR_SSM_DATA_UNIT_FORMAT_CHANGED,    "The format of a saved state unit has changed"),
    E(VERR_SSM_LOAD_CPUID_MISMATCH,         "The saved state was made on a CPU with different features"),
    E(VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH,   "The RAM size of the saved state differs from the VM configuration"),
    E(VERR_SSM_LOAD_CONFIG_MISMATCH,        "The saved state does not match the VM configuration"),
    E(VERR_SSM_VIRTUAL_CLOCK_HZ,            "The virtual clock frequency differs too much"),
    E(VERR_SSM_STRUCTURE_MAGIC,             "A structure magic in the saved state is wrong"),
    E(VERR_SSM_UNEXPECTED_DATA,             "The saved state data does not conform to expectations"),
    E(VINF_SSM_VOTE_FOR_ANOTHER_PASS,       "Vote for another live save pass"),
    E(VINF_SSM_VOTE_DONE_DONT_CALL_AGAIN,   "Vote done: do not call again until the final pass"),
    E(VERR_SSM_VOTE_FOR_GIVING_UP,          "Vote for giving up the live save"),
    E(VINF_SSM_DONT_CALL_AGAIN,             "Do not call again until the final pass"),
    E(VERR_SSM_TOO_MANY_PASSES,             "Live save gave up after too many passes"),
    E(VERR_SSM_STATE_GREW_TOO_BIG,          "Live save gave up because the state grew too big"),
    E(VERR_SSM_LOW_ON_DISK_SPACE,           "Live save gave up because the disk is nearly full"),
    E(VERR_SSM_CANCELLED,                   "The saved state operation was cancelled"),
    E(VERR_SSM_NO_PENDING_OPERATION,        "There is no saved state operation to cancel"),
    E(VERR_SSM_ALREADY_CANCELLED,           "The saved state operation was already cancelled"),
    E(VERR_SSM_LIVE_POWERED_OFF,            "The VM was powered off during the live save"),
    E(VERR_SSM_LIVE_GURU_MEDITATION,        "The live save was aborted by a guru meditation"),
    E(VERR_SSM_LIVE_FATAL_ERROR,            "The live save was aborted by a fatal runtime error"),
    E(VINF_SSM_LIVE_SUSPENDED,              "The VM was suspended during the save: do not resume it"),
    E(VERR_SSM_FIELD_COMPLEX,               "A complex saved state field needs the extended API"),
    E(VERR_SSM_STREAM_ERROR,                "Saved state stream error"),
    E(VERR_SSM_UNEXPECTED_PASS,             "Unexpected live save pass"),
    E(VERR_SSM_SKIP_BACKWARDS,              "Attempt to skip backwards in the saved state stream"),
    E(VERR_SSM_MEM_TOO_BIG,                 "The memory block is too big to encode"),
    E(VERR_SSM_BAD_REC_TYPE,                "Bad saved state record type"),
    E(VERR_SSM_IPE_1,                       "Internal saved state error #1"),
    E(VERR_SSM_IPE_2,                       "Internal saved state error #2"),
    E(VERR_SSM_IPE_3,                       "Internal saved state error #3"),

    /* CFGM. */
    E(VERR_CFGM_INTEGER_TOO_BIG,            "The configuration integer is too big for the requested type"),
    E(VERR_CFGM_CHILD_NOT_FOUND,            "The configuration node was not found"),
    E(VERR_CFGM_INVALID_CHILD_PATH,         "Invalid (empty) configuration path or value name"),
    E(VERR_CFGM_VALUE_NOT_FOUND,            "The configuration value was not found"),
    E(VERR_CFGM_NO_PARENT,                  "No parent configuration node was given"),
    E(VERR_CFGM_NO_NODE,                    "No configuration node was given"),
    E(VERR_CFGM_NOT_INTEGER,                "The configuration value is not an integer"),
    E(VERR_CFGM_NOT_STRING,                 "The configuration value is not a string"),
    E(VERR_CFGM_NOT_BYTES,                  "The configuration value is not a byte string"),
    E(VERR_CFGM_NOT_ENOUGH_SPACE,           "The buffer is too small for the configuration value"),
    E(VERR_CFGM_NOT_PASSWORD,               "The configuration value is not a password"),
    E(VERR_CFGM_INVALID_NODE_PATH,          "Invalid (empty) path for a new configuration node"),
    E(VERR_CFGM_NODE_EXISTS,                "A configuration node with that name already exists"),
    E(VERR_CFGM_LEAF_EXISTS,                "A configuration value with that name already exists"),
    E(VERR_CFGM_CONFIG_UNKNOWN_VALUE,       "Unknown configuration value"),
    E(VERR_CFGM_CONFIG_UNKNOWN_NODE,        "Unknown configuration node"),
    E(VERR_CFGM_IPE_1,                      "Internal configuration tree error #1"),
};

#undef E

static const struct err_entry *err_lookup(int rc)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].rc == rc)
            return &err_table[i];
    return NULL;
}

/* A few rotating per-thread buffers, so that two unknown codes can be
 * formatted in one printf() without the second overwriting the first. */
static const char *err_unknown(int rc)
{
    static _Thread_local char bufs[4][64];
    static _Thread_local unsigned next;
    char *buf = bufs[next++ % 4];

    snprintf(buf, sizeof(bufs[0]), "Unknown Status %d (%#x)", rc, (unsigned)rc);
    return buf;
}

DECLEXPORT(const char *) RTErrGetShort(int rc)
{
    const struct err_entry *e = err_lookup(rc);
    return e ? e->name : err_unknown(rc);
}

DECLEXPORT(const char *) RTErrGetFull(int rc)
{
    const struct err_entry *e = err_lookup(rc);
    return e ? e->msg : err_unknown(rc);
}
