/*
 * mgmt_page.h - a management VM's accesses to hv-core's trapped register
 * page (docs/mgmt-abi.md MGMT-210..213), shared by the mgmt-client and
 * mgmt-relay guests. The including file defines `static uintptr_t regs`,
 * the page's IPA, before including this header.
 *
 * Every access is one naturally aligned LDR/STR (or STLR) without writeback,
 * written in assembly: an access the hypervisor cannot decode from its
 * syndrome is a fault (MGMT-212), and a compiler is free to use LDP/STP or
 * post-indexed forms on plain C accesses.
 */
#ifndef GUEST_MGMT_PAGE_H
#define GUEST_MGMT_PAGE_H

#include <stdint.h>

#include "hvmgmt.h"

static inline uint32_t r32(uint32_t off)
{
	uint32_t v;
	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(regs + off) : "memory");
	return v;
}

static inline uint64_t r64(uint32_t off)
{
	uint64_t v;
	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(regs + off) : "memory");
	return v;
}

static inline uint8_t r8(uint32_t off)
{
	uint32_t v;
	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(regs + off) : "memory");
	return (uint8_t)v;
}

static inline void w32(uint32_t off, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "rZ"(v), "r"(regs + off) : "memory");
}

static inline void w64(uint32_t off, uint64_t v)
{
	__asm__ volatile("str %x0, [%1]" : : "rZ"(v), "r"(regs + off) : "memory");
}

static inline void w32_release(uint32_t off, uint32_t v)
{
	__asm__ volatile("stlr %w0, [%1]" : : "rZ"(v), "r"(regs + off) : "memory");
}

#define OFF(f) ((uint32_t) __builtin_offsetof(struct hvm_regs, f))

#endif /* GUEST_MGMT_PAGE_H */
