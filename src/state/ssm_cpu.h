/*
 * The "cpu" unit: one per vCPU (instance = vCPU id), the engine-neutral
 * struct cpu_state field by field, so either engine can load it.
 */
#ifndef PETREL_SSM_CPU_H
#define PETREL_SSM_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu/cpu_state.h"

#define SSM_CPU_UNIT_NAME    "cpu"
#define SSM_CPU_UNIT_VERSION 3u
#define SSM_CPU_PAYLOAD_MAX  8192u

/* Encodes st into buf; returns the payload length (0 if buf is too small). */
size_t ssm_cpu_encode(const struct cpu_state *st, uint8_t *buf, size_t size);
/* Decodes and validates; false if the payload is short, long or has a bad value. */
bool   ssm_cpu_decode(struct cpu_state *st, const uint8_t *buf, size_t len);

#endif /* PETREL_SSM_CPU_H */
