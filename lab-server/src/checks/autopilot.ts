/**
 * «Выполнить шаг за меня»: brings a lab to the state at the end of a step, for a learner who
 * joins late or is stuck — by running the very commands the guide shows, as the learner's user
 * with sudo, on both nodes, every step up to the chosen one in course order. Each command is also
 * appended to the learner's bash history, as if typed, so the checks see the step as done.
 */
import type Docker from 'dockerode';
import { CHECKS } from './specs';
import { configValue } from './keepalived-conf';
import { execInNode } from '../docker/engine';
import { guideConfig } from '../course/guide-config';
import { masterDownMs } from '../drills/theory';
import { HttpError } from '../http/errors';
import type { Lab } from '../labs/lab';
import { LAB_NODES, type CheckId, type CompletedStep } from '../api';

interface Action {
	/** The check id of the step this action completes. */
	check: CheckId;
	/** Shell commands as the guide prints them; `{CONFIG}` is the guide's config on stdin. */
	commands: string[];
	stdin?: (lab: Pick<Lab, 'addresses'>) => string;
	/** keepalived starts with the guide's config: a VRRP election follows. */
	startsKeepalived?: true;
}

/**
 * Past VRRP's master-down interval, the time for keepalived to start and for the lab server to
 * see the new MASTER (live-state.ts) and run the checks again.
 */
const ELECTION_SEEN_MS = 5_000;

/** The course's steps that change a node, in course order. */
export const AUTOPILOT: readonly Action[] = [
	{ check: 'install', commands: ['sudo apt-get install keepalived -y'] },
	{ check: 'version', commands: ['sudo keepalived -v'] },
	{
		check: 'config',
		commands: ['sudo tee /etc/keepalived/keepalived.conf > /dev/null'],
		stdin: (lab) => guideConfig(lab.addresses.vip),
	},
	{
		check: 'service',
		commands: ['sudo systemctl enable keepalived', 'sudo systemctl start keepalived'],
		startsKeepalived: true,
	},
	{ check: 'logs', commands: ['sudo tail -20 /var/log/messages | grep -i keepalived'] },
];

/** Steps that only the learner can do: the point of them is to do it and watch. */
const HANDS_ON: ReadonlySet<CheckId> = new Set(['failover']);

/**
 * Runs every action of the steps up to and including the one checked by `check`, in course
 * order (a step with nothing to run, such as «Где сейчас VIP», completes with those before it).
 * Returns the commands it ran, and the election that starting keepalived began (if it did).
 */
export async function completeStep(
	docker: Docker,
	lab: Pick<Lab, 'containers' | 'addresses'>,
	check: CheckId,
): Promise<Omit<CompletedStep, 'checks'>> {
	const order = CHECKS.map((c) => c.id);
	const target = order.indexOf(check);
	if (HANDS_ON.has(check)) {
		throw new HttpError(
			409,
			'hands-on-step',
			'Этот шаг нужно пройти самому: остановите haproxy на узле с VIP и посмотрите, как адрес переезжает.',
		);
	}
	const ran: string[] = [];
	const due = AUTOPILOT.filter((a) => order.indexOf(a.check) <= target);
	for (const action of due) {
		for (const command of action.commands) {
			await Promise.all(
				LAB_NODES.map(async (node) => {
					const result = await execInNode(
						docker,
						lab.containers[node],
						[
							'bash',
							'-c',
							`${command}; status=$?; printf '%s\\n' "$0" >> ~/.bash_history; exit $status`,
							command,
						],
						{
							user: 'ubuntu',
							timeoutMs: 120_000,
							...(action.stdin ? { stdin: action.stdin(lab) } : {}),
						},
					);
					// `grep` finding nothing is not a failure of the step.
					if (result.exitCode !== 0 && action.check !== 'logs') {
						throw new HttpError(
							500,
							'autopilot-failed',
							`Команда «${command}» на ${node} завершилась с кодом ${result.exitCode}: ${lastLine(result.stderr || result.stdout)}`,
						);
					}
				}),
			);
			ran.push(command);
		}
	}
	return {
		commands: ran,
		election: due.some((a) => a.startsKeepalived) ? guideElection(lab) : null,
	};
}

/** The checks that follow VRRP's election, and how long the guide's config lets it take. */
function guideElection(lab: Pick<Lab, 'addresses'>): NonNullable<CompletedStep['election']> {
	const config = guideConfig(lab.addresses.vip);
	const ms = masterDownMs({
		advertInt: configValue(config, 'advert_int') ?? 1,
		priority: configValue(config, 'priority') ?? 100,
	});
	return {
		checks: CHECKS.filter((c) => c.live).map((c) => c.id),
		ms: Math.round(ms + ELECTION_SEEN_MS),
	};
}

function lastLine(text: string): string {
	return text.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
}
