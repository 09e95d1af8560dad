/* fuzz_mastercf - libFuzzer harness for the master.cf parser
 * (gateway/conf/mastercf.h).
 *
 * Properties checked beyond "no crash": results are in range; every entry
 * has its eight columns, a known type and at most MASTERCF_ARGS_MAX
 * arguments; and the line postconf -M prints for an entry parses back to
 * the same columns, arguments and -o overrides (round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/mastercf.h"
#include "core/buf.h"
#include "core/mem.h"

static void same_or_abort(const struct mastercf_entry *a,
			  const struct mastercf_entry *b)
{
	if (a->nargs != b->nargs || a->type != b->type ||
	    a->wakeup != b->wakeup || a->maxproc != b->maxproc)
		abort();
	for (int i = 0; i < MASTERCF_FIELDS; i++)
		if (strcmp(a->field[i], b->field[i]) != 0)
			abort();
	for (size_t i = 0; i < a->nargs; i++) {
		const struct mastercf_arg *x = &a->args[i], *y = &b->args[i];

		if (!x->name != !y->name)
			abort();
		if (x->name ? strcmp(x->name, y->name) != 0 ||
				      strcmp(x->value, y->value) != 0
			    : strcmp(x->text, y->text) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mastercf_entry *e = mem_alloc(sizeof(*e));
	struct mastercf_entry *again = mem_alloc(sizeof(*again));
	struct buf scratch, scratch2, line, msg;
	struct mastercf_parser ps, ps2;
	int r;

	buf_init(&scratch, MASTERCF_LOGICAL_MAX + 2);
	buf_init(&scratch2, MASTERCF_LOGICAL_MAX + 2);
	buf_init(&line, 4 * MASTERCF_LOGICAL_MAX);
	buf_init(&msg, 1024);
	mastercf_init(&ps, (const char *)data, size, &scratch);
	while ((r = mastercf_next(&ps, e)) != MASTERCF_END) {
		buf_reset(&msg);
		if (r < 0) {
			if (r < MASTERCF_ERR_COLUMN || ps.err.line == 0)
				abort();
			mastercf_error_format(&ps.err, &msg);
			break;
		}
		if (r == MASTERCF_WARNING) {
			mastercf_error_format(&ps.err, &msg);
			continue;
		}
		if (r != MASTERCF_ENTRY || e->nargs > MASTERCF_ARGS_MAX ||
		    strcmp(mastercf_type_name(e->type),
			   e->field[MASTERCF_F_TYPE]) != 0)
			abort();
		buf_reset(&line);
		mastercf_format(e, &line);
		if (buf_error(&line) || buf_len(&line) > MASTERCF_LINE_MAX)
			continue; /* one physical line cannot hold it */
		mastercf_init(&ps2, buf_str(&line), buf_len(&line), &scratch2);
		if (mastercf_next(&ps2, again) != MASTERCF_ENTRY)
			abort();
		same_or_abort(e, again);
		if (mastercf_next(&ps2, again) != MASTERCF_END)
			abort();
	}
	mem_free(e);
	mem_free(again);
	buf_free(&scratch);
	buf_free(&scratch2);
	buf_free(&line);
	buf_free(&msg);
	return 0;
}
