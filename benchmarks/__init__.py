"""granja's benchmarks: run `./dev bench` (or `python -m benchmarks`); each prints its figures."""
