/** The JSON body of every error answer of the API. */
export interface ErrorBody {
	error: {
		/** Stable kebab-case English id for programs, e.g. `lab-not-found`. */
		code: string;
		/** Russian, for the learner. */
		message: string;
		/** `no-capacity`: the browser's place in the waiting line, from 1. */
		position?: number;
	};
}
