import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileCommand } from './code-text';

describe('writeFileCommand', () => {
	it('is one line that writes the file exactly, nothing in it expanded', () => {
		const content = [
			'vrrp_script chk_haproxy {',
			'    script "killall -0 haproxy"   # $HOME `id` $(id) \\n %s',
			"    it's",
			'',
			'\ttab\there',
			'EOF',
			'}',
		].join('\n');
		const dir = mkdtempSync(path.join(tmpdir(), 'klab-write-'));
		try {
			const file = path.join(dir, 'keepalived.conf');
			const command = writeFileCommand(file, content).replace('sudo tee', 'tee');
			expect(command).not.toContain('\n');
			execFileSync('bash', ['-c', command]);
			expect(readFileSync(file, 'utf8')).toBe(`${content}\n`);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
