"""What every part of the engine shares: the error vocabulary (`errors`), the clocks (`clock`), the
settings (`config`), record ids (`ids`), the names reports and audits agree on (`contracts`) and the
command context each operation runs with (`command`). Imports nothing else of the engine."""
