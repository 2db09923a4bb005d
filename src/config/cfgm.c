/*
 * The configuration tree (CFGM).
 *
 * A tree of named nodes; each node holds named values (leaves) of four
 * types: integer (u64), string, password (a string that dumps hide) and
 * byte string.  Semantics and status codes follow VirtualBox's CFGM:
 *
 *  - Children and values are kept sorted by name (byte-wise, shorter name
 *    first on a common prefix), as VirtualBox inserts them; iteration with
 *    GetFirstChild/GetNextChild and GetFirstValue/GetNextValue sees that order.
 *    Names are case-sensitive.
 *  - Node paths use '/' and are relative to the node given; leading and
 *    repeated slashes are ignored.  CFGMR3InsertNode creates missing
 *    intermediate nodes and fails with VERR_CFGM_NODE_EXISTS only when the
 *    last component exists.
 *  - Petrel extension: a value name may carry a node path too
 *    ("Boot/Image", "/Devices/debugcon/0/Config/Output").  Queries treat a
 *    missing node on the way like a missing value (VERR_CFGM_VALUE_NOT_FOUND,
 *    so the *Def variants return their default); inserts create the missing
 *    nodes.  VirtualBox would instead take the whole string as one value name,
 *    which no VirtualBox client relies on.
 *  - Query functions on a NULL node return VERR_CFGM_NO_PARENT; the *Def
 *    variants store the default for every failure and turn VALUE_NOT_FOUND
 *    and NO_PARENT into success.
 *
 * The tree has no lock: like VirtualBox's, it is built on EMT(0) during
 * creation and only read afterwards.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmm/cfgm.h>
#include <vmm/err.h>

#include "cfgm_internal.h"
#include "../core/vm_internal.h"

struct CFGMLEAF {
    struct CFGMLEAF *next, *prev;
    struct CFGMNODE *owner;         /* the node holding this value */
    CFGMVALUETYPE    type;
    union {
        uint64_t u64;
        struct {
            char  *psz;
            size_t cb;              /* including the terminator */
        } str;                      /* STRING and PASSWORD */
        struct {
            uint8_t *pb;
            size_t   cb;
        } bytes;
    } v;
    size_t name_len;
    char   name[];
};

struct CFGMNODE {
    struct CFGMNODE *next, *prev, *parent;
    struct CFGMNODE *first_child;
    struct CFGMLEAF *first_leaf;
    struct VM       *vm;            /* the owning VM, set on a VM's root only */
    size_t           name_len;
    char             name[];
};

/* --- names and lookups --- */

/* VirtualBox's order: bytes compared first, then the shorter name first. */
static int name_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int diff = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (diff)
        return diff;
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static PCFGMNODE find_child(PCFGMNODE node, const char *name, size_t len)
{
    for (PCFGMNODE child = node->first_child; child; child = child->next) {
        int diff = name_cmp(name, len, child->name, child->name_len);
        if (diff <= 0)
            return diff == 0 ? child : NULL;    /* sorted: we passed its place */
    }
    return NULL;
}

static PCFGMLEAF find_leaf(PCFGMNODE node, const char *name, size_t len)
{
    for (PCFGMLEAF leaf = node->first_leaf; leaf; leaf = leaf->next) {
        int diff = name_cmp(name, len, leaf->name, leaf->name_len);
        if (diff <= 0)
            return diff == 0 ? leaf : NULL;
    }
    return NULL;
}

/* --- allocation and linking --- */

static PCFGMNODE node_alloc(const char *name, size_t len)
{
    PCFGMNODE node = calloc(1, sizeof(*node) + len + 1);
    if (node) {
        memcpy(node->name, name, len);
        node->name[len] = '\0';
        node->name_len = len;
    }
    return node;
}

/* Links `child` into `parent`'s sorted child list (the name must be new). */
static void node_link(PCFGMNODE parent, PCFGMNODE child)
{
    PCFGMNODE prev = NULL, next = parent->first_child;
    while (next && name_cmp(child->name, child->name_len, next->name, next->name_len) > 0) {
        prev = next;
        next = next->next;
    }
    child->parent = parent;
    child->prev = prev;
    child->next = next;
    if (next)
        next->prev = child;
    if (prev)
        prev->next = child;
    else
        parent->first_child = child;
}

