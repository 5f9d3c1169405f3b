"""The benchmarks still run the current bundle (they measure nothing here: speed lives in `make bench`)."""
from __future__ import annotations

import sys

from bench import lifecycle


def test_the_benchmark_walks_the_main_path_persisted_and_in_memory(settings, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench", "--n", "1", "--rounds", "1", "--database-url", settings.database_url])
    lifecycle.main()
    out = capsys.readouterr().out
    assert "persisted" in out and "in memory" in out and "ratio" in out


def test_the_sweep_benchmark_fires_every_due_timer_among_the_filler(settings, monkeypatch, capsys):
    from bench import sweep
    monkeypatch.setattr(sys, "argv", ["bench", "--sizes", "50,200", "--due", "3", "--rounds", "1",
                                      "--database-url", settings.database_url])
    sweep.main()   # asserts inside that each sweep fired exactly the due timers
    out = capsys.readouterr().out
    assert "200" in out and "empty sweep" in out
