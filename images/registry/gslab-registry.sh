#!/usr/bin/env bash
# The site registry's one program (run as docker-registry in its image; gslab calls it):
#   serve                  Distribution on 127.0.0.1:5000 + nginx (TLS, accounts) on 5443
#   init NAME...           a CA and a server certificate for NAME... (DNS names or IPs) in /conf,
#                          or the site's own pair when /site/server.crt and /site/server.key
#                          are mounted; keeps an existing certificate
#   user NAME push|pull    add or change an account; its password is the first line of stdin
#   names                  the names and addresses in the certificate, one a line
#   accounts               list the accounts and their roles (NAME push|pull)
#   ca                     print the CA certificate clients must trust
#   reload | health
# Why the CA's private key is deleted once the server certificate is signed: nothing in the
# volume can then sign a certificate for another name; a new name means a new CA (init again
# on a fresh configuration volume), which clients must then trust anew.
set -euo pipefail
conf=/conf
nginx_conf=/etc/gslab-registry/nginx.conf

die() { echo "gslab-registry: $*" >&2; exit 2; }

serve() {
    for f in server.crt server.key htpasswd; do
        [ -s "$conf/$f" ] || die "$conf/$f is missing: run 'gslab registry up' (it runs init and adds the first account)"
    done
    [ -e "$conf/pushers.map" ] || die "$conf/pushers.map is missing: add an account with 'gslab registry user'"
    docker-registry serve /etc/docker/registry/config.yml &
    nginx -c "$nginx_conf" -g 'daemon off;' &
    # either one stopping stops the container (the engine's restart policy decides the rest)
    wait -n
    exit 1
}

san_list() {
    local name out=""
    for name in "$@"; do
        if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then out+="IP:$name,"; else out+="DNS:$name,"; fi
    done
    echo "${out%,}"
}

init() {
    [ $# -gt 0 ] || die "init needs the registry's host names or addresses"
    if [ -s "$conf/server.crt" ]; then
        echo "keeping the certificate in $conf (subject: $(openssl x509 -in "$conf/server.crt" -noout -subject))"
        return
    fi
    umask 077
    if [ -s /site/server.crt ] && [ -s /site/server.key ]; then
        cp /site/server.crt "$conf/server.crt"
        cp /site/server.key "$conf/server.key"
        [ ! -s /site/ca.crt ] || cp /site/ca.crt "$conf/ca.crt"
        echo "using the site's certificate: $(openssl x509 -in "$conf/server.crt" -noout -subject)"
    else
        local work
        work=$(mktemp -d)
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -keyout "$work/ca.key" -out "$conf/ca.crt" -subj "/CN=gslab registry CA ($1)" \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$conf/server.key" -out "$work/server.csr" -subj "/CN=$1" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
            "$(san_list "$@")" > "$work/ext"
        openssl x509 -req -in "$work/server.csr" -CA "$conf/ca.crt" -CAkey "$work/ca.key" \
            -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$work/ext" \
            -out "$conf/server.crt" 2>/dev/null
        rm -rf "$work"
        echo "made a CA and a certificate for: $*"
    fi
    chmod 644 "$conf/server.crt" "$conf/ca.crt" 2>/dev/null || true
    touch "$conf/htpasswd" "$conf/pushers.map"
}

user() {
    [ $# -eq 2 ] || die "usage: user NAME push|pull (password on stdin)"
    local name=$1 role=$2 password
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "account name $name: letters, digits, . _ - only"
    [[ $role == push || $role == pull ]] || die "role $role: push or pull"
    IFS= read -r password || [ -n "$password" ] || die "no password on stdin"
    [ ${#password} -ge 8 ] || die "the password of $name is shorter than 8 characters"
    touch "$conf/htpasswd" "$conf/pushers.map"
    # bcrypt (-B), cost 10: nginx checks it with the C library's crypt(), libxcrypt here
    printf '%s\n' "$password" | htpasswd -i -B -C 10 "$conf/htpasswd" "$name" 2>/dev/null
    grep -v "^$name " "$conf/pushers.map" > "$conf/pushers.map.new" || true
    [ "$role" != push ] || echo "$name 1;" >> "$conf/pushers.map.new"
    mv "$conf/pushers.map.new" "$conf/pushers.map"
    echo "account $name: $role"
}

case "${1:-serve}" in
    serve) serve ;;
    init) shift; init "$@" ;;
    user) shift; user "$@" ;;
    names) openssl x509 -in "$conf/server.crt" -noout -ext subjectAltName | tail -n +2 \
            | tr ',' '\n' | sed -e 's/^ *//' -e 's/^DNS://' -e 's/^IP Address://' ;;
    accounts) [ ! -s "$conf/htpasswd" ] || while IFS=: read -r name _; do
            if grep -q "^$name " "$conf/pushers.map"; then echo "$name push"; else echo "$name pull"; fi
        done < "$conf/htpasswd" ;;
    ca) [ -s "$conf/ca.crt" ] || die "no CA certificate in $conf (a site certificate without /site/ca.crt: clients use the site's own CA)"
        cat "$conf/ca.crt" ;;
    reload) nginx -c "$nginx_conf" -s reload ;;
    health) (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5443) 2>/dev/null ;;
    *) die "unknown command ${1}: serve, init, user, names, accounts, ca, reload, health" ;;
esac