static void node_unlink(PCFGMNODE node)
{
    if (node->prev)
        node->prev->next = node->next;
    else if (node->parent)
        node->parent->first_child = node->next;
    if (node->next)
        node->next->prev = node->prev;
    node->parent = node->prev = node->next = NULL;
}

static int node_new_child(PCFGMNODE parent, const char *name, size_t len, PCFGMNODE *out)
{
    PCFGMNODE child = node_alloc(name, len);
    if (!child)
        return VERR_NO_MEMORY;
    node_link(parent, child);
    *out = child;
    return VINF_SUCCESS;
}

static void leaf_link(PCFGMNODE node, PCFGMLEAF leaf)
{
    PCFGMLEAF prev = NULL, next = node->first_leaf;
    leaf->owner = node;
    while (next && name_cmp(leaf->name, leaf->name_len, next->name, next->name_len) > 0) {
        prev = next;
        next = next->next;
    }
    leaf->prev = prev;
    leaf->next = next;
    if (next)
        next->prev = leaf;
    if (prev)
        prev->next = leaf;
    else
        node->first_leaf = leaf;
}

static void leaf_free(PCFGMLEAF leaf)
{
    switch (leaf->type) {
    case CFGMVALUETYPE_PASSWORD:
        /* Don't leave secrets behind in freed heap memory. */
        memset(leaf->v.str.psz, 0, leaf->v.str.cb);
        free(leaf->v.str.psz);
        break;
    case CFGMVALUETYPE_STRING:
        free(leaf->v.str.psz);
        break;
    case CFGMVALUETYPE_BYTES:
        free(leaf->v.bytes.pb);
        break;
    case CFGMVALUETYPE_INTEGER:
        break;
    }
    free(leaf);
}

static void leaf_remove(PCFGMLEAF leaf)
{
    PCFGMNODE node = leaf->owner;
    if (leaf->prev)
        leaf->prev->next = leaf->next;
    else
        node->first_leaf = leaf->next;
    if (leaf->next)
        leaf->next->prev = leaf->prev;
    leaf_free(leaf);
}

/*
 * Frees `top` and everything below it, unlinking `top` from its parent.
 * Iterative (always descend to a childless node, free it, climb back), so a
 * very deep tree cannot exhaust the stack.
 */
static void node_free_subtree(PCFGMNODE top)
{
    PCFGMNODE node = top;
    for (;;) {
        while (node->first_child)
            node = node->first_child;

        PCFGMNODE parent = node->parent;
        bool last = node == top;
        node_unlink(node);
        while (node->first_leaf)
            leaf_remove(node->first_leaf);
        /* A VM's root going away must not leave a dangling vm->cfg_root. */
        if (node->vm && node->vm->cfg_root == node)
            node->vm->cfg_root = NULL;
        free(node);
        if (last)
            return;
        node = parent;
    }
}

/* --- paths --- */

/*
 * Walks the node path [path, path + len) down from `node`, ignoring empty
 * components (leading, trailing or doubled slashes).  Missing nodes are
 * created when `create` is set, else the walk fails with CHILD_NOT_FOUND.
 */
static int walk_path(PCFGMNODE node, const char *path, size_t len, bool create, PCFGMNODE *out)
{
    const char *end = path + len;
    while (path < end) {
        if (*path == '/') {
            path++;
            continue;
        }
        const char *sep = memchr(path, '/', (size_t)(end - path));
        size_t comp_len = sep ? (size_t)(sep - path) : (size_t)(end - path);
        PCFGMNODE child = find_child(node, path, comp_len);
        if (!child) {
            if (!create)
                return VERR_CFGM_CHILD_NOT_FOUND;
            int rc = node_new_child(node, path, comp_len, &child);
            if (RT_FAILURE(rc))
                return rc;
        }
        node = child;
        path += comp_len;
    }
    *out = node;
    return VINF_SUCCESS;
}

/* Splits "a/b/name" into the node path "a/b" (dir_len) and "name". */
static const char *split_value_path(const char *path, size_t *dir_len)
{
    const char *slash = strrchr(path, '/');
    *dir_len = slash ? (size_t)(slash - path) : 0;
    return slash ? slash + 1 : path;
}

