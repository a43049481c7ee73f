"""Networks from rules: populations, connectivity and stimulation rules kept as NeuroML
annotations, and their fast, seeded expansion into explicit cells and connections."""
