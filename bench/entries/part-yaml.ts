/** A part of the ingest bundle on its own, for figure 5: the YAML parser of the routing file. */
import { parse } from "yaml";

export const parts = [parse];