/* Finds the value `path` below `node` (VirtualBox's cfgmR3ResolveLeaf). */
static int resolve_leaf(PCFGMNODE node, const char *path, PCFGMLEAF *out)
{
    *out = NULL;
    if (!node)
        return VERR_CFGM_NO_PARENT;
    if (!path)
        return VERR_INVALID_POINTER;

    size_t dir_len;
    const char *name = split_value_path(path, &dir_len);
    if (dir_len && RT_FAILURE(walk_path(node, path, dir_len, false, &node)))
        return VERR_CFGM_VALUE_NOT_FOUND;
    *out = find_leaf(node, name, strlen(name));
    return *out ? VINF_SUCCESS : VERR_CFGM_VALUE_NOT_FOUND;
}

/* Makes room for a new value `path` below `node`: creates the node path and
 * checks the name is non-empty and unused. */
static int prepare_leaf(PCFGMNODE node, const char *path, PCFGMNODE *parent, const char **name)
{
    if (!node)
        return VERR_CFGM_NO_PARENT;
    if (!path)
        return VERR_INVALID_POINTER;

    size_t dir_len;
    *name = split_value_path(path, &dir_len);
    if (!**name)
        return VERR_CFGM_INVALID_CHILD_PATH;    /* VirtualBox's status for an empty value name */
    int rc = walk_path(node, path, dir_len, true, parent);
    if (RT_FAILURE(rc))
        return rc;
    if (find_leaf(*parent, *name, strlen(*name)))
        return VERR_CFGM_LEAF_EXISTS;
    return VINF_SUCCESS;
}

static PCFGMLEAF leaf_alloc(const char *name, CFGMVALUETYPE type)
{
    size_t len = strlen(name);
    PCFGMLEAF leaf = calloc(1, sizeof(*leaf) + len + 1);
    if (leaf) {
        memcpy(leaf->name, name, len + 1);
        leaf->name_len = len;
        leaf->type = type;
    }
    return leaf;
}

/* --- roots --- */

PCFGMNODE cfgm_create_tree(void)
{
    return node_alloc("", 0);
}

void cfgm_destroy_tree(PCFGMNODE root)
{
    if (root)
        node_free_subtree(root);
}

int cfgm_init(PVM vm)
{
    if (!vm)
        return VERR_INVALID_PARAMETER;
    PCFGMNODE root = cfgm_create_tree();
    if (!root)
        return VERR_NO_MEMORY;
    root->vm = vm;
    vm->cfg_root = root;
    return VINF_SUCCESS;
}

void cfgm_term(PVM vm)
{
    if (vm && vm->cfg_root)
        node_free_subtree(vm->cfg_root);    /* also clears vm->cfg_root */
}

VMMR3DECL(PCFGMNODE) CFGMR3GetRoot(PVM pVM)
{
    return pVM ? pVM->cfg_root : NULL;
}

VMMR3DECL(PCFGMNODE) CFGMR3GetRootU(PUVM pUVM)
{
    if (!pUVM || pUVM->u32Magic != UVM_MAGIC)
        return NULL;
    PVM vm = pUVM->pVM;
    return vm ? vm->cfg_root : NULL;
}

/* First failure wins, later steps still run (VirtualBox's UPDATERC). */
static void keep_first_failure(int *rc, int rc_step)
{
    if (RT_FAILURE(rc_step) && RT_SUCCESS(*rc))
        *rc = rc_step;
}

VMMR3DECL(int) CFGMR3ConstructDefaultTree(PVM pVM)
{
    if (!pVM)
        return VERR_INVALID_VM_HANDLE;
    PCFGMNODE root = pVM->cfg_root;
    if (!root)
        return VERR_WRONG_ORDER;        /* cfgm_init has not run (or the root was removed) */

    int rc = VINF_SUCCESS;
    keep_first_failure(&rc, CFGMR3InsertString(root, "Name", "Default VM"));
    keep_first_failure(&rc, CFGMR3InsertInteger(root, "RamSize", UINT64_C(128) * 1024 * 1024));
    keep_first_failure(&rc, CFGMR3InsertInteger(root, "RamHoleSize", UINT64_C(512) * 1024 * 1024));
    keep_first_failure(&rc, CFGMR3InsertInteger(root, "TimerMillies", 10));
    keep_first_failure(&rc, CFGMR3InsertString(root, "ExecEngine", "auto"));

    PCFGMNODE hm = NULL, em = NULL;
    keep_first_failure(&rc, CFGMR3InsertNode(root, "HM", &hm));
    keep_first_failure(&rc, CFGMR3InsertInteger(hm, "FallbackToIEM", 1));
    keep_first_failure(&rc, CFGMR3InsertNode(root, "EM", &em));
    keep_first_failure(&rc, CFGMR3InsertInteger(em, "TripleFaultReset", 0));
    keep_first_failure(&rc, CFGMR3InsertNode(root, "Devices", NULL));
    return rc;
}

