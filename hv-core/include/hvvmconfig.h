/*
 * hvvmconfig.h - the VM configuration interface (docs/vm-config.md) in C: the
 * binding's limits and types, the parser/validator that turns an untrusted
 * device-tree blob into them, the cross-VM checks and the guest device tree
 * generator. The clause ids (VMCFG-xxx) refer to docs/vm-config.md.
 *
 * Portable C: compiled for the host (hvctl, unit tests, fuzzing) and for
 * hv-core (freestanding AArch64 at EL2). No allocation, no stdio: every limit
 * below is a fixed array size and is also a clause of docs/vm-config.md
 * (VMCFG-003). Every input is hostile until checked (REQ-SAF-09): a bad blob
 * yields an HVM_E_* status, the id of the clause it breaks and a message that
 * names the VM, the property and the rule, never a crash.
 *
 * Host programs link hv-core's portable sources through hv-core/host.cmake.
 */
#ifndef HVVMCONFIG_H
#define HVVMCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvmgmt.h"

/* VMCFG-003: limits. */
#define VMCFG_NAME_MAX 31u /* characters in a VM name, without the NUL   */
#define VMCFG_MAX_VCPUS 8u
#define VMCFG_MAX_PCPUS 64u      /* physical CPU ids 0..63 (pcpu_mask is u64)  */
#define VMCFG_MAX_MEM 8u         /* memory regions per VM                      */
#define VMCFG_MAX_DEVS 8u        /* pass-through devices per VM                */
#define VMCFG_MAX_DEV_RANGES 4u  /* MMIO ranges per pass-through device        */
#define VMCFG_MAX_DEV_SPIS 8u    /* SPIs per pass-through device               */
#define VMCFG_MAX_CHANNELS 8u    /* inter-VM channels per VM                   */
#define VMCFG_MAX_CHANNEL_ID 15u /* channel-id is 0..15                        */
#define VMCFG_MAX_SPI 987u       /* SPI n is INTID 32 + n; INTID 1019 is last  */
#define VMCFG_BOOTARGS_MAX 255u  /* characters, without the NUL                */
#define VMCFG_MAX_VMS HVM_MAX_VMS
#define VMCFG_PAGE 0x1000ull
#define VMCFG_IPA_LIMIT (1ull << 40) /* guest-physical space: 40-bit IPA    */
#define VMCFG_PA_LIMIT (1ull << 48)
#define VMCFG_FDT_SIZE 0x10000ull /* room reserved for the guest DTB     */
#define VMCFG_WATCHDOG_MIN_MS 10u
#define VMCFG_WATCHDOG_MAX_MS 3600000u
#define VMCFG_STOP_GRACE_MAX_MS 10000u   /* VMCFG-331 */
#define VMCFG_OTA_CONFIRM_MIN_MS 100u    /* VMCFG-600 */
#define VMCFG_OTA_CONFIRM_MAX_MS 600000u /* VMCFG-600 */
#define VMCFG_OTA_SLOT_MAX 0x40000000ull /* VMCFG-602: 1 GiB */
#define VMCFG_RESTART_MAX 100u
#define VMCFG_WINDOW_MAX_MS 86400000u
#define VMCFG_BOOT_ORDER_MAX 65535u
#define VMCFG_NO_SPI 0xFFFFFFFFu
/* VMCFG-701: doorbells a channel end may ring per second */
#define VMCFG_DOORBELL_RATE_DEFAULT 10000u
#define VMCFG_DOORBELL_RATE_MAX 1000000u
#define VMCFG_FRAME_RATE_DEFAULT 10000u /* VMCFG-850: virtio-net frames per second */
#define VMCFG_FRAME_RATE_MAX 1000000u
#define VMCFG_BLK_DISK_MIN 0x10000ull   /* VMCFG-851: 64 KiB                    */
#define VMCFG_BLK_DISK_MAX (1ull << 40) /* 1 TiB                                */
#define VMCFG_MAX_VIRTIO 4u             /* VIRTIO devices per VM (VMCFG-480)    */
#define VMCFG_VIRTIO_WINDOW 0x200ull    /* bytes of a virtio-mmio window          */
/* VMCFG-027: where the management VM sees the management region
 * (docs/mgmt-abi.md MGMT-210); no window of that VM may overlap it. */
#define VMCFG_MGMT_IPA 0x41000000ull
#define VMCFG_MGMT_SIZE 0x00100000ull

