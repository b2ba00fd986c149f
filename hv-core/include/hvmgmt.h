/*
 * hvmgmt.h - the management register interface of hv-core (docs/mgmt-abi.md).
 *
 * This is the one header that both sides compile: hv-core (AArch64, freestanding)
 * and hv-agent's hvlink (host, hosted C). It describes the management region:
 * a register page, an event ring, per-VM status slots, per-VM fault records,
 * per-VM console rings and a command data area. Every structure here has the
 * layout given in docs/mgmt-abi.md; the clause ids (MGMT-xxx) are cited where a
 * field is defined. Field names match the document name for name.
 *
 * Only fixed-width little-endian integers and byte arrays appear, so any
 * language can implement either side (REQ-STD-04).
 */
#ifndef HVMGMT_H
#define HVMGMT_H

#include <stdint.h>

/* MGMT-001: the region starts with this magic ("HVMG" read as a little-endian u32). */
#define HVM_MAGIC 0x474D5648u
/* MGMT-002: ABI version. Major changes break readers; minor only adds fields. */
#define HVM_ABI_MAJOR 2u
#define HVM_ABI_MINOR 5u /* 2.0: the fault record starts with magic, version, size (MGMT-162) */
			 /* 2.1: vehicle state and safety policy (MGMT-400..410),
			  *      READ_FAULT_HISTORY (MGMT-330), action VCPU_STOP (MGMT-333) */
			 /* 2.2: action INJECTED (MGMT-700), the slots' image and
			  *      initrd slot sizes (MGMT-701), restart budget in the
			  *      status slot (MGMT-800), WRITE_CONSOLE (MGMT-801),
			  *      faults by kind (MGMT-802), non-volatile
			  *      state and OTA slots (MGMT-600..643) */
			 /* 2.3: AUDIT_SEQ_GET's ret[3], hv-core's boot number
			  *      (MGMT-500) */
			 /* 2.3: update groups (MGMT-650..656): result FAIL_GROUP,
			  *      group_vms in the OTA_STATUS record */
			 /* 2.3: the longest supervision gap (MGMT-710) */
			 /* 2.3: GET_VIRTIO (MGMT-850) */
			 /* 2.4: OTA_INSTALL's arg[3], the initrd slot (MGMT-663) */
			 /* 2.4: START answers at once, event BOOT_FAILED
			  *      (MGMT-713) */
			 /* 2.5: status E_MIXED: image and initrd of
			  *      different bundles (MGMT-664); the initrd
			  *      slots in the OTA_STATUS record (MGMT-665) */

/* MGMT-003: default placement on QEMU virt (RAM base + 16 MiB), 1 MiB long. The
 * physical address is published to the ServiceOS in the device tree hv-core hands
 * on: /reserved-memory/hv-mgmt@41000000, compatible "avirt,mgmt-v1". */
#define HVM_DEFAULT_BASE 0x41000000ull
#define HVM_REGION_SIZE 0x00100000u

/* MGMT-004: fixed offsets inside the region (also published in the register page). */
#define HVM_OFF_REGS 0x00000u     /* struct hvm_regs, 4 KiB                     */
#define HVM_OFF_EVENTS 0x01000u   /* struct hvm_event[HVM_EVENT_COUNT]          */
#define HVM_OFF_SLOTS 0x04000u    /* struct hvm_vm_slot[HVM_MAX_VMS]            */
#define HVM_OFF_FAULTS 0x08000u   /* struct hvm_fault[HVM_MAX_VMS]              */
#define HVM_OFF_CONSOLES 0x10000u /* struct hvm_console[HVM_MAX_VMS]            */
#define HVM_OFF_BLK 0x60000u      /* struct hvm_blk_ring[HVM_MAX_VMS] (MGMT-860) */
#define HVM_OFF_DATA 0x80000u     /* command data area, HVM_DATA_SIZE bytes     */

#define HVM_MAX_VMS 16u
#define HVM_EVENT_COUNT 256u
#define HVM_NAME_LEN 32u
#define HVM_VERSION_LEN 32u
#define HVM_CONSOLE_SIZE (16u * 1024u - 64u) /* ring bytes; header makes it 16 KiB */
#define HVM_DATA_SIZE 0x80000u

/* MGMT-010: hypervisor states (hvm_regs.hv_state). */
enum hvm_hv_state {
	HVM_HV_BOOTING = 0,
	HVM_HV_READY = 1,          /* command interface live                        */
	HVM_HV_SELFTEST_FAILED = 2 /* live, but affected VMs were not started       */
};

/* MGMT-040: VM states, libvirt's vocabulary and numbering. */
enum hvm_vm_state {
	HVM_VM_NOSTATE = 0,
	HVM_VM_RUNNING = 1,
	HVM_VM_BLOCKED = 2,
	HVM_VM_PAUSED = 3,
	HVM_VM_SHUTDOWN = 4, /* being shut down */
	HVM_VM_SHUTOFF = 5,
	HVM_VM_CRASHED = 6
};

/* A set of VM states, for the legality column below. */
#define HVM_ST(s) (1u << (s))
#define HVM_ST_ACTIVE (HVM_ST(HVM_VM_RUNNING) | HVM_ST(HVM_VM_BLOCKED) | HVM_ST(HVM_VM_PAUSED))
#define HVM_ST_STOPPED (HVM_ST(HVM_VM_SHUTOFF) | HVM_ST(HVM_VM_CRASHED))
#define HVM_ST_ANY_DEFINED                                                                         \
	(HVM_ST(HVM_VM_NOSTATE) | HVM_ST_ACTIVE | HVM_ST(HVM_VM_SHUTDOWN) | HVM_ST_STOPPED)

/*
 * MGMT-020, MGMT-045: the command table, the one list both sides expand. A row:
 * X(NAME, code, needs_vm, legal) - needs_vm: vm_id must name a defined VM;
 * legal: the VM states the command is legal in (0 when it names no VM). hv-core's
 * decoder, hv-agent's command names and the test double all read this list, so a
 * new command or a changed rule cannot leave one of them behind.
 */
