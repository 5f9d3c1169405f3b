"""The benchmark still runs the current bundle (it measures nothing here: speed lives in `make bench`)."""
from __future__ import annotations

import sys

from bench import lifecycle


def test_the_benchmark_walks_the_main_path_persisted_and_in_memory(settings, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench", "--n", "1", "--rounds", "1", "--database-url", settings.database_url])
    lifecycle.main()
    out = capsys.readouterr().out
    assert "persisted" in out and "in memory" in out and "ratio" in out
