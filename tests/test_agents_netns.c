/*
 * test_agents_netns.c - the proof of docs/many-hosts.md on one machine: the
 * server in one network namespace, three agents in three others, each
 * reached over ssh (Debian's sshd, started inside its namespace with keys
 * made here), 3 x 6,000 connections against one server process.
 *
 * Layout: namespace S holds a bridge with 198.51.100.1/24 (an address range
 * reserved for documentation: nothing real can answer it) and evbench, which
 * starts the server on that address; namespace A<i> holds one end of a veth
 * pair, 198.51.100.(10+i)/24, the other end on S's bridge, and an sshd on
 * that address. Each sshd (so each agent) may hold AGENT_NOFILE descriptors,
 * fewer than the 18,000 connections the three open together: the load is
 * more than any one of its processes could open. The server, one process,
 * gets 20,000.
 *
 * Needs root (namespaces, sshd) and openssh-server; skips with the reason
 * otherwise. The namespaces (and with them the links), the sshd and every
 * process in the namespaces are removed in the .fini, even on failure.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonr.h"
#include "testutil.h"

#define NAGENTS       3
#define CONNS_PER     6000
#define AGENT_NOFILE  8000
#define SERVER_NOFILE 20000

static char ns_srv[32], ns_ag[NAGENTS][32], dir[PATH_MAX], evbench[PATH_MAX];
static struct tu_proc sshd[NAGENTS];
static bool made;

/* Runs a shell command line, bounded; returns its exit status (-1 when it
 * timed out), with its stderr in err when given. */
static int sh(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *err, size_t errcap, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	st = tu_run(argv, NULL, 0, err, errcap, tu_ms(30000));
	return st < 0 ? -1 : WEXITSTATUS(st);
}

/* Removes all this test made: every process in its namespaces (all started
 * by it), the namespaces (their veth ends go with them), the key files. */
static void teardown(void)
{
	tu_kill_all();
	for (int i = 0; made && i < NAGENTS; i++) {
		sh(NULL, 0, "ip netns pids %s 2>/dev/null | xargs -r kill -9", ns_ag[i]);
		sh(NULL, 0, "ip netns del %s 2>/dev/null", ns_ag[i]);
	}
	if (made) {
		sh(NULL, 0, "ip netns pids %s 2>/dev/null | xargs -r kill -9", ns_srv);
		sh(NULL, 0, "ip netns del %s 2>/dev/null", ns_srv);
	}
	if (dir[0])
		tu_rmtree(dir);
}

/* Whether / is a mount point: a line of /proc/self/mountinfo mounts there
 * (its fifth field). Not so in a chroot to a plain directory. */
static bool root_is_a_mount(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt[4096];
	bool found = false;

	while (f && !found && fgets(line, sizeof line, f))
		found = sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, "/");
	if (f)
		fclose(f);
	return found;
}

/* The reason this machine cannot run the test, or NULL. */
static const char *cannot(void)
{
	if (geteuid() != 0)
		return "needs root (network namespaces, sshd)";
	/* In a chroot (scripts/fresh_root.sh runs the suite in one) / is not
	 * a mount point, and ip netns cannot make its mounts there ("mount
	 * --make-rslave /: Invalid argument"). */
	if (!root_is_a_mount())
		return "/ is not a mount point here (a chroot): ip netns cannot make its mounts";
	if (access("/usr/sbin/sshd", X_OK) != 0)
		return "no /usr/sbin/sshd (scripts/deps.sh test installs openssh-server)";
	if (!tu_on_path("ssh") || !tu_on_path("ssh-keygen") || !tu_on_path("ip"))
		return "no ssh, ssh-keygen or ip (openssh-client, iproute2)";
	if (sh(NULL, 0, "ip netns add evbA-probe-%d && ip netns del evbA-probe-%d", getpid(),
	       getpid()) != 0)
		return "network namespaces are not permitted here";
	return NULL;
}

