/**
 * The notice a learner gets when the workshop's instructor resets their lab (the dashboard's
 * «Сбросить стенд»). The lab's `reset` events come one per node and say who asked (`by`); the
 * learner's own reset needs no notice (the panel says «Стенд сброшен» beside the button).
 *
 * Shape: the nodes the instructor has reset since the notice was last dismissed. Pure: the lab
 * panel keeps the set, shows `resetNoticeText` and clears the set when the notice is dismissed.
 */
import { LAB_NODES, type LabNode } from '../../lab-server/src/api';
import type { Translate } from '../i18n/t';

/**
 * The nodes to name after a `reset` event's data (the SSE JSON, not validated yet): `shown` plus
 * the node when the instructor reset it; `shown` itself when the event is not an instructor's.
 */
export function afterReset(
	shown: ReadonlySet<LabNode>,
	data: Record<string, unknown> | null,
): ReadonlySet<LabNode> {
	const node = LAB_NODES.find((n) => n === data?.node);
	if (!node || data?.by !== 'instructor' || shown.has(node)) return shown;
	return new Set([...shown, node]);
}

/** The notice's words for the nodes reset: the whole lab, or one node; '' for none. */
export function resetNoticeText(nodes: ReadonlySet<LabNode>, t: Translate): string {
	if (nodes.size === 0) return '';
	if (nodes.size === LAB_NODES.length) return t('lab.instructorReset.lab');
	return t('lab.instructorReset.node', { node: [...nodes][0]! });
}
