/**
 * «Выполнить шаг за меня»: brings a lab to the state at the end of a step, for a learner who
 * joins late or is stuck — by running the very commands the guide shows, as the learner's user
 * with sudo, on both nodes, every step up to the chosen one in course order. Each command is also
 * appended to the learner's bash history, as if typed, so the checks see the step as done.
 */
import type Docker from 'dockerode';
import { execInNode } from './docker';
import { guideConfig } from './guide-config';
import { HttpError } from './http-errors';
import type { Lab } from './labs';
import { LAB_NODES } from './provision';

interface Action {
	/** The check id of the step this action completes. */
	check: string;
	/** Shell commands as the guide prints them; `{CONFIG}` is the guide's config on stdin. */
	commands: string[];
	stdin?: (lab: Pick<Lab, 'addresses'>) => string;
}

/** The course's steps that change a node, in course order. */
export const AUTOPILOT: readonly Action[] = [
	{ check: 'install', commands: ['sudo apt-get install keepalived -y'] },
	{ check: 'version', commands: ['sudo keepalived -v'] },
	{
		check: 'config',
		commands: ['sudo tee /etc/keepalived/keepalived.conf > /dev/null'],
		stdin: (lab) => guideConfig(lab.addresses.vip),
	},
	{ check: 'service', commands: ['sudo systemctl enable keepalived', 'sudo systemctl start keepalived'] },
	{ check: 'logs', commands: ['sudo tail -20 /var/log/messages | grep -i keepalived'] },
];

export const AUTOPILOT_STEPS = AUTOPILOT.map((a) => a.check);

/** Runs every action up to and including the one for `check`. Returns the commands it ran. */
export async function completeStep(
	docker: Docker,
	lab: Pick<Lab, 'containers' | 'addresses'>,
	check: string,
): Promise<string[]> {
	const last = AUTOPILOT.findIndex((a) => a.check === check);
	if (last < 0) {
		throw new HttpError(404, 'unknown-step', `Для шага «${check}» автоматического выполнения нет.`);
	}
	const ran: string[] = [];
	for (const action of AUTOPILOT.slice(0, last + 1)) {
		for (const command of action.commands) {
			await Promise.all(
				LAB_NODES.map(async (node) => {
					const result = await execInNode(
						docker,
						lab.containers[node],
						['bash', '-c', `${command}; status=$?; printf '%s\\n' "$0" >> ~/.bash_history; exit $status`, command],
						{ user: 'ubuntu', timeoutMs: 120_000, ...(action.stdin ? { stdin: action.stdin(lab) } : {}) },
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
	return ran;
}

function lastLine(text: string): string {
	return text.trim().split('\n').at(-1)?.slice(0, 200) ?? '';
}
