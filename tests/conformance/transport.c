/*
 * transport.c - the client side of the management region for the conformance
 * suite: mapping the guest-RAM file, the command protocol of MGMT-111 with a
 * bound on every wait (a wedged implementation is a FAIL, never a hang), and
 * consistent copies of slots, fault records and events.
 *
 * This is written from docs/mgmt-abi.md alone, independently of hv-agent's
 * hvlink, so the suite does not inherit the agent's reading of the document.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf_internal.h"

uint64_t conf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void conf_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Short sleep between polls: fine enough for a trapped-MMIO implementation that
 * completes at once, coarse enough not to steal the CPU from an emulator. */
static void poll_pause(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000L };
	nanosleep(&ts, NULL);
}

static void fill_msg(struct conf *c, struct conf_reply *rep, const char msg[64]);

/* ---- the trapped transport: the relay VM's mailbox ------------------------ */

static bool slot_named(struct conf *c, uint32_t i, const char *name)
{
	struct hvm_vm_slot s;
	return conf_read_slot(c, i, &s) && s.defined == 1 &&
	       strncmp(s.name, name, sizeof(s.name)) == 0;
}

uint8_t conf_polled_mark(unsigned i)
{
	return (uint8_t)(0xA5u ^ (i * 7u));
}

/* Maps the relay's mailbox, waits (bounded) until the relay serves and finds
 * its VM id by name. */
static int relay_open(struct conf *c, const struct conf_opts *o, char *err, size_t errlen)
{
	const char *name = o->relay_vm ? o->relay_vm : "mgmt-relay";
	if (o->relay_mbox < o->ram_base || ((o->relay_mbox - o->ram_base) & 0xFFFu)) {
		snprintf(err, errlen, "relay mailbox 0x%llx is not a page inside RAM at 0x%llx",
			 (unsigned long long)o->relay_mbox, (unsigned long long)o->ram_base);
		return -1;
	}
	uint64_t off = o->relay_mbox - o->ram_base;
	size_t len = RELAY_DATA_OFF + RELAY_DATA_SIZE;
	int fd = open(o->ram_file, O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_size < off + len) {
		snprintf(err, errlen, "'%s' holds no relay mailbox at 0x%llx (%llu bytes)",
			 o->ram_file, (unsigned long long)o->relay_mbox, (unsigned long long)len);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the relay mailbox at 0x%llx: %s",
			 (unsigned long long)o->relay_mbox, strerror(errno));
		return -1;
	}
	c->mbox_map = m;
	c->mbox_len = len;
	c->mbox = m;
	uint64_t deadline = conf_now_ms() + o->ready_timeout_ms;
	for (;;) {
		c->relay_id = -1;
		for (uint32_t i = 0; i < c->max_vms && c->relay_id < 0; i++)
			if (slot_named(c, i, name))
				c->relay_id = (int)i;
		if (LD32(c->mbox->magic) == RELAY_MAGIC && c->relay_id >= 0)
			break;
		if (conf_now_ms() >= deadline) {
			snprintf(err, errlen,
				 "trapped transport: %s after %u ms (relay '%s', mailbox 0x%llx)",
				 c->relay_id < 0 ? "no VM of that name is defined"
						 : "the relay never announced its mailbox",
				 o->ready_timeout_ms, name, (unsigned long long)o->relay_mbox);
			return -1;
		}
		conf_sleep_ms(20);
	}
	/* MGMT-213: what the polled page holds now must outlast the trapped run */
	c->polled_req0 = LD32(c->r->req_seq);
	c->polled_done0 = LD32(c->r->done_seq);
	for (unsigned i = 0; i < CONF_POLLED_MARK_LEN; i++)
		c->base[HVM_OFF_DATA + i] = conf_polled_mark(i);
	if (LD32(c->mbox->relay_ok) != 1) {
		snprintf(err, errlen,
			 "trapped transport: relay '%s' found no register page with the magic at "
			 "its management window (MGMT-210)",
			 name);
		return -1;
	}
	return 0;
}

/* One request to the relay, the fields already written: submit and wait
 * (bounded) for its answer. False when the relay did not answer: the relay
 * is then taken as broken and every later command fails with the reason. */
