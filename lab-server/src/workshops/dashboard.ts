/**
 * The instructor's dashboard (`GET /api/workshops/:id`): who is where, from what is already known
 * — node state from the observers, the latest check results from each lab's `check` events, the
 * last terminal input from the lab manager. It runs nothing per request, so thirty learners cost
 * nothing to watch.
 */
import {
	LAB_NODES,
	dashboardUrl,
	type CheckResult,
	type LearnerView,
	type WorkshopSummary,
	type WorkshopView,
} from '../api';
import { CHECKS } from '../checks/specs';
import type { Config } from '../config/config';
import { courseSteps, stepsByCheck } from '../course/steps';
import { handView, vipHolder, type Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import type { Learner, Workshop } from './workshop';

export class Dashboard {
	/** Latest check result per lab and check, from the labs' `check` events. */
	#results = new Map<string, Map<string, CheckResult>>();
	#labs: LabManager;
	#config: Config;

	constructor(labs: LabManager, config: Config) {
		this.#labs = labs;
		this.#config = config;
	}

	/** Follows a workshop lab's check results until it ends. */
	track(lab: Lab): void {
		const results = new Map<string, CheckResult>();
		this.#results.set(lab.id, results);
		lab.events.on('check', (result) => results.set(result.id, result));
		lab.events.once('ended', () => this.#results.delete(lab.id));
	}

	/** Seeds a lab's results (after a restart, before its first `check` event). */
	record(labId: string, results: readonly CheckResult[]): void {
		const known = this.#results.get(labId);
		for (const result of results) known?.set(result.id, result);
	}

	view(workshop: Workshop): WorkshopView {
		const live = [
			...workshop.learners.map((l) => this.#labs.get(l.labId)),
			...[...workshop.ready.keys()].map((id) => this.#labs.get(id)),
		].filter((lab): lab is Lab => lab !== undefined && lab.workshop === workshop.id);
		const expiresAt = live.length
			? Math.max(...live.map((lab) => lab.expiresAt))
			: workshop.createdAt + this.#config.labTtlMs;
		return {
			id: workshop.id,
			code: workshop.code,
			title: workshop.title,
			seats: workshop.seats,
			pool: { ready: workshop.ready.size, starting: workshop.starting },
			expiresAt: new Date(expiresAt).toISOString(),
			learners: workshop.learners.map((learner) => this.#learnerView(learner)),
		};
	}

	/** The workshop in the instructor's list (`GET /api/workshops`). */
	summary(workshop: Workshop): WorkshopSummary {
		const { id, code, title, seats, expiresAt } = this.view(workshop);
		return {
			id,
			code,
			title,
			seats,
			learners: workshop.learners.length,
			createdAt: new Date(workshop.createdAt).toISOString(),
			expiresAt,
			dashboardUrl: dashboardUrl(id),
		};
	}

	#learnerView(learner: Learner): LearnerView {
		const lab = this.#labs.get(learner.labId);
		const results = this.#results.get(learner.labId);
		const steps = stepsByCheck();
		let step: LearnerView['step'] = null;
		let failing: LearnerView['failing'] = null;
		for (const check of CHECKS) {
			const result = results?.get(check.id);
			const info = steps.get(check.id);
			if (result?.status === 'pass' && info && (step === null || info.order > step.order)) {
				step = { order: info.order, title: info.title };
			}
			if (result?.status === 'fail' && failing === null) {
				failing = { id: check.id, message: result.message };
			}
		}
		const lastActivity = lab ? this.#labs.lastActivity(lab.id) : null;
		const viewing = lab?.viewing ? courseSteps().find((s) => s.slug === lab.viewing) : undefined;
		return {
			name: learner.name,
			labId: learner.labId,
			joinedAt: new Date(learner.joinedAt).toISOString(),
			lastActivity: lastActivity === null ? null : new Date(lastActivity).toISOString(),
			step,
			viewing: viewing ? { slug: viewing.slug, order: viewing.order, title: viewing.title } : null,
			failing,
			vipHolder: lab ? vipHolder(lab) : null,
			nodes: lab
				? LAB_NODES.map((name) => ({
						name,
						keepalived: lab.nodes[name].keepalived,
						state: lab.nodes[name].state,
					}))
				: [],
			expiresAt: lab ? new Date(lab.expiresAt).toISOString() : null,
			hand: lab ? handView(lab) : null,
			takeover: lab?.takeover?.state ?? null,
		};
	}
}
