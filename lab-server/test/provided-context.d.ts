/** What global-setup.ts provides to the Docker and browser tests (`inject(…)`). */
import 'vitest';

declare module 'vitest' {
	export interface ProvidedContext {
		nodeImage: string;
		dockerSocket: string;
	}
}
