/*
 * main.c - "mgmt-client", a bare-metal management VM (vm-config `management`,
 * VMCFG-027) that drives hv-core through the trapped register page, as a
 * ServiceOS does on a real target (docs/mgmt-abi.md MGMT-112, MGMT-210..215).
 *
 * It finds the region in its device tree (MGMT-003), checks the magic and
 * version, then runs GET_INFO, LIST, an unknown command, SUSPEND and RESUME of
 * rtos-demo and READ_CONSOLE of rtos-demo. Each result is one console line
 * "MC <WHAT> key=value ...", which tests/integration/hvcore_mgmt_mmio.c parses.
 * "sync=1" says done_seq equalled req_seq at the first load after the store
 * (the command completed before the store retired).
 *
 * After "MC DONE" it waits for a second word, GO_FLAG_IPA + 4, then DESTROYs
 * and STARTs rtos-demo (START is answered at once, its boot goes on, MGMT-713).
 *
 * Between SUSPEND and RESUME it waits (bounded) for a word in its own memory,
 * GO_FLAG_IPA, to become non-zero: the test sets it once it has seen rtos-demo
 * PAUSED from outside, so that observation needs no timing.
 *
 * Every access to the register page is one naturally aligned LDR/STR (or
 * STLR), written in assembly (guests/common/mgmt_page.h, MGMT-212).
 */
#include "guest.h"
#include "hvmgmt.h"
#include "mini_fdt.h"

#define GO_FLAG_IPA 0x40F00000ul /* inside its own memory, far above the image */
#define TARGET_VM "rtos-demo"

void guest_main(uint64_t dtb);

static uintptr_t regs; /* the register page (IPA) */

#include "mgmt_page.h"

