/*
 * vehicle.c - the vehicle state hv-core gates management by (VMCFG-400..404,
 * MGMT-400..405, GABI-400), and the policy read from the boot configuration.
 *
 * With the management source the state is what the last SET_VEHICLE_STATE
 * said (initially the configuration's `initial`). With a guest source it is
 * what the source VM last wrote into its cooperation page, as long as the VM
 * runs and its sequence counter moved within the freshness limit; otherwise
 * it is UNKNOWN, the most restrictive state.
 */
#include <string.h>
#include <libfdt.h>
#include "safety.h"
#include "vm.h"
#include "region.h"
#include "fmt.h"
#include "log.h"

static struct policy pol;
static int configured;

static struct {
	uint32_t source;
	uint32_t state;        /* management: the set state; guest: last reported */
	char vm[HVM_NAME_LEN]; /* guest source VM                                */
	uint64_t fresh_ns;
	uint64_t changed_ns; /* when the source last wrote                       */
	uint32_t last_seq;   /* guest: the counter as last seen                  */
	uint32_t last_gen;   /* guest: vm->gen of the VM last seen               */
	uint32_t published;  /* effective state last reported by an event        */
} veh;

#define VEH_DEFAULT_FRESH_MS 500u

static void set_defaults(void)
{
	policy_default(&pol);
	memset(&veh, 0, sizeof(veh));
	/* VMCFG-400: no vehicle-state node: the management source (a bench),
	 * parked */
	veh.source = HVM_VSRC_MANAGEMENT;
	veh.state = HVM_VS_PARKED;
	veh.published = HVM_VS_PARKED;
	veh.fresh_ns = VEH_DEFAULT_FRESH_MS * 1000000ull;
	configured = 1;
}

const struct policy *safety_policy(void)
{
	if (!configured)
		set_defaults();
	return &pol;
}

static int state_of(const char *s)
{
	for (uint32_t i = 0; i < HVM_VS__COUNT; i++)
		if (strcmp(s, hvm_vehicle_state_name(i)) == 0)
			return (int)i;
	return -1;
}

static const char *str_prop(const void *fdt, int node, const char *name)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);
	return s && len > 0 && s[len - 1] == 0 ? s : NULL;
}

/* VMCFG-402: the source VM is one of the configuration's VMs. */
static int vm_in_blob(const void *fdt, const char *name)
{
	int list = fdt_path_offset(fdt, "/vms"), n;
	if (list < 0)
		return 0;
	fdt_for_each_subnode(n, fdt, list)
	{
		const char *v = str_prop(fdt, n, "vm-name");
		if (v && strcmp(v, name) == 0)
			return 1;
	}
	return 0;
}

static int read_vehicle(const void *fdt, int node, char *err, size_t errlen)
{
	int len, p;
	fdt_for_each_property_offset(p, fdt, node)
	{
		const char *name;
		fdt_getprop_by_offset(fdt, p, &name, &len);
		if (strcmp(name, "source") && strcmp(name, "initial") && strcmp(name, "vm") &&
		    strcmp(name, "freshness-ms")) {
			hv_snprintf(err, errlen, "vehicle-state: unknown property '%s' (VMCFG-400)",
				    name);
			return -1;
		}
	}
	const char *src = str_prop(fdt, node, "source");
	const char *init = str_prop(fdt, node, "initial");
	const char *vm = str_prop(fdt, node, "vm");
	const fdt32_t *fr = fdt_getprop(fdt, node, "freshness-ms", &len);
	if (!src || (strcmp(src, "management") && strcmp(src, "guest"))) {
		hv_snprintf(err, errlen,
			    "vehicle-state: source is \"management\" or \"guest\" (VMCFG-400)");
		return -1;
	}
	if (strcmp(src, "guest") == 0) {
		if (!vm || strlen(vm) >= HVM_NAME_LEN || !vm_in_blob(fdt, vm) || init) {
			hv_snprintf(err, errlen,
				    "vehicle-state: a guest source names one VM of /vms in 'vm', "
				    "and has no 'initial' (VMCFG-402)");
			return -1;
		}
		uint32_t ms = VEH_DEFAULT_FRESH_MS;
		if (fr && len == 4)
			ms = fdt32_to_cpu(*fr);
		if ((fr && len != 4) || ms < 10 || ms > 60000) {
			hv_snprintf(err, errlen,
				    "vehicle-state: freshness-ms is 10..60000 (VMCFG-403)");
			return -1;
		}
		veh.source = HVM_VSRC_GUEST;
		strlcpy(veh.vm, vm, sizeof(veh.vm));
		veh.fresh_ns = ms * 1000000ull;
		veh.state = HVM_VS_UNKNOWN;
		return 0;
	}
	int st = init ? state_of(init) : HVM_VS_UNKNOWN;
	if (vm || fr || st < 0) {
		hv_snprintf(err, errlen,
			    "vehicle-state: a management source has only 'initial', a vehicle "
			    "state (VMCFG-401)");
		return -1;
	}
	veh.source = HVM_VSRC_MANAGEMENT;
	veh.state = (uint32_t)st;
	return 0;
}

