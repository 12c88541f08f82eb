package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-ids/rampart/internal/netns"
)

// sshServer is a real OpenSSH server in a namespace that logs to syslog
// through a real rsyslog, which writes auth.* to AuthLog the way Debian 12
// does (RFC 3339 time stamps, RSYSLOG_FileFormat).
type sshServer struct {
	Dir     string // temp dir holding configs, keys, the rsyslog socket and the log
	AuthLog string
	Client  ssh.Signer // the legitimate client's key, authorised for root

	rsyslog *proc
	sshd    *proc
}

// rsyslogConf writes auth and authpriv messages from a private socket to
// one file, as Debian's /etc/rsyslog.conf does for /var/log/auth.log.
const rsyslogConf = `global(workDirectory="%[1]s/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[1]s/log.sock" CreatePath="on" RateLimit.Interval="0")
auth,authpriv.* action(type="omfile" file="%[2]s" template="RSYSLOG_FileFormat")
`

// sshdConf is a minimal sshd_config: passwords are accepted (and always
// fail: root may only use its key, and no other account is tried with a
// right password), PAM is off, and VERBOSE logging goes to syslog's AUTH.
const sshdConf = `Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey %[1]s/ssh_host_ed25519_key
PidFile %[1]s/sshd.pid
AuthorizedKeysFile %[1]s/authorized_keys
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
MaxStartups 200
MaxAuthTries 6
SyslogFacility AUTH
LogLevel VERBOSE
`

// sshdLaunch runs sshd in a private mount namespace whose /dev/log is the
// rsyslog socket. /dev is rebuilt from a tmpfs holding bind mounts of the
// few devices sshd opens, so nothing is created in the host's /dev (a host
// without /dev/log has no file to bind over); /run is replaced by a tmpfs
// when the privilege separation directory /run/sshd is missing.
// $1 is the test's directory.
const sshdLaunch = `set -e
d=$1
mount -t tmpfs -o mode=0755 rampart-e2e-dev "$d/dev"
for n in null zero random urandom tty; do
  : > "$d/dev/$n"; mount --bind "/dev/$n" "$d/dev/$n"
done
: > "$d/dev/log"; mount --bind "$d/log.sock" "$d/dev/log"
mount --rbind "$d/dev" /dev
if [ ! -d /run/sshd ]; then
  mount -t tmpfs -o mode=0755 rampart-e2e-run /run
  mkdir -m 0755 /run/sshd
fi
exec /usr/sbin/sshd -D -f "$d/sshd_config"
`

// startSSHServer starts rsyslog and sshd (in ns) and waits until sshd
// accepts connections and its start-up is in the auth log.
func startSSHServer(t *testing.T, ns *netns.NS) *sshServer {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/sshd", "/usr/sbin/rsyslogd", "unshare", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("skipping: %s is not installed (run scripts/deps.sh: openssh-server, rsyslog, util-linux)", bin)
		}
	}
	dir := t.TempDir()
	s := &sshServer{Dir: dir, AuthLog: filepath.Join(dir, "log", "auth.log")}
	for _, d := range []string{"rsyslog", "dev", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}

	// Keys: the host key for sshd, and the legitimate client's key.
	hostKey := genKey(t)
	block, err := ssh.MarshalPrivateKey(hostKey, "")
	if err != nil {
		t.Fatal(err)
	}
	write("ssh_host_ed25519_key", string(pem.EncodeToMemory(block)), 0o600)
	clientKey := genKey(t)
	s.Client, err = ssh.NewSignerFromKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	write("authorized_keys", string(ssh.MarshalAuthorizedKey(s.Client.PublicKey())), 0o600)
	write("sshd_config", fmt.Sprintf(sshdConf, dir), 0o600)
	write("rsyslog.conf", fmt.Sprintf(rsyslogConf, dir, s.AuthLog), 0o600)

	s.rsyslog = startProc(t, "rsyslogd", exec.Command("/usr/sbin/rsyslogd", "-n",
		"-f", filepath.Join(dir, "rsyslog.conf"), "-i", filepath.Join(dir, "rsyslog.pid")))
	if !waitFor(10*time.Second, func() bool { return fileExists(filepath.Join(dir, "log.sock")) }) {
		t.Fatal("rsyslogd: its socket did not appear within 10 s")
	}
	s.sshd = startProc(t, "sshd", ns.Command(t.Context(), "unshare", "--mount", "--propagation", "private",
		"sh", "-c", sshdLaunch, "sshd-launch", dir))
	up := waitFor(15*time.Second, func() bool {
		return !s.sshd.exited() && canConnectLocal(ns, netip.AddrPortFrom(serverV4, 22))
	})
	if !up {
		if s.sshd.exited() {
			t.Fatalf("sshd: exited at start: %v\n%s", s.sshd.err, indent(s.sshd.out.String()))
		}
		t.Fatalf("sshd: not listening on %s:22 within 15 s", serverV4)
	}
	// sshd logs "Server listening on ..." through syslog: proves the path.
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(s.AuthLog)
		return strings.Contains(string(b), "Server listening on")
	}) {
		b, _ := os.ReadFile(s.AuthLog)
		t.Fatalf("sshd's start-up did not reach %s through rsyslog within 10 s; log:\n%s", s.AuthLog, indent(string(b)))
	}
	return s
}

// canConnectLocal dials dst from inside ns itself.
func canConnectLocal(ns *netns.NS, dst netip.AddrPort) bool {
	return canConnect(ns, netip.Addr{}, dst, time.Second)
}

// reopenLogs makes rsyslog close its files and open them again by name, as
// logrotate's postrotate does on Debian.
func (s *sshServer) reopenLogs() error { return s.rsyslog.signal(syscall.SIGHUP) }

func genKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// errAuth is returned by sshPassword when the server refused the password:
// the connection got as far as authentication.
var errAuth = errors.New("ssh: password refused")

// sshPassword connects from ns (source src) to dst and tries one password
// for user. It returns errAuth when the server refused it, nil if it was
// accepted, and another error when no SSH session could be set up (for
// example the connection was dropped).
func sshPassword(ns *netns.NS, src netip.Addr, dst netip.AddrPort, user, password string) error {
	c, err := dialFrom(ns, src, dst, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a throw-away test server
		Timeout:         10 * time.Second,
	}
	conn, chans, reqs, err := ssh.NewClientConn(c, dst.String(), cfg)
	if err != nil {
		if strings.Contains(err.Error(), "unable to authenticate") {
			return errAuth
		}
		return err
	}
	go ssh.DiscardRequests(reqs)
	go func() {
		for ch := range chans {
			_ = ch.Reject(ssh.Prohibited, "no")
		}
	}()
	conn.Close()
	return nil
}

// sshRun logs in from ns (source src) to dst as root with key and runs
// command, returning its output.
func sshRun(ns *netns.NS, src netip.Addr, dst netip.AddrPort, key ssh.Signer, command string) (string, error) {
	c, err := dialFrom(ns, src, dst, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	cfg := &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	}
	conn, chans, reqs, err := ssh.NewClientConn(c, dst.String(), cfg)
	if err != nil {
		return "", err
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(command)
	return string(out), err
}
