/*
 * Petrel public API: status codes.
 *
 * A status is an int: >= 0 is success (positive values are informational
 * successes), < 0 is failure.  Names and values are VirtualBox's (IPRT's
 * include/iprt/err.h and VirtualBox's include/VBox/err.h), so code that tests
 * RT_SUCCESS/RT_FAILURE or compares against a named code works.  Every value
 * here was checked against those headers; RTErrGetShort/RTErrGetFull know
 * every code defined here.
 */
#ifndef PETREL_VMM_ERR_H
#define PETREL_VMM_ERR_H

#include "types.h"

#define RT_SUCCESS(rc)      ((int)(rc) >= 0)
#define RT_FAILURE(rc)      ((int)(rc) < 0)
#define RT_SUCCESS_NP(rc)   RT_SUCCESS(rc)
#define RT_FAILURE_NP(rc)   RT_FAILURE(rc)

/* Generic (IPRT) codes: misc. */
#define VINF_SUCCESS                        0
#define VERR_GENERAL_FAILURE                (-1)
#define VERR_INVALID_PARAMETER              (-2)
#define VERR_INVALID_MAGIC                  (-3)
#define VERR_INVALID_HANDLE                 (-4)
#define VERR_INVALID_POINTER                (-6)
#define VERR_NO_MEMORY                      (-8)
#define VERR_PERMISSION_DENIED              (-10)
#define VERR_VERSION_MISMATCH               (-11)
#define VERR_NOT_IMPLEMENTED                (-12)
#define VERR_INVALID_FLAGS                  (-13)
#define VERR_NO_TMP_MEMORY                  (-20)
#define VERR_WRONG_ORDER                    (-22)
#define VINF_ALREADY_INITIALIZED            28
#define VERR_ALREADY_INITIALIZED            (-28)
#define VERR_INVALID_CONTEXT                (-32)
#define VERR_ADDRESS_CONFLICT               (-34)
#define VERR_NOT_SUPPORTED                  (-37)
#define VERR_ACCESS_DENIED                  (-38)
#define VERR_INTERRUPTED                    (-39)
#define VINF_INTERRUPTED                    39
#define VERR_TIMEOUT                        (-40)
#define VINF_TIMEOUT                        40
#define VERR_BUFFER_OVERFLOW                (-41)
#define VINF_BUFFER_OVERFLOW                41
#define VERR_TOO_MUCH_DATA                  (-42)
#define VERR_STATE_CHANGED                  (-48)
#define VERR_INVALID_UUID_FORMAT            (-49)
#define VERR_TRY_AGAIN                      (-52)
#define VINF_TRY_AGAIN                      52
#define VERR_PARSE_ERROR                    (-53)
#define VERR_OUT_OF_RANGE                   (-54)
#define VERR_NUMBER_TOO_BIG                 (-55)
#define VERR_NO_DIGITS                      (-56)
#define VERR_NEGATIVE_UNSIGNED              (-57)
#define VERR_INVALID_UTF8_ENCODING          (-61)
#define VERR_NO_STR_MEMORY                  (-64)
#define VERR_CANCELLED                      (-70)
#define VERR_ADDRESS_TOO_BIG                (-74)
#define VERR_MAP_FAILED                     (-75)
#define VERR_TRAILING_CHARS                 (-76)
#define VERR_NOT_FOUND                      (-78)
#define VERR_INVALID_STATE                  (-79)
#define VERR_OUT_OF_RESOURCES               (-80)
#define VERR_NO_MORE_HANDLES                (-81)
#define VERR_OBJECT_DESTROYED               (-85)
#define VERR_DUPLICATE                      (-98)
#define VERR_MISSING                        (-99)

