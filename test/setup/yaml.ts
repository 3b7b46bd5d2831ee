// Runs in every test file (vitest setupFiles): registers the YAML parser, as the CLI and npm start
// do, so tests read YAML routing and schedules files. Tests of a process without the parser reset
// the module registry or run a bundle in a child process.
import "../../lib/routing/yaml";
