/*
 * table.c - hvctl's command table: every command with its arguments, options,
 * summary and description, and the exit statuses. It is the single list of
 * commands (as in OpenBSD's vmctl): the parser, `hvctl help`, the man page
 * (`hvctl --man`) and the bash completion (`hvctl --completion bash`) are all
 * generated from it, so they cannot drift apart. Verbs and option names are
 * virsh's where virsh has them (REQ-STD-02).
 */
#include <string.h>

#include "commands.h"

/* docs/hvctl.md "Exit status" and docs/api.md carry this table word for word
 * (hvctl_local::exit_status_tables_in_the_docs_match_help checks it). */
const struct hvctl_exit_doc hvctl_exit_codes[] = {
	{ HVCTL_OK, "ok", "the command did what was asked" },
	{ HVCTL_FAIL, "failed",
	  "the operation failed: hv-agent or hv-core refused it (illegal state transition, invalid "
	  "configuration, ...), dtc failed, the hypervisor is not available (UNAVAILABLE), or hv-core does not "
	  "implement the command (UNIMPLEMENTED)" },
	{ HVCTL_USAGE, "usage",
	  "the command line is wrong: unknown command or option, missing or extra argument, malformed value, "
	  "unsupported connection URI, or an unreadable --ca, --cert or --key" },
	{ HVCTL_UNREACHABLE, "unreachable",
	  "hv-agent could not be reached: no socket, nobody serving it, connection refused, or the TLS handshake failed" },
	{ HVCTL_NOT_FOUND, "not found",
	  "the VM, configuration revision or file named does not exist (NOT_FOUND)" },
	{ HVCTL_DENIED, "denied",
	  "a change through the read-only socket, or a role (TLS certificate) that may not make it "
	  "(PERMISSION_DENIED)" },
	{ 0, NULL, NULL },
};

#define JSON_OPT                                                                                   \
	{                                                                                          \
		"json", NULL, HC_NONE, "print one JSON document instead of text"                   \
	}
#define END_OPT                                                                                    \
	{                                                                                          \
		NULL, NULL, HC_NONE, NULL                                                          \
	}
#define JSON_ONLY ((const struct hvctl_optdef[]){ JSON_OPT, END_OPT })
#define DRY_RUN_OPT                                                                                \
	{                                                                                          \
		"dry-run", NULL, HC_NONE,                                                          \
			"only ask whether the safety policy allows it now; change nothing"         \
	}
#define WHEN_ALLOWED_OPT                                                                           \
	{                                                                                          \
		"when-allowed", NULL, HC_NONE,                                                     \
			"when the safety policy denies it now, queue it to run as soon as the "    \
			"vehicle state allows it (see pending)"                                    \
	}
#define DRY_RUN_ONLY ((const struct hvctl_optdef[]){ DRY_RUN_OPT, WHEN_ALLOWED_OPT, END_OPT })

#define G_INFO "Domain information"
#define G_LIFE "Domain lifecycle"
#define G_CONF "Domain configuration"
#define G_WATCH "Console and events"
#define G_AGENT "Hypervisor and agent"
#define G_LOCAL "Local tools"

