/*
 * VMR3ConsoleInput (Petrel extension): an embedder types into the guest's
 * console.  The `petrel` CLI uses it on a TTY, where it reads stdin itself
 * to handle its Ctrl-A escapes; the serial port then uses the "stdout" back
 * end, which reads nothing.
 */
#include "vm_internal.h"

#include "../devices/uart16550.h"

VMMR3DECL(int) VMR3ConsoleInput(PUVM pUVM, const void *pvBuf, size_t cbBuf, size_t *pcbTaken)
{
    PVM vm = uvm_vm(pUVM);
    if (!vm)
        return VERR_INVALID_VM_HANDLE;
    if ((!pvBuf && cbBuf) || !pcbTaken)
        return VERR_INVALID_POINTER;
    *pcbTaken = 0;
    struct uart16550 *uart = uart16550_of_vm(vm);
    if (!uart)
        return VERR_NOT_FOUND;
    if (cbBuf)
        *pcbTaken = uart16550_receive(uart, pvBuf, cbBuf);
    return VINF_SUCCESS;
}