#define HVM_COMMAND_TABLE(X)                                                                       \
	X(NOP, 0, 0, 0)                                                                            \
	X(GET_INFO, 1, 0, 0)                                                                       \
	X(LIST, 2, 0, 0)                                                                           \
	X(DEFINE, 3, 0, 0)                                                                         \
	X(UNDEFINE, 4, 1, HVM_ST_STOPPED)                                                          \
	X(START, 5, 1, HVM_ST_STOPPED)                                                             \
	X(SHUTDOWN, 6, 1, HVM_ST_ACTIVE)                                                           \
	X(DESTROY, 7, 1, HVM_ST_ACTIVE | HVM_ST(HVM_VM_SHUTDOWN) | HVM_ST(HVM_VM_CRASHED))         \
	/* REBOOT asks the guest, resets at arg[0] ms (MGMT-044) */                                \
	X(REBOOT, 8, 1, HVM_ST(HVM_VM_RUNNING) | HVM_ST(HVM_VM_BLOCKED))                           \
	X(RESET, 9, 1, HVM_ST_ACTIVE | HVM_ST(HVM_VM_CRASHED))                                     \
	X(SUSPEND, 10, 1, HVM_ST(HVM_VM_RUNNING) | HVM_ST(HVM_VM_BLOCKED))                         \
	X(RESUME, 11, 1, HVM_ST(HVM_VM_PAUSED))                                                    \
	X(GET_STATS, 12, 1, HVM_ST_ANY_DEFINED)                                                    \
	X(LOAD_IMAGE, 13, 1, HVM_ST_STOPPED)                                                       \
	X(READ_CONSOLE, 14, 1, HVM_ST_ANY_DEFINED)                                                 \
	X(READ_FAULT, 15, 1, HVM_ST_ANY_DEFINED)                                                   \
	X(SELFTEST_RESULT, 16, 0, 0)                                                               \
	/* the VM's last faults, oldest first (MGMT-330) */                                        \
	X(READ_FAULT_HISTORY, 17, 1, HVM_ST_ANY_DEFINED)                                           \
	/* MGMT-401..404: the vehicle state and the safety policy */                               \
	X(GET_VEHICLE_STATE, 20, 0, 0)                                                             \
	X(SET_VEHICLE_STATE, 21, 0, 0)                                                             \
	X(GET_POLICY, 22, 0, 0)                                                                    \
	X(CHECK_POLICY, 23, 1, HVM_ST_ANY_DEFINED)                                                 \
	/* MGMT-801: bytes into the VM's vUART receive FIFO (typed input) */                       \
	X(WRITE_CONSOLE, 28, 1, HVM_ST_ACTIVE)                                                     \
	/* MGMT-850: a VM's VIRTIO devices and their counters */                                   \
	X(GET_VIRTIO, 32, 1, HVM_ST_ANY_DEFINED)                                                   \
	/* MGMT-600..: hv-core's non-volatile state and the A/B image slots */                     \
	X(AUDIT_SEQ_SET, 36, 0, 0)                                                                 \
	X(AUDIT_SEQ_GET, 37, 0, 0)                                                                 \
	X(OTA_INSTALL, 38, 1, HVM_ST_ANY_DEFINED)                                                  \
	X(OTA_SWITCH, 39, 1, HVM_ST_ACTIVE | HVM_ST_STOPPED)                                       \
	X(OTA_STATUS, 40, 1, HVM_ST_ANY_DEFINED)

/* MGMT-020: commands (hvm_regs.cmd). A libvirt subset by function (REQ-STD-02). */
enum hvm_cmd {
#define HVM_X_ENUM(name, code, needs_vm, legal) HVM_CMD_##name = code,
	HVM_COMMAND_TABLE(HVM_X_ENUM)
#undef HVM_X_ENUM
	HVM_CMD__COUNT
};

/* One row of the command table (MGMT-020, MGMT-045): the name ("START"),
 * whether vm_id must name a defined VM, and the states the command is legal
 * in. NULL for a code that is not a command. */
struct hvm_cmd_info {
	const char *name;
	int needs_vm;
	uint32_t legal;
};