const struct hvctl_cmd hvctl_commands[] = {
	/* ---- information ---- */
	{ "list", G_INFO, "", 0, 0, HC_NONE,
	  (const struct hvctl_optdef[]){
		  { "all", NULL, HC_NONE, "list every defined VM, not only active ones" },
		  { "inactive", NULL, HC_NONE, "list only shut-off VMs" },
		  { "state-running", NULL, HC_NONE,
		    "list running VMs (implies every defined VM is considered)" },
		  { "state-paused", NULL, HC_NONE, "list paused VMs" },
		  { "state-shutoff", NULL, HC_NONE, "list shut-off VMs" },
		  { "state-other", NULL, HC_NONE,
		    "list VMs in any other state (in shutdown, crashed, ...)" },
		  { "name", NULL, HC_NONE, "print only the names, one a line" },
		  { "uuid", NULL, HC_NONE, "print only the UUIDs, one a line" },
		  JSON_OPT,
		  END_OPT },
	  "list VMs",
	  "Lists the active VMs (every state but shut off), or with --all every defined VM, in virsh's table: Id, "
	  "Name, State. The --state-* options select states and may be combined; any of them considers every "
	  "defined VM. Unlike virsh, a shut-off VM keeps its id.",
	  0, cmd_list },
	{ "dominfo", G_INFO, "VM", 1, 1, HC_VM, JSON_ONLY, "show a VM's state, resources and health",
	  "Prints a VM's id, name, UUID, state and reason, vCPUs and their physical CPUs, memory, criticality, "
	  "fault policy, the guest's heartbeat, state, health code and image version, fault and restart counts, "
	  "autostart and the stored configuration revision, as \"Label: value\" lines like virsh.",
	  0, cmd_dominfo },
	{ "domstate", G_INFO, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "reason", NULL, HC_NONE, "also print why the VM is in its state" },
		  JSON_OPT,
		  END_OPT },
	  "show a VM's state",
	  "Prints the VM's state (running, paused, shut off, ...), and with --reason the reason.",
	  0, cmd_domstate },
	{ "domid", G_INFO, "VM", 1, 1, HC_VM, NULL, "print a VM's id",
	  "Prints the VM's id (the hypervisor's slot index; stable while the VM stays defined).", 0,
	  cmd_domid },
	{ "domname", G_INFO, "VM", 1, 1, HC_VM, NULL, "print a VM's name",
	  "Prints the VM's name (VM is an id or a UUID).", 0, cmd_domname },
	{ "domuuid", G_INFO, "VM", 1, 1, HC_VM, NULL, "print a VM's UUID", "Prints the VM's UUID.",
	  0, cmd_domuuid },
	{ "domstats", G_INFO, "[VM]", 0, 1, HC_VM, JSON_ONLY, "show counters of one or all VMs",
	  "Prints CPU time, exits, injected interrupts, denied doorbells, heartbeat, faults and restarts of one VM or "
	  "of every defined VM, as virsh's \"Domain: 'x'\" blocks of key=value lines.",
	  0, cmd_domstats },

	/* ---- lifecycle ---- */
	{ "start", G_LIFE, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "console", NULL, HC_NONE,
		    "attach to the VM's console after starting it (see console)" },
		  DRY_RUN_OPT,
		  WHEN_ALLOWED_OPT,
		  END_OPT },
	  "start a defined VM", "Starts a shut-off or crashed VM: \"Domain 'x' started\".", 0,
	  cmd_start },
	{ "shutdown", G_LIFE, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "timeout-ms", "N", HC_NONE,
		    "how long the guest gets to power off before the VM's fallback applies (0 = the VM's default)" },
		  DRY_RUN_OPT,
		  WHEN_ALLOWED_OPT,
		  END_OPT },
	  "ask a VM's guest to power off",
	  "Asks the guest to shut down through its cooperation page; returns at once (\"Domain 'x' is being shutdown\"). "
	  "Follow `hvctl event` for the STOPPED event.",
	  0, cmd_shutdown },
	{ "destroy", G_LIFE, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "stop a VM at once",
	  "Stops the VM immediately, without asking its guest.", 0, cmd_destroy },
	{ "reboot", G_LIFE, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "restart a VM's guest",
	  "Asks the guest to restart; returns at once (\"Domain 'x' is being rebooted\"). hv-core resets the VM itself "
	  "when the guest has not restarted after 5 s. Follow `hvctl event` for STARTED (REBOOTED).",
	  0, cmd_reboot },
	{ "reset", G_LIFE, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "reset a VM like a power cycle",
	  "Resets the VM at once, like pressing a reset button.", 0, cmd_reset },
	{ "suspend", G_LIFE, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "pause a VM's vCPUs",
	  "Pauses a running VM.", 0, cmd_suspend },
	{ "resume", G_LIFE, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "continue a paused VM",
	  "Resumes a paused VM.", 0, cmd_resume },
	{ "autostart", G_LIFE, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "disable", NULL, HC_NONE, "do not start the VM with hv-agent" }, END_OPT },
	  "start a VM whenever hv-agent starts",
	  "Marks the VM to be started by hv-agent when it starts (\"Domain 'x' marked as autostarted\"), or with "
	  "--disable unmarks it.",
	  0, cmd_autostart },

	{ "load-image", G_LIFE, "VM FILE", 2, 2, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "initrd", NULL, HC_NONE, "load the VM's initrd instead of its boot image" },
		  END_OPT },
	  "replace a shut-off VM's boot image (or initrd)",
	  "Streams FILE to hv-agent in 64 KiB chunks with its SHA-256, computed here. hv-agent refuses a transfer "
	  "whose bytes do not have that digest; hv-core refuses an image whose digest differs from the VM's "
	  "configuration (image-sha256, initrd-sha256) and keeps the previous one. The VM must be shut off or "
	  "crashed. Prints progress on a terminal, then \"Image boot (N bytes) loaded into domain 'x'\". Needs the "
	  "admin role.",
	  0, cmd_load_image },

	/* ---- configuration ---- */
	{ "define", G_CONF, "FILE", 1, 1, HC_FILE,
	  (const struct hvctl_optdef[]){
		  { "validate-only", NULL, HC_NONE, "check the configuration, do not define it" },
		  { "no-validate", NULL, HC_NONE,
		    "send it without hvctl's own check (hv-core still validates it)" },
		  END_OPT },
	  "define a VM (or a new revision of it) from a configuration",
	  "Reads a VM configuration (docs/vm-config.md): a device tree source (.dts, compiled with dtc, whose error "
	  "lines are shown when it fails) or a blob (.dtb). hvctl checks it against the configuration rules first "
	  "and names the property and the rule it breaks; then hv-agent stores it as a new revision and hv-core "
	  "defines it, and their refusals are printed as they come.",
	  0, cmd_define },
	{ "undefine", G_CONF, "VM", 1, 1, HC_VM, DRY_RUN_ONLY, "remove a stopped VM's definition",
	  "Removes a shut-off or crashed VM's definition: \"Domain 'x' has been undefined\".", 0,
	  cmd_undefine },
	{ "dumpconfig", G_CONF, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "revision", "N", HC_NONE, "this stored revision instead of the latest" }, END_OPT },
	  "print a VM's stored configuration as device tree source",
	  "Prints the VM's configuration as stored by hv-agent, decompiled to DTS with `dtc -I dtb -O dts` (the "
	  "counterpart of virsh's dumpxml).",
	  0, cmd_dumpconfig },
	{ "edit", G_CONF, "VM", 1, 1, HC_VM, NULL, "edit a VM's configuration in $VISUAL or $EDITOR",
	  "Writes the latest configuration to a temporary .dts, opens it in $VISUAL, else $EDITOR, else vi, and "
	  "when it was changed defines the result as a new revision. When the result is refused the error is "
	  "printed and the temporary file is kept, with its path, for another try with `hvctl define FILE`.",
	  0, cmd_edit },
	{ "config-history", G_CONF, "VM", 1, 1, HC_VM, JSON_ONLY,
	  "list the stored revisions of a VM's configuration",
	  "Lists every stored revision: number, time, who stored it, size, SHA-256 and whether it was a rollback.",
	  0, cmd_config_history },
	{ "config-rollback", G_CONF, "VM REVISION", 2, 2, HC_VM, NULL,
	  "define an earlier revision again",
	  "Stores revision REVISION again as the newest revision and defines it (the VM must be shut off).",
	  0, cmd_config_rollback },

	/* ---- console and events ---- */
	{ "console", G_WATCH, "VM", 1, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "follow", NULL, HC_NONE,
		    "keep following new output even when stdin is not a terminal" },
		  { "from", "POS", HC_NONE,
		    "start at this byte position of the console ring (0 = the oldest held)" },
		  END_OPT },
	  "follow a VM's console output",
	  "Prints the VM's console output. On a terminal it attaches like `virsh console`: the output is followed "
	  "live until Ctrl-] detaches (input is not sent to the guest). Otherwise (a pipe, a file) it prints what "
	  "the console ring holds and ends, unless --follow is given. Following ends cleanly on Ctrl-C, SIGTERM, "
	  "and when the reader of stdout goes away.",
	  0, cmd_console },
	{ "event", G_WATCH, "[VM]", 0, 1, HC_VM,
	  (const struct hvctl_optdef[]){
		  { "domain", "VM", HC_VM, "only this VM's events" },
		  { "event", "TYPE", HC_EVENT_TYPE,
		    "only events of this class (lifecycle, fault, watchdog, restart, selftest, doorbell-denied, "
		    "vehicle-state, policy-denied, pending-done) or "
		    "type (started, stopped, ...)" },
		  { "loop", NULL, HC_NONE, "keep waiting for events instead of ending after the first" },
		  { "timeout", "SECS", HC_NONE, "end after SECS seconds" },
		  { "count", "N", HC_NONE, "end after N events" },
		  { "from", "SEQ", HC_NONE,
		    "start at event sequence number SEQ (resume after a disconnect)" },
		  { "oldest", NULL, HC_NONE, "start at the oldest event hv-agent holds" },
		  { "timestamp", NULL, HC_NONE, "prefix each event with the local time" },
		  { "list", NULL, HC_NONE, "list the event classes and types and end" },
		  { "json", NULL, HC_NONE, "print each event as one compact JSON object a line" },
		  END_OPT },
	  "wait for lifecycle and fault events",
	  "Waits for events, printed like virsh: \"event 'lifecycle' for domain 'x': Started Booted\". Without --loop "
	  "it ends after the first event (or --count); Ctrl-C ends the loop. Sequence numbers are hv-core's and "
	  "survive restarts of hv-agent.",
	  0, cmd_event },

	/* ---- agent and hypervisor ---- */
	{ "faults", G_AGENT, "[VM]", 0, 1, HC_VM, JSON_ONLY,
	  "show the saved context of VMs' last faults",
	  "Prints each VM's last fault: kind, time, vCPU, the policy applied, the exception registers and x0..x30.",
	  0, cmd_faults },
	{ "selftest", G_AGENT, "", 0, 0, HC_NONE, JSON_ONLY,
	  "show the hypervisor's boot self-test result",
	  "Prints whether hv-core's boot self-test passed.", 0, cmd_selftest },
	{ "diag", G_AGENT, "[export FILE]", 0, 2, HC_NONE, JSON_ONLY,
	  "show hv-agent's link to the hypervisor, or export a diagnostic archive",
	  "Prints whether hv-agent's management link is up (and why not), the hypervisor's state and liveness, event "
	  "and command counters. `diag export FILE` writes hv-agent's diagnostic archive (a .tar.gz of text files: "
	  "versions, self-test, VMs, fault records, console tails, configuration revisions, audit tail, metrics) "
	  "to FILE.",
	  0, cmd_diag },
	{ "audit", G_AGENT, "[verify | acknowledge]", 0, 1, HC_NONE,
	  (const struct hvctl_optdef[]){
		  { "from", "SEQ", HC_NONE, "first entry to show" },
		  { "max", "N", HC_NONE, "at most N entries (default: hv-agent's page size)" },
		  JSON_OPT,
		  END_OPT },
	  "show hv-agent's audit log, check it, acknowledge a finding",
	  "Prints who called which state-changing RPC, when, and with what outcome. `audit verify` checks the "
	  "keyed chain, its MACs and its head again and prints the finding, naming the first bad row (exit status "
	  "failed when there is one); `audit acknowledge` (admin) records the finding in the log and lets "
	  "state-changing calls through again (docs/security.md).",
	  0, cmd_audit },
	{ "health", G_AGENT, "", 0, 0, HC_NONE, JSON_ONLY,
	  "ask hv-agent whether it is serving (grpc.health.v1)",
	  "Prints SERVING or NOT_SERVING; the exit status is 0 only for SERVING.", 0, cmd_health },
	{ "version", G_AGENT, "", 0, 0, HC_NONE, JSON_ONLY, "show versions and capabilities",
	  "Prints the versions of hvctl, hv-agent and hv-core, the management ABI and the capabilities.",
	  0, cmd_version },
	{ "vehicle", G_AGENT, "[set STATE]", 0, 2, HC_NONE, JSON_ONLY,
	  "show or declare the vehicle state hv-core's safety policy acts on",
	  "Prints the vehicle state hv-core acts on, its source (management or a guest) and its age. "
	  "`vehicle set STATE` (admin) declares it: parked, ready, driving, charging, service or unknown; "
	  "hv-core refuses it when the source is a guest (docs/vm-config.md section 10).",
	  0, cmd_vehicle },
	{ "policy", G_AGENT, "", 0, 0, HC_NONE, JSON_ONLY,
	  "show the safety policy: what each vehicle state allows",
	  "Prints hv-core's policy matrix: one line per vehicle state and operation, one column per "
	  "criticality (QM, ASIL-A..D), each cell allow or deny with the number of the rule that decided, "
	  "then the rules.",
	  0, cmd_policy },
	{ "pending", G_AGENT, "[cancel ID]", 0, 2, HC_NONE,
	  (const struct hvctl_optdef[]){
		  { "all", NULL, HC_NONE,
		    "also the finished ones (done, failed, cancelled), newest first" },
		  JSON_OPT,
		  END_OPT },
	  "list or cancel commands waiting for the safety policy",
	  "Lists the lifecycle commands queued with --when-allowed that wait for a vehicle state in which hv-core's "
	  "safety policy allows them: id, operation, VM, who queued it, since when, and the refusal they wait on. "
	  "hv-agent keeps them in its store across restarts and runs each as soon as the vehicle state changes so "
	  "that the policy allows it; the outcome is audited and sent as a pending-done event. `pending cancel ID` "
	  "(operator) withdraws one that has not run yet.",
	  0, cmd_pending },