/* --- navigation --- */

VMMR3DECL(PCFGMNODE) CFGMR3GetParent(PCFGMNODE pNode)
{
    return pNode ? pNode->parent : NULL;
}

VMMR3DECL(PCFGMNODE) CFGMR3GetChild(PCFGMNODE pNode, const char *pszPath)
{
    if (!pNode || !pszPath)
        return NULL;
    /* As in VirtualBox, an empty path ("" or "/") names no child. */
    if (pszPath[strspn(pszPath, "/")] == '\0')
        return NULL;
    PCFGMNODE child;
    return RT_SUCCESS(walk_path(pNode, pszPath, strlen(pszPath), false, &child)) ? child : NULL;
}

VMMR3DECL(PCFGMNODE) CFGMR3GetChildF(PCFGMNODE pNode, const char *pszPathFormat, ...)
{
    char *path;
    va_list va;
    va_start(va, pszPathFormat);
    int n = vasprintf(&path, pszPathFormat, va);
    va_end(va);
    if (n < 0)
        return NULL;
    PCFGMNODE child = CFGMR3GetChild(pNode, path);
    free(path);
    return child;
}

VMMR3DECL(PCFGMNODE) CFGMR3GetFirstChild(PCFGMNODE pNode)
{
    return pNode ? pNode->first_child : NULL;
}

VMMR3DECL(PCFGMNODE) CFGMR3GetNextChild(PCFGMNODE pCur)
{
    return pCur ? pCur->next : NULL;
}

/* Copies a name with its terminator; like VirtualBox, nothing is written
 * when the buffer is too small. */
