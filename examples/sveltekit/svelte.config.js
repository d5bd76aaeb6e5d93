import adapter from "@sveltejs/adapter-node";

// Where `vite build` writes (default `.svelte-kit` and `build`): a test gives its own, so
// two builds at once do not write over each other.
const out = process.env.PROLONG_SVELTEKIT_OUT;

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    // A Node server (`node build`): prolong's routes need Node, not an edge runtime.
    adapter: adapter(out ? { out: `${out}/build` } : {}),
    ...(out ? { outDir: `${out}/kit` } : {}),
  },
};
