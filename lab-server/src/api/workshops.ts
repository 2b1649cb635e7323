/** Workshops as the API shows them to instructors. */
import type { KeepalivedState, LabNode, NodeState } from './lab';

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

export interface LearnerView {
	name: string;
	labId: string;
	/** ISO time */
	joinedAt: string;
	/** ISO time of the last terminal input; null before any. */
	lastActivity: string | null;
	/** The step of the highest passed check, null before the first. */
	step: { order: number; title: string } | null;
	/** The first failing check in course order. */
	failing: { id: string; message: string } | null;
	vipHolder: LabNode | null;
	/** Empty once the learner's lab has ended (expired, deleted). */
	nodes: { name: LabNode; keepalived: KeepalivedState; state: NodeState }[];
	/** ISO time; null once the lab has ended. */
	expiresAt: string | null;
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