static inline const struct hvm_cmd_info *hvm_cmd_info(uint32_t cmd)
{
	switch (cmd) {
#define HVM_X_INFO(name, code, needs_vm, legal)                                                    \
	case code: {                                                                               \
		static const struct hvm_cmd_info row = { #name, needs_vm, legal };                 \
		return &row;                                                                       \
	}
		HVM_COMMAND_TABLE(HVM_X_INFO)
#undef HVM_X_INFO
	}
	return 0;
}

static inline const char *hvm_cmd_name(uint32_t cmd)
{
	const struct hvm_cmd_info *i = hvm_cmd_info(cmd);
	return i ? i->name : 0;
}

static inline int hvm_cmd_needs_vm(uint32_t cmd)
{
	const struct hvm_cmd_info *i = hvm_cmd_info(cmd);
	return i ? i->needs_vm : 0;
}

static inline uint32_t hvm_cmd_legal_states(uint32_t cmd)
{
	const struct hvm_cmd_info *i = hvm_cmd_info(cmd);
	return i ? i->legal : 0;
}

/* MGMT-021: capability bits (hvm_regs.caps): bit n set = command n supported. */
#define HVM_CAP(cmd) (1ull << (cmd))

/* MGMT-030: status codes (hvm_regs.status). Each names one kind of refusal.
 * A row: X(NAME, code, meaning). */
#define HVM_STATUS_TABLE(X)                                                                        \
	X(OK, 0, "done")                                                                           \
	X(E_UNKNOWN_CMD, 1, "command code not known or not supported")                             \
	X(E_BAD_VM, 2, "VM id out of range or not defined")                                        \
	X(E_STATE, 3, "command illegal in the VM's current state")                                 \
	X(E_BAD_CONFIG, 4, "configuration violates a rule of vm-config.md")                        \
	X(E_OVERLAP, 5, "memory overlaps another VM or the hypervisor")                            \
	X(E_CPU, 6, "CPU absent, over-committed or reserved for safety")                           \
	X(E_CHANNEL, 7, "channel names an unknown VM or bad rights")                               \
	X(E_FDT, 8, "configuration blob is not a valid device tree")                               \
	X(E_BAD_ARG, 9, "argument out of range (offset, length, ...)")                             \
	X(E_NO_SPACE, 10, "VM table full")                                                         \
	X(E_HASH, 11, "image SHA-256 differs from the configuration")                              \
	X(E_EXISTS, 12, "name or uuid already defined")                                            \
	X(E_SELFTEST, 13, "refused: boot self-test failed for this resource")                      \
	X(E_INTERNAL, 14, "hypervisor-side failure, details in ret_msg")                           \
	X(E_POLICY, 15, "refused by the safety policy in the current vehicle state")               \
	X(E_ROLLBACK, 16, "older than what hv-core's non-volatile state holds")                    \
	X(E_NV, 17, "non-volatile storage absent, full or failed")                                 \
	X(E_SIGNATURE, 18, "update manifest not signed by a trusted update signer")                \
	X(E_MIXED, 23, "a VM's image and initrd come from different update bundles")

enum hvm_status {
#define HVM_X_ENUM(name, code, meaning) HVM_##name = code,
	HVM_STATUS_TABLE(HVM_X_ENUM)
#undef HVM_X_ENUM
};

/* The status's name ("E_STATE"), or NULL for a code that is not a status. */
static inline const char *hvm_status_name(uint32_t status)
{
	switch (status) {
#define HVM_X_NAME(name, code, meaning)                                                            \
	case code:                                                                                 \
		return #name;
		HVM_STATUS_TABLE(HVM_X_NAME)
#undef HVM_X_NAME
	}
	return 0;
}

/* MGMT-040: the state's name ("RUNNING"), or NULL. */
static inline const char *hvm_vm_state_name(uint32_t st)
{
	static const char *const names[] = { "NOSTATE",  "RUNNING", "BLOCKED", "PAUSED",
					     "SHUTDOWN", "SHUTOFF", "CRASHED" };
	return st < sizeof(names) / sizeof(names[0]) ? names[st] : 0;
}

/* MGMT-041: the reason that accompanies a state. */
enum hvm_vm_reason {
	HVM_R_UNKNOWN = 0,
	HVM_R_BOOTED = 1,    /* running: started                               */
	HVM_R_USER = 2,      /* paused/resumed by a management command         */
	HVM_R_SHUTDOWN = 3,  /* shut off: guest powered off (SYSTEM_OFF, ack)   */
	HVM_R_DESTROYED = 4, /* shut off: destroyed by a management command    */
	HVM_R_CRASHED = 5,   /* crashed/shut off: guest fault                  */
	HVM_R_WATCHDOG = 6,  /* crashed/shut off: heartbeat missed             */
	HVM_R_RESTARTED = 7, /* running: restarted by the fault policy         */
	HVM_R_SELFTEST = 8,  /* shut off: not started, self-test failed        */
	HVM_R_DEFINED = 9,   /* shut off: defined, never started               */
	HVM_R_RESET = 10,    /* running: reset by command or guest             */
	HVM_R_REBOOTED = 11, /* running: rebooted by command or guest          */
	HVM_R_FAILED = 12    /* shut off: could not start (image, resources)   */
};

/* MGMT-050: event types; 0..8 are libvirt's lifecycle events. */
enum hvm_event_type {
	HVM_EV_DEFINED = 0,
	HVM_EV_UNDEFINED = 1,
	HVM_EV_STARTED = 2,
	HVM_EV_SUSPENDED = 3,
	HVM_EV_RESUMED = 4,
	HVM_EV_STOPPED = 5,
	HVM_EV_SHUTDOWN = 6,
	HVM_EV_PMSUSPENDED = 7,
	HVM_EV_CRASHED = 8,
	HVM_EV_FAULT = 16,           /* detail: fault kind (bits 0..7), see below   */
	HVM_EV_WATCHDOG = 17,        /* heartbeat missed; detail as for FAULT       */
	HVM_EV_RESTARTED = 18,       /* restarted by fault policy; detail = count   */
	HVM_EV_SELFTEST = 19,        /* detail: failed check bits                   */
	HVM_EV_DOORBELL_DENIED = 20, /* detail: channel id                          */
	HVM_EV_VEHICLE_STATE = 40,   /* MGMT-405: detail = new | old << 8          */
	HVM_EV_POLICY_DENIED = 41,   /* MGMT-405: detail = cmd | state << 8 | rule << 16 */
	/* 42 is taken by hv-agent's own PENDING_DONE event (MGMT-451, hvmgr.v1
	 * EventType): hv-core never writes it into its ring. */
	HVM_EV_OTA_INSTALLED = 44,   /* MGMT-620: detail = slot                     */
	HVM_EV_OTA_TRIAL = 45,       /* MGMT-621: detail = slot now booted in trial */
	HVM_EV_OTA_CONFIRMED = 46,   /* MGMT-622: detail = slot                     */
	HVM_EV_OTA_ROLLED_BACK = 47, /* MGMT-623: detail = enum hvm_ota_result      */
	HVM_EV_NV_FAILED = 48,       /* MGMT-603: detail = 1 read, 2 write          */
	HVM_EV_BOOT_FAILED = 52      /* MGMT-713: a START's boot failed; detail = status */
};

/* MGMT-052: FAULT and WATCHDOG events of a VM that runs on are appended at
 * most once per VM and fault kind per 100 ms; detail bits 8..31 count the
 * faults of that kind not reported since the previous event (saturating). */
#define HVM_EV_FAULT_KIND_MASK 0xFFu
#define HVM_EV_FAULT_SUPPRESSED_SHIFT 8u
#define HVM_EV_FAULT_SUPPRESSED_MAX 0xFFFFFFu

/* MGMT-050: vm_id of an event that concerns no single VM (e.g. a self-test
 * failure when no VM is defined). */
#define HVM_EV_NO_VM 0xFFFFFFFFu

/* MGMT-060: fault kinds (hvm_fault.kind, event detail). */
enum hvm_fault_kind {
	HVM_F_NONE = 0,
	HVM_F_STAGE2_ABORT = 1, /* access outside the VM's memory                */
	HVM_F_UNDEF_TRAP = 2,   /* trapped instruction hv-core does not emulate  */
	HVM_F_WATCHDOG = 3,     /* heartbeat older than the watchdog timeout     */
	HVM_F_GUEST_REPORT = 4, /* guest reported a fault by hypercall           */
	HVM_F_HYPERCALL = 5     /* forbidden or malformed hypercall              */
};

/* MGMT-161: hvm_fault.action, what the fault policy did (REQ-SAF-20). */
enum hvm_fault_action {
	HVM_ACT_NONE = 0,        /* recorded only (a guest-reported fault)          */
	HVM_ACT_IGNORE = 1,      /* policy ignore: counted, instruction skipped      */
	HVM_ACT_STOP = 2,        /* policy stop: CRASHED                             */
	HVM_ACT_RESTART = 3,     /* policy restart: booted again from its image      */
	HVM_ACT_BUDGET_STOP = 4, /* policy restart, budget exhausted: CRASHED        */
	HVM_ACT_VCPU_STOP = 5,   /* policy stop-vcpu: the faulting vCPU stopped, the  */
				 /* VM's other vCPUs run on (MGMT-333)               */
	HVM_ACT_INJECTED = 6     /* abort-policy inject: delivered to the guest as a  */
				 /* synchronous external abort (VMCFG-700, MGMT-700) */
};

/* MGMT-180: exit classes counted in hvm_stats.exits_by_class. */
enum hvm_exit_class {
	HVM_EXIT_WFX = 0,    /* trapped WFI/WFE                                     */
	HVM_EXIT_HVC = 1,    /* hypercalls, PSCI, SMCCC by HVC                      */
	HVM_EXIT_SMC = 2,    /* trapped SMC                                         */
	HVM_EXIT_DABT = 3,   /* data aborts: emulated MMIO and faults               */
	HVM_EXIT_IABT = 4,   /* instruction aborts                                  */
	HVM_EXIT_SYSREG = 5, /* trapped system register accesses                    */
	HVM_EXIT_IRQ = 6,    /* physical interrupts taken while the guest ran       */
	HVM_EXIT_OTHER = 7,
	HVM_EXIT__COUNT = 8
};

/* MGMT-180: the GET_STATS record, written at the start of the data area. */
#define HVM_STATS_MAGIC 0x54535648u /* "HVST" */
#define HVM_STATS_VERSION 1u
struct hvm_stats {
	uint32_t magic;              /* 0x00 HVM_STATS_MAGIC                      */
	uint16_t version;            /* 0x04 HVM_STATS_VERSION                    */
	uint16_t size;               /* 0x06 sizeof(struct hvm_stats)             */
	uint32_t vm_id;              /* 0x08                                      */
	uint32_t state;              /* 0x0C enum hvm_vm_state                    */
	uint64_t time_ns;            /* 0x10 hypervisor uptime when taken         */
	uint64_t cpu_time_ns;        /* 0x18 guest execution time, all vCPUs      */
	uint64_t exits;              /* 0x20 traps to EL2, all vCPUs              */
	uint64_t exits_by_class[8];  /* 0x28 enum hvm_exit_class                  */
	uint64_t irqs_injected;      /* 0x68 virtual interrupts delivered         */
	uint64_t faults;             /* 0x70 faults of any kind                   */
	uint64_t faults_ignored;     /* 0x78 faults the ignore policy let pass    */
	uint64_t watchdog_expiries;  /* 0x80                                      */
	uint64_t restarts;           /* 0x88 fault-policy restarts                */
	uint64_t doorbells_sent;     /* 0x90 granted doorbells this VM rang       */
	uint64_t doorbells_received; /* 0x98 doorbells peers rang on this VM      */
	uint64_t doorbells_denied;   /* 0xA0 doorbells refused (not granted)      */
	uint64_t heartbeat;          /* 0xA8 last heartbeat value seen            */
	uint64_t heartbeat_age_ns;   /* 0xB0                                      */
	uint64_t faults_by_kind[6];  /* 0xB8 MGMT-802: by enum hvm_fault_kind     */
	/*      ([0] unused; ABI 2.2)                */
	uint8_t _rsvd[0x100 - 0xE8];
};

/* MGMT-850: the GET_VIRTIO record, written at the start of the data area:
 * the VM's VIRTIO devices (docs/vm-config.md VMCFG-480) in configuration
 * order and their counters since the VM's last boot. */
#define HVM_VIRTIO_MAGIC 0x4F495648u /* "HVIO" */
#define HVM_VIRTIO_VERSION 1u
#define HVM_VIRTIO_MAX 4u
struct hvm_virtio_dev {
	uint32_t type;     /* 0x00 VIRTIO device id: 1 net, 2 blk, 3 console, 4 rng */
	uint32_t spi;      /* 0x04 its interrupt, INTID 32 + spi            */
	uint64_t ipa;      /* 0x08 its register window                       */
	uint32_t status;   /* 0x10 the device status register (GABI-481)     */
	uint32_t channel;  /* 0x14 net: its channel id                       */
	uint64_t notifies; /* 0x18 queue notifications                       */
	uint64_t requests; /* 0x20 chains completed                          */
	uint64_t bytes;    /* 0x28 bytes moved to or from guest buffers      */
	uint64_t errors;   /* 0x30 bad input refused (GABI-486)              */
	uint64_t irqs;     /* 0x38 interrupts raised                         */
	uint64_t dropped;  /* 0x40 net: frames not delivered                 */
	uint64_t limited;  /* 0x48 net: frames over the frame-rate (VMCFG-850) */
	uint32_t rate;     /* 0x50 net: the frame-rate, frames per second    */
	uint32_t _rsvd0;   /* 0x54                                           */
	uint64_t _rsvd[1]; /* 0x58                                           */
};
struct hvm_virtio {
	uint32_t magic;   /* 0x00 HVM_VIRTIO_MAGIC                          */
	uint16_t version; /* 0x04 HVM_VIRTIO_VERSION                        */
	uint16_t size;    /* 0x06 sizeof(struct hvm_virtio)                 */
	uint32_t vm_id;   /* 0x08                                           */
	uint32_t count;   /* 0x0C devices in dev[]                          */
	struct hvm_virtio_dev dev[HVM_VIRTIO_MAX];
};

/* MGMT-860..864: the request ring between hv-core and the backend process
 * of a VM's virtio-blk device, one 4 KiB page per VM at HVM_OFF_BLK + id *
 * 4096. hv-core keeps the virtqueue; it posts each request here, with its
 * data as offsets into the VM's bounce area (hv-core's own memory, outside
 * every VM's RAM, into and out of which hv-core copies the guest's buffers),
 * and completes it in the guest when the backend has advanced `done` past it.
 * The backend writes only `done`, `backend_pid`, `backend_beat`, each
 * request's `status` and, for a read, the request's part of the bounce area. */
#define HVM_BLK_MAGIC 0x4B425648u /* "HVBK" */
#define HVM_BLK_VERSION 1u
#define HVM_BLK_SLOTS 32u   /* requests in flight                          */
#define HVM_BLK_SEGS 8u     /* data buffers in one request                 */
#define HVM_BLK_SECTOR 512u /* bytes of a sector                           */
/* MGMT-861: data bytes of one request at most; request n's data lie at
 * (n % HVM_BLK_SLOTS) * HVM_BLK_REQ_BYTES in the bounce area */
#define HVM_BLK_REQ_BYTES 0x4000u
#define HVM_BLK_BOUNCE_SIZE (HVM_BLK_SLOTS * HVM_BLK_REQ_BYTES) /* 512 KiB per VM */
enum hvm_blk_type {
	HVM_BLK_IN = 0,
	HVM_BLK_OUT = 1,
	HVM_BLK_FLUSH = 4
};
enum hvm_blk_status {
	HVM_BLK_S_OK = 0,
	HVM_BLK_S_IOERR = 1,
	HVM_BLK_S_UNSUPP = 2
};
struct hvm_blk_seg {
	uint32_t off; /* from the start of the bounce area (window_pa)      */
	uint32_t len;
};
struct hvm_blk_req {
	uint32_t type;                        /* 0x00 enum hvm_blk_type                           */
	uint32_t nseg;                        /* 0x04 data buffers, 0..HVM_BLK_SEGS               */
	uint64_t sector;                      /* 0x08 first sector                                */
	uint32_t status;                      /* 0x10 backend: enum hvm_blk_status                */
	uint32_t epoch;                       /* 0x14 the ring's epoch when posted                */
	uint64_t _rsvd;                       /* 0x18                                             */
	struct hvm_blk_seg seg[HVM_BLK_SEGS]; /* 0x20                         */
};
struct hvm_blk_ring {
	uint32_t magic;        /* 0x00 HVM_BLK_MAGIC                           */
	uint16_t version;      /* 0x04 HVM_BLK_VERSION                         */
	uint16_t size;         /* 0x06 4096                                    */
	uint32_t vm_id;        /* 0x08                                         */
	uint32_t live;         /* 0x0C 1 while the VM runs with a blk device   */
	uint64_t capacity;     /* 0x10 bytes of the disk                       */
	uint64_t window_pa;    /* 0x18 the VM's bounce area, physical          */
	uint64_t window_size;  /* 0x20 HVM_BLK_BOUNCE_SIZE                     */
	uint64_t window_ipa;   /* 0x28 0: no guest sees the bounce area         */
	uint32_t epoch;        /* 0x30 + 1 at every boot and device reset      */
	uint32_t posted;       /* 0x34 hv-core: requests posted (free-running) */
	uint32_t done;         /* 0x38 backend: requests completed             */
	uint32_t backend_pid;  /* 0x3C backend: its process id                 */
	uint64_t backend_beat; /* 0x40 backend: moves while it serves          */
	uint8_t _rsvd[0x100 - 0x48];
	struct hvm_blk_req req[HVM_BLK_SLOTS]; /* 0x100, request n at n % 32 */
	uint8_t _tail[0x1000 - 0x100 - HVM_BLK_SLOTS * 0x60];
};

/* MGMT-100: the register page at offset 0. Offsets are part of the ABI. */
struct hvm_regs {
	/* identification, written once by hv-core before hv_state becomes READY */
	uint32_t magic;           /* 0x000 HVM_MAGIC                            */
	uint16_t abi_major;       /* 0x004                                      */
	uint16_t abi_minor;       /* 0x006                                      */
	uint32_t region_size;     /* 0x008 bytes in the whole region            */
	uint32_t hv_state;        /* 0x00C enum hvm_hv_state                    */
	uint64_t caps;            /* 0x010 HVM_CAP() bits                       */
	uint32_t max_vms;         /* 0x018                                      */
	uint32_t vm_count;        /* 0x01C VMs currently defined                */
	uint32_t off_events;      /* 0x020                                      */
	uint32_t event_count;     /* 0x024 entries in the ring                  */
	uint32_t off_slots;       /* 0x028                                      */
	uint32_t slot_size;       /* 0x02C                                      */
	uint32_t off_faults;      /* 0x030                                      */
	uint32_t fault_size;      /* 0x034                                      */
	uint32_t off_consoles;    /* 0x038                                      */
	uint32_t console_size;    /* 0x03C bytes per console (header included)  */
	uint32_t off_data;        /* 0x040                                      */
	uint32_t data_size;       /* 0x044                                      */
	uint64_t staging_base;    /* 0x048 physical address of the image staging area */
	uint64_t staging_size;    /* 0x050                                      */
	uint64_t uptime_ns;       /* 0x058 refreshed by hv-core's service tick  */
	uint64_t hv_ticks;        /* 0x060 service ticks since boot (liveness)  */
	uint32_t pcpu_count;      /* 0x068 physical CPUs found in the platform DT */
	uint32_t selftest_failed; /* 0x06C bitmask of failed boot self-test checks */
	char hv_version[32];      /* 0x070 NUL-terminated                       */
	uint8_t _rsvd0[0x0F8 - 0x090];
	uint64_t sup_gap_max_ns; /* 0x0F8 longest time between two supervision passes (MGMT-710) */

	/* MGMT-110: command block. Written by the client, then req_seq (release). */
	uint32_t cmd;     /* 0x100 enum hvm_cmd                         */
	uint32_t vm_id;   /* 0x104                                      */
	uint64_t arg[6];  /* 0x108 command arguments                    */
	uint32_t req_seq; /* 0x138 client: done_seq + 1 to submit       */
	uint32_t _rsvd1;  /* 0x13C                                      */
	uint8_t _rsvd2[0x180 - 0x140];

	/* MGMT-120: completion. Written by hv-core, then done_seq (release). */
	uint32_t done_seq; /* 0x180 equals req_seq when the reply is ready */
	uint32_t status;   /* 0x184 enum hvm_status                      */
	uint64_t ret[6];   /* 0x188 command results                      */
	char ret_msg[64];  /* 0x1B8 NUL-terminated reason for a refusal  */
			   /* (fitted with its clause id first, MGMT-121) */
	uint8_t _rsvd3[0x200 - 0x1F8];

	/* MGMT-130: event ring indices. */
	uint64_t ev_head;     /* 0x200 hv-core: sequence of the next event  */
	uint64_t ev_ack;      /* 0x208 client: all events < ev_ack consumed */
	uint64_t ev_overflow; /* 0x210 hv-core: events overwritten unacked  */
	uint8_t _rsvd4[0x1000 - 0x218];
};

/* MGMT-140: one event. Entry (seq % event_count) holds event number seq. */
struct hvm_event {
	uint64_t seq;     /* written last (release); equals the event number */
	uint64_t time_ns; /* hv-core uptime at the event                     */
	uint32_t type;    /* enum hvm_event_type                             */
	uint32_t vm_id;
	uint32_t detail;
	uint32_t reason; /* enum hvm_vm_reason after the event              */
};

/* MGMT-150: per-VM status slot, refreshed by hv-core on every service tick
 * and at every state change. A reader takes gen before and after copying the
 * slot; an odd or changed gen means it raced a writer and must read again. */
struct hvm_vm_slot {
	uint32_t gen;                        /* 0x00 odd while hv-core writes the slot     */
	uint32_t defined;                    /* 0x04 1 when the slot holds a VM            */
	uint32_t id;                         /* 0x08 equals the slot index                 */
	uint32_t state;                      /* 0x0C enum hvm_vm_state                     */
	uint32_t reason;                     /* 0x10 enum hvm_vm_reason                    */
	uint32_t vcpus;                      /* 0x14                                       */
	uint64_t pcpu_mask;                  /* 0x18 physical CPUs the vCPUs are pinned to */
	uint64_t mem_bytes;                  /* 0x20                                       */
	uint64_t heartbeat;                  /* 0x28 copied from the cooperation page      */
	uint64_t heartbeat_age_ns;           /* 0x30 time since the heartbeat last changed */
	uint64_t cpu_time_ns;                /* 0x38 guest execution time, all vCPUs       */
	uint32_t criticality;                /* 0x40 0 = QM, 1..4 = ASIL-A..D              */
	uint32_t fault_policy;               /* 0x44 enum in vm-config.md                  */
	uint32_t fault_count;                /* 0x48                                       */
	uint32_t restart_count;              /* 0x4C                                       */
	uint32_t guest_state;                /* 0x50 from the cooperation page             */
	uint32_t health_code;                /* 0x54 from the cooperation page             */
	uint8_t uuid[16];                    /* 0x58                                       */
	char name[HVM_NAME_LEN];             /* 0x68 NUL-terminated            */
	char image_version[HVM_VERSION_LEN]; /* 0x88 from the cooperation page */
	uint64_t exits;                      /* 0xA8 traps to EL2, all reasons             */
	uint64_t irqs_injected;              /* 0xB0                                       */
	uint64_t doorbells_denied;           /* 0xB8                                       */
	uint64_t image_slot_bytes;           /* 0xC0 MGMT-701: bytes its image slot holds  */
	uint64_t initrd_slot_bytes;          /* 0xC8 MGMT-701: its initrd slot, 0 = none   */
	uint32_t restart_budget;             /* 0xD0 MGMT-800: restarts allowed per window */
	uint32_t restarts_left;              /* 0xD4 MGMT-800: ... still allowed now       */
	uint8_t _rsvd[0x200 - 0xD8];
};

/* MGMT-160: saved fault context of the last fault of a VM (REQ-SAF-22).
 * MGMT-162: like struct hvm_stats it starts with magic, version and size,
 * written by hv-core when the region is set up and with every fault. */
#define HVM_FAULT_MAGIC 0x52465648u /* "HVFR" */
#define HVM_FAULT_VERSION 1u
struct hvm_fault {
	uint32_t magic;   /* 0x000 HVM_FAULT_MAGIC                      */
	uint16_t version; /* 0x004 HVM_FAULT_VERSION                    */
	uint16_t size;    /* 0x006 sizeof(struct hvm_fault)             */
	uint32_t gen;     /* 0x008 odd while written                    */
	uint32_t kind;    /* 0x00C enum hvm_fault_kind                  */
	uint64_t seq;     /* 0x010 event sequence of the fault event    */
	uint64_t time_ns; /* 0x018                                      */
	uint32_t vcpu;    /* 0x020                                      */
	uint32_t action;  /* 0x024 fault policy applied                 */
	uint64_t esr;     /* 0x028 ESR_EL2                              */
	uint64_t far;     /* 0x030 FAR_EL2                              */
	uint64_t hpfar;   /* 0x038 HPFAR_EL2                            */
	uint64_t elr;     /* 0x040 ELR_EL2: guest PC                    */
	uint64_t spsr;    /* 0x048 SPSR_EL2                             */
	uint64_t sp_el1;  /* 0x050                                      */
	uint64_t x[31];   /* 0x058 general registers                    */
	uint8_t _rsvd[0x400 - 0x150];
};

/* MGMT-170: per-VM console ring. hv-core appends; head counts every byte ever
 * written, so a reader detects bytes it missed (head - its position > size). */
struct hvm_console {
	uint64_t head;  /* 0x00 total bytes written (release)         */
	uint32_t size;  /* 0x08 HVM_CONSOLE_SIZE                      */
	uint32_t vm_id; /* 0x0C                                       */
	uint8_t _rsvd[0x40 - 0x10];
	uint8_t buf[HVM_CONSOLE_SIZE];
};

/* MGMT-801: WRITE_CONSOLE takes at most this many bytes at once. */
#define HVM_CONSOLE_INPUT_MAX 256u

/* MGMT-400: vehicle states (VMCFG-400). UNKNOWN is the most restrictive. */
#define HVM_VEHICLE_STATE_TABLE(X)                                                                 \
	X(UNKNOWN, 0, "unknown")                                                                   \
	X(PARKED, 1, "parked")                                                                     \
	X(READY, 2, "ready")                                                                       \
	X(DRIVING, 3, "driving")                                                                   \
	X(CHARGING, 4, "charging")                                                                 \
	X(SERVICE, 5, "service")

enum hvm_vehicle_state {
#define HVM_X_ENUM(name, code, text) HVM_VS_##name = code,
	HVM_VEHICLE_STATE_TABLE(HVM_X_ENUM)
#undef HVM_X_ENUM
	HVM_VS__COUNT
};

/* "parked", or NULL for a number that is not a vehicle state. */
static inline const char *hvm_vehicle_state_name(uint32_t vs)
{
	switch (vs) {
#define HVM_X_NAME(name, code, text)                                                               \
	case code:                                                                                 \
		return text;
		HVM_VEHICLE_STATE_TABLE(HVM_X_NAME)
#undef HVM_X_NAME
	}
	return 0;
}

/* MGMT-401: where the vehicle state comes from (VMCFG-401, VMCFG-402). */
enum hvm_vehicle_source {
	HVM_VSRC_MANAGEMENT = 0, /* SET_VEHICLE_STATE                          */
	HVM_VSRC_GUEST = 1       /* the source VM's cooperation page (GABI-400) */
};

/* MGMT-400: the management operations the safety policy rules on, each with
 * the command that performs it. X(NAME, number, command, text). */
#define HVM_POLICY_OP_TABLE(X)                                                                     \
	X(START, 0, HVM_CMD_START, "start")                                                        \
	X(SHUTDOWN, 1, HVM_CMD_SHUTDOWN, "shutdown")                                               \
	X(DESTROY, 2, HVM_CMD_DESTROY, "destroy")                                                  \
	X(REBOOT, 3, HVM_CMD_REBOOT, "reboot")                                                     \
	X(RESET, 4, HVM_CMD_RESET, "reset")                                                        \
	X(SUSPEND, 5, HVM_CMD_SUSPEND, "suspend")                                                  \
	X(RESUME, 6, HVM_CMD_RESUME, "resume")                                                     \
	X(UNDEFINE, 7, HVM_CMD_UNDEFINE, "undefine")                                               \
	X(LOAD_IMAGE, 8, HVM_CMD_LOAD_IMAGE, "load-image")

enum hvm_policy_op {
#define HVM_X_ENUM(name, num, cmd, text) HVM_OP_##name = num,
	HVM_POLICY_OP_TABLE(HVM_X_ENUM)
#undef HVM_X_ENUM
	HVM_OP__COUNT
};

/* The policy operation a command performs, or -1 for a command the policy
 * does not rule on (reading commands, DEFINE, the vehicle-state commands). */
static inline int hvm_policy_op_of_cmd(uint32_t cmd)
{
	switch (cmd) {
#define HVM_X_OP(name, num, command, text)                                                         \
	case command:                                                                              \
		return num;
		HVM_POLICY_OP_TABLE(HVM_X_OP)
#undef HVM_X_OP
	}
	return -1;
}

static inline const char *hvm_policy_op_name(uint32_t op)
{
	switch (op) {
#define HVM_X_NAME(name, num, cmd, text)                                                           \
	case num:                                                                                  \
		return text;
		HVM_POLICY_OP_TABLE(HVM_X_NAME)
#undef HVM_X_NAME
	}
	return 0;
}

/* MGMT-403: the GET_POLICY record, written at the start of the data area.
 * cell[state][op][criticality]: bit 7 set = allowed; bits 0..6 = the number
 * (1-based) of the rule that decided, 0 = no rule matched (denied). rule[n - 1]
 * is rule n as written in the configuration (NUL-terminated). */
#define HVM_POLICY_MAGIC 0x4F505648u /* "HVPO" */
#define HVM_POLICY_VERSION 1u
#define HVM_POLICY_CRITS 5u /* QM, ASIL-A..D */
#define HVM_POLICY_MAX_RULES 32u
#define HVM_POLICY_RULE_LEN 48u
#define HVM_POLICY_ALLOW 0x80u
struct hvm_policy {
	uint32_t magic;      /* 0x000 HVM_POLICY_MAGIC                              */
	uint16_t version;    /* 0x004 HVM_POLICY_VERSION                            */
	uint16_t size;       /* 0x006 sizeof(struct hvm_policy)                     */
	uint32_t is_default; /* 0x008 1: no policy in the boot configuration (VMCFG-411) */
	uint32_t n_rules;    /* 0x00C                                              */
	uint8_t cell[HVM_VS__COUNT][HVM_OP__COUNT][HVM_POLICY_CRITS]; /* 0x010 (270 bytes)  */
	uint8_t _rsvd[0x120 - 0x010 - HVM_VS__COUNT * HVM_OP__COUNT * HVM_POLICY_CRITS];
	char rule[HVM_POLICY_MAX_RULES][HVM_POLICY_RULE_LEN]; /* 0x120 */
};

/* MGMT-330: READ_FAULT_HISTORY writes this record at the start of the data
 * area: a header, then `count` entries, oldest first. hv-core keeps the last
 * HVM_FAULT_HISTORY faults of each VM in its own memory, every fault counted
 * (those MGMT-052 does not report as events too), across restarts of the VM;
 * DEFINE starts a new history. MGMT-331: fault_seq numbers a VM's faults
 * from 1, without gaps; arg[0] = the last fault_seq the client has, 0 for all. */
#define HVM_FAULT_HISTORY 16u
#define HVM_FHIST_MAGIC 0x48465648u /* "HVFH" */
#define HVM_FHIST_VERSION 1u
struct hvm_fault_entry {
	uint64_t fault_seq; /* 0x00 1 = the VM's first fault since DEFINE      */
	uint64_t time_ns;   /* 0x08 hypervisor uptime at the fault             */
	uint64_t event_seq; /* 0x10 its FAULT/WATCHDOG event (MGMT-052: or the */
			    /*      last one of its kind when not reported)    */
	uint32_t kind;      /* 0x18 enum hvm_fault_kind                        */
	uint32_t action;    /* 0x1C enum hvm_fault_action                      */
	uint32_t vcpu;      /* 0x20 the faulting vCPU (0 for the watchdog)     */
	uint32_t _rsvd0;    /* 0x24                                            */
	uint64_t esr;       /* 0x28 ESR_EL2                                    */
	uint64_t far;       /* 0x30 FAR_EL2                                    */
	uint64_t hpfar;     /* 0x38 HPFAR_EL2                                  */
	uint64_t elr;       /* 0x40 guest PC                                   */
	uint64_t _rsvd1;    /* 0x48                                            */
};
struct hvm_fault_history {
	uint32_t magic;      /* 0x00 HVM_FHIST_MAGIC                            */
	uint16_t version;    /* 0x04 HVM_FHIST_VERSION                          */
	uint16_t size;       /* 0x06 sizeof(struct hvm_fault_history)           */
	uint32_t vm_id;      /* 0x08                                            */
	uint16_t count;      /* 0x0C entries that follow (0..HVM_FAULT_HISTORY) */
	uint16_t entry_size; /* 0x0E sizeof(struct hvm_fault_entry)             */
	uint64_t total;      /* 0x10 faults since DEFINE: the newest fault_seq  */
	uint64_t lost;       /* 0x18 faults after arg[0] no longer held         */
	struct hvm_fault_entry entry[HVM_FAULT_HISTORY]; /* 0x20 oldest first   */
};

/* MGMT-610: OTA slot states (struct hvm_ota_slot.state). */
enum hvm_ota_slot_state {
	HVM_SLOT_EMPTY = 0,
	HVM_SLOT_GOOD = 1,  /* confirmed, or the image the VM was defined with   */
	HVM_SLOT_BAD = 2,   /* failed its trial                                  */
	HVM_SLOT_TRIAL = 3, /* the VM runs it, not yet confirmed                 */
	HVM_SLOT_READY = 4  /* installed and verified, not yet switched to       */
};

/* MGMT-611: the result of a VM's last OTA step (hvm_ota_status.last_result). */
enum hvm_ota_result {
	HVM_OTA_NONE = 0,
	HVM_OTA_INSTALLED = 1,
	HVM_OTA_CONFIRMED = 2,
	HVM_OTA_FAIL_TIMEOUT = 3,  /* no confirmation within the trial time          */
	HVM_OTA_FAIL_VERSION = 4,  /* the guest reported another version             */
	HVM_OTA_FAIL_FAULT = 5,    /* a fault, a crash or a stop during the trial    */
	HVM_OTA_FAIL_WATCHDOG = 6, /* watchdog expiry or a heartbeat that stalled    */
	HVM_OTA_FAIL_RESET = 7,    /* hv-core restarted during the trial             */
	HVM_OTA_FAIL_GROUP = 8     /* MGMT-653: another VM of its update group failed */
};

/* MGMT-612: OTA_INSTALL reads this header at data-area offset 0. */
#define HVM_OTA_IMAGE_MAGIC 0x49545648u /* "HVTI" */
struct hvm_ota_image {
	uint32_t magic;                /* 0x00 HVM_OTA_IMAGE_MAGIC               */
	uint32_t _rsvd0;               /* 0x04 0                                 */
	uint64_t size;                 /* 0x08 image bytes (= arg[1])            */
	uint8_t sha256[32];            /* 0x10 the manifest's digest of the image */
	char version[HVM_VERSION_LEN]; /* 0x30 NUL-terminated, "MAJOR.MINOR.PATCH" */
};

/* MGMT-643: with arg[2] = 1, OTA_INSTALL reads this header at data-area
 * offset 0, the manifest's bytes right after it and the signature block
 * (docs/ota.md OTA-004) after those; the struct hvm_ota_image is not read. */
#define HVM_OTA_SIGNED_MAGIC 0x4D545648u /* "HVTM" */
#define HVM_OTA_MANIFEST_MAX 8192u       /* OTA-003 */
#define HVM_OTA_SIGBLOCK_MAX 16384u      /* OTA-003 */
struct hvm_ota_signed {
	uint32_t magic;        /* 0x00 HVM_OTA_SIGNED_MAGIC                   */
	uint32_t manifest_len; /* 0x04 1..HVM_OTA_MANIFEST_MAX                */
	uint32_t sigblock_len; /* 0x08 1..HVM_OTA_SIGBLOCK_MAX                */
	uint32_t _rsvd;        /* 0x0C 0                                      */
};

/* MGMT-613: one slot of a VM in the OTA_STATUS record. */
struct hvm_ota_slot {
	uint32_t state;                /* 0x00 enum hvm_ota_slot_state           */
	uint32_t durable;              /* 0x04 1: its bytes are in hv-core's flash */
	uint64_t size;                 /* 0x08                                   */
	uint8_t sha256[32];            /* 0x10                                   */
	char version[HVM_VERSION_LEN]; /* 0x30 "" when not known                 */
};

/* MGMT-613: OTA_STATUS writes this record at the start of the data area. */
#define HVM_OTA_STATUS_MAGIC 0x53545648u /* "HVTS" */
#define HVM_OTA_STATUS_VERSION 1u
struct hvm_ota_status {
	uint32_t magic;                /* 0x000 HVM_OTA_STATUS_MAGIC            */
	uint16_t version;              /* 0x004 HVM_OTA_STATUS_VERSION          */
	uint16_t size;                 /* 0x006 sizeof(struct hvm_ota_status)   */
	uint32_t vm_id;                /* 0x008                                 */
	uint32_t active;               /* 0x00C 0 = slot A, 1 = slot B          */
	uint32_t in_trial;             /* 0x010 1 while the active slot is in trial */
	uint32_t last_result;          /* 0x014 enum hvm_ota_result             */
	uint64_t nv_seq;               /* 0x018 sequence of the stored record   */
	uint64_t trial_left_ms;        /* 0x020 time left to confirm, 0 = none  */
	char floor[HVM_VERSION_LEN];   /* 0x028 anti-rollback floor, "" = none  */
	struct hvm_ota_slot slot[2];   /* 0x048 A, B                            */
	uint32_t nv_present;           /* 0x0E8 1: the non-volatile store works */
	uint32_t group_vms;            /* 0x0EC MGMT-655: bit n = VM n shares the
				      *       update group of the newest slot;
				      *       0 = updated alone             */
	struct hvm_ota_slot initrd[2]; /* 0x0F0 MGMT-665 (ABI 2.5): initrd A, B;
					*       both EMPTY: no initrd slots */
};

#define HVM_SLOT_AT(base, i)                                                                       \
	((volatile struct hvm_vm_slot *)((volatile uint8_t *)(base) + HVM_OFF_SLOTS +              \
					 (i) * sizeof(struct hvm_vm_slot)))

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct hvm_regs) == 0x1000, "hvm_regs is one page");
_Static_assert(sizeof(struct hvm_event) == 32, "hvm_event is 32 bytes");
_Static_assert(sizeof(struct hvm_vm_slot) == 0x200, "hvm_vm_slot is 512 bytes");
_Static_assert(sizeof(struct hvm_fault) == 0x400, "hvm_fault is 1 KiB");
_Static_assert(sizeof(struct hvm_console) == 16 * 1024, "hvm_console is 16 KiB");
_Static_assert(sizeof(struct hvm_stats) == 0x100, "hvm_stats is 256 bytes");
_Static_assert(sizeof(struct hvm_virtio_dev) == 0x60, "hvm_virtio_dev is 96 bytes");
_Static_assert(sizeof(struct hvm_virtio) == 0x10 + 4 * 0x60, "hvm_virtio is 400 bytes");
_Static_assert(HVM_OFF_EVENTS + HVM_EVENT_COUNT * 32 <= HVM_OFF_SLOTS, "events fit");
_Static_assert(HVM_OFF_SLOTS + HVM_MAX_VMS * 0x200 <= HVM_OFF_FAULTS, "slots fit");
_Static_assert(HVM_OFF_FAULTS + HVM_MAX_VMS * sizeof(struct hvm_fault) <= HVM_OFF_CONSOLES,
	       "faults fit");
