import adapter from "@sveltejs/adapter-node";

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    // A Node server (`node build`): prolong's routes need Node, not an edge runtime.
    adapter: adapter(),
  },
};
