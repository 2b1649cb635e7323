/**
 * Element ids for server-rendered components (a Note's label, …). They only need to be unique
 * within one page; a counter rather than random ids keeps the build reproducible.
 */
let counter = 0;

export function nextId(): number {
	counter += 1;
	return counter;
}
