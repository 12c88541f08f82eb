package nft

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// fakeKernel stands in for nf_tables behind google/nftables' test dialer,
// so that the backend's batches can be checked without root. It keeps the
// one table inet rampart: chains with rules (handle, raw expressions,
// userdata), sets and their elements. Batches are applied whole or, when
// refuse names a message, not at all (a kernel transaction). Every batch is
// recorded as readable lines (see describe) for the tests to compare.
type fakeKernel struct {
	t testing.TB

	mu      sync.Mutex
	table   bool
	objects int // stateful objects of other owners (counters, limits)
	chains  []*fakeChain
	sets    map[string]*fakeSet
	handle  uint64
	batches [][]string
	// refuse, when set, returns the errno with which the kernel refuses
	// a message of a batch (0: accepted), given its description.
	refuse func(desc string) syscall.Errno
}

type fakeChain struct {
	name  string
	hook  *uint32 // base chains only
	prio  int32
	rules []fakeRule
}

type fakeRule struct {
	handle   uint64
	exprs    []byte // NFTA_RULE_EXPRESSIONS as sent
	userdata []byte
}

type fakeSet struct {
	flags  uint32
	keyLen uint32
	elems  map[netip.Addr]fakeElem
}

type fakeElem struct {
	end     bool
	timeout time.Duration
}

func newFakeKernel(t testing.TB) *fakeKernel {
	return &fakeKernel{t: t, sets: map[string]*fakeSet{}}
}

// backend returns a Backend talking to k.
func (k *fakeKernel) backend(opts Options) *Backend {
	b := New(opts)
	b.dial = k.dial
	return b
}

// take returns the batches recorded since the last call.
func (k *fakeKernel) take() [][]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.batches
	k.batches = nil
	return b
}

func (k *fakeKernel) chain(name string) *fakeChain {
	for _, c := range k.chains {
		if c.name == name {
			return c
		}
	}
	return nil
}

// addForeignChain adds a chain with one rule carrying comment, as another
// owner would; exprs are the rule's expressions.
func (k *fakeKernel) addForeignChain(name string, hook *nftables.ChainHook, prio int32, comment string, exprs ...expr.Any) {
	k.table = true
	c := &fakeChain{name: name, prio: prio}
	if hook != nil {
		h := uint32(*hook)
		c.hook = &h
	}
	k.chains = append(k.chains, c)
	if exprs != nil || comment != "" {
		k.addRule(name, comment, exprs...)
	}
}

// addRule appends a rule to a chain, with a comment unless it is empty.
func (k *fakeKernel) addRule(chain, comment string, exprs ...expr.Any) {
	var list []netlink.Attribute
	for _, e := range exprs {
		b, err := expr.Marshal(byte(nftables.TableFamilyINet), e)
		if err != nil {
			k.t.Fatal(err)
		}
		list = append(list, netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: b})
	}
	raw, err := netlink.MarshalAttributes(list)
	if err != nil {
		k.t.Fatal(err)
	}
	var ud []byte
	if comment != "" {
		ud = userdata.AppendString(nil, userdata.TypeComment, comment)
	}
	k.handle++
	c := k.chain(chain)
	c.rules = append(c.rules, fakeRule{handle: k.handle, exprs: raw, userdata: ud})
}

// addForeignSet adds a set of another owner.
func (k *fakeKernel) addForeignSet(name string) {
	k.table = true
	k.sets[name] = &fakeSet{flags: unix.NFT_SET_TIMEOUT, keyLen: 4, elems: map[netip.Addr]fakeElem{}}
}

