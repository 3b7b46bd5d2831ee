/**
 * The two undici modules the SecMaster transport uses, imported on their own. The package root
 * also loads fetch, WebSocket, the cache stores and the mock agents; leaving them out halves the
 * dispatch bundle's import time. The root adds `request` to every dispatcher from the second
 * module, which the transport calls on its pool instead.
 */
declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";

  const PoolClass: typeof Pool;
  export default PoolClass;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  /** `Dispatcher.request`, called with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