_Static_assert(sizeof(struct hvm_fault) <= 0xFFFFu, "hvm_fault.size holds its size");
_Static_assert(__builtin_offsetof(struct hvm_fault, gen) == 0x08, "MGMT-162");
_Static_assert(__builtin_offsetof(struct hvm_fault, x) == 0x58, "MGMT-160");
_Static_assert(HVM_OFF_CONSOLES + HVM_MAX_VMS * 16 * 1024 <= HVM_OFF_DATA, "consoles fit");
_Static_assert(sizeof(struct hvm_policy) == 0x120 + 32 * 48, "MGMT-403");
_Static_assert(sizeof(struct hvm_fault_entry) == 0x50, "MGMT-330");
_Static_assert(__builtin_offsetof(struct hvm_fault_history, entry) == 0x20, "MGMT-330");
_Static_assert(HVM_OFF_DATA + HVM_DATA_SIZE <= HVM_REGION_SIZE, "data fits");
_Static_assert(sizeof(struct hvm_blk_req) == 0x60, "hvm_blk_req is 96 bytes");
_Static_assert(sizeof(struct hvm_blk_ring) == 0x1000, "hvm_blk_ring is 4 KiB");
_Static_assert(HVM_OFF_CONSOLES + HVM_MAX_VMS * 16 * 1024 <= HVM_OFF_BLK, "rings after consoles");
_Static_assert(HVM_OFF_BLK + HVM_MAX_VMS * 0x1000 <= HVM_OFF_DATA, "rings fit");
_Static_assert(sizeof(struct hvm_ota_image) == 0x50, "MGMT-612");
_Static_assert(sizeof(struct hvm_ota_slot) == 0x50, "MGMT-613");
_Static_assert(sizeof(struct hvm_ota_status) == 0x190, "MGMT-613, MGMT-665");
#endif

#endif /* HVMGMT_H */
