"""Run granja as `python -m granja`."""

from granja.cli import main

raise SystemExit(main())
