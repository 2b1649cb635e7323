// Runs before `npm start` and `npm test` so that each is one command on a fresh clone: installs
// the locked dependencies when node_modules is missing or older than package-lock.json.
// Plain JavaScript on purpose: it runs before any dependency exists.
import { execSync } from 'node:child_process';
import { statSync } from 'node:fs';

const mtime = (file) => {
	try {
		return statSync(file).mtimeMs;
	} catch {
		return 0;
	}
};

if (mtime('node_modules/.package-lock.json') < mtime('package-lock.json')) {
	console.log('[deps] installing the locked dependencies (npm ci)…');
	execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
