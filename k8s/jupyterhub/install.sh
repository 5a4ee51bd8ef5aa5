#!/usr/bin/env bash
# Install or upgrade the Gray-Scott Lab hub with the Zero-to-JupyterHub Helm chart:
#   k8s/jupyterhub/install.sh                 helm upgrade --install on the current context
#   GSLAB_DRY_RUN=1 k8s/jupyterhub/install.sh print the helm commands, run nothing
# The first run writes secrets.yaml next to values.yaml (mode 600, never committed): the
# participants' shared password and the admins' one, both random. Later runs reuse it.
# Settings: RELEASE (gslab), NAMESPACE (gslab), SECRETS (the secrets file).
set -euo pipefail

# The chart these values are written for and what its hub image runs; the images'
# jupyterhub-singleuser must be of the same JupyterHub minor series (tests check it).
CHART_VERSION=4.4.0
CHART_JUPYTERHUB=5.5.0
CHART_KUBESPAWNER=7.1.0
CHART_REPO=https://hub.jupyter.org/helm-chart/

here=$(cd "$(dirname "$0")" && pwd)
release=${RELEASE:-gslab}
namespace=${NAMESPACE:-gslab}
secrets=${SECRETS:-$here/secrets.yaml}

random_password() {
    # $1 random bytes from the kernel, as hex digits
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

if [ ! -e "$secrets" ]; then
    (
        umask 077
        cat >"$secrets" <<EOF
# Made by install.sh; keep it out of version control. Give user_password to the
# participants; admin_password logs in the names under admin_users.
hub:
  config:
    SharedPasswordAuthenticator:
      user_password: "$(random_password 8)"
      admin_password: "$(random_password 24)"
      admin_users: [admin]
EOF
    )
    echo "wrote $secrets (the passwords are in it)"
fi

run() {
    if [ -n "${GSLAB_DRY_RUN:-}" ]; then
        printf '%q ' "$@"
        echo
    else
        "$@"
    fi
}

echo "chart jupyterhub $CHART_VERSION: JupyterHub $CHART_JUPYTERHUB, KubeSpawner $CHART_KUBESPAWNER"
run helm repo add jupyterhub "$CHART_REPO" --force-update
run helm upgrade --install "$release" jupyterhub/jupyterhub --version "$CHART_VERSION" \
    --namespace "$namespace" --create-namespace \
    --values "$here/values.yaml" --values "$secrets"