/* ---- local ---- */
#ifdef HVCTL_WITH_PKI
	{ "pki", G_LOCAL, "init | init-update | issue NAME", 1, 2, HC_PKI,
	  (const struct hvctl_optdef[]){
		  { "dir", "DIR", HC_FILE, "the PKI directory (default ./var/pki)" },
		  { "force", NULL, HC_NONE, "init: replace an existing PKI" },
		  { "role", "ROLE", HC_NONE, "issue: admin, operator or viewer" },
		  { "out", "DIR", HC_FILE, "issue: where to write NAME.crt and NAME.key" },
		  { "vehicle", "ID", HC_NONE, "fleet-init: the vehicle's id (default dev-vehicle)" },
		  { "update-signer", NULL, HC_NONE,
		    "issue: an update-signing certificate from the update CA (docs/ota.md)" },
		  END_OPT },
	  "create the development PKI, issue client certificates",
	  "`pki init` creates a CA, hv-agent's server pair and one client pair per role; `pki issue --role ROLE "
	  "NAME` issues a client certificate (docs/security.md). Works on files only.",
	  HVCTL_F_RAW | HVCTL_F_LOCAL, cmd_pki },
#endif
	{ "fleet", G_AGENT, "list | run VERB [ARGS...]", 1, 1, HC_NONE,
	  (const struct hvctl_optdef[]){
		  { "vehicles", "ID,ID..", HC_NONE,
		    "run: only these vehicles (default: every online one)" },
		  { "wait", "MS", HC_NONE, "how long to collect presence messages (default 1000)" },
		  { "json", NULL, HC_NONE, "list: JSON output" },
		  END_OPT },
	  "the vehicles of the fleet broker; one verb on many of them",
	  "With --fleet mqtts://HOST:PORT: `fleet list` shows the vehicles whose presence the broker "
	  "holds (online, since when, hv-agent version), each checked against the fleet CA: one not "
	  "signed by its vehicle is listed as unverified; `fleet run [--vehicles A,B] VERB ARGS...` runs "
	  "an hvctl verb on every verified online vehicle (or those named), with a progress bar on stderr, and "
	  "ends with one line per vehicle that failed (docs/fleet.md).",
	  HVCTL_F_RAW, cmd_fleet },
