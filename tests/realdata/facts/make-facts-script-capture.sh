#!/bin/bash
# Captures granja's whole FACTS_SCRIPT output on this machine (Debian 12: iproute2 6.1.0, coreutils
# df, dash; kernel 6.18 without bonding or 8021q drivers) for a dom0-like network built in a fresh
# network namespace, with sysfs mounted for that namespace (run as root, from the repository root,
# with the worktree's .venv). Three runs over the same kernel state:
#   facts-script-debian12-netns-iproute2-6.1.txt       the real ip and bridge (JSON)
#   facts-script-debian12-netns-bridge-text.txt        bridge -j prints text, as iproute2 4.7-4.16 does
#                                                      (the real bridge run without -j)
#   facts-script-debian12-netns-no-ip-json.txt         ip -j fails as before iproute2 4.14
#                                                      ('Option "-j" is unknown', exit 255) and
#                                                      bridge -j prints text
# The shims sit first on PATH; everything else (sysfs, procfs, df, virsh) is the machine's own.
set -e
out=$(cd "$(dirname "$0")" && pwd)
script=$(.venv/bin/python -c 'from hypervisor.facts_script import FACTS_SCRIPT; print(FACTS_SCRIPT)')
shims=$(mktemp -d)
trap 'rm -rf "$shims"' EXIT
mkdir "$shims/bridge-text" "$shims/no-ip-json"
cat > "$shims/bridge-text/bridge" <<'SH'
#!/bin/sh
# iproute2 4.7-4.16: -j is accepted but `bridge link` has no JSON output
for a in "$@"; do shift; [ "$a" = "-j" ] || set -- "$@" "$a"; done
exec /usr/sbin/bridge "$@"
SH
cat > "$shims/no-ip-json/ip" <<'SH'
#!/bin/sh
# iproute2 before 4.14: no -j option
case " $* " in *" -j "*) echo 'Option "-j" is unknown, try "ip -help".' >&2; exit 255;; esac
exec /usr/sbin/ip "$@"
SH
cp "$shims/bridge-text/bridge" "$shims/no-ip-json/bridge"
chmod +x "$shims"/*/*
unshare -n -m --propagation private bash -s "$out" "$script" "$shims" <<'NS'
set -e
out=$1 script=$2 shims=$3
mount -t sysfs sysfs /sys
ip link set lo up
ip link add eno1 type veth peer name peer-eno1
ip link add eno2 type veth peer name peer-eno2
ip link add xenbr0 type bridge
ip link add br120 type bridge
ip link add vif3.0 type veth peer name peer-vif3.0
ip link add vif5.1 type veth peer name peer-vif5.1
ip link set eno1 master xenbr0
ip link set vif3.0 master xenbr0
ip link set eno2 master br120
ip link set vif5.1 master br120
ip link add br-empty type bridge
for i in eno1 eno2 xenbr0 br120 vif3.0 vif5.1 br-empty; do ip link set "$i" up; done
sh -c "$script" > "$out/facts-script-debian12-netns-iproute2-6.1.txt"
PATH="$shims/bridge-text:$PATH" sh -c "$script" > "$out/facts-script-debian12-netns-bridge-text.txt"
PATH="$shims/no-ip-json:$PATH" sh -c "$script" > "$out/facts-script-debian12-netns-no-ip-json.txt"
NS