static bool relay_call(struct conf *c, uint32_t op, const char *what)
{
	volatile struct relay_mbox *m = c->mbox;
	if (c->relay_broken)
		return false;
	ST32(m->op, op);
	ST32(m->error, RELAY_OK);
	uint32_t req = LD32(m->ack) + 1u;
	ST32(m->req, req);
	/* the relay itself waits at most timeout_ms for hv-core (twice for a
	 * command: step 1 and step 4); the margin covers its own pace */
	uint64_t deadline = conf_now_ms() + 2ull * c->opt->timeout_ms + 10000u;
	while (LD32(m->ack) != req) {
		if (conf_now_ms() >= deadline) {
			snprintf(c->relay_msg, sizeof(c->relay_msg),
				 "the relay VM did not answer %s within %llu ms (served %llu)",
				 what, (unsigned long long)(2ull * c->opt->timeout_ms + 10000u),
				 (unsigned long long)LD64(m->served));
			c->relay_broken = true;
			return false;
		}
		poll_pause();
	}
	if (LD32(m->error) == RELAY_E_BAD_REQUEST) {
		snprintf(c->relay_msg, sizeof(c->relay_msg), "the relay VM refused %s as malformed",
			 what);
		c->relay_broken = true;
		return false;
	}
	return true;
}

uint64_t conf_reg_load(struct conf *c, uint32_t off, unsigned width)
{
	if (!c->opt->trapped)
		return width == 8 ? __atomic_load_n((volatile uint64_t *)(c->base + off),
						    __ATOMIC_ACQUIRE)
				  : __atomic_load_n((volatile uint32_t *)(c->base + off),
						    __ATOMIC_ACQUIRE);
	ST32(c->mbox->width, width);
	ST32(c->mbox->off, off);
	if (!relay_call(c, RELAY_OP_LOAD, "a load"))
		return 0;
	return LD64(c->mbox->value);
}

void conf_reg_store(struct conf *c, uint32_t off, unsigned width, uint64_t v)
{
	if (!c->opt->trapped) {
		if (width == 8)
			__atomic_store_n((volatile uint64_t *)(c->base + off), v, __ATOMIC_RELEASE);
		else
			__atomic_store_n((volatile uint32_t *)(c->base + off), (uint32_t)v,
					 __ATOMIC_RELEASE);
		return;
	}
	ST32(c->mbox->width, width);
	ST32(c->mbox->off, off);
	ST64(c->mbox->value, v);
	relay_call(c, RELAY_OP_STORE, "a store");
}

const char *conf_transport_name(const struct conf *c)
{
	return c->opt->trapped ? "trapped page" : "polled page";
}

/* MGMT-111 over the trapped page, performed by the relay. */
static bool relay_cmd(struct conf *c, uint32_t cmd, uint32_t vm, const uint64_t args[6],
		      struct conf_reply *rep, char *err, size_t errlen)
{
	volatile struct relay_mbox *m = c->mbox;
	if (c->relay_broken) {
		snprintf(err, errlen, "%s: %s", conf_cmd_name(cmd), c->relay_msg);
		return false;
	}
	ST32(m->cmd, cmd);
	ST32(m->vm_id, vm);
	for (unsigned i = 0; i < 6; i++)
		ST64(m->arg[i], args ? args[i] : 0);
	/* after a timeout the interface gets one short chance, as on the polled page */
	ST32(m->wait_ms, c->wedged ? 50u : c->opt->timeout_ms);
	/* the whole data area, in and out: the relay mirrors it (MGMT-213) */
	ST64(m->data_len, RELAY_DATA_SIZE);
	if (!relay_call(c, RELAY_OP_COMMAND, conf_cmd_name(cmd))) {
		snprintf(err, errlen, "%s: %s", conf_cmd_name(cmd), c->relay_msg);
		return false;
	}
	uint32_t e = LD32(m->error);
	if (e == RELAY_E_BUSY) {
		snprintf(err, errlen,
			 "%s: a command is still outstanding on the trapped page (req_seq %u, "
			 "done_seq %u)",
			 conf_cmd_name(cmd), LD32(m->req_before), LD32(m->done_before));
		c->wedged = true;
		return false;
	}
	if (e == RELAY_E_TIMEOUT) {
		snprintf(c->wedge_msg, sizeof(c->wedge_msg),
			 "%s (seq %u) not completed within %u ms on the trapped page (done_seq %u)",
			 conf_cmd_name(cmd), LD32(m->req_written), c->opt->timeout_ms,
			 LD32(m->done_last));
		snprintf(err, errlen, "timeout: %s", c->wedge_msg);
		c->wedged = true;
		return false;
	}
	c->wedged = false;
	rep->seq = LD32(m->req_written);
	rep->status = LD32(m->status);
	for (unsigned i = 0; i < 6; i++)
		rep->ret[i] = LD64(m->ret[i]);
	/* MGMT-112: answered before the store of req_seq retired */
	c->trapped_cmds++;
	if (LD32(m->done_first) != rep->seq && cmd != HVM_CMD_LOAD_IMAGE && c->trapped_late++ == 0)
		snprintf(c->trapped_late_what, sizeof(c->trapped_late_what),
			 "%s (seq %u): first load of done_seq after the store read %u",
			 conf_cmd_name(cmd), rep->seq, LD32(m->done_first));
	char msg[64];
	conf_copy_in(msg, m->ret_msg, sizeof(msg));
	fill_msg(c, rep, msg);
	return true;
}

