"""ember.nn.functional: the same names as torch.nn.functional, one file per family."""
# families of other engineers (conv, pooling, attention, sampling) add their import lines below
