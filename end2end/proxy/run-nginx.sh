#!/usr/bin/env bash
# Runs nginx in the foreground as a TLS-terminating reverse proxy in front of the tokenscope servers the e2e run
# starts (see nginx.conf.template): a fresh self-signed certificate and config in a temporary folder, removed on
# exit. Playwright starts it as a webServer and stops it at the end; by hand:
#   end2end/proxy/run-nginx.sh        # then open https://127.0.0.1:8443/ (accept the certificate)
# Ports (env): PROXY_ROOT_PORT 8443, PROXY_FWD_PORT 8444, PROXY_STRIP_PORT 8445; upstreams ROOT_UPSTREAM 3939
# (tokenscope at /), POD_UPSTREAM 3942 (tokenscope --base-path /pod).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx is not installed: run \`make setup\` (or apt-get install nginx-light)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/tokenscope-proxy.XXXXXX")
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null

# Run as root (a container), nginx's workers would switch to an unprivileged user; keep them as root instead.
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"

sed -e "s|@DIR@|$dir|g" -e "s|@USER@|$user_line|" \
    -e "s|@ROOT_PORT@|${PROXY_ROOT_PORT:-8443}|g" -e "s|@FWD_PORT@|${PROXY_FWD_PORT:-8444}|g" \
    -e "s|@STRIP_PORT@|${PROXY_STRIP_PORT:-8445}|g" \
    -e "s|@ROOT_UPSTREAM@|${ROOT_UPSTREAM:-3939}|g" -e "s|@POD_UPSTREAM@|${POD_UPSTREAM:-3942}|g" \
    "$here/nginx.conf.template" > "$dir/nginx.conf"

"$nginx" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
echo "nginx TLS proxy: https://127.0.0.1:${PROXY_ROOT_PORT:-8443}/ https://127.0.0.1:${PROXY_FWD_PORT:-8444}/pod/ https://127.0.0.1:${PROXY_STRIP_PORT:-8445}/pod/"
# Not exec: the trap removes the folder when nginx stops. SIGTERM from Playwright goes to nginx too.
"$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
wait $pid
