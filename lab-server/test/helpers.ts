/** The runner-free helpers of `lab-server/testing/`, bound to this test run's node image. */
import type Docker from 'dockerode';
import { inject } from 'vitest';
import { LAB_NODES } from '../src/api';
import { guideConfig } from '../src/course/guide-config';
import { execInNode } from '../src/docker/engine';
import type { Lab } from '../src/labs/lab';
import * as testLabs from '../testing/test-labs';

export { removeServerLabs, sh, stripAnsi, waitFor } from '../testing/test-labs';

export function planTestLab(docker: Docker, taken?: ReadonlySet<number>) {
	return testLabs.planTestLab(docker, inject('nodeImage'), taken);
}

export function provisionTestLab(docker: Docker) {
	return testLabs.provisionTestLab(docker, inject('nodeImage'));
}

/**
 * The guide's steps up to «start the service» on both nodes of a lab: keepalived installed from
 * the nodes' own package source and the guide's keepalived.conf written (not started).
 */
export async function installGuideKeepalived(
	docker: Docker,
	lab: Pick<Lab, 'containers' | 'addresses'>,
): Promise<void> {
	await Promise.all(
		LAB_NODES.map(async (node) => {
			const id = lab.containers[node];
			const install = await testLabs.sh(
				docker,
				id,
				'apt-get update -qq && apt-get install -y -qq keepalived',
				{ timeoutMs: 180_000 },
			);
			if (install.exitCode !== 0) {
				throw new Error(`installing keepalived on ${node} failed: ${install.stderr}`);
			}
			await execInNode(docker, id, ['tee', '/etc/keepalived/keepalived.conf'], {
				stdin: guideConfig(lab.addresses.vip),
			});
		}),
	);
}
