package limits

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// TestApplyChanges: a limit added, changed and removed takes effect in
// one batch each; a set whose timeout is unchanged keeps its bans, a
// changed bantime makes a new set; other owners' objects stay.
func TestApplyChanges(t *testing.T) {
	need(t)
	ns := netns.New(t, "lapply")
	k := Kernel{NetNS: ns.Fd()}
	ns.MustExec(t, "nft", "add table inet rampart; add set inet rampart ban-sshd-v4 { type ipv4_addr; }; add chain inet rampart policy-input { type filter hook input priority 0; policy accept; }")
	api := Limit{Name: "api", Port: 9000, Protocol: "tcp", Rate: 30, Per: time.Minute, BanTime: 10 * time.Minute}
	db := Limit{Name: "db", Port: 5432, Protocol: "tcp", MaxConn: 5, BanTime: time.Hour}
	if err := k.Apply([]Limit{api, db}); err != nil {
		t.Fatal(err)
	}
	ns.MustExec(t, "nft", "add element inet rampart kban-api-v4 { 192.0.2.7 }; add element inet rampart kban-db-v6 { 2001:db8:5:: }")
	list := func() string { return ns.MustExec(t, "nft", "list", "table", "inet", "rampart") }
	if s := list(); !strings.Contains(s, "lconn-db-v6") || !strings.Contains(s, "lrate-api-v4") || !strings.Contains(s, "priority filter - 10") {
		t.Fatalf("after apply:\n%s", s)
	}
	// Apply again, unchanged: the bans stay.
	if err := k.Apply([]Limit{api, db}); err != nil {
		t.Fatal(err)
	}
	bans, err := k.Bans([]Limit{api, db})
	if err != nil || len(bans) != 2 {
		t.Fatalf("Bans after a second apply = %+v, %v", bans, err)
	}
	if bans[0].Limit != "api" || bans[0].Prefix != netip.MustParsePrefix("192.0.2.7/32") || bans[1].Prefix != netip.MustParsePrefix("2001:db8:5::/64") {
		t.Errorf("Bans = %+v", bans)
	}
	// db's bantime changes, api goes.
	db.BanTime = 2 * time.Hour
	if err := k.Apply([]Limit{db}); err != nil {
		t.Fatal(err)
	}
	s := list()
	if strings.Contains(s, "api") {
		t.Errorf("limit api left objects:\n%s", s)
	}
	if !strings.Contains(s, "timeout 2h") || !strings.Contains(s, "ban-sshd-v4") || !strings.Contains(s, "policy-input") {
		t.Errorf("after the change:\n%s", s)
	}
	if ok, err := k.Present(); err != nil || !ok {
		t.Errorf("Present = %v, %v", ok, err)
	}
	// None: the layer is gone, the others' objects stay.
	if err := k.Apply(nil); err != nil {
		t.Fatal(err)
	}
	s = list()
	if strings.Contains(s, "limits-input") || strings.Contains(s, "kban") || strings.Contains(s, "lconn") || !strings.Contains(s, "ban-sshd-v4") {
		t.Errorf("after removing every limit:\n%s", s)
	}
	if ok, _ := k.Present(); ok {
		t.Error("Present after removal")
	}
}
