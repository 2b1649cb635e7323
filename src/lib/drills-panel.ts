/**
 * `<drills-panel>`: failure drills on a step (DrillsPanel.astro). A button per drill
 * (`POST /drills/:name`), «Восстановить», the active drill and its phase, the outcome, a live
 * VRRP view (keepalived per node, frozen nodes, who holds the VIP), a timeline of transitions
 * (newest first, at most TIMELINE_MAX), and one failover's three numbers, each named: how long
 * the VIP took to move (the outcome's `ms`), how long the client went unanswered (the downtime
 * meter's outage) and the theory for the learner's config (`GET /drills` → `expected`). While a
 * drill is on, the other drills wait (aria-disabled, with the reason) and «Восстановить» is the
 * primary button; an outcome or an outage is scrolled into view where the learner may not see it.
 *
 * Loaded lazily: DrillsPanel.astro imports this module once a lab runs, so none of it counts
 * before. It reads `lab:node`, `lab:vip`, `lab:drill` and `lab:outage` (the lab panel passes the
 * server's events on) and `lab:state`; a refused drill's Russian message goes to a role="alert".
 *
 * Markup it expects: `button[data-drill]`, `[data-slot]` parts, `tr[data-node]` rows with
 * `ka`/`frozen`/`haproxy`/`vip` slots, `[data-running-only]` parts (shown while a lab runs),
 * `data-theory` (the drill whose theory shows before any ran), and the `drills.*` + `lab.ka.*`
 * strings in `data-i18n`.
 */
import {
	asDrillEvent,
	asNodeEvent,
	asOutage,
	asVipEvent,
	getDrills,
	startDrill,
} from './drills-api';
import { ApiError, getLab } from './lab-api';
import {
	FAILURE_DRILLS,
	LAB_NODES,
	type ActiveDrill,
	type DrillEvent,
	type DrillName,
	type DrillNodeState,
	type ExpectedOutage,
	type FailureDrill,
	type LabNode,
	type Outage,
} from '../../lab-server/src/api';

/** Where a drill is: as it runs (`ActiveDrill`) or as its events report it. */
type DrillPhase = ActiveDrill['phase'] | DrillEvent['phase'];
import { currentLab, type LabEventDetail, type LabSnapshot } from './lab-state';
import { createT, dictFrom, type Translate, type UiKey } from '../i18n/t';

const TIMELINE_MAX = 40;
/** The downtime meter probes every 100 ms: closer than this to the theory counts as «matches». */
const METER_SLACK_MS = 150;
/** The theory shown before any drill ran when the markup names none (`data-theory`). */
const DEFAULT_THEORY: FailureDrill = 'stop-haproxy';

interface NodeView {
	ka: DrillNodeState;
	haproxy: string | null;
	hasVip: boolean;
	frozen: boolean;
}

interface Shown {
	drill: DrillName;
	target: LabNode;
	phase: DrillPhase;
	detail: string | null;
	ok: boolean | undefined;
}

interface Entry {
	at: string;
	kind: 'node' | 'vip' | 'drill' | 'outage';
	text: string;
}

