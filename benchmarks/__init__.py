"""Side-by-side benchmarks of hqnn against the tools people use today (see ``benchmarks/RESULTS.md``)."""
