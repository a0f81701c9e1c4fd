#!/bin/sh
# Install the benchmark's peers from Debian's packages (`npm run bench:peers`):
#   wrk                          the load generator (autocannon is the fallback)
#   nginx                        "a plain reverse proxy" row
#   apache2 + mod_auth_openidc   "Apache + mod_auth_openidc with a session" row
# The benchmark starts each server itself with its own config on a free port
# (bench/peers.ts); the system services are not enabled or started here.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# keep the packages' post-install scripts from starting the system services
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  CREATED_POLICY=1
fi
cleanup() { if [ -n "$CREATED_POLICY" ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends wrk nginx apache2 libapache2-mod-auth-openidc util-linux
echo "installed: $(wrk --version 2>&1 | head -1 | cut -c1-40); $(nginx -v 2>&1); $(apache2 -v 2>/dev/null | head -1)"
