/**
 * The downtime meter (issue 5, «Измеритель простоя»): a small `client` container on the lab
 * network asks `http://VIP/` every 100 ms and the server reports each outage as an `outage` event
 * on `lab.events`: `{ startedAt, endedAt, ms, before, after, failedProbes }`, where before/after
 * name the node that answered (haproxy's reply body is the node's name).
 *
 * The probe loop runs inside the client (bash + curl), one exec for the whole session, printing a
 * line per probe: `<seq> <sent> <done> ok <node>` or `<seq> <sent> <done> fail <curl exit code>`,
 * times in epoch milliseconds.
 * Probes start every 100 ms whether or not the previous one has answered (each gives up after
 * 1 s), so a frozen VIP holder does not slow the meter down; lines may therefore arrive out of
 * order and are put back in order by `seq`. The server only parses lines: no exec per probe.
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
import type { FailureDrill } from './index';
import type { Lab } from '../labs/lab';

export interface Outage {
	/** ISO time the first failed probe was sent. */
	startedAt: string;
	/** ISO time the first successful probe after it got its answer. */
	endedAt: string;
	ms: number;
	/** The node that answered before the outage, and the one that answered after it. */
	before: string;
	after: string;
	failedProbes: number;
}

export interface Probe {
	seq: number;
	/** Epoch milliseconds, by the client's clock (the host's: containers share the kernel). */
	sentAt: number;
	/** When the answer (or the failure) came. */
	doneAt: number;
	ok: boolean;
	/** The answering node's name when `ok`. */
	node: string | null;
}

export interface DowntimeMeter {
	/** The latest probe in sequence order (who answers right now), or null before the first. */
	lastProbe(): Probe | null;
	stop(): Promise<void>;
}

export interface MeterContext {
	docker: Docker;
	log: Logger;
	clock?: Clock;
}