#ifdef HVCTL_WITH_OTA
	{ "ota", G_LOCAL,
	  "bundle VM=IMAGE@VERSION... | info BUNDLE | install BUNDLE | status [VM] | history", 1,
	  17, HC_FILE,
	  (const struct hvctl_optdef[]){
		  { "key", "KEY", HC_FILE, "bundle: the update-signing key (PEM, ECDSA P-256)" },
		  { "cert", "CERT", HC_FILE, "bundle: its certificate, then any intermediates (PEM)" },
		  { "out", "OUT", HC_FILE, "bundle: the bundle file to write (also -o)" },
		  { "system", "ID", HC_NONE, "the target system (bundle: default avirt-dev)" },
		  { "group", "NAME", HC_NONE, "bundle: the update group (default update)" },
		  { "expires-days", "N", HC_NONE, "bundle: days until the bundle expires (default 90)" },
		  { "ca", "CERT", HC_FILE, "info: the update CA (default ./var/pki/update-ca.crt)" },
		  { "trust", "CONF", HC_FILE, "info: an update trust configuration (docs/ota.md)" },
		  { "floor", "SECONDS", HC_NONE, "info: the newest signed time already seen" },
		  { "max-size", "BYTES", HC_NONE, "info: the size cap (default 1 GiB)" },
		  { "when-allowed", NULL, HC_NONE,
		    "install: queue a switch the safety policy refuses now (hvctl pending)" },
		  { "window-ms", "N", HC_NONE,
		    "install: the trial's confirmation window (default: the VM's ota-confirm-ms)" },
		  { "timeout-ms", "N", HC_NONE, "install: the trial's timeout (default: hv-core's)" },
		  { "no-follow", NULL, HC_NONE, "install: do not wait for the trials to end" },
		  { "upload-only", NULL, HC_NONE,
		    "install: only upload (hv-agent stores and verifies it); install later" },
		  { "retries", "N", HC_NONE, "install: resumes of a cut upload (default 5)" },
		  { "url", "URL", HC_NONE,
		    "install: hv-agent fetches BUNDLE from this https:// URL itself (OtaFetch)" },
		  JSON_OPT,
		  END_OPT },
	  "create, inspect and install signed OTA bundles",
	  "`ota bundle` signs guest images into an update bundle; `ota info BUNDLE` verifies it against the "
	  "update CA and shows its manifest, or names why it is refused (docs/ota.md); both work on files only. "
	  "`ota install BUNDLE` uploads it to hv-agent (a cut upload resumes from the last byte hv-agent "
	  "stored), which verifies it, installs each image into its VM's inactive slot and switches; hvctl then "
	  "follows each trial until hv-core confirms the new version or rolls back to the old one (exit 1). "
	  "`ota status [VM]` shows the A and B slots, the active one, the anti-rollback floor and the last "
	  "result; `ota history` the OTA steps of the audit log.",
	  HVCTL_F_RAW | HVCTL_F_LOCAL, cmd_ota },
