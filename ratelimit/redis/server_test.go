package redis_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// server is a real redis-server that a test starts on a free loopback port,
// keeping nothing on disk, and stops by its PID. Tests that need one fail,
// and never skip, when redis-server is not installed: Debian's package
// redis-server provides it.
type server struct {
	t    testing.TB
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startServer(t testing.TB) *server {
	t.Helper()
	s := &server{t: t, addr: freeAddr(t), dir: t.TempDir()}
	s.start(redisServer(t))
	t.Cleanup(s.kill)
	return s
}

// redisServer returns the path of redis-server, failing t when there is none.
func redisServer(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	require.NoError(t, err, "these tests need a real redis-server (Debian: apt-get install redis-server)")
	return bin
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func (s *server) start(bin string) {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--logfile", "")
	require.NoError(s.t, s.cmd.Start())
	c := goredis.NewClient(&goredis.Options{Addr: s.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.kill()
			s.t.Fatalf("redis-server on %s did not answer within 10s: %v", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a real process's readiness
	}
}

// kill stops the server by its PID, as a crash would: no shutdown.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart starts the server again on the same port.
func (s *server) restart() {
	s.t.Helper()
	s.start(redisServer(s.t))
}

// client returns a client of s with go-redis's defaults, which ignore the
// context's deadline on the wire.
func (s *server) client(t testing.TB) *goredis.Client {
	return s.clientWith(t, false)
}

// clientWith returns a client of s that bounds its round trips by the
// context's deadline when contextTimeout is set.
func (s *server) clientWith(t testing.TB, contextTimeout bool) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.addr, MaxRetries: -1, PoolSize: 64, ContextTimeoutEnabled: contextTimeout})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *server) String() string { return fmt.Sprintf("redis-server %s (pid %s)", s.addr, pid(s.cmd)) }

func pid(cmd *exec.Cmd) string {
	if cmd == nil || cmd.Process == nil {
		return "none"
	}
	return strconv.Itoa(cmd.Process.Pid)
}
