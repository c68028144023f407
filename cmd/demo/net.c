/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Isolated networking, as Drop does it: pasta (Debian's passt) on the
 * child's network namespace, started after the child and before ChildArgs
 * go out, with Drop's options: --config-net, --dns-forward 169.254.1.1,
 * --no-map-gw, a pid file and a log under paths.run, and one port option
 * per forward (none when a list is empty). Unlike Drop, pasta runs in the
 * foreground as our child with a parent-death signal (nothing outlives a
 * killed launcher); it writes its pid file once the network is up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parent.h"

extern char **environ;

#define MAX_ARGS 256

struct argv {
	char *v[MAX_ARGS];
	size_t n;
};

static int add(struct argv *av, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(struct argv *av, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (av->n + 2 > MAX_ARGS)
		return say("pasta: too many port forwards");
	va_start(ap, fmt);
	r = vasprintf(&av->v[av->n], fmt, ap);
	va_end(ap);
	if (r < 0)
		return say("out of memory");
	av->v[++av->n] = NULL;
	return 0;
}

/* Published: HOSTIP/HOSTPORT[:GUESTPORT], or auto (Drop's and pasta's:
 * every port, `-t auto`). Drop always writes the host IP; the demo's
 * default one is 127.0.0.1. */
static int published(struct argv *av, const dropipc_args *a, dropipc_transport t)
{
	unsigned fl;
	uint32_t hp, gp;
	const char *ip;

	if (dropipc_args_get_net_published_port(a, t, 0, &ip, &hp, &gp, &fl) == -ERANGE)
		return add(av, "%s", t == DROPIPC_TCP ? "--tcp-ports" : "--udp-ports") < 0 ? -1
													 : add(av, "none");
	for (size_t i = 0; dropipc_args_get_net_published_port(a, t, i, &ip, &hp, &gp, &fl) == 0;
	     i++) {
		if (add(av, "%s", t == DROPIPC_TCP ? "--tcp-ports" : "--udp-ports") < 0)
			return -1;
		if (fl & DROPIPC_PUBLISHED_PORT_AUTO ? add(av, "auto")
		    : gp == hp	   ? add(av, "%s/%u", ip[0] ? ip : "127.0.0.1", hp)
				   : add(av, "%s/%u:%u", ip[0] ? ip : "127.0.0.1", hp, gp))
			return -1;
	}
	return 0;
}

/* Host ports: GUESTPORT[:HOSTPORT] (pasta's order: the namespace's first),
 * or auto (every port, `-T auto`). */
static int host(struct argv *av, const dropipc_args *a, dropipc_transport t)
{
	unsigned fl;
	uint32_t hp, gp;

	if (dropipc_args_get_net_host_port(a, t, 0, &hp, &gp, &fl) == -ERANGE)
		return add(av, "%s", t == DROPIPC_TCP ? "--tcp-ns" : "--udp-ns") < 0 ? -1
											  : add(av, "none");
	for (size_t i = 0; dropipc_args_get_net_host_port(a, t, i, &hp, &gp, &fl) == 0; i++) {
		if (add(av, "%s", t == DROPIPC_TCP ? "--tcp-ns" : "--udp-ns") < 0)
			return -1;
		if (fl & DROPIPC_HOST_PORT_AUTO ? add(av, "auto")
		    : gp == hp	   ? add(av, "%u", hp)
				   : add(av, "%u:%u", gp, hp))
			return -1;
	}
	return 0;
}

/*
 * In the forked process: pasta in the foreground, our child for good, with
 * a parent-death signal, so that a launcher killed with SIGKILL takes it
 * along (a daemon that forked away would not inherit the signal). Its own
 * process group, not our blocked signals nor our ignored SIGPIPE; stdin
 * /dev/null, stdout and stderr to its error file.
 */
__attribute__((noreturn)) static void exec_pasta(const struct pasta *p, char **argv,
						 pid_t launcher)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int in, out;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != launcher)
		_exit(127);
	setpgid(0, 0);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open(p->errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	execvp("pasta", argv);
	dprintf(2, "pasta: %s (is the passt package installed?)\n", strerror(errno));
	_exit(127);
}

int pasta_start(struct pasta *p, const dropipc_args *a, pid_t child, const char *run, bool root,
		bool verbose)
{
	struct argv av = { .n = 0 };
	int r = -1;

	p->pid = -1;
	p->pidfd = -1;
	p->ready = false;
	snprintf(p->pidfile, sizeof(p->pidfile), "%s/pasta.pid", run);
	snprintf(p->errfile, sizeof(p->errfile), "%s/pasta.err", run);
	if (add(&av, "pasta") < 0 || add(&av, "--foreground") < 0 || add(&av, "--config-net") < 0 || add(&av, "--dns-forward") < 0 ||
	    add(&av, "169.254.1.1") < 0 || add(&av, "--no-map-gw") < 0 || add(&av, "--quiet") < 0 ||
	    add(&av, "--pid") < 0 || add(&av, "%s", p->pidfile) < 0 || add(&av, "--log-file") < 0 ||
	    add(&av, "%s/pasta.log", run) < 0 || published(&av, a, DROPIPC_TCP) < 0 ||
	    published(&av, a, DROPIPC_UDP) < 0 || host(&av, a, DROPIPC_TCP) < 0 ||
	    host(&av, a, DROPIPC_UDP) < 0)
		goto out;
	/* As root pasta would switch to nobody, who may not enter our
	 * namespaces. */
	if (root && (add(&av, "--runas") < 0 || add(&av, "0") < 0))
		goto out;
	if (add(&av, "%d", (int)child) < 0)
		goto out;
	if (verbose) {
		fprintf(stderr, "%s: starting", PROG);
		for (size_t i = 0; i < av.n; i++)
			fprintf(stderr, " %s", av.v[i]);
		fputc('\n', stderr);
	}
	p->pid = fork();
	if (p->pid < 0) {
		r = say("fork: %s", strerror(errno));
		goto out;
	}
	if (p->pid == 0)
		exec_pasta(p, av.v, getppid());
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pidfd < 0) {
		r = say("pidfd_open pasta: %s", strerror(errno));
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
		goto out;
	}
	r = 0;
out:
	for (size_t i = 0; i < av.n; i++)
		free(av.v[i]);
	return r;
}

/* pasta's own words, for the user. */
static void show_err(const struct pasta *p)
{
	char buf[2048];
	FILE *f = fopen(p->errfile, "re");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strstr(line, "syslog"))
			say("pasta: %s", line);
}

int pasta_ready(struct pasta *p)
{
	FILE *f = fopen(p->pidfile, "re");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid != p->pid)
		return 0;
	p->ready = true;
	return 1;
}

void pasta_failed(struct pasta *p)
{
	siginfo_t si = { 0 };

	while (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	close(p->pidfd);
	p->pidfd = -1;
	p->pid = -1;
	show_err(p);
	say("pasta %s (%s %d): no isolated network", p->ready ? "exited" : "failed",
	    si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
}

void pasta_stop(struct pasta *p)
{
	if (p->pidfd >= 0) {
		siginfo_t si;

		syscall(SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0);
		while (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(p->pidfd);
	}
	p->pidfd = -1;
	p->pid = -1;
}
