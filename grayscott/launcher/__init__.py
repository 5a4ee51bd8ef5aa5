"""``gslab``, the lab launcher: container runtimes behind one interface (issue #5 builds the
command line on top). The image tests drive the engines through these same modules."""
