"""A class at the hub, seen from the students' side: the hub and kernel client a browser's
requests make (``client``), and the class simulator that drives it and writes the benchmark
reports (``python -m grayscott.classroom``, ``make hub-class``; ``simulator``, ``host``,
``report``).

Kept in a subpackage of its own because it needs the ``deploy`` extra (requests, tornado):
nothing else in ``grayscott`` imports it, so ``import grayscott`` and the ``gslab`` launcher
stay as light as the core dependencies (tests/test_classroom.py checks it). The deployment
tests (tests/deploy) drive their hubs through the same client.
"""
