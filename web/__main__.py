"""`python -m web …` is the `eventflow` command (how `eventflow serve` starts `eventflow worker`)."""
from web.cli import main

main(prog_name="eventflow")
