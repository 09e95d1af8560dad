/* fuzz_maincf - libFuzzer harness for the main.cf parser, expansion and
 * editing (gateway/conf/maincf.h).
 *
 * Properties checked beyond "no crash, no leak, no hang":
 *   - results are in range and entries obey the limits and name syntax;
 *   - every value expands against the entries seen so far with a known
 *     result code and within MAINCF_EXPAND_MAX (loops and depth are
 *     errors, never hangs);
 *   - when the whole input parses, postconf -e's edit of it parses too,
 *     and the edited name then has exactly the value given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/maincf.h"
#include "core/buf.h"
#include "core/mem.h"

#define FUZZ_VARS 64

struct vars {
	char *name[FUZZ_VARS];
	char *value[FUZZ_VARS];
	int n;
};

static const char *vars_get(void *arg, const char *name, size_t len)
{
	struct vars *v = arg;

	/* The last definition wins, as in main.cf. */
	for (int i = v->n; i-- > 0;)
		if (strlen(v->name[i]) == len &&
		    memcmp(v->name[i], name, len) == 0)
			return v->value[i];
	return NULL;
}

static void count_ref(void *arg, const char *name, size_t len)
{
	(void)name;
	if (len == 0 || len > MAINCF_NAME_MAX)
		abort();
	(*(int *)arg)++;
}

static int known_code(int r)
{
	return r == 0 || r == MAINCF_ERR_SYNTAX || r == MAINCF_ERR_LOOP ||
	       r == MAINCF_ERR_DEPTH || r == MAINCF_ERR_SIZE;
}

/* check_edit - edit text and verify the result. */
static void check_edit(const char *text, size_t len)
{
	static const struct maincf_edit_item items[] = {
		{"fuzz_name", "edited value"},
		{"myorigin", NULL},
	};
	struct buf out, scratch;
	struct maincf_parser ps;
	struct maincf_entry e;
	struct maincf_error err;
	const char *last = NULL;
	char *copy = NULL;
	int r;

	buf_init(&out, 2 * len + 1024);
	buf_init(&scratch, MAINCF_VALUE_MAX + 1);
	if (maincf_edit(text, len, items, 2, &out, &err) != 0)
		abort(); /* the input parsed, so its lines are fine */
	/* Each line setting an edited name is replaced, one is appended when
	 * there was none; removed names are gone. */
	{
		size_t before = maincf_count_sets(text, len, "fuzz_name");

		if (maincf_count_sets(buf_str(&out), buf_len(&out),
				      "fuzz_name") != (before ? before : 1) ||
		    maincf_count_sets(buf_str(&out), buf_len(&out),
				      "myorigin") != 0)
			abort();
	}
	maincf_init(&ps, buf_str(&out), buf_len(&out), &scratch);
	while ((r = maincf_next(&ps, &e)) != MAINCF_END) {
		if (r == MAINCF_ERR_ENTRIES)
			break; /* the appended line was one too many */
		if (r < 0)
			abort();
		if (r != MAINCF_ENTRY)
			continue;
		if (e.name_len == 8 && memcmp(e.name, "myorigin", 8) == 0)
			abort(); /* removed */
		if (e.name_len == 9 && memcmp(e.name, "fuzz_name", 9) == 0) {
			mem_free(copy);
			copy = mem_strndup(e.value, e.value_len);
			last = copy;
		}
	}
	if (r != MAINCF_ERR_ENTRIES &&
	    (last == NULL || strcmp(last, "edited value") != 0))
		abort();
	mem_free(copy);
	buf_free(&out);
	buf_free(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vars v = {{0}, {0}, 0};
	struct maincf_lookup lk = {vars_get, NULL, &v};
	struct buf scratch, out;
	struct maincf_parser ps;
	struct maincf_entry e;
	struct maincf_error err;
	const char *self;
	int r, refs, clean = 1;

	buf_init(&scratch, MAINCF_VALUE_MAX + 1);
	buf_init(&out, MAINCF_EXPAND_MAX + 1);
	maincf_init(&ps, (const char *)data, size, &scratch);
	while ((r = maincf_next(&ps, &e)) != MAINCF_END) {
		if (r < 0) {
			if (r < MAINCF_ERR_NUL || ps.err.line == 0)
				abort();
			clean = 0;
			break;
		}
		if (r == MAINCF_WARNING)
			continue;
		if (r != MAINCF_ENTRY ||
		    !maincf_name_valid(e.name, e.name_len) ||
		    e.value_len > MAINCF_VALUE_MAX ||
		    strlen(e.value) != e.value_len || e.last_line < e.line)
			abort();
		self = NULL;
		if (v.n < FUZZ_VARS) {
			v.name[v.n] = mem_strndup(e.name, e.name_len);
			v.value[v.n] = mem_strndup(e.value, e.value_len);
			self = v.name[v.n++];
		}
		buf_reset(&out);
		r = maincf_expand(e.value, e.value_len, self, &lk, &out, &err);
		if (!known_code(r) || buf_len(&out) > MAINCF_EXPAND_MAX)
			abort();
		refs = 0;
		r = maincf_refs(e.value, e.value_len, count_ref, &refs);
		if (r != 0 && r != MAINCF_ERR_SYNTAX && r != MAINCF_ERR_DEPTH)
			abort();
	}
	/* Expanding raw input as one value exercises the syntax directly. */
	buf_reset(&out);
	if (memchr(data, 0, size) == NULL &&
	    !known_code(maincf_expand((const char *)data, size, NULL, &lk, &out,
				      &err)))
		abort();
	if (clean)
		check_edit((const char *)data, size);
	for (int i = 0; i < v.n; i++) {
		mem_free(v.name[i]);
		mem_free(v.value[i]);
	}
	buf_free(&scratch);
	buf_free(&out);
	return 0;
}