/* VMCFG-010: compatible strings. */
#define VMCFG_COMPAT_VM "avirt,vm-config-v1"
#define VMCFG_COMPAT_SYSTEM "avirt,system-config-v1"
#define VMCFG_COMPAT_PASSTHROUGH "avirt,passthrough-v1"
#define VMCFG_COMPAT_VUART "avirt,vuart-v1"
#define VMCFG_COMPAT_CHANNEL "avirt,channel-v1"
#define VMCFG_COMPAT_VIRTIO "virtio,mmio"

/* VMCFG-022: criticality, numbered as hvm_vm_slot.criticality. */
enum vmcfg_criticality {
	VMCFG_QM = 0,
	VMCFG_ASIL_A = 1,
	VMCFG_ASIL_B = 2,
	VMCFG_ASIL_C = 3,
	VMCFG_ASIL_D = 4
};

/* VMCFG-023: fault policy, numbered as hvm_vm_slot.fault_policy. */
enum vmcfg_fault_policy {
	VMCFG_FP_IGNORE = 0,
	VMCFG_FP_STOP = 1,
	VMCFG_FP_RESTART = 2,
	VMCFG_FP_STOP_VCPU = 3 /* VMCFG-330 */
};

/* VMCFG-700: the response to a stage-2 abort, per error type (REQ-SAF-18). */
enum vmcfg_abort_policy {
	VMCFG_AP_POLICY = 0, /* the VM's fault-policy                           */
	VMCFG_AP_INJECT = 1  /* a synchronous external abort in the guest      */
};

/* VMCFG-070: channel rights bits. */
#define VMCFG_R_READ 0x1u
#define VMCFG_R_WRITE 0x2u
#define VMCFG_R_DOORBELL_SEND 0x4u

/* One mapping: guest-physical (IPA) base, physical base, size in bytes. */
struct vmcfg_range {
	uint64_t ipa;
	uint64_t pa;
	uint64_t size;
};

/* VMCFG-060: a device handed to the VM: its MMIO ranges and its SPIs. */
struct vmcfg_dev {
	char name[32]; /* node name, for messages */
	uint32_t nreg;
	struct vmcfg_range reg[VMCFG_MAX_DEV_RANGES];
	uint32_t nspi;
	uint32_t spi[VMCFG_MAX_DEV_SPIS]; /* SPI numbers (INTID - 32) */
};

/* VMCFG-070: one end of an inter-VM channel. */
struct vmcfg_channel {
	char peer[VMCFG_NAME_MAX + 1];
	uint32_t id;            /* channel-id: the x1 of HVG_HC_DOORBELL           */
	uint32_t rights;        /* VMCFG_R_* bits                                  */
	uint32_t doorbell_spi;  /* virtual SPI raised by the peer's doorbell, or
	                           VMCFG_NO_SPI when this end receives none        */
	uint32_t doorbell_rate; /* VMCFG-701: rings per second this end may send */
	struct vmcfg_range shm; /* shared memory: this VM's IPA, the common PA     */
};

/* VMCFG-480: a VIRTIO device served over virtio-mmio. */
struct vmcfg_virtio {
	char name[32];       /* node name, for messages                       */
	uint32_t type;       /* VIRTIO device id: 1 net, 3 console, 4 rng     */
	uint64_t ipa;        /* register window, VMCFG_VIRTIO_WINDOW bytes     */
	uint32_t spi;        /* its interrupt (INTID 32 + spi), edge-triggered */
	uint32_t channel;    /* "net": the channel-id of its channel end     */
	uint32_t frame_rate; /* "net": frames per second it may send (VMCFG-850) */
	uint64_t disk_size;  /* "blk": bytes of its disk (VMCFG-851)           */
};

/* VMCFG-050..054: what to load and how to enter the guest. */
struct vmcfg_boot {
	uint64_t entry;       /* IPA of the first instruction                  */
	uint64_t load_ipa;    /* IPA the image is copied to                    */
	uint64_t image_size;  /* bytes                                         */
	uint64_t image_store; /* PA where the image lies, 0 = LOAD_IMAGE staging */
	uint8_t image_sha256[32];
	bool has_initrd;
	uint64_t initrd_ipa;
	uint64_t initrd_size;
	uint64_t initrd_store; /* PA, 0 = LOAD_IMAGE staging                    */
	uint8_t initrd_sha256[32];
	uint64_t fdt_ipa; /* where the guest DTB goes (VMCFG_FDT_SIZE room) */
	char bootargs[VMCFG_BOOTARGS_MAX + 1];
};