// dial is the nltest.Func: it answers one request (a batch or a query).
func (k *fakeKernel) dial(req []netlink.Message) ([]netlink.Message, error) {
	if len(req) == 0 {
		return nil, nil // the library reading acknowledgements already sent
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if req[0].Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) {
		return k.batch(req[1 : len(req)-1]), nil
	}
	m := req[0]
	switch msgType(m) {
	case unix.NFT_MSG_GETTABLE:
		if !k.table {
			return []netlink.Message{errorMsg(m, unix.ENOENT)}, nil
		}
		use := len(k.chains) + len(k.sets) + k.objects
		return []netlink.Message{reply(m, unix.NFT_MSG_NEWTABLE, 0, []netlink.Attribute{
			{Type: unix.NFTA_TABLE_NAME, Data: cstr(TableName)},
			{Type: unix.NFTA_TABLE_FLAGS, Data: be32(0)},
			{Type: unix.NFTA_TABLE_USE, Data: be32(uint32(use))},
		})}, nil
	case unix.NFT_MSG_GETCHAIN:
		var out []netlink.Message
		for _, c := range k.chains {
			attrs := []netlink.Attribute{
				{Type: unix.NFTA_CHAIN_TABLE, Data: cstr(TableName)},
				{Type: unix.NFTA_CHAIN_NAME, Data: cstr(c.name)},
			}
			if c.hook != nil {
				hook := mustMarshal(k.t, []netlink.Attribute{
					{Type: unix.NFTA_HOOK_HOOKNUM, Data: be32(*c.hook)},
					{Type: unix.NFTA_HOOK_PRIORITY, Data: be32(uint32(c.prio))},
				})
				attrs = append(attrs, netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_CHAIN_HOOK, Data: hook},
					netlink.Attribute{Type: unix.NFTA_CHAIN_TYPE, Data: cstr("filter")})
			}
			out = append(out, reply(m, unix.NFT_MSG_NEWCHAIN, netlink.Multi, attrs))
		}
		return append(out, done(m)), nil
	case unix.NFT_MSG_GETSET:
		var out []netlink.Message
		for _, name := range sortedKeys(k.sets) {
			s := k.sets[name]
			keyType := nftables.TypeIPAddr.GetNFTMagic()
			if s.keyLen == 16 {
				keyType = nftables.TypeIP6Addr.GetNFTMagic()
			}
			out = append(out, reply(m, unix.NFT_MSG_NEWSET, netlink.Multi, []netlink.Attribute{
				{Type: unix.NFTA_SET_TABLE, Data: cstr(TableName)},
				{Type: unix.NFTA_SET_NAME, Data: cstr(name)},
				{Type: unix.NFTA_SET_FLAGS, Data: be32(s.flags)},
				{Type: unix.NFTA_SET_KEY_TYPE, Data: be32(keyType)},
				{Type: unix.NFTA_SET_KEY_LEN, Data: be32(s.keyLen)},
			}))
		}
		return append(out, done(m)), nil
	case unix.NFT_MSG_GETRULE:
		attrs := decodeAttrs(k.t, m.Data[4:])
		c := k.chain(str(attrs[unix.NFTA_RULE_CHAIN]))
		if c == nil {
			return []netlink.Message{errorMsg(m, unix.ENOENT)}, nil
		}
		var out []netlink.Message
		for _, r := range c.rules {
			a := []netlink.Attribute{
				{Type: unix.NFTA_RULE_TABLE, Data: cstr(TableName)},
				{Type: unix.NFTA_RULE_CHAIN, Data: cstr(c.name)},
				{Type: unix.NFTA_RULE_HANDLE, Data: be64(r.handle)},
				{Type: unix.NLA_F_NESTED | unix.NFTA_RULE_EXPRESSIONS, Data: r.exprs},
			}
			if r.userdata != nil {
				a = append(a, netlink.Attribute{Type: unix.NFTA_RULE_USERDATA, Data: r.userdata})
			}
			out = append(out, reply(m, unix.NFT_MSG_NEWRULE, netlink.Multi, a))
		}
		return append(out, done(m)), nil
	case unix.NFT_MSG_GETSETELEM:
		attrs := decodeAttrs(k.t, m.Data[4:])
		s := k.sets[str(attrs[unix.NFTA_SET_ELEM_LIST_SET])]
		if s == nil {
			return []netlink.Message{errorMsg(m, unix.ENOENT)}, nil
		}
		var list []netlink.Attribute
		for _, a := range slices.SortedFunc(maps.Keys(s.elems), netip.Addr.Compare) {
			e := s.elems[a]
			key := mustMarshal(k.t, []netlink.Attribute{{Type: unix.NFTA_DATA_VALUE, Data: a.AsSlice()}})
			item := []netlink.Attribute{{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_KEY, Data: key}}
			if e.end {
				item = append(item, netlink.Attribute{Type: unix.NFTA_SET_ELEM_FLAGS, Data: be32(unix.NFT_SET_ELEM_INTERVAL_END)})
			}
			if e.timeout > 0 {
				ms := uint64(e.timeout.Milliseconds())
				item = append(item, netlink.Attribute{Type: unix.NFTA_SET_ELEM_TIMEOUT, Data: be64(ms)},
					netlink.Attribute{Type: unix.NFTA_SET_ELEM_EXPIRATION, Data: be64(ms)})
			}
			list = append(list, netlink.Attribute{Type: unix.NLA_F_NESTED | unix.NFTA_LIST_ELEM, Data: mustMarshal(k.t, item)})
		}
		out := []netlink.Message{reply(m, unix.NFT_MSG_NEWSETELEM, netlink.Multi, []netlink.Attribute{
			{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: cstr(TableName)},
			{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: cstr(str(attrs[unix.NFTA_SET_ELEM_LIST_SET]))},
			{Type: unix.NLA_F_NESTED | unix.NFTA_SET_ELEM_LIST_ELEMENTS, Data: mustMarshal(k.t, list)},
		})}
		return append(out, done(m)), nil
	}
	k.t.Errorf("fake kernel: unexpected request type %d", msgType(m))
	return []netlink.Message{errorMsg(m, unix.EOPNOTSUPP)}, nil
}

