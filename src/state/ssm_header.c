/*
 * The stream header: magic, format version, Petrel version and the machine
 * fingerprint, closed by a CRC-32C of the header itself.
 */
#include <string.h>

#include <vmm/err.h>

#include "crc32c.h"
#include "ssm_format.h"

int ssm_header_write(struct ssm_writer *w, const struct ssm_header *h)
{
    uint8_t b[SSM_HEADER_SIZE] = { 0 };
    memcpy(b, SSM_MAGIC, SSM_MAGIC_SIZE);
    ssm_put_u32(b + 8, h->format_version);
    ssm_put_u32(b + 12, SSM_HEADER_SIZE);
    for (size_t i = 0; i < SSM_VERSION_SIZE - 1 && h->petrel_version[i]; i++)   /* NUL-padded: b is zeroed */
        b[16 + i] = (uint8_t)h->petrel_version[i];
    ssm_put_u64(b + 48, h->fp.ram_size);
    ssm_put_u64(b + 56, h->fp.ram_low_size);
    ssm_put_u64(b + 64, h->fp.ram_hole_size);
    ssm_put_u32(b + 72, h->fp.vcpu_count);
    ssm_put_u32(b + 76, SSM_CPUID_WORDS);
    for (unsigned i = 0; i < SSM_CPUID_WORDS; i++)
        ssm_put_u32(b + 80 + (size_t)4 * i, h->fp.cpuid[i]);
    ssm_put_u32(b + 124, crc32c(0, b, 124));
    return ssm_write(w, b, sizeof(b));
}

int ssm_header_read(struct ssm_reader *r, struct ssm_header *h)
{
    uint8_t b[SSM_HEADER_SIZE];
    int rc = ssm_read(r, b, sizeof(b), "header");
    if (rc == VERR_EOF)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_SIZE, "header at offset 0: the stream is empty");
    if (RT_FAILURE(rc))
        return rc;
    if (memcmp(b, SSM_MAGIC, SSM_MAGIC_SIZE) != 0)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_MAGIC,
                               "header at offset 0: this is not a Petrel saved state (bad magic)");
    h->format_version = ssm_get_u32(b + 8);
    if (h->format_version != SSM_FORMAT_VERSION)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_VERSION, "header at offset 8: format version %u is not "
                               "known to this Petrel (it reads version %u)", h->format_version, SSM_FORMAT_VERSION);
    if (!ssm_crc_ok(crc32c(0, b, 124), ssm_get_u32(b + 124)))
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_HEADER, "header at offset 0: checksum mismatch");
    if (ssm_get_u32(b + 12) != SSM_HEADER_SIZE || ssm_get_u32(b + 76) != SSM_CPUID_WORDS)
        return ssm_reader_fail(r, VERR_SSM_INTEGRITY_HEADER, "header at offset 12: unexpected header layout");
    memcpy(h->petrel_version, b + 16, SSM_VERSION_SIZE);
    h->petrel_version[SSM_VERSION_SIZE - 1] = '\0';
    h->fp.ram_size = ssm_get_u64(b + 48);
    h->fp.ram_low_size = ssm_get_u64(b + 56);
    h->fp.ram_hole_size = ssm_get_u64(b + 64);
    h->fp.vcpu_count = ssm_get_u32(b + 72);
    for (unsigned i = 0; i < SSM_CPUID_WORDS; i++)
        h->fp.cpuid[i] = ssm_get_u32(b + 80 + (size_t)4 * i);
    return VINF_SUCCESS;
}

/*
 * RAM layout and vCPU count must be equal.  CPU features: the guest may
 * rely on everything it was shown, so every saved feature bit must be
 * offered by the target (the target may offer more).
 */
int ssm_fingerprint_check(struct ssm_reader *r, const struct ssm_fingerprint *saved,
                          const struct ssm_fingerprint *target)
{
    if (saved->ram_size != target->ram_size || saved->ram_low_size != target->ram_low_size ||
        saved->ram_hole_size != target->ram_hole_size)
        return ssm_reader_fail(r, VERR_SSM_LOAD_MEMORY_SIZE_MISMATCH,
                               "header at offset 48: the state has %llu MiB of RAM (%llu MiB below the %llu MiB "
                               "hole), this VM %llu MiB (%llu MiB below a %llu MiB hole)",
                               (unsigned long long)(saved->ram_size >> 20), (unsigned long long)(saved->ram_low_size >> 20),
                               (unsigned long long)(saved->ram_hole_size >> 20), (unsigned long long)(target->ram_size >> 20),
                               (unsigned long long)(target->ram_low_size >> 20), (unsigned long long)(target->ram_hole_size >> 20));
    if (saved->vcpu_count != target->vcpu_count)
        return ssm_reader_fail(r, VERR_SSM_LOAD_CONFIG_MISMATCH, "header at offset 72: the state has %u vCPUs, "
                               "this VM %u", saved->vcpu_count, target->vcpu_count);
    for (unsigned i = 0; i < SSM_CPUID_WORDS; i++) {
        uint32_t missing = saved->cpuid[i] & ~target->cpuid[i];
        if (missing)
            return ssm_reader_fail(r, VERR_SSM_LOAD_CPUID_MISMATCH, "header at offset %u: CPU feature word %u has "
                                   "bits %#x that this VM's engine does not offer", 80 + 4 * i, i, missing);
    }
    return VINF_SUCCESS;
}
