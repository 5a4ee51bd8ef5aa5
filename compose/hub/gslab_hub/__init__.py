"""The one-machine hub's own code, one concern per module (``jupyterhub_config.py`` wires them):

- ``settings``: every GSLAB_HUB_* setting read, checked and defaulted; the spawn form's
  profiles; what a student's network must be (pure: no Docker, unit-tested)
- ``roles``: the teachers' role and its scopes (pure; the Kubernetes hub's are kept equal)
- ``auth``: the shared-password login that never makes a teacher a JupyterHub admin
- ``logs``: no secrets in the hub's and the labs' logs (pure)
- ``tls``: the certificate the hub serves (pure but for ``cryptography``)
- ``helpers``: the short-lived root containers of the hub's image (disks, firewall)
- ``disks``: each student's /work a file system of its own size
- ``network``: each student's lab on a network of its own, and the host's egress rules
- ``spawner``: GslabSpawner, the DockerSpawner that starts the lab images
- ``swarm``: GslabSwarmSpawner, the same labs as services of a Docker Swarm

Nothing is imported here, so that the pure modules load without Docker or JupyterHub.
"""
