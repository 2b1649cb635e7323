/**
 * The notice a learner gets when the workshop's instructor resets their lab (the dashboard's
 * «Сбросить стенд»). The lab's `reset` events come one per node and say who asked (`by`); the
 * learner's own reset needs no notice (the panel says «Стенд сброшен» beside the button).
 *
 * Shape: the nodes the instructor has reset since the notice was last dismissed. Pure: the lab
 * panel keeps the set, shows `resetNoticeText` and clears the set when the notice is dismissed.
 *
 * A reset while the page was closed comes with the lab instead (`LabView.lastReset`): the panel
 * remembers, per lab in localStorage (`RESET_SEEN_PREFIX` + lab id → its `at`), the last one it
 * has seen, and names the nodes of one it has not (`unseenReset`).
 */
import { LAB_NODES, type LabNode, type LastReset } from '../../lab-server/src/api';

export const RESET_SEEN_PREFIX = 'keepalived-lab:reset-seen:';
import type { Translate } from '../i18n/t';

/**
 * The nodes to name after a `reset` event's data (the SSE JSON, not validated yet): `shown` plus
 * the node the instructor reset and the others of the same reset (`nodes`: the first event of a
 * whole lab's reset names it whole, not one node and then two); `shown` itself when the event is
 * not an instructor's.
 */
export function afterReset(
	shown: ReadonlySet<LabNode>,
	data: Record<string, unknown> | null,
): ReadonlySet<LabNode> {
	const node = LAB_NODES.find((n) => n === data?.node);
	if (!node || data?.by !== 'instructor') return shown;
	const listed: unknown[] = Array.isArray(data.nodes) ? data.nodes : [];
	const together = LAB_NODES.filter((n) => listed.includes(n));
	const next = new Set([...shown, node, ...together]);
	return next.size === shown.size ? shown : next;
}

/**
 * The notice's words for the nodes reset: the whole lab, or one node; '' for none. `earlierAt`
 * (a time, as shown) when the reset was made while the page was closed: it is over by now.
 */
export function resetNoticeText(
	nodes: ReadonlySet<LabNode>,
	t: Translate,
	earlierAt?: string,
): string {
	if (nodes.size === 0) return '';
	const whole = nodes.size === LAB_NODES.length;
	const node = [...nodes][0]!;
	if (earlierAt !== undefined) {
		return t(`lab.instructorReset.earlier.${whole ? 'lab' : 'node'}`, { time: earlierAt, node });
	}
	return whole ? t('lab.instructorReset.lab') : t('lab.instructorReset.node', { node });
}

/**
 * The nodes to name for the lab's latest reset (`LabView.lastReset`, from the network: checked
 * here), when the instructor did it and it is not the one this browser saw last (`seenAt`).
 */
export function unseenReset(
	last: LastReset | null | undefined,
	seenAt: string | null,
): ReadonlySet<LabNode> {
	if (last?.by !== 'instructor' || typeof last.at !== 'string' || last.at === seenAt) {
		return new Set();
	}
	return new Set(Array.isArray(last.nodes) ? LAB_NODES.filter((n) => last.nodes.includes(n)) : []);
}
