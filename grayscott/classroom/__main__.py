"""``python -m grayscott.classroom``: the class simulator (``make hub-class``)."""

import sys

from grayscott.classroom.simulator import main

sys.exit(main())
