package resiliencegrpc_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aragora/resilience/breaker"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/retry"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The goals, as ratios of benchstat medians (-col /impl):
//   - BenchmarkUnary: impl=resilient (a retry and a breaker, telemetry off)
//     within 3 % of impl=bare, no interceptor, on a loopback unary RPC that
//     succeeds at once.
//   - BenchmarkFaultScript compares impl=resilient with impl=builtin, gRPC's
//     own retry configured by service config, on one script: every call
//     fails UNAVAILABLE twice, then succeeds. Both make 3 attempts per call
//     (attempts/op) with the same backoff (1ms, full jitter); ns/op is the
//     wall time of a call.

func quiet(p *policy.Pipeline) *policy.Pipeline {
	return p.With(policy.WithTracerProvider(tracenoop.NewTracerProvider()),
		policy.WithMeterProvider(metricnoop.NewMeterProvider()))
}

type okHealth struct {
	healthpb.UnimplementedHealthServer
}

func (okHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return serving, nil
}

func checks(b *testing.B, c healthpb.HealthClient) {
	ctx := context.Background()
	req := &healthpb.HealthCheckRequest{}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Check(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkUnary(b *testing.B) {
	addr := listen(b, okHealth{})
	r, err := retry.New(retry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	br, err := breaker.New("bench", breaker.Config{Classifier: resiliencegrpc.BreakerClassifier})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=bare", func(b *testing.B) { checks(b, dial(b, addr)) })
	b.Run("impl=resilient", func(b *testing.B) {
		checks(b, dial(b, addr, resilient(b, quiet(policy.MustNew("bench", r, br)))...))
	})
}

// scripted fails every call UNAVAILABLE until its third attempt, which it
// tells by grpc-previous-rpc-attempts, sent by both retries.
type scripted struct {
	healthpb.UnimplementedHealthServer
	attempts atomic.Int64
}

func (s *scripted) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	s.attempts.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	if prev := md.Get(resiliencegrpc.PreviousAttemptsKey); len(prev) == 0 || prev[0] != "2" {
		return nil, status.Error(codes.Unavailable, "scripted")
	}
	return serving, nil
}

const builtinRetry = `{"methodConfig": [{
	"name": [{"service": "grpc.health.v1.Health"}],
	"retryPolicy": {
		"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
		"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]
	}
}]}`

func BenchmarkFaultScript(b *testing.B) {
	s := &scripted{}
	addr := listen(b, s)
	r, err := retry.New(retry.Config{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, Strategy: retry.Constant})
	if err != nil {
		b.Fatal(err)
	}
	clients := map[string]func() *grpc.ClientConn{
		"impl=builtin": func() *grpc.ClientConn {
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDefaultServiceConfig(builtinRetry))
			if err != nil {
				b.Fatal(err)
			}
			return cc
		},
		"impl=resilient": func() *grpc.ClientConn {
			u, err := resiliencegrpc.UnaryClientInterceptor(quiet(policy.MustNew("bench", r)))
			if err != nil {
				b.Fatal(err)
			}
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithDisableRetry(), grpc.WithUnaryInterceptor(u))
			if err != nil {
				b.Fatal(err)
			}
			return cc
		},
	}
	for _, name := range []string{"impl=builtin", "impl=resilient"} {
		b.Run(name, func(b *testing.B) {
			cc := clients[name]()
			defer cc.Close()
			c := healthpb.NewHealthClient(cc)
			ctx := context.Background()
			req := &healthpb.HealthCheckRequest{}
			b.ReportAllocs()
			start := s.attempts.Load()
			for b.Loop() {
				if _, err := c.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.attempts.Load()-start)/float64(b.N), "attempts/op")
		})
	}
}
