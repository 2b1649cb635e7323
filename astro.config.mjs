// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';

// In `npm run dev` the lab server runs beside Astro's dev server; API calls and terminal
// WebSockets are proxied to it so the page talks to one origin, as it does in production.
const labServer = `http://127.0.0.1:${process.env.LAB_SERVER_PORT ?? '4322'}`;

export default defineConfig({
	site: 'http://localhost:4321',
	output: 'static',
	trailingSlash: 'ignore',
	integrations: [mdx()],
	server: { port: 4321 },
	vite: {
		server: {
			proxy: {
				'/api': { target: labServer, ws: true, changeOrigin: false },
			},
		},
	},
});