int conf_open(struct conf *c, const struct conf_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->opt = o;
	if (!o->ram_file) {
		snprintf(err, errlen, "no RAM file given (--ram-file)");
		return -1;
	}
	if (o->mgmt_base < o->ram_base || ((o->mgmt_base - o->ram_base) & 0xFFFu)) {
		snprintf(err, errlen, "management base 0x%llx is not a page inside RAM at 0x%llx",
			 (unsigned long long)o->mgmt_base, (unsigned long long)o->ram_base);
		return -1;
	}
	uint64_t off = o->mgmt_base - o->ram_base;
	int fd = open(o->ram_file, O_RDWR);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", o->ram_file, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < off + HVM_REGION_SIZE) {
		snprintf(err, errlen, "'%s' is %lld bytes, too small for a region at offset 0x%llx",
			 o->ram_file, (long long)st.st_size, (unsigned long long)off);
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, HVM_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map '%s' at 0x%llx: %s", o->ram_file,
			 (unsigned long long)off, strerror(errno));
		return -1;
	}
	c->map = m;
	c->map_len = HVM_REGION_SIZE;
	c->base = m;
	c->r = m;

	/* MGMT-010: a client must not submit while BOOTING; a fresh QEMU needs a
	 * moment before the magic appears at all. */
	uint64_t deadline = conf_now_ms() + o->ready_timeout_ms;
	for (;;) {
		uint32_t magic = LD32(c->r->magic), hs = LD32(c->r->hv_state);
		if (magic == HVM_MAGIC && hs != HVM_HV_BOOTING)
			break;
		if (conf_now_ms() >= deadline) {
			if (magic != HVM_MAGIC)
				snprintf(err, errlen,
					 "no management region at 0x%llx: magic 0x%08x, "
					 "expected 0x%08x (MGMT-001) after %u ms",
					 (unsigned long long)o->mgmt_base, magic, HVM_MAGIC,
					 o->ready_timeout_ms);
			else
				snprintf(err, errlen, "hv_state still BOOTING after %u ms (MGMT-010)",
					 o->ready_timeout_ms);
			conf_close(c);
			return -1;
		}
		conf_sleep_ms(20);
	}
	c->caps = LD64(c->r->caps);
	uint32_t mv = LD32(c->r->max_vms);
	c->max_vms = mv > HVM_MAX_VMS ? HVM_MAX_VMS : mv;
	c->relay_id = -1;
	if (o->trapped && relay_open(c, o, err, errlen) != 0) {
		conf_close(c);
		return -1;
	}
	return 0;
}

void conf_close(struct conf *c)
{
	if (c->map)
		munmap(c->map, c->map_len);
	c->map = NULL;
	if (c->mbox_map)
		munmap(c->mbox_map, c->mbox_len);
	c->mbox_map = NULL;
	c->mbox = NULL;
}

