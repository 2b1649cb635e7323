/**
 * The lab's addresses as the course's text prints them before a lab is known: the first lab's,
 * which are the guide's own (lab-server/src/labs/subnets.ts gives lab 0 exactly these; a unit
 * test, lab-server/src/course/course-text.test.ts, keeps the two equal). `<Addr of="…" />`
 * renders them, and lab-state.ts rewrites them to the learner's lab.
 */
export const GUIDE_ADDRESSES = {
	hap1: '10.129.0.11',
	hap2: '10.129.0.12',
	vip: '10.129.0.10',
	subnet: '10.129.0.0/24',
	/** The «vrid-conflict» drill's neighbour, step 11's example… */
	intruder: '10.129.0.50',
	/** …and its own VIP. */
	intruderVip: '10.129.0.99',
} as const;

export type AddrName = keyof typeof GUIDE_ADDRESSES;
