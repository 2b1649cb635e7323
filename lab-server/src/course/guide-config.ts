/**
 * The guide's keepalived.conf, as the course shows it (`content/steps/files/keepalived.conf`, the
 * single source), with the virtual IP of a given lab. The checks and «Выполнить шаг за меня» use
 * exactly what the learner reads.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const GUIDE_CONFIG = fileURLToPath(
	new URL('../../../content/steps/files/keepalived.conf', import.meta.url),
);
/** The VIP as printed in the guide; the first lab uses it unchanged. */
export const GUIDE_VIP = '10.129.0.10';

let text: string | undefined;

export function guideConfig(vip: string): string {
	text ??= readFileSync(GUIDE_CONFIG, 'utf8');
	return text.replaceAll(GUIDE_VIP, vip);
}
