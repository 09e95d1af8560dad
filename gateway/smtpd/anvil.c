/* anvil - per-client event rates (see anvil.h). After Postfix's anvil(8):
 * one fixed window per client, all rates reset together. */
#include "smtpd/anvil.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

struct slot {
	char addr[ANVIL_ADDR_MAX];
	uint64_t start;
	long n[ANVIL_NEVENTS];
};

struct anvil {
	uint64_t unit;
	struct slot *slots; /* ANVIL_BUCKETS x ANVIL_WAYS */
};

struct anvil *anvil_new(uint64_t unit_ms)
{
	struct anvil *a = mem_zalloc(sizeof(*a));
	a->unit = unit_ms > 0 ? unit_ms : 60000;
	a->slots = mem_zalloc((size_t)ANVIL_BUCKETS * ANVIL_WAYS *
			      sizeof(*a->slots));
	return a;
}

void anvil_free(struct anvil *a)
{
	if (a == NULL)
		return;
	mem_free(a->slots);
	mem_free(a);
}

static struct slot *find(struct anvil *a, const char *addr, uint64_t now,
			 int create)
{
	unsigned h = 5381;
	for (const char *p = addr; *p; p++)
		h = h * 33 + (unsigned char)*p;
	struct slot *b = &a->slots[(h % ANVIL_BUCKETS) * ANVIL_WAYS];
	struct slot *victim = &b[0];

	for (int i = 0; i < ANVIL_WAYS; i++) {
		if (b[i].addr[0] && strcmp(b[i].addr, addr) == 0) {
			if (now - b[i].start >= a->unit) {
				memset(b[i].n, 0, sizeof(b[i].n));
				b[i].start = now;
			}
			return &b[i];
		}
		if (!b[i].addr[0] || now - b[i].start >= a->unit)
			victim = &b[i];
		else if (victim->addr[0] && now - victim->start < a->unit &&
			 b[i].start < victim->start)
			victim = &b[i];
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->addr, sizeof(victim->addr), "%s", addr);
	victim->start = now;
	return victim;
}

long anvil_hit(struct anvil *a, const char *addr, enum anvil_event ev,
	       uint64_t now)
{
	if ((unsigned)ev >= ANVIL_NEVENTS)
		return 0;
	return ++find(a, addr, now, 1)->n[ev];
}

long anvil_peek(struct anvil *a, const char *addr, enum anvil_event ev,
		uint64_t now)
{
	struct slot *s = (unsigned)ev < ANVIL_NEVENTS ? find(a, addr, now, 0)
						       : NULL;
	return s != NULL ? s->n[ev] : 0;
}
