/**
 * localStorage/sessionStorage that never throws: storage can be disabled (cookies off, some
 * private modes), and then what the page would keep lives for this page only.
 */

export function readStorage(storage: Storage, key: string): string | null {
	try {
		return storage.getItem(key);
	} catch {
		return null;
	}
}

export function writeStorage(storage: Storage, key: string, value: string): void {
	try {
		storage.setItem(key, value);
	} catch {
		// See the module comment.
	}
}

export function removeStorage(storage: Storage, key: string): void {
	try {
		storage.removeItem(key);
	} catch {
		// See the module comment.
	}
}

/** The keys of `storage` that start with `prefix` (none when storage is disabled). */
export function storageKeys(storage: Storage, prefix: string): string[] {
	try {
		return Object.keys(storage).filter((key) => key.startsWith(prefix));
	} catch {
		return [];
	}
}
