/*
 * The KVM execution engine as seen from src/cpu/ (engine selection).
 * Nothing outside src/cpu/ includes this.
 */
#ifndef PETREL_KVM_ENGINE_H
#define PETREL_KVM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "../engine.h"

extern const struct engine_ops kvm_engine_ops;

/* True if /dev/kvm can be opened; otherwise why says what to do. */
bool kvm_engine_available(char *why, size_t why_size);

#endif /* PETREL_KVM_ENGINE_H */
