"""File helpers under everything else: crash-safe writes, the cache folder, valid JSON, verified
downloads and progress lines."""
