/**
 * The live dashboard with a full class: a server of its own (with an instructor secret), a
 * workshop whose pool boots a lab for each of N learners, N learners joined through the API, the
 * instructor's stream (`GET /api/workshops/:id/events`) open. Then, in rounds, every learner
 * opens another step page (`PUT /api/labs/:id/viewing`, what their page says on a step change),
 * the PUTs spread over SPREAD_MS: the time from each learner's request to the instructor's
 * stream carrying their row with the new step, and to the instructor's page in Chromium showing
 * it (dashboard-page.ts; when the site is built). Also what a fresh dashboard costs: `GET
 * /api/workshops/:id` with N learners, and a new stream's first event (the whole view).
 */
import { courseSteps } from '../lab-server/src/course/steps';
import {
	workshopEventsPath,
	type CreatedLab,
	type CreatedWorkshop,
	type LearnerView,
	type WorkshopHead,
} from '../lab-server/src/api';
import { readSse } from '../lab-server/testing/sse-reader';
import { DashboardPage, SITE_DIR, dashboardPageSkipped, wallNow } from './dashboard-page';
import { Harness, progress } from './harness';
import { sleep } from './terminal';

const SECRET = 'bench-instructor-secret-0123456789';
/** A round's step changes are spread over this much time (a class at work, in a burst). */
const SPREAD_MS = 2_000;
const FRESH_SAMPLES = 20;
const UPDATE_TIMEOUT_MS = 10_000;

export interface DashboardResult {
	learners: number;
	/** A learner's PUT → their row on the instructor's stream, ms. */
	updateMs: number[];
	/** A learner's PUT → their row showing the step on the instructor's page in Chromium, ms. */
	pageMs: number[];
	/** Why `pageMs` is empty (no built site, no Chromium), or null. */
	pageSkipped: string | null;
	/** `GET /api/workshops/:id` with every learner in, ms. */
	getMs: number[];
	/** A new stream → its first event (the whole view), ms. */
	firstEventMs: number[];
	/** Bytes of the whole view, and of one `learner` row on the stream (mean). */
	viewBytes: number;
	rowBytes: number;
	/** Events the stream carried per learner change (≤ 1: coalesced and nothing else sent). */
	eventsPerChange: number;
	/** How long the workshop's pool took to boot a lab for every learner, ms. */
	poolReadyMs: number;
}

