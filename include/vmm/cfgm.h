/*
 * Petrel public API: the configuration tree (CFGM).
 *
 * A VM's configuration is a tree of named nodes holding named values
 * (integers, strings, byte strings).  A CFGM constructor passed to VMR3Create
 * fills it on EMT(0); paths use '/' ("Boot/Image" or "/Boot/Image").
 */
#ifndef PETREL_VMM_CFGM_H
#define PETREL_VMM_CFGM_H

#include "types.h"

RT_C_DECLS_BEGIN

typedef enum CFGMVALUETYPE {
    CFGMVALUETYPE_INTEGER = 1,
    CFGMVALUETYPE_STRING,
    CFGMVALUETYPE_BYTES,
    CFGMVALUETYPE_PASSWORD
} CFGMVALUETYPE;

/** Builds the configuration tree of a new VM (runs on EMT(0)). */
typedef DECLCALLBACKTYPE(int, FNCFGMCONSTRUCTOR, (PUVM pUVM, PVM pVM, PCVMMR3VTABLE pVMM, void *pvUser));
typedef FNCFGMCONSTRUCTOR *PFNCFGMCONSTRUCTOR;

VMMR3DECL(int)       CFGMR3ConstructDefaultTree(PVM pVM);
VMMR3DECL(PCFGMNODE) CFGMR3GetRoot(PVM pVM);
VMMR3DECL(PCFGMNODE) CFGMR3GetRootU(PUVM pUVM);
VMMR3DECL(PCFGMNODE) CFGMR3GetParent(PCFGMNODE pNode);
VMMR3DECL(PCFGMNODE) CFGMR3GetChild(PCFGMNODE pNode, const char *pszPath);
VMMR3DECL(PCFGMNODE) CFGMR3GetChildF(PCFGMNODE pNode, const char *pszPathFormat, ...) RT_IPRT_FORMAT_ATTR(2, 3);
VMMR3DECL(PCFGMNODE) CFGMR3GetFirstChild(PCFGMNODE pNode);
VMMR3DECL(PCFGMNODE) CFGMR3GetNextChild(PCFGMNODE pCur);
VMMR3DECL(int)       CFGMR3GetName(PCFGMNODE pCur, char *pszName, size_t cchName);
VMMR3DECL(size_t)    CFGMR3GetNameLen(PCFGMNODE pCur);
VMMR3DECL(PCFGMLEAF) CFGMR3GetFirstValue(PCFGMNODE pCur);
VMMR3DECL(PCFGMLEAF) CFGMR3GetNextValue(PCFGMLEAF pCur);
VMMR3DECL(int)       CFGMR3GetValueName(PCFGMLEAF pCur, char *pszName, size_t cchName);
VMMR3DECL(CFGMVALUETYPE) CFGMR3GetValueType(PCFGMLEAF pCur);
VMMR3DECL(bool)      CFGMR3Exists(PCFGMNODE pNode, const char *pszName);

VMMR3DECL(int) CFGMR3InsertNode(PCFGMNODE pNode, const char *pszName, PCFGMNODE *ppChild);
VMMR3DECL(int) CFGMR3InsertNodeF(PCFGMNODE pNode, PCFGMNODE *ppChild, const char *pszNameFormat, ...) RT_IPRT_FORMAT_ATTR(3, 4);
VMMR3DECL(int) CFGMR3InsertInteger(PCFGMNODE pNode, const char *pszName, uint64_t u64Integer);
VMMR3DECL(int) CFGMR3InsertString(PCFGMNODE pNode, const char *pszName, const char *pszString);
VMMR3DECL(int) CFGMR3InsertStringN(PCFGMNODE pNode, const char *pszName, const char *pchString, size_t cchString);
VMMR3DECL(int) CFGMR3InsertStringF(PCFGMNODE pNode, const char *pszName, const char *pszFormat, ...) RT_IPRT_FORMAT_ATTR(3, 4);
VMMR3DECL(int) CFGMR3InsertBytes(PCFGMNODE pNode, const char *pszName, const void *pvBytes, size_t cbBytes);
VMMR3DECL(int) CFGMR3InsertPassword(PCFGMNODE pNode, const char *pszName, const char *pszString);
VMMR3DECL(int) CFGMR3RemoveValue(PCFGMNODE pNode, const char *pszName);
VMMR3DECL(void) CFGMR3RemoveNode(PCFGMNODE pNode);

VMMR3DECL(int) CFGMR3QueryType(PCFGMNODE pNode, const char *pszName, CFGMVALUETYPE *penmType);
VMMR3DECL(int) CFGMR3QuerySize(PCFGMNODE pNode, const char *pszName, size_t *pcb);
VMMR3DECL(int) CFGMR3QueryInteger(PCFGMNODE pNode, const char *pszName, uint64_t *pu64);
VMMR3DECL(int) CFGMR3QueryIntegerDef(PCFGMNODE pNode, const char *pszName, uint64_t *pu64, uint64_t u64Def);
VMMR3DECL(int) CFGMR3QueryU64(PCFGMNODE pNode, const char *pszName, uint64_t *pu64);
VMMR3DECL(int) CFGMR3QueryU64Def(PCFGMNODE pNode, const char *pszName, uint64_t *pu64, uint64_t u64Def);
VMMR3DECL(int) CFGMR3QueryU32(PCFGMNODE pNode, const char *pszName, uint32_t *pu32);
VMMR3DECL(int) CFGMR3QueryU32Def(PCFGMNODE pNode, const char *pszName, uint32_t *pu32, uint32_t u32Def);
VMMR3DECL(int) CFGMR3QueryU16(PCFGMNODE pNode, const char *pszName, uint16_t *pu16);
VMMR3DECL(int) CFGMR3QueryU16Def(PCFGMNODE pNode, const char *pszName, uint16_t *pu16, uint16_t u16Def);
VMMR3DECL(int) CFGMR3QueryU8(PCFGMNODE pNode, const char *pszName, uint8_t *pu8);
VMMR3DECL(int) CFGMR3QueryU8Def(PCFGMNODE pNode, const char *pszName, uint8_t *pu8, uint8_t u8Def);
VMMR3DECL(int) CFGMR3QueryBool(PCFGMNODE pNode, const char *pszName, bool *pf);
VMMR3DECL(int) CFGMR3QueryBoolDef(PCFGMNODE pNode, const char *pszName, bool *pf, bool fDef);
VMMR3DECL(int) CFGMR3QueryString(PCFGMNODE pNode, const char *pszName, char *pszString, size_t cchString);
VMMR3DECL(int) CFGMR3QueryStringDef(PCFGMNODE pNode, const char *pszName, char *pszString, size_t cchString, const char *pszDef);
VMMR3DECL(int) CFGMR3QueryStringAlloc(PCFGMNODE pNode, const char *pszName, char **ppszString);
VMMR3DECL(int) CFGMR3QueryStringAllocDef(PCFGMNODE pNode, const char *pszName, char **ppszString, const char *pszDef);
VMMR3DECL(int) CFGMR3QueryBytes(PCFGMNODE pNode, const char *pszName, void *pvData, size_t cbData);
/** Frees a string from CFGMR3QueryStringAlloc(Def). */
VMMR3DECL(void) MMR3HeapFree(void *pv);

/** Writes the (sub)tree in a readable form to the VM log / stderr. */
VMMR3DECL(void) CFGMR3Dump(PCFGMNODE pRoot);

RT_C_DECLS_END

#endif /* PETREL_VMM_CFGM_H */