#endif
	{ "help", G_LOCAL, "[COMMAND]", 0, 1, HC_COMMAND, NULL,
	  "show the commands, or one command's usage",
	  "Without an argument lists every command; with one prints its usage, options and description.",
	  HVCTL_F_LOCAL, cmd_help },
	{ "top", G_INFO, "", 0, 0, HC_NONE,
	  (const struct hvctl_optdef[]){
		  { "delay", "MS", HC_NONE, "refresh every MS milliseconds (default 1000)" },
		  { "iterations", "N", HC_NONE, "print N screens and end (default: until q)" },
		  END_OPT },
	  "live view of every VM, like virt-top",
	  "Shows every VM, refreshed every second and sorted by exits per second: state, exits per second, "
	  "CPU share, heartbeat age (hv-core's clock), faults, restarts, health code and image version. "
	  "q quits. Without a terminal it prints one screen (or --iterations N) and ends.",
	  0, cmd_top },
};

const unsigned hvctl_ncommands = sizeof hvctl_commands / sizeof hvctl_commands[0];

const struct hvctl_cmd *hvctl_find_cmd(const char *name)
{
	for (unsigned i = 0; i < hvctl_ncommands; i++)
		if (strcmp(hvctl_commands[i].name, name) == 0)
			return &hvctl_commands[i];
	return NULL;
}
