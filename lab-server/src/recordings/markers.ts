/**
 * The markers on a lab's recordings, from its events (`lab.events`): the step the learner opened
 * (by its title), each drill's start and result, resets, the instructor's takeover and a raised
 * hand. A marker goes into every open recording of the lab; the instructor's player lists them
 * and jumps to them. Labels are Russian, for the people who read them, and bounded: a hand's
 * message is the learner's text.
 */
import { DRILL_TITLES, type LabEvents, type TakeoverState } from '../api';
import { courseSteps } from '../course/steps';
import type { Lab } from '../labs/lab';
import type { RecordingStore } from './store';

/** A marker's longest label, characters. */
const MAX_LABEL = 160;

const TAKEOVER: Record<TakeoverState, string> = {
	asked: 'Преподаватель просит управление',
	allowed: 'Управление передано преподавателю',
	refused: 'Управление не передано',
	ended: 'Управление возвращено слушателю',
};

type Labelled = { [E in keyof LabEvents]?: (data: LabEvents[E][0]) => string | null };

/** A step's marker: «Шаг 3. Установка keepalived»; null for no step or an unknown one. */
export function stepLabel(step: string | null | undefined): string | null {
	const found = step ? courseSteps().find((s) => s.slug === step) : undefined;
	return found ? `Шаг ${found.order}. ${found.title}` : null;
}

const LABELS: Labelled = {
	viewing: ({ step }) => stepLabel(step),
	drill: ({ drill, phase, target, ok }) => {
		const title = DRILL_TITLES[drill];
		if (phase === 'applied') return `Учение «${title}» на ${target}`;
		if (phase === 'failed') return `Учение «${title}» не удалось`;
		if (phase === 'restored') return `Восстановлено после «${title}»`;
		return `Итог учения «${title}»: ${ok ? 'кластер справился' : 'кластер не справился'}`;
	},
	reset: ({ node, by }) => `Сброс узла ${node}${by === 'instructor' ? ' (преподаватель)' : ''}`,
	takeover: ({ state }) => TAKEOVER[state],
	help: ({ raised, message }) =>
		raised ? `Поднята рука${message ? `: ${message}` : ''}` : 'Рука опущена',
};

/** Marks the lab's recordings from its events until the returned function is called. */
export function markRecordings(lab: Lab, store: RecordingStore): () => void {
	const offs = (Object.keys(LABELS) as (keyof LabEvents)[]).map((name) => {
		const label = LABELS[name] as (data: LabEvents[typeof name][0]) => string | null;
		const listener = (data: LabEvents[typeof name][0]) => {
			const text = label(data);
			if (text) store.mark(lab.id, text.slice(0, MAX_LABEL));
		};
		lab.events.on(name, listener);
		return () => lab.events.off(name, listener);
	});
	return () => offs.forEach((off) => off());
}
