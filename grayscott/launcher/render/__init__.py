"""What gslab writes for another system to run, rather than runs itself: Kubernetes
manifests (``kubernetes.py``, behind ``gslab k8s``). The runtimes (``launcher/*.py``, listed
in ``launcher/registry.py``) start containers here; these only print."""
