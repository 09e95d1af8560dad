/* diff - a line diff of two texts for the apply page (what will change in
 * main.cf and master.cf), as a unified diff's body: each line of the
 * result is ' ', '-' or '+' and the line.
 *
 * Longest common subsequence over lines (O(n*m) time and memory); each
 * text is bounded by DIFF_LINES_MAX lines, past which the whole old text
 * is shown removed and the new added. Pure: no I/O. */
#ifndef MAILGW_WEBUI_DIFF_H
#define MAILGW_WEBUI_DIFF_H

#include <stddef.h>

#include "core/buf.h"

#define DIFF_LINES_MAX 1000

/* diff_lines - call fn(op, line, len, arg) for each line in order (op is
 * ' ', '-' or '+'; line without its newline). Returns the number of '-'
 * and '+' lines (0: the texts are the same). */
size_t diff_lines(const char *a, size_t alen, const char *b, size_t blen,
		  void (*fn)(char op, const char *line, size_t len, void *arg),
		  void *arg);

#endif
