"""The process runtime: BPMN bundles checked (`bundle`, `lint`) and deployed as versions (`deploy`,
`versions`, the compiled `specs` cache), instances run by SpiffWorkflow and stored (`spiff`, `instances`),
work items and their forms (`forms`), diagram code run safely (`scripting`, `sandbox`), timers swept
with the domain's jobs beside them (`timers`, `sweep`), failed steps kept as incidents (`incidents`) and
instances moved between versions (`instance_migration`).

It knows nothing of the standard: what it needs from the domain comes through `hooks` (the run context
handlers act through, the §8 time limits timers carry, a new instance's data), wired in engine/wiring.py.
import-linter keeps it from importing the domain packages."""