/* Generic (IPRT) codes: files, disks, pipes, devices. */
#define VERR_FILE_IO_ERROR                  (-100)
#define VERR_OPEN_FAILED                    (-101)
#define VERR_FILE_NOT_FOUND                 (-102)
#define VERR_PATH_NOT_FOUND                 (-103)
#define VERR_INVALID_NAME                   (-104)
#define VERR_ALREADY_EXISTS                 (-105)
#define VERR_TOO_MANY_OPEN_FILES            (-106)
#define VERR_SEEK                           (-107)
#define VERR_EOF                            (-110)
#define VINF_EOF                            110
#define VERR_READ_ERROR                     (-111)
#define VERR_WRITE_ERROR                    (-112)
#define VERR_WRITE_PROTECT                  (-113)
#define VERR_SHARING_VIOLATION              (-114)
#define VERR_FILE_LOCK_FAILED               (-115)
#define VERR_CANT_CREATE                    (-117)
#define VERR_FILENAME_TOO_LONG              (-120)
#define VERR_NOT_A_DIRECTORY                (-126)
#define VERR_IS_A_DIRECTORY                 (-127)
#define VERR_FILE_TOO_BIG                   (-128)
#define VERR_RESOURCE_BUSY                  (-138)
#define VERR_NOT_A_FILE                     (-139)
#define VERR_DISK_IO_ERROR                  (-150)
#define VERR_DISK_FULL                      (-152)
#define VERR_DEV_IO_ERROR                   (-250)
#define VERR_BROKEN_PIPE                    (-301)
#define VERR_NO_DATA                        (-304)
#define VERR_MORE_DATA                      (-306)

/* Generic (IPRT) codes: internal processing errors. */
#define VERR_INTERNAL_ERROR                 (-225)
#define VERR_INTERNAL_ERROR_2               (-226)
#define VERR_INTERNAL_ERROR_3               (-227)
#define VERR_INTERNAL_ERROR_4               (-228)
#define VERR_INTERNAL_ERROR_5               (-229)
#define VERR_IPE_UNEXPECTED_STATUS          (-230)
#define VERR_IPE_UNEXPECTED_INFO_STATUS     (-231)
#define VERR_IPE_UNEXPECTED_ERROR_STATUS    (-232)
#define VERR_IPE_UNINITIALIZED_STATUS       (-233)
#define VERR_IPE_NOT_REACHED_DEFAULT_CASE   (-234)

/* Generic (IPRT) codes: semaphores, network, loader, options. */
#define VERR_SEM_DESTROYED                  (-363)
#define VERR_DEADLOCK                       (-365)
#define VERR_NET_IO_ERROR                   (-400)
#define VERR_NET_ADDRESS_IN_USE             (-448)
#define VERR_NET_CONNECTION_RESET_BY_PEER   (-454)
#define VERR_NET_NOT_CONNECTED              (-457)
#define VERR_NET_CONNECTION_TIMED_OUT       (-460)
#define VERR_NET_CONNECTION_REFUSED         (-461)
#define VERR_NET_HOST_UNREACHABLE           (-465)
#define VERR_NET_PROTOCOL_ERROR             (-466)
#define VERR_INVALID_EXE_SIGNATURE          (-600)
#define VERR_BAD_EXE_FORMAT                 (-608)
#define VERR_IMAGE_TOO_BIG                  (-612)
#define VERR_GETOPT_UNKNOWN_OPTION          (-825)
#define VERR_GETOPT_REQUIRED_ARGUMENT_MISSING (-826)
#define VERR_GETOPT_INVALID_ARGUMENT_FORMAT (-827)

/* Generic (IPRT) codes: second range (compression, misc.). */
#define VERR_ZIP_ERROR                      (-22000)
#define VERR_ZIP_CORRUPTED                  (-22001)
#define VERR_ZIP_NO_MEMORY                  (-22002)
#define VERR_ZIP_UNSUPPORTED_VERSION        (-22003)
#define VERR_ZIP_UNSUPPORTED_METHOD         (-22004)
#define VERR_ZIP_BAD_HEADER                 (-22005)
#define VERR_BUFFER_UNDERFLOW               (-22401)
#define VERR_NOT_AVAILABLE                  (-22403)
#define VERR_ALLOCATION_TOO_BIG             (-22407)
#define VERR_MISMATCH                       (-22408)
#define VERR_WRONG_TYPE                     (-22409)
#define VERR_INCOMPATIBLE_CONFIG            (-22420)
#define VERR_EMPTY_STRING                   (-22422)

