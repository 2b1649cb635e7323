/*
 * labterm: a learner's shell that outlives its connection, with what it prints kept.
 *
 * One holder per terminal runs inside the lab node as the learner's user. It owns the shell's
 * pty, keeps the last RING_BYTES of its output in memory (every byte numbered from 0, the
 * shell's whole life), and listens on a unix socket. The lab server reaches it through
 * `docker exec labterm open …` (no TTY): that process relays the exec's stdin and stdout to the
 * holder's socket, starting the holder first when there is none.
 *
 * While nobody is attached (the lab server restarting, a browser gone) the holder keeps reading
 * the shell's output into the ring, so nothing printed meanwhile is lost unless more than the
 * ring holds was printed; then the next attach is told exactly how many bytes were dropped.
 * While a client is attached and not reading, the holder stops reading the pty once HIGH_BYTES
 * are unsent: the shell waits (flow control), nothing is dropped.
 *
 * Frames, both directions, over the socket and the exec's stdio: one type byte, a 4-byte
 * big-endian length, the payload.
 *   client → holder: 'h' u64 offset   attach: send output from this offset (the first frame)
 *                    'p'              (empty, with a descriptor: SCM_RIGHTS) the client is on
 *                                     that connection: its 'h' comes there
 *                    'i' bytes        input for the shell
 *                    'r' u16 u16      window size: columns, rows
 *                    'k'              end the shell (hang up) and the holder
 *   holder → client: 'a' u64 u64      attached: output follows from this offset; bytes dropped
 *                    'o' bytes        output
 *                    'x' i32          the shell exited with this status
 *
 * With `--dial`, labterm's first frame on its connection to the server is 'n' followed by the
 * nonce from the environment variable LABTERM_NONCE (32 hex digits): how the server tells which
 * attach the connection is (and refuses any other). The variable is removed before the holder's
 * shell starts.
 *
 * Usage: labterm open [--dial PATH] SOCKET [COMMAND...]
 *                      relay stdin/stdout to the holder (or hand it a connection to PATH),
 *                      starting it, and COMMAND in it, when there is none; the first frame from
 *                      the server must be 'h'
 *        labterm kill SOCKET                end the shell and its holder
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RING_BYTES (1u << 20)
#define HIGH_BYTES (256u << 10)
#define MAX_FRAME (64u << 10)
#define INPUT_MAX (64u << 10)
#define NONCE_HEX 32

static void die(const char *what) {
	fprintf(stderr, "labterm: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void put32(unsigned char *p, uint32_t v) {
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static uint32_t get32(const unsigned char *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put64(unsigned char *p, uint64_t v) {
	put32(p, v >> 32); put32(p + 4, (uint32_t)v);
}
static uint64_t get64(const unsigned char *p) {
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Writes all of `len` bytes (blocking), or returns -1. */
static int write_all(int fd, const void *buf, size_t len) {
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) {
				struct pollfd w = {fd, POLLOUT, 0};
				poll(&w, 1, -1);
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int connect_to(const char *path) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------------------------- */
/* The holder                                                                                */

static unsigned char ring[RING_BYTES];
static uint64_t total; /* bytes the shell has printed, ever */

static struct {
	int fd;        /* -1: nobody attached */
	uint64_t sent; /* output offset framed so far */
	unsigned char in[MAX_FRAME + 5];
	size_t in_len;
	/* The frame being written: a control frame ('a', 'x') or up to MAX_FRAME of output. */
	unsigned char out[MAX_FRAME + 5];
	size_t out_len, out_sent;
	/* A control frame waiting for `out` to be free. */
	unsigned char control[21];
	size_t control_len;
} client = {.fd = -1};

static unsigned char input[INPUT_MAX];
static size_t input_len;

static uint64_t ring_start(void) {
	return total > RING_BYTES ? total - RING_BYTES : 0;
}

static void ring_append(const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++) ring[(total + i) % RING_BYTES] = p[i];
	total += n;
}

static void drop_client(void) {
	if (client.fd >= 0) close(client.fd);
	client.fd = -1;
	client.in_len = client.out_len = client.out_sent = client.control_len = 0;
}

static void queue_control(unsigned char type, const unsigned char *payload, uint32_t len) {
	client.control[0] = type;
	put32(client.control + 1, len);
	memcpy(client.control + 5, payload, len);
	client.control_len = 5 + len;
}

/* Whether the client has anything left to be sent. */
static int client_behind(void) {
	return client.out_sent < client.out_len || client.control_len || client.sent < total;
}

