/* testutil - shared helpers for the cmocka unit tests.
 *
 * Include after <stdarg.h>/<stddef.h>/<setjmp.h>/<stdint.h> as cmocka
 * requires; this header does that. Helpers: a scratch directory per test
 * binary, writing a file from a string, capturing log lines, and counting
 * open descriptors. */
#ifndef MAILGW_TESTUTIL_H
#define MAILGW_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

/* A fresh scratch directory (removed at exit); returns its path. */
static inline const char *test_tmpdir(void)
{
	static char dir[64];

	if (dir[0] == 0) {
		snprintf(dir, sizeof(dir), "/tmp/mailgw-unit-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	return dir;
}

/* Write text to tmpdir/name; returns the full path in a static buffer. */
static inline const char *test_write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *f;

	snprintf(p, 256, "%s/%s", test_tmpdir(), name);
	f = fopen(p, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	return p;
}

/* Log capture: every line goes into test_log_lines (newline-separated). */
static struct buf test_log_lines;

static inline void test_log_sink(const char *line, void *arg)
{
	(void)arg;
	buf_puts(&test_log_lines, line);
	buf_putc(&test_log_lines, '\n');
}

static inline void test_log_capture(void)
{
	if (test_log_lines.data == NULL)
		buf_init(&test_log_lines, 1 << 20);
	buf_reset(&test_log_lines);
	log_set_sink(test_log_sink, NULL);
}

/* The number of open descriptors of this process (/proc/self/fd). */
static inline int test_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		abort();
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static inline void test_cleanup_tmpdir(void)
{
	char cmd[128];

	if (test_tmpdir()[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_tmpdir());
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", test_tmpdir());
	}
}

#endif
