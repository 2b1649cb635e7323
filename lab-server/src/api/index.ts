/**
 * The contract between the lab server and the site: the terminal protocol and every type the API
 * answers with. The site, the tests and the benchmarks import these and nothing else of the
 * server's (an ESLint rule keeps `src/` to this folder). Browser-safe: no Node imports here.
 */
export * from './checks';
export * from './cluster';
export * from './drills';
export * from './errors';
export * from './events';
export * from './help';
export * from './lab';
export * from './protocol';
export * from './recordings';
export * from './workshops';
