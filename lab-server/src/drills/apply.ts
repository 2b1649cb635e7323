/**
 * How each drill is applied: each step records how to undo it as soon as it has succeeded.
 * `vrid-conflict` starts an intruder node and sets it up in the background.
 */
import { systemClock } from '../lib/clock';
import { execInNode } from '../docker/engine';
import { LABELS, networkName } from '../docker/labels';
import { limitsOf, removeNode, startNode, waitForBoot } from '../docker/nodes';
import { configValue } from '../checks/keepalived-conf';
import { DrillError, type DrillContext, type DrillRecord, type FailureDrill } from './model';
import { intruderConfig } from './intruder';
import { container, fail, mustRun, report, sleep } from './node-ops';
import { BLOCK_VRRP, DROP_LEFTOVER_LINK, TC_PREF } from './scripts';

// Applying: each returns the `applied` detail, or null when it reports `applied` itself later.

type Apply = (ctx: DrillContext, record: DrillRecord) => Promise<string | null>;

export const APPLY: Record<FailureDrill, Apply> = {
	async 'stop-haproxy'(ctx, record) {
		await mustRun(ctx, record.target, 'systemctl stop haproxy');
		record.undo.push({ kind: 'start-haproxy', node: record.target });
		return `На ${record.target} остановлен haproxy (systemctl stop haproxy). Скрипт chk_haproxy начнёт падать, и keepalived должен отдать VIP.`;
	},

	async 'kill-keepalived'(ctx, record) {
		// SIGKILL gives keepalived no chance to remove the VIP or send a priority-0 advert. But
		// its VRRP child asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and systemd
		// kills the parent first: the child could still shut down cleanly in between. Stopping
		// every process of the unit first closes that gap.
		await mustRun(
			ctx,
			record.target,
			'systemctl kill --signal=SIGSTOP keepalived && systemctl kill --signal=SIGKILL keepalived && for i in $(seq 50); do pgrep -x keepalived >/dev/null || exit 0; sleep 0.02; done; exit 1',
		);
		record.undo.push({ kind: 'start-keepalived', node: record.target });
		return `keepalived на ${record.target} убит сигналом KILL: он не успел ни снять VIP, ни предупредить соседа.`;
	},

	async 'freeze-node'(ctx, record) {
		// On a cgroup v1 host runc gives up ("unable to freeze") when the freezer does not settle
		// quickly, as on a busy host, and thaws the container again: try a few times.
		for (let attempt = 1; ; attempt++) {
			try {
				await container(ctx, record.target).pause();
				break;
			} catch (error) {
				if (attempt >= 3 || !/unable to freeze/.test(String(error))) throw error;
				await sleep(ctx.clock ?? systemClock, 200);
			}
		}
		record.undo.push({ kind: 'unpause', node: record.target });
		// The node cannot report while frozen: the lab's live state says so instead.
		ctx.lab.nodes[record.target].state = 'paused';
		return `Узел ${record.target} заморожен (docker pause): все его процессы остановлены, объявления VRRP больше не уходят.`;
	},

	async 'cut-network'(ctx, record) {
		const { lab, docker } = ctx;
		const node = record.target;
		await docker
			.getNetwork(networkName(lab.id))
			.disconnect({ Container: lab.containers[node], Force: true });
		record.undo.push({ kind: 'reconnect', node });
		// An interface Docker lost track of (renamed, see RECONNECT) stays behind: cut it too.
		await mustRun(ctx, node, DROP_LEFTOVER_LINK, [lab.addresses[node]]);
		return `Узел ${node} отключён от сети стенда (docker network disconnect): у него больше нет eth0.`;
	},

	async 'block-vrrp'(ctx, record) {
		const result = await mustRun(ctx, record.target, BLOCK_VRRP, [String(TC_PREF)]);
		const qdiscCreated = /created=1/.test(result.stdout);
		record.undo.push({ kind: 'remove-tc', node: record.target, qdiscCreated });
		const how = /method=u32/.test(result.stdout) ? 'u32' : 'bpf';
		return `На ${record.target} пакеты VRRP (IP-протокол 112) отбрасываются на входе и выходе eth0 (tc clsact, фильтр ${how}). Узлы перестали слышать друг друга.`;
	},

	async 'vrid-conflict'(ctx, record) {
		const conf = await mustRun(ctx, 'hap1', 'cat /etc/keepalived/keepalived.conf');
		const vrid = configValue(conf.stdout, 'virtual_router_id');
		if (vrid === null) {
			throw new DrillError(
				409,
				'no-virtual-router-id',
				'В /etc/keepalived/keepalived.conf на hap1 не найден virtual_router_id.',
			);
		}
		const advertInt = configValue(conf.stdout, 'advert_int') ?? 1;
		const info = await container(ctx, 'hap1').inspect();
		await removeNode(ctx.docker, ctx.lab.id, 'intruder');
		record.undo.push({ kind: 'remove-intruder' });
		const labels = { ...info.Config.Labels };
		delete labels[LABELS.node];
		const id = await startNode(ctx.docker, {
			labId: ctx.lab.id,
			role: 'intruder',
			ip: ctx.lab.addresses.intruder,
			image: info.Config.Image,
			limits: limitsOf(info.HostConfig),
			labels,
		});
		void setUpIntruder(ctx, record, id, vrid, advertInt).catch((error: unknown) => {
			if (record.cancelled) return;
			ctx.log.error({ labId: ctx.lab.id, err: error }, 'intruder setup failed');
			fail(ctx, record, error);
		});
		return null;
	},
};

async function setUpIntruder(
	ctx: DrillContext,
	record: DrillRecord,
	id: string,
	vrid: number,
	advertInt: number,
): Promise<void> {
	const { docker, lab } = ctx;
	await waitForBoot(docker, id);
	const install = await execInNode(
		docker,
		id,
		['bash', '-c', 'apt-get update -qq && apt-get install -y -qq keepalived'],
		{ timeoutMs: 180_000 },
	);
	if (install.exitCode !== 0) throw new Error(`intruder: apt-get failed: ${install.stderr.trim()}`);
	const vip = lab.addresses.intruderVip;
	const config = intruderConfig({ vrid, advertInt, vip });
	await execInNode(docker, id, ['tee', '/etc/keepalived/keepalived.conf'], { stdin: config });
	const start = await execInNode(docker, id, ['systemctl', 'restart', 'keepalived']);
	if (start.exitCode !== 0) throw new Error(`intruder: keepalived did not start: ${start.stderr}`);
	if (record.cancelled) return;
	record.appliedAt = (ctx.clock ?? systemClock).now();
	report(
		ctx,
		record,
		'applied',
		`В сети стенда появился чужой узел intruder (${lab.addresses.intruder}) со своим keepalived: тот же virtual_router_id ${vrid}, но другой VIP (${vip}).`,
	);
}
