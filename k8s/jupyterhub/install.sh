#!/usr/bin/env bash
# Install or upgrade the Gray-Scott Lab hub with the Zero-to-JupyterHub Helm chart:
#   HTTPS=letsencrypt HUB_HOST=hub.school.example LETSENCRYPT_EMAIL=it@school.example \
#       k8s/jupyterhub/install.sh              helm upgrade --install on the current context
#   GSLAB_DRY_RUN=1 ... install.sh             print the helm commands, run nothing
# HTTPS (required: no plain HTTP unless named):
#   letsencrypt  HUB_HOST, LETSENCRYPT_EMAIL: a Let's Encrypt certificate for HUB_HOST
#   secret       HUB_HOST, TLS_SECRET: your certificate in that TLS Secret of NAMESPACE
#   offload      TLS ends at your load balancer in front of the proxy
#   off          plain HTTP (an Ingress of yours ends TLS, or a private test cluster)
# LAB_EGRESS: none (default: the labs reach the hub and DNS only) or internet (still never
# the cloud metadata service or private ranges: egress-internet.yaml).
# The first run writes secrets.yaml next to values.yaml (mode 600, never committed): the
# teachers' names (`teachers`, and the users of the role `teacher`) and their random password.
# Later runs reuse it; one of an older install.sh (admin_users) is refused.
# Settings: RELEASE (gslab), NAMESPACE (gslab), SECRETS (the secrets file).
set -euo pipefail

die() { echo "error: $*" >&2; exit 2; }

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

# The hub's address and certificate: checked before anything is written or installed.
https=()
case "${HTTPS:-}" in
    letsencrypt)
        [ -n "${HUB_HOST:-}" ] || die "HTTPS=letsencrypt needs HUB_HOST (the hub's DNS name)"
        [ -n "${LETSENCRYPT_EMAIL:-}" ] || die "HTTPS=letsencrypt needs LETSENCRYPT_EMAIL"
        https=(--set proxy.https.enabled=true --set proxy.https.type=letsencrypt
               --set "proxy.https.hosts={$HUB_HOST}"
               --set "proxy.https.letsencrypt.contactEmail=$LETSENCRYPT_EMAIL") ;;
    secret)
        [ -n "${HUB_HOST:-}" ] || die "HTTPS=secret needs HUB_HOST (the certificate's name)"
        [ -n "${TLS_SECRET:-}" ] || die "HTTPS=secret needs TLS_SECRET (kubectl create secret tls NAME --cert=... --key=...)"
        https=(--set proxy.https.enabled=true --set proxy.https.type=secret
               --set "proxy.https.hosts={$HUB_HOST}" --set "proxy.https.secret.name=$TLS_SECRET") ;;
    offload)
        https=(--set proxy.https.enabled=true --set proxy.https.type=offload) ;;
    off)
        echo "warning: HTTPS=off: the hub serves plain HTTP; passwords and cookies cross the network in clear unless your Ingress ends TLS" >&2 ;;
    *)
        die "set HTTPS=letsencrypt|secret|offload (or HTTPS=off for plain HTTP, passwords in clear): see the top of $0" ;;
esac
# EXTRA_VALUES: a values file of the site's, given last: e.g. the labs' images from a site
# registry and its pull Secret (gslab k8s hub-values --registry HOST:PORT/PROJECT > FILE).
extra=()
if [ -n "${EXTRA_VALUES:-}" ]; then
    [ -f "$EXTRA_VALUES" ] || die "EXTRA_VALUES=$EXTRA_VALUES does not exist"
    extra=(--values "$EXTRA_VALUES")
fi
egress=()
case "${LAB_EGRESS:-none}" in
    none) ;;
    internet) egress=(--values "$here/egress-internet.yaml") ;;
    *) die "LAB_EGRESS must be none or internet, not '$LAB_EGRESS'" ;;
esac

random_password() {
    # $1 random bytes from the kernel, as hex digits
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

if [ ! -e "$secrets" ]; then
    (
        umask 077
        cat >"$secrets" <<EOF
# Made by install.sh; keep it out of version control. The teachers log in with
# admin_password and approve the participants' sign-ups at /hub/authorize; nobody can sign
# up under a teacher's name. They are not JupyterHub admins: the role teacher (values.yaml)
# opens no participant's server to their browser. Rename or add teachers in both lists
# (teachers, the role's users), then rerun install.sh.
hub:
  config:
    TeacherReservedNativeAuthenticator:
      teachers: [admin]
      admin_password: "$(random_password 24)"
  loadRoles:
    teacher:
      users: [admin]
EOF
    )
    echo "wrote $secrets (the passwords are in it)"
fi
# An older install.sh named the teachers in admin_users: JupyterHub would make them admins
# again at every start, with every participant's server open to their browser.
if grep -Eq '^[[:space:]]*admin_users:' "$secrets"; then
    die "$secrets names admin_users, which makes the teachers JupyterHub admins: move the names to TeacherReservedNativeAuthenticator.teachers and hub.loadRoles.teacher.users (k8s/README.md), or remove the file to have a new one written"
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
# The progress service's code (the teacher's view): the compose hub's package, from this
# checkout, into the hub's pod as hub.extraFiles (values.yaml lists them; their text is never
# copied into a values file)
package=$here/../../compose/hub/gslab_hub
progress=(--set-file "hub.extraFiles.gslab-hub-init.stringData=$package/__init__.py")
for pair in init:__init__ main:__main__ app:app config:config page:page store:store; do
    progress+=(--set-file "hub.extraFiles.progress-${pair%%:*}.stringData=$package/progress/${pair#*:}.py")
done

run helm repo add jupyterhub "$CHART_REPO" --force-update
run helm upgrade --install "$release" jupyterhub/jupyterhub --version "$CHART_VERSION" \
    --namespace "$namespace" --create-namespace \
    --values "$here/values.yaml" --values "$secrets" ${egress[@]+"${egress[@]}"} "${progress[@]}" \
    ${https[@]+"${https[@]}"} ${extra[@]+"${extra[@]}"}
