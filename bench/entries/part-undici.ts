/** A part of the dispatch bundle on its own, for figure 5: the undici Pool module our SecMaster client sends with. */
import Pool from "undici/lib/dispatcher/pool.js";

export const parts = [Pool];
