"""eHub benchmarks (`make bench`). Each module here defines ``run() -> list[Result]``."""
