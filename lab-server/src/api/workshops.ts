/** Workshops as the API shows them to instructors. */
import type { TakeoverState } from './events';
import type { RaisedHand } from './help';
import type { KeepalivedState, LabNode, NodeState } from './lab';

/**
 * The instructor's page: signed in, it lists the open workshops; `?workshop=<id>` is one
 * workshop's dashboard (the sign-in's cookie opens it); `#<id>.<token>` is one opened with the
 * workshop's own key, for a link shared without a sign-in.
 */
export const INSTRUCTOR_PAGE = '/instructor/';

/** The dashboard of a workshop, for a signed-in instructor: `/instructor/?workshop=<id>`. */
export function dashboardUrl(workshopId: string): string {
	return `${INSTRUCTOR_PAGE}?workshop=${encodeURIComponent(workshopId)}`;
}

/** What a new workshop may ask for (`POST /api/workshops`; the instructor page's form too). */
export const WORKSHOP_LIMITS = {
	/** Characters of a title. */
	title: 80,
	/** Labs booted ahead. */
	pool: { min: 1, max: 50 },
	/** Learners who may join; at least `pool`. */
	seats: { min: 1, max: 200 },
} as const;

/** `POST /api/workshops` → 201. */
export interface CreatedWorkshop {
	id: string;
	/** 6 characters, shown as `ABC-DEF`. */
	code: string;
	title: string;
	/** Shown this once; the server keeps only its SHA-256. */
	instructorToken: string;
	/** `/instructor/#<id>.<token>`: the token stays in the fragment. */
	instructorUrl: string;
}

/** `GET /api/workshops`: an open workshop in the instructor's list. */
export interface WorkshopSummary {
	id: string;
	code: string;
	title: string;
	seats: number;
	/** Learners who have joined. */
	learners: number;
	/** ISO time */
	createdAt: string;
	/** ISO time: the latest expiry of the workshop's labs. */
	expiresAt: string;
	/** `dashboardUrl(id)` */
	dashboardUrl: string;
}

/** `POST /api/instructor/session` (signed in) and `GET` (whether signed in). */
export interface InstructorSession {
	signedIn: boolean;
	/** ISO time the sign-in ends; null when not signed in. */
	expiresAt: string | null;
}

export interface LearnerView {
	name: string;
	labId: string;
	/** ISO time */
	joinedAt: string;
	/** ISO time of the last terminal input; null before any. */
	lastActivity: string | null;
	/** The step of the highest passed check, null before the first. */
	step: { order: number; title: string } | null;
	/** The step page the learner has open (their page says so), null before it has. */
	viewing: { slug: string; order: number; title: string } | null;
	/** The first failing check in course order. */
	failing: { id: string; message: string } | null;
	vipHolder: LabNode | null;
	/** Empty once the learner's lab has ended (expired, deleted). */
	nodes: { name: LabNode; keepalived: KeepalivedState; state: NodeState }[];
	/** ISO time; null once the lab has ended. */
	expiresAt: string | null;
	/** The learner's raised hand («Позвать преподавателя»), null while it is down. */
	hand: RaisedHand | null;
	/** The latest state of the instructor's takeover; only `asked` and `allowed` are live. */
	takeover: TakeoverState | null;
	/** In a cluster, the Swarm node id of the engine the lab runs on (absent on one machine). */
	agent?: string;
}

/** `GET /api/workshops/:id`. */
export interface WorkshopView {
	id: string;
	code: string;
	title: string;
	seats: number;
	pool: { ready: number; starting: number };
	/** ISO time: the latest expiry of the workshop's labs. */
	expiresAt: string;
	learners: LearnerView[];
}

/** `GET /api/workshops/:id/events`: the dashboard's live stream (server-sent events). */
export function workshopEventsPath(workshopId: string): string {
	return `/api/workshops/${encodeURIComponent(workshopId)}/events`;
}

/** A workshop's own fields, and who is in it: `labIds` in join order (rows come as `learner`). */
export type WorkshopHead = Omit<WorkshopView, 'learners'> & { labIds: string[] };

/**
 * Event name → its data on `GET /api/workshops/:id/events` (JSON). First `workshop` (the whole
 * view), then only what changed: a `learner` row (new or changed; keyed by `labId`), the
 * `head` (pool, seats, expiry, who is in); `ended` once the workshop ends, then the stream closes.
 * In one update, rows come before the head that lists them.
 */
export interface WorkshopEvents {
	workshop: [WorkshopView];
	learner: [LearnerView];
	head: [WorkshopHead];
	ended: [{ at: string }];
}
export type WorkshopEventName = keyof WorkshopEvents;

const WORKSHOP_EVENTS = {
	workshop: true,
	learner: true,
	head: true,
	ended: true,
} as const satisfies Record<WorkshopEventName, true>;

/** Every event name of a workshop's stream. */
export const WORKSHOP_EVENT_NAMES = Object.keys(WORKSHOP_EVENTS) as WorkshopEventName[];
