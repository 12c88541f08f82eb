package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/nftables"
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
