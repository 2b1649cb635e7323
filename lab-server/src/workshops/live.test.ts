import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
	LAB_EVENT_NAMES,
	type LabEvents,
	type LearnerView,
	type WorkshopEventName,
	type WorkshopEvents,
	type WorkshopView,
} from '../api';
import type { Lab } from '../labs/lab';
import { ManualClock } from '../lib/clock';
import {
	ACTIVITY_STEP_MS,
	ACTIVITY_SWEEP_MS,
	COALESCE_MS,
	WorkshopSignals,
	watchWorkshop,
} from './live';

type Sent = {
	[E in WorkshopEventName]: { event: E; data: WorkshopEvents[E][0] };
}[WorkshopEventName];

function row(labId: string, extra: Partial<LearnerView> = {}): LearnerView {
	return {
		name: `learner ${labId}`,
		labId,
		joinedAt: '2026-01-01T00:00:00.000Z',
		lastActivity: null,
		step: null,
		viewing: null,
		failing: null,
		vipHolder: null,
		nodes: [],
		expiresAt: '2026-01-01T02:00:00.000Z',
		hand: null,
		takeover: null,
		...extra,
	};
}

/** A workshop whose view the test edits, with labs that are bare emitters. */
function fixture() {
	const clock = new ManualClock(Date.parse('2026-01-01T00:00:00.000Z'));
	const signals = new WorkshopSignals();
	const labs = new Map<string, Lab>();
	const addLab = (id: string) => {
		const lab = { id, events: new EventEmitter<LabEvents>() } as unknown as Lab;
		labs.set(id, lab);
		return lab;
	};
	const view: WorkshopView = {
		id: 'w1',
		code: 'ABCDEF',
		title: 'T',
		seats: 40,
		pool: { ready: 0, starting: 0 },
		expiresAt: '2026-01-01T02:00:00.000Z',
		learners: [],
	};
	const sent: Sent[] = [];
	const watch = () =>
		watchWorkshop(
			{
				id: 'w1',
				view: () => structuredClone(view),
				labIds: () => view.learners.map((l) => l.labId),
				lab: (id) => labs.get(id),
				signals,
				clock,
			},
			(event, data) => sent.push({ event, data } as Sent),
		);
	const listeners = (lab: Lab) =>
		LAB_EVENT_NAMES.reduce((n, name) => n + lab.events.listenerCount(name), 0);
	return { clock, signals, labs, addLab, view, sent, watch, listeners };
}

