/**
 * The downtime meter («Измеритель простоя»): a small `client` container on the lab
 * network asks `http://VIP/` every 100 ms and the server reports each outage as an `outage` event
 * on `lab.events`: `{ startedAt, endedAt, ms, before, after, failedProbes }`, where before/after
 * name the node that answered (haproxy's reply body is the node's name).
 *
 * The probe loop runs inside the client (bash alone), one exec for the whole session, printing a
 * line per probe: `<seq> <sent> <done> ok <node>` or `<seq> <sent> <done> fail <code>` (codes as
 * curl's: 7 no connection, 22 an HTTP error, 28 no answer within 1 s), times in epoch milliseconds.
 * Probes start every 100 ms whether or not the previous one has answered (each gives up after
 * 1 s, or about 3 s when nobody answers the connect), so a frozen VIP holder does not slow the
 * meter down; lines may therefore arrive out of order and are put back in order by `seq`. The
 * server only parses lines: no exec per probe.
 *
 * An outage starts when the first failed probe after a successful one was sent, and ends when the
 * first of three answered probes in a row got its answer — not when it was sent: while the VIP
 * moves, a request can wait in the client's ARP queue and be answered once the new holder replies;
 * and three in a row, because a service flickers as it goes (haproxy's old worker still accepting
 * while it stops), which is one outage, not several. Resolution ±100 ms. Failures before anything
 * has ever answered (keepalived not started yet) are not an outage. Cost: one exec per lab and
 * about ten short lines a second on it.
 *
 * Lifecycle: one meter per lab (a second start returns the first); `stop()` removes the client,
 * and so does ending the lab (the client carries the lab's labels), which also stops the meter.
 */
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../lib/clock';
import { containerName, LABELS, networkName } from '../docker/labels';
import { isNotFound } from '../docker/engine';
import type { Lab } from '../labs/lab';
import { lineReader } from '../lib/line-reader';
import { OutageDetector, parseProbeLine, type Probe } from './outages';

export interface DowntimeMeter {
	/** The latest probe in sequence order (who answers right now), or null before the first. */
	lastProbe(): Probe | null;
	/** Since when (epoch ms) the VIP has answered every probe; null while it is down or settling. */
	upSince(): number | null;
	stop(): Promise<void>;
}

export interface MeterContext {
	docker: Docker;
	log: Logger;
	clock?: Clock;
}

const PROBE_EVERY_MS = 100;
/**
 * The probe loop (see the module comment). `$1` is the VIP. A probe is one forked subshell
 * speaking HTTP/1.0 over bash's `/dev/tcp`, no curl: 1.9 ms of CPU per probe against curl's 11.6
 * (measured in a node container), so ten a second fit well under the client's ceiling, and a busy
 * host does not stretch the probes into false timeouts. The answer is bounded by `read -t 1`; a
 * connect that gets no answer is bounded by the kernel (`tcp_syn_retries` 1, or a failed ARP
 * lookup): about 3 s. The loop waits with `read -t` on a pipe nobody writes to, not `sleep`.
 */
const PROBE_SCRIPT = `
# One loop per client: a restarted meter ends the previous one.
[ -r /tmp/probe.pid ] && kill "$(</tmp/probe.pid)" 2>/dev/null
echo $$ >/tmp/probe.pid
vip=$1
req=$'GET / HTTP/1.0\\r\\nHost: '"$vip"$'\\r\\nConnection: close\\r\\n\\r\\n'
exec {tick}<> <(:)
i=0
next=\${EPOCHREALTIME/./}
while :; do
	sent=\${EPOCHREALTIME/./}
	{
		code='fail 7' reply='' body=''
		if exec 3<>"/dev/tcp/$vip/80"; then
			# One write: a request in pieces waits on Nagle and the server's delayed ACK (40 ms).
			printf '%s' "$req" >&3
			IFS= read -r -t 1 -N 4096 reply <&3
			if (($? > 128)); then
				code='fail 28'
			elif [[ \${reply:9:3} == [23][0-9][0-9] ]]; then
				# The answer is the node's name; the learner's server may send anything.
				code=ok body=\${reply#*$'\\r\\n\\r\\n'} body=\${body//[^A-Za-z0-9_.-]/}
			else
				code='fail 22'
			fi
		fi
		end=\${EPOCHREALTIME/./}
		printf '%d %d %d %s %s\\n' "$i" "\${sent:0:-3}" "\${end:0:-3}" "$code" "\${body:0:64}"
	} 2>/dev/null &
	i=$((i + 1))
	# Keep to the 100 ms grid; when late (a loaded host), skip ahead rather than send a burst.
	next=$((next + ${PROBE_EVERY_MS * 1000}))
	now=\${EPOCHREALTIME/./}
	((next > now)) || next=$((now + ${PROBE_EVERY_MS * 1000}))
	printf -v wait '0.%06d' $((next - now))
	read -t "$wait" -u "$tick"
done
`;

/** What the meter uses of a lab (labs.ts `Lab` has it all). */
export type MeterLab = Pick<Lab, 'id' | 'addresses' | 'containers' | 'events'>;

const meters = new WeakMap<MeterLab, Promise<DowntimeMeter>>();

/**
 * Starts the meter for a lab (or returns the one already running): creates the client container
 * at `addresses.client`, from the image the lab's nodes run, labelled with the lab's labels so it
 * goes with the lab, and resolves once the first probe has reported. `stop()` removes the client.
 */
export async function startDowntimeMeter(ctx: MeterContext, lab: MeterLab): Promise<DowntimeMeter> {
	const running = meters.get(lab);
	if (running) return running;
	const starting = runMeter(ctx, lab);
	meters.set(lab, starting);
	starting.catch(() => meters.delete(lab));
	return starting;
}

