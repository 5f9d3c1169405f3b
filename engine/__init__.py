"""eventflow's engine: the BPMN process runtime (`runtime/`) and the standard's domain around it.

    web/ ─▶ engine.wiring (builds the parts once)
              │
              ▼
    domain:  pool/ · channels/ · limits/ · oversight/ · accounts/ · notices/ · exports/ · casework/
              │              (each operation: a function of a Command, engine/core/command.py)
              ▼
    runtime/  (SpiffWorkflow: versions, instances, work items, timers; asks the domain only via hooks)
              │
              ▼
    store/ (tables, unit of work) ─▶ core/ (errors, clocks, settings, contracts)

Nothing here imports Flask (STYLE.md); engine calls handlers/ and reads catalogs/. The arrows are
import-linter contracts in pyproject.toml, checked by `make lint`.
"""
