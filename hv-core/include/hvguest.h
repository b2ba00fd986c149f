/*
 * hvguest.h - the hypervisor <-> guest cooperation interface (docs/guest-abi.md).
 *
 * Compiled by hv-core, by the test guests in hv-core/guests/ and by anything that
 * wants to read a cooperation page. The clause ids (GABI-xxx) refer to
 * docs/guest-abi.md. Only fixed-width little-endian fields, so a guest written
 * in any language (or a shell script with busybox devmem) can use it.
 */
#ifndef HVGUEST_H
#define HVGUEST_H

#include <stdint.h>

/* GABI-010: discovery. The guest device tree carries a node
 *   hypervisor { compatible = "avirt,hypervisor-v1"; reg = <coop page IPA, 4 KiB>; };
 * and the SMCCC vendor-specific hypervisor service answers CALL_UID with this UID
 * (x0..x3, each a 32-bit word). */
#define HVG_UID_W0 0x7A8E1C35u
#define HVG_UID_W1 0x4A9B6D02u
#define HVG_UID_W2 0x9E51F3B4u
#define HVG_UID_W3 0x1C2D3E4Fu

/* GABI-011: SMCCC function ids the hypervisor answers. */
#define SMCCC_VERSION 0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define HVG_CALL_COUNT 0x8600FF00u
#define HVG_CALL_UID 0x8600FF01u
#define HVG_CALL_REVISION 0x8600FF03u
#define SMCCC_NOT_SUPPORTED (-1)

/* GABI-030: hypercalls (SMC64/HVC64, vendor-specific hypervisor service, owner 6).
 * x0 = function id, x1.. = arguments; x0 = status on return (0 ok, <0 error). */
#define HVG_HC_NULL 0xC6000000u         /* no-op round trip                        */
#define HVG_HC_COOP_PAGE 0xC6000001u    /* x1 <- IPA of the cooperation page         */
#define HVG_HC_DOORBELL 0xC6000002u     /* x1 = channel id: ring the peer            */
#define HVG_HC_FAULT_REPORT 0xC6000003u /* x1 = health/fault code: guest-detected    */
#define HVG_HC_CONSOLE_PUTC 0xC6000004u /* x1 = byte: early console without a UART   */
#define HVG_HC_COUNT 5u

#define HVG_HC_E_INVALID (-2) /* invalid parameter                               */
#define HVG_HC_E_DENIED (-3)  /* not granted by the VM's configuration           */
#define HVG_HC_E_BUSY (-4)    /* over the channel's doorbell rate: ring later    */

/* GABI-020: the cooperation page, one 4 KiB page per VM, mapped read-write in
 * the guest. "hv" fields are written by hv-core only, "guest" fields by the guest
 * only. Magic "HVCP" as a little-endian u32. */
#define HVG_COOP_MAGIC 0x50435648u
#define HVG_COOP_MAJOR 1u
#define HVG_COOP_MINOR                                                                             \
	2u /* 1.1: vcpus_stopped, stop hook (GABI-330, -331), vehicle state (GABI-400);
	      1.2: selftest_failed (GABI-701) */

enum hvg_guest_state {
	HVG_GS_UNKNOWN = 0,
	HVG_GS_BOOTING = 1,
	HVG_GS_RUNNING = 2,
	HVG_GS_SHUTTING_DOWN = 3, /* saving its data after a shutdown request */
	HVG_GS_READY_FOR_OFF = 4  /* may be stopped now                       */
};

enum hvg_request {
	HVG_REQ_NONE = 0,
	HVG_REQ_SHUTDOWN = 1,     /* please power off (REQ-SAF-21)  */
	HVG_REQ_REBOOT = 2,       /* please restart (GABI-025)      */
	HVG_REQ_STOP_IMMINENT = 3 /* hv-core is about to stop or restart the VM:
				     save safety data now (GABI-331) */
};

/* GABI-331: the virtual interrupt (a PPI) that comes with HVG_REQ_STOP_IMMINENT. */
#define HVG_STOP_HOOK_INTID 21u

struct hvg_coop_page {
	uint32_t magic;            /* 0x00 hv: HVG_COOP_MAGIC                     */
	uint16_t major;            /* 0x04 hv                                     */
	uint16_t minor;            /* 0x06 hv                                     */
	uint32_t size;             /* 0x08 hv: 4096                               */
	uint32_t vm_id;            /* 0x0C hv                                     */
	uint64_t heartbeat;        /* 0x10 guest: incremented while healthy       */
	uint32_t guest_state;      /* 0x18 guest: enum hvg_guest_state            */
	uint32_t health_code;      /* 0x1C guest: 0 healthy, else guest-defined   */
	char image_version[32];    /* 0x20 guest: NUL-terminated version string   */
	uint32_t hv_request;       /* 0x40 hv: enum hvg_request                   */
	uint32_t hv_request_seq;   /* 0x44 hv: incremented with each request      */
	uint32_t guest_ack_seq;    /* 0x48 guest: the hv_request_seq it accepted  */
	uint32_t watchdog_ms;      /* 0x4C hv: heartbeat timeout, 0 = none        */
	uint64_t hv_time_ns;       /* 0x50 hv: hypervisor uptime, refreshed       */
	uint32_t doorbells[16];    /* 0x58 hv: per channel id, doorbells the peer
	                              rang (wrapping count, GABI-032); taken from
	                              reserved space, which read as zero before  */
	uint32_t vcpus_stopped;    /* 0x98 hv: bit n set = vCPU n was stopped by the
	                              fault policy stop-vcpu (GABI-330); cleared
	                              when the VM boots and by PSCI CPU_ON of it */
	uint32_t stop_reason;      /* 0x9C hv: with STOP_IMMINENT, the fault kind
	                              (docs/mgmt-abi.md MGMT-060) (GABI-331) */
	uint64_t stop_deadline_ns; /* 0xA0 hv: hv_time_ns when the stop happens */
	uint32_t selftest_failed;  /* 0xA8 hv: hv-core's boot self-test, bit n set
	                              = check n failed (GABI-701; minor 2)      */
	uint8_t _rsvd[0x100 - 0xAC];
	/* GABI-400: written by the vehicle-state source VM (VMCFG-402) only:
	 * the state (enum hvm_vehicle_state of hvmgmt.h), then the sequence
	 * counter incremented with release ordering, at least once per
	 * freshness period even when the state is unchanged */
	uint32_t vehicle_state; /* 0x100 guest                                 */
	uint32_t vehicle_seq;   /* 0x104 guest                                 */
	uint8_t _rsvd2[4096 - 0x108];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct hvg_coop_page) == 4096, "cooperation page is 4 KiB");
#endif

#endif /* HVGUEST_H */