/* VM and VMM-wide codes. */
#define VERR_NO_VM_MEMORY                   (-1000)
#define VERR_UNSUPPORTED_CPU                (-1002)
#define VERR_UNSUPPORTED_CPU_MODE           (-1003)
#define VERR_INVALID_VM_HANDLE              (-1016)
#define VERR_INVALID_VMCPU_HANDLE           (-1017)
#define VERR_INVALID_CPU_ID                 (-1018)
#define VERR_TOO_MANY_CPUS                  (-1019)
#define VERR_INVALID_CPU_INDEX              (-1022)
#define VERR_VM_RESTORED                    (-1025)
#define VERR_NOT_SUP_BY_NEM                 (-1026)

/* Execution manager codes (the scheduling range follows below). */
#define VERR_EM_NO_MEMORY                   (-1114)
#define VINF_EM_RAW_INTERRUPT               1122
#define VINF_EM_RAW_EMULATE_INSTR           1127
#define VINF_EM_RAW_TO_R3                   1135
#define VERR_EM_INTERPRETER                 (-1148)
#define VERR_EM_INTERNAL_ERROR              (-1149)
#define VERR_EM_CANNOT_EXEC_GUEST           (-1156)
#define VERR_EM_GUEST_CPU_HANG              (-1158)

/* Page manager (PGM) and CPU manager (CPUM) codes. */
#define VERR_PGM_INVALID_GC_PHYSICAL_ADDRESS (-1605)
#define VERR_PGM_INVALID_GC_PHYSICAL_RANGE  (-1606)
#define VERR_PGM_RAM_CONFLICT               (-1608)
#define VERR_PGM_PHYS_PAGE_RESERVED         (-1618)
#define VERR_CPUM_RAISE_GP_0                (-1750)
#define VERR_CPUM_INCOMPATIBLE_CONFIG       (-1751)
#define VERR_CPUM_INVALID_CONFIG_VALUE      (-1761)

/* Time manager (TM), trap manager (TRPM), VMM, I/O manager (IOM) codes. */
#define VERR_TM_INVALID_STATE               (-2201)
#define VERR_TM_TOO_MANY_TIMERS             (-2212)
#define VERR_TRPM_SHADOW_IDT_WRITE          (-2402)
#define VERR_TRPM_DONT_PANIC                (-2403)
#define VERR_TRPM_PANIC                     (-2404)
#define VERR_VMM_RING0_ASSERTION            (-2701)
#define VERR_IOM_INVALID_IOPORT_RANGE       (-2600)
#define VERR_IOM_IOPORT_RANGE_CONFLICT      (-2602)
#define VERR_IOM_IOPORT_RANGE_NOT_FOUND     (-2603)
#define VERR_IOM_INVALID_MMIO_RANGE         (-2605)
#define VERR_IOM_MMIO_RANGE_CONFLICT        (-2608)
#define VERR_IOM_MMIO_RANGE_NOT_FOUND       (-2609)
#define VERR_IOM_INVALID_IOPORT_SIZE        (-2611)
#define VERR_IOM_IOPORT_UNUSED              (-2614)
#define VINF_IOM_MMIO_UNUSED_00             2615
#define VINF_IOM_MMIO_UNUSED_FF             2616

/* Device and driver manager (PDM) codes. */
#define VERR_PDM_NO_SUCH_LUN                (-2800)
#define VERR_PDM_DEVINS_UNKNOWN_CFG_VALUES  (-2801)
#define VERR_PDM_DRIVER_NOT_FOUND           (-2823)
#define VERR_PDM_DEVICE_NOT_FOUND           (-2840)
#define VERR_PDM_DEVICE_INSTANCE_NOT_FOUND  (-2841)
#define VERR_PDM_TOO_MANY_DEVICE_INSTANCES  (-2867)

