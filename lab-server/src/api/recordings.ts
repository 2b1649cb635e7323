/**
 * Terminal recordings (`GET /api/labs/:id/recordings`): one asciicast v2 file per terminal of
 * the lab, output only — what the terminal showed, never what was typed.
 */
import type { LabNode } from './lab';

/** The media type of a recording (`GET /api/labs/:id/recordings/:node/:term.cast`). */
export const CAST_MEDIA_TYPE = 'application/x-asciicast';

export interface RecordingInfo {
	node: LabNode;
	/** The terminal's name (`main` for the course page's own). */
	term: string;
	/** The file's size now. */
	bytes: number;
	/** ISO time of the recording's start (its header's `timestamp`). */
	startedAt: string;
}

/** Where a recording is downloaded from (the site's links and the dashboard's player). */
export function recordingUrl(labId: string, node: LabNode, term: string): string {
	return `/api/labs/${encodeURIComponent(labId)}/recordings/${node}/${encodeURIComponent(term)}.cast`;
}
