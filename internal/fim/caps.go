package fim

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
)

// capNames are the Linux capability names by number (linux/capability.h).
var capNames = [...]string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock",
	"cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
	"cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
	"cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// formatCaps renders a security.capability value (struct vfs_cap_data) the
// way getcap prints it, e.g. "cap_net_raw=ep"; "" for no value, and hex for
// a value it cannot read.
func formatCaps(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	if len(v) < 12 {
		return "hex:" + hex.EncodeToString(v)
	}
	magic := binary.LittleEndian.Uint32(v)
	words := 1
	switch magic & 0xff000000 {
	case 0x01000000:
	case 0x02000000, 0x03000000:
		words = 2
	default:
		return "hex:" + hex.EncodeToString(v)
	}
	if len(v) < 4+8*words {
		return "hex:" + hex.EncodeToString(v)
	}
	var perm, inh uint64
	for w := range words {
		perm |= uint64(binary.LittleEndian.Uint32(v[4+8*w:])) << (32 * w)
		inh |= uint64(binary.LittleEndian.Uint32(v[8+8*w:])) << (32 * w)
	}
	eff := magic&1 != 0
	names := func(set uint64) string {
		var out []string
		for bit := 0; bit < 64; bit++ {
			if set&(1<<bit) == 0 {
				continue
			}
			if bit < len(capNames) {
				out = append(out, capNames[bit])
			} else {
				out = append(out, "cap_"+strconv.Itoa(bit))
			}
		}
		return strings.Join(out, ",")
	}
	var parts []string
	if perm|inh == 0 {
		return "="
	}
	flags := func(p, i bool) string {
		s := ""
		if eff {
			s += "e"
		}
		if i {
			s += "i"
		}
		if p {
			s += "p"
		}
		return s
	}
	if both := perm & inh; both != 0 {
		parts = append(parts, names(both)+"="+flags(true, true))
	}
	if p := perm &^ inh; p != 0 {
		parts = append(parts, names(p)+"="+flags(true, false))
	}
	if i := inh &^ perm; i != 0 {
		parts = append(parts, names(i)+"="+strings.ReplaceAll(flags(false, true), "e", ""))
	}
	return strings.Join(parts, " ")
}

// FormatCaps renders a security.capability xattr value as getcap does
// ("cap_net_raw=ep"), for other packages (the host collectors).
func FormatCaps(v []byte) string { return formatCaps(v) }
