package nft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/rampart-ids/rampart/internal/firewall"
	"golang.org/x/sys/unix"
)

// perMessage bounds the bans in one NEWSETELEM/DELSETELEM message: the
// element list is one netlink attribute, whose length is 16 bits.
const perMessage = 256

// maxBatchBytes keeps a batch well below the socket's default send buffer
// (212,992 bytes), which the kernel checks per sendmsg.
const maxBatchBytes = 160 << 10

// op is one validated element operation.
type op struct {
	del bool
	ban firewall.Ban // normalized prefix
}

func (o op) size() int {
	n := 32 // header, key, timeout
	if o.ban.Prefix.Addr().Is6() {
		n += 16
	}
	if o.ban.Prefix.Bits() < o.ban.Prefix.Addr().BitLen() {
		n = 2*n + 8 // the range's end element carries flags
	}
	return n
}

// Apply sends removals then additions in batches of at most BatchSize bans.
// A batch the kernel refuses is split in halves and retried until the
// refused elements are isolated; they are returned in a
// *firewall.BatchError while every other element lands. Removing an absent
// ban is not an error.
func (b *Backend) Apply(ctx context.Context, c firewall.Change) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	known := make(map[string]bool, len(b.jails))
	for n := range b.jails {
		known[n] = true
	}
	remove, add, failed := firewall.Check(c, known)
	ops := make([]op, 0, len(remove)+len(add))
	for _, r := range remove {
		ops = append(ops, op{del: true, ban: r})
	}
	for _, a := range add {
		ops = append(ops, op{ban: a})
	}
	// Removals still first, then grouped by set: send starts a netlink
	// message at each change of set, so a flood mixing IPv4 and IPv6 (or
	// hosts and networks) in arrival order made a message and an
	// acknowledgement per few elements, whose acknowledgements overran the
	// socket (ENOBUFS) and forced bisection.
	slices.SortStableFunc(ops, func(x, y op) int {
		kx, ky := kindFor(x.ban), kindFor(y.ban)
		return cmp.Or(-cmpBool(x.del, y.del), strings.Compare(kx.jail, ky.jail), cmpBool(kx.v6, ky.v6), cmpBool(kx.net, ky.net))
	})
	conn, err := b.conn()
	if err != nil {
		return err
	}
	for len(ops) > 0 {
		n, bytes := 0, 0
		for n < len(ops) && n < b.opts.BatchSize && bytes < maxBatchBytes {
			bytes += ops[n].size()
			n++
		}
		f, err := b.applyBatch(ctx, conn, ops[:n])
		failed = append(failed, f...)
		if err != nil {
			failed = append(failed, failAll(ops[n:], err)...)
			break
		}
		ops = ops[n:]
	}
	return firewall.Result(c.Len(), failed)
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// applyBatch sends ops as one transaction, bisecting on failure. The error
// is for failures that doom every element (no permission, cancelled); the
// elements it left unapplied are among the failures returned with it.
func (b *Backend) applyBatch(ctx context.Context, conn *nftables.Conn, ops []op) ([]firewall.ElementError, error) {
	if err := ctx.Err(); err != nil {
		return failAll(ops, err), err
	}
	err := b.send(conn, ops)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		err = fmt.Errorf("nft: %w", err)
		return failAll(ops, err), err
	case errors.Is(err, unix.ENOENT) && len(ops) > 1:
		// A set the batch names may be gone (nft flush ruleset, the table
		// deleted): then every add to it fails, and bisecting would find
		// that out one element at a time — a failed transaction took the
		// kernel ~12 ms here (Linux 6.18), 30 s for a batch of 1,237.
		// Look the sets up once instead.
		if failed, gone := b.goneSets(ctx, conn, ops, err); gone {
			if len(failed) == 0 {
				return nil, nil // only removals from sets that are gone
			}
			return failed, fmt.Errorf("nft: %w", err)
		}
	}
	switch {
	case len(ops) == 1:
		if ops[0].del && errors.Is(err, unix.ENOENT) {
			return nil, nil // already gone, e.g. expired in the kernel
		}
		return []firewall.ElementError{elementError(ops[0], err)}, nil
	}
	mid := len(ops) / 2
	left, err := b.applyBatch(ctx, conn, ops[:mid])
	if err != nil {
		return append(left, failAll(ops[mid:], err)...), err
	}
	right, err := b.applyBatch(ctx, conn, ops[mid:])
	return append(left, right...), err
}

// goneSets reports whether a set some of ops name no longer exists in the
// kernel; if so, the failures are the adds to sets that are gone (for
// err), and ops on sets that still exist are applied again, bisecting as
// usual. Removals from a set that is gone need nothing.
func (b *Backend) goneSets(ctx context.Context, conn *nftables.Conn, ops []op, err error) ([]firewall.ElementError, bool) {
	exists := map[setKind]bool{}
	anyGone := false
	for _, o := range ops {
		k := kindFor(o.ban)
		if _, seen := exists[k]; seen {
			continue
		}
		_, gerr := conn.GetSetByName(b.table, k.name())
		exists[k] = gerr == nil || !errors.Is(gerr, unix.ENOENT)
		anyGone = anyGone || !exists[k]
	}
	if !anyGone {
		return nil, false
	}
	var failed []firewall.ElementError
	var rest []op
	for _, o := range ops {
		switch {
		case exists[kindFor(o.ban)]:
			rest = append(rest, o)
		case !o.del:
			failed = append(failed, elementError(o, err))
		}
	}
	if len(rest) > 0 {
		f, _ := b.applyBatch(ctx, conn, rest)
		failed = append(failed, f...)
	}
	return failed, true
}

