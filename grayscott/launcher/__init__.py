"""``gslab``, the lab launcher: the runtimes (one module each, listed in ``registry``) behind
one interface (``runtime.Runtime``), and the command line on top (``cli``, ``commands``). The
image tests drive the engines through these same modules."""
