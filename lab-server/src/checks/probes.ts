/**
 * Asking a node what the checks need: each probe is a bash function body run as root, and all
 * the probes a run needs go in ONE exec per node (a short script printing one JSON line per
 * probe, parsed with a schema): 40 labs polling their checks must not mean 40 × 8 execs on
 * dockerd. What a probe prints is learner-controlled text: capped here, and read by bounded,
 * linear patterns in the judges.
 */
import type Docker from 'dockerode';
import { z } from 'zod';
import { execInNode } from '../docker/engine';

/**
 * The node commands, each a bash function body run as root; what it prints (stdout and stderr)
 * and its exit code are what the checks read. Keep them cheap: they run on every poll.
 */
const PROBES = {
	/** `install ok installed` once the package is in. */
	package: "dpkg-query -W -f='${Status}' keepalived 2>/dev/null",
	/** The learner's recent commands (their shell appends after each one; root's on exit). */
	history: `for f in /home/ubuntu/.bash_history /root/.bash_history; do
	[ -r "$f" ] && tail -c 32768 "$f" && echo
done
true`,
	/** Exit 3 when there is no file. */
	config: `f=/etc/keepalived/keepalived.conf
[ -f "$f" ] || exit 3
head -c 65536 "$f"`,
	/** keepalived's own verdict; 127 when keepalived is not installed. It logs nothing. */
	configTest: `command -v keepalived >/dev/null || exit 127
[ -f /etc/keepalived/keepalived.conf ] || exit 0
timeout 5 keepalived -t`,
	scriptUser: 'getent passwd keepalived_script >/dev/null',
	/** `UnitFileState=enabled` and `ActiveState=active` once the service is on. */
	service: 'systemctl show -p UnitFileState -p ActiveState keepalived',
} as const satisfies Record<string, string>;

export type ProbeName = keyof typeof PROBES;
export const PROBE_NAMES = Object.keys(PROBES) as [ProbeName, ...ProbeName[]];

export interface ProbeOutput {
	code: number;
	output: string;
}

/** What the probes of one node printed. */
export type Probes = Partial<Record<ProbeName, ProbeOutput>>;

/** What one node answered: each probe's output, or why the node could not be asked. */
export type NodeFacts = { error: string } | { probes: Probes };

/** One exec per node may take this long (a paused or overloaded node must not hang a request). */
const NODE_TIMEOUT_MS = 10_000;

/** One line per probe: `{"probe":…,"code":…,"output":"<base64>"}` (base64: any bytes, one line). */
const probeLine = z.object({
	probe: z.enum(PROBE_NAMES),
	code: z.number().int(),
	output: z
		.string()
		.base64()
		.transform((text) => Buffer.from(text, 'base64').toString('utf8')),
});

/** Runs `probes` on one node in one exec; never throws (an unreachable node is a fact too). */
export async function probeNode(
	docker: Docker,
	containerId: string,
	probes: readonly ProbeName[],
): Promise<NodeFacts> {
	let stdout: string;
	try {
		({ stdout } = await execInNode(docker, containerId, ['bash', '-c', nodeScript(probes)], {
			timeoutMs: NODE_TIMEOUT_MS,
		}));
	} catch (error) {
		return { error: unreachableReason(error) };
	}
	const answers: Probes = {};
	for (const line of stdout.split('\n')) {
		if (!line.trim()) continue;
		const parsed = probeLine.safeParse(safeJson(line));
		if (!parsed.success) return { error: 'узел ответил непонятно' };
		answers[parsed.data.probe] = { code: parsed.data.code, output: parsed.data.output };
	}
	if (probes.some((probe) => !answers[probe])) return { error: 'узел ответил не полностью' };
	return { probes: answers };
}

/**
 * The script for one node: each probe as a function in a subshell (so `exit` ends only it), its
 * output capped, reported as one JSON line. One after the other: on a busy two-core host, running
 * them at once saves no time (measured), and CPU is what 40 labs share.
 */
function nodeScript(probes: readonly ProbeName[]): string {
	return [
		...probes.map((name) => `probe_${name}() (\n${PROBES[name]}\n)`),
		'report() {',
		'\tlocal out code',
		'\tout=$("probe_$1" 2>&1)',
		'\tcode=$?',
		`\tprintf '{"probe":"%s","code":%d,"output":"%s"}\\n' "$1" "$code" "$(printf %s "\${out:0:131072}" | base64 -w0)"`,
		'}',
		...probes.map((name) => `report ${name}`),
	].join('\n');
}

function unreachableReason(error: unknown): string {
	const { statusCode, message } = error as { statusCode?: number; message?: string };
	if (statusCode === 409 && /paused/i.test(message ?? '')) return 'узел приостановлен';
	if (statusCode === 409) return 'узел остановлен';
	if (statusCode === 404) return 'узла больше нет';
	if (/timed out/.test(message ?? '')) return `узел не ответил за ${NODE_TIMEOUT_MS / 1000} с`;
	return 'узел недоступен';
}

export function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}
