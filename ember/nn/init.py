"""ember.nn.init (filled in next)."""
