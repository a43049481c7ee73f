"""LEMS: expressions, ComponentType flattening and the LEMS -> NMODL translator."""
