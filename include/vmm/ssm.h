/*
 * Petrel public API: saved-state stream operations.
 *
 * A caller that saves to (or loads from) something other than a file passes
 * a table of stream callbacks to VMR3Save / VMR3Teleport / VMR3LoadFromStream.
 */
#ifndef PETREL_VMM_SSM_H
#define PETREL_VMM_SSM_H

#include "types.h"

RT_C_DECLS_BEGIN

#define SSMSTRMOPS_VERSION  UINT32_C(0x55aa0001)

/** Seek methods for pfnSeek. */
#define RTFILE_SEEK_BEGIN   0
#define RTFILE_SEEK_CURRENT 1
#define RTFILE_SEEK_END     2

struct SSMSTRMOPS {
    uint32_t u32Version;
    /** Writes all of pvBuf at offStream (sequential). */
    DECLCALLBACKPTR(int, pfnWrite, (void *pvUser, uint64_t offStream, const void *pvBuf, size_t cbToWrite));
    /** Reads up to cbToRead bytes; fewer only at the end (reported in *pcbRead). */
    DECLCALLBACKPTR(int, pfnRead, (void *pvUser, uint64_t offStream, void *pvBuf, size_t cbToRead, size_t *pcbRead));
    DECLCALLBACKPTR(int, pfnSeek, (void *pvUser, int64_t offSeek, unsigned uMethod, uint64_t *poffActual));
    DECLCALLBACKPTR(uint64_t, pfnTell, (void *pvUser));
    DECLCALLBACKPTR(int, pfnSize, (void *pvUser, uint64_t *pcb));
    /** Polled before writes and between passes; a failure cancels. */
    DECLCALLBACKPTR(int, pfnIsOk, (void *pvUser));
    /** Called exactly once at the end. */
    DECLCALLBACKPTR(int, pfnClose, (void *pvUser, bool fCancelled));
    uint32_t u32EndVersion;
};

RT_C_DECLS_END

#endif /* PETREL_VMM_SSM_H */
