package control

import (
	"context"
	"os/user"
	"strconv"
)

// Caller names who sent the request ctx belongs to, from the socket's peer
// credentials (SO_PEERCRED, not anything the client says): the user name,
// "uid N" when the uid has no name, or "" outside a socket request. It is
// the name in a manual ban's origin.
func Caller(ctx context.Context) string {
	p, ok := ctx.Value(peerKey{}).(peer)
	if !ok {
		return ""
	}
	uid := strconv.FormatUint(uint64(p.uid), 10)
	if u, err := user.LookupId(uid); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + uid
}
