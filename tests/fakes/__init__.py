"""In-process fakes of the outside services chatshop talks to, for tests and benchmarks."""