/* Sends what it can to the client without blocking: control frames first, then output. */
static void flush_client(void) {
	while (client.fd >= 0) {
		if (client.out_sent < client.out_len) {
			ssize_t n = write(client.fd, client.out + client.out_sent, client.out_len - client.out_sent);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR) drop_client();
				return;
			}
			client.out_sent += (size_t)n;
			continue;
		}
		if (client.control_len) {
			memcpy(client.out, client.control, client.control_len);
			client.out_len = client.control_len;
			client.out_sent = client.control_len = 0;
			continue;
		}
		if (client.sent >= total) return;
		/* Up to MAX_FRAME bytes from the ring, not across its end. */
		size_t at = client.sent % RING_BYTES;
		size_t len = (size_t)(total - client.sent);
		if (len > MAX_FRAME) len = MAX_FRAME;
		if (len > RING_BYTES - at) len = RING_BYTES - at;
		client.out[0] = 'o';
		put32(client.out + 1, (uint32_t)len);
		memcpy(client.out + 5, ring + at, len);
		client.out_len = len + 5;
		client.out_sent = 0;
		client.sent += len;
	}
}

/* A connection whose first frame has not come yet: 'h' makes it the client, 'k' ends all. */
static struct {
	int fd;
	unsigned char buf[13];
	size_t len;
	int passed; /* a descriptor passed with its frames, not yet taken */
} newcomer = {.fd = -1, .passed = -1};

static void attach(uint64_t wanted);

/*
 * Receives what a newcomer sends, and the descriptor passed with it, if any (SCM_RIGHTS). Extra
 * descriptors are closed: at most one is taken.
 */
static ssize_t receive(int fd, unsigned char *buf, size_t len, int *passed) {
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = {buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf};
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (*passed < 0) *passed = got;
			else close(got);
		}
	}
	return n;
}

static void drop_newcomer(void) {
	if (newcomer.fd >= 0) close(newcomer.fd);
	if (newcomer.passed >= 0) close(newcomer.passed);
	newcomer.fd = newcomer.passed = -1;
	newcomer.len = 0;
}

/*
 * Reads the newcomer's first frame; returns 'k', 'h' (now the client) or 0 (not yet, or gone).
 * 'p' (empty, with a descriptor passed along) hands over a connection to the lab server that
 * `labterm open --dial` made: the server's own 'h' comes over it, and it becomes the client —
 * the bytes then go straight between the server and the holder, with no relay between.
 */
static int read_newcomer(void) {
	ssize_t n = receive(newcomer.fd, newcomer.buf + newcomer.len,
	                    sizeof newcomer.buf - newcomer.len, &newcomer.passed);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_newcomer();
		return 0;
	}
	if (n > 0) newcomer.len += (size_t)n;
	if (newcomer.len >= 5 && newcomer.buf[0] == 'k') return 'k';
	if (newcomer.len >= 5 && newcomer.buf[0] == 'p') {
		int server = newcomer.passed;
		newcomer.passed = -1;
		if (server < 0 || get32(newcomer.buf + 1) != 0) {
			drop_newcomer();
			return 0;
		}
		close(newcomer.fd);
		fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK);
		newcomer.fd = server;
		newcomer.len = 0;
		return 0;
	}
	if (newcomer.len < 13) return 0;
	if (newcomer.buf[0] != 'h' || get32(newcomer.buf + 1) != 8) {
		drop_newcomer();
		return 0;
	}
	/* One client at a time: a new attach takes the terminal over. */
	drop_client();
	client.fd = newcomer.fd;
	newcomer.fd = -1;
	attach(get64(newcomer.buf + 5));
	return 'h';
}

static void attach(uint64_t wanted) {
	uint64_t from = wanted, dropped = 0;
	if (from > total) from = total;
	if (from < ring_start()) {
		dropped = ring_start() - from;
		from = ring_start();
	}
	client.sent = from;
	unsigned char payload[16];
	put64(payload, from);
	put64(payload + 8, dropped);
	queue_control('a', payload, 16);
}

