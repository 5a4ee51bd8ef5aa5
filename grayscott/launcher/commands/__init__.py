"""gslab's commands, one module per group; each registers itself on ``launcher.app.app``."""
