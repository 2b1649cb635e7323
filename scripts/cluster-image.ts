/**
 * The lab server's cluster image, `keepalived-lab/server:<tag>` (deploy/Dockerfile): the server
 * bundled with esbuild into `lab-server/src/cli/start.mjs` (three folders deep, like the sources,
 * so every `import.meta.url`-relative path still finds `docker/` and `content/`), this machine's
 * node binary (a glibc build that the Debian base runs), and the built site. The tag hashes the
 * bundle, so an unchanged server is not rebuilt. Nothing is pulled.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SERVER_IMAGE_REPO = 'keepalived-lab/server';

/** Builds the image unless its tag is present; returns the tag. */
export async function ensureServerImage(root: string): Promise<string> {
	await stat(path.join(root, 'dist/index.html')).catch(() => {
		throw new Error('the site is not built ("dist/index.html"): run "npm run build" first');
	});
	const context = await mkdtemp(path.join(tmpdir(), 'klab-server-image-'));
	try {
		const app = path.join(context, 'app');
		const bundle = path.join(app, 'lab-server/src/cli/start.mjs');
		await run(
			path.join(root, 'node_modules/.bin/esbuild'),
			[
				path.join(root, 'lab-server/src/cli/start.ts'),
				'--bundle',
				'--platform=node',
				'--format=esm',
				'--target=node20',
				`--outfile=${bundle}`,
				// ssh2's optional native parts (dockerode never uses SSH here) stay out.
				'--external:cpu-features',
				'--external:*.node',
				// CommonJS dependencies inside an ES module still ask for these.
				"--banner:js=import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);",
				'--log-level=error',
			],
			{ cwd: root },
		);
		for (const dir of ['docker', 'content/steps', 'dist']) {
			await mkdir(path.dirname(path.join(app, dir)), { recursive: true });
			// Times kept: the server rebuilds the site only when a source is newer than dist/.
			await cp(path.join(root, dir), path.join(app, dir), {
				recursive: true,
				preserveTimestamps: true,
			});
		}
		await cp(process.execPath, path.join(context, 'node'));
		await cp(path.join(root, 'deploy/Dockerfile'), path.join(context, 'Dockerfile'));
		const hash = createHash('sha256');
		hash.update(await readFile(bundle));
		hash.update(await readFile(path.join(root, 'deploy/Dockerfile')));
		hash.update(process.version);
		const tag = `${SERVER_IMAGE_REPO}:${hash.digest('hex').slice(0, 12)}`;
		const present = await run('docker', ['image', 'inspect', tag]).then(
			() => true,
			() => false,
		);
		if (!present) {
			console.error(`[cluster] building ${tag}`);
			await run('docker', ['build', '-q', '-t', tag, context], { maxBuffer: 1 << 24 });
		}
		return tag;
	} finally {
		await rm(context, { recursive: true, force: true });
	}
}