class DrillsPanel extends HTMLElement {
	#t: Translate = createT({});
	#labId: string | null = null;
	#nodes: Record<LabNode, NodeView> = { hap1: blankNode(), hap2: blankNode() };
	#shown: Shown | null = null;
	#expected: Partial<Record<DrillName, ExpectedOutage>> = {};
	#theoryDrill: FailureDrill = DEFAULT_THEORY;
	#outage: Outage | null = null;
	/** The last outcome's time from the drill to the VIP's new holder. */
	#movedMs: number | null = null;
	#timeline: Entry[] = [];
	#requesting = false;
	#timeFormat = new Intl.DateTimeFormat('ru-RU', {
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit',
		fractionalSecondDigits: 1,
		hour12: false,
	});

	connectedCallback(): void {
		this.#t = createT(dictFrom(this));
		const theory = FAILURE_DRILLS.find((drill) => drill === this.dataset.theory);
		this.#theoryDrill = theory ?? DEFAULT_THEORY;
		this.addEventListener('click', this.#onClick);
		document.addEventListener('lab:state', this.#onState);
		document.addEventListener('lab:node', this.#onNode);
		document.addEventListener('lab:vip', this.#onVip);
		document.addEventListener('lab:drill', this.#onDrill);
		document.addEventListener('lab:outage', this.#onOutage);
		this.#follow(currentLab());
	}

	disconnectedCallback(): void {
		this.removeEventListener('click', this.#onClick);
		document.removeEventListener('lab:state', this.#onState);
		document.removeEventListener('lab:node', this.#onNode);
		document.removeEventListener('lab:vip', this.#onVip);
		document.removeEventListener('lab:drill', this.#onDrill);
		document.removeEventListener('lab:outage', this.#onOutage);
	}

	// ── the lab ────────────────────────────────────────────────────────────────

	#onState = (event: CustomEvent<LabSnapshot>): void => this.#follow(event.detail);

	#follow(state: LabSnapshot): void {
		const id = state.status === 'running' && state.lab ? state.lab.id : null;
		this.toggleAttribute('data-lab-running', id !== null);
		for (const part of this.querySelectorAll<HTMLElement>('[data-running-only]')) {
			part.hidden = id === null;
		}
		this.#syncButtons(id !== null);
		if (id === this.#labId) return;
		this.#labId = id;
		this.#nodes = { hap1: blankNode(), hap2: blankNode() };
		this.#shown = null;
		this.#outage = null;
		this.#movedMs = null;
		this.#timeline = [];
		this.#slot('error').textContent = '';
		this.#render();
		if (id) void this.#load(id);
	}

	/** The first picture: the nodes (GET lab) and the drills' state and theory (GET drills). */
	async #load(id: string): Promise<void> {
		const [lab, drills] = await Promise.allSettled([getLab(id), getDrills(id)]);
		if (this.#labId !== id) return;
		if (lab.status === 'fulfilled') {
			for (const node of lab.value.nodes) {
				const view = this.#nodes[node.name];
				if (view.ka === 'unknown' && node.keepalived) view.ka = node.keepalived;
				view.frozen = node.state === 'paused';
			}
			const holder = lab.value.vipHolder ?? null;
			for (const node of LAB_NODES) this.#nodes[node].hasVip ||= holder === node;
		}
		if (drills.status === 'fulfilled') {
			this.#expected = drills.value.expected;
			if (drills.value.state.active) this.#showActive(drills.value.state.active);
		}
		this.#render();
	}

	#showActive(active: ActiveDrill): void {
		this.#theoryDrill = active.drill;
		this.#shown = { ...active, ok: undefined };
	}

	// ── events ─────────────────────────────────────────────────────────────────

	#onNode = (event: CustomEvent<LabEventDetail>): void => {
		const report = asNodeEvent(event.detail);
		if (!report || !this.#labId) return;
		const view = this.#nodes[report.node];
		if (report.keepalived && report.keepalived !== view.ka) {
			if (view.ka !== 'unknown' && view.ka !== 'frozen') {
				this.#log(report.at, 'node', 'drills.ev.ka', {
					node: report.node,
					from: this.#kaText(view.ka),
					to: this.#kaText(report.keepalived),
				});
			}
			view.ka = report.keepalived;
		}
		if (report.haproxy && report.haproxy !== view.haproxy) {
			if (view.haproxy) {
				this.#log(report.at, 'node', 'drills.ev.haproxy', {
					node: report.node,
					from: view.haproxy,
					to: report.haproxy,
				});
			}
			view.haproxy = report.haproxy;
		}
		if (report.hasVip !== null) view.hasVip = report.hasVip;
		// A paused node reports nothing: one that reports is running again.
		view.frozen = false;
		this.#render();
	};

	#onVip = (event: CustomEvent<LabEventDetail>): void => {
		const vip = asVipEvent(event.detail);
		if (!vip || !this.#labId) return;
		if (vip.holder) {
			this.#nodes[vip.holder].hasVip = true;
			this.#log(vip.at, 'vip', 'drills.ev.vip', { node: vip.holder });
		} else {
			this.#log(vip.at, 'vip', 'drills.ev.vipNone');
		}
		this.#render();
	};

	#onDrill = (event: CustomEvent<LabEventDetail>): void => {
		const drill = asDrillEvent(event.detail);
		if (!drill || !this.#labId) return;
		this.#applyDrill(drill);
		this.#log(drill.at, 'drill', 'drills.ev.drill', {
			drill: this.#drillName(drill.drill),
			target: drill.target,
			phase: this.#t(`drills.phase.${drill.phase}`),
		});
		this.#render();
		if (drill.phase !== 'applied') this.#announce(drill.detail);
		if (drill.phase === 'outcome' || drill.phase === 'failed') this.#reveal();
	};

	#applyDrill(event: DrillEvent): void {
		for (const node of LAB_NODES) {
			const state = event.states?.[node];
			if (state === 'frozen') this.#nodes[node].frozen = true;
			else if (state && state !== 'unknown') {
				this.#nodes[node].ka = state;
				this.#nodes[node].frozen = false;
			}
			if (event.holders) this.#nodes[node].hasVip = event.holders.includes(node);
		}
		if (event.phase === 'restored') {
			for (const node of LAB_NODES) this.#nodes[node].frozen = false;
		} else if (event.drill !== 'restore') {
			this.#theoryDrill = event.drill;
			if (event.phase === 'outcome' && event.ok && event.ms !== undefined) {
				this.#movedMs = event.ms;
			}
		}
		this.#shown = {
			drill: event.drill,
			target: event.target,
			phase: event.phase,
			detail: event.detail,
			ok: event.ok,
		};
	}

	#onOutage = (event: CustomEvent<LabEventDetail>): void => {
		const outage = asOutage(event.detail);
		if (!outage || !this.#labId) return;
		this.#outage = outage;
		this.#log(outage.endedAt, 'outage', 'drills.ev.outage', {
			s: seconds(outage.ms),
			before: outage.before || '—',
			after: outage.after || '—',
		});
		this.#render();
		this.#announce(this.#t('drills.outageSaid', { s: seconds(outage.ms) }));
		this.#reveal();
	};

	// ── actions ────────────────────────────────────────────────────────────────

	#onClick = (event: MouseEvent): void => {
		const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
			'button[data-drill]',
		);
		if (!button || !this.contains(button) || this.#requesting || !this.#labId) return;
		const drill = button.dataset.drill as DrillName;
		const on = this.#drillOn();
		if (on && drill !== 'restore') {
			this.#slot('error').textContent = this.#t('drills.restoreFirstNamed', {
				drill: this.#drillName(on),
			});
			return;
		}
		void this.#run(drill);
	};

	async #run(drill: DrillName): Promise<void> {
		const id = this.#labId;
		if (!id) return;
		const error = this.#slot('error');
		error.textContent = '';
		this.#setRequesting(true);
		this.#announce(this.#t(drill === 'restore' ? 'drills.restoring' : 'drills.starting'));
		try {
			const started = await startDrill(id, drill);
			if (this.#labId !== id) return;
			if (drill !== 'restore') {
				this.#theoryDrill = drill;
				// What the meter sees from now on belongs to this drill.
				this.#outage = null;
				this.#movedMs = null;
			}
			// The outcome (or `restored`) comes later as a `drill` event.
			this.#shown = {
				drill,
				target: started.target,
				phase: 'applying',
				detail: null,
				ok: undefined,
			};
			this.#log(started.startedAt, 'drill', 'drills.ev.started', {
				drill: this.#drillName(drill),
				target: started.target,
			});
			this.#render();
			// The theory follows the learner's config, which may have changed since the last time.
			const drills = await getDrills(id).catch(() => null);
			if (drills && this.#labId === id) {
				this.#expected = drills.expected;
				this.#render();
			}
		} catch (e) {
			if (this.#labId !== id) return;
			error.textContent =
				e instanceof ApiError && e.serverMessage
					? e.serverMessage
					: e instanceof ApiError && e.status === 404
						? this.#t('drills.notAvailable')
						: this.#t('lab.unreachable');
		} finally {
			this.#setRequesting(false);
		}
	}

	#setRequesting(on: boolean): void {
		this.#requesting = on;
		this.toggleAttribute('aria-busy', on);
		this.#syncAvailability();
	}

	/** The failure drill applied to the lab now, if any: «Восстановить» comes before any other. */
	#drillOn(): DrillName | null {
		const shown = this.#shown;
		if (!shown || shown.drill === 'restore' || shown.phase === 'restored') return null;
		return shown.drill;
	}

	/**
	 * Buttons that cannot act now say so (aria-disabled keeps them focusable, and a click says
	 * why); «Восстановить» is the primary button only while there is something to restore.
	 */
	#syncAvailability(): void {
		const on = this.#drillOn();
		for (const button of this.#buttons()) {
			const restore = button.dataset.drill === 'restore';
			const waits = this.#requesting || (on !== null && !restore);
			if (waits) button.setAttribute('aria-disabled', 'true');
			else button.removeAttribute('aria-disabled');
			if (restore) button.classList.toggle('btn--primary', on !== null);
		}
	}

	/**
	 * Brings a drill's results into view if the learner cannot see them all (eyes on the
	 * terminals, say): the outcome and the three numbers below it, from the outcome down.
	 */
	#reveal(): void {
		const parts = [this.#slot('outcome'), this.#slot('figures')].filter((el) => !el.hidden);
		if (parts.every(inViewport)) return;
		const calm = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
		parts[0]?.scrollIntoView({ block: 'start', behavior: calm ? 'auto' : 'smooth' });
	}

	#syncButtons(running: boolean): void {
		for (const button of this.#buttons()) button.disabled = !running;
	}

	// ── rendering ──────────────────────────────────────────────────────────────

	#render(): void {
		this.#syncAvailability();
		this.#renderNodes();
		this.#renderShown();
		this.#renderDowntime();
		this.#renderTimeline();
	}

	#renderNodes(): void {
		for (const node of LAB_NODES) {
			const row = this.querySelector<HTMLElement>(`[data-node="${node}"]`);
			if (!row) continue;
			const view = this.#nodes[node];
			const ka = row.querySelector<HTMLElement>('[data-slot="ka"]')!;
			ka.textContent = this.#kaText(view.ka);
			ka.dataset.ka = view.ka;
			row.querySelector<HTMLElement>('[data-slot="frozen"]')!.hidden = !view.frozen;
			row.querySelector<HTMLElement>('[data-slot="haproxy"]')!.textContent =
				view.haproxy ?? this.#t('lab.ka.unknown');
			const vip = row.querySelector<HTMLElement>('[data-slot="vip"]')!;
			vip.textContent = view.hasVip ? this.#t('drills.hasVip') : this.#t('drills.noVip');
			vip.dataset.vip = String(view.hasVip);
		}
		const holders = LAB_NODES.filter((node) => this.#nodes[node].hasVip);
		const holder = this.#slot('holder');
		holder.textContent =
			holders.length === 2 ? this.#t('drills.vipBoth') : (holders[0] ?? this.#t('drills.vipNone'));
		holder.dataset.split = String(holders.length === 2);
	}

	#renderShown(): void {
		const shown = this.#shown;
		const active = this.#slot('active');
		const outcome = this.#slot('outcome');
		const restoreHint = this.#slot('restore-hint');
		if (!shown) {
			active.textContent = this.#t('drills.noneActive');
			outcome.hidden = true;
			restoreHint.hidden = true;
			this.removeAttribute('data-drill-phase');
			return;
		}
		this.dataset.drillPhase = shown.phase;
		active.textContent =
			shown.phase === 'restored'
				? this.#t('drills.restoredText')
				: this.#t('drills.activeText', {
						drill: this.#drillName(shown.drill),
						target: shown.target,
						phase: this.#t(`drills.phase.${shown.phase}`),
					});
		outcome.textContent = shown.detail ?? '';
		outcome.hidden = !shown.detail;
		outcome.dataset.ok = shown.ok === undefined ? '' : String(shown.ok);
		restoreHint.hidden = shown.drill === 'restore';
	}

	#renderDowntime(): void {
		this.#slot('moved').textContent =
			this.#movedMs === null
				? this.#t('drills.theoryUnknownShort')
				: this.#t('drills.seconds', { s: seconds(this.#movedMs) });
		const outage = this.#outage;
		this.#slot('measured').textContent = outage
			? this.#t('drills.seconds', { s: seconds(outage.ms) })
			: this.#t('drills.measuredNone');
		const detail = this.#slot('measured-detail');
		detail.textContent = outage
			? this.#t('drills.measuredDetail', {
					from: this.#time(outage.startedAt),
					to: this.#time(outage.endedAt),
					n: outage.failedProbes,
					before: outage.before || '—',
					after: outage.after || '—',
				})
			: '';
		detail.hidden = !outage;

		const theory = this.#expected[this.#theoryDrill];
		this.#slot('theory-for').textContent = this.#t('drills.theoryFor', {
			drill: this.#drillName(this.#theoryDrill),
		});
		this.#slot('theory').textContent = theoryText(theory, this.#t);
		this.#slot('theory-explanation').textContent =
			theory?.explanation ?? this.#t('drills.theoryUnknown');
		const verdict = this.#slot('verdict');
		verdict.textContent = outage && theory ? verdictText(outage.ms, theory, this.#t) : '';
		verdict.hidden = !verdict.textContent;
	}

	#renderTimeline(): void {
		const list = this.#slot('timeline');
		list.replaceChildren(
			...this.#timeline.map((entry) => {
				const item = document.createElement('li');
				item.dataset.kind = entry.kind;
				const time = document.createElement('time');
				time.dateTime = entry.at;
				time.textContent = this.#time(entry.at);
				const text = document.createElement('span');
				text.textContent = entry.text;
				item.append(time, ' ', text);
				return item;
			}),
		);
		this.#slot('timeline-empty').hidden = this.#timeline.length > 0;
	}

	#log(at: string, kind: Entry['kind'], key: UiKey, vars?: Record<string, string | number>): void {
		this.#timeline.unshift({ at, kind, text: this.#t(key, vars) });
		// Newest first; events may come out of order (a drill's own clock, the meter's).
		this.#timeline.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
		this.#timeline.length = Math.min(this.#timeline.length, TIMELINE_MAX);
	}

	#announce(text: string): void {
		const region = this.#slot('announce');
		region.textContent = '';
		requestAnimationFrame(() => (region.textContent = text));
	}

	#kaText(state: DrillNodeState): string {
		return state === 'frozen' ? this.#t('drills.frozen') : this.#t(`lab.ka.${state}` as UiKey);
	}

	#drillName(drill: DrillName): string {
		return this.#t(`drills.label.${drill}` as UiKey);
	}

	#time(iso: string): string {
		const date = new Date(iso);
		return Number.isNaN(date.getTime()) ? iso : this.#timeFormat.format(date);
	}

	#buttons(): HTMLButtonElement[] {
		return [...this.querySelectorAll<HTMLButtonElement>('button[data-drill]')];
	}

	#slot(name: string): HTMLElement {
		const el = this.querySelector<HTMLElement>(`[data-slot="${name}"]`);
		if (!el) throw new Error(`drills-panel: missing [data-slot="${name}"] in DrillsPanel.astro`);
		return el;
	}
}

