"""Audio in arrays and bytes: effects, resampling, encoding. Knows nothing of engines."""