// batch describes and applies one transaction and returns the
// acknowledgements.
func (k *fakeKernel) batch(msgs []netlink.Message) []netlink.Message {
	descs := make([]string, len(msgs))
	for i, m := range msgs {
		descs[i] = describe(k.t, m)
	}
	acks := make([]netlink.Message, 0, len(msgs))
	refused := false
	for i, m := range msgs {
		var errno syscall.Errno
		if k.refuse != nil {
			errno = k.refuse(descs[i])
		}
		if errno != 0 {
			refused = true
			acks = append(acks, errorMsg(m, errno))
		} else if m.Header.Flags&netlink.Acknowledge != 0 {
			acks = append(acks, errorMsg(m, 0))
		}
	}
	if refused {
		k.batches = append(k.batches, append([]string{"REFUSED"}, descs...))
		return acks
	}
	k.batches = append(k.batches, descs)
	for _, m := range msgs {
		k.apply(m)
	}
	return acks
}

// apply changes the model as the kernel would for one accepted message.
func (k *fakeKernel) apply(m netlink.Message) {
	attrs := decodeAttrs(k.t, m.Data[4:])
	switch msgType(m) {
	case unix.NFT_MSG_NEWTABLE:
		k.table = true
	case unix.NFT_MSG_DELTABLE:
		k.table, k.objects, k.chains, k.sets = false, 0, nil, map[string]*fakeSet{}
	case unix.NFT_MSG_NEWCHAIN:
		name := str(attrs[unix.NFTA_CHAIN_NAME])
		if k.chain(name) != nil {
			return
		}
		c := &fakeChain{name: name}
		if h, ok := attrs[unix.NFTA_CHAIN_HOOK]; ok {
			ha := decodeAttrs(k.t, h)
			hook := binary.BigEndian.Uint32(ha[unix.NFTA_HOOK_HOOKNUM])
			c.hook, c.prio = &hook, int32(binary.BigEndian.Uint32(ha[unix.NFTA_HOOK_PRIORITY]))
		}
		k.chains = append(k.chains, c)
	case unix.NFT_MSG_DELCHAIN:
		name := str(attrs[unix.NFTA_CHAIN_NAME])
		k.chains = slices.DeleteFunc(k.chains, func(c *fakeChain) bool { return c.name == name })
	case unix.NFT_MSG_NEWRULE:
		k.handle++
		c := k.chain(str(attrs[unix.NFTA_RULE_CHAIN]))
		c.rules = append(c.rules, fakeRule{handle: k.handle, exprs: attrs[unix.NFTA_RULE_EXPRESSIONS], userdata: attrs[unix.NFTA_RULE_USERDATA]})
	case unix.NFT_MSG_DELRULE:
		c := k.chain(str(attrs[unix.NFTA_RULE_CHAIN]))
		h, ok := attrs[unix.NFTA_RULE_HANDLE]
		if !ok {
			c.rules = nil
			return
		}
		handle := binary.BigEndian.Uint64(h)
		c.rules = slices.DeleteFunc(c.rules, func(r fakeRule) bool { return r.handle == handle })
	case unix.NFT_MSG_NEWSET:
		name := str(attrs[unix.NFTA_SET_NAME])
		if _, ok := k.sets[name]; !ok {
			k.sets[name] = &fakeSet{flags: binary.BigEndian.Uint32(attrs[unix.NFTA_SET_FLAGS]),
				keyLen: binary.BigEndian.Uint32(attrs[unix.NFTA_SET_KEY_LEN]), elems: map[netip.Addr]fakeElem{}}
		}
	case unix.NFT_MSG_DELSET:
		delete(k.sets, str(attrs[unix.NFTA_SET_NAME]))
	case unix.NFT_MSG_NEWSETELEM, unix.NFT_MSG_DELSETELEM:
		s := k.sets[str(attrs[unix.NFTA_SET_ELEM_LIST_SET])]
		for _, e := range decodeElems(k.t, attrs[unix.NFTA_SET_ELEM_LIST_ELEMENTS]) {
			if msgType(m) == unix.NFT_MSG_DELSETELEM {
				delete(s.elems, e.addr)
			} else {
				s.elems[e.addr] = fakeElem{end: e.end, timeout: e.timeout}
			}
		}
	}
}

