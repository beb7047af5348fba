"""Code generation: a planned graph becomes source code (NumPy on the CPU; Triton elsewhere)."""
