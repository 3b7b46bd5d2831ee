/** A part of the ingest bundle on its own, for figure 5: the source adapters with their zod schemas. */
import { BUILT_IN_SOURCES } from "../../lib/sources/index";

export const parts = [BUILT_IN_SOURCES];
