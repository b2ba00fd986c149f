/*
 * coverage.c - every clause of docs/mgmt-abi.md (the **MGMT-nnn** ids) and
 * every guest-visible clause of docs/guest-abi.md, in document order, so the
 * report accounts for the whole specification (REQ-STD-07). A clause the
 * suite checks has no reason here; one it cannot check through the shared
 * page (it needs a management VM, a guest that makes calls, a special boot)
 * carries the reason, printed as an N/A row and in --coverage.
 *
 * tests/conformance/clause_list.sh compares this list with the documents, so
 * a clause added there without a line here fails the build's tests.
 */
#include <stddef.h>
#include <string.h>

#include "conformance.h"

/* Checked by the run over the trapped page (conformance_trapped); the polled
 * run names that test. */
#define TRAPPED_RUN "checked over the trapped page by test conformance_trapped (relay VM)"
#define NEEDS_GUEST "guest side: needs code running in a VM"
#define PLATFORM_DT "needs the platform device tree the hypervisor was booted with"

const struct conf_clause conf_clauses[] = {
	/* docs/mgmt-abi.md */
	{ "MGMT-001", NULL },
	{ "MGMT-002", NULL },
	{ "MGMT-003", NULL },
	{ "MGMT-004", NULL },
	{ "MGMT-005", NULL },
	{ "MGMT-100", NULL },
	{ "MGMT-101", NULL },
	{ "MGMT-010", NULL },
	{ "MGMT-011", NULL },
	{ "MGMT-110", NULL },
	{ "MGMT-120", NULL },
	{ "MGMT-121", NULL },
	{ "MGMT-111", NULL },
	{ "MGMT-112", NULL },
	{ "MGMT-113", NULL },
	{ "MGMT-020", NULL },
	{ "MGMT-021", NULL },
	{ "MGMT-022", NULL },
	{ "MGMT-030", NULL },
	{ "MGMT-040", NULL },
	{ "MGMT-041", NULL },
	{ "MGMT-045", NULL },
	{ "MGMT-046", NULL },
	{ "MGMT-044", NULL },
	{ "MGMT-047", NULL },
	{ "MGMT-048", NULL },
	{ "MGMT-049", NULL },
	{ "MGMT-150", NULL },
	{ "MGMT-130", NULL },
	{ "MGMT-140", NULL },
	{ "MGMT-050", NULL },
	{ "MGMT-051", NULL },
	{ "MGMT-052", "needs a guest faulting in a loop; tests hvcore_fault (fault_reports_in_a_loop_*, "
		      "ignored_faults_in_a_loop_*)" },
	{ "MGMT-160", NULL },
	{ "MGMT-161", NULL },
	{ "MGMT-162", NULL },
	{ "MGMT-060", NULL },
	{ "MGMT-061", NULL },
	{ "MGMT-062", NULL },
	{ "MGMT-330", "needs a guest that faults; tests hvcore_faulthist" },
	{ "MGMT-331", "needs a guest that faults; tests hvcore_faulthist" },
	{ "MGMT-332", "needs a guest that faults; tests hvcore_faulthist" },
	{ "MGMT-333", "needs a two-vCPU guest under policy stop-vcpu; tests hvcore_faulthist" },
	{ "MGMT-334", "needs a guest whose watchdog expires; tests hvcore_faulthist" },
	{ "MGMT-335", "needs a guest that writes its console; tests hvcore_faulthist" },
	{ "MGMT-701", NULL },
	{ "MGMT-710", "needs QEMU -icount for a deterministic figure and a Linux-sized image; tests "
		      "hvcore_supgap" },
	{ "MGMT-712", "needs the corruption path of hvcore-test.bin; tests hvcore_rtcheck" },
	{ "MGMT-711", "needs a Linux-sized image to load and boot; tests hvcore_supgap, hvcore_iso, "
		      "hvcore_mgmt_mmio start_through_the_trapped_page_*" },
	{ "MGMT-713", "needs an image slot changed after DEFINE (the test hook of hvcore-test.bin) "
		      "and a Linux-sized image; tests hvcore_iso reset_of_a_changed_slot_*, "
		      "hvcore_supgap, hvcore_mgmt, agent_image" },
	{ "MGMT-700", "needs a guest that takes its own abort (abort-policy inject); tests "
		      "hvcore_fault abort_policy_inject_*" },
	{ "MGMT-170", NULL },
	{ "MGMT-180", NULL },
	{ "MGMT-190", NULL },
	{ "MGMT-191", "needs hvcore-test.bin booted with a self-test injection mask (hv-qemu.sh "
		      "--selftest-inject); tests hvcore_boot_config" },
	{ "MGMT-200", NULL },
	{ "MGMT-201", NULL },
	{ "MGMT-210", TRAPPED_RUN },
	{ "MGMT-211", "a store to the read-only part stops the management VM (its fault policy); "
		      "tests hvcore_mgmt_misuse, hvcore_mgmt_mmio" },
	{ "MGMT-212", TRAPPED_RUN },
	{ "MGMT-213", TRAPPED_RUN },
	{ "MGMT-214", "needs commands of both transports submitted at the same time; tests "
		      "hvcore_mgmt_mmio" },
	{ "MGMT-215",
	  "needs a guest that accesses the management window's IPA; tests hvcore_mgmt_mmio" },
	{ "MGMT-300", "needs a client racing the hypervisor or a self-test injection boot; tests "
		      "hvcore_iso (start_gate_*, decisions_hold_*)" },
	{ "MGMT-301", "needs the test hooks of hvcore-test.bin to rewrite the shared copy mid-request; "
		      "tests hvcore_iso (decisions_hold_*, event_head_*)" },
	{ "MGMT-302", "the image slots are not visible through the region (the placement is "
		      "MGMT-200); tests hvcore_iso (staging_area_*, bad_uploads_*)" },
	{ "MGMT-303", "needs the test hooks of hvcore-test.bin; tests hvcore_iso "
		      "(boot_hashes_the_copy_it_runs, decisions_hold_*)" },
	{ "MGMT-310", PLATFORM_DT " (GIC, UART, RAM addresses); tests hvcore_iso passthrough_*" },
	{ "MGMT-311", PLATFORM_DT " (its device nodes); tests hvcore_iso passthrough_*" },
	{ "MGMT-312", PLATFORM_DT " (its DMA masters); tests hvcore_iso passthrough_*, "
				  "boot_configuration_dma_masters_are_refused" },
	{ "MGMT-313", PLATFORM_DT " (a device to pass through); tests hvcore_iso passthrough_*" },
	{ "MGMT-314", PLATFORM_DT " (the UART's SPI); tests hvcore_iso passthrough_*" },
	/* docs/guest-abi.md, guest-visible clauses */
	{ "GABI-001", NEEDS_GUEST " (entry registers, memory map); tests hvcore_boot, hvcore_linux" },
	{ "GABI-010", NEEDS_GUEST " (device tree, CALL_UID); tests hvcore_boot, hvcore_linux" },
	{ "GABI-011", NEEDS_GUEST " (SMCCC calls); guests rtos-demo, linux" },
	{ "GABI-012", NEEDS_GUEST " (PSCI calls); tests hvcore_irq, hvcore_fault, hvcore_linux" },
	{ "GABI-020", NEEDS_GUEST " (the cooperation page is not in the region); tests hvcore_boot" },
	{ "GABI-021", NULL },
	{ "GABI-022", NULL },
	{ "GABI-023", NEEDS_GUEST " (store discipline of the guest, not observable here)" },
	{ "GABI-024", NEEDS_GUEST " (acknowledging the request); the hypervisor side is MGMT-046; "
				  "tests hvcore_mgmt shutdown_*" },
	{ "GABI-025", NEEDS_GUEST " (answering with SYSTEM_RESET); the hypervisor side is MGMT-044; "
				  "tests hvcore_mgmt reboot_*" },
	{ "GABI-030", NEEDS_GUEST " (hypercalls); tests hvcore_boot, hvcore_fault" },
	{ "GABI-031", NEEDS_GUEST " (HVG_HC_COOP_PAGE); tests hvcore_boot, linux_direct" },
	{ "GABI-032", NEEDS_GUEST " (HVG_HC_DOORBELL); tests hvcore_fault" },
	{ "GABI-033", NEEDS_GUEST " (HVG_HC_FAULT_REPORT)" },
	{ "GABI-034", NEEDS_GUEST " (HVG_HC_CONSOLE_PUTC)" },
	{ "GABI-035", NEEDS_GUEST " (forbidden hypercalls); tests hvcore_fault" },
	{ "GABI-040", NULL },
	{ "GABI-041", NEEDS_GUEST " (virtual GIC registers); tests hvcore_irq" },
	{ "GABI-800", NEEDS_GUEST " (a guest that reads its vPL011); tests hvcore_linux" },
	{ "GABI-050", NEEDS_GUEST " (WFI and the virtual timer); guest rtos-demo, tests hvcore_irq" },
	{ "GABI-060", NULL },
	{ "GABI-061", NEEDS_GUEST " (system register traps); tests hvcore_fault" },
	{ "GABI-700",
	  NEEDS_GUEST " (its own abort handler); tests hvcore_fault abort_policy_inject_*" },
	{ "GABI-701", NEEDS_GUEST " (the cooperation page is not in the region); tests "
				  "hvcore_boot_config stage2_selftest_failure_*" },
	{ "GABI-330", NEEDS_GUEST " (policy stop-vcpu); tests hvcore_faulthist" },
	{ "GABI-331", NEEDS_GUEST " (the stop hook); tests hvcore_faulthist" },
	{ "GABI-400", NEEDS_GUEST
	  " (the vehicle-state source writes its cooperation page); tests hvcore_safety" },
	{ "GABI-450", NEEDS_GUEST " (a shutdown request hv-agent held back until the policy allowed "
				  "it); tests hvctl_safety, make_run" },
	{ "GABI-455", "needs two VMs defined onto one resource (admission control, VMCFG-455); "
		      "tests hvcore_admission" },
	{ "GABI-480", NEEDS_GUEST " (VIRTIO devices over virtio-mmio); tests hvcore_virtio, "
				  "hvcore_virtio_net, hvcore_virtio_bad, virtqueue_fuzz" },
	{ NULL, NULL },
};

bool conf_clause_trapped(const char *id)
{
	static const char *const ids[] = { "MGMT-210", "MGMT-212", "MGMT-213" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}
