/** Injection tokens of the demo. */
export const DEMO_CONFIG = Symbol.for("@lagrello/demo/config")
