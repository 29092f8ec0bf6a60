package resiliencegrpc_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/retry"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// health is a health service whose answers a test scripts, by call number,
// and that remembers the grpc-previous-rpc-attempts of each call.
type health struct {
	healthpb.UnimplementedHealthServer
	check func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error)
	watch func(stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse], n int) error

	mu       sync.Mutex
	calls    int
	previous []string
}

func (h *health) count(ctx context.Context) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	h.previous = append(h.previous, append(md.Get(resiliencegrpc.PreviousAttemptsKey), "")[0])
	return h.calls
}

func (h *health) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

func (h *health) Previous() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.previous...)
}

func (h *health) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return h.check(ctx, h.count(ctx))
}

func (h *health) Watch(_ *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	return h.watch(s, h.count(s.Context()))
}

var serving = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}

// listen starts a gRPC server for h on 127.0.0.1 TCP, stopped with the test.
func listen(t testing.TB, h healthpb.HealthServer, opts ...grpc.ServerOption) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return l.Addr().String()
}

// dial returns a client of addr, closed with the test, with gRPC's own
// retry off.
func dial(t testing.TB, addr string, opts ...grpc.DialOption) healthpb.HealthClient {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDisableRetry()}, opts...)
	cc, err := grpc.NewClient(addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

// resilient returns the dial options of both client interceptors for p.
func resilient(t testing.TB, p *policy.Pipeline, opts ...resiliencegrpc.Option) []grpc.DialOption {
	t.Helper()
	u, err := resiliencegrpc.UnaryClientInterceptor(p, opts...)
	require.NoError(t, err)
	s, err := resiliencegrpc.StreamClientInterceptor(p, opts...)
	require.NoError(t, err)
	return []grpc.DialOption{grpc.WithUnaryInterceptor(u), grpc.WithStreamInterceptor(s)}
}

// fastRetry retries up to max times, 1ms apart unless pushed back, and
// records each delay.
type fastRetry struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fastRetry) policy(t testing.TB, max int, maxDelay time.Duration) *retry.Retry {
	t.Helper()
	r, err := retry.New(retry.Config{
		MaxRetries: max, BaseDelay: time.Millisecond, MaxDelay: maxDelay,
		Strategy: retry.Constant, Jitter: retry.NoJitter,
	}, retry.WithOnRetry(func(_ string, _ int, d time.Duration) {
		f.mu.Lock()
		f.delays = append(f.delays, d)
		f.mu.Unlock()
	}))
	require.NoError(t, err)
	return r
}

func (f *fastRetry) Delays() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

func pipeline(t testing.TB, policies ...policy.Policy) *policy.Pipeline {
	t.Helper()
	p, err := policy.New("health", policies...)
	require.NoError(t, err)
	return p
}
