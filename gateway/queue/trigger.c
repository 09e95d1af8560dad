/* trigger - requests to qmgr through its FIFO (trigger.h). */
#include "queue/trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue/layout.h"

int trigger_open(const char *queue_dir)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", queue_dir,
			     LAYOUT_TRIGGER) >= sizeof(path))
		return -ENAMETOOLONG;
	/* O_NONBLOCK: open fails with ENXIO at once when nobody reads. */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int trigger_write(int fd, const char *req)
{
	char line[TRIGGER_MAX + 1];
	size_t len = strlen(req);
	ssize_t w;

	if (len == 0 || len >= TRIGGER_MAX || memchr(req, '\n', len))
		return -EINVAL;
	memcpy(line, req, len);
	line[len++] = '\n';
	do
		w = write(fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return (size_t)w != len ? -EIO : 0; /* short: not below PIPE_BUF */
}

int trigger_send(const char *queue_dir, const char *req)
{
	size_t len = strlen(req);
	int fd, err;

	if (len == 0 || len >= TRIGGER_MAX || memchr(req, '\n', len))
		return -EINVAL;
	if ((fd = trigger_open(queue_dir)) < 0)
		return fd;
	err = trigger_write(fd, req);
	close(fd);
	return err;
}

static enum trigger_req classify(const char *p, size_t n, const char **arg)
{
	*arg = NULL;
	if (n == 1) {
		switch (p[0]) {
		case 'I':
			return TRIGGER_INCOMING;
		case 'M':
			return TRIGGER_MAILDROP;
		case 'F':
			return TRIGGER_FLUSH;
		case 'R':
			return TRIGGER_RESCAN;
		default:
			return TRIGGER_NONE;
		}
	}
	if (n > 2 && p[0] == 'S' && p[1] == ' ') {
		for (size_t i = 2; i < n; i++)
			if (p[i] <= ' ' || p[i] == 0x7f)
				return TRIGGER_NONE;
		*arg = p + 2;
		return TRIGGER_SITE;
	}
	return TRIGGER_NONE;
}

size_t trigger_parse(const char *p, size_t n,
		     void (*fn)(enum trigger_req req, const char *arg,
				void *ctx),
		     void *ctx)
{
	size_t used = 0;

	while (used < n) {
		const char *nl = memchr(p + used, '\n', n - used);
		size_t len;

		if (nl == NULL) {
			/* An endless line: drop what we have, keep waiting. */
			if (n - used > TRIGGER_MAX)
				return n;
			break;
		}
		len = (size_t)(nl - (p + used));
		if (len <= TRIGGER_MAX) {
			char scratch[TRIGGER_MAX + 1];
			const char *arg;
			enum trigger_req r = classify(p + used, len, &arg);

			if (r == TRIGGER_SITE) {
				size_t alen = len - 2;

				memcpy(scratch, arg, alen);
				scratch[alen] = 0;
				arg = scratch;
			}
			fn(r, arg, ctx);
		}
		used += len + 1;
	}
	return used;
}
