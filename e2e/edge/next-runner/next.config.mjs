/** Nothing of its own: the middleware runs on Next's defaults. */
export default {};
