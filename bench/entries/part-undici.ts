/** A part of the dispatch bundle on its own, for figure 5: the undici Pool our SecMaster client sends with. */
import { Pool } from "undici";

export const parts = [Pool];