/* Handles the frames the client has sent so far; returns 0 to end the holder ('k'). */
static int read_client(int master, pid_t shell) {
	ssize_t n = read(client.fd, client.in + client.in_len, sizeof client.in - client.in_len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_client();
		return 1;
	}
	if (n < 0) return 1;
	client.in_len += (size_t)n;
	size_t used = 0;
	while (client.in_len - used >= 5) {
		unsigned char type = client.in[used];
		uint32_t len = get32(client.in + used + 1);
		if (len > MAX_FRAME) {
			drop_client();
			return 1;
		}
		if (client.in_len - used < 5 + len) break;
		const unsigned char *p = client.in + used + 5;
		if (type == 'i') {
			size_t room = INPUT_MAX - input_len;
			if (len > room) len = (uint32_t)room; /* over the cap: the server's rate limit */
			memcpy(input + input_len, p, len);
			input_len += len;
		} else if (type == 'r' && len == 4) {
			struct winsize ws = {.ws_col = (unsigned short)(p[0] << 8 | p[1]),
			                     .ws_row = (unsigned short)(p[2] << 8 | p[3])};
			ioctl(master, TIOCSWINSZ, &ws);
		} else if (type == 'k') {
			/* As when a terminal is closed: the shell's session gets SIGHUP. */
			kill(-shell, SIGHUP);
			kill(shell, SIGHUP);
			return 0;
		}
		used += 5 + get32(client.in + used + 1);
	}
	memmove(client.in, client.in + used, client.in_len - used);
	client.in_len -= used;
	return 1;
}

static volatile sig_atomic_t child_exited;
static void on_child(int sig) { (void)sig; child_exited = 1; }

static void serve(int listener, int master, pid_t shell) {
	int status = 0, exited = 0;
	for (;;) {
		if (child_exited && !exited) {
			if (waitpid(shell, &status, WNOHANG) == shell) exited = 1;
			child_exited = 0;
		}
		struct pollfd fds[4];
		int nfds = 0;
		fds[nfds++] = (struct pollfd){listener, POLLIN, 0};
		/* The pty is read while nobody is attached (into the ring), or while the attached
		 * client is less than HIGH_BYTES behind. */
		int want_output = client.fd < 0 || total - client.sent < HIGH_BYTES;
		short master_events = (short)((want_output ? POLLIN : 0) | (input_len ? POLLOUT : 0));
		int master_at = nfds;
		fds[nfds++] = (struct pollfd){master, master_events, 0};
		int newcomer_at = -1;
		if (newcomer.fd >= 0) {
			newcomer_at = nfds;
			fds[nfds++] = (struct pollfd){newcomer.fd, POLLIN, 0};
		}
		int client_at = -1;
		if (client.fd >= 0) {
			short events = input_len < INPUT_MAX ? POLLIN : 0;
			if (client_behind()) events |= POLLOUT;
			client_at = nfds;
			fds[nfds++] = (struct pollfd){client.fd, events, 0};
		}
		if (poll(fds, (nfds_t)nfds, exited ? 0 : 1000) < 0 && errno != EINTR) die("poll");

		if (fds[master_at].revents & (POLLIN | POLLHUP | POLLERR)) {
			unsigned char buf[MAX_FRAME];
			ssize_t n = read(master, buf, sizeof buf);
			if (n > 0) ring_append(buf, (size_t)n);
			else if (n < 0 && errno == EIO) exited = exited || waitpid(shell, &status, 0) == shell;
		}
		if (input_len && (fds[master_at].revents & POLLOUT)) {
			ssize_t n = write(master, input, input_len);
			if (n > 0) {
				memmove(input, input + n, input_len - (size_t)n);
				input_len -= (size_t)n;
			}
		}
		if (fds[0].revents & POLLIN) {
			int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0) {
				/* Its first frame says what it wants; until then it is only a newcomer. */
				drop_newcomer();
				newcomer.fd = fd;
			}
		}
		if (newcomer_at >= 0 && newcomer.fd >= 0 && (fds[newcomer_at].revents & (POLLIN | POLLHUP))) {
			int verdict = read_newcomer();
			if (verdict == 'k') {
				kill(-shell, SIGHUP);
				kill(shell, SIGHUP);
				return;
			}
		}
		if (client_at >= 0 && client.fd >= 0 && (fds[client_at].revents & (POLLIN | POLLHUP)))
			if (!read_client(master, shell)) return;
		if (client.fd >= 0) flush_client();

		if (exited) {
			/* Whatever the shell printed last, then its status, to whoever is attached. */
			unsigned char buf[MAX_FRAME];
			ssize_t n;
			while ((n = read(master, buf, sizeof buf)) > 0) ring_append(buf, (size_t)n);
			if (client.fd >= 0) {
				fcntl(client.fd, F_SETFL, fcntl(client.fd, F_GETFL) & ~O_NONBLOCK);
				while (client.fd >= 0 && client_behind()) flush_client();
				unsigned char code[4];
				put32(code, (uint32_t)(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
				queue_control('x', code, 4);
				while (client.fd >= 0 && client_behind()) flush_client();
			}
			return;
		}
	}
}

/* Starts a holder for SOCKET running COMMAND, detached from the caller. */
static void start_holder(const char *path, char **command) {
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		return;
	}
	/* The holder: its own session, no controlling terminal, stdio to /dev/null. */
	if (setsid() < 0) die("setsid");
	if (fork() > 0) _exit(0);
	int null = open("/dev/null", O_RDWR);
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("pty");
	const char *slave_name = ptsname(master);
	if (!slave_name) die("ptsname");

	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(path);
	mode_t old = umask(077);
	if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(listener, 4) < 0)
		die("socket");
	umask(old);

	struct sigaction sa = {.sa_handler = on_child};
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	pid_t shell = fork();
	if (shell < 0) die("fork");
	if (shell == 0) {
		setsid();
		int slave = open(slave_name, O_RDWR);
		if (slave < 0) die("open pty");
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2) close(slave);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(command[0], command);
		die("exec");
	}
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	serve(listener, master, shell);
	unlink(path);
	_exit(0);
}

