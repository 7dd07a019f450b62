"""Policy packs: data, not code. ``backend-architect.toml`` is the default pack."""