/* Hardware virtualization (VT-x, AMD-V, HM) and PCI passthrough codes. */
#define VERR_VMX_NO_VMX                     (-4009)
#define VERR_VMX_IN_VMX_ROOT_MODE           (-4011)
#define VERR_VMX_MSR_ALL_VMX_DISABLED       (-4028)
#define VERR_VMX_MSR_VMX_DISABLED           (-4029)
#define VERR_SVM_NO_SVM                     (-4052)
#define VERR_SVM_DISABLED                   (-4053)
#define VERR_SVM_IN_USE                     (-4054)
#define VERR_HM_CONFIG_MISMATCH             (-4103)
#define VERR_PCI_PASSTHROUGH_NO_RAM_PREALLOC (-5100)
#define VERR_PCI_PASSTHROUGH_NO_HM          (-5101)
#define VERR_PCI_PASSTHROUGH_NO_NESTED_PAGING (-5102)

/* Instruction interpreter (IEM) codes. */
#define VERR_IEM_INSTR_NOT_IMPLEMENTED      (-5300)
#define VERR_IEM_INVALID_OPERAND_SIZE       (-5301)
#define VERR_IEM_INVALID_ADDRESS_MODE       (-5302)
#define VERR_IEM_ASPECT_NOT_IMPLEMENTED     (-5390)
#define VERR_IEM_IPE_1                      (-5391)
#define VERR_IEM_IPE_2                      (-5392)
#define VERR_IEM_IPE_3                      (-5393)

/* Native execution manager (NEM: the host hypervisor API, KVM here) codes. */
#define VERR_NEM_NOT_ENABLED                (-6800)
#define VERR_NEM_NOT_AVAILABLE              (-6801)
#define VERR_NEM_INIT_FAILED                (-6802)
#define VERR_NEM_MISSING_KERNEL_API_1       (-6803)
#define VERR_NEM_VM_CREATE_FAILED           (-6805)
#define VERR_NEM_MAP_PAGES_FAILED           (-6806)
#define VERR_NEM_UNMAP_PAGES_FAILED         (-6807)
#define VERR_NEM_GET_REGISTERS_FAILED       (-6808)
#define VERR_NEM_SET_REGISTERS_FAILED       (-6809)
#define VERR_NEM_SET_TSC                    (-6811)
#define VERR_NEM_QUERY_DIRTY_BITMAP_FAILED  (-6816)
#define VERR_NEM_MISSING_FEATURE            (-6817)
#define VERR_NEM_IPE_0                      (-6890)
#define VERR_NEM_IPE_1                      (-6891)
#define VERR_NEM_IPE_2                      (-6892)
#define VERR_NEM_IPE_3                      (-6893)
#define VERR_NEM_IPE_4                      (-6894)
#define VERR_NEM_IPE_5                      (-6895)
#define VERR_NEM_IPE_6                      (-6896)
#define VERR_NEM_IPE_7                      (-6897)
#define VERR_NEM_IPE_8                      (-6898)
#define VERR_NEM_IPE_9                      (-6899)

#define VERR_VM_ATRESET_NOT_FOUND           (-1900)
#define VERR_VM_REQUEST_INVALID_TYPE        (-1901)
#define VERR_VM_REQUEST_STATE               (-1902)
#define VERR_VM_REQUEST_INVALID_PACKAGE     (-1903)
#define VERR_VM_REQUEST_STATUS_STILL_PENDING (-1904)
#define VERR_VM_REQUEST_STATUS_FREED        (-1905)
#define VERR_VM_THREAD_NOT_EMT              (-1906)
#define VERR_VM_INVALID_VM_STATE            (-1907)
#define VERR_VM_DRIVER_NOT_INSTALLED        (-1908)
#define VERR_VM_DRIVER_NOT_ACCESSIBLE       (-1909)
#define VERR_VM_DRIVER_LOAD_ERROR           (-1910)
#define VERR_VM_DRIVER_OPEN_ERROR           (-1911)
#define VERR_VM_DRIVER_VERSION_MISMATCH     (-1912)
#define VERR_VM_SAVE_STATE_NOT_ALLOWED      (-1913)
#define VERR_VM_THREAD_IS_EMT               (-1914)
#define VERR_VM_UNEXPECTED_VM_STATE         (-1915)
#define VERR_VM_UNEXPECTED_UNSTABLE_STATE   (-1916)
#define VERR_VM_REQUEST_TOO_MANY_ARGS_IPE   (-1917)
#define VERR_VM_FATAL_WAIT_ERROR            (-1918)
#define VERR_VM_REQUEST_KILLED              (-1919)

