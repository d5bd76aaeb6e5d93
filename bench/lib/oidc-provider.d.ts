// The two modules of oidc-provider (its types cover the package's entry only) that
// bench/peers/oidc-provider-server.mjs uses to size its memory adapter's LRU.
declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { Adapter } from "oidc-provider";
  /** oidc-provider's in-memory adapter: one model's entries in `store`. */
  export default class MemoryAdapter implements Adapter {
    constructor(model: string, store: unknown, clockTolerance?: number);
    upsert: Adapter["upsert"];
    find: Adapter["find"];
    findByUserCode: Adapter["findByUserCode"];
    findByUid: Adapter["findByUid"];
    consume: Adapter["consume"];
    destroy: Adapter["destroy"];
    revokeByGrantId: Adapter["revokeByGrantId"];
  }
}

declare module "oidc-provider/lib/helpers/lru.js" {
  /** The LRU map its memory adapter stores everything in. */
  export default class LRU {
    constructor(options: { maxSize: number });
  }
}
