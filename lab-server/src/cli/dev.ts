/**
 * `npm run dev`: Astro's dev server on 4321 (hot reload) in front of the lab server on 4322
 * (restarted by tsx when its code changes); astro.config.mjs proxies `/api` and the terminal
 * WebSockets to it, so the page sees one origin as in production.
 */
import { spawn } from 'node:child_process';

const labPort = process.env.LAB_SERVER_PORT ?? '4322';
const children = [
	spawn('npx', ['tsx', 'watch', 'lab-server/src/cli/start.ts'], {
		stdio: 'inherit',
		env: { ...process.env, PORT: labPort, LAB_SITE: 'none', LAB_SERVER_PORT: labPort },
	}),
	spawn('npx', ['astro', 'dev', '--port', process.env.PORT ?? '4321'], {
		stdio: 'inherit',
		env: { ...process.env, LAB_SERVER_PORT: labPort },
	}),
];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		for (const child of children) child.kill(signal);
	});
}
for (const child of children) {
	child.on('exit', (code) => {
		for (const other of children) if (other !== child) other.kill('SIGTERM');
		process.exitCode = code ?? 1;
	});
}