describe('watchWorkshop', () => {
	it('sends the whole view first, then only the row that changed, at once', () => {
		const f = fixture();
		const a = f.addLab('a');
		f.addLab('b');
		f.view.learners = [row('a'), row('b')];
		f.watch();
		expect(f.sent.map((s) => s.event)).toEqual(['workshop']);
		f.sent.length = 0;

		f.view.learners[0]!.viewing = { slug: 's2', order: 2, title: 'Шаг 2' };
		a.events.emit('viewing', { step: 's2', at: '' });
		f.clock.advance(0);
		expect(f.sent).toEqual([{ event: 'learner', data: f.view.learners[0] }]);
	});

	it('coalesces a burst into one update per COALESCE_MS', () => {
		const f = fixture();
		const a = f.addLab('a');
		f.view.learners = [row('a')];
		f.watch();
		f.sent.length = 0;
		for (let i = 1; i <= 10; i++) {
			f.view.learners[0]!.viewing = { slug: `s${i}`, order: i, title: `Шаг ${i}` };
			a.events.emit('viewing', { step: `s${i}`, at: '' });
			f.clock.advance(10);
		}
		// The first at once, the rest in one update COALESCE_MS after it.
		expect(f.sent).toHaveLength(1);
		f.clock.advance(COALESCE_MS);
		expect(f.sent).toHaveLength(2);
		expect(f.sent[1]).toEqual({ event: 'learner', data: f.view.learners[0] });
	});

	it('sends nothing for an event that changes nothing shown', () => {
		const f = fixture();
		const a = f.addLab('a');
		f.view.learners = [row('a')];
		f.watch();
		f.sent.length = 0;
		a.events.emit('command', { node: 'hap1', status: 0, at: '' });
		f.clock.advance(COALESCE_MS);
		expect(f.sent).toEqual([]);
	});

	it('sends lastActivity alone only once it moved by ACTIVITY_STEP_MS, at the sweep', () => {
		const f = fixture();
		f.addLab('a');
		const t0 = f.clock.now();
		f.view.learners = [row('a', { lastActivity: new Date(t0).toISOString() })];
		f.watch();
		f.sent.length = 0;
		// Typing all along: a new time every second, sent only when it moved by the step.
		for (let s = 1; s <= 60; s++) {
			f.view.learners[0]!.lastActivity = new Date(t0 + s * 1000).toISOString();
			f.clock.advance(1000);
		}
		const times = f.sent.map((s) => (s.data as LearnerView).lastActivity);
		expect(f.sent.every((s) => s.event === 'learner')).toBe(true);
		expect(times.length).toBeGreaterThanOrEqual(1);
		expect(times.length).toBeLessThanOrEqual(60_000 / ACTIVITY_STEP_MS);
		// Never older than the step plus one sweep.
		const last = Date.parse(times.at(-1)!);
		expect(f.clock.now() - last).toBeLessThanOrEqual(ACTIVITY_STEP_MS + ACTIVITY_SWEEP_MS);
	});

	it('follows a lab that joins later, and sends its row before the head that lists it', () => {
		const f = fixture();
		f.watch();
		f.sent.length = 0;
		const b = f.addLab('b');
		f.view.learners.push(row('b'));
		f.signals.changed('w1');
		f.clock.advance(0);
		expect(f.sent.map((s) => s.event)).toEqual(['learner', 'head']);
		expect(f.sent[1]!.data).toMatchObject({ labIds: ['b'] });
		expect(f.listeners(b)).toBe(LAB_EVENT_NAMES.length);
		f.sent.length = 0;
		f.view.learners[0]!.vipHolder = 'hap1';
		b.events.emit('vip', { holder: 'hap1', at: '' });
		f.clock.advance(COALESCE_MS);
		expect(f.sent).toEqual([{ event: 'learner', data: f.view.learners[0] }]);
	});

	it('lets go of an ended lab, of a learner who left, and of everything on close', () => {
		const f = fixture();
		const a = f.addLab('a');
		const b = f.addLab('b');
		f.view.learners = [row('a'), row('b')];
		const watch = f.watch();
		expect(f.listeners(a)).toBe(LAB_EVENT_NAMES.length);
		f.labs.delete('a');
		a.events.emit('ended', { reason: 'expired' });
		expect(f.listeners(a)).toBe(0);
		f.view.learners = [row('a')];
		f.signals.changed('w1');
		f.clock.advance(COALESCE_MS);
		expect(f.listeners(b)).toBe(0);
		expect(f.sent.at(-1)).toMatchObject({ event: 'head', data: { labIds: ['a'] } });
		const c = f.addLab('c');
		f.view.learners.push(row('c'));
		f.signals.changed('w1');
		f.clock.advance(COALESCE_MS);
		expect(f.listeners(c)).toBe(LAB_EVENT_NAMES.length);
		watch.close();
		expect(f.listeners(c)).toBe(0);
		expect(f.signals.size).toBe(0);
		expect(f.clock.pendingTimers).toBe(0);
	});

	it('says `ended` when the workshop ends, and lets go of everything', () => {
		const f = fixture();
		const a = f.addLab('a');
		f.view.learners = [row('a')];
		f.watch();
		f.signals.ended('w1');
		expect(f.sent.at(-1)?.event).toBe('ended');
		expect(f.listeners(a)).toBe(0);
		expect(f.signals.size).toBe(0);
		expect(f.clock.pendingTimers).toBe(0);
		a.events.emit('vip', { holder: 'hap2', at: '' });
		f.clock.advance(COALESCE_MS);
		expect(f.sent.at(-1)?.event).toBe('ended');
	});

	it('hears only its own workshop', () => {
		const f = fixture();
		f.watch();
		f.sent.length = 0;
		f.view.pool.starting = 2;
		f.signals.changed('w2');
		f.signals.ended('w2');
		f.clock.advance(COALESCE_MS);
		expect(f.sent).toEqual([]);
		f.signals.changed('w1');
		f.clock.advance(0);
		expect(f.sent).toEqual([
			{ event: 'head', data: expect.objectContaining({ pool: { ready: 0, starting: 2 } }) },
		]);
	});
});