/* Word-wise copies from and to the shared region (all region structures are
 * 8-byte aligned and multiples of 4 bytes long). */
void conf_copy_in(void *dst, const volatile void *src, size_t n)
{
	const volatile uint8_t *s = src;
	uint8_t *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

void conf_copy_out(volatile void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

volatile struct hvm_vm_slot *conf_slot_ptr(struct conf *c, uint32_t i)
{
	return (volatile struct hvm_vm_slot *)(c->base + HVM_OFF_SLOTS +
					       (size_t)i * sizeof(struct hvm_vm_slot));
}

volatile struct hvm_fault *conf_fault_ptr(struct conf *c, uint32_t i)
{
	return (volatile struct hvm_fault *)(c->base + HVM_OFF_FAULTS +
					     (size_t)i * sizeof(struct hvm_fault));
}

volatile struct hvm_console *conf_console_ptr(struct conf *c, uint32_t i)
{
	return (volatile struct hvm_console *)(c->base + HVM_OFF_CONSOLES +
					       (size_t)i * sizeof(struct hvm_console));
}

volatile struct hvm_event *conf_event_ptr(struct conf *c, uint64_t seq)
{
	return (volatile struct hvm_event *)(c->base + HVM_OFF_EVENTS +
					     (size_t)(seq % HVM_EVENT_COUNT) *
						     sizeof(struct hvm_event));
}

volatile uint8_t *conf_data_ptr(struct conf *c)
{
	if (c->opt->trapped) /* the relay mirrors it into its own data area */
		return (volatile uint8_t *)c->mbox + RELAY_DATA_OFF;
	return c->base + HVM_OFF_DATA;
}

/* The gen protocol shared by slots and fault records: gen, copy, gen again. */
static bool read_gen(volatile uint32_t *gen, const volatile void *src, void *dst, size_t n)
{
	uint64_t deadline = conf_now_ms() + 1000;
	do {
		uint32_t g1 = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
		if (!(g1 & 1u)) {
			conf_copy_in(dst, src, n);
			uint32_t g2 = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
			if (g1 == g2)
				return true;
		}
		poll_pause();
	} while (conf_now_ms() < deadline);
	return false;
}

bool conf_read_slot(struct conf *c, uint32_t i, struct hvm_vm_slot *out)
{
	volatile struct hvm_vm_slot *s = conf_slot_ptr(c, i);
	return read_gen(&s->gen, s, out, sizeof(*out));
}

bool conf_read_fault(struct conf *c, uint32_t i, struct hvm_fault *out)
{
	volatile struct hvm_fault *f = conf_fault_ptr(c, i);
	return read_gen(&f->gen, f, out, sizeof(*out));
}

int conf_read_event(struct conf *c, uint64_t seq, struct hvm_event *out)
{
	for (int tries = 0; tries < 100; tries++) {
		uint64_t head = LD64(c->r->ev_head);
		if (seq >= head || head - seq > HVM_EVENT_COUNT)
			return 0;
		volatile struct hvm_event *e = conf_event_ptr(c, seq);
		if (LD64(e->seq) != seq) {
			poll_pause();
			continue;
		}
		conf_copy_in(out, e, sizeof(*out));
		if (LD64(e->seq) == seq && out->seq == seq)
			return 1;
	}
	return -1;
}

bool conf_ticks_advance(struct conf *c, unsigned timeout_ms)
{
	uint64_t t0 = LD64(c->r->hv_ticks), deadline = conf_now_ms() + timeout_ms;
	while (conf_now_ms() < deadline) {
		if (LD64(c->r->hv_ticks) != t0)
			return true;
		conf_sleep_ms(5);
	}
	return LD64(c->r->hv_ticks) != t0;
}

/* ---- the command protocol ------------------------------------------------- */

bool conf_settle(struct conf *c, unsigned timeout_ms)
{
	uint64_t deadline = conf_now_ms() + timeout_ms;
	for (;;) {
		if (conf_reg_load(c, CONF_REG(done_seq), 4) == conf_reg_load(c, CONF_REG(req_seq), 4))
			return true;
		if (c->relay_broken)
			return false;
		if (conf_now_ms() >= deadline)
			return false;
		poll_pause();
	}
}

bool conf_cmd(struct conf *c, uint32_t cmd, uint32_t vm, const uint64_t args[6],
	      struct conf_reply *rep, char *err, size_t errlen)
{
	volatile struct hvm_regs *r = c->r;
	memset(rep, 0, sizeof(*rep));
	if (c->opt->trapped)
		return relay_cmd(c, cmd, vm, args, rep, err, errlen);
	/* MGMT-111 step 1: nothing outstanding. After an earlier timeout the
	 * interface gets one short chance to catch up before we give up at once,
	 * so that a wedged implementation costs one timeout, not one per check. */
	if (!conf_settle(c, c->wedged ? 50 : c->opt->timeout_ms)) {
		snprintf(err, errlen,
			 "%s: a command is still outstanding (req_seq %u, done_seq %u)%s%s",
			 conf_cmd_name(cmd), LD32(r->req_seq), LD32(r->done_seq),
			 c->wedged ? "; " : "", c->wedged ? c->wedge_msg : "");
		c->wedged = true;
		return false;
	}
	c->wedged = false;
	/* step 2: the command block */
	ST32(r->cmd, cmd);
	ST32(r->vm_id, vm);
	for (unsigned i = 0; i < 6; i++)
		ST64(r->arg[i], args ? args[i] : 0);
	/* step 3: req_seq = done_seq + 1 with release semantics */
	uint32_t seq = LD32(r->done_seq) + 1u;
	ST32(r->req_seq, seq);
	/* step 4: wait for done_seq == req_seq (acquire), bounded */
	uint64_t deadline = conf_now_ms() + c->opt->timeout_ms;
	while (LD32(r->done_seq) != seq) {
		if (conf_now_ms() >= deadline) {
			snprintf(c->wedge_msg, sizeof(c->wedge_msg),
				 "%s (seq %u) not completed within %u ms", conf_cmd_name(cmd), seq,
				 c->opt->timeout_ms);
			snprintf(err, errlen, "timeout: %s", c->wedge_msg);
			c->wedged = true;
			return false;
		}
		poll_pause();
	}
	/* step 5: the reply */
	rep->seq = seq;
	rep->status = LD32(r->status);
	for (unsigned i = 0; i < 6; i++)
		rep->ret[i] = LD64(r->ret[i]);
	char msg[64];
	conf_copy_in(msg, r->ret_msg, sizeof(msg));
	fill_msg(c, rep, msg);
	return true;
}

/* ret_msg into the reply, and what MGMT-121 says of it. */
static void fill_msg(struct conf *c, struct conf_reply *rep, const char msg[64])
{
	rep->msg_terminated = memchr(msg, 0, 64) != NULL;
	memcpy(rep->msg, msg, 64);
	rep->msg[64] = 0;
	size_t n = strlen(rep->msg);
	if (n >= 3 && strcmp(rep->msg + n - 3, "...") == 0) { /* MGMT-121 */
		c->msgs_cut++;
		if (!conf_msg_cut_ok(rep->msg) && c->msgs_cut_bad++ == 0)
			snprintf(c->msg_cut_bad, sizeof(c->msg_cut_bad), "%s", rep->msg);
	}
}

/* The clause id at s ("VMCFG-041"), as its length, or 0; a cut id
 * ("VMCFG-0") counts with partial set. */
static size_t id_at(const char *s, bool *partial)
{
	static const char *const prefixes[] = { "VMCFG-", "MGMT-", "GABI-" };
	*partial = false;
	for (unsigned i = 0; i < 3; i++) {
		size_t p = strlen(prefixes[i]), d = 0;
		if (strncmp(s, prefixes[i], p) != 0)
			continue;
		while (d < 3 && isdigit((unsigned char)s[p + d]))
			d++;
		*partial = d < 3;
		return p + d;
	}
	return 0;
}

bool conf_msg_cut_ok(const char *msg)
{
	bool partial;
	size_t n = id_at(msg, &partial);
	if (n && !partial && msg[n] == ':' && msg[n + 1] == ' ')
		return strlen(msg) <= 63;
	/* not led by an id: then the message must name none (not even a cut one) */
	for (const char *p = msg; *p; p++)
		if ((p == msg || !isupper((unsigned char)p[-1])) && id_at(p, &partial))
			return false;
	return strlen(msg) <= 63;
}

bool conf_expect(struct conf *c, struct conf_result *res, const char *what, uint32_t cmd,
		 uint32_t vm, const uint64_t args[6], uint32_t want, struct conf_reply *rep)
{
	struct conf_reply tmp;
	char err[256];
	if (!rep)
		rep = &tmp;
	if (!conf_cmd(c, cmd, vm, args, rep, err, sizeof(err))) {
		conf_fail(res, "%s: %s", what, err);
		return false;
	}
	if (rep->status != want) {
		conf_fail(res, "%s: %s(vm %u) answered %s, expected %s%s%s%s", what,
			  conf_cmd_name(cmd), vm, conf_status_name(rep->status),
			  conf_status_name(want), rep->msg[0] ? " (\"" : "", rep->msg,
			  rep->msg[0] ? "\")" : "");
		return false;
	}
	/* MGMT-120: ret_msg is empty on success and names the reason otherwise. */
	if (!rep->msg_terminated) {
		conf_fail(res, "%s: ret_msg is not NUL-terminated within 64 bytes (MGMT-120)", what);
		return false;
	}
	if (want == HVM_OK && rep->msg[0]) {
		conf_fail(res, "%s: ret_msg \"%s\" not empty on success (MGMT-120)", what, rep->msg);
		return false;
	}
	if (want != HVM_OK && !rep->msg[0]) {
		conf_fail(res, "%s: refusal %s carries an empty ret_msg (MGMT-120)", what,
			  conf_status_name(want));
		return false;
	}
	return true;
}

/* ---- names ---------------------------------------------------------------- */

/* The names are the standard's own (hvmgmt.h, MGMT-020, MGMT-030), so a code
 * added to the tables is named here too. */
const char *conf_cmd_name(uint32_t cmd)
{
	const char *n = hvm_cmd_name(cmd);
	return n ? n : "unknown command";
}

const char *conf_status_name(uint32_t st)
{
	const char *n = hvm_status_name(st);
	return n ? n : "status out of range";
}

const char *conf_state_name(uint32_t st)
{
	static const char *const n[] = { "NOSTATE",  "RUNNING", "BLOCKED", "PAUSED",
					 "SHUTDOWN", "SHUTOFF", "CRASHED" };
	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "state out of range";
}

/* MGMT-020, column "VM". */
bool conf_cmd_has_vm(uint32_t cmd)
{
	return cmd >= HVM_CMD_UNDEFINE && cmd <= HVM_CMD_READ_FAULT;
}

bool conf_has_cap(const struct conf *c, uint32_t cmd)
{
	return cmd < 64 && (c->caps & HVM_CAP(cmd));
}

/* ---- results -------------------------------------------------------------- */

static void append(struct conf_result *res, const char *fmt, va_list ap)
{
	size_t len = strlen(res->detail);
	if (len && len + 2 < sizeof(res->detail)) {
		strcat(res->detail, "; ");
		len += 2;
	}
	if (len < sizeof(res->detail))
		vsnprintf(res->detail + len, sizeof(res->detail) - len, fmt, ap);
}

void conf_fail(struct conf_result *res, const char *fmt, ...)
{
	va_list ap;
	if (res->verdict != CONF_FAIL) {
		res->verdict = CONF_FAIL;
		res->detail[0] = 0; /* notes made before the failure matter less */
	}
	va_start(ap, fmt);
	append(res, fmt, ap);
	va_end(ap);
}

void conf_skip(struct conf_result *res, const char *fmt, ...)
{
	va_list ap;
	if (res->verdict == CONF_FAIL)
		return;
	res->verdict = CONF_SKIP;
	res->detail[0] = 0;
	va_start(ap, fmt);
	append(res, fmt, ap);
	va_end(ap);
}

void conf_note(struct conf_result *res, const char *fmt, ...)
{
	va_list ap;
	if (res->verdict != CONF_PASS)
		return;
	va_start(ap, fmt);
	append(res, fmt, ap);
	va_end(ap);
}

bool conf_failed(const struct conf_result *res)
{
	return res->verdict == CONF_FAIL;
}