static void setup(void)
{
	char err[2048];
	const char *why;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	if ((why = cannot()))
		cr_skip_test("%s", why);
	snprintf(dir, sizeof dir, "/tmp/evbench-netns-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(ns_srv, sizeof ns_srv, "evbA%d-s", getpid());
	made = true;
	cr_assert_eq(sh(err, sizeof err, "set -e; ip netns add %1$s; ip -n %1$s link set lo up; "
			"ip -n %1$s link add br0 type bridge; ip -n %1$s addr add 198.51.100.1/24 dev br0; "
			"ip -n %1$s link set br0 up", ns_srv), 0, "%s", err);
	/* The client's key, and a host key for every sshd. */
	cr_assert_eq(sh(err, sizeof err, "set -e; cd %s; ssh-keygen -q -t ed25519 -N '' -f id; "
			"ssh-keygen -q -t ed25519 -N '' -f hostkey; mkdir -p /run/sshd", dir), 0,
		     "%s", err);
	for (int i = 0; i < NAGENTS; i++) {
		char cfg[PATH_MAX + 16], addr[32];
		FILE *f;

		snprintf(ns_ag[i], sizeof ns_ag[i], "evbA%d-%d", getpid(), i);
		snprintf(addr, sizeof addr, "198.51.100.%d", 10 + i);
		cr_assert_eq(sh(err, sizeof err, "set -e; ip netns add %1$s; ip -n %1$s link set lo up; "
				"ip link add v%3$d-%4$d type veth peer name p%3$d-%4$d; "
				"ip link set v%3$d-%4$d netns %1$s; ip link set p%3$d-%4$d netns %2$s; "
				"ip -n %2$s link set p%3$d-%4$d master br0 up; "
				"ip -n %1$s addr add %5$s/24 dev v%3$d-%4$d; ip -n %1$s link set v%3$d-%4$d up",
				ns_ag[i], ns_srv, getpid() % 100000, i, addr), 0, "%s", err);
		snprintf(cfg, sizeof cfg, "%s/sshd%d.conf", dir, i);
		cr_assert_not_null(f = fopen(cfg, "we"));
		fprintf(f, "ListenAddress %s\nPort 22\nHostKey %s/hostkey\nAuthorizedKeysFile %s/id.pub\n"
			"UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
			"PasswordAuthentication no\nPidFile %s/sshd%d.pid\nLogLevel ERROR\n"
			"MaxStartups 32\nMaxSessions 32\n", addr, dir, dir, dir, i);
		cr_assert_eq(fclose(f), 0);
		/* -D: it stays this test's child, killed with its group. Its
		 * descriptor limit is the agents'. */
		char *argv[] = { "/usr/sbin/ip", "netns", "exec", ns_ag[i], "/usr/sbin/sshd", "-D", "-e",
				 "-f", cfg, NULL };
		cr_assert_eq(tu_spawn(&sshd[i], argv, AGENT_NOFILE, TU_CAPTURE_STDERR), 0);
	}
	/* sshd is up once it answers. */
	for (int i = 0; i < NAGENTS; i++) {
		long long t0 = tu_now_ms();
		int st;

		while ((st = sh(err, sizeof err, "ip netns exec %s ssh -T -o BatchMode=yes -o "
				"StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
				"-i %s/id 198.51.100.%d true", ns_srv, dir, 10 + i)) != 0 &&
		       tu_now_ms() - t0 < tu_ms(10000))
			usleep(100000);
		cr_assert_eq(st, 0, "sshd in %s does not answer: %s", ns_ag[i], err);
	}
}

static long long num(const struct jr_value *v, const char *path)
{
	long long x = -1;

	cr_assert(jr_int(jr_path(v, path), &x) == 0, "no integer at %s", path);
	return x;
}

Test(agents_netns, three_agents_over_ssh_merge_to_the_servers_counts, .init = setup,
     .fini = teardown, .timeout = 240)
{
	static char out[1 << 20], err[1 << 16];
	char sshopts[PATH_MAX + 200], conns[16], resdir[PATH_MAX + 16], mout[1 << 16];
	struct jr_error e;
	struct jr_value *all, *m;
	const struct jr_value *run;
	long long established, accepted, requests, lines, latency_replies;
	int st;

	snprintf(sshopts, sizeof sshopts, "-i %s/id -o StrictHostKeyChecking=no "
		 "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR", dir);
	snprintf(conns, sizeof conns, "%d", NAGENTS * CONNS_PER);
	snprintf(resdir, sizeof resdir, "%s/results", dir);
	char *argv[] = { "/usr/sbin/ip", "netns", "exec", ns_srv, evbench, "--server", "epoll-lt",
			 "--conns", conns, "--agents", "ssh:198.51.100.10,ssh:198.51.100.11,ssh:198.51.100.12",
			 "--latency-agent", "ssh:198.51.100.10", "--latency-rate", "200",
			 "--agent-host", "198.51.100.1", "--ssh-opts", sshopts,
			 "--duration", "2", "--warmup", "0", "--timeout", "20",
			 "--json", "--quiet", "--mechanism", "off", "--out", resdir, NULL };
	st = tu_run(argv, out, sizeof out, err, sizeof err, tu_ms(200000));
	cr_assert_neq(st, -1, "evbench did not finish: %s", err);
	all = jr_parse(out, strlen(out), &e);
	cr_assert_not_null(all, "not JSON: %.400s / %.2000s", out, err);
	run = all->items[0];
	cr_assert_eq(st, 0, "exit %d: %s / %.3000s", st, jr_string(jr_path(run, "result.failure")), err);

	established = num(run, "result.connections.established");
	accepted = num(run, "result.server_counters.accepted");
	requests = num(run, "result.requests");
	lines = num(run, "result.server_counters.lines");
	cr_assert_eq(established, NAGENTS * CONNS_PER, "established %lld", established);
	cr_assert_eq(num(run, "result.connections.up_at_measure"), NAGENTS * CONNS_PER);
	/* The latency agent's 4 connections are the server's too. */
	cr_assert_eq(accepted, established + 4, "server accepted %lld, agents %lld + 4", accepted,
		     established);
	cr_assert(num(run, "result.replies") > 0);
	cr_assert_eq(num(run, "result.fd_limit.client.emfile"), 0);
	/* The offsets were measured over ssh, and the latency agent is apart. */
	cr_assert(strstr(err, "agent 198.51.100.12: clock offset"), "%.2000s", err);
	snprintf(resdir, sizeof resdir, "%s/results/latest", dir);
	char *margv[] = { evbench, "merge", "--json", resdir, NULL };
	cr_assert_eq(tu_run(margv, mout, sizeof mout, err, sizeof err, 30000), 0, "%s", err);
	cr_assert_not_null(m = jr_parse(mout, strlen(mout), &e), "%s", e.msg);
	cr_assert_eq(num(m, "result.connections.established"), established);
	cr_assert(num(m, "latency_agent.replies") > 0);
	/* Every line the server answered is a reply an agent verified, load
	 * and latency agents together, in every phase. */
	cr_assert_eq(num(m, "all_phases.replies"), lines, "merged replies %lld, server lines %lld",
		     num(m, "all_phases.replies"), lines);
	latency_replies = num(m, "latency_agent.replies");
	cr_assert(jr_path_number(m, "latency_agent.latency_us.p99") > 0);
	cr_assert_eq(jr_path(m, "agents")->len, NAGENTS + 1);
	/* The server's peak is not asserted: the clients count a connection
	 * up once the kernel completed it, which can be long before a busy
	 * server accepts it (it waits in the listen backlog); the peak is
	 * reported. */
	fprintf(stderr, "netns proof: %lld connections from %d agents (limit %d each), server "
		"accepted %lld, peak %lld, lines %lld, merged replies of all phases %lld (measure phase: "
		"%lld requests, %lld replies); latency agent p99 %.1f us over %lld replies\n",
		established, NAGENTS, AGENT_NOFILE, accepted,
		num(run, "result.server_counters.peak_conns"), lines, num(m, "all_phases.replies"),
		requests, num(run, "result.replies"), jr_path_number(m, "latency_agent.latency_us.p99"),
		latency_replies);
	jr_free(m);
	jr_free(all);
}

/* The pid of a process whose command line holds both strings, or -1. */
static pid_t find_process(const char *a, const char *b)
{
	pid_t pid;

	return tu_find_processes(a, b, NULL, &pid, 1) == 1 ? pid : -1;
}

/* evbench killed with SIGKILL while its agents run: its ssh clients die with
 * it (PR_SET_PDEATHSIG), each sshd closes its session, and each agent, its
 * stdin at its end, exits. No agent may be left on any "host". The timeout
 * 9.25 marks this test's agents. */
Test(agents_netns, no_agent_outlives_a_killed_coordinator, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char sshopts[PATH_MAX + 200], resdir[PATH_MAX + 16];
	struct tu_proc p;
	long long t0;

	snprintf(sshopts, sizeof sshopts, "-i %s/id -o StrictHostKeyChecking=no "
		 "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR", dir);
	snprintf(resdir, sizeof resdir, "%s/results", dir);
	char *argv[] = { "/usr/sbin/ip", "netns", "exec", ns_srv, evbench, "--server", "epoll-lt",
			 "--conns", "300", "--agents", "ssh:198.51.100.10,ssh:198.51.100.11,ssh:198.51.100.12",
			 "--agent-host", "198.51.100.1", "--ssh-opts", sshopts, "--duration", "60",
			 "--warmup", "0", "--timeout", "9.25", "--quiet", "--mechanism", "off",
			 "--out", resdir, NULL };
	cr_assert_eq(tu_spawn(&p, argv, 0, TU_CAPTURE_STDERR), 0);
	t0 = tu_now_ms();
	/* Until all three agents run (their share is in their command line). */
	while ((find_process("--share 0/3", "9.25") < 0 || find_process("--share 1/3", "9.25") < 0 ||
		find_process("--share 2/3", "9.25") < 0) && tu_now_ms() - t0 < tu_ms(30000))
		usleep(50000);
	cr_assert(find_process("--share 2/3", "9.25") > 0, "the agents never started");
	usleep(500000);
	/* ip netns exec execs evbench: p.pid is evbench itself. */
	cr_assert_eq(kill(p.pid, SIGKILL), 0);
	t0 = tu_now_ms();
	while (find_process("agent --control", "9.25") > 0 && tu_now_ms() - t0 < tu_ms(10000))
		usleep(50000);
	cr_assert(find_process("agent --control", "9.25") < 0,
		  "an agent outlived its coordinator by 10 s");
	fprintf(stderr, "netns: every agent gone %lld ms after evbench was killed\n",
		tu_now_ms() - t0);
	tu_kill(&p);
}