/* One VM, fully validated on its own (VMCFG-020..071). */
struct vmcfg {
	char name[VMCFG_NAME_MAX + 1];
	uint8_t uuid[16]; /* all zero = not assigned                       */
	uint32_t vcpus;
	uint32_t pcpu[VMCFG_MAX_VCPUS]; /* vCPU i runs on physical CPU pcpu[i]     */
	uint64_t pcpu_mask;
	uint32_t nmem;
	struct vmcfg_range mem[VMCFG_MAX_MEM];
	uint32_t ndev;
	struct vmcfg_dev dev[VMCFG_MAX_DEVS];
	bool vuart;
	uint32_t nchan;
	struct vmcfg_channel chan[VMCFG_MAX_CHANNELS];
	uint32_t criticality;  /* enum vmcfg_criticality                        */
	uint32_t fault_policy; /* enum vmcfg_fault_policy                       */
	uint32_t watchdog_ms;  /* 0 = no watchdog                               */
	uint32_t restart_max;  /* restarts allowed within restart_window_ms     */
	uint32_t restart_window_ms;
	uint32_t boot_order;
	bool autostart;
	bool management; /* VMCFG-027: drives the hypervisor (at most one) */
	struct vmcfg_boot boot;
	uint32_t stop_grace_ms;  /* VMCFG-331: time to save safety data, 0 = none */
	uint32_t abort_policy;   /* VMCFG-700: enum vmcfg_abort_policy           */
	uint32_t ota_confirm_ms; /* VMCFG-600: trial confirmation window, 0 = default */
	/* VMCFG-602: bytes of each OTA image and initrd slot, 0 = default */
	uint64_t ota_slot_size, ota_initrd_slot_size;
	uint32_t nvirtio; /* VMCFG-480 */
	struct vmcfg_virtio virtio[VMCFG_MAX_VIRTIO];
};

/* A physical address range of the platform. */
struct vmcfg_pa_range {
	uint64_t base;
	uint64_t size;
};

#define VMCFG_PLAT_MAX_RANGES 8u

/* Platform facts for the cross-VM checks (REQ-STD-06: taken from the platform
 * device tree by hv-core, never compiled in). */
struct vmcfg_platform {
	uint32_t pcpu_count;        /* physical CPUs present                     */
	uint64_t reserved_cpu_mask; /* CPUs no guest may use (hypervisor, ...)   */
	uint32_t spi_count;         /* SPIs the GIC implements; 0 = don't check  */
	uint32_t nram;
	struct vmcfg_pa_range ram[VMCFG_PLAT_MAX_RANGES];
	uint32_t nreserved; /* hypervisor image, management region, ...  */
	struct vmcfg_pa_range reserved[VMCFG_PLAT_MAX_RANGES];
};

/* An error: the HVM_E_* status, the clause broken and a readable reason. */
struct vmcfg_err {
	int code;         /* enum hvm_status; HVM_OK when no error             */
	const char *rule; /* "VMCFG-041", or "" when no error                  */
	char msg[128];    /* "vm 'nav': memory region 1 overlaps region 0 ..." */
	/* VMCFG-455: an admission refusal says first which resource is taken
	 * and by whom, short enough for ret_msg (MGMT-030: 64 bytes):
	 * "CPU 2 held by 'brake'". Empty for other refusals. */
	char held[48];
};

/* VMCFG-001: check that [fdt, fdt+len) is a well-formed device tree blob that
 * the read functions of libfdt can walk safely. */
int vmcfg_check_blob(const void *fdt, size_t len, struct vmcfg_err *err);

/* Parse and validate the VM node at offset `node` of the blob (0 for the root
 * of a single-VM blob; a child of /vms in a system blob). Checks the blob
 * itself first (VMCFG-001). Returns HVM_OK or an HVM_E_* code; on error *out
 * is unspecified and err says why. */
int vmcfg_parse(const void *fdt, size_t len, int node, struct vmcfg *out, struct vmcfg_err *err);

/* The same for a blob vmcfg_check_blob() has already accepted. */
int vmcfg_parse_node(const void *fdt, int node, struct vmcfg *out, struct vmcfg_err *err);