static int copy_name(const char *name, size_t len, char *buf, size_t cb)
{
    if (cb <= len)
        return VERR_CFGM_NOT_ENOUGH_SPACE;
    if (!buf)
        return VERR_INVALID_POINTER;
    memcpy(buf, name, len + 1);
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3GetName(PCFGMNODE pCur, char *pszName, size_t cchName)
{
    if (!pCur)
        return VERR_CFGM_NO_NODE;
    return copy_name(pCur->name, pCur->name_len, pszName, cchName);
}

VMMR3DECL(size_t) CFGMR3GetNameLen(PCFGMNODE pCur)
{
    /* Includes the terminator, as in VirtualBox: the buffer size to pass. */
    return pCur ? pCur->name_len + 1 : 0;
}

VMMR3DECL(PCFGMLEAF) CFGMR3GetFirstValue(PCFGMNODE pCur)
{
    return pCur ? pCur->first_leaf : NULL;
}

VMMR3DECL(PCFGMLEAF) CFGMR3GetNextValue(PCFGMLEAF pCur)
{
    return pCur ? pCur->next : NULL;
}

VMMR3DECL(int) CFGMR3GetValueName(PCFGMLEAF pCur, char *pszName, size_t cchName)
{
    if (!pCur)
        return VERR_CFGM_NO_NODE;
    return copy_name(pCur->name, pCur->name_len, pszName, cchName);
}

VMMR3DECL(CFGMVALUETYPE) CFGMR3GetValueType(PCFGMLEAF pCur)
{
    return pCur ? pCur->type : (CFGMVALUETYPE)0;
}

VMMR3DECL(bool) CFGMR3Exists(PCFGMNODE pNode, const char *pszName)
{
    PCFGMLEAF leaf;
    return RT_SUCCESS(resolve_leaf(pNode, pszName, &leaf));
}

/* --- inserting and removing --- */

VMMR3DECL(int) CFGMR3InsertNode(PCFGMNODE pNode, const char *pszName, PCFGMNODE *ppChild)
{
    if (ppChild)
        *ppChild = NULL;
    if (!pNode)
        return VERR_CFGM_NO_PARENT;
    if (!pszName)
        return VERR_INVALID_POINTER;

    /* Drop trailing slashes, then split off the last component. */
    size_t len = strlen(pszName);
    while (len && pszName[len - 1] == '/')
        len--;
    size_t last = len;
    while (last && pszName[last - 1] != '/')
        last--;
    if (last == len)
        return VERR_CFGM_INVALID_NODE_PATH;     /* empty, or only slashes */

    PCFGMNODE parent;
    int rc = walk_path(pNode, pszName, last, true, &parent);
    if (RT_FAILURE(rc))
        return rc;
    if (find_child(parent, pszName + last, len - last))
        return VERR_CFGM_NODE_EXISTS;
    PCFGMNODE child;
    rc = node_new_child(parent, pszName + last, len - last, &child);
    if (RT_SUCCESS(rc) && ppChild)
        *ppChild = child;
    return rc;
}

VMMR3DECL(int) CFGMR3InsertNodeF(PCFGMNODE pNode, PCFGMNODE *ppChild, const char *pszNameFormat, ...)
{
    char *name;
    va_list va;
    va_start(va, pszNameFormat);
    int n = vasprintf(&name, pszNameFormat, va);
    va_end(va);
    if (n < 0) {
        if (ppChild)
            *ppChild = NULL;
        return VERR_NO_MEMORY;
    }
    int rc = CFGMR3InsertNode(pNode, name, ppChild);
    free(name);
    return rc;
}

VMMR3DECL(int) CFGMR3InsertInteger(PCFGMNODE pNode, const char *pszName, uint64_t u64Integer)
{
    PCFGMNODE parent;
    const char *name;
    int rc = prepare_leaf(pNode, pszName, &parent, &name);
    if (RT_FAILURE(rc))
        return rc;
    PCFGMLEAF leaf = leaf_alloc(name, CFGMVALUETYPE_INTEGER);
    if (!leaf)
        return VERR_NO_MEMORY;
    leaf->v.u64 = u64Integer;
    leaf_link(parent, leaf);
    return VINF_SUCCESS;
}

/* Inserts a STRING or PASSWORD value of cch characters. */
static int insert_string(PCFGMNODE node, const char *path, const char *pch, size_t cch, CFGMVALUETYPE type)
{
    PCFGMNODE parent;
    const char *name;
    int rc = prepare_leaf(node, path, &parent, &name);
    if (RT_FAILURE(rc))
        return rc;
    PCFGMLEAF leaf = leaf_alloc(name, type);
    char *copy = malloc(cch + 1);
    if (!leaf || !copy) {
        free(leaf);
        free(copy);
        return VERR_NO_MEMORY;
    }
    memcpy(copy, pch, cch);
    copy[cch] = '\0';
    leaf->v.str.psz = copy;
    leaf->v.str.cb = cch + 1;
    leaf_link(parent, leaf);
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3InsertString(PCFGMNODE pNode, const char *pszName, const char *pszString)
{
    if (pNode && !pszString)
        return VERR_INVALID_POINTER;
    return insert_string(pNode, pszName, pszString, pszString ? strlen(pszString) : 0, CFGMVALUETYPE_STRING);
}

VMMR3DECL(int) CFGMR3InsertStringN(PCFGMNODE pNode, const char *pszName, const char *pchString, size_t cchString)
{
    if (pNode && !pchString && cchString)
        return VERR_INVALID_POINTER;
    /* At most cchString characters, stopping early at a terminator. */
    size_t cch = pchString ? strnlen(pchString, cchString) : 0;
    return insert_string(pNode, pszName, pchString, cch, CFGMVALUETYPE_STRING);
}

VMMR3DECL(int) CFGMR3InsertStringF(PCFGMNODE pNode, const char *pszName, const char *pszFormat, ...)
{
    char *str;
    va_list va;
    va_start(va, pszFormat);
    int n = vasprintf(&str, pszFormat, va);
    va_end(va);
    if (n < 0)
        return VERR_NO_MEMORY;
    int rc = insert_string(pNode, pszName, str, (size_t)n, CFGMVALUETYPE_STRING);
    free(str);
    return rc;
}

VMMR3DECL(int) CFGMR3InsertPassword(PCFGMNODE pNode, const char *pszName, const char *pszString)
{
    if (pNode && !pszString)
        return VERR_INVALID_POINTER;
    return insert_string(pNode, pszName, pszString, pszString ? strlen(pszString) : 0, CFGMVALUETYPE_PASSWORD);
}

VMMR3DECL(int) CFGMR3InsertBytes(PCFGMNODE pNode, const char *pszName, const void *pvBytes, size_t cbBytes)
{
    if (pNode && !pvBytes && cbBytes)
        return VERR_INVALID_POINTER;
    PCFGMNODE parent;
    const char *name;
    int rc = prepare_leaf(pNode, pszName, &parent, &name);
    if (RT_FAILURE(rc))
        return rc;
    PCFGMLEAF leaf = leaf_alloc(name, CFGMVALUETYPE_BYTES);
    uint8_t *copy = cbBytes ? malloc(cbBytes) : NULL;
    if (!leaf || (cbBytes && !copy)) {
        free(leaf);
        free(copy);
        return VERR_NO_MEMORY;
    }
    if (cbBytes)
        memcpy(copy, pvBytes, cbBytes);
    leaf->v.bytes.pb = copy;
    leaf->v.bytes.cb = cbBytes;
    leaf_link(parent, leaf);
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3RemoveValue(PCFGMNODE pNode, const char *pszName)
{
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_SUCCESS(rc))
        leaf_remove(leaf);      /* from its owner, which may lie below pNode */
    return rc;
}

VMMR3DECL(void) CFGMR3RemoveNode(PCFGMNODE pNode)
{
    if (pNode)
        node_free_subtree(pNode);
}

/* --- queries --- */

VMMR3DECL(int) CFGMR3QueryType(PCFGMNODE pNode, const char *pszName, CFGMVALUETYPE *penmType)
{
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_SUCCESS(rc) && penmType)
        *penmType = leaf->type;
    return rc;
}

VMMR3DECL(int) CFGMR3QuerySize(PCFGMNODE pNode, const char *pszName, size_t *pcb)
{
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_FAILURE(rc))
        return rc;
    if (!pcb)
        return VERR_INVALID_POINTER;
    switch (leaf->type) {
    case CFGMVALUETYPE_INTEGER:  *pcb = sizeof(leaf->v.u64); break;
    case CFGMVALUETYPE_STRING:
    case CFGMVALUETYPE_PASSWORD: *pcb = leaf->v.str.cb; break;
    case CFGMVALUETYPE_BYTES:    *pcb = leaf->v.bytes.cb; break;
    default:                     return VERR_CFGM_IPE_1;
    }
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3QueryInteger(PCFGMNODE pNode, const char *pszName, uint64_t *pu64)
{
    if (!pu64)
        return VERR_INVALID_POINTER;
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_FAILURE(rc))
        return rc;
    if (leaf->type != CFGMVALUETYPE_INTEGER)
        return VERR_CFGM_NOT_INTEGER;
    *pu64 = leaf->v.u64;
    return VINF_SUCCESS;
}

