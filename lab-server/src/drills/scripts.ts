/**
 * Scripts run inside the nodes (bash; `$1`… are the arguments after the node name in `$0`).
 */

/** tc filter preference of this module's filters: `restore` deletes exactly these. */
export const TC_PREF = 112;

/**
 * Drops VRRP (IP protocol 112) in and out of eth0 with tc, which needs only NET_ADMIN. The usual
 * `u32 … action drop` needs the kernel's act_gact; kernels built without it (some VM kernels)
 * still have cls_bpf, so the fallback is a classic-BPF filter in direct-action mode that returns
 * TC_ACT_SHOT (2) for IPv4 (ethertype 0x0800 at offset 12) with protocol 112 (offset 14+9), and
 * TC_ACT_UNSPEC (-1) for everything else. cls_bpf sees the frame from the MAC header in both
 * directions.
 */
export const BLOCK_VRRP = `
pref=$1
bpf='6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 112,6 0 0 2,6 0 0 4294967295'
created=0
if ! tc qdisc show dev eth0 | grep -q clsact; then tc qdisc add dev eth0 clsact && created=1 || exit 2; fi
method=u32
for dir in ingress egress; do
	tc filter add dev eth0 $dir pref $pref protocol ip u32 match ip protocol 112 0xff action drop 2>/dev/null && continue
	tc filter del dev eth0 $dir pref $pref 2>/dev/null
	tc filter add dev eth0 $dir pref $pref bpf bytecode "$bpf" da || exit 3
	method=bpf
done
echo "created=$created method=$method"
`;

export const UNBLOCK_VRRP = `
pref=$1 created=$2
for dir in ingress egress; do tc filter del dev eth0 $dir pref $pref 2>/dev/null; done
if [ "$created" = 1 ] && [ -z "$(tc filter show dev eth0 ingress)$(tc filter show dev eth0 egress)" ]; then
	tc qdisc del dev eth0 clsact 2>/dev/null
fi
exit 0
`;

/** Deletes any interface that still carries the node's address after a disconnect. */
export const DROP_LEFTOVER_LINK = `
for dev in $(ip -o -4 addr show | awk -v a="$1/" 'index($4, a) == 1 { print $2 }'); do
	ip link del "$dev"
done
exit 0
`;

/**
 * After a reconnect, Docker 20.10 names the new interface eth1, eth2… (a per-container counter
 * that never goes back), but the learner's keepalived.conf says eth0: rename it back. Docker finds
 * the interface by its own name when it later disconnects or removes it, so that name stays on
 * as an alternative name (Linux ≥ 5.5 resolves altnames in lookups by name). Downing the link
 * drops the default route Docker had set: put it back.
 */
export const RECONNECT = `
ip=$1 gw=$2
dev=$(ip -o -4 addr show | awk -v a="$ip/" 'index($4, a) == 1 { print $2; exit }')
[ -n "$dev" ] || { echo "no interface has $ip" >&2; exit 3; }
if [ "$dev" != eth0 ]; then
	ip link set "$dev" down
	ip link set "$dev" name eth0
	ip link property add dev eth0 altname "$dev" 2>/dev/null
	ip link set eth0 up
	ip route replace default via "$gw" dev eth0 2>/dev/null
fi
exit 0
`;

/** The first keepalived journal line since \`@$1\` (epoch seconds) containing $2. */
export const GREP_GUIDE_ERROR = `journalctl -u keepalived --no-pager -o short --since "@$1" | grep -m1 -F -- "$2"; exit 0`;
