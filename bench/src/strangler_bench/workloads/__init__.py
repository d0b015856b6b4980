"""One module per workload of the benchmark; each returns a report section."""
