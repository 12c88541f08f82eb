package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

var familyNames = map[nftables.TableFamily]string{
	nftables.TableFamilyINet: "inet", nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6",
	nftables.TableFamilyARP: "arp", nftables.TableFamilyBridge: "bridge", nftables.TableFamilyNetdev: "netdev",
}

// Neighbours lists, as readable warnings, what else filters this host's
// traffic: other tools' nftables tables with a drop policy on input (ufw,
// firewalld, iptables-nft rules, any other table), and Docker or libvirt,
// whose published ports pass through forward after DNAT and are therefore
// not governed by the baseline (which filters input only). Nothing is
// changed; rampart never deletes another tool's table.
func (k Kernel) Neighbours(sysClassNet string) ([]string, error) {
	c, err := k.conn()
	if err != nil {
		return nil, err
	}
	chains, err := c.ListChains()
	if err != nil {
		return nil, fmt.Errorf("policy: list chains: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, ch := range chains {
		if ch.Table == nil {
			continue
		}
		fam := familyNames[ch.Table.Family]
		tname := fam + " " + ch.Table.Name
		if fam == "inet" && ch.Table.Name == TableName {
			continue
		}
		switch {
		case strings.HasPrefix(ch.Name, "ufw-") || strings.HasPrefix(ch.Name, "ufw6-"):
			add(fmt.Sprintf("ufw is active (table %s has its chains): its rules filter inbound traffic too; a packet must pass both ufw and the baseline — allow the port in both, or disable ufw", tname))
		case ch.Table.Name == "firewalld":
			add(fmt.Sprintf("firewalld is active (table %s): its zones filter inbound traffic too; a packet must pass both", tname))
		case ch.Name == "DOCKER" && ch.Table.Name == "nat":
			pub := "no published port found"
			if ports := publishedPorts(c, ch); len(ports) > 0 {
				pub = "published ports " + strings.Join(ports, ", ")
			}
			add(fmt.Sprintf("Docker is present (chain DOCKER in table %s, %s): ports it publishes are DNATed and forwarded, so the baseline (input only) does not close them; filter them in chain DOCKER-USER", tname, pub))
		case ch.Name == "DOCKER" || ch.Name == "DOCKER-USER" || strings.HasPrefix(ch.Name, "DOCKER-"):
			add(fmt.Sprintf("Docker is present (chain %s in table %s): ports it publishes are DNATed and forwarded, so the baseline (input only) does not close them; filter them in chain DOCKER-USER", ch.Name, tname))
		case strings.HasPrefix(ch.Name, "LIBVIRT_"):
			add(fmt.Sprintf("libvirt is present (chain %s in table %s): guests' forwarded ports are not filtered by the baseline (input only)", ch.Name, tname))
		}
		if ch.Hooknum != nil && *ch.Hooknum == *nftables.ChainHookInput && ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
			add(fmt.Sprintf("table %s chain %s (hook input) drops by default: it decides what gets in as well as rampart's baseline; rampart leaves it alone", tname, ch.Name))
		}
	}
	if sysClassNet == "" {
		sysClassNet = "/sys/class/net"
	}
	ifs, _ := os.ReadDir(sysClassNet)
	for _, d := range ifs {
		switch n := d.Name(); {
		case n == "docker0":
			add("Docker is present (interface docker0): ports it publishes are DNATed and forwarded, so the baseline (input only) does not close them; filter them in chain DOCKER-USER")
		case strings.HasPrefix(n, "virbr"):
			add(fmt.Sprintf("libvirt is present (interface %s): guests' forwarded ports are not filtered by the baseline (input only)", n))
		}
	}
	slices.Sort(out)
	return out, nil
}

// UsesDHCP reports whether this host looks like a DHCP client: a DHCP
// client process runs or a lease file exists.
func UsesDHCP(proc string) bool {
	if proc == "" {
		proc = "/proc"
	}
	clients := []string{"dhclient", "dhcpcd", "udhcpc", "systemd-network", "NetworkManager", "dhcpcd-run-hooks"}
	dirs, _ := os.ReadDir(proc)
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(proc, d.Name(), "comm"))
		if err == nil && slices.Contains(clients, strings.TrimSpace(string(comm))) {
			return true
		}
	}
	for _, g := range []string{"/var/lib/dhcp/*.leases", "/var/lib/dhclient/*.lease*", "/run/systemd/netif/leases/*", "/var/lib/NetworkManager/*.lease"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}

// publishedPorts lists the destination ports Docker's DNAT chain matches
// ("8080/tcp"): a transport-header port compare, with the protocol from
// meta l4proto or the IPv4 protocol byte before it.
func publishedPorts(c *nftables.Conn, ch *nftables.Chain) []string {
	rules, err := c.GetRules(ch.Table, ch)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rules {
		proto, port := "", 0
		for i := 0; i+1 < len(r.Exprs); i++ {
			cmp, ok := r.Exprs[i+1].(*expr.Cmp)
			if !ok || cmp.Op != expr.CmpOpEq {
				continue
			}
			switch e := r.Exprs[i].(type) {
			case *expr.Meta:
				if e.Key == expr.MetaKeyL4PROTO && len(cmp.Data) == 1 {
					proto = protoName(cmp.Data[0])
				}
			case *expr.Payload:
				switch {
				case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 9 && e.Len == 1 && len(cmp.Data) == 1:
					proto = protoName(cmp.Data[0])
				case e.Base == expr.PayloadBaseTransportHeader && e.Offset == 2 && e.Len == 2 && len(cmp.Data) == 2:
					port = int(cmp.Data[0])<<8 | int(cmp.Data[1])
				}
			}
		}
		if port > 0 {
			if proto == "" {
				proto = "tcp"
			}
			if s := fmt.Sprintf("%d/%s", port, proto); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func protoName(p byte) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_SCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto %d", p)
}
