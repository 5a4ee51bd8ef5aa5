"""``python -m gslab_hub.progress``: the hub's managed service ``progress`` (jupyterhub_config.py).

The hub gives it its token, URLs and OAuth client in the environment; its data is
``$GSLAB_HUB_DATA/progress.sqlite`` (the hub's volume). It listens on every address of the
hub's container at PORT: the proxy routes /services/progress/ to it, and the labs post to it
on their network (``hub:PORT``), never through the public port.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tornado import ioloop

from . import PORT
from .app import Hub, make_app
from .store import Store


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="[progress %(asctime)s] %(message)s")
    data = Path(os.environ.get("GSLAB_HUB_DATA", "/srv/jupyterhub/data"))
    store = Store(data / "progress.sqlite")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/progress/")
    make_app(store, Hub(), prefix).listen(PORT, address="0.0.0.0")  # the labs post here
    logging.info("progress service at port %d, results in %s", PORT, data / "progress.sqlite")
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
