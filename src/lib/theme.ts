/** localStorage key of the learner's explicit theme choice ('light' | 'dark'); absent = follow the system. */
export const THEME_KEY = 'keepalived-lab:theme';