// describe renders one message of a batch as a line such as
// "add rule bans: meta cmp payload cmp immediate(jump ban-sshd) #rampart-bans".
func describe(t testing.TB, m netlink.Message) string {
	attrs := decodeAttrs(t, m.Data[4:])
	switch msgType(m) {
	case unix.NFT_MSG_NEWTABLE:
		return "add table " + str(attrs[unix.NFTA_TABLE_NAME])
	case unix.NFT_MSG_DELTABLE:
		return "delete table " + str(attrs[unix.NFTA_TABLE_NAME])
	case unix.NFT_MSG_NEWCHAIN:
		s := "add chain " + str(attrs[unix.NFTA_CHAIN_NAME])
		if h, ok := attrs[unix.NFTA_CHAIN_HOOK]; ok {
			ha := decodeAttrs(t, h)
			s += fmt.Sprintf(" (hook %d priority %d)", binary.BigEndian.Uint32(ha[unix.NFTA_HOOK_HOOKNUM]), int32(binary.BigEndian.Uint32(ha[unix.NFTA_HOOK_PRIORITY])))
		}
		return s
	case unix.NFT_MSG_DELCHAIN:
		return "delete chain " + str(attrs[unix.NFTA_CHAIN_NAME])
	case unix.NFT_MSG_DELRULE:
		h, ok := attrs[unix.NFTA_RULE_HANDLE]
		if !ok {
			return "flush chain " + str(attrs[unix.NFTA_RULE_CHAIN])
		}
		return fmt.Sprintf("delete rule %s handle %d", str(attrs[unix.NFTA_RULE_CHAIN]), binary.BigEndian.Uint64(h))
	case unix.NFT_MSG_NEWRULE:
		s := "add rule " + str(attrs[unix.NFTA_RULE_CHAIN]) + ":" + describeExprs(t, attrs[unix.NFTA_RULE_EXPRESSIONS])
		if c, ok := userdata.GetString(attrs[unix.NFTA_RULE_USERDATA], userdata.TypeComment); ok {
			s += " #" + c
		}
		return s
	case unix.NFT_MSG_NEWSET:
		flags := binary.BigEndian.Uint32(attrs[unix.NFTA_SET_FLAGS])
		var f []string
		if flags&unix.NFT_SET_INTERVAL != 0 {
			f = append(f, "interval")
		}
		if flags&unix.NFT_SET_TIMEOUT != 0 {
			f = append(f, "timeout")
		}
		s := fmt.Sprintf("add set %s (%d-byte keys, %s)", str(attrs[unix.NFTA_SET_NAME]), binary.BigEndian.Uint32(attrs[unix.NFTA_SET_KEY_LEN]), strings.Join(f, ","))
		if c, ok := userdata.GetString(attrs[unix.NFTA_SET_USERDATA], userdata.NFTNL_UDATA_SET_COMMENT); ok {
			s += " #" + c
		}
		return s
	case unix.NFT_MSG_DELSET:
		return "delete set " + str(attrs[unix.NFTA_SET_NAME])
	case unix.NFT_MSG_NEWSETELEM, unix.NFT_MSG_DELSETELEM:
		verb := "add"
		if msgType(m) == unix.NFT_MSG_DELSETELEM {
			verb = "delete"
		}
		var parts []string
		for _, e := range decodeElems(t, attrs[unix.NFTA_SET_ELEM_LIST_ELEMENTS]) {
			p := e.addr.String()
			if e.end {
				p += " end"
			}
			if e.timeout > 0 {
				p += " timeout " + e.timeout.String()
			}
			parts = append(parts, p)
		}
		return fmt.Sprintf("%s elements %s: %s", verb, str(attrs[unix.NFTA_SET_ELEM_LIST_SET]), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("message type %d", msgType(m))
}

// describeExprs names a rule's expressions, with the set of a lookup and
// the verdict of an immediate.
func describeExprs(t testing.TB, b []byte) string {
	var s strings.Builder
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	for ad.Next() {
		e := decodeAttrs(t, ad.Bytes())
		name := str(e[unix.NFTA_EXPR_NAME])
		s.WriteString(" " + name)
		data := decodeAttrs(t, e[unix.NFTA_EXPR_DATA])
		switch name {
		case "lookup":
			s.WriteString("(@" + str(data[unix.NFTA_LOOKUP_SET]) + ")")
		case "immediate":
			v := decodeAttrs(t, decodeAttrs(t, data[unix.NFTA_IMMEDIATE_DATA])[unix.NFTA_DATA_VERDICT])
			code := int32(binary.BigEndian.Uint32(v[unix.NFTA_VERDICT_CODE]))
			verdict := map[int32]string{0: "drop", 1: "accept", -3: "jump", -4: "goto"}[code]
			if c, ok := v[unix.NFTA_VERDICT_CHAIN]; ok {
				verdict += " " + str(c)
			}
			s.WriteString("(" + verdict + ")")
		}
	}
	return s.String()
}

// element is one decoded set element of a message.
type element struct {
	addr    netip.Addr
	end     bool
	timeout time.Duration
}

func decodeElems(t testing.TB, b []byte) []element {
	var out []element
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	for ad.Next() {
		a := decodeAttrs(t, ad.Bytes())
		var e element
		e.addr, _ = netip.AddrFromSlice(decodeAttrs(t, a[unix.NFTA_SET_ELEM_KEY])[unix.NFTA_DATA_VALUE])
		if f, ok := a[unix.NFTA_SET_ELEM_FLAGS]; ok {
			e.end = binary.BigEndian.Uint32(f)&unix.NFT_SET_ELEM_INTERVAL_END != 0
		}
		if ms, ok := a[unix.NFTA_SET_ELEM_TIMEOUT]; ok {
			e.timeout = time.Duration(binary.BigEndian.Uint64(ms)) * time.Millisecond
		}
		out = append(out, e)
	}
	return out
}

// decodeAttrs maps attribute types (flags cleared) to their payloads.
func decodeAttrs(t testing.TB, b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	if len(b) == 0 {
		return out
	}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatalf("fake kernel: %v", err)
	}
	for ad.Next() {
		out[ad.Type()] = ad.Bytes()
	}
	return out
}

func msgType(m netlink.Message) uint16 { return uint16(m.Header.Type) & 0xff }

func reply(req netlink.Message, typ uint16, flags netlink.HeaderFlags, attrs []netlink.Attribute) netlink.Message {
	data, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		panic(err)
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ), Flags: flags, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, data...),
	}
}

func done(req netlink.Message) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: []byte{0, 0, 0, 0}}
}

// errorMsg is an acknowledgement (errno 0) or an error for req.
func errorMsg(req netlink.Message, errno syscall.Errno) netlink.Message {
	data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	return netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: data}
}

func mustMarshal(t testing.TB, attrs []netlink.Attribute) []byte {
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cstr(s string) []byte                      { return append([]byte(s), 0) }
func str(b []byte) string                       { return strings.TrimRight(string(b), "\x00") }
func be32(v uint32) []byte                      { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte                      { return binary.BigEndian.AppendUint64(nil, v) }
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
