/** The runner-free helpers of `lab-server/testing/`, bound to this test run's node image. */
import type Docker from 'dockerode';
import { inject } from 'vitest';
import * as testLabs from '../testing/test-labs';

export { removeServerLabs, sh, stripAnsi, waitFor } from '../testing/test-labs';

export function planTestLab(docker: Docker, taken?: ReadonlySet<number>) {
	return testLabs.planTestLab(docker, inject('nodeImage'), taken);
}

export function provisionTestLab(docker: Docker) {
	return testLabs.provisionTestLab(docker, inject('nodeImage'));
}
