/** The course's checks as the API reports them (`GET /api/labs/:id/checks`, `check` events). */

/** Every check, in course order; a step's frontmatter `check:` names one of them. */
export const CHECK_IDS = [
	'install',
	'version',
	'config',
	'service',
	'vip',
	'logs',
	'failover',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export function isCheckId(value: unknown): value is CheckId {
	return (CHECK_IDS as readonly unknown[]).includes(value);
}

/** `pending`: not started yet; `fail`: attempted but wrong, the message says what and why. */
export type CheckStatus = 'pass' | 'fail' | 'pending';

export interface CheckResult {
	id: CheckId;
	/** The step's slug (`content/steps/<slug>.mdx`); '' when no step claims the check. */
	step: string;
	/** What passing means, in Russian. */
	title: string;
	status: CheckStatus;
	/** Russian; may hold line breaks. */
	message: string;
}

/** `POST /api/labs/:id/checks/:check/complete` («Выполнить шаг за меня»). */
export interface CompletedStep {
	/** The guide's commands that were run, on both nodes, in order. */
	commands: string[];
	checks: CheckResult[];
	/**
	 * keepalived was just started on both nodes, and VRRP elects a MASTER only after its
	 * master-down interval: the `checks` that follow the election may fail for up to `ms` from the
	 * answer before they pass, without anything being wrong. Null when nothing was started.
	 */
	election: { checks: CheckId[]; ms: number } | null;
}