/* True for the failures a *Def query answers with its default. */
static bool is_missing(int rc)
{
    return rc == VERR_CFGM_VALUE_NOT_FOUND || rc == VERR_CFGM_NO_PARENT;
}

VMMR3DECL(int) CFGMR3QueryIntegerDef(PCFGMNODE pNode, const char *pszName, uint64_t *pu64, uint64_t u64Def)
{
    if (!pu64)
        return VERR_INVALID_POINTER;
    int rc = CFGMR3QueryInteger(pNode, pszName, pu64);
    if (RT_FAILURE(rc)) {
        *pu64 = u64Def;
        if (is_missing(rc))
            rc = VINF_SUCCESS;
    }
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU64(PCFGMNODE pNode, const char *pszName, uint64_t *pu64)
{
    return CFGMR3QueryInteger(pNode, pszName, pu64);
}

VMMR3DECL(int) CFGMR3QueryU64Def(PCFGMNODE pNode, const char *pszName, uint64_t *pu64, uint64_t u64Def)
{
    return CFGMR3QueryIntegerDef(pNode, pszName, pu64, u64Def);
}

/*
 * The narrow unsigned queries: the stored u64 must fit in `max`, else
 * VERR_CFGM_INTEGER_TOO_BIG.  With `def` (the *Def variants) the default is
 * stored on every failure, as VirtualBox does.
 */
static int query_narrow(PCFGMNODE node, const char *name, uint64_t max, uint64_t *value, const uint64_t *def)
{
    int rc = def ? CFGMR3QueryIntegerDef(node, name, value, *def)
                 : CFGMR3QueryInteger(node, name, value);
    if (RT_SUCCESS(rc) && *value > max)
        rc = VERR_CFGM_INTEGER_TOO_BIG;
    if (RT_FAILURE(rc) && def)
        *value = *def;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU32(PCFGMNODE pNode, const char *pszName, uint32_t *pu32)
{
    if (!pu32)
        return VERR_INVALID_POINTER;
    uint64_t v;
    int rc = query_narrow(pNode, pszName, UINT32_MAX, &v, NULL);
    if (RT_SUCCESS(rc))
        *pu32 = (uint32_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU32Def(PCFGMNODE pNode, const char *pszName, uint32_t *pu32, uint32_t u32Def)
{
    if (!pu32)
        return VERR_INVALID_POINTER;
    uint64_t v, def = u32Def;
    int rc = query_narrow(pNode, pszName, UINT32_MAX, &v, &def);
    *pu32 = (uint32_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU16(PCFGMNODE pNode, const char *pszName, uint16_t *pu16)
{
    if (!pu16)
        return VERR_INVALID_POINTER;
    uint64_t v;
    int rc = query_narrow(pNode, pszName, UINT16_MAX, &v, NULL);
    if (RT_SUCCESS(rc))
        *pu16 = (uint16_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU16Def(PCFGMNODE pNode, const char *pszName, uint16_t *pu16, uint16_t u16Def)
{
    if (!pu16)
        return VERR_INVALID_POINTER;
    uint64_t v, def = u16Def;
    int rc = query_narrow(pNode, pszName, UINT16_MAX, &v, &def);
    *pu16 = (uint16_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU8(PCFGMNODE pNode, const char *pszName, uint8_t *pu8)
{
    if (!pu8)
        return VERR_INVALID_POINTER;
    uint64_t v;
    int rc = query_narrow(pNode, pszName, UINT8_MAX, &v, NULL);
    if (RT_SUCCESS(rc))
        *pu8 = (uint8_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryU8Def(PCFGMNODE pNode, const char *pszName, uint8_t *pu8, uint8_t u8Def)
{
    if (!pu8)
        return VERR_INVALID_POINTER;
    uint64_t v, def = u8Def;
    int rc = query_narrow(pNode, pszName, UINT8_MAX, &v, &def);
    *pu8 = (uint8_t)v;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryBool(PCFGMNODE pNode, const char *pszName, bool *pf)
{
    if (!pf)
        return VERR_INVALID_POINTER;
    uint64_t v;
    int rc = CFGMR3QueryInteger(pNode, pszName, &v);
    if (RT_SUCCESS(rc))
        *pf = v != 0;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryBoolDef(PCFGMNODE pNode, const char *pszName, bool *pf, bool fDef)
{
    if (!pf)
        return VERR_INVALID_POINTER;
    uint64_t v;
    int rc = CFGMR3QueryIntegerDef(pNode, pszName, &v, fDef);
    *pf = RT_SUCCESS(rc) ? v != 0 : fDef;
    return rc;
}

/* Copies a string value and zero-fills the rest of the buffer. */
static int copy_string(const char *src, size_t cb_src, char *buf, size_t cb)
{
    if (cb < cb_src)
        return VERR_CFGM_NOT_ENOUGH_SPACE;
    memcpy(buf, src, cb_src);
    memset(buf + cb_src, 0, cb - cb_src);
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3QueryString(PCFGMNODE pNode, const char *pszName, char *pszString, size_t cchString)
{
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_FAILURE(rc))
        return rc;
    if (leaf->type != CFGMVALUETYPE_STRING)
        return VERR_CFGM_NOT_STRING;
    if (!pszString && cchString)
        return VERR_INVALID_POINTER;
    return copy_string(leaf->v.str.psz, leaf->v.str.cb, pszString, cchString);
}

VMMR3DECL(int) CFGMR3QueryStringDef(PCFGMNODE pNode, const char *pszName, char *pszString, size_t cchString,
                                    const char *pszDef)
{
    if (!pszString && cchString)
        return VERR_INVALID_POINTER;
    int rc = CFGMR3QueryString(pNode, pszName, pszString, cchString);
    if (RT_SUCCESS(rc) || rc == VERR_CFGM_NOT_ENOUGH_SPACE)
        return rc;

    /* Any other failure: hand out the default; a missing value is success. */
    const char *def = pszDef ? pszDef : "";
    int rc_def = copy_string(def, strlen(def) + 1, pszString, cchString);
    if (is_missing(rc))
        rc = rc_def;
    return rc;
}

VMMR3DECL(int) CFGMR3QueryStringAlloc(PCFGMNODE pNode, const char *pszName, char **ppszString)
{
    if (!ppszString)
        return VERR_INVALID_POINTER;
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_FAILURE(rc))
        return rc;
    if (leaf->type != CFGMVALUETYPE_STRING)
        return VERR_CFGM_NOT_STRING;
    char *copy = malloc(leaf->v.str.cb);
    if (!copy)
        return VERR_NO_MEMORY;
    memcpy(copy, leaf->v.str.psz, leaf->v.str.cb);
    *ppszString = copy;
    return VINF_SUCCESS;
}

VMMR3DECL(int) CFGMR3QueryStringAllocDef(PCFGMNODE pNode, const char *pszName, char **ppszString, const char *pszDef)
{
    if (!ppszString)
        return VERR_INVALID_POINTER;
    *ppszString = NULL;
    int rc = CFGMR3QueryStringAlloc(pNode, pszName, ppszString);
    if (RT_SUCCESS(rc) || rc == VERR_NO_MEMORY)
        return rc;

    /* Any other failure: a copy of the default (NULL stays NULL). */
    if (pszDef) {
        *ppszString = strdup(pszDef);
        if (!*ppszString)
            return VERR_NO_MEMORY;
    }
    return is_missing(rc) ? VINF_SUCCESS : rc;
}

VMMR3DECL(int) CFGMR3QueryBytes(PCFGMNODE pNode, const char *pszName, void *pvData, size_t cbData)
{
    PCFGMLEAF leaf;
    int rc = resolve_leaf(pNode, pszName, &leaf);
    if (RT_FAILURE(rc))
        return rc;
    if (leaf->type != CFGMVALUETYPE_BYTES)
        return VERR_CFGM_NOT_BYTES;
    size_t cb = leaf->v.bytes.cb;
    if (cbData < cb)
        return VERR_CFGM_NOT_ENOUGH_SPACE;
    if (!pvData && cbData)
        return VERR_INVALID_POINTER;
    /* Shorter values are zero-padded (a UUID of fewer than 16 bytes, say). */
    if (cb)
        memcpy(pvData, leaf->v.bytes.pb, cb);
    if (cbData > cb)
        memset((uint8_t *)pvData + cb, 0, cbData - cb);
    return VINF_SUCCESS;
}

VMMR3DECL(void) MMR3HeapFree(void *pv)
{
    free(pv);
}

/* --- dump --- */

static void dump_path(FILE *out, PCFGMNODE node)
{
    if (node->parent) {
        dump_path(out, node->parent);
        fprintf(out, "/%s", node->name);
    }
}

static void dump_leaf(FILE *out, PCFGMLEAF leaf)
{
    fprintf(out, "  %s", leaf->name);
    switch (leaf->type) {
    case CFGMVALUETYPE_INTEGER:
        fprintf(out, " <integer> = %#" PRIx64 " (%" PRIu64 ")\n", leaf->v.u64, leaf->v.u64);
        break;
    case CFGMVALUETYPE_STRING:
        fprintf(out, " <string> = \"%s\" (cb=%zu)\n", leaf->v.str.psz, leaf->v.str.cb);
        break;
    case CFGMVALUETYPE_PASSWORD:
        fprintf(out, " <password> = \"***\" (cb=%zu)\n", leaf->v.str.cb);
        break;
    case CFGMVALUETYPE_BYTES:
        fprintf(out, " <bytes> = \"");
        for (size_t i = 0; i < leaf->v.bytes.cb; i++)
            fprintf(out, "%s%02x", i ? " " : "", leaf->v.bytes.pb[i]);
        fprintf(out, "\" (cb=%zu)\n", leaf->v.bytes.cb);
        break;
    }
}

static void dump_node(FILE *out, PCFGMNODE node)
{
    fputc('[', out);
    if (node->parent)
        dump_path(out, node);
    else
        fputc('/', out);
    fputs("]\n", out);
    for (PCFGMLEAF leaf = node->first_leaf; leaf; leaf = leaf->next)
        dump_leaf(out, leaf);
    for (PCFGMNODE child = node->first_child; child; child = child->next)
        dump_node(out, child);
}

VMMR3DECL(void) CFGMR3Dump(PCFGMNODE pRoot)
{
    if (!pRoot) {
        fputs("[CFGM: no node]\n", stderr);
        return;
    }
    dump_node(stderr, pRoot);
}
