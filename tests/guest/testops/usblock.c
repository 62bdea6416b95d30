// SPDX-License-Identifier: GPL-2.0
/* usblock's operations: writes to USB authorization files, and the uevent listener that
 * stands in for udev in the test guest (which has none). */
#include "testops.h"
#include <linux/netlink.h>
#include <sys/socket.h>

/* usb_write PATH=DATA: one write(2) of DATA to PATH (sysfs paths hold ':', never '='). */
static int op_usb_write(const char *arg)
{
	char buf[4096], *data;
	int fd, err = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	data = strrchr(buf, '=');
	if (!data)
		return EINVAL;
	*data++ = 0;
	fd = open(buf, O_WRONLY);
	if (fd < 0)
		return errno;
	if (write(fd, data, strlen(data)) < 0)
		err = errno;
	close(fd);
	return err;
}
TESTOP_ARG("usb_write", op_usb_write);

/*
 * usb_listen: what udev's rule does (udev/70-bpflock-usb.rules): for each uevent "add" of a
 * USB device or interface, runs `bpflock usb-authorize DEVPATH`, one at a time, in order,
 * its output appended to /tmp/usb-authorize.log. Creates /tmp/usb-listen.ready once
 * listening. Runs until killed.
 */
static int op_usb_listen(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	static char buf[16384];
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT), size = 4 << 20;

	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return errno;
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	close(open("/tmp/usb-listen.ready", O_CREAT | O_WRONLY, 0644));
	for (;;) {
		const char *action = "", *subsystem = "", *devtype = "", *devpath = "";
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		pid_t pid;

		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			if (!strncmp(p, "ACTION=", 7))
				action = p + 7;
			else if (!strncmp(p, "SUBSYSTEM=", 10))
				subsystem = p + 10;
			else if (!strncmp(p, "DEVTYPE=", 8))
				devtype = p + 8;
			else if (!strncmp(p, "DEVPATH=", 8))
				devpath = p + 8;
		}
		if (strcmp(action, "add") || strcmp(subsystem, "usb") ||
		    (strcmp(devtype, "usb_device") && strcmp(devtype, "usb_interface")))
			continue;
		pid = fork();
		if (pid == 0) {
			int log = open("/tmp/usb-authorize.log", O_WRONLY | O_CREAT | O_APPEND, 0644);

			dprintf(log, "event add %s\n", devpath);
			dup2(log, 1);
			dup2(log, 2);
			execl("/bin/bpflock", "bpflock", "usb-authorize", devpath, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
}
TESTOP("usb_listen", op_usb_listen);