/* Execution manager scheduling codes: lower value = higher priority. */
#define VINF_EM_FIRST                       1100
#define VINF_EM_TERMINATE                   1100
#define VINF_EM_DBG_HYPER_STEPPED           1101
#define VINF_EM_DBG_HYPER_BREAKPOINT        1102
#define VINF_EM_DBG_HYPER_ASSERTION         1103
#define VINF_EM_DBG_EVENT                   1104
#define VINF_EM_DBG_STOP                    1105
#define VINF_EM_DBG_STEPPED                 1106
#define VINF_EM_DBG_BREAKPOINT              1107
#define VINF_EM_DBG_STEP                    1108
#define VINF_EM_OFF                         1109
#define VINF_EM_SUSPEND                     1110
#define VINF_EM_RESET                       1111
#define VINF_EM_HALT                        1112
#define VINF_EM_RESUME                      1113
#define VINF_EM_NO_MEMORY                   1114
#define VINF_EM_RESCHEDULE_REM              1115
#define VINF_EM_RESCHEDULE_HM               1116
#define VINF_EM_RESCHEDULE_RAW              1117
#define VINF_EM_RESCHEDULE                  1118
#define VINF_EM_RESCHEDULE_PARAV            1119
#define VINF_EM_WAIT_SIPI                   1120
#define VINF_EM_LAST                        1120
#define VINF_EM_PENDING_REQUEST             1150
#define VINF_EM_TRIPLE_FAULT                1155

