/** Reading JSON request bodies (bounded) and writing JSON answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors';

/** Every body the API takes is a small JSON object; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

/** The request's JSON body (`{}` when empty): 413 over the cap, 400 when it is not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		size += chunk.byteLength;
		if (size > MAX_BODY_BYTES)
			throw new HttpError(413, 'body-too-large', 'Слишком большой запрос.');
		chunks.push(chunk);
	}
	const text = Buffer.concat(chunks).toString('utf8').trim();
	if (text === '') return {};
	try {
		return JSON.parse(text);
	} catch {
		throw new HttpError(400, 'bad-json', 'Тело запроса — не JSON.');
	}
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'Content-Type': 'application/json; charset=utf-8',
		'Content-Length': Buffer.byteLength(text),
		'Cache-Control': 'no-store',
	});
	res.end(text);
}

export function sendNoContent(res: ServerResponse): void {
	res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
}