static void puthex(uint64_t v)
{
	char b[19];
	int n = 0;
	do {
		b[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	g_puts("0x");
	while (n) {
		char c[2] = { b[--n], 0 };
		g_puts(c);
	}
}

static void kv(const char *k, uint64_t v)
{
	g_puts(" ");
	g_puts(k);
	g_puts("=");
	g_putu(v);
}

static void kx(const char *k, uint64_t v)
{
	g_puts(" ");
	g_puts(k);
	g_puts("=");
	puthex(v);
}

struct result {
	uint32_t status;
	int sync;
	uint64_t ret[6];
	char msg[64];
};

/* MGMT-111 over the trapped page. */
static void command(uint32_t cmd, uint32_t vm_id, uint64_t arg0, struct result *res)
{
	uint32_t done = r32(OFF(done_seq));
	w32(OFF(cmd), cmd);
	w32(OFF(vm_id), vm_id);
	w64(OFF(arg[0]), arg0);
	for (uint32_t i = 1; i < 6; i++)
		w64(OFF(arg[0]) + 8 * i, 0);
	w32_release(OFF(req_seq), done + 1);
	res->sync = r32(OFF(done_seq)) == done + 1;
	while (r32(OFF(done_seq)) != done + 1) /* never loops on hv-core (MGMT-112) */
		;
	res->status = r32(OFF(status));
	for (uint32_t i = 0; i < 6; i++)
		res->ret[i] = r64(OFF(ret[0]) + 8 * i);
	for (uint32_t i = 0; i < sizeof(res->msg); i++)
		res->msg[i] = (char)r8(OFF(ret_msg) + i);
	res->msg[sizeof(res->msg) - 1] = 0;
}

static void head(const char *what, const struct result *res)
{
	g_puts("MC ");
	g_puts(what);
	kv("status", res->status);
	kv("sync", (uint64_t)res->sync);
}

static void end_line(const struct result *res)
{
	if (res->msg[0]) {
		g_puts(" msg=");
		for (const char *c = res->msg; *c; c++)
			if (*c == ' ' || *c < 32 || *c > 126) {
				char u[2] = { '_', 0 };
				g_puts(u);
			} else {
				char u[2] = { *c, 0 };
				g_puts(u);
			}
	}
	g_puts("\n");
}

static int name_is(const volatile char *a, const char *b)
{
	uint32_t i = 0;
	for (; b[i]; i++)
		if (a[i] != b[i])
			return 0;
	return a[i] == 0;
}

/* Slots are mapped read-only (MGMT-211): plain loads, by the gen protocol. */
static volatile struct hvm_vm_slot *slot(uint32_t id)
{
	return (volatile struct hvm_vm_slot *)(regs + r32(OFF(off_slots)) + id * r32(OFF(slot_size)));
}

static uint32_t slot_state(uint32_t id)
{
	for (;;) {
		uint32_t g1 = __atomic_load_n(&slot(id)->gen, __ATOMIC_ACQUIRE);
		uint32_t st = slot(id)->state;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(g1 & 1) && slot(id)->gen == g1)
			return st;
	}
}

static int find_vm(const char *name)
{
	uint32_t max = r32(OFF(max_vms));
	for (uint32_t i = 0; i < max && i < HVM_MAX_VMS; i++)
		if (slot(i)->defined && name_is(slot(i)->name, name))
			return (int)i;
	return -1;
}

static void wait_go(void)
{
	volatile uint32_t *go = (volatile uint32_t *)GO_FLAG_IPA;
	g_puts("MC WAIT-GO\n");
	for (unsigned i = 0; i < 6000 && !*go; i++) /* at most about a minute */
		g_sleep_ms(10);
	g_puts(*go ? "MC GO\n" : "MC GO timeout\n");
}

void guest_main(uint64_t dtb)
{
	struct mgmt_node node = { 0 };
	g_puts("mgmt-client: hello from EL1\n");
	if (mini_fdt_find_mgmt(dtb, &node) == 0) {
		g_puts("MC DT path=");
		g_puts(node.path);
		kx("base", node.base);
		kx("size", node.size);
		kv("no-map", (uint64_t)node.no_map);
		g_puts("\n");
		regs = (uintptr_t)node.base;
	} else {
		g_puts("MC DT missing\n");
		regs = (uintptr_t)HVM_DEFAULT_BASE; /* the documented IPA (MGMT-210) */
	}

	/* MGMT-001, MGMT-002, MGMT-010 */
	uint32_t magic = r32(OFF(magic));
	uint32_t ver = r32(OFF(abi_major)); /* abi_major | abi_minor << 16 */
	g_puts("MC HELLO");
	kx("magic", magic);
	kv("major", ver & 0xFFFF);
	kv("minor", ver >> 16);
	kv("ok", magic == HVM_MAGIC && (ver & 0xFFFF) == HVM_ABI_MAJOR);
	g_puts("\n");
	if (magic != HVM_MAGIC || (ver & 0xFFFF) != HVM_ABI_MAJOR) {
		g_puts("MC DONE failed=magic\n");
		return;
	}
	while (r32(OFF(hv_state)) == HVM_HV_BOOTING)
		g_sleep_ms(10);

	/* hypervisor-owned fields ignore stores (MGMT-212) */
	w32(OFF(magic), 0);
	w64(OFF(hv_ticks), 0);
	g_puts("MC RO-WRITE");
	kx("magic", r32(OFF(magic)));
	g_puts("\n");

	struct result res;
	command(HVM_CMD_GET_INFO, 0, 0, &res);
	head("GET_INFO", &res);
	kv("vm_count", res.ret[0]);
	kx("caps", res.ret[1]);
	end_line(&res);

	command(HVM_CMD_LIST, 0, 0, &res);
	head("LIST", &res);
	kx("mask", res.ret[0]);
	end_line(&res);

	command(0x7777, 0, 0, &res);
	head("UNKNOWN", &res);
	end_line(&res);

	int id = find_vm(TARGET_VM);
	g_puts("MC FIND name=" TARGET_VM);
	kv("id", (uint64_t)(id < 0 ? 99 : id));
	g_puts("\n");
	if (id < 0) {
		g_puts("MC DONE failed=find\n");
		return;
	}
	/* the target greets before it is RUNNING from our side: wait for both,
	 * bounded, so SUSPEND and READ_CONSOLE have something to act on */
	volatile struct hvm_console *con =
		(volatile struct hvm_console *)(regs + r32(OFF(off_consoles)) +
						(uint32_t)id * r32(OFF(console_size)));
	for (unsigned i = 0;
	     i < 6000 && (slot_state((uint32_t)id) != HVM_VM_RUNNING || con->head == 0); i++)
		g_sleep_ms(10);

	command(HVM_CMD_SUSPEND, (uint32_t)id, 0, &res);
	head("SUSPEND", &res);
	kv("state", slot_state((uint32_t)id));
	end_line(&res);

	wait_go();

	command(HVM_CMD_RESUME, (uint32_t)id, 0, &res);
	head("RESUME", &res);
	kv("state", slot_state((uint32_t)id));
	end_line(&res);

	/* MGMT-049: the bytes land in this transport's data area (MGMT-213) */
	command(HVM_CMD_READ_CONSOLE, (uint32_t)id, 0, &res);
	head("READ_CONSOLE", &res);
	kv("count", res.ret[0]);
	kv("next", res.ret[1]);
	kv("lost", res.ret[2]);
	g_puts(" text=");
	const volatile char *data = (const volatile char *)(regs + r32(OFF(off_data)));
	for (uint64_t i = 0; i < res.ret[0] && i < 40 && data[i] != '\n'; i++) {
		char c[2] = { data[i] == ' ' ? '_' : data[i], 0 };
		if (c[0] < 32 || c[0] > 126)
			c[0] = '?';
		g_puts(c);
	}
	end_line(&res);

	/* a bad argument through this transport is refused like any other */
	command(HVM_CMD_SUSPEND, 200, 0, &res);
	head("BAD_VM", &res);
	end_line(&res);

	g_puts("MC DONE\n");

	/* MGMT-713: on a second go (the word after GO_FLAG_IPA), DESTROY and
	 * START the target: START is answered before the store retires, and its
	 * boot's work goes on in units afterwards (MGMT-711) */
	volatile uint32_t *go2 = (volatile uint32_t *)GO_FLAG_IPA + 1;
	while (!*go2)
		g_sleep_ms(10);
	command(HVM_CMD_DESTROY, (uint32_t)id, 0, &res);
	head("DESTROY", &res);
	end_line(&res);
	command(HVM_CMD_START, (uint32_t)id, 0, &res);
	head("START", &res);
	kv("state", slot_state((uint32_t)id));
	end_line(&res);
	g_puts("MC DONE2\n");
	for (;;)
		g_sleep_ms(1000);
}
