/*
 * Petrel public API: status codes.
 *
 * A status is an int: >= 0 is success (positive values are informational
 * successes), < 0 is failure.  Names and values are VirtualBox's, so code
 * that tests RT_SUCCESS/RT_FAILURE or compares against a named code works.
 */
#ifndef PETREL_VMM_ERR_H
#define PETREL_VMM_ERR_H

#include "types.h"

#define RT_SUCCESS(rc)      ((int)(rc) >= 0)
#define RT_FAILURE(rc)      ((int)(rc) < 0)
#define RT_SUCCESS_NP(rc)   RT_SUCCESS(rc)
#define RT_FAILURE_NP(rc)   RT_FAILURE(rc)

/* Generic (IPRT) codes. */
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
#define VERR_WRONG_ORDER                    (-22)
#define VERR_INVALID_CONTEXT                (-32)
#define VERR_NOT_SUPPORTED                  (-37)
#define VERR_ACCESS_DENIED                  (-38)
#define VERR_INTERRUPTED                    (-39)
#define VERR_TIMEOUT                        (-40)
#define VERR_BUFFER_OVERFLOW                (-41)
#define VERR_TOO_MUCH_DATA                  (-42)
#define VERR_TRY_AGAIN                      (-52)
#define VERR_PARSE_ERROR                    (-53)
#define VERR_OUT_OF_RANGE                   (-54)
#define VERR_CANCELLED                      (-70)
#define VERR_NOT_FOUND                      (-78)
#define VERR_INVALID_STATE                  (-79)
#define VERR_OUT_OF_RESOURCES               (-80)
#define VERR_DUPLICATE                      (-98)
#define VERR_MISSING                        (-99)
#define VERR_FILE_NOT_FOUND                 (-102)
#define VERR_PATH_NOT_FOUND                 (-103)
#define VERR_ALREADY_EXISTS                 (-105)
#define VERR_EOF                            (-110)
#define VERR_FILE_TOO_BIG                   (-112)
#define VERR_DISK_FULL                      (-152)
#define VERR_INTERNAL_ERROR                 (-225)
#define VERR_IPE_UNEXPECTED_INFO_STATUS     (-231)
#define VERR_DEADLOCK                       (-365)
#define VERR_NOT_AVAILABLE                  (-22403)

/* VM and execution manager codes. */
#define VERR_UNSUPPORTED_CPU                (-1002)
#define VERR_INVALID_VM_HANDLE              (-1016)
#define VERR_INVALID_CPU_ID                 (-1018)
#define VERR_TOO_MANY_CPUS                  (-1019)
#define VERR_VM_RESTORED                    (-1025)
#define VERR_EM_INTERNAL_ERROR              (-1149)
#define VERR_EM_GUEST_CPU_HANG              (-1166)
#define VERR_TRPM_PANIC                     (-2402)
#define VERR_VMM_RING0_ASSERTION            (-2701)
#define VERR_PDM_DEVICE_NOT_FOUND           (-2840)
#define VERR_VMX_NO_VMX                     (-4009)
#define VERR_SVM_NO_SVM                     (-4052)
#define VERR_HM_CONFIG_MISMATCH             (-4103)
#define VERR_NEM_NOT_AVAILABLE              (-6801)
#define VERR_NEM_INIT_FAILED                (-6802)
#define VERR_NEM_VM_CREATE_FAILED           (-6805)
#define VERR_NEM_IPE_0                      (-6890)

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
#define VERR_SSM_INTEGRITY                  (-1810)
#define VERR_SSM_INTEGRITY_MAGIC            (-1811)
#define VERR_SSM_INTEGRITY_VERSION          (-1812)
#define VERR_SSM_INTEGRITY_CRC              (-1813)
#define VERR_SSM_INTEGRITY_SIZES            (-1815)
#define VERR_SSM_INTEGRITY_UNIT             (-1816)
#define VERR_SSM_INTEGRITY_UNIT_MAGIC       (-1818)
#define VERR_SSM_INTEGRITY_VBOX_VERSION     (-1820)
#define VERR_SSM_INTEGRITY_FOOTER           (-1822)
#define VERR_SSM_INTEGRITY_REC_HDR          (-1823)
#define VERR_SSM_INTEGRITY_HEADER           (-1824)
#define VERR_SSM_UNIT_NOT_FOUND             (-1830)
#define VERR_SSM_LOADED_TOO_LITTLE          (-1833)
#define VERR_SSM_LOADED_TOO_MUCH            (-1834)
#define VERR_SSM_UNIT_EXISTS                (-1837)
#define VERR_SSM_DATA_UNIT_FORMAT_CHANGED   (-1841)
#define VERR_SSM_LOAD_CONFIG_MISMATCH       (-1844)
#define VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH  (-1845)
#define VERR_SSM_LOAD_CPUID_MISMATCH        (-1846)
#define VERR_SSM_UNEXPECTED_DATA            (-1848)
#define VINF_SSM_VOTE_FOR_ANOTHER_PASS      1851
#define VINF_SSM_VOTE_DONE_DONT_CALL_AGAIN  1852
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
#define VERR_CFGM_NODE_EXISTS               (-2161)
#define VERR_CFGM_LEAF_EXISTS               (-2162)

RT_C_DECLS_BEGIN

/** The status code's name ("VERR_TIMEOUT"), or "Unknown Status <n>". */
DECLEXPORT(const char *) RTErrGetShort(int rc);
/** A readable one-line description of the status. */
DECLEXPORT(const char *) RTErrGetFull(int rc);

RT_C_DECLS_END

#endif /* PETREL_VMM_ERR_H */