async function runMeter(ctx: MeterContext, lab: MeterLab): Promise<DowntimeMeter> {
	const { docker } = ctx;
	const clock = ctx.clock ?? systemClock;
	const log = ctx.log.child({ labId: lab.id, node: 'client' });
	const id = await createClient(docker, lab);

	const detector = new OutageDetector();
	let stopped = false;
	let stream: Duplex | null = null;
	let restartTimer: unknown = null;
	let firstLine: (() => void) | null = null;
	const ready = new Promise<void>((resolve) => (firstLine = resolve));

	const onLine = (line: string) => {
		firstLine?.();
		firstLine = null;
		log.trace({ line }, 'probe');
		const probe = parseProbeLine(line);
		if (!probe) {
			log.warn({ line: line.slice(0, 200) }, 'bad probe line');
			return;
		}
		for (const outage of detector.push(probe)) {
			log.info({ ms: outage.ms, before: outage.before, after: outage.after }, 'outage');
			lab.events.emit('outage', outage);
		}
	};

	const runLoop = async () => {
		if (stopped) return;
		try {
			const exec = await docker.getContainer(id).exec({
				Cmd: ['bash', '-c', PROBE_SCRIPT, 'probe', lab.addresses.vip],
				AttachStdout: true,
				AttachStderr: true,
				Tty: false,
			});
			const attached = (await exec.start({ hijack: true, stdin: false })) as Duplex;
			stream = attached;
			const stdout = new PassThrough();
			docker.modem.demuxStream(attached, stdout, new PassThrough());
			// A probe line is under 100 bytes; the body in it is cut to 64 bytes by the script.
			const lines = lineReader({ maxLine: 1024, onLine });
			stdout.on('data', (chunk: Buffer) => lines.push(chunk));
			attached.on('close', restart);
			attached.on('error', restart);
		} catch (error) {
			if (isNotFound(error)) {
				// The client is gone (the lab ended): nothing left to measure.
				log.info('downtime meter stopped: client container gone');
				void meter.stop();
				return;
			}
			log.warn({ err: error }, 'probe loop could not start');
			restart();
		}
	};

	// The loop ends only if someone kills it or the client goes: start it again, it replaces
	// any loop still running (pid file), and the ordering starts over with the new sequence.
	const restart = () => {
		stream = null;
		if (stopped || restartTimer !== null) return;
		restartTimer = clock.setTimeout(() => {
			restartTimer = null;
			detector.reset();
			void runLoop();
		}, 1_000);
	};

	const meter: DowntimeMeter = {
		lastProbe: () => detector.last,
		upSince: () => detector.upSince,
		async stop() {
			if (stopped) return;
			stopped = true;
			meters.delete(lab);
			if (restartTimer !== null) clock.clearTimeout(restartTimer);
			stream?.destroy();
			await removeClient(docker, lab.id);
		},
	};
	await runLoop();
	let timer: unknown = null;
	const started = await Promise.race([
		ready.then(() => true),
		new Promise<boolean>((resolve) => (timer = clock.setTimeout(() => resolve(false), 10_000))),
	]);
	clock.clearTimeout(timer);
	if (!started) {
		await meter.stop();
		throw new Error(
			`downtime meter: no probe reported within 10 s in "${containerName(lab.id, 'client')}"`,
		);
	}
	log.info({ vip: lab.addresses.vip }, 'downtime meter started');
	return meter;
}
// ---------------------------------------------------------------------------------------------

async function createClient(docker: Docker, lab: MeterLab): Promise<string> {
	const hap1 = await docker.getContainer(lab.containers.hap1).inspect();
	await removeClient(docker, lab.id);
	const container = await docker.createContainer({
		name: containerName(lab.id, 'client'),
		Image: hap1.Config.Image,
		Hostname: 'client',
		// No systemd: the client only runs the probe loop. An init reaps the loop's children.
		Entrypoint: ['sleep'],
		Cmd: ['infinity'],
		Labels: { ...hap1.Config.Labels, [LABELS.lab]: lab.id, [LABELS.node]: 'client' },
		HostConfig: {
			Init: true,
			Privileged: false,
			// Nobody logs in here and the probes need no capability.
			CapDrop: ['ALL'],
			Memory: 64 * 1024 * 1024,
			MemorySwap: 64 * 1024 * 1024,
			// Probes that wait for a silent VIP live up to 3 s: about 30 at once.
			PidsLimit: 128,
			// A node's weight: a meter that waits for the CPU measures the wait as downtime.
			CpuShares: 256,
			NanoCpus: 1e8,
			// A connect nobody answers gives up after one retransmission (3 s), not six (127 s).
			Sysctls: { 'net.ipv4.tcp_syn_retries': '1' },
			Dns: ['127.0.0.1'],
			NetworkMode: networkName(lab.id),
			RestartPolicy: { Name: 'no' },
			LogConfig: { Type: 'none', Config: {} },
		},
		NetworkingConfig: {
			EndpointsConfig: {
				[networkName(lab.id)]: {
					IPAMConfig: { IPv4Address: lab.addresses.client },
					Aliases: ['client'],
				},
			},
		},
	});
	await container.start();
	return container.id;
}

async function removeClient(docker: Docker, labId: string): Promise<void> {
	try {
		await docker.getContainer(containerName(labId, 'client')).remove({ force: true, v: true });
	} catch (error) {
		// Gone, or being removed already (the lab is ending): either way it is going.
		const { statusCode } = error as { statusCode?: number };
		if (!isNotFound(error) && statusCode !== 409) throw error;
	}
}
