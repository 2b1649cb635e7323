/**
 * Who may open `WS /api/labs/:id/terminals/:node?term=NAME[&view=1]`, decided before
 * `handleUpgrade` (ws's README recipe): unknown path 404, foreign Origin 403, no token 401,
 * another lab's token 403, unknown lab 404 — refused as plain HTTP with a JSON body, so no
 * WebSocket ever exists for a request that should not have one.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { LAB_NODES, isLabNode, type LabNode } from '../api';
import { labToken, originAllowed } from '../http/auth';
import { HttpError, errorResponse } from '../http/errors';
import type { Lab } from '../labs/lab';
import type { LabManager } from '../labs/manager';
import { ID_PATTERN } from '../lib/ids';

const PATH = new RegExp(`^/api/labs/(${ID_PATTERN})/terminals/([a-z0-9]+)$`);
/** A terminal's name, as the learner's page and a recording's file name use it. */
export const TERM_NAME = /^[a-z0-9-]{1,32}$/;

export interface TerminalTarget {
	lab: Lab;
	node: LabNode;
	term: string;
	/** A read-only viewer (the instructor), not the learner. */
	view: boolean;
}

export interface UpgradeDeps {
	labs: LabManager;
	allowedOrigins: readonly string[];
	/**
	 * The lab, if the request carries the instructor credentials of its workshop (workshops/);
	 * throws an HttpError (401, 403, 404) otherwise. Without it `view=1` is refused.
	 */
	authorizeViewer?: (req: IncomingMessage, labId: string) => Lab;
}

/** The terminal the upgrade asks for, if it may have it; throws an HttpError otherwise. */
export function authorizeUpgrade(req: IncomingMessage, deps: UpgradeDeps): TerminalTarget {
	const url = new URL(req.url ?? '/', 'http://localhost');
	const match = PATH.exec(url.pathname);
	const node = match?.[2];
	if (!match || !isLabNode(node)) {
		throw new HttpError(
			404,
			'not-found',
			`Такого терминала нет: узлы стенда — ${LAB_NODES.join(' и ')}.`,
		);
	}
	const term = url.searchParams.get('term') ?? 'main';
	if (!TERM_NAME.test(term)) {
		throw new HttpError(
			400,
			'bad-request',
			'Имя терминала: латинские буквы, цифры и дефис, до 32 символов.',
		);
	}
	if (!originAllowed(req, deps.allowedOrigins)) {
		throw new HttpError(
			403,
			'origin-not-allowed',
			'Терминал можно открыть только со страницы курса.',
		);
	}
	const labId = match[1]!;
	if (url.searchParams.get('view') === '1') {
		if (!deps.authorizeViewer) {
			throw new HttpError(403, 'forbidden', 'Просмотр терминалов доступен только на занятии.');
		}
		return { lab: deps.authorizeViewer(req, labId), node, term, view: true };
	}
	return { lab: deps.labs.authorize(labId, labToken(req, labId)), node, term, view: false };
}

/** Answers a refused upgrade as plain HTTP with the error's JSON body, and closes the socket. */
export function refuseUpgrade(socket: Duplex, error: unknown): void {
	const { status, body, headers } = errorResponse(error);
	const json = JSON.stringify(body);
	socket.end(
		`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
			'Content-Type: application/json; charset=utf-8\r\n' +
			Object.entries(headers)
				.map(([name, value]) => `${name}: ${value}\r\n`)
				.join('') +
			`Content-Length: ${Buffer.byteLength(json)}\r\n` +
			'Connection: close\r\n\r\n' +
			json,
	);
}
