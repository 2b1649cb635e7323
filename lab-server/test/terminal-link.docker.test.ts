/**
 * The terminal link on real Docker (terminals/links.ts, docker/node-links.ts, labterm `--dial`):
 * a terminal's bytes go over a socket the server listens on in a directory of its own, mounted
 * read-only in the node, not through the Docker engine. Root in the node is hostile: it connects
 * without a nonce, with a wrong one, with garbage, floods the socket, replaces labterm with a
 * program that sends garbage frames after a good nonce, and tries to write, link or remount in
 * the mount. The server keeps running, the other lab's terminal keeps echoing, and the lab's own
 * next terminal works. Nodes made without a link (before an upgrade) keep the exec's stdio.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreatedLab } from '../src/api';
import { connectDocker } from '../src/docker/engine';
import { LINK_MOUNT, linkDirOf } from '../src/docker/node-links';
import { TerminalClient } from '../testing/terminal-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { sh, waitFor } from './helpers';

const docker = connectDocker(inject('dockerSocket'));
const image = inject('nodeImage');

/** A unix-socket client in the node (root, the learner): Perl is in every Debian. */
const perl = (body: string) =>
	`perl -MIO::Socket::UNIX -MSocket -e '${body.replace(/'/g, `'\\''`)}'`;
const CONNECT = `my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => "${LINK_MOUNT}/link.sock") or die "connect: $!";`;
/** Reads until the server closes (prints "closed"), or says "open" after 10 s. */
const UNTIL_CLOSED = `$SIG{ALRM} = sub { print "open\\n"; exit 0 }; alarm 10; while (sysread($s, my $b, 4096)) {} print "closed\\n";`;

describe('the terminal link', () => {
	let stateDir: string;
	let server: TestServer;
	let mine: CreatedLab;
	let other: CreatedLab;
	const hap1 = (lab: CreatedLab) => server.server.labs.get(lab.id)!.containers.hap1;
	const open = (lab: CreatedLab, term: string) =>
		new TerminalClient(`${server.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			token: lab.token,
			term,
		});
	async function hostLinkDir(lab: CreatedLab): Promise<string> {
		const info = await docker.getContainer(hap1(lab)).inspect();
		return linkDirOf(info.Mounts)!;
	}
	/** A new terminal of `lab` echoes: the server and that lab's link work. */
	async function echoes(lab: CreatedLab, term: string): Promise<void> {
		const client = open(lab, term);
		await client.waitFor('ubuntu@hap1:~$', 20_000);
		client.type('echo ok-$((6*7))\r');
		await client.waitFor('ok-42');
		client.ws.close(1000);
		await client.closed;
	}

	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-link-'));
		server = await startTestServer({ docker, image, stateDir });
		[mine, other] = await Promise.all([server.createLab(), server.createLab()]);
	});
	afterAll(async () => {
		await server?.stop();
	});

	it('carries a terminal over the read-only mount, straight to the holder (no relay, no engine)', async () => {
		const client = open(mine, 'main');
		await client.waitFor('ubuntu@hap1:~$', 20_000);
		client.type('echo link-$((6*7))\r');
		await client.waitFor('link-42');
		const node = await sh(
			docker,
			hap1(mine),
			`grep ' ${LINK_MOUNT} ' /proc/mounts; echo "labterm: $(pgrep -c -x labterm)"`,
		);
		expect(node.stdout).toMatch(new RegExp(` ${LINK_MOUNT} \\S+ ro[, ]`));
		// One labterm: the holder, which has the server's connection itself — no relay between
		// (over the exec's stdio there would be two: the relay and the holder).
		expect(node.stdout).toContain('labterm: 1\n');
		// The nonce was taken out of the environment before the shell started.
		const shellEnv = await sh(
			docker,
			hap1(mine),
			'cat /proc/$(pgrep -u ubuntu -x bash | head -1)/environ | tr "\\0" "\\n"',
		);
		expect(shellEnv.stdout).not.toContain('LABTERM_NONCE');
		// Each node has its own directory on the host, and sees nothing but its socket.
		expect(await hostLinkDir(mine)).not.toBe(await hostLinkDir(other));
		expect(await readdir(await hostLinkDir(mine))).toEqual(['link.sock']);
		client.ws.close(1000);
		await client.closed;
	});

	it('root in the node cannot write, link, remove, chmod or remount in the mount', async () => {
		const tries = [
			`touch ${LINK_MOUNT}/x`,
			`ln -s / ${LINK_MOUNT}/evil`,
			`rm -f ${LINK_MOUNT}/link.sock`,
			`mkdir ${LINK_MOUNT}/d`,
			`chmod 777 ${LINK_MOUNT}`,
			`mount -o remount,rw ${LINK_MOUNT}`,
			`umount -l ${LINK_MOUNT}`,
			`mount -t tmpfs none ${LINK_MOUNT}`,
		];
		const result = await sh(
			docker,
			hap1(mine),
			`${tries.map((t) => `if ${t} 2>/dev/null; then echo "ALLOWED: ${t}"; fi`).join('; ')}; ls -A ${LINK_MOUNT}`,
		);
		expect(result.stdout).not.toContain('ALLOWED');
		expect(result.stdout.trim()).toBe('link.sock');
		expect(await readdir(await hostLinkDir(mine))).toEqual(['link.sock']);
		expect((await stat(await hostLinkDir(mine))).mode & 0o777).toBe(0o755);
		// Above it, the server's own: no other user of the host reaches the sockets.
		expect((await stat(path.dirname(await hostLinkDir(mine)))).mode & 0o777).toBe(0o700);
		await echoes(mine, 'after-write');
	});

	it('closes a connection that says no nonce, a wrong one or garbage; the terminals go on', async () => {
		const refused = server.server.terminals.links.refused;
		const node = hap1(mine);
		const [silent, wrong, garbage] = await Promise.all([
			sh(docker, node, perl(`${CONNECT} ${UNTIL_CLOSED}`)),
			sh(
				docker,
				node,
				perl(`${CONNECT} syswrite $s, "n" . pack("N", 32) . ("0" x 32); ${UNTIL_CLOSED}`),
			),
			sh(
				docker,
				node,
				perl(
					`${CONNECT} syswrite $s, join("", map { chr(int(rand(256))) } 1..65536); ${UNTIL_CLOSED}`,
				),
			),
		]);
		for (const result of [silent, wrong, garbage]) expect(result.stdout.trim()).toBe('closed');
		// labterm itself with a nonce nobody waits for: refused, and it ends.
		const stray = await sh(
			docker,
			node,
			`LABTERM_NONCE=${'ab'.repeat(16)} timeout 10 labterm open --dial ${LINK_MOUNT}/link.sock /run/lab-terminals/stray bash -l; echo "rc=$?"`,
			{ user: 'ubuntu' },
		);
		expect(stray.stdout).toContain('rc=0');
		expect(server.server.terminals.links.refused).toBeGreaterThanOrEqual(refused + 4);
		await Promise.all([echoes(mine, 'after-nonce'), echoes(other, 'beside-nonce')]);
	});

	it('a flood of connections from a node: the other lab echoes meanwhile, this lab after', async () => {
		const refused = server.server.terminals.links.refused;
		// Connections opened as fast as the node can for 3 s, every one held open.
		const flood = sh(
			docker,
			hap1(mine),
			perl(
				`my @held; my $ok = 0; my $end = time + 3; while (time < $end) { my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => "${LINK_MOUNT}/link.sock"); if ($c) { push @held, $c; $ok++ } } print "$ok\\n";`,
			),
		);
		await echoes(other, 'beside-flood');
		const { stdout } = await flood;
		expect(Number(stdout.trim())).toBeGreaterThan(0);
		expect(server.server.terminals.links.refused).toBeGreaterThan(refused);
		const health = await fetch(`${server.base}/api/health`);
		expect(health.status).toBe(200);
		await echoes(mine, 'after-flood');
	});

	it('a replaced labterm sending garbage frames after a good nonce: that terminal ends, nothing else', async () => {
		const node = hap1(mine);
		await sh(
			docker,
			node,
			`mv /usr/local/bin/labterm /usr/local/bin/labterm.real && cat > /usr/local/bin/labterm <<'EOF'
#!/usr/bin/perl
use IO::Socket::UNIX; use Socket;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ARGV[2]) or die "connect: $!";
syswrite $s, "n" . pack("N", 32) . $ENV{LABTERM_NONCE};
syswrite $s, "Z" . pack("N", 0xffffffff) . ("A" x 1000);
sleep 5;
EOF
chmod 755 /usr/local/bin/labterm`,
		);
		try {
			const evil = open(mine, 'evil');
			const closed = await evil.closed;
			expect(evil.output).not.toContain('ubuntu@hap1');
			expect(closed.code).toBeGreaterThanOrEqual(1000);
			await echoes(other, 'beside-evil');
		} finally {
			await sh(docker, node, 'mv /usr/local/bin/labterm.real /usr/local/bin/labterm');
		}
		await echoes(mine, 'after-evil');
	});

	it('removes a lab’s link directories with it, and leftovers when a server starts', async () => {
		const dir = await hostLinkDir(other);
		const res = await fetch(`${server.base}/api/labs/${other.id}`, {
			method: 'DELETE',
			headers: { authorization: `Bearer ${other.token}` },
		});
		expect(res.status).toBeLessThan(300);
		await waitFor(
			'the link directory gone',
			async () => ((await exists(dir)) ? undefined : true),
			10_000,
		);
		const stale = path.join(path.dirname(dir), 'klab-stale00000-hap1');
		await mkdir(stale);
		await server.halt();
		server = await startTestServer({ docker, image, stateDir });
		expect(await exists(stale)).toBe(false);
		// The restarted server makes its socket again in the same directory: the node sees it.
		await echoes(mine, 'after-restart');
	});
});