const PROBE_EVERY_MS = 100;
/** The probe loop (see the module comment). `$1` is the VIP. */
const PROBE_SCRIPT = `
# One loop per client: a restarted meter ends the previous one.
[ -r /tmp/probe.pid ] && kill "$(cat /tmp/probe.pid)" 2>/dev/null
echo $$ >/tmp/probe.pid
vip=$1
i=0
next=\${EPOCHREALTIME/./}
while :; do
	sent=\${EPOCHREALTIME/./}
	sent=\${sent:0:-3}
	{
		if body=$(curl -sf -m 1 "http://$vip/" 2>/dev/null); then
			code=ok
		else
			code="fail $?"
		fi
		end=\${EPOCHREALTIME/./}
		printf '%d %d %d %s %s\\n' "$i" "$sent" "\${end:0:-3}" "$code" "\${body//[^A-Za-z0-9_.-]/}"
	} &
	i=$((i + 1))
	# Keep to the 100 ms grid; when late (a loaded host), skip ahead rather than send a burst.
	next=$((next + ${PROBE_EVERY_MS * 1000}))
	now=\${EPOCHREALTIME/./}
	((next > now)) || next=$((now + ${PROBE_EVERY_MS * 1000}))
	sleep "0.$(printf '%06d' $((next - now)))"
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
			let buffered = '';
			stdout.on('data', (chunk: Buffer) => {
				buffered += chunk.toString('utf8');
				let newline: number;
				while ((newline = buffered.indexOf('\n')) >= 0) {
					onLine(buffered.slice(0, newline));
					buffered = buffered.slice(newline + 1);
				}
			});
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

/**
 * `12 1795623263473 1795623263479 ok hap1` or `13 1795623263579 1795623264581 fail 28`; null for
 * anything else.
 */
export function parseProbeLine(line: string): Probe | null {
	const match = /^(\d+) (\d{10,16}) (\d{10,16}) (?:ok ?([A-Za-z0-9_.-]*)|fail \d+(?: .*)?)$/.exec(
		line.trim(),
	);
	if (!match) return null;
	const ok = match[4] !== undefined && match[4] !== '';
	return {
		seq: Number(match[1]),
		sentAt: Number(match[2]),
		doneAt: Number(match[3]),
		ok,
		node: ok ? match[4]! : null,
	};
}

/**
 * Turns probes, in any order, into outages. Probes are taken in `seq` order; one that never
 * reports (the loop was killed mid-probe) is skipped once `maxPending` later ones are waiting.
 * An outage ends only when `settleProbes` probes in a row are answered: a service that flickers
 * while it goes down (haproxy's old worker still accepting as it stops, say) or while two nodes
 * both claim the VIP is one outage, not several.
 */
export class OutageDetector {
	#next = 0;
	#pending = new Map<number, Probe>();
	/** The last answered probe while the service was up. */
	#lastOk: Probe | null = null;
	/** The first failure of the outage under way, if any. */
	#firstFail: Probe | null = null;
	/** Answered probes in a row since the last failure of the outage under way. */
	#streak: Probe[] = [];
	#failed = 0;
	#last: Probe | null = null;
	readonly #maxPending: number;
	readonly #settleProbes: number;

	/**
	 * `maxPending` 30: three seconds of probes, well past curl's 1 s limit; `settleProbes` 3: the
	 * service is back once it has answered for about 300 ms.
	 */
	constructor(options: { maxPending?: number; settleProbes?: number } = {}) {
		this.#maxPending = options.maxPending ?? 30;
		this.#settleProbes = options.settleProbes ?? 3;
	}

	push(probe: Probe): Outage[] {
		if (probe.seq < this.#next) return [];
		this.#pending.set(probe.seq, probe);
		const outages: Outage[] = [];
		for (;;) {
			let next = this.#pending.get(this.#next);
			if (!next && this.#pending.size > this.#maxPending) {
				this.#next = Math.min(...this.#pending.keys());
				next = this.#pending.get(this.#next);
			}
			if (!next) break;
			this.#pending.delete(this.#next);
			this.#next++;
			const outage = this.#take(next);
			if (outage) outages.push(outage);
		}
		return outages;
	}

	/** The latest probe taken in sequence order. */
	get last(): Probe | null {
		return this.#last;
	}

	/** A new probe loop numbers from 0 again; what was seen before still counts as `before`. */
	reset(): void {
		this.#next = 0;
		this.#pending.clear();
	}

	#take(probe: Probe): Outage | null {
		this.#last = probe;
		if (!probe.ok) {
			if (this.#lastOk && !this.#firstFail) this.#firstFail = probe;
			if (this.#firstFail) this.#failed++;
			this.#streak = [];
			return null;
		}
		const first = this.#firstFail;
		if (!first) {
			this.#lastOk = probe;
			return null;
		}
		this.#streak.push(probe);
		if (this.#streak.length < this.#settleProbes) return null;
		const back = this.#streak[0]!;
		const outage: Outage = {
			startedAt: new Date(first.sentAt).toISOString(),
			endedAt: new Date(back.doneAt).toISOString(),
			ms: back.doneAt - first.sentAt,
			before: this.#lastOk!.node!,
			after: back.node!,
			failedProbes: this.#failed,
		};
		this.#lastOk = probe;
		this.#firstFail = null;
		this.#streak = [];
		this.#failed = 0;
		return outage;
	}
}

export interface ExpectedOutage {
	/** The outage a client should see, in ms (typical worst case); 0 when none; null for restore. */
	ms: number | null;
	/** The range theory allows, [min, max] ms, when there is an outage. */
	range: [number, number] | null;
	/** A short explanation in Russian for the page. */
	explanation: string;
}

/**
 * The outage theory predicts for a drill, from the learner's config: `advertInt` and `interval`
 * in seconds, `priority` of the node that takes over, `fall` of the haproxy track script.
 *
 * keepalived 2.2.7, VRRPv2: a backup declares the master down after 3×advert_int + skew, where
 * skew = (256 − priority)/256 s (advert_int does not scale it in v2), counted from the last advert
 * it heard — which left the master 0…advert_int before the failure. A master that goes to FAULT
 * (its track script failed `fall` times, one check per `interval`) or stops cleanly sends an
 * advert with priority 0, and the backup takes over after the skew alone.
 */
export function expectedOutageMs(
	drill: FailureDrill | 'restore',
	config: { advertInt: number; priority: number; fall: number; interval: number },
): ExpectedOutage {
	const skew = ((256 - config.priority) / 256) * 1000;
	const advert = config.advertInt * 1000;
	const masterDown = 3 * advert + skew;
	const s = (ms: number) => (ms / 1000).toFixed(1).replace('.', ',');
	switch (drill) {
		case 'stop-haproxy': {
			const check = config.interval * 1000;
			const max = config.fall * check + skew;
			return {
				ms: Math.round(max),
				range: [Math.round((config.fall - 1) * check + skew), Math.round(max)],
				explanation: `Скрипт chk_haproxy проверяет haproxy раз в ${s(check)} с и должен упасть ${config.fall} раза подряд (до ${s(config.fall * check)} с); тогда узел уходит в FAULT и шлёт объявление с приоритетом 0, и резервный узел становится MASTER через (256 − ${config.priority})/256 = ${s(skew)} с. Итого около ${s(max)} с.`,
			};
		}
		case 'freeze-node':
		case 'cut-network':
			return {
				ms: Math.round(masterDown),
				range: [Math.round(masterDown - advert), Math.round(masterDown)],
				explanation: `${drill === 'freeze-node' ? 'Замороженный' : 'Отключённый'} MASTER молчит, приоритета 0 не будет. Резервный узел ждёт 3 × advert_int + (256 − ${config.priority})/256 = ${s(masterDown)} с с последнего услышанного объявления, а оно ушло за 0…${s(advert)} с до сбоя: простой ${s(masterDown - advert)}–${s(masterDown)} с.`,
			};
		case 'kill-keepalived':
			return {
				ms: 0,
				range: null,
				explanation: `Простоя нет: VIP и haproxy остаются на узле с убитым keepalived. Но через ${s(masterDown - advert)}–${s(masterDown)} с второй узел тоже станет MASTER, и VIP окажется на обоих (split brain).`,
			};
		case 'block-vrrp':
			return {
				ms: 0,
				range: null,
				explanation: `Простоя нет: оба узла живы. Но объявления не доходят, и через ${s(masterDown - advert)}–${s(masterDown)} с оба станут MASTER с одним VIP (split brain); клиенты попадают то на один, то на другой.`,
			};
		case 'vrid-conflict':
			return {
				ms: 0,
				range: null,
				explanation:
					'Простоя нет: чужие объявления с тем же virtual_router_id, но другими адресами отбрасываются, а в журнале появляется «ip address associated with VRID … not present in MASTER advert».',
			};
		case 'restore':
			return { ms: null, range: null, explanation: 'Всё возвращается как было.' };
	}
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
			// Nobody logs in here and curl needs no capability.
			CapDrop: ['ALL'],
			Memory: 64 * 1024 * 1024,
			MemorySwap: 64 * 1024 * 1024,
			PidsLimit: 128,
			CpuShares: 128,
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
