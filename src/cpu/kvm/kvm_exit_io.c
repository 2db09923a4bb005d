/*
 * Port-I/O and MMIO exits: the data lives in the shared kvm_run page, whose
 * offsets and counts come from the guest's instruction, so they are checked
 * against the mapping before use.
 */
#include "kvm_internal.h"

#include <string.h>

#include <vmm/err.h>

int kvm_exit_io(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    struct kvm_run *run = kv->run;
    unsigned size = run->io.size;
    uint64_t count = run->io.count;
    uint64_t off = run->io.data_offset;
    if ((size != 1 && size != 2 && size != 4) || count == 0
        || off > (uint64_t)kv->run_size || count * size > (uint64_t)kv->run_size - off)
        return kvm_guru(vcpu, VERR_NEM_IPE_0, "malformed KVM_EXIT_IO: port %#x size %u count %llu offset %llu",
                        run->io.port, size, (unsigned long long)count, (unsigned long long)off);
    uint8_t *data = (uint8_t *)run + off;
    struct io_bus *bus = vcpu->pVM->io;
    uint16_t port = run->io.port;
    if (run->io.direction == KVM_EXIT_IO_OUT) {
        for (uint64_t i = 0; i < count; i++) {
            uint32_t v = 0;
            memcpy(&v, data + i * size, size);
            io_bus_port_write(bus, port, size, v);
        }
    } else {
        for (uint64_t i = 0; i < count; i++) {
            uint32_t v = io_bus_port_read(bus, port, size);
            memcpy(data + i * size, &v, size);
        }
    }
    return VINF_SUCCESS;
}

/* KVM reports lengths 1..8; odd lengths (from unusual instructions) go byte by byte. */
int kvm_exit_mmio(PVMCPU vcpu, struct kvm_vcpu *kv)
{
    struct kvm_run *run = kv->run;
    unsigned len = run->mmio.len;
    uint64_t gpa = run->mmio.phys_addr;
    struct io_bus *bus = vcpu->pVM->io;
    if (len == 0 || len > sizeof(run->mmio.data))
        return kvm_guru(vcpu, VERR_NEM_IPE_0, "malformed KVM_EXIT_MMIO: gpa %#llx length %u",
                        (unsigned long long)gpa, len);
    bool whole = len == 1 || len == 2 || len == 4 || len == 8;
    if (run->mmio.is_write) {
        uint64_t v = 0;
        memcpy(&v, run->mmio.data, len);
        if (whole)
            io_bus_mmio_write(bus, gpa, len, v);
        else
            for (unsigned i = 0; i < len; i++)
                io_bus_mmio_write(bus, gpa + i, 1, (v >> (8 * i)) & 0xff);
    } else {
        uint64_t v = 0;
        if (whole)
            v = io_bus_mmio_read(bus, gpa, len);
        else
            for (unsigned i = 0; i < len; i++)
                v |= (io_bus_mmio_read(bus, gpa + i, 1) & 0xff) << (8 * i);
        memcpy(run->mmio.data, &v, len);
    }
    return VINF_SUCCESS;
}