export async function measureDashboard(
	learners: number,
	rounds: number,
	deadline: number,
): Promise<DashboardResult> {
	progress(`dashboard: a workshop for ${learners} learners, ${rounds} rounds of step changes`);
	const pageSkipped = dashboardPageSkipped();
	const harness = await Harness.start(learners + 1, {
		env: { INSTRUCTOR_SECRET: SECRET },
		...(pageSkipped ? {} : { siteDir: SITE_DIR }),
	});
	const { base } = harness;
	let workshop: CreatedWorkshop | null = null;
	let page: DashboardPage | null = null;
	const instructor = () => ({ authorization: `Bearer ${workshop!.instructorToken}` });
	try {
		const created = await fetch(`${base}/api/workshops`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
			body: JSON.stringify({ title: 'bench', pool: learners, seats: learners }),
		});
		if (created.status !== 201) throw new Error(`POST /api/workshops: ${created.status}`);
		workshop = (await created.json()) as CreatedWorkshop;
		const stream = await readSse(`${base}${workshopEventsPath(workshop.id)}`, instructor());
		if (stream.status !== 200) throw new Error(`the stream answered ${stream.status}`);
		const booting = performance.now();
		await stream.next(
			(e) => e.event === 'head' && (e.data as WorkshopHead).pool.ready === learners,
			{ timeoutMs: Math.max(0, deadline - Date.now()) },
		);
		const poolReadyMs = performance.now() - booting;
		progress(`dashboard: the pool of ${learners} booted in ${Math.round(poolReadyMs / 1000)} s`);

		const labs: CreatedLab[] = [];
		for (let i = 0; i < learners; i++) {
			const res = await fetch(`${base}/api/workshops/${workshop.code}/join`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ name: `Слушатель ${i + 1}` }),
			});
			if (res.status !== 201) throw new Error(`join ${i + 1}: ${res.status} ${await res.text()}`);
			labs.push((await res.json()) as CreatedLab);
		}
		await stream.next(
			(e) => e.event === 'head' && (e.data as WorkshopHead).labIds.length === learners,
		);

		const getMs: number[] = [];
		const firstEventMs: number[] = [];
		let viewBytes = 0;
		for (let i = 0; i < FRESH_SAMPLES; i++) {
			const t0 = performance.now();
			const res = await fetch(`${base}/api/workshops/${workshop.id}`, { headers: instructor() });
			const body = await res.text();
			getMs.push(performance.now() - t0);
			viewBytes = body.length;
			// The one stream above stays: a second one at a time is well under the limit.
			const t1 = performance.now();
			const fresh = await readSse(`${base}${workshopEventsPath(workshop.id)}`, instructor());
			const first = await fresh.next(() => true);
			firstEventMs.push(first.at - t1);
			fresh.close();
			await fresh.closed;
		}

		if (pageSkipped) progress(`dashboard: no page figure: ${pageSkipped}`);
		else page = await DashboardPage.open(`${base}${workshop.instructorUrl}`, learners);

		const steps = courseSteps();
		const updateMs: number[] = [];
		const pageMs: number[] = [];
		const fromAll = stream.events.length;
		let rowBytes = 0;
		let rows = 0;
		for (let round = 0; round < rounds; round++) {
			if (Date.now() > deadline) throw new Error('dashboard: out of time');
			const step = steps[(round % (steps.length - 1)) + 1]!;
			const slug = step.slug;
			const from = stream.events.length;
			const roundStart = wallNow();
			const putAt = new Map<string, number>();
			await Promise.all(
				labs.map(async (lab, i) => {
					await sleep((SPREAD_MS * i) / labs.length);
					const t0 = performance.now();
					putAt.set(lab.id, wallNow());
					const put = await fetch(`${base}/api/labs/${lab.id}/viewing`, {
						method: 'PUT',
						headers: { 'content-type': 'application/json', authorization: `Bearer ${lab.token}` },
						body: JSON.stringify({ step: slug }),
					});
					if (put.status !== 204) throw new Error(`PUT viewing: ${put.status}`);
					const row = await stream.next(
						(e) =>
							e.event === 'learner' &&
							(e.data as LearnerView).labId === lab.id &&
							(e.data as LearnerView).viewing?.slug === slug,
						{ from, timeoutMs: UPDATE_TIMEOUT_MS },
					);
					updateMs.push(row.at - t0);
					rowBytes += row.bytes;
					rows++;
				}),
			);
			if (page) {
				// The cell reads «{order}. {title}» (instructor.stepOf).
				const shown = await page.shownAt(
					`${step.order}. ${step.title}`,
					roundStart,
					UPDATE_TIMEOUT_MS,
				);
				for (const [labId, at] of putAt) {
					const drawn = shown.get(labId);
					if (drawn === undefined) throw new Error(`dashboard: ${labId} never drawn`);
					pageMs.push(drawn - at);
				}
			}
			progress(`  round ${round + 1}/${rounds}: ${labs.length} step changes seen`);
		}
		const eventsPerChange = (stream.events.length - fromAll) / (rounds * labs.length);
		stream.close();
		return {
			learners,
			updateMs,
			pageMs,
			pageSkipped,
			getMs,
			firstEventMs,
			viewBytes,
			rowBytes: rows ? rowBytes / rows : 0,
			eventsPerChange,
			poolReadyMs,
		};
	} finally {
		await page?.close();
		// The workshop's end removes its labs one at a time; the harness then removes the rest.
		if (workshop) {
			await fetch(`${base}/api/workshops/${workshop.id}`, {
				method: 'DELETE',
				headers: instructor(),
			}).catch(() => undefined);
		}
		await harness.cleanup();
	}
}
