import { parse } from "yaml";
import { registerYamlParser } from "./document";

// Importing this module lets the routing and schedule loaders read YAML (see registerYamlParser).
// The entry points that read files a user edits import it: the CLI, npm start, packaging
// (infra/stack.cjs) and the test setup. The deployed functions import it only on demand, for
// routing rules fetched from SSM whose text is not JSON.
//
// Duplicate keys are errors, because the later value would silently win. The alias limit stops
// a small file from expanding into a huge document.
registerYamlParser((text) => parse(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 }) as unknown);