static int read_policy(const void *fdt, int node, char *err, size_t errlen)
{
	const char *rules[HVM_POLICY_MAX_RULES];
	int len;
	const char *s = fdt_getprop(fdt, node, "rules", &len);
	size_t n = 0;
	if (!s || len <= 0 || s[len - 1] != 0) {
		hv_snprintf(err, errlen, "safety-policy: 'rules' is a list of strings (VMCFG-410)");
		return -1;
	}
	for (int off = 0; off < len; off += (int)strlen(s + off) + 1) {
		if (n == HVM_POLICY_MAX_RULES) {
			hv_snprintf(err, errlen, "safety-policy: more than %u rules (VMCFG-410)",
				    HVM_POLICY_MAX_RULES);
			return -1;
		}
		rules[n++] = s + off;
	}
	return policy_build(&pol, rules, n, err, errlen);
}

int safety_configure(const void *fdt, char *err, size_t errlen)
{
	set_defaults();
	if (!fdt)
		return 0;
	int hv = fdt_path_offset(fdt, "/hv-core");
	if (hv < 0)
		return 0;
	int v = fdt_subnode_offset(fdt, hv, "vehicle-state");
	int p = fdt_subnode_offset(fdt, hv, "safety-policy");
	if ((v >= 0 && read_vehicle(fdt, v, err, errlen) != 0) ||
	    (p >= 0 && read_policy(fdt, p, err, errlen) != 0)) {
		set_defaults();
		return -1;
	}
	veh.published = veh.state;
	return 0;
}

static struct vm *source_vm(void)
{
	for (uint32_t i = 0; i < HVM_MAX_VMS; i++)
		if (vms[i].used && strcmp(vms[i].cfg.name, veh.vm) == 0)
			return &vms[i];
	return NULL;
}

/* The effective state now; samples the guest source's counter. */
static uint32_t effective(uint64_t now, struct vm **srcp)
{
	*srcp = NULL;
	if (veh.source == HVM_VSRC_MANAGEMENT)
		return veh.state;
	struct vm *vm = source_vm();
	*srcp = vm;
	if (!vm || !(vm->state == HVM_VM_RUNNING || vm->state == HVM_VM_BLOCKED))
		return HVM_VS_UNKNOWN;
	uint32_t seq = __atomic_load_n(&vm->coop->vehicle_seq, __ATOMIC_ACQUIRE);
	if (seq != veh.last_seq || vm->gen != veh.last_gen) {
		veh.last_seq = seq;
		veh.last_gen = vm->gen;
		veh.state = vm->coop->vehicle_state;
		veh.changed_ns = now;
	}
	if (seq == 0 || now - veh.changed_ns > veh.fresh_ns || veh.state >= HVM_VS__COUNT)
		return HVM_VS_UNKNOWN;
	return veh.state;
}

static void publish(uint32_t st, struct vm *src)
{
	if (st == veh.published)
		return;
	events_append(HVM_EV_VEHICLE_STATE, src ? src->id : HVM_EV_NO_VM, st | veh.published << 8, 0);
	hv_log("vehicle state %s -> %s", hvm_vehicle_state_name(veh.published),
	       hvm_vehicle_state_name(st));
	veh.published = st;
}

void safety_tick(uint64_t now_ns)
{
	if (!configured)
		set_defaults();
	struct vm *src;
	publish(effective(now_ns, &src), src);
}

void safety_view(uint64_t now_ns, struct safety_view *out)
{
	struct vm *src;
	if (!configured)
		set_defaults();
	out->state = effective(now_ns, &src);
	out->source = veh.source;
	out->age_ns = now_ns - veh.changed_ns;
	out->src_vm = src ? src->id : HVM_EV_NO_VM;
	out->reported = veh.state;
	out->fresh_ns = veh.fresh_ns;
}

enum hvm_status safety_check(uint32_t cmd, uint32_t id, uint32_t crit, int dry_run, uint64_t now_ns,
			     uint8_t *cell, char *msg, unsigned mlen)
{
	int op = hvm_policy_op_of_cmd(cmd);
	*cell = 0;
	if (op < 0)
		return HVM_OK;
	struct vm *src;
	uint32_t vs = effective(now_ns, &src);
	*cell = policy_cell(safety_policy(), vs, (uint32_t)op, crit);
	if (*cell & HVM_POLICY_ALLOW)
		return HVM_OK;
	uint32_t rule = *cell & 0x7Fu;
	hv_snprintf(msg, mlen, "rule %u: no %s of %s when %s (VMCFG-%s)", rule,
		    hvm_policy_op_name((uint32_t)op), policy_crit_name(crit),
		    hvm_vehicle_state_name(vs), pol.is_default ? "411" : "410");
	if (!dry_run)
		events_append(HVM_EV_POLICY_DENIED, id, cmd | vs << 8 | rule << 16,
			      id < HVM_MAX_VMS ? vms[id].reason : 0);
	return HVM_E_POLICY;
}

enum hvm_status safety_set_state(uint64_t vs, uint64_t now_ns, char *msg, unsigned mlen)
{
	if (!configured)
		set_defaults();
	if (veh.source != HVM_VSRC_MANAGEMENT) {
		hv_snprintf(msg, mlen, "the vehicle state comes from VM '%s' (VMCFG-402)", veh.vm);
		return HVM_E_POLICY;
	}
	if (vs >= HVM_VS__COUNT) {
		hv_snprintf(msg, mlen, "SET_VEHICLE_STATE: %llu is not a vehicle state (MGMT-402)",
			    (unsigned long long)vs);
		return HVM_E_BAD_ARG;
	}
	veh.state = (uint32_t)vs;
	veh.changed_ns = now_ns;
	publish(veh.state, NULL);
	return HVM_OK;
}
