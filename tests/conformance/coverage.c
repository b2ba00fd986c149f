/*
 * coverage.c - every clause of docs/mgmt-abi.md (the **MGMT-nnn** ids and the
 * titled **MGMT-nnn Title.** ones) and
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
#define NEEDS_AGENT "hv-agent's clause: needs hv-agent over the stack"
#define NEEDS_NV                                                                                   \
	"needs an update installed into a VM's slots (the suite writes no slot or NV record)"
#define NEEDS_CA "needs a boot configuration with an update CA (/hv-core/ota/update-ca)"
#define NEEDS_STORE "needs a boot with the slot store (hv-qemu.sh --slot-store)"
#define NEEDS_BLK "needs a block backend (hv-blkback) serving a virtio-blk device"

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
	{ "MGMT-400", "needs a command the policy refuses (an ASIL VM in a vehicle state that forbids "
		      "it); tests hvcore_safety (every_cell_of_the_default_policy, "
		      "direct_register_writes_are_refused_for_the_asil_vm)" },
	{ "MGMT-401", NULL },
	{ "MGMT-402", "only its E_BAD_ARG refusal is checked here (the command-set row); the guest "
		      "source's E_POLICY needs a guest that writes the vehicle state; tests "
		      "hvcore_safety" },
	{ "MGMT-403", NULL },
	{ "MGMT-404", NULL },
	{ "MGMT-405", "needs a change of the vehicle state or a refused command; tests "
		      "hvcore_safety, hvctl_safety, agent_telemetry" },
	{ "MGMT-450", NEEDS_AGENT " (its queue of commands held back); tests hvctl_safety, make_run" },
	{ "MGMT-451", NEEDS_AGENT " (the end of a queued command, PENDING_DONE); tests hvctl_safety, "
				  "store_pending_test" },
	{ "MGMT-452", NEEDS_AGENT " (the role check of a queued command); tests hvctl_safety" },
	{ "MGMT-600", "the bank is not visible through the region (OTA_STATUS's answer is MGMT-613); "
		      "tests hvcore_ota" },
	{ "MGMT-601", "the bank's layout is not visible through the region; tests hvcore_ota" },
	{ "MGMT-602", "the NV record is not visible through the region; tests hvcore_ota" },
	{ "MGMT-603", "needs a torn record copy in the bank; tests hvcore_ota "
		      "a_torn_newest_record_falls_back_to_the_copy_before_it" },
	{ "MGMT-604", NEEDS_NV " and power cuts (hvcore-test.bin's cut points, QEMU killed); tests "
			       "hvcore_ota a_power_cut_at_any_persistence_point_*, hvctl_ota_stack" },
	{ "MGMT-610", NEEDS_NV " (slots that change state); tests hvcore_ota" },
	{ "MGMT-611", NEEDS_NV " (an install, a trial that ends); tests hvcore_ota" },
	{ "MGMT-612", NEEDS_NV " (an install in digest form); tests hvcore_ota, hvcore_supgap" },
	{ "MGMT-613", NULL },
	{ "MGMT-620", NEEDS_NV " (a slot to write); tests hvcore_ota, hvcore_supgap" },
	{ "MGMT-621", NEEDS_NV " (a READY slot) and a guest that boots it; tests hvcore_ota, "
			       "hvcore_supgap" },
	{ "MGMT-622", NEEDS_NV " and a guest that reports its version and heartbeat; tests "
			       "hvcore_ota, hvcore_linux_ota" },
	{ "MGMT-623", NEEDS_NV " and a guest that fails its trial; tests hvcore_ota, "
			       "hvctl_ota_stack" },
	{ "MGMT-624", NEEDS_NV " and a reset during a trial; tests hvcore_ota, hvctl_ota_stack" },
	{ "MGMT-625", NEEDS_NV " (a confirmed update); tests hvcore_ota" },
	{ "MGMT-630", "changes the stored audit sequence for good (the suite writes no NV record); "
		      "tests hvcore_ota, agent_audit_anchor" },
	{ "MGMT-631", "needs a sequence stored before and a restart of hv-core to mean anything; "
		      "tests hvcore_ota, agent_audit_anchor" },
	{ "MGMT-500", NULL },
	{ "MGMT-632",
	  NEEDS_NV " (installs, trials, a failed write); tests hvcore_ota, agent_ota_cut" },
	{ "MGMT-640", NEEDS_CA "; tests hvcore_ota, hvctl_ota_stack" },
	{ "MGMT-641", NEEDS_CA " and signed bundles; tests hvcore_ota "
			       "hv_core_installs_only_what_a_trusted_signer_signed" },
	{ "MGMT-642", NEEDS_CA " and signed manifests; tests hvcore_ota "
			       "hv_core_installs_only_what_a_trusted_signer_signed" },
	{ "MGMT-643", NEEDS_CA " and signed bundles; tests hvcore_ota, hvcore_linux_ota, "
			       "hvctl_ota_stack" },
	{ "MGMT-650", NEEDS_CA " and a bundle of two VMs; tests hvcore_ota, hvctl_ota_stack" },
	{ "MGMT-651", NEEDS_CA " and a bundle of two VMs; tests hvcore_ota "
			       "an_update_group_is_switched_confirmed_and_rolled_back_whole" },
	{ "MGMT-652", NEEDS_CA " and two guests that confirm; tests hvcore_ota "
			       "an_update_group_is_switched_confirmed_and_rolled_back_whole" },
	{ "MGMT-653", NEEDS_CA " and a guest that fails its trial; tests hvcore_ota "
			       "an_update_group_is_switched_confirmed_and_rolled_back_whole" },
	{ "MGMT-654", NEEDS_CA " and a power cut in a group's trial; tests hvcore_ota "
			       "an_update_group_is_switched_confirmed_and_rolled_back_whole" },
	{ "MGMT-655", NEEDS_CA " (an update group to report); tests hvcore_ota" },
	{ "MGMT-656", "names the test of MGMT-650..655: hvcore_ota "
		      "an_update_group_is_switched_confirmed_and_rolled_back_whole" },
	{ "MGMT-660", NEEDS_STORE " and a Linux-sized image; tests hvcore_linux_ota" },
	{ "MGMT-661", NEEDS_STORE "; tests hvcore_ota the_slot_store_is_hv_cores_own_and_no_vm_"
				  "touches_it, slots_in_a_missing_slot_store_are_not_used" },
	{ "MGMT-662", NEEDS_STORE " and a power cut; tests hvcore_ota "
				  "large_slots_live_in_the_slot_store_and_survive_a_power_cut" },
	{ "MGMT-663", NEEDS_STORE " and a VM with an initrd; tests hvcore_ota, hvcore_supgap, "
				  "agent_ota" },
	{ "MGMT-664", NEEDS_STORE ", a VM with an initrd and signed bundles; tests hvcore_ota "
				  "an_image_and_an_initrd_from_different_bundles_are_not_switched" },
	{ "MGMT-665", NEEDS_STORE " and a VM with an initrd; tests hvcore_ota, hvcore_linux_ota, "
				  "agent_ota" },
	{ "MGMT-800", "needs a VM with a restart budget that faults; tests hvcore_fault, "
		      "agent_telemetry" },
	{ "MGMT-801", NULL },
	{ "MGMT-802", "needs a guest that faults (watchdog expiries); tests hvcore_fault "
		      "watchdog_restarts_within_the_budget_then_stops" },
	{ "MGMT-850", NULL },
	{ "MGMT-860", NEEDS_BLK "; tests hvcore_virtio_blk, agent_blkback" },
	{ "MGMT-861", NEEDS_BLK "; tests hvcore_virtio_blk, agent_blkback" },
	{ "MGMT-862", NEEDS_BLK "; tests hvcore_virtio_blk, agent_blkback" },
	{ "MGMT-863", NEEDS_BLK " and its restart; tests agent_blkback_qemu" },
	{ "MGMT-864", NEEDS_BLK " (a request beyond the VM's memory); tests hvcore_virtio_blk" },
	{ "MGMT-865", NEEDS_BLK " run by hv-agent; tests agent_blkback, agent_blkback_qemu" },
	{ "MGMT-866", NEEDS_BLK " that exits; tests agent_blkback, agent_blkback_qemu" },
	{ "MGMT-867", NEEDS_BLK " and hv-agent's end; tests agent_blkback_qemu" },
	{ "MGMT-868", NEEDS_BLK " and the removal of its RAM file; tests agent_blkback" },
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
