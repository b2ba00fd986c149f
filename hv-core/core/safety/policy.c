/*
 * policy.c - the safety policy as data (VMCFG-410, VMCFG-411): rule strings
 * expanded into the (vehicle state, operation, criticality) matrix.
 */
#include <string.h>
#include "policy.h"
#include "fmt.h"

static const char *const crit_names[HVM_POLICY_CRITS] = { "QM", "ASIL-A", "ASIL-B", "ASIL-C",
							  "ASIL-D" };

const char *policy_crit_name(uint32_t crit)
{
	return crit < HVM_POLICY_CRITS ? crit_names[crit] : "?";
}

/* VMCFG-411: QM VMs are free; in parked everything is allowed; starting and
 * resuming a safety VM is allowed in every state (they restore it, they
 * disturb nothing); every other operation on a safety VM is denied, in
 * unknown as in every state other than parked. */
static const char *const default_rules[] = {
	"* * QM allow",
	"parked * * allow",
	"* start,resume * allow",
	"* * ASIL deny",
};

void policy_default(struct policy *p)
{
	char err[8];
	policy_build(p, default_rules, sizeof(default_rules) / sizeof(default_rules[0]), err,
		     sizeof(err));
	p->is_default = 1;
}

/* Copies the next blank-separated word of *s (at most len - 1 bytes). */
static int next_word(const char **s, char *out, size_t len)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != ' ')
		n++;
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = 0;
	*s = p + n;
	return 0;
}

/* Bit i set for each comma-separated item of word that names entry i of the
 * list (get(i) for i < count); "*" is every entry; extra(item) may add a set
 * for a name outside the list (0 = none). Returns 0 when an item is unknown. */
static uint32_t parse_set(const char *word, uint32_t count, const char *(*get)(uint32_t),
			  uint32_t (*extra)(const char *), char *bad, size_t badlen)
{
	if (strcmp(word, "*") == 0)
		return (1u << count) - 1;
	uint32_t set = 0;
	const char *p = word;
	while (*p) {
		size_t n = 0;
		while (p[n] && p[n] != ',')
			n++;
		uint32_t bit = 0;
		for (uint32_t i = 0; i < count && !bit; i++) {
			const char *name = get(i);
			if (name && strlen(name) == n && strncmp(name, p, n) == 0)
				bit = 1u << i;
		}
		if (!bit && extra && n < 16) {
			char item[16];
			memcpy(item, p, n);
			item[n] = 0;
			bit = extra(item);
		}
		if (!bit) {
			size_t k = n < badlen ? n : badlen - 1;
			memcpy(bad, p, k);
			bad[k] = 0;
			return 0;
		}
		set |= bit;
		p += n;
		if (*p == ',')
			p++;
	}
	return set;
}

static const char *state_at(uint32_t i)
{
	return hvm_vehicle_state_name(i);
}
static const char *op_at(uint32_t i)
{
	return hvm_policy_op_name(i);
}
static const char *crit_at(uint32_t i)
{
	return policy_crit_name(i);
}
/* "ASIL" is every ASIL level */
static uint32_t crit_extra(const char *item)
{
	return strcmp(item, "ASIL") == 0 ? 0x1Eu : 0;
}

int policy_build(struct policy *p, const char *const *rules, size_t n, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (n == 0 || n > HVM_POLICY_MAX_RULES) {
		hv_snprintf(err, errlen, "a policy has 1..%u rules, not %u (VMCFG-410)",
			    HVM_POLICY_MAX_RULES, (unsigned)n);
		return -1;
	}
	p->n_rules = (uint32_t)n;
	for (size_t r = 0; r < n; r++) {
		const char *s = rules[r];
		char w[4][64], bad[32] = "";
		int words = 0;
		while (words < 4 && next_word(&s, w[words], sizeof(w[words])) == 0)
			words++;
		while (*s == ' ')
			s++;
		if (words != 4 || *s || strlen(rules[r]) >= HVM_POLICY_RULE_LEN) {
			hv_snprintf(err, errlen,
				    "policy rule %u: \"STATES OPERATIONS CRITICALITIES allow|deny\" "
				    "of at most %u characters (VMCFG-410)",
				    (unsigned)r + 1, HVM_POLICY_RULE_LEN - 1);
			return -1;
		}
		uint32_t vs = parse_set(w[0], HVM_VS__COUNT, state_at, NULL, bad, sizeof(bad));
		uint32_t ops = vs ? parse_set(w[1], HVM_OP__COUNT, op_at, NULL, bad, sizeof(bad)) : 0;
		uint32_t crits = ops ? parse_set(w[2], HVM_POLICY_CRITS, crit_at, crit_extra, bad,
						 sizeof(bad))
				     : 0;
		int allow = strcmp(w[3], "allow") == 0;
		if (!crits || (!allow && strcmp(w[3], "deny") != 0)) {
			hv_snprintf(err, errlen, "policy rule %u: unknown word '%s' (VMCFG-410)",
				    (unsigned)r + 1, crits ? w[3] : bad);
			return -1;
		}
		memcpy(p->rule[r], rules[r], strlen(rules[r]) + 1);
		for (uint32_t a = 0; a < HVM_VS__COUNT; a++)
			for (uint32_t o = 0; o < HVM_OP__COUNT; o++)
				for (uint32_t c = 0; c < HVM_POLICY_CRITS; c++)
					if (!p->cell[a][o][c] && (vs >> a & 1) && (ops >> o & 1) &&
					    (crits >> c & 1))
						p->cell[a][o][c] =
							(uint8_t)((r + 1) |
								  (allow ? HVM_POLICY_ALLOW : 0));
	}
	return 0;
}

uint8_t policy_cell(const struct policy *p, uint32_t vs, uint32_t op, uint32_t crit)
{
	if (vs >= HVM_VS__COUNT)
		vs = HVM_VS_UNKNOWN;
	if (crit >= HVM_POLICY_CRITS)
		crit = HVM_POLICY_CRITS - 1;
	return op < HVM_OP__COUNT ? p->cell[vs][op][crit] : 0;
}

void policy_record(const struct policy *p, struct hvm_policy *out)
{
	memset(out, 0, sizeof(*out));
	out->magic = HVM_POLICY_MAGIC;
	out->version = HVM_POLICY_VERSION;
	out->size = sizeof(*out);
	out->is_default = (uint32_t)p->is_default;
	out->n_rules = p->n_rules;
	memcpy(out->cell, p->cell, sizeof(out->cell));
	memcpy(out->rule, p->rule, sizeof(out->rule));
}
