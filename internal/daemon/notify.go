package daemon

import (
	"fmt"
	"log/slog"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// notify tells systemd the daemon's state (READY=1, STOPPING=1) through
// $NOTIFY_SOCKET; without it (not under systemd) it does nothing.
func notify(log *slog.Logger, state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		log.Warn("telling systemd the state", "state", state, "err", err)
	}
}

// notifyReloading says a reload began, with the CLOCK_MONOTONIC time
// systemd (253 and later, Type=notify-reload) wants beside RELOADING=1.
func notifyReloading(log *slog.Logger) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		notify(log, sd.SdNotifyReloading)
		return
	}
	notify(log, fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, ts.Nano()/1000))
}