// failAll returns the failures of ops, all for err.
func failAll(ops []op, err error) []firewall.ElementError {
	out := make([]firewall.ElementError, len(ops))
	for i, o := range ops {
		out[i] = elementError(o, err)
	}
	return out
}

func elementError(o op, err error) firewall.ElementError {
	e := firewall.ElementError{Op: firewall.OpAdd, Ban: o.ban, Err: err}
	if o.del {
		e.Op = firewall.OpRemove
	}
	return e
}

// send queues ops as element messages, grouping consecutive ops on the same
// set, and flushes them as one batch.
func (b *Backend) send(conn *nftables.Conn, ops []op) error {
	for i := 0; i < len(ops); {
		k, del := kindFor(ops[i].ban), ops[i].del
		j := i + 1
		for j < len(ops) && j-i < perMessage && ops[j].del == del && kindFor(ops[j].ban) == k {
			j++
		}
		elems := make([]nftables.SetElement, 0, 2*(j-i))
		for _, o := range ops[i:j] {
			elems = appendElements(elems, o.ban, !del)
		}
		s := k.set(b.table)
		var err error
		if del {
			err = conn.SetDeleteElements(s, elems)
		} else {
			err = conn.SetAddElements(s, elems)
		}
		if err != nil {
			return err
		}
		i = j
	}
	return conn.Flush()
}

// appendElements encodes a ban as set elements: a key for an address; a
// start key and an interval-end key (first address after the network) for
// a network, the end omitted when the network reaches the top of the
// address space.
func appendElements(elems []nftables.SetElement, b firewall.Ban, withTimeout bool) []nftables.SetElement {
	var timeout time.Duration
	if withTimeout && b.Timeout > 0 {
		// The kernel counts milliseconds; a shorter timeout would be 0,
		// which means permanent.
		timeout = max(b.Timeout, time.Millisecond)
	}
	a := b.Prefix.Addr()
	elems = append(elems, nftables.SetElement{Key: a.AsSlice(), Timeout: timeout})
	if b.Prefix.Bits() == a.BitLen() {
		return elems
	}
	if end := lastAddr(b.Prefix).Next(); end.IsValid() {
		// The kernel refuses a timeout on an interval end (EINVAL); the
		// range expires with its start element.
		elems = append(elems, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return elems
}

// lastAddr returns the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	s := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(s)*8; i++ {
		s[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(s)
	return a
}

// List returns the bans in every set of the table, including sets of jails
// not configured now (left by an earlier run), with their remaining time.
func (b *Backend) List(context.Context) ([]firewall.Ban, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conn, err := b.conn()
	if err != nil {
		return nil, err
	}
	if t, err := b.getTable(conn); t == nil {
		return nil, err
	}
	sets, err := conn.GetSets(b.table)
	if err != nil {
		return nil, fmt.Errorf("nft: list sets: %w", err)
	}
	var out []firewall.Ban
	for _, s := range sets {
		k, ok := parseSetName(s.Name)
		if !ok || !k.matches(s) {
			continue
		}
		elems, err := b.consistentElements(s)
		if err != nil {
			return nil, fmt.Errorf("nft: list set %s: %w", s.Name, err)
		}
		out = append(out, decode(k, elems)...)
	}
	return out, nil
}

// decode turns a set's elements back into bans. Interval sets hold start
// elements and interval-end elements; sorted by key, each start is followed
// by its end unless its network reaches the top of the address space.
func decode(k setKind, elems []elem) []firewall.Ban {
	bans := make([]firewall.Ban, 0, len(elems))
	if !k.net {
		for _, e := range elems {
			bans = append(bans, firewall.Ban{Jail: k.jail, Prefix: firewall.Host(e.addr.Unmap()), Timeout: remaining(e)})
		}
		return bans
	}
	pts := slices.Clone(elems)
	slices.SortFunc(pts, func(x, y elem) int {
		if c := x.addr.Compare(y.addr); c != 0 {
			return c
		}
		switch {
		case x.end == y.end:
			return 0
		case x.end:
			return -1 // an end at the same address closes the previous range
		}
		return 1
	})
	for i, p := range pts {
		if p.end {
			continue
		}
		var last netip.Addr
		switch {
		case i+1 < len(pts) && pts[i+1].end:
			last = pts[i+1].addr.Prev()
		case i+1 == len(pts):
			last = lastAddr(netip.PrefixFrom(p.addr, 0))
		default:
			continue // two starts in a row: not a range rampart wrote
		}
		if pfx, ok := rangePrefix(p.addr, last); ok {
			bans = append(bans, firewall.Ban{Jail: k.jail, Prefix: pfx, Timeout: remaining(p)})
		}
	}
	return bans
}

// rangePrefix returns the prefix covering exactly first..last, if there is
// one.
func rangePrefix(first, last netip.Addr) (netip.Prefix, bool) {
	for bits := first.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(first, bits)
		if p.Masked().Addr() != first {
			return netip.Prefix{}, false
		}
		if l := lastAddr(p); l == last {
			return p, true
		} else if last.Less(l) {
			return netip.Prefix{}, false
		}
	}
	return netip.Prefix{}, false
}

// remaining is the time a ban has left: the kernel's expiration when the
// element has a timeout, 0 (permanent) otherwise.
func remaining(e elem) time.Duration {
	if e.timeout == 0 {
		return 0
	}
	return max(e.expires, time.Millisecond)
}
