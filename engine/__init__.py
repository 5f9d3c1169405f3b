"""eventflow's runtime: deploy process versions, start/load/store instances, run steps, timers, audit.

Nothing here imports Flask (STYLE.md): web/ calls in, engine calls handlers/ and catalogs/.
"""
