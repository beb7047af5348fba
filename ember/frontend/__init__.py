"""What users touch: Tensor, eager ops, autograd, tracing, compile."""
