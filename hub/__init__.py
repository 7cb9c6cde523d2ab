"""The hub core: conversation store, routing, realtime delivery."""
