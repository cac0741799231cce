"""Graph construction: geometric layer-pair cuts and a learned metric embedding with kNN."""
