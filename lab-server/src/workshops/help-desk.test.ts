import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { refusal } from '../../testing/http';
import type { HelpEvent, TakeoverEvent } from '../api';
import { newLab, type Lab } from '../labs/lab';
import { labAddresses, parsePool } from '../labs/subnets';
import { ManualClock } from '../lib/clock';
import { HelpDesk, instructorMayType } from './help-desk';

const ASK_MS = 120_000;
const UNWATCHED_MS = 20_000;

function setup(workshop: string | null = 'w1') {
	const clock = new ManualClock(Date.parse('2026-12-05T12:00:00Z'));
	const desk = new HelpDesk({
		clock,
		askMs: ASK_MS,
		unwatchedMs: UNWATCHED_MS,
		log: pino({ level: 'silent' }),
	});
	const lab: Lab = newLab({
		id: 'lab0000001',
		addresses: labAddresses(parsePool('10.129.0.0/16'), 1),
		tokenHash: 'a'.repeat(64),
		ownerHash: 'b'.repeat(64),
		clientIp: null,
		workshop,
		createdAt: clock.now(),
		expiresAt: clock.now() + 3_600_000,
		idleSince: clock.now(),
		halted: {},
		containers: { hap1: 'c1', hap2: 'c2' },
	});
	const help: HelpEvent[] = [];
	const takeover: TakeoverEvent[] = [];
	lab.events.on('help', (e) => help.push(e));
	lab.events.on('takeover', (e) => takeover.push(e));
	const states = () => takeover.map(({ state, by }) => `${state}/${by}`);
	return { clock, desk, lab, help, states };
}

describe('the help desk', () => {
	it('lets an unanswered ask lapse once, after askMs and not before', () => {
		const { clock, desk, lab, states } = setup();
		desk.ask(lab);
		clock.advance(ASK_MS - 1);
		expect(lab.takeover?.state).toBe('asked');
		clock.advance(1);
		expect(states()).toEqual(['asked/instructor', 'ended/server']);
		expect(clock.pendingTimers).toBe(0);
		expect(refusal(() => desk.answer(lab, true))).toBe('409 no-takeover-ask');
	});

	it('forgets the lapse once answered, and types only while allowed', () => {
		const { clock, desk, lab, states } = setup();
		const unwatch = desk.watch(lab); // the instructor's viewer is open throughout
		desk.ask(lab);
		expect(instructorMayType(lab)).toBe(false);
		desk.answer(lab, true);
		expect(instructorMayType(lab)).toBe(true);
		expect(clock.pendingTimers).toBe(0);
		clock.advance(ASK_MS * 2);
		expect(refusal(() => desk.ask(lab))).toBe('409 takeover-active');
		desk.end(lab, 'learner');
		expect(instructorMayType(lab)).toBe(false);
		// Ending again says nothing.
		desk.end(lab, 'instructor');
		expect(states()).toEqual(['asked/instructor', 'allowed/learner', 'ended/learner']);
		unwatch();
		expect(clock.pendingTimers).toBe(0);
	});

	it.each(['stopped', 'reset', 'ended'] as const)(
		'ends a live takeover when the lab is %s, once, and lets go of the lab',
		(name) => {
			const { desk, lab, states } = setup();
			const listeners = lab.events.listenerCount(name);
			desk.ask(lab);
			desk.answer(lab, true);
			const payloads = {
				stopped: { reason: 'idle' as const, keptUntil: '' },
				reset: { node: 'hap1' as const, nodes: ['hap1' as const], by: 'learner' as const, at: '' },
				ended: { reason: 'deleted' as const },
			};
			(lab.events.emit as (event: string, data: unknown) => boolean)(name, payloads[name]);
			(lab.events.emit as (event: string, data: unknown) => boolean)(name, payloads[name]);
			expect(states()).toEqual(['asked/instructor', 'allowed/learner', 'ended/server']);
			expect(lab.events.listenerCount(name)).toBe(listeners);
		},
	);

	it('refuses a self-paced lab and changes nothing', () => {
		const { desk, lab, help, states } = setup(null);
		for (const call of [
			() => desk.raise(lab, 'x'),
			() => desk.lower(lab),
			() => desk.ask(lab),
			() => desk.answer(lab, true),
			() => desk.end(lab, 'learner'),
		]) {
			expect(refusal(call)).toBe('409 not-in-workshop');
		}
		expect([lab.hand, lab.takeover, help, states()]).toEqual([null, null, [], []]);
	});

	it('lets a hand go up and down a few times, then one per 10 s', () => {
		const { clock, desk, lab, help } = setup();
		const toggle = () => (lab.hand ? desk.lower(lab) : desk.raise(lab, null));
		for (let i = 0; i < 6; i++) toggle();
		expect(refusal(toggle)).toBe('429 too-many-hands');
		clock.advance(9_999);
		expect(refusal(toggle)).toBe('429 too-many-hands');
		clock.advance(1);
		toggle();
		expect(help.map((e) => e.raised)).toEqual([true, false, true, false, true, false, true]);
	});

	it('ends a granted takeover no viewer watches after UNWATCHED_MS; a viewer back in time keeps it', () => {
		const { clock, desk, lab, states } = setup();
		const first = desk.watch(lab);
		desk.ask(lab);
		desk.answer(lab, true);
		// The instructor reloads: the old socket closes, a new one opens before the grace ends.
		first();
		first(); // a second close of the same socket counts once
		clock.advance(UNWATCHED_MS - 1);
		const second = desk.watch(lab);
		clock.advance(UNWATCHED_MS);
		expect(instructorMayType(lab)).toBe(true);
		// The tab is closed: nobody watches, and the rights end once, at UNWATCHED_MS.
		second();
		clock.advance(UNWATCHED_MS - 1);
		expect(instructorMayType(lab)).toBe(true);
		clock.advance(1);
		expect(instructorMayType(lab)).toBe(false);
		expect(states()).toEqual(['asked/instructor', 'allowed/learner', 'ended/server']);
		expect(clock.pendingTimers).toBe(0);
	});

	it('starts the unwatched grace at the grant when no viewer is open', () => {
		const { clock, desk, lab, states } = setup();
		desk.ask(lab);
		desk.answer(lab, true);
		clock.advance(UNWATCHED_MS);
		expect(states()).toEqual(['asked/instructor', 'allowed/learner', 'ended/server']);
		expect(clock.pendingTimers).toBe(0);
	});
});