/* ---------------------------------------------------------------------------------------- */
/* The client: relays the exec's stdio to the holder                                         */

/* Relays the server's side (`in`, `out`: stdin and stdout, or one dialled socket) to the holder. */
static int relay(int in, int out, int sock) {
	unsigned char buf[MAX_FRAME + 5];
	struct pollfd fds[2] = {{in, POLLIN, 0}, {sock, POLLIN, 0}};
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR) continue;
			die("poll");
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(in, buf, sizeof buf);
			/* The server went away: the holder keeps the shell (and its output) for later. */
			if (n <= 0) return 0;
			if (write_all(sock, buf, (size_t)n) < 0) return 1;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(sock, buf, sizeof buf);
			if (n <= 0) return 0;
			if (write_all(out, buf, (size_t)n) < 0) return 1;
		}
	}
}

/*
 * Connects to the lab server's socket and says which attach this is. The server may be
 * re-creating its socket (a restart, or a pause after a flood of connections from this node):
 * tried again for a few seconds.
 */
static int dial(const char *path, const char *nonce) {
	int fd = -1;
	for (int i = 0; i < 300 && fd < 0; i++) {
		fd = connect_to(path);
		if (fd < 0) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (fd < 0) die("dial");
	unsigned char frame[5 + NONCE_HEX] = {'n'};
	put32(frame + 1, NONCE_HEX);
	memcpy(frame + 5, nonce, NONCE_HEX);
	if (write_all(fd, frame, sizeof frame) < 0) die("dial");
	return fd;
}

/*
 * Passes the connection to the lab server to the holder ('p', SCM_RIGHTS) and ends: the holder
 * speaks to the server itself, so no process of ours sits between them.
 */
static int hand_over(int holder, int server) {
	unsigned char frame[5] = {'p'};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = {frame, sizeof frame};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &server, sizeof server);
	ssize_t n;
	do n = sendmsg(holder, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof frame) die("hand over");
	return 0;
}

int main(int argc, char **argv) {
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "kill") == 0) {
		int sock = connect_to(argv[2]);
		if (sock < 0) return 0; /* nothing to end */
		unsigned char frame[5] = {'k'};
		write_all(sock, frame, 5);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "open") != 0) {
		fprintf(stderr, "usage: labterm open [--dial PATH] SOCKET [COMMAND...] | labterm kill SOCKET\n");
		return 2;
	}
	int arg = 2;
	const char *dial_path = NULL;
	char nonce[NONCE_HEX + 1] = "";
	if (strcmp(argv[arg], "--dial") == 0) {
		if (argc < 5) {
			fprintf(stderr, "labterm: --dial needs a PATH and a SOCKET\n");
			return 2;
		}
		dial_path = argv[arg + 1];
		arg += 2;
		const char *given = getenv("LABTERM_NONCE");
		if (!given || strlen(given) != NONCE_HEX) {
			fprintf(stderr, "labterm: --dial needs LABTERM_NONCE of %d hex digits\n", NONCE_HEX);
			return 2;
		}
		memcpy(nonce, given, NONCE_HEX);
		/* Not for the shell the holder may start below. */
		unsetenv("LABTERM_NONCE");
	}
	const char *path = argv[arg];
	int sock = connect_to(path);
	if (sock < 0) {
		if (argc < arg + 2) {
			fprintf(stderr, "labterm: no shell at %s and no command to start one\n", path);
			return 1;
		}
		start_holder(path, argv + arg + 1);
		for (int i = 0; i < 200 && sock < 0; i++) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			sock = connect_to(path);
		}
		if (sock < 0) die("connect");
	}
	if (dial_path) {
		int server = dial(dial_path, nonce);
		return hand_over(sock, server);
	}
	return relay(0, 1, sock);
}