/* Parse a whole system configuration (VMCFG-011) or a single-VM blob, validate
 * every VM alone, then against each other and the platform (VMCFG-080..087).
 * Fills out[0..*count). plat may be NULL to skip the platform checks. */
int vmcfg_parse_system(const void *fdt, size_t len, struct vmcfg *out, size_t max, size_t *count,
		       const struct vmcfg_platform *plat, struct vmcfg_err *err);

/* Cross-VM checks of a new VM against VMs already defined and the platform
 * (VMCFG-080..086): what DEFINE runs. A channel whose peer is not among
 * `existing` is accepted (VMCFG-087); plat may be NULL. */
int vmcfg_check_against(const struct vmcfg *cfg, const struct vmcfg *existing, size_t n,
			const struct vmcfg_platform *plat, struct vmcfg_err *err);

/* VMCFG-087: every channel of cfg has its peer among `all` with a matching end.
 * What a whole system configuration requires, and what START requires. */
int vmcfg_check_channels(const struct vmcfg *cfg, const struct vmcfg *all, size_t n,
			 struct vmcfg_err *err);

/* Names of the enumerations, for messages and for writers of configurations. */
const char *vmcfg_criticality_name(uint32_t c);
const char *vmcfg_fault_policy_name(uint32_t p);
/* VMCFG-480: the `device` word of a VIRTIO device id ("rng", "console"), or
 * NULL for a type this version does not serve. */
const char *vmcfg_virtio_type_name(uint32_t type);

/* Fill err with code, rule and a message formatted like printf (the
 * conversions of hv-core's lib/fmt.h) followed by " (<rule>)", cut to fit
 * err->msg. Always returns code; err may be NULL. */
int vmcfg_fail(struct vmcfg_err *err, int code, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* err says "no error": HVM_OK, rule "", empty message. */
void vmcfg_err_clear(struct vmcfg_err *err);
/* VMCFG-455: fills err->held (after vmcfg_fail) and returns err->code. */
int vmcfg_held(struct vmcfg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the guest device tree (VMCFG-090..098) -------------------------------
 * Built from a validated configuration and the platform's facts. The platform
 * facts (GIC, UART, timer interrupts, where the cooperation page sits) come
 * from the caller, who takes them from the platform device tree (REQ-STD-06);
 * nothing board-specific is compiled in. */

/* What the guest sees of the machine, all as guest-physical addresses.
 * QEMU virt values in parentheses (docs/vm-config.md, VMCFG-091). */
struct guest_fdt_platform {
	uint64_t gicd_ipa;      /* GICv3 distributor (0x08000000)               */
	uint64_t gicd_size;     /* (0x10000)                                    */
	uint64_t gicr_ipa;      /* first redistributor (0x080A0000)             */
	uint64_t gicr_stride;   /* bytes per vCPU's redistributor (0x20000)     */
	uint64_t uart_ipa;      /* virtual PL011 (0x09000000)                   */
	uint64_t uart_size;     /* (0x1000)                                     */
	uint32_t uart_spi;      /* SPI number of the PL011 (1, INTID 33)        */
	uint32_t uart_clock_hz; /* the fixed clock feeding it (24000000)        */
	/* arch timer PPIs (INTID - 16), in the order of the arm,armv8-timer
	 * binding: secure physical, non-secure physical, virtual, hypervisor
	 * (13, 14, 11, 10) */
	uint32_t timer_ppi[4];
	uint64_t coop_ipa; /* the VM's cooperation page, 4 KiB (GABI-010)  */
	/* VMCFG-098: where the management VM sees the management region
	 * (VMCFG_MGMT_IPA, VMCFG_MGMT_SIZE); used only for that VM */
	uint64_t mgmt_ipa;
	uint64_t mgmt_size;
};

/* Write the guest's device tree (a complete DTB) into buf. The management VM
 * (cfg->management, VMCFG-027) also gets /reserved-memory/hv-mgmt@<ipa>
 * (docs/mgmt-abi.md MGMT-003); plat->mgmt_size 0 then refuses (HVM_E_BAD_ARG). Returns HVM_OK, or
 * HVM_E_BAD_ARG (no room, bad arguments), HVM_E_OVERLAP (a platform window
 * collides with the VM's memory or channels) or HVM_E_INTERNAL, with err set. */
int guest_fdt_build(const struct vmcfg *cfg, const struct guest_fdt_platform *plat, void *buf,
		    size_t bufsize, struct vmcfg_err *err);

#endif /* HVVMCONFIG_H */