/* Saved state (SSM) codes. */
#define VERR_SSM_UNIT_EXISTS                (-1800)
#define VERR_SSM_UNIT_NOT_FOUND             (-1801)
#define VERR_SSM_UNIT_NOT_OWNER             (-1802)
#define VERR_SSM_INTEGRITY                  (-1810)
#define VERR_SSM_INTEGRITY_MAGIC            (-1811)
#define VERR_SSM_INTEGRITY_VERSION          (-1812)
#define VERR_SSM_INTEGRITY_SIZE             (-1813)
#define VERR_SSM_INTEGRITY_CRC              (-1814)
#define VERR_SSM_INTEGRITY_HEADER           (-1816)
#define VERR_SSM_INTEGRITY_UNIT             (-1817)
#define VERR_SSM_INTEGRITY_UNIT_MAGIC       (-1818)
#define VERR_SSM_INTEGRITY_UNIT_NOT_FOUND   (-1819)
#define VERR_SSM_INTEGRITY_VBOX_VERSION     (-1820)
#define VERR_SSM_INTEGRITY_FOOTER           (-1821)
#define VERR_SSM_INTEGRITY_REC_HDR          (-1822)
#define VERR_SSM_INTEGRITY_REC_TERM         (-1823)
#define VERR_SSM_INTEGRITY_REC_TERM_CRC     (-1824)
#define VERR_SSM_INTEGRITY_DECOMPRESSION    (-1825)
#define VERR_SSM_INTEGRITY_DIR              (-1826)
#define VERR_SSM_INTEGRITY_DIR_MAGIC        (-1827)
#define VERR_SSM_NO_LOAD_EXEC               (-1830)
#define VERR_SSM_LOADED_TOO_MUCH            (-1831)
#define VERR_SSM_INVALID_STATE              (-1832)
#define VERR_SSM_LOADED_TOO_LITTLE          (-1833)
#define VERR_SSM_UNSUPPORTED_DATA_UNIT_VERSION (-1840)
#define VERR_SSM_DATA_UNIT_FORMAT_CHANGED   (-1841)
#define VERR_SSM_LOAD_CPUID_MISMATCH        (-1842)
#define VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH  (-1843)
#define VERR_SSM_LOAD_CONFIG_MISMATCH       (-1844)
#define VERR_SSM_VIRTUAL_CLOCK_HZ           (-1845)
#define VERR_SSM_STRUCTURE_MAGIC            (-1847)
#define VERR_SSM_UNEXPECTED_DATA            (-1848)
#define VINF_SSM_VOTE_FOR_ANOTHER_PASS      1851
#define VINF_SSM_VOTE_DONE_DONT_CALL_AGAIN  1852
#define VERR_SSM_VOTE_FOR_GIVING_UP         (-1853)
#define VINF_SSM_DONT_CALL_AGAIN            1854
#define VERR_SSM_TOO_MANY_PASSES            (-1855)
#define VERR_SSM_STATE_GREW_TOO_BIG         (-1856)
#define VERR_SSM_LOW_ON_DISK_SPACE          (-1857)
#define VERR_SSM_CANCELLED                  (-1858)
#define VERR_SSM_NO_PENDING_OPERATION       (-1859)
#define VERR_SSM_ALREADY_CANCELLED          (-1860)
#define VERR_SSM_LIVE_POWERED_OFF           (-1861)
#define VERR_SSM_LIVE_GURU_MEDITATION       (-1862)
#define VERR_SSM_LIVE_FATAL_ERROR           (-1863)
#define VINF_SSM_LIVE_SUSPENDED             1864
#define VERR_SSM_FIELD_COMPLEX              (-1864)
#define VERR_SSM_STREAM_ERROR               (-1871)
#define VERR_SSM_UNEXPECTED_PASS            (-1872)
#define VERR_SSM_SKIP_BACKWARDS             (-1873)
#define VERR_SSM_MEM_TOO_BIG                (-1874)
#define VERR_SSM_BAD_REC_TYPE               (-1875)
#define VERR_SSM_IPE_1                      (-1876)
#define VERR_SSM_IPE_2                      (-1877)
#define VERR_SSM_IPE_3                      (-1878)
/* Petrel's first name for VERR_SSM_INTEGRITY_SIZE; kept for source compatibility. */
#define VERR_SSM_INTEGRITY_SIZES            VERR_SSM_INTEGRITY_SIZE

/* Configuration tree (CFGM) codes. */
#define VERR_CFGM_INTEGER_TOO_BIG           (-2100)
#define VERR_CFGM_CHILD_NOT_FOUND           (-2101)
#define VERR_CFGM_INVALID_CHILD_PATH        (-2102)
#define VERR_CFGM_VALUE_NOT_FOUND           (-2103)
#define VERR_CFGM_NO_PARENT                 (-2104)
#define VERR_CFGM_NO_NODE                   (-2105)
#define VERR_CFGM_NOT_INTEGER               (-2106)
#define VERR_CFGM_NOT_STRING                (-2107)
#define VERR_CFGM_NOT_BYTES                 (-2108)
#define VERR_CFGM_NOT_ENOUGH_SPACE          (-2109)
#define VERR_CFGM_NOT_PASSWORD              (-2110)
#define VERR_CFGM_INVALID_NODE_PATH         (-2160)
#define VERR_CFGM_NODE_EXISTS               (-2161)
#define VERR_CFGM_LEAF_EXISTS               (-2162)
#define VERR_CFGM_CONFIG_UNKNOWN_VALUE      (-2163)
#define VERR_CFGM_CONFIG_UNKNOWN_NODE       (-2164)
#define VERR_CFGM_IPE_1                     (-2165)

RT_C_DECLS_BEGIN

/** The status code's name ("VERR_TIMEOUT"), or "Unknown Status <dec> (<hex>)".
 *  Unknown codes are formatted into a small per-thread ring of buffers: the
 *  string stays valid for the next few calls on the same thread. */
DECLEXPORT(const char *) RTErrGetShort(int rc);
/** A readable one-line description of the status (same rule for unknown codes). */
DECLEXPORT(const char *) RTErrGetFull(int rc);

RT_C_DECLS_END

#endif /* PETREL_VMM_ERR_H */