describe('a node made before the link (adopted after an upgrade)', () => {
	let server: TestServer;
	let stateDir: string;
	beforeAll(async () => {
		stateDir = await mkdtemp(path.join(tmpdir(), 'klab-link-old-'));
	});
	afterAll(async () => {
		await server?.stop();
		await rm(stateDir, { recursive: true, force: true });
	});

	it('keeps its terminals over the exec’s stdio', async () => {
		const before = await startTestServer({
			docker,
			image,
			stateDir,
			env: { TERMINAL_LINK_DIR: 'off' },
		});
		const lab = await before.createLab();
		await before.halt();
		server = await startTestServer({ docker, image, stateDir });
		const id = server.server.labs.get(lab.id)!.containers.hap1;
		const info = await docker.getContainer(id).inspect();
		expect(linkDirOf(info.Mounts)).toBeNull();
		const client = new TerminalClient(`${server.wsBase}/api/labs/${lab.id}/terminals/hap1`, {
			token: lab.token,
		});
		await client.waitFor('ubuntu@hap1:~$', 20_000);
		client.type('echo old-$((6*7))\r');
		await client.waitFor('old-42');
		const relay = await sh(docker, id, "pgrep -fa 'labterm open' || true");
		expect(relay.stdout).not.toContain('--dial');
		client.ws.close(1000);
		await client.closed;
	});
});

async function exists(file: string): Promise<boolean> {
	return stat(file).then(
		() => true,
		() => false,
	);
}
