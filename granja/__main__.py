"""Run granja as `python -m granja`."""

from granja.cli import run

raise SystemExit(run())
