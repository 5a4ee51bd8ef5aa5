"""The lab on Kubernetes: ``gslab k8s render | apply | delete`` (kubectl does the rest)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from grayscott import variants
from grayscott.errors import GrayScottError, UsageError
from grayscott.launcher.app import app, console, run_checked, show
from grayscott.launcher.commands.site_registry import PasswordOption, read_password

k8s = typer.Typer(help="The lab on Kubernetes: a single-user Pod + Service + PVC, or a Job.",
                  no_args_is_help=True)
app.add_typer(k8s, name="k8s")


def _manifests(variant_name: str, name: str | None, args: list[str] | None, egress: str,
               ingress_namespaces: list[str] | None, registry: str | None = None,
               pull_secret: str = "gslab-registry") -> str:
    from grayscott.launcher.render import kubernetes

    return kubernetes.to_yaml(kubernetes.render(
        variants.get(variant_name), name, args=args, egress=egress,
        ingress_namespaces=tuple(ingress_namespaces or ()), registry=registry,
        pull_secret=pull_secret))


EgressOption = Annotated[str, typer.Option(
    help="What the pod may reach besides DNS: none (default) or internet; never the cloud "
         "metadata service or private ranges.")]
IngressOption = Annotated[list[str] | None, typer.Option(
    "--ingress-namespace", help="A namespace whose pods may also open the server's port "
                                "(your ingress controller's); repeatable.")]
RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="HOST:PORT/PROJECT: the image from a site registry (gslab registry up), "
                       "pulled with --pull-secret's credentials.")]
PullSecretOption = Annotated[str, typer.Option(
    help="The Secret with the registry's credentials (gslab k8s pull-secret).")]


@k8s.command("render")
def k8s_render(
    variant_name: Annotated[str, typer.Argument(metavar="VARIANT", help="e.g. gpu-jupyter.")],
    args: Annotated[list[str] | None, typer.Argument(help="For light: the grayscott command "
                                                      "line of the Job (after --).")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the objects.")] = None,
    egress: EgressOption = "none",
    ingress_namespaces: IngressOption = None,
    registry: RegistryOption = None,
    pull_secret: PullSecretOption = "gslab-registry",
) -> None:
    """Print the manifests as YAML (kubectl apply -f - takes them)."""
    sys.stdout.write(_manifests(variant_name, name, args, egress, ingress_namespaces, registry,
                                pull_secret))


@k8s.command("hub-values")
def k8s_hub_values(
    registry: Annotated[str, typer.Option("--registry", help=(
        "HOST:PORT/PROJECT: the site registry the hub's labs come from (gslab push)."))],
    pull_secret: PullSecretOption = "gslab-registry",
    values: Annotated[Path, typer.Option(help="The hub's values file.")] = Path(
        "k8s/jupyterhub/values.yaml"),
) -> None:
    """Print Zero-to-JupyterHub values naming the labs' images in a registry, with its pull
    Secret (k8s/jupyterhub/install.sh takes them as EXTRA_VALUES=FILE)."""
    from grayscott.launcher.render import kubernetes

    try:
        import yaml
    except ImportError:
        raise UsageError("gslab k8s hub-values reads YAML: pip install pyyaml") from None
    if not values.is_file():
        raise UsageError(f"{values} does not exist: pass --values k8s/jupyterhub/values.yaml")
    try:
        base = yaml.safe_load(values.read_text())
    except yaml.YAMLError as error:
        raise UsageError(f"{values} is not YAML: {str(error).splitlines()[0]}") from None
    overlay = kubernetes.hub_values(base if isinstance(base, dict) else {}, registry,
                                    pull_secret)
    sys.stdout.write(f"# gslab k8s hub-values --registry {registry} --pull-secret "
                     f"{pull_secret}: after {values.name}\n" + yaml.safe_dump(
                         overlay, sort_keys=False, default_flow_style=False))


@k8s.command("pull-secret")
def k8s_pull_secret(
    server: Annotated[str, typer.Option("--registry", help="HOST:PORT of the registry.")],
    username: Annotated[str, typer.Option(help="A pull-only account is enough.")],
    password_file: PasswordOption = None,
    name: Annotated[str, typer.Option(help="The Secret's name.")] = "gslab-registry",
) -> None:
    """Print the Secret kubelet pulls with (kubectl apply -f -); the password never in argv."""
    from grayscott.launcher.render import kubernetes

    host = server.split("/")[0]
    sys.stdout.write(kubernetes.to_yaml([kubernetes.pull_secret_manifest(
        name, host, username, read_password(password_file, username))]))


@k8s.command("apply")
def k8s_apply(
    variant_name: Annotated[str, typer.Argument(metavar="VARIANT")],
    args: Annotated[list[str] | None, typer.Argument()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the kubectl command and the YAML.")] = False,
    egress: EgressOption = "none",
    ingress_namespaces: IngressOption = None,
) -> None:
    """Create the lab (or Job) on the current kubectl context."""
    text = _manifests(variant_name, name, args, egress, ingress_namespaces)
    if dry_run:
        console.print("kubectl apply -f -", markup=False)
        sys.stdout.write(text)
        return
    if shutil.which("kubectl") is None:
        raise UsageError("kubectl is not installed; gslab k8s render prints the manifests")
    if subprocess.run(["kubectl", "apply", "-f", "-"], input=text, text=True,
                      check=False).returncode != 0:
        raise GrayScottError("kubectl apply failed")


@k8s.command("delete")
def k8s_delete(
    name: Annotated[str, typer.Argument(help="The name given to apply (gslab-VARIANT).")],
    dry_run: Annotated[bool, typer.Option()] = False,
) -> None:
    """Delete everything gslab created under that name (its work volume too)."""
    command = ["kubectl", "delete", "networkpolicy,pod,service,job,secret,pvc", "-l",
               f"app.kubernetes.io/instance={name}"]
    if dry_run:
        show(command)
        return
    if shutil.which("kubectl") is None:
        raise UsageError("kubectl is not installed")
    run_checked(command, "kubectl delete")