function inViewport(el: Element): boolean {
	const box = el.getBoundingClientRect();
	return box.top >= 0 && box.bottom <= window.innerHeight;
}

function blankNode(): NodeView {
	return { ka: 'unknown', haproxy: null, hasVip: false, frozen: false };
}

/** 2400 → "2,4" (Russian decimal comma). */
function seconds(ms: number): string {
	return (ms / 1000).toFixed(1).replace('.', ',');
}

function theoryText(theory: ExpectedOutage | undefined, t: Translate): string {
	if (!theory || theory.ms === null) return t('drills.theoryUnknownShort');
	if (theory.ms === 0) return t('drills.theoryNone');
	if (theory.range) {
		return t('drills.theoryRange', {
			min: seconds(theory.range[0]),
			max: seconds(theory.range[1]),
		});
	}
	return t('drills.theoryAbout', { s: seconds(theory.ms) });
}

/** How the measured outage compares with the theory, within the meter's resolution. */
function verdictText(ms: number, theory: ExpectedOutage, t: Translate): string {
	if (theory.ms === null) return '';
	const [min, max] = theory.range ?? [theory.ms, theory.ms];
	if (ms > max + METER_SLACK_MS) return t('drills.verdict.above', { s: seconds(ms - max) });
	if (ms < min - METER_SLACK_MS) return t('drills.verdict.below', { s: seconds(min - ms) });
	return t('drills.verdict.within');
}

if (!customElements.get('drills-panel')) customElements.define('drills-panel', DrillsPanel);
