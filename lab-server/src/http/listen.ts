/** Starts an `http.Server` listening; resolves with the port it got (0 picks one), rejects on a bind error. */
import type { Server } from 'node:http';

export function listen(http: Server, port: number, host: string): Promise<number> {
	return new Promise<number>((resolve, reject) => {
		http.once('error', reject);
		http.listen(port, host, () => {
			http.off('error', reject);
			resolve((http.address() as { port: number }).port);
		});
	});
}
